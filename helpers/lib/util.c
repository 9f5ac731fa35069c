/*
 * util.c: atomic file writes, bounded reads, strict number and
 * duration parsing, the monotonic clock and deadlines on it.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* util_read_file reads in steps of this size at first. */
#define READ_CHUNK	4096

/*
 * Write all of buf to fd, going on after short writes and EINTR, and
 * waiting with poll(2) while a non-blocking fd is full.  Returns 0, or
 * -1 with errno set.
 */
int
util_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	struct pollfd	 pfd;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * fsync the directory that holds path, so that a rename in it survives
 * a crash.  Returns 0, or -1 with errno set.
 */
static int
fsync_dir(const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*dir;
	int		 fd, rc, saved;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	/* Some file systems cannot sync a directory; nothing to do then. */
	if (rc == -1 && saved == EINVAL)
		rc = 0;
	errno = saved;
	return rc;
}

/*
 * Fill the open temporary file fd with buf: set the mode first, so
 * that no byte is ever readable by more than mode allows, then write,
 * sync and close it.  Logs and returns -1 on failure, with fd closed
 * either way; 0 on success.
 */
static int
fill_temp(int fd, const char *path, const void *buf, size_t len,
    mode_t mode)
{
	const char	*what;

	if (fchmod(fd, mode) == -1)
		what = "fchmod";
	else if (util_write_all(fd, buf, len) == -1)
		what = "write";
	else if (fsync(fd) == -1)
		what = "fsync";
	else {
		what = NULL;
		if (close(fd) == -1) {
			log_errno(path, "close");
			return -1;
		}
	}
	if (what != NULL) {
		log_errno(path, "%s", what);
		close(fd);
		return -1;
	}
	return 0;
}

/*
 * Replace path with buf, with permissions mode, so that a reader sees
 * either the old file or the whole new one and never a partial write.
 * On failure the temporary file is removed and the old file left as it
 * was.  Logs "path: what: why" and returns -1 on failure, else 0; a
 * failure to sync the directory after the rename also returns -1, with
 * the new file already in place.
 */
int
util_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode)
{
	char	*tmp;
	size_t	 n = strlen(path) + sizeof(".XXXXXX");
	int	 fd;

	if ((tmp = malloc(n)) == NULL) {
		log_errno(path, "malloc");
		return -1;
	}
	snprintf(tmp, n, "%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		log_errno(path, "mkstemp");
		free(tmp);
		return -1;
	}
	if (fill_temp(fd, path, buf, len, mode) == -1)
		goto fail;
	if (rename(tmp, path) == -1) {
		log_errno(path, "rename");
		goto fail;
	}
	free(tmp);
	if (fsync_dir(path) == -1) {
		log_errno(path, "fsync directory");
		return -1;
	}
	return 0;
fail:
	unlink(tmp);
	free(tmp);
	return -1;
}

/*
 * Read from fd until end of file into a buffer that grows as needed,
 * but never past max + 1 bytes (max < SIZE_MAX - 1).  Returns 0, 1
 * when the file holds more than max bytes, or -1 with errno set;
 * *out is NUL-terminated.
 */
static int
read_fd(int fd, size_t max, char **out, size_t *outlen)
{
	char	*buf = NULL, *p;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (len == cap) {
			if (cap > max)
				goto toobig;
			/* One byte past max is enough to see it is too big. */
			if (cap == 0)
				cap = READ_CHUNK;
			else
				cap = cap > max / 2 ? max + 1 : cap * 2;
			if (cap > max + 1)
				cap = max + 1;
			if ((p = realloc(buf, cap + 1)) == NULL)
				goto fail;
			buf = p;
		}
		if ((n = read(fd, buf + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max)
		goto toobig;
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
toobig:
	free(buf);
	return 1;
fail:
	free(buf);
	return -1;
}

/*
 * Read the open file fd, named path in messages, whole as
 * util_read_file says, and close it.  Logs and returns -1 on failure
 * (errno is kept for the caller), else 0 with *out and *outlen set.
 */
static int
read_whole(int fd, const char *path, size_t max, char **out,
    size_t *outlen)
{
	int	rc, saved;

	if (max >= SIZE_MAX - 1)
		max = SIZE_MAX - 2;
	rc = read_fd(fd, max, out, outlen);
	saved = errno;
	close(fd);
	errno = saved;
	if (rc == -1) {
		log_errno(path, "read");
		return -1;
	}
	if (rc == 1) {
		log_err(path, "larger than %zu bytes", max);
		errno = EFBIG;
		return -1;
	}
	return 0;
}

/*
 * Read the whole of path into a malloc'd NUL-terminated buffer, failing
 * when it holds more than max bytes.  Logs and returns -1 on failure
 * (errno is kept for the caller), else 0 with *out and *outlen set.
 */
int
util_read_file(const char *path, size_t max, char **out, size_t *outlen)
{
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_errno(path, "open");
		return -1;
	}
	return read_whole(fd, path, max, out, outlen);
}

/*
 * Open path for reading only if it is as private as a secret must be:
 * owned by the effective user and with no permission bits for group
 * or others.  The check is made with fstat on the open descriptor, so
 * the file checked is the file read, whatever is renamed in between.
 * Logs "path: readable by others: chmod 600 it" or "path: not owned
 * by you" and returns -1 (errno EPERM) when it is not, -1 (logged,
 * errno kept) when it cannot be opened; else 0 with *fdp set.
 */
int
util_open_private(const char *path, int *fdp)
{
	struct stat	 st;
	int		 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		log_errno(path, "open");
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		log_errno(path, "fstat");
		close(fd);
		errno = saved;
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		if (st.st_uid != geteuid())
			log_err(path, "not owned by you (uid %lu): use a "
			    "copy of your own, mode 600",
			    (unsigned long)st.st_uid);
		else
			log_err(path, "readable by others: chmod 600 it");
		close(fd);
		errno = EPERM;
		return -1;
	}
	*fdp = fd;
	return 0;
}

