/*
 * bench_ssh.c: the ssh module against a private sshd
 * (tests/lib/sshd-fixture.sh): connections, round trips of a command
 * that does nothing, and bulk bytes through one channel and through
 * a pipe between two.
 *
 * usage: bench_ssh HOST PORT USER KEY FINGERPRINT MODE [COUNT [REPS]]
 *
 *   open   COUNT ssh_open() and ssh_close(), the latency of each
 *   exec   COUNT ssh_exec("true") on one connection
 *   read   ssh_exec("head -c COUNT /dev/zero") into /dev/null
 *   pipe   ssh_pipe() of "head -c COUNT /dev/zero" on one connection
 *          into "cat >/dev/null" on another, as a database moves
 *          from one host to the next
 *
 * Each mode runs REPS times and reports the median and spread; pipe
 * also reports the peak RSS, which the pipe's bounded buffer should
 * keep small whatever COUNT is.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "log.h"
#include "ssh.h"

#define MIB		(1024.0 * 1024.0)
#define REPS_MAX	100

static struct ssh_conf conf;

/*
 * Open a connection.  Returns it, or NULL (reported).
 */
static struct ssh_conn *
open_conn(void)
{
	struct ssh_conn	*c;
	enum ssh_error	 err;

	if (ssh_open(&conf, &c, &err) == -1) {
		bench_fail(conf.host, "ssh_open: %s", ssh_strerror(err));
		return NULL;
	}
	return c;
}

/*
 * Open and close n connections, each latency in ms into lat.
 * Returns 0, or -1 (reported).
 */
static int
run_open(long n, double *lat)
{
	struct ssh_conn	*c;
	int64_t		 t0;
	long		 i;

	for (i = 0; i < n; i++) {
		t0 = bench_now_ns();
		if ((c = open_conn()) == NULL)
			return -1;
		ssh_close(c);
		lat[i] = bench_secs(t0) * 1000;
	}
	return 0;
}

/*
 * Run "true" n times on c, each latency in ms into lat.  Returns 0
 * with the round trips per second in *rate, or -1 (reported).
 */
static int
run_exec(struct ssh_conn *c, long n, double *lat, double *rate)
{
	int64_t	t0, t1;
	long	i;
	int	status;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		t1 = bench_now_ns();
		if (ssh_exec(c, "true", -1, -1, -1, &status) == -1 ||
		    status != 0)
			return bench_fail(conf.host, "true: failed");
		lat[i] = bench_secs(t1) * 1000;
	}
	*rate = n / bench_secs(t0);
	return 0;
}

/*
 * Read bytes zeros through one channel into /dev/null.  Returns 0
 * with the MiB per second in *rate, or -1 (reported).
 */
static int
run_read(struct ssh_conn *c, long bytes, int null, double *rate)
{
	char	cmd[64];
	int64_t	t0;
	int	status;

	snprintf(cmd, sizeof(cmd), "head -c %ld /dev/zero", bytes);
	t0 = bench_now_ns();
	if (ssh_exec(c, cmd, -1, null, -1, &status) == -1 || status != 0)
		return bench_fail(conf.host, "%s: failed", cmd);
	*rate = bytes / MIB / bench_secs(t0);
	return 0;
}

/*
 * Pipe bytes zeros from a to b.  Returns 0 with the MiB per second in
 * *rate, or -1 (reported).
 */
static int
run_pipe(struct ssh_conn *a, struct ssh_conn *b, long bytes,
    double *rate)
{
	char		cmd[64];
	uint64_t	moved = 0;
	int64_t		t0;
	int		sa, sb;

	snprintf(cmd, sizeof(cmd), "head -c %ld /dev/zero", bytes);
	t0 = bench_now_ns();
	if (ssh_pipe(a, cmd, b, "cat >/dev/null", -1, &sa, &sb,
	    &moved) == -1 || sa != 0 || sb != 0)
		return bench_fail(conf.host, "pipe: failed");
	if (moved != (uint64_t)bytes)
		return bench_fail(conf.host, "pipe: %llu bytes of %ld "
		    "arrived", (unsigned long long)moved, bytes);
	*rate = bytes / MIB / bench_secs(t0);
	return 0;
}

/*
 * Report the latencies of one mode: the medians over the runs of
 * each run's p50 and p99.  Returns nothing.
 */
static void
report_lat(const char *what, double *p50, double *p99, int reps,
    const char *how)
{
	struct bench_stats	st;
	char			name[128];

	snprintf(name, sizeof(name), "%s, p50", what);
	bench_stats(p50, (size_t)reps, &st);
	bench_result(name, &st, "ms", "%s", how);
	snprintf(name, sizeof(name), "%s, p99", what);
	bench_stats(p99, (size_t)reps, &st);
	bench_result(name, &st, "ms", "the same runs");
}

/*
 * Report what reps runs (reps <= REPS_MAX) of a mode measured: rates
 * in v, latencies in p50 and p99.  Returns nothing.
 */
