/*
 * bench_wall.c: time one command for bench/run, which is a POSIX
 * shell script and has no clock finer than a second.
 *
 * usage: bench_wall FILE COMMAND [ARG...]
 *
 * Runs COMMAND with the standard streams it was given and appends one
 * line to FILE: the wall time in seconds, the peak RSS of the command
 * in KiB (as wait4 reports it, the largest of the command and its
 * waited-for descendants) and its exit status.  Exits with the
 * command's status, or 128 + the signal that killed it, so that a
 * failed command fails the benchmark.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/*
 * Run and time argv[2...].  Returns its exit status (see above).
 */
int
main(int argc, char *argv[])
{
	struct rusage	 ru;
	FILE		*fp;
	int64_t		 t0;
	double		 secs;
	pid_t		 pid;
	int		 status, rc;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_wall FILE COMMAND [ARG...]\n");
		return 3;
	}
	t0 = bench_now_ns();
	if ((pid = fork()) == -1) {
		bench_fail("fork", "%s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "bench: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) == -1) {
		if (errno != EINTR) {
			bench_fail("wait4", "%s", strerror(errno));
			return 1;
		}
	}
	secs = bench_secs(t0);
	rc = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	if ((fp = fopen(argv[1], "a")) == NULL) {
		bench_fail(argv[1], "%s", strerror(errno));
		return 1;
	}
	fprintf(fp, "%.6f %ld %d\n", secs, ru.ru_maxrss, rc);
	if (fclose(fp) == EOF) {
		bench_fail(argv[1], "%s", strerror(errno));
		return 1;
	}
	return rc;
}