/*
 * Read the whole of path as util_read_file does, but only after
 * util_open_private accepted it: the way every token and secrets file
 * is read.  Returns as util_read_file does.
 */
int
util_read_private(const char *path, size_t max, char **out,
    size_t *outlen)
{
	int	fd;

	if (util_open_private(path, &fd) == -1)
		return -1;
	return read_whole(fd, path, max, out, outlen);
}

/*
 * Parse s as a base 10 integer in [min, max], like OpenBSD's strtonum:
 * an optional sign and digits, nothing before or after.  Returns the
 * number with *errstr NULL, or 0 with *errstr "invalid", "too small"
 * or "too large" (and errno EINVAL or ERANGE).
 */
long long
util_strtonum(const char *s, long long min, long long max,
    const char **errstr)
{
	const char	*d;
	char		*end;
	long long	 v;

	*errstr = "invalid";
	d = s != NULL && (*s == '-' || *s == '+') ? s + 1 : s;
	if (min > max || d == NULL || *d < '0' || *d > '9') {
		errno = EINVAL;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0') {
		errno = EINVAL;
		return 0;
	}
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*errstr = "too small";
		errno = ERANGE;
		return 0;
	}
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*errstr = "too large";
		errno = ERANGE;
		return 0;
	}
	*errstr = NULL;
	return v;
}

/*
 * Parse a duration: digits and a unit, "ms", "s", "m" or "h"; digits
 * alone are seconds.  Returns 0 with *ms set, or -1 with *errstr
 * "invalid", "invalid unit" or "too large".
 */
int
util_parse_duration(const char *s, int64_t *ms, const char **errstr)
{
	static const struct {
		const char	*name;
		int64_t		 ms;
	} units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 },
		{ "m", 60 * 1000 }, { "h", 60 * 60 * 1000 },
	};
	const size_t	 nunits = sizeof(units) / sizeof(units[0]);
	const char	*p;
	int64_t		 v = 0;
	size_t		 i;

	*errstr = "invalid";
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	*errstr = "too large";
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	for (i = 0; i < nunits && strcmp(p, units[i].name) != 0; i++)
		continue;
	if (i == nunits) {
		*errstr = "invalid unit";
		return -1;
	}
	if (v > INT64_MAX / units[i].ms)
		return -1;
	*ms = v * units[i].ms;
	*errstr = NULL;
	return 0;
}

/*
 * Write the wall clock time as RFC 3339 in UTC ("2026-12-03T20:04:09Z")
 * into buf: the one format of every stamp, journal line and lock.
 */
void
util_utc_now(char *buf, size_t sz)
{
	struct tm	 tm;
	time_t		 now = time(NULL);

	gmtime_r(&now, &tm);
	if (strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && sz > 0)
		*buf = '\0';
}

/*
 * Return milliseconds on CLOCK_MONOTONIC, which no clock adjustment
 * moves, so that deadlines hold across NTP steps.
 */
int64_t
util_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Sleep for ms milliseconds, going back to sleep for the rest after a
 * signal interrupts.
 */
void
util_sleep_ms(int64_t ms)
{
	struct timespec	ts, rem;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &rem) == -1 && errno == EINTR)
		ts = rem;
}

/*
 * Fill buf from /dev/urandom.  Returns 0, or -1 with errno set.
 */
static int
urandom(void *buf, size_t len)
{
	ssize_t	n;
	int	fd, saved;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	do
		n = read(fd, buf, len);
	while (n == -1 && errno == EINTR);
	saved = errno;
	close(fd);
	errno = saved;
	if (n == -1)
		return -1;
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * Return 64 random bits from the kernel: getrandom(), or /dev/urandom
 * on kernels without it.  Should both fail, the bits come from the
 * clock and the pid with a warning: good enough to spread retries,
 * which is what mkprov needs them for.
 */
uint64_t
util_random(void)
{
	uint64_t	v;
	ssize_t		n;

	do
		n = getrandom(&v, sizeof(v), 0);
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof(v))
		return v;
	if (urandom(&v, sizeof(v)) == 0)
		return v;
	log_errno("/dev/urandom", "no random bits, using the clock");
	v = (uint64_t)util_now_ms() * 0x9e3779b97f4a7c15ULL;
	return v ^ ((uint64_t)getpid() << 32);
}

/*
 * Set d to pass ms milliseconds from now; ms <= 0 means it has
 * already passed.
 */
void
deadline_set(struct deadline *d, int64_t ms)
{
	int64_t	now = util_now_ms();

	if (ms < 0)
		ms = 0;
	d->at_ms = ms > INT64_MAX - now ? INT64_MAX : now + ms;
	/* 0 means no deadline, so a deadline set at boot is moved. */
	if (d->at_ms == 0)
		d->at_ms = 1;
}

/*
 * Set d to no deadline at all.
 */
void
deadline_none(struct deadline *d)
{
	d->at_ms = 0;
}

/*
 * Return 1 when d has passed, 0 when it has not or there is none.
 */
int
deadline_passed(const struct deadline *d)
{
	return d->at_ms != 0 && util_now_ms() >= d->at_ms;
}

/*
 * Return the milliseconds left before d: INT64_MAX when there is no
 * deadline, 0 once it has passed.
 */
int64_t
deadline_left_ms(const struct deadline *d)
{
	int64_t	left;

	if (d->at_ms == 0)
		return INT64_MAX;
	left = d->at_ms - util_now_ms();
	return left > 0 ? left : 0;
}
