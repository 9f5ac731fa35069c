/*
 * util.h: small things every helper needs: atomic file writes, strict
 * number parsing, reading bounded files (and private ones, for
 * secrets), and monotonic deadlines.
 */
#ifndef UTIL_H
#define UTIL_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

/* A deadline on CLOCK_MONOTONIC; "at" is 0 when there is none. */
struct deadline {
	int64_t	at_ms;
};

int	 util_write_all(int fd, const void *buf, size_t len);
int	 util_write_atomic(const char *path, const void *buf, size_t len,
	    mode_t mode);
int	 util_read_file(const char *path, size_t max, char **out,
	    size_t *outlen);
/* Files that hold secrets: refused unless owned by us and mode 0600. */
int	 util_open_private(const char *path, int *fdp);
int	 util_read_private(const char *path, size_t max, char **out,
	    size_t *outlen);
long long util_strtonum(const char *s, long long min, long long max,
	    const char **errstr);
int	 util_parse_duration(const char *s, int64_t *ms,
	    const char **errstr);

int64_t	 util_now_ms(void);
void	 util_utc_now(char *buf, size_t sz);
void	 util_sleep_ms(int64_t ms);
uint64_t util_random(void);

void	 deadline_set(struct deadline *, int64_t ms_from_now);
void	 deadline_none(struct deadline *);
int	 deadline_passed(const struct deadline *);
int64_t	 deadline_left_ms(const struct deadline *);

#endif
