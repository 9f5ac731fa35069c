/*
 * bench.c: the helpers of bench.h.
 */
#include <sys/resource.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "util.h"

/*
 * The monotonic clock in nanoseconds.  Returns it.
 */
int64_t
bench_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Seconds since from_ns, a bench_now_ns() reading.  Returns them.
 */
double
bench_secs(int64_t from_ns)
{
	return (double)(bench_now_ns() - from_ns) / 1e9;
}

/*
 * qsort's comparison of two doubles.  Returns -1, 0 or 1.
 */
static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * The p-th percentile (0 to 100) of n values, by the nearest rank, so
 * that p99 of 2000 requests is an observed one.  Sorts v in place
 * rather than a copy, so that it cannot fail for want of memory.
 * Returns it, or 0 when n is 0.
 */
double
bench_percentile(double *v, size_t n, double p)
{
	size_t	k;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	k = (size_t)(p / 100 * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

/*
 * Fill st with the median, smallest and largest of n values (n > 0);
 * the median of an even count is the mean of the middle two.  Sorts
 * v in place, as bench_percentile does.  Returns nothing.
 */
void
bench_stats(double *v, size_t n, struct bench_stats *st)
{
	qsort(v, n, sizeof(*v), cmp_double);
	st->med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	st->min = v[0];
	st->max = v[n - 1];
}

/*
 * Print one result line (see bench.h); tabs and newlines in the text
 * would break the line, so they become blanks.  Returns nothing.
 */
static void
result_line(const char *what, const struct bench_stats *st,
    const char *unit, const char *how)
{
	char	buf[512], *p;

	snprintf(buf, sizeof(buf), "%s", how);
	for (p = buf; *p != '\0'; p++)
		if (*p == '\t' || *p == '\n')
			*p = ' ';
	printf("%s\t%.6g\t%.6g\t%.6g\t%s\t%s\n", what, st->med, st->min,
	    st->max, unit, buf);
	fflush(stdout);
}

/*
 * Print a result with its spread.  Returns nothing.
 */
void
bench_result(const char *what, const struct bench_stats *st,
    const char *unit, const char *howfmt, ...)
{
	va_list	ap;
	char	how[512];

	va_start(ap, howfmt);
	vsnprintf(how, sizeof(how), howfmt, ap);
	va_end(ap);
	result_line(what, st, unit, how);
}

/*
 * Print a result measured once (a peak, a size).  Returns nothing.
 */
void
bench_result1(const char *what, double value, const char *unit,
    const char *howfmt, ...)
{
	struct bench_stats	st = { value, value, value };
	va_list			ap;
	char			how[512];

	va_start(ap, howfmt);
	vsnprintf(how, sizeof(how), howfmt, ap);
	va_end(ap);
	result_line(what, &st, unit, how);
}

/*
 * The peak resident set size of this process so far, in KiB.
 * Returns it, or -1 when getrusage failed.
 */
long
bench_maxrss_kb(void)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return -1;
	return ru.ru_maxrss;
}

/*
 * The next number of a xorshift64* stream: the same seed gives the
 * same workload on every run, unlike util_random().  Returns it.
 */
uint64_t
bench_rand(uint64_t *state)
{
	uint64_t	x = *state != 0 ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/*
 * malloc that says so when memory runs out (n 0 is taken as 1).
 * Returns the memory, or NULL (reported).
 */
void *
bench_alloc(size_t n)
{
	void	*p;

	if ((p = malloc(n != 0 ? n : 1)) == NULL)
		bench_fail("bench", "cannot allocate %zu bytes: %s", n,
		    strerror(errno));
	return p;
}

/*
 * Report "bench: subject: message" on stderr.  Returns -1, for
 * "return bench_fail(...)".
 */
int
bench_fail(const char *subject, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "bench: %s: ", subject);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/*
 * Parse the argument what, s, as a number in [min, max] into *out.
 * Returns 0, or -1 (reported, naming the argument): a usage error.
 */
int
bench_num(const char *s, long min, long max, const char *what,
    long *out)
{
	const char	*errstr;
	long long	 n;

	n = util_strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		return bench_fail(what, "%s: %s", s, errstr);
	*out = (long)n;
	return 0;
}
