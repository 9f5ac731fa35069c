/*
 * fixture.h: a server process for a Check suite to test against.
 *
 * Header-only, so that each suite stays one file to build.  A suite's
 * unchecked fixture finds the source tree with fixture_top, makes a
 * scratch directory with fixture_mkdtemp, starts its server with
 * fixture_exec and waits with fixture_ready until it serves; the
 * teardown stops it with fixture_kill, by the pid it started and no
 * other, and removes the directory with fixture_rmdir.  fixture_main
 * runs the tests against that one server.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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
