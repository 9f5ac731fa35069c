/*
 * log.c: every message mkprov prints goes through log_emit(), which
 * builds the whole line, blanks out registered secrets, escapes what
 * is not printable ASCII and writes the result at once.
 *
 * Secrets are replaced before escaping because that is the form they
 * were registered in; escaping afterwards cannot bring them back.
 * Long lines are cut only after the secrets are gone, so a cut can
 * never leave half a token behind.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mkprov.h"
#include "util.h"

/* A line, once escaped, is cut after this many characters. */
#define LOG_LINE_MAX	8192

struct secret {
	char	*s;
	size_t	 len;
};

int log_verbosity;

static const char	*log_prog = "mkprov";
static FILE		*log_fp;
static struct secret	*secrets;
static size_t		 nsecrets;

static char	*log_build(const char *, const char *, int, const void *,
		    size_t, size_t *, const char *, va_list)
		    __attribute__((format(printf, 7, 0)));
static void	log_emit(const char *, const char *, int, const void *,
		    size_t, const char *, va_list)
		    __attribute__((format(printf, 6, 0)));

/*
 * Set the name that starts every line: the last part of prog, so that
 * a helper started by its full path still says only its name.
 */
void
log_init(const char *prog)
{
	const char	*p;

	if (prog == NULL || *prog == '\0')
		return;
	if ((p = strrchr(prog, '/')) != NULL && p[1] != '\0')
		prog = p + 1;
	log_prog = prog;
}

/*
 * Send messages to fp instead of stderr; NULL goes back to stderr.
 */
void
log_set_stream(FILE *fp)
{
	log_fp = fp;
}

/*
 * Add one secret, keeping the list ordered longest first.  A copy that
 * is already known is not added twice.  Returns 0, or -1 on ENOMEM.
 */
static int
secret_add(const char *s, size_t len)
{
	struct secret	*p;
	size_t		 i;

	for (i = 0; i < nsecrets; i++)
		if (secrets[i].len == len && memcmp(secrets[i].s, s, len) == 0)
			return 0;
	p = reallocarray(secrets, nsecrets + 1, sizeof(*secrets));
	if (p == NULL)
		return -1;
	secrets = p;
	for (i = nsecrets; i > 0 && secrets[i - 1].len < len; i--)
		secrets[i] = secrets[i - 1];
	if ((secrets[i].s = strndup(s, len)) == NULL) {
		memmove(&secrets[i], &secrets[i + 1],
		    (nsecrets - i) * sizeof(*secrets));
		return -1;
	}
	secrets[i].len = len;
	nsecrets++;
	return 0;
}

/*
 * Write s as the inside of a JSON string the way yajl's generator does
 * (quote, backslash and control bytes escaped), so that a secret in a
 * traced request body is recognised.  out holds at least 6 * strlen(s)
 * + 1 bytes.  Returns the length written.
 */
static size_t
json_escape(const char *s, char *out)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	size_t			 n = 0;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':  n += (size_t)sprintf(out + n, "\\\""); break;
		case '\\': n += (size_t)sprintf(out + n, "\\\\"); break;
		case '\b': n += (size_t)sprintf(out + n, "\\b"); break;
		case '\f': n += (size_t)sprintf(out + n, "\\f"); break;
		case '\n': n += (size_t)sprintf(out + n, "\\n"); break;
		case '\r': n += (size_t)sprintf(out + n, "\\r"); break;
		case '\t': n += (size_t)sprintf(out + n, "\\t"); break;
		default:
			if (*p >= 0x20) {
				out[n++] = (char)*p;
				break;
			}
			n += (size_t)sprintf(out + n, "\\u00%c%c",
			    hex[*p >> 4], hex[*p & 0xf]);
		}
	}
	out[n] = '\0';
	return n;
}

/*
 * Register value as a secret, in its raw form and, when that differs,
 * as it looks inside a JSON string.  NULL and "" are ignored.
 * Returns 0, or -1 with errno ENOMEM.
 */
