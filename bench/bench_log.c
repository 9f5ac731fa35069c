/*
 * bench_log.c: what redaction costs.  Every line mkprov prints goes
 * through log_emit(), which looks for each registered secret at each
 * byte of the line; this measures lines per second through log_err()
 * with 0, 10 and 100 secrets registered, written to /dev/null.
 *
 * usage: bench_log [LINES [REPS]]
 *
 * The line is a typical error (a URL, a status, a server's message),
 * 140 bytes, with no secret in it; one more run has 100 secrets and a
 * secret in every line, which then is replaced.  The secrets are
 * 40-64 random letters and digits, as API tokens are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "log.h"

#define LINES	40000
#define REPS	5
#define REPS_MAX	100

static const char alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/*
 * Register n secrets of 40 to 64 letters and digits, the same ones on
 * every run; the first is copied to first (65 bytes).  Returns 0, or
 * -1 (reported).
 */
static int
register_secrets(int n, char *first)
{
	uint64_t	rng = 7;
	char		s[65];
	int		i, k, len;

	log_forget_secrets();
	for (i = 0; i < n; i++) {
		len = 40 + (int)(bench_rand(&rng) % 25);
		for (k = 0; k < len; k++)
			s[k] = alnum[bench_rand(&rng) % (sizeof(alnum) - 1)];
		s[len] = '\0';
		if (log_secret(s) == -1)
			return bench_fail("log_secret", "out of memory");
		if (i == 0)
			memcpy(first, s, (size_t)len + 1);
	}
	return 0;
}

/*
 * Print lines lines through log_err, naming secret in each when it is
 * not NULL.  Returns the lines per second.
 */
static double
run(long lines, const char *secret)
{
	int64_t	t0;
	long	i;

	t0 = bench_now_ns();
	for (i = 0; i < lines; i++) {
		if (secret != NULL)
			log_err("https://api.hetzner.cloud/v1/servers/4711",
			    "HTTP 401: unauthorized: token %s is not valid "
			    "for project %ld", secret, i);
		else
			log_err("https://api.hetzner.cloud/v1/servers/4711",
			    "HTTP 503: unavailable: the server is "
			    "temporarily overloaded, try %ld", i);
	}
	return lines / bench_secs(t0);
}

/*
 * Measure one case: reps runs (reps <= REPS_MAX) with n secrets.
 * Returns 0, or -1 (reported).
 */
static int
measure(long lines, int reps, int n, int with_secret)
{
	struct bench_stats	 st;
	double			 v[REPS_MAX];
	char			 first[65], what[96];
	int			 r;

	if (register_secrets(n, first) == -1)
		return -1;
	run(lines / 10, with_secret ? first : NULL);
	for (r = 0; r < reps; r++)
		v[r] = run(lines, with_secret ? first : NULL);
	bench_stats(v, (size_t)reps, &st);
	snprintf(what, sizeof(what), "log: log_err, %d secrets%s", n,
	    with_secret ? ", one in each line" : "");
	bench_result(what, &st, "lines/s", "%ld lines of ~140 bytes to "
	    "/dev/null (log_set_stream), %d runs", lines, reps);
	return 0;
}

/*
 * Measure the four cases.  Returns 0, 1 when one could not be
 * measured, or 3 for a usage error.
 */
int
main(int argc, char *argv[])
{
	FILE	*null;
	long	 lines = LINES, reps = REPS;
	int	 rc;

	if (argc > 3) {
		fprintf(stderr, "usage: bench_log [LINES [REPS]]\n");
		return 3;
	}
	if ((argc > 1 && bench_num(argv[1], 10, 100000000, "LINES",
	    &lines) == -1) || (argc > 2 && bench_num(argv[2], 1, REPS_MAX,
	    "REPS", &reps) == -1))
		return 3;
	log_init("bench_log");
	if ((null = fopen("/dev/null", "w")) == NULL) {
		bench_fail("/dev/null", "cannot open");
		return 1;
	}
	log_set_stream(null);
	rc = measure(lines, (int)reps, 0, 0) == -1 ||
	    measure(lines, (int)reps, 10, 0) == -1 ||
	    measure(lines, (int)reps, 100, 0) == -1 ||
	    measure(lines, (int)reps, 100, 1) == -1;
	log_set_stream(NULL);
	fclose(null);
	return rc;
}