static void
report(const char *mode, long count, int reps, double *v, double *p50,
    double *p99)
{
	struct bench_stats	st;

	bench_stats(v, (size_t)reps, &st);
	if (strcmp(mode, "open") == 0)
		report_lat("ssh: ssh_open + ssh_close", p50, p99, reps,
		    "TCP, key exchange, host key pinned, ed25519 key; "
		    "ssh_close included");
	else if (strcmp(mode, "exec") == 0) {
		bench_result("ssh: ssh_exec(\"true\"), round trips", &st,
		    "exec/s", "%ld on one connection; %d runs", count, reps);
		report_lat("ssh: ssh_exec(\"true\")", p50, p99, reps,
		    "the same runs");
	} else if (strcmp(mode, "read") == 0)
		bench_result("ssh: ssh_exec, one channel to /dev/null", &st,
		    "MiB/s", "head -c %.0fM /dev/zero; %d runs",
		    count / MIB, reps);
	else {
		bench_result("ssh: ssh_pipe, host to host", &st, "MiB/s",
		    "head -c %.0fM /dev/zero | cat >/dev/null, two "
		    "connections; %d runs", count / MIB, reps);
		bench_result1("ssh: ssh_pipe, client max RSS",
		    bench_maxrss_kb() / 1024.0, "MiB", "getrusage peak "
		    "after %d pipes of %.0f MiB", reps, count / MIB);
	}
}

/*
 * One run of a mode on the connections a and b, with lat for the
 * latencies of open and exec.  Returns 0 with the rate in *rate
 * (0 for open, which has none), or -1 (reported).
 */
static int
run_mode(const char *mode, long count, struct ssh_conn *a,
    struct ssh_conn *b, int null, double *lat, double *rate)
{
	*rate = 0;
	if (strcmp(mode, "open") == 0)
		return run_open(count, lat);
	if (strcmp(mode, "exec") == 0)
		return run_exec(a, count, lat, rate);
	if (strcmp(mode, "read") == 0)
		return run_read(a, count, null, rate);
	return run_pipe(a, b, count, rate);
}

/*
 * Run a mode reps times (reps <= REPS_MAX) and report it.  Returns
 * the exit status: 0, or 1 (reported).
 */
static int
measure(const char *mode, long count, int reps)
{
	struct ssh_conn	*a = NULL, *b = NULL;
	double		 v[REPS_MAX], p50[REPS_MAX], p99[REPS_MAX];
	double		*lat = NULL;
	int		 r, rc = -1, null = -1;

	if ((strcmp(mode, "open") == 0 || strcmp(mode, "exec") == 0) &&
	    (lat = bench_alloc((size_t)count * sizeof(*lat))) == NULL)
		goto out;
	if (strcmp(mode, "open") != 0 && (a = open_conn()) == NULL)
		goto out;
	if (strcmp(mode, "pipe") == 0 && (b = open_conn()) == NULL)
		goto out;
	if ((null = open("/dev/null", O_WRONLY)) == -1) {
		bench_fail("/dev/null", "cannot open");
		goto out;
	}
	for (r = 0; r < reps; r++) {
		if (run_mode(mode, count, a, b, null, lat, &v[r]) == -1)
			goto out;
		if (lat != NULL) {
			p50[r] = bench_percentile(lat, (size_t)count, 50);
			p99[r] = bench_percentile(lat, (size_t)count, 99);
		}
	}
	report(mode, count, reps, v, p50, p99);
	rc = 0;
out:
	ssh_close(a);
	ssh_close(b);
	if (null != -1)
		close(null);
	free(lat);
	return rc == 0 ? 0 : 1;
}

/*
 * Read the arguments and measure the mode.  Returns 0, 1 when a
 * connection or command failed, 3 for a usage error.
 */
int
main(int argc, char *argv[])
{
	const char	*mode;
	long		 count, reps = 3, port;

	if (argc < 7 || argc > 9) {
		fprintf(stderr, "usage: bench_ssh HOST PORT USER KEY "
		    "FINGERPRINT open|exec|read|pipe [COUNT [REPS]]\n");
		return 3;
	}
	log_init("bench_ssh");
	mode = argv[6];
	if (strcmp(mode, "open") != 0 && strcmp(mode, "exec") != 0 &&
	    strcmp(mode, "read") != 0 && strcmp(mode, "pipe") != 0) {
		fprintf(stderr, "bench_ssh: %s: not a mode\n", mode);
		return 3;
	}
	count = strcmp(mode, "open") == 0 ? 20 :
	    strcmp(mode, "exec") == 0 ? 200 : 200L * 1024 * 1024;
	if (bench_num(argv[2], 1, 65535, "PORT", &port) == -1 ||
	    (argc > 7 && bench_num(argv[7], 1, 1L << 40, "COUNT",
	    &count) == -1) || (argc > 8 && bench_num(argv[8], 1, REPS_MAX,
	    "REPS", &reps) == -1))
		return 3;
	conf.host = argv[1];
	conf.port = (int)port;
	conf.user = argv[3];
	conf.key_file = argv[4];
	conf.fingerprint = argv[5];
	return measure(mode, count, (int)reps);
}
