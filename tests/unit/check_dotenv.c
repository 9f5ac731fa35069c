/*
 * check_dotenv.c: .env files round-trip every value, and the reader
 * takes the forms Compose takes.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dotenv.h"
#include "logged.h"
#include "util.h"

/* Values real secrets hold: quotes, "$", blanks, newlines, escapes. */
static const char *const nasty[] = {
	"plain",
	"",
	"it's a \"quoted\" value",
	"pa$$word $HOME ${PATH} $",
	"  leading and trailing blanks  ",
	"line one\nline two\n",
	"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1r\n"
	    "-----END OPENSSH PRIVATE KEY-----\n",
	"back\\slash \\n not a newline \\",
	"tab\there\r\ncrlf # not a comment",
	"unicode: ñ ü 日本 🙂",
	"=starts with equals",
};

/*
 * Parse text, failing the test on an error.
 */
static void
parse_ok(const char *text, struct dotenv *env)
{
	char	 err[256];

	ck_assert_msg(dotenv_parse(text, strlen(text), env, err,
	    sizeof(err)) == 0, "parse failed: %s", err);
}

/*
 * Parse text, which must fail with an error containing want.
 */
static void
parse_fails(const char *text, const char *want)
{
	struct dotenv	 env;
	char		 err[256];

	ck_assert_int_eq(dotenv_parse(text, strlen(text), &env, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "error '%s' lacks '%s'",
	    err, want);
	ck_assert_ptr_null(env.vars);
}

START_TEST(test_every_value_survives_a_round_trip)
{
	struct dotenv_buf	 b = { 0 };
	struct dotenv		 env;
	char			 key[32];
	size_t			 i, n = sizeof(nasty) / sizeof(nasty[0]);

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "KEY_%zu", i);
		ck_assert_int_eq(dotenv_append(&b, key, nasty[i]), 0);
	}
	parse_ok(b.s, &env);
	ck_assert_uint_eq(env.n, n);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "KEY_%zu", i);
		ck_assert_str_eq(dotenv_get(&env, key), nasty[i]);
	}
	dotenv_free(&env);
	dotenv_buf_free(&b);
}
END_TEST

START_TEST(test_written_lines_are_one_per_key_and_double_quoted)
{
	struct dotenv_buf	 b = { 0 };

	ck_assert_int_eq(dotenv_append(&b, "A", "x\ny\"$"), 0);
	ck_assert_str_eq(b.s, "A=\"x\\ny\\\"$$\"\n");
	dotenv_buf_free(&b);
}
END_TEST

