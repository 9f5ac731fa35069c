/*
 * check_log.c: the shape of log lines, verbosity, escaping, and above
 * all that a registered secret never reaches any output.
 */
#define _XOPEN_SOURCE 700	/* posix_openpt */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "logged.h"

/*
 * Send log lines to a fresh temporary file, with everything printed.
 */
static void
setup(void)
{
	logged_start();
	log_verbosity = 2;
}

/*
 * Put the logger back as it was, so tests without fork stay apart.
 */
static void
teardown(void)
{
	log_forget_secrets();
	log_verbosity = 0;
	logged_stop();
}

/*
 * Return how many times needle occurs in hay.
 */
static int
count(const char *hay, const char *needle)
{
	int	n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/*
 * Put s through every function that prints, in the subject, in the
 * message, in the name of traced data and in the data itself.
 */
static void
log_everywhere(const char *s)
{
	errno = EACCES;
	log_err(s, "plain");
	log_err("subject", "in the message: %s.", s);
	errno = EACCES;
	log_errno(s, "open");
	errno = EACCES;
	log_errno("subject", "open %s", s);
	log_warn(s, "odd");
	log_warn("subject", "odd %s", s);
	log_info(s, "step");
	log_info("subject", "step %s", s);
	log_trace(s, "detail");
	log_trace("subject", "detail %s", s);
	log_trace_data(s, "body", "x", 1);
	log_trace_data("subject", s, "x", 1);
	log_trace_data("subject", "body", s, strlen(s));
}

/*
 * Check that none of the pieces of a secret shows in what was logged,
 * and that each of the 13 lines of log_everywhere was redacted.
 */
static void
assert_hidden(const char *const *pieces)
{
	const char	*t = logged();

	for (; *pieces != NULL; pieces++)
		ck_assert_msg(strstr(t, *pieces) == NULL,
		    "\"%s\" leaked in:\n%s", *pieces, t);
	ck_assert_int_eq(count(t, "\n"), 13);
	ck_assert_int_ge(count(t, LOG_REDACTED), 13);
}

START_TEST(test_progress_stays_quiet_off_a_terminal)
{
	log_verbosity = 0;
	log_progress("bruno-2", "waiting for SSH", 12000, 168000);
	log_progress_end();
	ck_assert_str_eq(logged(), "");
}
END_TEST

/* The slave side of the pseudo-terminal a test logs to. */
static FILE	*tty;

/*
 * Open a pseudo-terminal and point the log at its slave side, with
 * verbosity 0 as on a user's terminal.  Returns the master's fd.
 */
static int
tty_start(void)
{
	int	m;

	m = posix_openpt(O_RDWR | O_NOCTTY);
	ck_assert_int_ge(m, 0);
	ck_assert_int_eq(grantpt(m), 0);
	ck_assert_int_eq(unlockpt(m), 0);
	tty = fopen(ptsname(m), "w");
	ck_assert_ptr_nonnull(tty);
	log_set_stream(tty);
	log_verbosity = 0;
	return m;
}

/*
 * Close the slave side, put the log back on its file and read what
 * the terminal showed into buf.  Returns buf.
 */
static char *
tty_stop(int m, char *buf, size_t size)
{
	struct pollfd	 pfd;
	size_t		 len = 0;
	ssize_t		 n;

	fclose(tty);
	log_set_stream(logged_fp);
	/* The terminal may hand the text over in pieces. */
	pfd.fd = m;
	pfd.events = POLLIN;
	while (len < size - 1 && poll(&pfd, 1, 500) == 1 &&
	    (n = read(m, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(m);
	return buf;
}

START_TEST(test_progress_shows_elapsed_and_deadline_on_a_terminal)
{
	char	buf[512];
	int	m;

	m = tty_start();
	log_progress("bruno-2", "waiting for SSH", 12000, 168000);
	log_err("bruno-2", "refused");
	tty_stop(m, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\rtest: bruno-2: waiting for "
	    "SSH: 12 s, deadline in 168 s"));
	/* A message first clears the progress line. */
	ck_assert_ptr_nonnull(strstr(buf, "\r\033[Ktest: bruno-2: refused"));
}
END_TEST

START_TEST(test_progress_line_is_redacted_and_escaped)
{
	char	buf[512];
	int	m;

	log_secret("hunter2-token");
	m = tty_start();
	/* What a server said, with a secret and a terminal escape. */
	log_progress("bruno-2", "status hunter2-token\033]0;pwned\a",
	    3000, -1);
	tty_stop(m, buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "hunter2") == NULL, "leaked: %s", buf);
	ck_assert_msg(strstr(buf, "\033]") == NULL, "raw escape: %s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "test: bruno-2: status "
	    LOG_REDACTED "\\x1b]0;pwned\\x07: 3 s"));
}
END_TEST

START_TEST(test_error_line_names_program_then_subject)
{
	log_err("https://api.example/v1", "HTTP %d: %s", 422, "bad name");
	ck_assert_str_eq(logged(),
	    "test: https://api.example/v1: HTTP 422: bad name\n");
}
END_TEST

START_TEST(test_line_without_subject_has_only_the_program)
{
	log_err(NULL, "usage: mkp-x file");
	ck_assert_str_eq(logged(), "test: usage: mkp-x file\n");
}
END_TEST

START_TEST(test_program_name_is_the_last_part_of_its_path)
{
	log_init("/usr/libexec/mkprov/mkp-hcloud");
	log_err("s", "m");
	ck_assert_str_eq(logged(), "mkp-hcloud: s: m\n");
}
END_TEST

START_TEST(test_warning_says_so_after_the_subject)
{
	log_warn("server", "rate limit low");
	ck_assert_str_eq(logged(), "test: server: warning: rate limit low\n");
}
END_TEST

START_TEST(test_errno_message_ends_with_strerror_and_keeps_errno)
{
	char	want[256];

	snprintf(want, sizeof(want), "test: /etc/x: open: %s\n",
	    strerror(ENOENT));
	errno = ENOENT;
	log_errno("/etc/x", "open");
	ck_assert_str_eq(logged(), want);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_logging_leaves_errno_alone)
{
	errno = EPIPE;
	log_err("a", "b");
	log_trace_data("a", "b", "c", 1);
	ck_assert_int_eq(errno, EPIPE);
}
END_TEST

START_TEST(test_info_is_printed_only_from_verbosity_one)
{
	log_verbosity = 0;
	log_info("s", "hidden");
	ck_assert_str_eq(logged(), "");
	log_verbosity = 1;
	log_info("s", "shown");
	ck_assert_str_eq(logged(), "test: s: shown\n");
}
END_TEST

START_TEST(test_traces_are_printed_only_from_verbosity_two)
{
	log_verbosity = 1;
	log_trace("s", "hidden");
	log_trace_data("s", "body", "{}", 2);
	ck_assert_str_eq(logged(), "");
	log_verbosity = 2;
	log_trace("s", "shown");
	log_trace_data("s", "body", "{}", 2);
	ck_assert_str_eq(logged(), "test: s: shown\ntest: s: body: {}\n");
}
END_TEST

START_TEST(test_errors_and_warnings_print_at_verbosity_zero)
{
	log_verbosity = 0;
	log_err("s", "e");
	log_warn("s", "w");
	ck_assert_str_eq(logged(), "test: s: e\ntest: s: warning: w\n");
}
END_TEST

START_TEST(test_trace_data_escapes_binary_bodies)
{
	log_trace_data("ssh", "stdout", "a\0b\n\x1b", 5);
	ck_assert_str_eq(logged(), "test: ssh: stdout: a\\x00b\\n\\x1b\n");
}
END_TEST

START_TEST(test_control_bytes_from_a_server_are_escaped)
{
	log_err("api", "%s", "\x1b]0;owned\x07red\r\n\t\\ caf\xc3\xa9 \x7f");
	ck_assert_str_eq(logged(), "test: api: \\x1b]0;owned\\x07red\\r\\n"
	    "\\t\\\\ caf\\xc3\\xa9 \\x7f\n");
}
END_TEST

START_TEST(test_control_bytes_in_the_subject_are_escaped)
{
	log_err("a\nb\x1b", "m");
	ck_assert_str_eq(logged(), "test: a\\nb\\x1b: m\n");
}
END_TEST

START_TEST(test_very_long_lines_are_cut_with_a_note)
{
	static char	body[100000];
	const char	*t;

	memset(body, 'a', sizeof(body));
	log_trace_data("api", "response", body, sizeof(body));
	t = logged();
	ck_assert_uint_lt(strlen(t), 9000);
	ck_assert_ptr_nonnull(strstr(t, "... [cut, 100021 bytes in all]\n"));
	ck_assert_int_eq(count(t, "\n"), 1);
}
END_TEST

START_TEST(test_secret_at_the_cut_is_redacted_whole)
{
	static char	msg[9000];
	size_t		i;

	ck_assert_int_eq(log_secret("Zq9Wk4"), 0);
	/* Put the secret across the 8192-character cut. */
	memset(msg, 'a', sizeof(msg) - 1);
	for (i = 8180; i < 8200; i += 6)
		memcpy(msg + i, "Zq9Wk4", 6);
	log_err(NULL, "%s", msg);
	ck_assert_ptr_null(strstr(logged(), "Zq"));
	ck_assert_ptr_null(strstr(logged(), "k4"));
}
END_TEST

/*
 * Pass len bytes of line to log_output, as a command's stderr line
 * that lost dropped bytes, with a temporary file as its fd.  Returns
 * what was written there, malloc'd.
 */
static char *
output_of(const char *subject, const char *line, size_t len,
    size_t dropped)
{
	char	*buf;
	FILE	*fp;
	long	 n;

	ck_assert_ptr_nonnull(fp = tmpfile());
	ck_assert_int_eq(log_output(fileno(fp), subject, line, len,
	    dropped), 0);
	/* Written past the stream's back: ask the file for its size. */
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	ck_assert_ptr_nonnull(buf = calloc(1, (size_t)n + 1));
	ck_assert_int_eq(fread(buf, 1, (size_t)n, fp), n);
	fclose(fp);
	return buf;
}

START_TEST(test_output_lines_are_prefixed_redacted_and_escaped)
{
	static const char line[] = "pw hunter2-token \x1b[2J\tend\0!";
	char	*got;

	ck_assert_int_eq(log_secret("hunter2-token"), 0);
	got = output_of("10.0.0.7:22", line, sizeof(line) - 1, 0);
	ck_assert_str_eq(got, "test: 10.0.0.7:22: pw " LOG_REDACTED
	    " \\x1b[2J\\tend\\x00!\n");
	/* It went to the descriptor given, not to the log stream. */
	ck_assert_str_eq(logged(), "");
	free(got);
}
END_TEST

START_TEST(test_output_cut_short_drops_what_could_begin_a_secret)
{
	char	*got;

	ck_assert_int_eq(log_secret("ABCDEFGH12"), 0);
	/* Whole, the line ends in text that merely looks like one. */
	got = output_of("s", "start ABCDE", 11, 0);
	ck_assert_str_eq(got, "test: s: start ABCDE\n");
	free(got);
	/* Cut, those bytes may be half of it: they go too. */
	got = output_of("s", "start ABCDE", 11, 5);
	ck_assert_str_eq(got, "test: s: start  [cut, 25 bytes in all]\n");
	free(got);
	got = output_of("s", "start xyz", 9, 100);
	ck_assert_str_eq(got, "test: s: start xyz [cut, 118 bytes in "
	    "all]\n");
	free(got);
}
END_TEST

START_TEST(test_output_to_a_bad_descriptor_fails_with_errno)
{
	int	fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	close(fds[0]);
	close(fds[1]);
	errno = 0;
	ck_assert_int_eq(log_output(fds[1], "s", "x", 1, 0), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(test_secret_is_redacted_in_every_output)
{
	static const char *const pieces[] = { "tok3n", "S3CR", NULL };

	ck_assert_int_eq(log_secret("tok3nS3CR"), 0);
	log_everywhere("xtok3nS3CRx");
	assert_hidden(pieces);
}
END_TEST

START_TEST(test_secret_with_newline_and_quote_is_redacted_raw)
{
	static const char *const pieces[] = { "pw1", "pw2", "pw3", NULL };

	ck_assert_int_eq(log_secret("pw1\"pw2\npw3"), 0);
	log_everywhere("pw1\"pw2\npw3");
	assert_hidden(pieces);
}
END_TEST

START_TEST(test_secret_is_redacted_in_its_json_escaped_form)
{
	static const char *const pieces[] = { "pw1", "pw2", "pw3", NULL };

	ck_assert_int_eq(log_secret("pw1\"pw2\npw3\\"), 0);
	log_everywhere("pw1\\\"pw2\\npw3\\\\");
	assert_hidden(pieces);
}
END_TEST

START_TEST(test_secret_is_redacted_in_a_generated_json_body)
{
	static const char	 s[] = "hunter2\x01\"\t\\/é";
	struct json_w		 w;
	char			*body;
	size_t			 len;

	ck_assert_int_eq(log_secret(s), 0);
	ck_assert_int_eq(jw_init(&w), 0);
	jw_obj_open(&w);
	jw_kv_str(&w, "password", s);
	jw_obj_close(&w);
	ck_assert_int_eq(jw_finish(&w, &body, &len), 0);
	log_trace_data("api", "request", body, len);
	ck_assert_str_eq(logged(),
	    "test: api: request: {\"password\":\"" LOG_REDACTED "\"}\n");
	free(body);
	jw_free(&w);
}
END_TEST

START_TEST(test_overlapping_secrets_leave_nothing_of_either)
{
	static const char *const pieces[] = { "abc", "def", "ghi", NULL };

	ck_assert_int_eq(log_secret("abcdef"), 0);
	ck_assert_int_eq(log_secret("defghi"), 0);
	log_everywhere("abcdefghi");
	assert_hidden(pieces);
}
END_TEST

START_TEST(test_secret_inside_a_longer_secret_leaves_nothing)
{
	ck_assert_int_eq(log_secret("bcd"), 0);
	ck_assert_int_eq(log_secret("abcde"), 0);
	log_err(NULL, "1 abcde 2 bcd 3 abcd 4");
	ck_assert_str_eq(logged(), "test: 1 " LOG_REDACTED " 2 "
	    LOG_REDACTED " 3 a" LOG_REDACTED " 4\n");
}
END_TEST

START_TEST(test_empty_and_null_secrets_are_ignored)
{
	ck_assert_int_eq(log_secret(NULL), 0);
	ck_assert_int_eq(log_secret(""), 0);
	log_err("s", "m");
	ck_assert_str_eq(logged(), "test: s: m\n");
}
END_TEST

START_TEST(test_forgotten_secrets_are_printed_again)
{
	ck_assert_int_eq(log_secret("open-sesame"), 0);
	ck_assert_int_eq(log_secret("open-sesame"), 0);
	log_forget_secrets();
	log_err("s", "open-sesame");
	ck_assert_str_eq(logged(), "test: s: open-sesame\n");
}
END_TEST

START_TEST(test_redact_works_in_place_and_returns_the_length)
{
	char	buf[64] = "Authorization: Bearer abc123xyz";

	ck_assert_int_eq(log_secret("abc123xyz"), 0);
	ck_assert_uint_eq(log_redact(buf, sizeof(buf)),
	    strlen("Authorization: Bearer " LOG_REDACTED));
	ck_assert_str_eq(buf, "Authorization: Bearer " LOG_REDACTED);
}
END_TEST

START_TEST(test_redact_cuts_rather_than_overflows)
{
	char	buf[12] = "id=ab,cd";

	ck_assert_int_eq(log_secret("ab"), 0);
	ck_assert_uint_eq(log_redact(buf, sizeof(buf)), 11);
	ck_assert_str_eq(buf, "id=[REDACTE");
}
END_TEST

START_TEST(test_escape_without_limit_escapes_everything)
{
	char	*s;

	s = log_escape("a\\b\0c\xff", 6, 0);
	ck_assert_str_eq(s, "a\\\\b\\x00c\\xff");
	free(s);
}
END_TEST

START_TEST(test_escape_cuts_at_max_without_splitting_a_sequence)
{
	char	*s;

	s = log_escape("ab\x01\x02", 4, 5);
	ck_assert_str_eq(s, "ab...");
	free(s);
	s = log_escape("abcdef", 6, 6);
	ck_assert_str_eq(s, "abcdef");
	free(s);
	s = log_escape("abcdefg", 7, 6);
	ck_assert_str_eq(s, "abcdef...");
	free(s);
}
END_TEST

/*
 * Collect the tests; each starts from a fresh stream.  Returns the
 * suite.
 */
static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("log");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_progress_stays_quiet_off_a_terminal);
	tcase_add_test(tc,
	    test_progress_shows_elapsed_and_deadline_on_a_terminal);
	tcase_add_test(tc, test_progress_line_is_redacted_and_escaped);
	tcase_add_test(tc, test_error_line_names_program_then_subject);
	tcase_add_test(tc, test_line_without_subject_has_only_the_program);
	tcase_add_test(tc, test_program_name_is_the_last_part_of_its_path);
	tcase_add_test(tc, test_warning_says_so_after_the_subject);
	tcase_add_test(tc,
	    test_errno_message_ends_with_strerror_and_keeps_errno);
	tcase_add_test(tc, test_logging_leaves_errno_alone);
	tcase_add_test(tc, test_info_is_printed_only_from_verbosity_one);
	tcase_add_test(tc, test_traces_are_printed_only_from_verbosity_two);
	tcase_add_test(tc, test_errors_and_warnings_print_at_verbosity_zero);
	tcase_add_test(tc, test_trace_data_escapes_binary_bodies);
	tcase_add_test(tc, test_control_bytes_from_a_server_are_escaped);
	tcase_add_test(tc, test_control_bytes_in_the_subject_are_escaped);
	tcase_add_test(tc, test_very_long_lines_are_cut_with_a_note);
	tcase_add_test(tc, test_secret_at_the_cut_is_redacted_whole);
	tcase_add_test(tc, test_secret_is_redacted_in_every_output);
	tcase_add_test(tc,
	    test_output_lines_are_prefixed_redacted_and_escaped);
	tcase_add_test(tc,
	    test_output_cut_short_drops_what_could_begin_a_secret);
	tcase_add_test(tc, test_output_to_a_bad_descriptor_fails_with_errno);
	tcase_add_test(tc, test_secret_with_newline_and_quote_is_redacted_raw);
	tcase_add_test(tc, test_secret_is_redacted_in_its_json_escaped_form);
	tcase_add_test(tc, test_secret_is_redacted_in_a_generated_json_body);
	tcase_add_test(tc, test_overlapping_secrets_leave_nothing_of_either);
	tcase_add_test(tc, test_secret_inside_a_longer_secret_leaves_nothing);
	tcase_add_test(tc, test_empty_and_null_secrets_are_ignored);
	tcase_add_test(tc, test_forgotten_secrets_are_printed_again);
	tcase_add_test(tc, test_redact_works_in_place_and_returns_the_length);
	tcase_add_test(tc, test_redact_cuts_rather_than_overflows);
	tcase_add_test(tc, test_escape_without_limit_escapes_everything);
	tcase_add_test(tc,
	    test_escape_cuts_at_max_without_splitting_a_sequence);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * Run the suite.  Returns 0 when every test passed, else 1.
 */
int
main(void)
{
	SRunner	*r = srunner_create(log_suite());
	int	 failed;

	srunner_run_all(r, CK_ENV);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed != 0;
}
