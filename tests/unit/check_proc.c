/*
 * check_proc.c: local programs run to their end, their status passed
 * through as a shell would give it, their output captured up to a
 * cap, termination requests passed on to them, and programs found in
 * PATH as execvp would find them.  Each test runs in a process of its
 * own (Check's fork mode), so signals and PATH stay inside it.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logged.h"
#include "mkprov.h"
#include "proc.h"
#include "util.h"

/* argv wants char *, though exec writes nothing: hence this cast. */
#define ARG(s)	((char *)(uintptr_t)(s))

static char	 dir[] = "/tmp/check_proc.XXXXXX";

/* The signal the timer sends this process, and how often it did. */
static int			 timer_sig;
static volatile sig_atomic_t	 timer_fired;

/*
 * Make a scratch directory for each test and catch log lines.
 */
static void
setup(void)
{
	strcpy(dir, "/tmp/check_proc.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	logged_start();
}

/*
 * Remove the scratch directory and what a test left in it.
 */
static void
teardown(void)
{
	char	cmd[sizeof(dir) + 16];

	/* By its path: a test may have changed PATH. */
	snprintf(cmd, sizeof(cmd), "/bin/rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	logged_stop();
}

/*
 * The timer's handler: send this process timer_sig, as a user's kill
 * or the terminal would while a child runs.
 */
static void
on_timer(int sig)
{
	(void)sig;
	timer_fired++;
	kill(getpid(), timer_sig);
}

/*
 * Arrange for this process to be sent sig in ms milliseconds.
 * Returns nothing; asserts.
 */
static void
send_later(int sig, long ms)
{
	struct itimerval	 it;
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timer;
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	timer_sig = sig;
	timer_fired = 0;
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

/*
 * Run the shell command line cmd with proc_run.  Returns its result.
 */
static int
run_sh(const char *cmd)
{
	char	*argv[] = { ARG("/bin/sh"), ARG("-c"), ARG(cmd), NULL };

	return proc_run(argv);
}

START_TEST(test_exit_status_is_passed_through)
{
	ck_assert_int_eq(run_sh("exit 0"), 0);
	ck_assert_int_eq(run_sh("exit 2"), MKP_EXIT_UNCHANGED);
	ck_assert_int_eq(run_sh("exit 7"), 7);
	ck_assert_int_eq(run_sh("exit 255"), 255);
}
END_TEST

START_TEST(test_killed_program_gives_128_plus_the_signal)
{
	ck_assert_int_eq(run_sh("kill -TERM $$"), 128 + SIGTERM);
	ck_assert_int_eq(run_sh("kill -KILL $$"), 128 + SIGKILL);
	ck_assert_int_eq(run_sh("kill -USR1 $$"), 128 + SIGUSR1);
}
END_TEST

START_TEST(test_missing_program_gives_127_and_is_named)
{
	char	*argv[] = { ARG("/no/such/program"), ARG("x"), NULL };
	char	*bare[] = { ARG("mkp-no-such-program"), NULL };

	ck_assert_int_eq(proc_run(argv), 127);
	ck_assert_int_eq(proc_run(bare), 127);
	ck_assert_ptr_nonnull(strstr(logged(), "test: /no/such/program: "
	    "exec: No such file or directory\n"));
	ck_assert_ptr_nonnull(strstr(logged(), "test: mkp-no-such-program: "
	    "exec: No such file or directory\n"));
}
END_TEST

START_TEST(test_capture_returns_stdout_and_the_status)
{
	char	*argv[] = { ARG("/bin/sh"), ARG("-c"), ARG("printf "
	    "'one\\ntwo\\n'; echo noise >&2; exit 3"), NULL };
	char	*out = NULL;
	int	 status = -1;

	ck_assert_int_eq(proc_capture(argv, &out, 100, &status), 0);
	ck_assert_str_eq(out, "one\ntwo\n");
	ck_assert_int_eq(status, 3);
	free(out);
}
END_TEST

START_TEST(test_capture_keeps_max_bytes_and_drains_the_rest)
{
	/* Far more than a pipe holds: a child left blocked would hang. */
	char	*argv[] = { ARG("/bin/sh"), ARG("-c"), ARG("head -c 1000000 "
	    "/dev/zero | tr '\\0' x; exit 4"), NULL };
	char	*out = NULL;
	int	 status = -1;

	ck_assert_int_eq(proc_capture(argv, &out, 10, &status), 0);
	ck_assert_str_eq(out, "xxxxxxxxxx");
	ck_assert_int_eq(status, 4);
	free(out);
	ck_assert_int_eq(proc_capture(argv, &out, 0, &status), 0);
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

START_TEST(test_capture_of_a_missing_program_gives_127)
{
	char	*argv[] = { ARG("/no/such/program"), NULL };
	char	*out = NULL;
	int	 status = -1;

	ck_assert_int_eq(proc_capture(argv, &out, 100, &status), 0);
	ck_assert_int_eq(status, 127);
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

START_TEST(test_sigterm_is_passed_on_and_the_child_decides)
{
	struct sigaction	 before, after;
	int			 rc;

	ck_assert_int_eq(sigaction(SIGTERM, NULL, &before), 0);
	send_later(SIGTERM, 300);
	/* The child ends as it chooses, with 42, once told. */
	rc = run_sh("trap 'exit 42' TERM; i=0; while [ $i -lt 100 ]; "
	    "do sleep 0.05; i=$((i + 1)); done; exit 9");
	ck_assert_int_eq(timer_fired, 1);
	ck_assert_int_eq(rc, 42);
	/* The helper's own disposition is back as it was. */
	ck_assert_int_eq(sigaction(SIGTERM, NULL, &after), 0);
	ck_assert_ptr_eq(after.sa_handler, before.sa_handler);
}
END_TEST

START_TEST(test_sighup_is_passed_on_too)
{
	send_later(SIGHUP, 300);
	ck_assert_int_eq(run_sh("exec sleep 5"), 128 + SIGHUP);
	ck_assert_int_eq(timer_fired, 1);
}
END_TEST

START_TEST(test_interrupt_is_left_to_the_child)
{
	struct sigaction	 before, after;

	/*
	 * Only this process is sent SIGINT, not the child: the helper
	 * must neither die of it nor cut the child short.
	 */
	ck_assert_int_eq(sigaction(SIGINT, NULL, &before), 0);
	send_later(SIGINT, 200);
	ck_assert_int_eq(run_sh("sleep 0.6; exit 3"), 3);
	ck_assert_int_eq(timer_fired, 1);
	ck_assert_int_eq(sigaction(SIGINT, NULL, &after), 0);
	ck_assert_ptr_eq(after.sa_handler, before.sa_handler);
}
END_TEST

START_TEST(test_find_looks_in_path_as_execvp_does)
{
	char	 bin[sizeof(dir) + 8], path[PATH_MAX], want[PATH_MAX];
	char	 tool[sizeof(bin) + 16];

	snprintf(bin, sizeof(bin), "%s/bin", dir);
	ck_assert_int_eq(mkdir(bin, 0755), 0);
	snprintf(tool, sizeof(tool), "%s/mkp-tool", bin);
	ck_assert_int_eq(util_write_atomic(tool, "#!/bin/sh\n", 10, 0755),
	    0);
	snprintf(want, sizeof(want), "%s:/usr/bin:/bin", bin);
	ck_assert_int_eq(setenv("PATH", want, 1), 0);
	ck_assert_int_eq(proc_find("mkp-tool", path, sizeof(path)), 0);
	ck_assert_str_eq(path, tool);
	ck_assert_int_eq(proc_find("sh", path, sizeof(path)), 0);
	ck_assert(access(path, X_OK) == 0);
	ck_assert_int_eq(proc_find("mkp-no-such-program", path,
	    sizeof(path)), -1);
	/* Not found is not an error to log: callers list them all. */
	ck_assert_str_eq(logged(), "");
}
END_TEST

START_TEST(test_find_skips_files_that_cannot_run)
{
	char	 bin[sizeof(dir) + 8], path[PATH_MAX], env[PATH_MAX];
	char	 tool[sizeof(bin) + 16];

	snprintf(bin, sizeof(bin), "%s/bin", dir);
	ck_assert_int_eq(mkdir(bin, 0755), 0);
	snprintf(tool, sizeof(tool), "%s/mkp-data", bin);
	ck_assert_int_eq(util_write_atomic(tool, "x\n", 2, 0644), 0);
	snprintf(env, sizeof(env), "%s", bin);
	ck_assert_int_eq(setenv("PATH", env, 1), 0);
	/* Root may read anything but runs only what has an x bit. */
	ck_assert_int_eq(proc_find("mkp-data", path, sizeof(path)), -1);
}
END_TEST

START_TEST(test_find_takes_a_name_with_a_slash_as_it_is)
{
	char	path[PATH_MAX], tiny[4];

	ck_assert_int_eq(proc_find("/bin/sh", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/bin/sh");
	ck_assert_int_eq(proc_find("/no/such/program", path, sizeof(path)),
	    -1);
	/* A path that does not fit is not found, rather than cut. */
	ck_assert_int_eq(proc_find("/bin/sh", tiny, sizeof(tiny)), -1);
	ck_assert_int_eq(setenv("PATH", "/bin", 1), 0);
	ck_assert_int_eq(proc_find("sh", tiny, sizeof(tiny)), -1);
}
END_TEST

/*
 * Collect the tests; each has a scratch directory and its log lines
 * caught.  Returns the suite.
 */
static Suite *
proc_suite(void)
{
	Suite	*s = suite_create("proc");
	TCase	*tc = tcase_create("proc");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_exit_status_is_passed_through);
	tcase_add_test(tc, test_killed_program_gives_128_plus_the_signal);
	tcase_add_test(tc, test_missing_program_gives_127_and_is_named);
	tcase_add_test(tc, test_capture_returns_stdout_and_the_status);
	tcase_add_test(tc, test_capture_keeps_max_bytes_and_drains_the_rest);
	tcase_add_test(tc, test_capture_of_a_missing_program_gives_127);
	tcase_add_test(tc, test_sigterm_is_passed_on_and_the_child_decides);
	tcase_add_test(tc, test_sighup_is_passed_on_too);
	tcase_add_test(tc, test_interrupt_is_left_to_the_child);
	tcase_add_test(tc, test_find_looks_in_path_as_execvp_does);
	tcase_add_test(tc, test_find_skips_files_that_cannot_run);
	tcase_add_test(tc, test_find_takes_a_name_with_a_slash_as_it_is);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * Run the suite.  Returns 0 when every test passed, else 1.
 */
int
main(void)
{
	SRunner	*r = srunner_create(proc_suite());
	int	 failed;

	srunner_run_all(r, CK_ENV);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed != 0;
}
