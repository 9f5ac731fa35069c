/*
 * fixture.h: a server process for a Check suite to test against.
 *
 * Header-only, so that each suite stays one file to build.  A suite's
 * unchecked fixture finds the source tree with fixture_top, makes a
 * scratch directory with fixture_mkdtemp, starts its server with
 * fixture_exec and waits with fixture_ready until it serves; the
 * teardown stops it with fixture_kill, by the pid it started and no
 * other, and removes the directory with fixture_rmdir.  fixture_main
 * runs the tests against that one server.  The HTTPS fixture
 * (tests/lib/https-fixture.py with a CA of fixture_mkca's) has its
 * own pair, fixture_https_start and fixture_https_stop.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define FIXTURE_POLL_MS		20	/* between looks at a child */
#define FIXTURE_GRACE_MS	3000	/* from SIGTERM to SIGKILL */
#define FIXTURE_TEST_S		30	/* for one test, setup aside */

/*
 * Find the source tree: MKP_TOP as make check sets it, else what
 * precedes tests/unit/ in this header's path, else ".".
 */
static inline void
fixture_top(char *top, size_t size)
{
	const char *env = getenv("MKP_TOP");
	char *p;

	if (env != NULL && *env != '\0') {
		snprintf(top, size, "%s", env);
		return;
	}
	snprintf(top, size, "%s", __FILE__);
	if ((p = strstr(top, "/tests/unit/")) != NULL)
		*p = '\0';
	else
		snprintf(top, size, ".");
}

/*
 * Make a scratch directory $TMPDIR/NAME.XXXXXX (/tmp without TMPDIR)
 * and put its path in dir.  Asserts that it fits and was made.
 */
static inline void
fixture_mkdtemp(char *dir, size_t size, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	ck_assert_msg(snprintf(dir, size, "%s/%s.XXXXXX",
	    tmp != NULL ? tmp : "/tmp", name) < (int)size,
	    "TMPDIR: too long for this test");
	ck_assert_msg(mkdtemp(dir) != NULL, "%s: mkdtemp: %s", dir,
	    strerror(errno));
}

/*
 * Start argv[0] (a full path) with argv: stdin from fd in unless it
 * is -1, stdout and stderr appended to file log unless it is NULL.
 * execv() takes char *const * for history's sake but writes nothing,
 * hence the cast.  Returns the child's pid; asserts that fork worked.
 */
static inline pid_t
fixture_exec(const char *const argv[], int in, const char *log)
{
	pid_t pid;
	int fd;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid != 0)
		return pid;
	if (in != -1 && dup2(in, STDIN_FILENO) == -1)
		_exit(126);
	if (log != NULL && ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND,
	    0644)) == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1))
		_exit(126);
	execv(argv[0], (char *const *)(uintptr_t)argv);
	log_errno(argv[0], "exec");
	_exit(127);
}

/*
 * Wait at most ms for ready(arg) to be true, as long as the child
 * *pid lives: a server that died will never be ready.  Returns 0 once
 * it is, or -1 when the child exited (it is reaped, and *pid set to
 * -1 so that nothing kills that pid again) or time ran out.
 */
static inline int
fixture_ready(pid_t *pid, int (*ready)(const void *), const void *arg,
    int64_t ms)
{
	struct deadline dl;

	deadline_set(&dl, ms);
	while (!deadline_passed(&dl)) {
		if (waitpid(*pid, NULL, WNOHANG) != 0) {
			*pid = -1;
			return -1;
		}
		if (ready(arg))
			return 0;
		util_sleep_ms(FIXTURE_POLL_MS);
	}
	return -1;
}

/*
 * Stop the child *pid: SIGTERM, SIGKILL if it has not exited after
 * FIXTURE_GRACE_MS, and reap it, so that a stuck server cannot hang
 * the suite.  Sets *pid to -1; does nothing when it is not above 0,
 * as for a child never started or already stopped.
 */
static inline void
fixture_kill(pid_t *pid)
{
	struct deadline dl;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	deadline_set(&dl, FIXTURE_GRACE_MS);
	while (waitpid(*pid, NULL, WNOHANG) == 0) {
		if (deadline_passed(&dl)) {
			kill(*pid, SIGKILL);
			waitpid(*pid, NULL, 0);
			break;
		}
		util_sleep_ms(FIXTURE_POLL_MS);
	}
	*pid = -1;
}

/*
 * Remove a scratch directory and all in it, unless MKP_KEEP is set
 * to keep it for reading after a failure.
 */
static inline void
fixture_rmdir(const char *dir)
{
	const char *argv[] = { "/bin/rm", "-rf", dir, NULL };
	pid_t pid;

	if (dir[0] == '\0' || getenv("MKP_KEEP") != NULL)
		return;
	pid = fixture_exec(argv, -1, NULL);
	waitpid(pid, NULL, 0);
}

/*
 * Run argv (a full path first) to its end, with our streams.  Returns
 * its exit status, or -1 when it did not exit.
 */