START_TEST(test_invalid_keys_are_refused_by_the_writer)
{
	struct dotenv_buf	 b = { 0 };

	ck_assert_int_eq(dotenv_append(&b, "1ABC", "v"), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(dotenv_append(&b, "A-B", "v"), -1);
	ck_assert_int_eq(dotenv_append(&b, "", "v"), -1);
	ck_assert_ptr_null(b.s);
}
END_TEST

START_TEST(test_hand_written_forms_read_as_compose_reads_them)
{
	struct dotenv	 env;

	parse_ok("# comment\n\nexport A=bare value  # note\n"
	    "B='single $X \\n kept'\nC=\"esc \\t\\\\ \\q\"\n"
	    "  D = spaced\nE=\nF=a#b\nA=again\nG=\"p$$w \\$x\"\n"
	    "H=cost $$5 $\n"
	    "I=\"oct \\0123 \\0 \\01x\"\n", &env);
	ck_assert_str_eq(dotenv_get(&env, "A"), "again");
	ck_assert_str_eq(dotenv_get(&env, "B"), "single $X \\n kept");
	ck_assert_str_eq(dotenv_get(&env, "C"), "esc \t\\ \\q");
	ck_assert_str_eq(dotenv_get(&env, "D"), "spaced");
	ck_assert_str_eq(dotenv_get(&env, "E"), "");
	ck_assert_str_eq(dotenv_get(&env, "F"), "a#b");
	ck_assert_str_eq(dotenv_get(&env, "G"), "p$w $x");
	ck_assert_str_eq(dotenv_get(&env, "H"), "cost $5 $");
	ck_assert_str_eq(dotenv_get(&env, "I"), "oct S \\0 \\01x");
	ck_assert_ptr_null(dotenv_get(&env, "J"));
	dotenv_free(&env);
}
END_TEST

START_TEST(test_multi_line_quoted_values_are_read_whole)
{
	struct dotenv	 env;

	parse_ok("K='a\nb'\nL=\"c\nd\"\nM=e\n", &env);
	ck_assert_str_eq(dotenv_get(&env, "K"), "a\nb");
	ck_assert_str_eq(dotenv_get(&env, "L"), "c\nd");
	ck_assert_str_eq(dotenv_get(&env, "M"), "e");
	dotenv_free(&env);
}
END_TEST

START_TEST(test_interpolation_is_refused_with_the_fix)
{
	parse_fails("A=ok\nB=\"x ${HOME}\"\n", "line 2: B:");
	parse_fails("B=$HOME\n", "write $$ for a literal $");
}
END_TEST

START_TEST(test_broken_files_name_the_line)
{
	parse_fails("A=1\nB=\"open\n", "line 3: B: unterminated");
	parse_fails("A=1\nnot a statement\n", "line 2: expected NAME=value");
	parse_fails("A=\"x\" B=2\n", "text after the closing quote");
	parse_fails("=value\n", "expected NAME=value");
}
END_TEST

START_TEST(test_load_reads_a_private_file)
{
	static const char text[] = "A=\"1\"\nexport B='two'\n";
	char		 dir[] = "/tmp/check_dotenv.XXXXXX", path[64];
	struct dotenv	 env;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secrets.env", dir);
	ck_assert_int_eq(util_write_atomic(path, text, sizeof(text) - 1,
	    0600), 0);
	logged_start();
	ck_assert_int_eq(dotenv_load(path, &env), 0);
	ck_assert_str_eq(dotenv_get(&env, "A"), "1");
	ck_assert_str_eq(dotenv_get(&env, "B"), "two");
	ck_assert_str_eq(logged(), "");
	logged_stop();
	dotenv_free(&env);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_load_refuses_a_file_others_can_read)
{
	char		 dir[] = "/tmp/check_dotenv.XXXXXX", path[64];
	char		 want[128];
	struct dotenv	 env;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secrets.env", dir);
	ck_assert_int_eq(util_write_atomic(path, "A=1\n", 4, 0644), 0);
	logged_start();
	ck_assert_int_eq(dotenv_load(path, &env), -1);
	ck_assert_ptr_null(env.vars);
	snprintf(want, sizeof(want), "test: %s: readable by others: "
	    "chmod 600 it\n", path);
	ck_assert_str_eq(logged(), want);
	logged_stop();
	unlink(path);
	rmdir(dir);
}
END_TEST

/*
 * Collect the tests.  Returns the suite.
 */
static Suite *
dotenv_suite(void)
{
	Suite	*s = suite_create("dotenv");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_every_value_survives_a_round_trip);
	tcase_add_test(tc,
	    test_written_lines_are_one_per_key_and_double_quoted);
	tcase_add_test(tc, test_invalid_keys_are_refused_by_the_writer);
	tcase_add_test(tc, test_hand_written_forms_read_as_compose_reads_them);
	tcase_add_test(tc, test_multi_line_quoted_values_are_read_whole);
	tcase_add_test(tc, test_interpolation_is_refused_with_the_fix);
	tcase_add_test(tc, test_broken_files_name_the_line);
	tcase_add_test(tc, test_load_reads_a_private_file);
	tcase_add_test(tc, test_load_refuses_a_file_others_can_read);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * Run the suite.  Returns 0 when every test passed, else 1.
 */
int
main(void)
{
	SRunner	*r = srunner_create(dotenv_suite());
	int	 failed;

	srunner_run_all(r, CK_ENV);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
