/*
 * log.h: messages on stderr as "prog: subject: message".
 *
 * Every line goes through one function that first replaces each
 * registered secret with "[REDACTED]" and then escapes bytes that are
 * not printable ASCII, so neither a secret nor terminal control
 * sequences from a server can reach the terminal or a log file.
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LOG_REDACTED "[REDACTED]"

/* 0 errors and warnings only, 1 narrates steps (-v), 2 traces (-vv). */
extern int log_verbosity;

void	 log_init(const char *prog);
void	 log_set_stream(FILE *fp);
int	 log_secret(const char *value);
void	 log_forget_secrets(void);

void	 log_err(const char *subject, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 log_errno(const char *subject, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 log_warn(const char *subject, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 log_info(const char *subject, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 log_trace(const char *subject, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 log_trace_data(const char *subject, const char *what,
	    const void *buf, size_t len);

int	 log_output(int fd, const char *subject, const void *line,
	    size_t len, size_t dropped);

void	 log_progress(const char *subject, const char *what,
	    int64_t elapsed_ms, int64_t left_ms);
void	 log_progress_end(void);

int	 log_usage(int ch, const char *synopsis);

size_t	 log_redact(char *buf, size_t bufsz);
char	*log_escape(const void *buf, size_t len, size_t max);

#endif