int
log_secret(const char *value)
{
	char	*esc;
	size_t	 len, elen;
	int	 rc;

	if (value == NULL || *value == '\0')
		return 0;
	len = strlen(value);
	if (len > (SIZE_MAX - 1) / 6 || (esc = malloc(len * 6 + 1)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	elen = json_escape(value, esc);
	rc = secret_add(value, len);
	if (rc == 0 && (elen != len || memcmp(esc, value, len) != 0))
		rc = secret_add(esc, elen);
	explicit_bzero(esc, len * 6 + 1);
	free(esc);
	if (rc == -1)
		errno = ENOMEM;
	return rc;
}

/*
 * Drop every secret, wiping the copies first.
 */
void
log_forget_secrets(void)
{
	size_t	i;

	for (i = 0; i < nsecrets; i++) {
		explicit_bzero(secrets[i].s, secrets[i].len);
		free(secrets[i].s);
	}
	free(secrets);
	secrets = NULL;
	nsecrets = 0;
}

/*
 * Return the end of the furthest secret found at in[i], or i when none
 * starts there.
 */
static size_t
secret_end(const char *in, size_t len, size_t i)
{
	size_t	k, end = i;

	for (k = 0; k < nsecrets; k++) {
		if (secrets[k].len > len - i || in[i] != secrets[k].s[0])
			continue;
		if (memcmp(in + i, secrets[k].s, secrets[k].len) == 0 &&
		    i + secrets[k].len > end)
			end = i + secrets[k].len;
	}
	return end;
}

/*
 * Copy in to out (when out is not NULL) with every byte that belongs to
 * an occurrence of some secret replaced: each run of such bytes becomes
 * one LOG_REDACTED.  Marking bytes rather than replacing matches one by
 * one means overlapping secrets leave nothing of either behind.
 * Returns the length of the result.
 */
static size_t
redact(const char *in, size_t len, char *out)
{
	size_t	i, n = 0, cover = 0, e;
	int	inrun = 0;

	for (i = 0; i < len; i++) {
		if ((e = secret_end(in, len, i)) > cover)
			cover = e;
		if (i < cover) {
			if (!inrun && out != NULL)
				memcpy(out + n, LOG_REDACTED,
				    sizeof(LOG_REDACTED) - 1);
			if (!inrun)
				n += sizeof(LOG_REDACTED) - 1;
			inrun = 1;
			continue;
		}
		inrun = 0;
		if (out != NULL)
			out[n] = in[i];
		n++;
	}
	return n;
}

/*
 * Overwrite the bytes of every secret in buf with '*', in place: the
 * answer when there is no memory for a proper copy.  A byte is
 * overwritten only once the scan has passed it, so matches that start
 * later still see the original text.
 */
static void
redact_in_place(char *buf, size_t len)
{
	size_t	i, cover = 0, e;

	for (i = 0; i < len; i++) {
		if ((e = secret_end(buf, len, i)) > cover)
			cover = e;
		if (i < cover)
			buf[i] = '*';
	}
}

/*
 * Redact the NUL-terminated text in buf, which has room for bufsz
 * bytes.  When the result does not fit it is cut, never left with a
 * secret.  Returns the new length.
 */
size_t
log_redact(char *buf, size_t bufsz)
{
	char	*tmp;
	size_t	 len, n;

	if (buf == NULL || bufsz == 0)
		return 0;
	len = strnlen(buf, bufsz - 1);
	buf[len] = '\0';
	if (nsecrets == 0)
		return len;
	n = redact(buf, len, NULL);
	if ((tmp = malloc(n + 1)) == NULL) {
		redact_in_place(buf, len);
		return len;
	}
	redact(buf, len, tmp);
	if (n > bufsz - 1)
		n = bufsz - 1;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	free(tmp);
	return n;
}

/*
 * Write the escaped form of in[0..len) to out, which has room for at
 * least 4 * len + 4 bytes, stopping before max characters would be
 * exceeded (0: no limit) and then adding "...".  Sets *cut when that
 * happened.  Returns the length written, not counting the NUL.
 */
static size_t
escape(const unsigned char *in, size_t len, size_t max, char *out,
    int *cut)
{
	char	e[5];
	size_t	i, n = 0, elen;

	*cut = 0;
	for (i = 0; i < len; i++) {
		switch (in[i]) {
		case '\n': elen = (size_t)sprintf(e, "\\n"); break;
		case '\t': elen = (size_t)sprintf(e, "\\t"); break;
		case '\r': elen = (size_t)sprintf(e, "\\r"); break;
		case '\\': elen = (size_t)sprintf(e, "\\\\"); break;
		default:
			if (in[i] >= 0x20 && in[i] < 0x7f) {
				e[0] = (char)in[i];	/* the common case */
				e[1] = '\0';
				elen = 1;
			} else
				elen = (size_t)sprintf(e, "\\x%02x", in[i]);
		}
		if (max > 0 && n + elen > max) {
			*cut = 1;
			n += (size_t)sprintf(out + n, "...");
			break;
		}
		memcpy(out + n, e, elen);
		n += elen;
	}
	out[n] = '\0';
	return n;
}

/*
 * Return a malloc'd copy of buf with every byte that is not printable
 * ASCII, and backslash, written as \n, \t, \r, \\ or \xNN; at most max
 * characters (0: no limit) and then "..." when cut.  Returns NULL
 * with errno ENOMEM when memory runs out.
 */
char *
log_escape(const void *buf, size_t len, size_t max)
{
	char	*out;
	size_t	 room;
	int	 cut;

	if (max > 0 && len > max)
		len = max + 1;
	if (len > (SIZE_MAX - 4) / 4) {
		errno = ENOMEM;
		return NULL;
	}
	room = 4 * len + 4;
	if ((out = malloc(room)) == NULL)
		return NULL;
	escape(buf, len, max, out, &cut);
	return out;
}

/*
 * Put the raw line together in a malloc'd buffer: prefix, subject,
 * tag, message, the text of errnum when it is not 0, and the data.
 * Nothing is cut here, since a cut could split a secret and hide it
 * from redaction.  Returns the buffer and its length in *len, or NULL
 * on ENOMEM.
 */
static char *
log_build(const char *subject, const char *tag, int errnum,
    const void *data, size_t dlen, size_t *len, const char *fmt,
    va_list ap)
{
	va_list		 aq;
	const char	*why = errnum != 0 ? strerror(errnum) : NULL;
	char		*line;
	size_t		 n;
	int		 mn;

	va_copy(aq, ap);
	mn = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (mn < 0)
		return NULL;
	n = strlen(log_prog) + 2 + (size_t)mn;
	if (subject != NULL)
		n += strlen(subject) + 2;
	if (tag != NULL)
		n += strlen(tag);
	if (why != NULL)
		n += strlen(why) + 2;
	if (dlen > SIZE_MAX - n - 1 || (line = malloc(n + dlen + 1)) == NULL)
		return NULL;
	*len = (size_t)sprintf(line, "%s: %s%s%s", log_prog,
	    subject != NULL ? subject : "", subject != NULL ? ": " : "",
	    tag != NULL ? tag : "");
	*len += (size_t)vsnprintf(line + *len, (size_t)mn + 1, fmt, ap);
	if (why != NULL)
		*len += (size_t)sprintf(line + *len, ": %s", why);
	if (dlen > 0)
		memcpy(line + *len, data, dlen);
	*len += dlen;
	return line;
}

/*
 * A printf-style front for log_build.  Returns as log_build does.
 */
static char * __attribute__((format(printf, 5, 6)))
log_buildf(const char *subject, const void *data, size_t dlen,
    size_t *len, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;

	va_start(ap, fmt);
	line = log_build(subject, NULL, 0, data, dlen, len, fmt, ap);
	va_end(ap);
	return line;
}

/*
 * Write one finished line to the stream with a single call, so lines
 * from several processes sharing stderr do not interleave.
 */
static void
log_write(const char *s, size_t len)
{
	FILE	*fp = log_fp != NULL ? log_fp : stderr;

	log_progress_end();
	fwrite(s, 1, len, fp);
	fflush(fp);
}

/*
 * Redact and escape the raw line of len bytes into a finished line
 * with its newline, cut at LOG_LINE_MAX.  A line that was cut, here
 * or before (total > len), ends with a note naming its full size,
 * total bytes.  Returns the line, malloc'd, with *outlen set; or NULL
 * on ENOMEM.
 */
static char *
log_format(const char *raw, size_t len, size_t total, size_t *outlen)
{
	char	*red, *out;
	size_t	 rlen, n;
	int	 cut;

	rlen = redact(raw, len, NULL);
	if ((red = malloc(rlen + 1)) == NULL)
		return NULL;
	redact(raw, len, red);
	if (rlen > LOG_LINE_MAX + 1)
		rlen = LOG_LINE_MAX + 1;
	if ((out = malloc(4 * rlen + 64)) == NULL) {
		free(red);
		return NULL;
	}
	n = escape((unsigned char *)red, rlen, LOG_LINE_MAX, out, &cut);
	if (cut || total > len)
		n += (size_t)sprintf(out + n, " [cut, %zu bytes in all]",
		    total);
	out[n++] = '\n';
	explicit_bzero(red, rlen);
	free(red);
	*outlen = n;
	return out;
}

/*
 * Redact, escape and write the raw line of len bytes, cutting it at
 * LOG_LINE_MAX with a note naming its full size.  Returns 0, or -1 on
 * ENOMEM with nothing written.
 */
static int
log_out(const char *raw, size_t len)
{
	char	*out;
	size_t	 n;

	if ((out = log_format(raw, len, len, &n)) == NULL)
		return -1;
	log_write(out, n);
	free(out);
	return 0;
}

/*
 * Return how many of the last bytes of in[0..len) could be the start
 * of a secret whose rest was cut off: they must go too, since
 * redaction cannot recognise half a secret.  Returns 0 when none.
 */
static size_t
secret_tail(const char *in, size_t len)
{
	size_t	k, i, tail = 0;

	for (i = 0; i < nsecrets; i++) {
		for (k = secrets[i].len - 1; k > tail; k--) {
			if (k <= len &&
			    memcmp(in + len - k, secrets[i].s, k) == 0) {
				tail = k;
				break;
			}
		}
	}
	return tail;
}

/*
 * Write one line another program printed (a remote command's stderr,
 * without its newline) to fd as "prog: subject: line", redacted and
 * escaped like every other line: that program may print a secret it
 * was given, or bytes that drive a terminal.  dropped counts bytes of
 * the line the caller could not keep after len; the line is then
 * marked cut, and bytes at its end that could begin a secret are
 * dropped too.  Returns 0, or -1 with errno set (ENOMEM, or why the
 * write failed).
 */
int
log_output(int fd, const char *subject, const void *line, size_t len,
    size_t dropped)
{
	char	*raw, *out;
	size_t	 rlen = 0, n, tail = 0;
	int	 rc, saved;

	if (dropped > 0)
		tail = secret_tail((const char *)line, len);
	raw = log_buildf(subject, line, len - tail, &rlen, "%s", "");
	if (raw == NULL)
		return -1;
	out = log_format(raw, rlen, rlen + tail + dropped, &n);
	explicit_bzero(raw, rlen);
	free(raw);
	if (out == NULL) {
		errno = ENOMEM;
		return -1;
	}
	log_progress_end();
	rc = util_write_all(fd, out, n);
	saved = errno;
	free(out);
	errno = saved;
	return rc;
}

/*
 * The one way out for every message: build the raw line, then have
 * log_out redact, escape and write it.  errno is left as the caller
 * had it.
 */
static void
log_emit(const char *subject, const char *tag, int errnum,
    const void *data, size_t dlen, const char *fmt, va_list ap)
{
	char	*raw, oom[128];
	size_t	 len = 0;
	int	 saved = errno, n;

	raw = log_build(subject, tag, errnum, data, dlen, &len, fmt, ap);
	if (raw == NULL || log_out(raw, len) == -1) {
		n = snprintf(oom, sizeof(oom),
		    "%.64s: out of memory while logging\n", log_prog);
		if (n > 0)
			log_write(oom, (size_t)n);
	}
	if (raw != NULL) {
		/* The raw line may hold a secret. */
		explicit_bzero(raw, len);
		free(raw);
	}
	errno = saved;
}

/*
 * A printf-style front for log_emit, for callers that have no va_list.
 */
static void __attribute__((format(printf, 6, 7)))
log_emitf(const char *subject, const char *tag, int errnum,
    const void *data, size_t dlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(subject, tag, errnum, data, dlen, fmt, ap);
	va_end(ap);
}

/*
 * Report an error: "prog: subject: message".
 */
void
log_err(const char *subject, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(subject, NULL, 0, NULL, 0, fmt, ap);
	va_end(ap);
}

/*
 * Report a failed call: "prog: subject: message: strerror(errno)".
 */
void
log_errno(const char *subject, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_emit(subject, NULL, saved, NULL, 0, fmt, ap);
	va_end(ap);
}

/*
 * Report something odd that does not stop the work.
 */
void
log_warn(const char *subject, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(subject, "warning: ", 0, NULL, 0, fmt, ap);
	va_end(ap);
}

/*
 * Narrate a step; printed from verbosity 1 (-v).
 */
void
log_info(const char *subject, const char *fmt, ...)
{
	va_list	ap;

	if (log_verbosity < 1)
		return;
	va_start(ap, fmt);
	log_emit(subject, NULL, 0, NULL, 0, fmt, ap);
	va_end(ap);
}

/*
 * Trace a detail; printed from verbosity 2 (-vv).
 */
void
log_trace(const char *subject, const char *fmt, ...)
{
	va_list	ap;

	if (log_verbosity < 2)
		return;
	va_start(ap, fmt);
	log_emit(subject, NULL, 0, NULL, 0, fmt, ap);
	va_end(ap);
}

/*
 * Dump a wire body at verbosity 2: "prog: subject: what: body".
 */
void
log_trace_data(const char *subject, const char *what, const void *buf,
    size_t len)
{
	if (log_verbosity < 2)
		return;
	if (buf == NULL)
		len = 0;
	log_emitf(subject, NULL, 0, buf, len, "%s: ",
	    what != NULL ? what : "data");
}

/* Whether a progress line is on the terminal and must be cleared. */
static int	progress_shown;

/*
 * Show how long a wait has lasted and how long it may still last, on
 * one line rewritten in place; only on a terminal, and only when
 * nothing else is narrated (a log file or -v output wants no carriage
 * returns).  left_ms < 0 means no deadline.  The subject and what may
 * come from a server, so the line is redacted and escaped like every
 * other one before the terminal sees it.
 */
void
log_progress(const char *subject, const char *what, int64_t elapsed_ms,
    int64_t left_ms)
{
	FILE	*fp = log_fp ? log_fp : stderr;
	char	 raw[256], red[256], out[4 * sizeof(red) + 8];
	size_t	 rlen;
	int	 n, cut;

	if (log_verbosity > 0 || !isatty(fileno(fp)))
		return;
	if (left_ms < 0)
		n = snprintf(raw, sizeof(raw), "%s: %s: %s: %lld s",
		    log_prog, subject, what, (long long)(elapsed_ms / 1000));
	else
		n = snprintf(raw, sizeof(raw), "%s: %s: %s: %lld s, "
		    "deadline in %lld s", log_prog, subject, what,
		    (long long)(elapsed_ms / 1000),
		    (long long)(left_ms / 1000));
	/* A line cut short could split a secret and hide it. */
	if (n < 0 || (size_t)n >= sizeof(raw) ||
	    (rlen = redact(raw, (size_t)n, NULL)) >= sizeof(red))
		return;
	redact(raw, (size_t)n, red);
	escape((unsigned char *)red, rlen, 0, out, &cut);
	fprintf(fp, "\r%s\033[K", out);
	fflush(fp);
	progress_shown = 1;
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(red, sizeof(red));
}

/*
 * Clear the progress line, if one is shown.
 */
void
log_progress_end(void)
{
	FILE	*fp = log_fp ? log_fp : stderr;

	if (!progress_shown)
		return;
	fputs("\r\033[K", fp);
	fflush(fp);
	progress_shown = 0;
}

/*
 * Report a command line getopt(3) stopped at, for a helper whose
 * option string starts with ':' (so getopt says nothing itself): the
 * option and what was wrong with it when ch is '?' or ':', then the
 * synopsis.  Returns the usage exit status, for main to return.
 */
int
log_usage(int ch, const char *synopsis)
{
	char	 opt[3] = { '-', (char)optopt, '\0' };

	if (ch == ':')
		log_err(opt, "needs an argument");
	else if (ch == '?')
		log_err(opt, "unknown option");
	fprintf(stderr, "usage: %s\n", synopsis);
	return MKP_EXIT_USAGE;
}
