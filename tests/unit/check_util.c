/*
 * check_util.c: atomic writes and what is left after they fail,
 * bounded reads, strict numbers, durations, the clock and deadlines.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "logged.h"
#include "util.h"

static char	 dir[] = "/tmp/check_util.XXXXXX";
static char	 path[sizeof(dir) + 32];

/*
 * Make an empty directory for each test and catch log lines.
 */
static void
setup(void)
{
	strcpy(dir, "/tmp/check_util.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	logged_start();
}

/*
 * Remove the test directory and whatever a test left in it.
 */
static void
teardown(void)
{
	DIR		*d;
	struct dirent	*e;
	char		 p[sizeof(path) + 256];

	chmod(dir, 0700);
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
	logged_stop();
}

/*
 * Return how many entries other than . and .. the directory d holds.
 */
static int
entries(const char *d)
{
	DIR		*dp;
	struct dirent	*e;
	int		 n = 0;

	ck_assert_ptr_nonnull(dp = opendir(d));
	while ((e = readdir(dp)) != NULL)
		if (strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

/*
 * Check that p holds exactly want.
 */
static void
assert_content(const char *p, const char *want)
{
	char	*buf;
	size_t	 len;

	ck_assert_int_eq(util_read_file(p, 1 << 20, &buf, &len), 0);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_str_eq(buf, want);
	free(buf);
}

START_TEST(test_atomic_write_replaces_the_content)
{
	ck_assert_int_eq(util_write_atomic(path, "old\n", 4, 0600), 0);
	ck_assert_int_eq(util_write_atomic(path, "new content\n", 12, 0600),
	    0);
	assert_content(path, "new content\n");
	ck_assert_int_eq(entries(dir), 1);
}
END_TEST

START_TEST(test_atomic_write_can_write_an_empty_file)
{
	ck_assert_int_eq(util_write_atomic(path, "", 0, 0600), 0);
	assert_content(path, "");
}
END_TEST

START_TEST(test_atomic_write_sets_the_mode_exactly_despite_umask)
{
	struct stat	st;
	mode_t		old;

	old = umask(0);
	ck_assert_int_eq(util_write_atomic(path, "k", 1, 0600), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	umask(077);
	ck_assert_int_eq(util_write_atomic(path, "k", 1, 0644), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	umask(old);
}
END_TEST

START_TEST(test_atomic_write_into_a_missing_directory_leaves_nothing)
{
	char	p[sizeof(path) + 16];
	char	want[256];

	snprintf(p, sizeof(p), "%s/none/state", dir);
	ck_assert_int_eq(util_write_atomic(p, "x", 1, 0600), -1);
	ck_assert_int_eq(entries(dir), 0);
	snprintf(want, sizeof(want), "test: %s: mkstemp: %s\n", p,
	    strerror(ENOENT));
	ck_assert_str_eq(logged(), want);
}
END_TEST

START_TEST(test_atomic_write_below_a_file_fails_cleanly)
{
	char	p[sizeof(path) + 16];

	ck_assert_int_eq(util_write_atomic(path, "old", 3, 0600), 0);
	snprintf(p, sizeof(p), "%s/state/sub", dir);
	ck_assert_int_eq(util_write_atomic(p, "x", 1, 0600), -1);
	ck_assert_int_eq(entries(dir), 1);
	assert_content(path, "old");
}
END_TEST

START_TEST(test_atomic_write_in_a_read_only_directory_keeps_the_old_file)
{
	ck_assert_int_eq(util_write_atomic(path, "old", 3, 0600), 0);
	ck_assert_int_eq(chmod(dir, 0500), 0);
	/* root may write anywhere: there the call succeeds, which is fine */
	if (geteuid() != 0) {
		ck_assert_int_eq(util_write_atomic(path, "new", 3, 0600), -1);
		ck_assert_ptr_nonnull(strstr(logged(), ": mkstemp: "));
		assert_content(path, "old");
	}
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_eq(entries(dir), 1);
}
END_TEST

START_TEST(test_atomic_write_that_fails_midway_removes_its_temporary)
{
	struct rlimit	 old, small;
	static char	 big[65536];
	void		 (*oldsig)(int);

	ck_assert_int_eq(util_write_atomic(path, "old", 3, 0600), 0);
	/* A file size limit makes write fail after the file exists. */
	oldsig = signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_cur = 4096;
	small.rlim_max = old.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	memset(big, 'n', sizeof(big));
	ck_assert_int_eq(util_write_atomic(path, big, sizeof(big), 0600), -1);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	ck_assert_ptr_nonnull(strstr(logged(), "/state: write: "));
	ck_assert_int_eq(entries(dir), 1);
	assert_content(path, "old");
}
END_TEST

START_TEST(test_atomic_write_onto_a_directory_fails_in_rename)
{
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(util_write_atomic(path, "x", 1, 0600), -1);
	ck_assert_ptr_nonnull(strstr(logged(), "/state: rename: "));
	ck_assert_int_eq(entries(dir), 1);
	rmdir(path);
}
END_TEST

START_TEST(test_read_file_reads_up_to_max_bytes)
{
	char	*buf;
	size_t	 len;

	ck_assert_int_eq(util_write_atomic(path, "12345", 5, 0600), 0);
	ck_assert_int_eq(util_read_file(path, 5, &buf, &len), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_str_eq(buf, "12345");
	free(buf);
}
END_TEST

START_TEST(test_read_file_refuses_a_file_larger_than_max)
{
	char	*buf = NULL;
	size_t	 len;
	char	 want[256];

	ck_assert_int_eq(util_write_atomic(path, "123456", 6, 0600), 0);
	ck_assert_int_eq(util_read_file(path, 5, &buf, &len), -1);
	ck_assert_ptr_null(buf);
	snprintf(want, sizeof(want), "test: %s: larger than 5 bytes\n",
	    path);
	ck_assert_str_eq(logged(), want);
}
END_TEST

START_TEST(test_read_file_grows_past_its_first_chunk)
{
	static char	 big[100000];
	char		*buf;
	size_t		 len;

	memset(big, 'b', sizeof(big));
	ck_assert_int_eq(util_write_atomic(path, big, sizeof(big), 0600), 0);
	ck_assert_int_eq(util_read_file(path, sizeof(big), &buf, &len), 0);
	ck_assert_uint_eq(len, sizeof(big));
	ck_assert_mem_eq(buf, big, sizeof(big));
	ck_assert_int_eq(buf[len], '\0');
	free(buf);
	ck_assert_int_eq(util_read_file(path, sizeof(big) - 1, &buf, &len),
	    -1);
}
END_TEST

START_TEST(test_read_file_of_a_missing_file_fails_with_enoent)
{
	char	*buf;
	size_t	 len;

	ck_assert_int_eq(util_read_file(path, 10, &buf, &len), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(logged(), "/state: open: "));
}
END_TEST

START_TEST(test_private_file_of_ours_with_mode_600_is_opened)
{
	char	*buf, got[16];
	size_t	 len;
	int	 fd = -1;

	ck_assert_int_eq(util_write_atomic(path, "secret", 6, 0600), 0);
	ck_assert_int_eq(util_open_private(path, &fd), 0);
	ck_assert_int_eq(read(fd, got, sizeof(got)), 6);
	ck_assert_mem_eq(got, "secret", 6);
	close(fd);
	ck_assert_int_eq(util_write_atomic(path, "secret", 6, 0400), 0);
	ck_assert_int_eq(util_read_private(path, 64, &buf, &len), 0);
	ck_assert_str_eq(buf, "secret");
	free(buf);
	ck_assert_str_eq(logged(), "");
}
END_TEST

START_TEST(test_private_file_others_can_reach_is_refused)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0620, 0602,
	    0610, 0601, 0666 };
	char	 line[256], want[512], *buf = NULL;
	size_t	 i, len;
	int	 fd = -1;

	snprintf(line, sizeof(line), "test: %s: readable by others: "
	    "chmod 600 it\n", path);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		ck_assert_int_eq(util_write_atomic(path, "s", 1, modes[i]),
		    0);
		logged_stop();
		logged_start();
		ck_assert_msg(util_open_private(path, &fd) == -1,
		    "mode %o was accepted", (unsigned)modes[i]);
		ck_assert_int_eq(errno, EPERM);
		ck_assert_int_eq(fd, -1);
		ck_assert_int_eq(util_read_private(path, 64, &buf, &len),
		    -1);
		ck_assert_ptr_null(buf);
		ck_assert_int_eq(errno, EPERM);
	}
	/* One line for each refusal and nothing else. */
	snprintf(want, sizeof(want), "%s%s", line, line);
	ck_assert_str_eq(logged(), want);
}
END_TEST

START_TEST(test_private_file_owned_by_another_is_refused)
{
	const char	*file = path;
	int		 fd = -1;

	if (geteuid() == 0) {
		ck_assert_int_eq(util_write_atomic(path, "s", 1, 0600), 0);
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
	} else
		file = "/etc/passwd";	/* root's, whoever we are */
	ck_assert_int_eq(util_open_private(file, &fd), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_ptr_nonnull(strstr(logged(), ": not owned by you"));
}
END_TEST

START_TEST(test_private_file_is_judged_by_what_was_opened)
{
	char	 link[sizeof(path) + 8];
	int	 fd = -1;

	/* A link is mode 0777 itself: the file it names is what counts. */
	snprintf(link, sizeof(link), "%s.link", path);
	ck_assert_int_eq(util_write_atomic(path, "s", 1, 0600), 0);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(util_open_private(link, &fd), 0);
	close(fd);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(util_open_private(link, &fd), -1);
	ck_assert_int_eq(errno, EPERM);
}
END_TEST

START_TEST(test_private_file_that_is_missing_fails_with_enoent)
{
	int	fd = -1;

	ck_assert_int_eq(util_open_private(path, &fd), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(logged(), "/state: open: "));
}
END_TEST

START_TEST(test_strtonum_accepts_numbers_in_range)
{
	const char	*e;

	ck_assert_int_eq(util_strtonum("0", 0, 10, &e), 0);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(util_strtonum("10", 0, 10, &e), 10);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(util_strtonum("-5", -5, 5, &e), -5);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(util_strtonum("+7", 0, 10, &e), 7);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(util_strtonum("010", 0, 100, &e), 10);
	ck_assert_ptr_null(e);
	ck_assert(util_strtonum("9223372036854775807", LLONG_MIN, LLONG_MAX,
	    &e) == LLONG_MAX);
	ck_assert_ptr_null(e);
	ck_assert(util_strtonum("-9223372036854775808", LLONG_MIN,
	    LLONG_MAX, &e) == LLONG_MIN);
	ck_assert_ptr_null(e);
}
END_TEST

START_TEST(test_strtonum_rejects_junk_as_invalid)
{
	static const char *const bad[] = {
		"", " 1", "1 ", "1x", "x", "-", "+", "0x10", "1.0", "\t2",
		"--1", "1e3", NULL,
	};
	const char		*const *p;
	const char		*e;

	for (p = bad; *p != NULL; p++) {
		ck_assert_int_eq(util_strtonum(*p, -100, 100, &e), 0);
		ck_assert_msg(e != NULL && strcmp(e, "invalid") == 0,
		    "\"%s\" gave %s", *p, e != NULL ? e : "no error");
	}
	ck_assert_int_eq(util_strtonum(NULL, 0, 1, &e), 0);
	ck_assert_str_eq(e, "invalid");
	ck_assert_int_eq(util_strtonum("1", 5, 4, &e), 0);
	ck_assert_str_eq(e, "invalid");
}
END_TEST

START_TEST(test_strtonum_names_the_side_of_the_range)
{
	const char	*e;

	ck_assert_int_eq(util_strtonum("11", 0, 10, &e), 0);
	ck_assert_str_eq(e, "too large");
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_int_eq(util_strtonum("-1", 0, 10, &e), 0);
	ck_assert_str_eq(e, "too small");
	ck_assert_int_eq(util_strtonum("9223372036854775808", 0, LLONG_MAX,
	    &e), 0);
	ck_assert_str_eq(e, "too large");
	ck_assert_int_eq(util_strtonum("-9223372036854775809", LLONG_MIN, 0,
	    &e), 0);
	ck_assert_str_eq(e, "too small");
	ck_assert_int_eq(util_strtonum("99999999999999999999999", 0, 10,
	    &e), 0);
	ck_assert_str_eq(e, "too large");
}
END_TEST

START_TEST(test_durations_take_a_unit_or_mean_seconds)
{
	static const struct {
		const char	*s;
		int64_t		 ms;
	} t[] = {
		{ "90s", 90000 }, { "5m", 300000 }, { "2h", 7200000 },
		{ "250ms", 250 }, { "1500", 1500000 }, { "0", 0 },
		{ "0ms", 0 }, { "007s", 7000 },
	};
	const char	*e;
	int64_t		 ms;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ms = -1;
		ck_assert_msg(util_parse_duration(t[i].s, &ms, &e) == 0,
		    "%s: %s", t[i].s, e);
		ck_assert_ptr_null(e);
		ck_assert_int_eq(ms, t[i].ms);
	}
}
END_TEST

START_TEST(test_bad_durations_say_why)
{
	static const struct {
		const char	*s;
		const char	*why;
	} t[] = {
		{ "", "invalid" }, { "s", "invalid" }, { "-5s", "invalid" },
		{ " 5s", "invalid" }, { "1.5h", "invalid unit" },
		{ "5 s", "invalid unit" }, { "5x", "invalid unit" },
		{ "5S", "invalid unit" }, { "5ms ", "invalid unit" },
		{ "5sec", "invalid unit" },
		{ "9223372036854775807h", "too large" },
		{ "9223372036854775807", "too large" },
		{ "99999999999999999999s", "too large" },
		{ "999999999999999999999999999s", "too large" },
	};
	const char	*e;
	int64_t		 ms;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(util_parse_duration(t[i].s, &ms, &e) == -1,
		    "\"%s\" was accepted", t[i].s);
		ck_assert_msg(strcmp(e, t[i].why) == 0, "\"%s\": %s, not %s",
		    t[i].s, e, t[i].why);
	}
}
END_TEST

START_TEST(test_no_deadline_never_passes)
{
	struct deadline	d;

	deadline_none(&d);
	ck_assert(!deadline_passed(&d));
	ck_assert(deadline_left_ms(&d) == INT64_MAX);
}
END_TEST

START_TEST(test_deadline_of_zero_has_already_passed)
{
	struct deadline	d;

	deadline_set(&d, 0);
	ck_assert(deadline_passed(&d));
	ck_assert_int_eq(deadline_left_ms(&d), 0);
	deadline_set(&d, -5);
	ck_assert(deadline_passed(&d));
}
END_TEST

START_TEST(test_deadline_counts_down_and_passes)
{
	struct deadline	d;
	int64_t		left;

	deadline_set(&d, 10000);
	left = deadline_left_ms(&d);
	ck_assert(!deadline_passed(&d));
	ck_assert(left > 9000 && left <= 10000);
	deadline_set(&d, 30);
	util_sleep_ms(50);
	ck_assert(deadline_passed(&d));
	ck_assert_int_eq(deadline_left_ms(&d), 0);
}
END_TEST

START_TEST(test_far_deadline_does_not_overflow)
{
	struct deadline	d;

	deadline_set(&d, INT64_MAX);
	ck_assert(!deadline_passed(&d));
	ck_assert(deadline_left_ms(&d) > INT64_MAX / 2);
}
END_TEST

/*
 * Do nothing: only there so that SIGALRM interrupts nanosleep.
 */
static void
on_alarm(int sig)
{
	(void)sig;
}

START_TEST(test_sleep_goes_on_after_a_signal)
{
	struct sigaction	sa;
	struct itimerval	it = { { 0, 0 }, { 0, 10000 } };
	int64_t			t0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	t0 = util_now_ms();
	util_sleep_ms(60);
	ck_assert_int_ge(util_now_ms() - t0, 60);
	signal(SIGALRM, SIG_DFL);
}
END_TEST

START_TEST(test_clock_never_goes_back)
{
	int64_t	a, b;
	int	i;

	for (i = 0; i < 1000; i++) {
		a = util_now_ms();
		b = util_now_ms();
		ck_assert_int_ge(b, a);
	}
	ck_assert_int_gt(a, 0);
}
END_TEST

START_TEST(test_random_sets_every_bit_and_repeats_nothing)
{
	uint64_t	seen = 0, prev = 0, v;
	int		i;

	for (i = 0; i < 256; i++) {
		v = util_random();
		ck_assert(v != prev);
		seen |= v;
		prev = v;
	}
	ck_assert(seen == UINT64_MAX);
}
END_TEST

/*
 * Collect the tests; each has a fresh directory.
 */
START_TEST(test_utc_time_is_rfc3339_to_the_second)
{
	char	 buf[32], small[8];
	int	 y, mo, d, h, mi, se;
	char	 z;

	util_utc_now(buf, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), 20);
	ck_assert_int_eq(sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo,
	    &d, &h, &mi, &se, &z), 7);
	ck_assert_int_ge(y, 2024);
	ck_assert_int_eq(z, 'Z');
	/* Too small a buffer gets an empty string, not half a time. */
	util_utc_now(small, sizeof(small));
	ck_assert_str_eq(small, "");
}
END_TEST

