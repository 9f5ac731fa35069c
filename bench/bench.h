/*
 * bench.h: what every benchmark program shares: a monotonic clock in
 * nanoseconds, the median and spread of repeated measurements, the
 * peak resident set size, a seeded random stream (so that every run
 * measures the same workload) and the one line format bench/run
 * reads.
 *
 * A result is printed on stdout as one tab-separated line:
 *
 *	what	median	min	max	unit	how
 *
 * and bench/run turns those lines into the table of bench/RESULTS.md.
 * Diagnostics go to stderr.  As in the helpers, functions report and
 * return; only a program's main exits: 0, 1 when the measurement
 * failed, 3 for a usage error.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>

struct bench_stats {
	double	med;
	double	min;
	double	max;
};

int64_t	 bench_now_ns(void);
double	 bench_secs(int64_t from_ns);
/* Both sort v in place: they are called once the values are in. */
void	 bench_stats(double *v, size_t n, struct bench_stats *);
double	 bench_percentile(double *v, size_t n, double p);
void	 bench_result(const char *what, const struct bench_stats *,
	    const char *unit, const char *howfmt, ...)
	    __attribute__((format(printf, 4, 5)));
void	 bench_result1(const char *what, double value, const char *unit,
	    const char *howfmt, ...)
	    __attribute__((format(printf, 4, 5)));
long	 bench_maxrss_kb(void);
uint64_t bench_rand(uint64_t *state);
void	*bench_alloc(size_t n);
int	 bench_fail(const char *subject, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	 bench_num(const char *s, long min, long max, const char *what,
	    long *out);

#endif