static inline int
fixture_run(const char *const argv[])
{
	pid_t pid;
	int status;

	pid = fixture_exec(argv, -1, NULL);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * Make a throwaway CA and a server certificate for 127.0.0.1,
 * localhost and api.mkprov.test in dir/sub with tests/lib/mkca.sh.
 * Returns its exit status.
 */
static inline int
fixture_mkca(const char *top, const char *dir, const char *sub)
{
	char script[1024 + 32], out[1024];
	const char *argv[] = { script, out, "IP:127.0.0.1", "DNS:localhost",
	    "DNS:api.mkprov.test", NULL };

	snprintf(script, sizeof(script), "%s/tests/lib/mkca.sh", top);
	snprintf(out, sizeof(out), "%s/%s", dir, sub);
	return fixture_run(argv);
}

/* tests/lib/https-fixture.py as a suite runs it. */
struct fixture_https {
	pid_t	 pid;
	int	 lifeline;	/* its stdin: it exits when we do */
	int	 port;
};

#define FIXTURE_HTTPS_INIT	{ .pid = -1, .lifeline = -1, .port = 0 }
#define FIXTURE_HTTPS_START_MS	10000	/* for it to write its port */

/*
 * Whether the HTTPS fixture has written its port file, which it
 * renames into place: once there, it is whole.  Returns 1 or 0.
 */
static inline int
fixture_port_written(const void *portfile)
{
	return access(portfile, R_OK) == 0;
}

/*
 * Read the port the HTTPS fixture wrote to portfile, waiting for it
 * as long as the fixture lives, at most FIXTURE_HTTPS_START_MS.
 * Returns the port, or -1 if it died or took too long.
 */
static inline int
fixture_https_port(struct fixture_https *f, const char *portfile)
{
	const char *errstr;
	char *buf;
	size_t len;
	long long p;

	if (fixture_ready(&f->pid, fixture_port_written, portfile,
	    FIXTURE_HTTPS_START_MS) == -1 ||
	    util_read_file(portfile, 16, &buf, &len) != 0)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	p = util_strtonum(buf, 1, 65535, &errstr);
	free(buf);
	return errstr == NULL ? (int)p : -1;
}

/*
 * Start tests/lib/https-fixture.py on 127.0.0.1 and a port the kernel
 * picks, with the certificate fixture_mkca made in dir/ca, and wait
 * until it has written its port.  It reads its stdin from a pipe
 * whose write end only this process holds, so that it exits should
 * this process die without stopping it.  Returns nothing; asserts
 * that it started.
 */
static inline void
fixture_https_start(struct fixture_https *f, const char *top,
    const char *dir)
{
	char script[1024 + 32], cert[1024], key[1024], portfile[1024];
	const char *argv[] = { "/usr/bin/python3", script, "--cert", cert,
	    "--key", key, "--port-file", portfile, "--lifeline", NULL };
	int fds[2];

	snprintf(script, sizeof(script), "%s/tests/lib/https-fixture.py",
	    top);
	snprintf(cert, sizeof(cert), "%s/ca/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/ca/key.pem", dir);
	snprintf(portfile, sizeof(portfile), "%s/port", dir);
	ck_assert_int_eq(pipe(fds), 0);
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	f->pid = fixture_exec(argv, fds[0], NULL);
	close(fds[0]);
	f->lifeline = fds[1];
	f->port = fixture_https_port(f, portfile);
	ck_assert_msg(f->port > 0, "https-fixture.py did not start: see "
	    "its messages above");
}

/*
 * Stop the HTTPS fixture, only the process fixture_https_start
 * started.  Returns nothing.
 */
static inline void
fixture_https_stop(struct fixture_https *f)
{
	fixture_kill(&f->pid);
	if (f->lifeline != -1) {
		close(f->lifeline);
		f->lifeline = -1;
	}
}

/* How many URLs from fixture_url may be alive at once. */
#define FIXTURE_NURLS		32

/*
 * Make "https://127.0.0.1:PORT" of f followed by the formatted path,
 * in one of FIXTURE_NURLS buffers used in turn, so that a batch of
 * requests can hold its URLs without freeing them.  Returns it.
 */
static inline const char *
fixture_url(const struct fixture_https *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline const char *
fixture_url(const struct fixture_https *f, const char *fmt, ...)
{
	static char	 bufs[FIXTURE_NURLS][256];
	static int	 next;
	char		*b = bufs[next++ % FIXTURE_NURLS];
	va_list		 ap;
	int		 n;

	n = snprintf(b, sizeof(bufs[0]), "https://127.0.0.1:%d", f->port);
	va_start(ap, fmt);
	vsnprintf(b + n, sizeof(bufs[0]) - (size_t)n, fmt, ap);
	va_end(ap);
	return b;
}

/*
 * Run tests, a NULL-terminated list, as suite name with one test case
 * named tcase.  Its unchecked fixture, start and stop, runs once
 * around all the tests rather than around each: a server is slow to
 * start.  Returns main's exit status: 0 when every test passed, else
 * 1.
 */
static inline int
fixture_main(const char *name, const char *tcase, void (*start)(void),
    void (*stop)(void), const TTest *const tests[])
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create(tcase);
	SRunner *r;
	size_t i;
	int failed;

	tcase_add_unchecked_fixture(tc, start, stop);
	tcase_set_timeout(tc, FIXTURE_TEST_S);
	for (i = 0; tests[i] != NULL; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	r = srunner_create(s);
	srunner_run_all(r, CK_ENV);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? 0 : 1;
}

#endif