/*
 * Collect the tests; each has an empty directory and its log lines
 * caught.  Returns the suite.
 */
static Suite *
util_suite(void)
{
	Suite	*s = suite_create("util");
	TCase	*tc = tcase_create("util");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_atomic_write_replaces_the_content);
	tcase_add_test(tc, test_atomic_write_can_write_an_empty_file);
	tcase_add_test(tc,
	    test_atomic_write_sets_the_mode_exactly_despite_umask);
	tcase_add_test(tc,
	    test_atomic_write_into_a_missing_directory_leaves_nothing);
	tcase_add_test(tc, test_atomic_write_below_a_file_fails_cleanly);
	tcase_add_test(tc,
	    test_atomic_write_in_a_read_only_directory_keeps_the_old_file);
	tcase_add_test(tc,
	    test_atomic_write_that_fails_midway_removes_its_temporary);
	tcase_add_test(tc, test_atomic_write_onto_a_directory_fails_in_rename);
	tcase_add_test(tc, test_read_file_reads_up_to_max_bytes);
	tcase_add_test(tc, test_read_file_refuses_a_file_larger_than_max);
	tcase_add_test(tc, test_read_file_grows_past_its_first_chunk);
	tcase_add_test(tc, test_read_file_of_a_missing_file_fails_with_enoent);
	tcase_add_test(tc, test_private_file_of_ours_with_mode_600_is_opened);
	tcase_add_test(tc, test_private_file_others_can_reach_is_refused);
	tcase_add_test(tc, test_private_file_owned_by_another_is_refused);
	tcase_add_test(tc, test_private_file_is_judged_by_what_was_opened);
	tcase_add_test(tc,
	    test_private_file_that_is_missing_fails_with_enoent);
	tcase_add_test(tc, test_strtonum_accepts_numbers_in_range);
	tcase_add_test(tc, test_strtonum_rejects_junk_as_invalid);
	tcase_add_test(tc, test_strtonum_names_the_side_of_the_range);
	tcase_add_test(tc, test_durations_take_a_unit_or_mean_seconds);
	tcase_add_test(tc, test_bad_durations_say_why);
	tcase_add_test(tc, test_no_deadline_never_passes);
	tcase_add_test(tc, test_deadline_of_zero_has_already_passed);
	tcase_add_test(tc, test_deadline_counts_down_and_passes);
	tcase_add_test(tc, test_far_deadline_does_not_overflow);
	tcase_add_test(tc, test_sleep_goes_on_after_a_signal);
	tcase_add_test(tc, test_clock_never_goes_back);
	tcase_add_test(tc, test_random_sets_every_bit_and_repeats_nothing);
	tcase_add_test(tc, test_utc_time_is_rfc3339_to_the_second);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * Run the suite.  Returns 0 when every test passed, else 1.
 */
int
main(void)
{
	SRunner	*r = srunner_create(util_suite());
	int	 failed;

	srunner_run_all(r, CK_ENV);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed != 0;
}
