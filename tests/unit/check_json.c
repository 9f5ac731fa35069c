/*
 * check_json.c: parsing bad input, typed lookups and their messages,
 * limits, and bodies that go through the generator and back.
 */
#include <sys/stat.h>

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "logged.h"

static const char server[] =
    "{\"server\": {\"id\": 42, \"name\": \"web-1\", \"locked\": false,"
    " \"labels\": {}, \"image\": null, \"ratio\": 1.5,"
    " \"public_net\": {\"ipv4\": null, \"ipv6\": {\"ip\": \"2a01::/64\"}},"
    " \"volumes\": [7, 8, 9]},"
    " \"servers\": [{\"id\": 1}, {\"id\": 2}]}";

static yajl_val		 tree;
static struct json_err	 err;

/*
 * Parse the sample server, and catch log lines.
 */
static void
setup(void)
{
	memset(&err, 0, sizeof(err));
	tree = json_parse(server, strlen(server), &err);
	ck_assert_msg(tree != NULL, "%s", err.msg);
	logged_start();
}

/*
 * Free the tree and put the logger back.
 */
static void
teardown(void)
{
	json_free(tree);
	logged_stop();
}

/*
 * Parse s, expecting failure with exactly the message want.
 */
static void
assert_rejected(const char *s, size_t len, const char *want)
{
	struct json_err	e;
	yajl_val	v;

	memset(&e, 0, sizeof(e));
	v = json_parse(s, len, &e);
	ck_assert_msg(v == NULL, "\"%s\" was accepted", s);
	ck_assert_str_eq(e.msg, want);
}

/*
 * Return a malloc'd string of n opening brackets and n closing ones.
 */
static char *
nested(size_t n)
{
	char	*s = malloc(2 * n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = '\0';
	return s;
}

/*
 * Build {"k": s} with the generator into a malloc'd string.  Returns
 * it, or NULL when jw_finish failed.
 */
static char *
generate(const char *s)
{
	struct json_w	 w;
	char		*body = NULL;
	size_t		 len;

	ck_assert_int_eq(jw_init(&w), 0);
	jw_obj_open(&w);
	jw_kv_str(&w, "k", s);
	jw_obj_close(&w);
	if (jw_finish(&w, &body, &len) == 0)
		ck_assert_uint_eq(len, strlen(body));
	jw_free(&w);
	return body;
}

START_TEST(test_typed_lookups_read_a_whole_response)
{
	const char	*s;
	long long	 n;
	yajl_val	 v;
	size_t		 len;
	int		 b;

	ck_assert_int_eq(json_int(tree, "server.id", &n, &err), 0);
	ck_assert_int_eq(n, 42);
	ck_assert_int_eq(json_str(tree, "server.name", &s, &err), 0);
	ck_assert_str_eq(s, "web-1");
	ck_assert_int_eq(json_bool(tree, "server.locked", &b, &err), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(json_str(tree, "server.public_net.ipv6.ip", &s,
	    &err), 0);
	ck_assert_str_eq(s, "2a01::/64");
	ck_assert_int_eq(json_obj(tree, "server.labels", &v, &err), 0);
	ck_assert_int_eq(json_arr(tree, "server.volumes", &v, &len, &err), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(json_int(v, "[2]", &n, &err), 0);
	ck_assert_int_eq(n, 9);
	ck_assert_int_eq(json_int(tree, "servers[1].id", &n, &err), 0);
	ck_assert_int_eq(n, 2);
}
END_TEST

START_TEST(test_json_at_finds_nodes_and_returns_null_for_absent_ones)
{
	ck_assert_ptr_eq(json_at(tree, ""), tree);
	ck_assert_ptr_nonnull(json_at(tree, "servers[0]"));
	ck_assert_ptr_null(json_at(tree, "servers[2]"));
	ck_assert_ptr_null(json_at(tree, "server.nope"));
	ck_assert_ptr_null(json_at(tree, "server.id.deeper"));
	ck_assert_ptr_null(json_at(tree, "server[0]"));
	ck_assert_ptr_null(json_at(tree, NULL));
	ck_assert_ptr_null(json_at(NULL, "server"));
}
END_TEST

START_TEST(test_null_where_a_string_is_wanted_is_named)
{
	const char	*s;

	ck_assert_int_eq(json_str(tree, "server.image", &s, &err), -1);
	ck_assert_str_eq(err.msg, "server.image: expected string, got null");
}
END_TEST

START_TEST(test_wrong_types_are_named_exactly)
{
	const char	*s;
	long long	 n;
	yajl_val	 v;
	size_t		 len;
	int		 b;

	ck_assert_int_eq(json_str(tree, "server.id", &s, &err), -1);
	ck_assert_str_eq(err.msg, "server.id: expected string, got integer");
	ck_assert_int_eq(json_int(tree, "server.name", &n, &err), -1);
	ck_assert_str_eq(err.msg,
	    "server.name: expected integer, got string");
	ck_assert_int_eq(json_bool(tree, "server.labels", &b, &err), -1);
	ck_assert_str_eq(err.msg,
	    "server.labels: expected boolean, got object");
	ck_assert_int_eq(json_obj(tree, "server.volumes", &v, &err), -1);
	ck_assert_str_eq(err.msg,
	    "server.volumes: expected object, got array");
	ck_assert_int_eq(json_arr(tree, "server.locked", &v, &len, &err), -1);
	ck_assert_str_eq(err.msg,
	    "server.locked: expected array, got boolean");
	ck_assert_int_eq(json_str(tree, "server.ratio", &s, &err), -1);
	ck_assert_str_eq(err.msg,
	    "server.ratio: expected string, got number");
	ck_assert_int_eq(json_obj(tree, "", &v, &err), 0);
	ck_assert_int_eq(json_arr(tree, "", &v, &len, &err), -1);
	ck_assert_str_eq(err.msg, "top level: expected array, got object");
}
END_TEST

START_TEST(test_missing_paths_are_named_in_full)
{
	const char	*s;
	long long	 n;

	ck_assert_int_eq(json_str(tree, "server.public_net.ipv4.ip", &s,
	    &err), -1);
	ck_assert_str_eq(err.msg, "server.public_net.ipv4.ip: missing");
	ck_assert_int_eq(json_int(tree, "server.nope", &n, &err), -1);
	ck_assert_str_eq(err.msg, "server.nope: missing");
	ck_assert_int_eq(json_int(tree, "server.id.x", &n, &err), -1);
	ck_assert_str_eq(err.msg, "server.id.x: missing");
}
END_TEST

START_TEST(test_array_indexes_out_of_range_are_missing)
{
	long long	n;

	ck_assert_int_eq(json_int(tree, "servers[2].id", &n, &err), -1);
	ck_assert_str_eq(err.msg, "servers[2].id: missing");
	ck_assert_int_eq(json_int(tree,
	    "servers[99999999999999999999999].id", &n, &err), -1);
	ck_assert_str_eq(err.msg,
	    "servers[99999999999999999999999].id: invalid path");
	ck_assert_int_eq(json_int(tree, "server.volumes[3]", &n, &err), -1);
	ck_assert_str_eq(err.msg, "server.volumes[3]: missing");
}
END_TEST

START_TEST(test_malformed_paths_are_called_invalid)
{
	static const char *const bad[] = {
		"servers[-1]", "servers[x]", "servers[1", "servers[]",
		"server..id", "server.", ".server", "servers[0]id", NULL,
	};
	const char	*const *p;
	char		 want[128];
	long long	 n;

	for (p = bad; *p != NULL; p++) {
		ck_assert_int_eq(json_int(tree, *p, &n, &err), -1);
		snprintf(want, sizeof(want), "%s: invalid path", *p);
		ck_assert_str_eq(err.msg, want);
		ck_assert_ptr_null(json_at(tree, *p));
	}
}
END_TEST

START_TEST(test_null_is_accepted_where_asked_for)
{
	const char	*s = "x";
	long long	 n = 5;
	int		 isnull = 0;

	ck_assert_int_eq(json_str_or_null(tree, "server.image", &s, &err), 0);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(json_str_or_null(tree, "server.name", &s, &err), 0);
	ck_assert_str_eq(s, "web-1");
	ck_assert_int_eq(json_int_or_null(tree, "server.image", &n, &isnull,
	    &err), 0);
	ck_assert_int_eq(isnull, 1);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(json_int_or_null(tree, "server.id", &n, &isnull,
	    &err), 0);
	ck_assert_int_eq(isnull, 0);
	ck_assert_int_eq(n, 42);
	ck_assert_int_eq(json_int_or_null(tree, "server.name", &n, &isnull,
	    &err), -1);
	ck_assert_str_eq(err.msg,
	    "server.name: expected integer or null, got string");
	ck_assert_int_eq(json_str_or_null(tree, "server.nope", &s, &err), -1);
	ck_assert_str_eq(err.msg, "server.nope: missing");
}
END_TEST

START_TEST(test_type_names_cover_every_kind)
{
	static const char	 doc[] = "[{}, [], \"s\", 1, 1.5, 1e400, "
	    "9223372036854775808, true, false, null]";
	static const char *const names[] = {
		"object", "array", "string", "integer", "number", "number",
		"number", "boolean", "boolean", "null",
	};
	yajl_val		 v;
	size_t			 i;

	v = json_parse(doc, strlen(doc), &err);
	ck_assert_ptr_nonnull(v);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_str_eq(json_type_name(v->u.array.values[i]),
		    names[i]);
	json_free(v);
}
END_TEST

START_TEST(test_large_numbers_fit_or_are_out_of_range)
{
	static const char	 doc[] = "{\"max\": 9223372036854775807,"
	    " \"min\": -9223372036854775808, \"over\": 9223372036854775808,"
	    " \"under\": -9223372036854775809, \"huge\": 1e400,"
	    " \"half\": 1.5, \"exp\": 1e3}";
	yajl_val		 v;
	long long		 n;

	v = json_parse(doc, strlen(doc), &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(json_int(v, "max", &n, &err), 0);
	ck_assert(n == LLONG_MAX);
	ck_assert_int_eq(json_int(v, "min", &n, &err), 0);
	ck_assert(n == LLONG_MIN);
	ck_assert_int_eq(json_int(v, "over", &n, &err), -1);
	ck_assert_str_eq(err.msg,
	    "over: integer 9223372036854775808 out of range");
	ck_assert_int_eq(json_int(v, "under", &n, &err), -1);
	ck_assert_str_eq(err.msg,
	    "under: integer -9223372036854775809 out of range");
	ck_assert_int_eq(json_int(v, "huge", &n, &err), -1);
	ck_assert_str_eq(err.msg, "huge: expected integer, got number 1e400");
	ck_assert_int_eq(json_int(v, "half", &n, &err), -1);
	ck_assert_str_eq(err.msg, "half: expected integer, got number 1.5");
	ck_assert_int_eq(json_int(v, "exp", &n, &err), -1);
	ck_assert_str_eq(err.msg, "exp: expected integer, got number 1e3");
	json_free(v);
}
END_TEST

START_TEST(test_truncated_input_is_rejected)
{
	assert_rejected("{\"a\": [1, 2", 11, "parse error: premature EOF");
	assert_rejected("", 0, "parse error: premature EOF");
	assert_rejected("\"abc", 4, "parse error: premature EOF");
	assert_rejected(NULL, 0, "parse error: premature EOF");
}
END_TEST

START_TEST(test_trailing_garbage_is_rejected)
{
	assert_rejected("{} x", 4, "parse error: trailing garbage");
	assert_rejected("{}{}", 4, "parse error: trailing garbage");
}
END_TEST

START_TEST(test_only_len_bytes_are_parsed)
{
	yajl_val	v;

	v = json_parse("{}garbage", 2, &err);
	ck_assert_ptr_nonnull(v);
	json_free(v);
}
END_TEST

START_TEST(test_invalid_utf8_is_rejected)
{
	assert_rejected("\"\xff\"", 3,
	    "lexical error: invalid bytes in UTF8 string");
	assert_rejected("\"\xc3\"", 3,
	    "lexical error: invalid bytes in UTF8 string");
}
END_TEST

START_TEST(test_nul_bytes_and_comments_are_rejected)
{
	assert_rejected("{\"a\":\"b\0c\"}", 11, "NUL byte at offset 7");
	assert_rejected("[1] // note", 11, "comment at offset 4");
	assert_rejected("[1, /* x */ 2]", 14, "comment at offset 4");
	assert_rejected("{\"a\": bad}", 10,
	    "lexical error: invalid char in json text");
}
END_TEST

START_TEST(test_escaped_nul_is_refused_with_its_offset)
{
	/* yajl would hand over "abc": C strings end at a NUL. */
	assert_rejected("{\"a\":\"abc\\u0000def\"}", 20,
	    "\\u0000 at offset 9: strings cannot hold NUL");
	assert_rejected("{\"k\\u0000\":1}", 14,
	    "\\u0000 at offset 3: strings cannot hold NUL");
	assert_rejected("[\"\\u0000\"]", 10,
	    "\\u0000 at offset 2: strings cannot hold NUL");
}
END_TEST

START_TEST(test_surrogates_without_their_pair_are_refused)
{
	/* yajl would read a lone high surrogate as "?". */
	assert_rejected("[\"\\ud800\"]", 10,
	    "\\ud800 at offset 2: a surrogate without its pair");
	assert_rejected("[\"x\\uDBFFy\"]", 12,
	    "\\udbff at offset 3: a surrogate without its pair");
	assert_rejected("[\"\\udc00\"]", 10,
	    "\\udc00 at offset 2: a surrogate without its pair");
	assert_rejected("[\"\\ud800\\u0041\"]", 16,
	    "\\ud800 at offset 2: a surrogate without its pair");
	assert_rejected("[\"\\ud800\\ud800\"]", 16,
	    "\\ud800 at offset 2: a surrogate without its pair");
	assert_rejected("[\"\\ud800", 8,
	    "\\ud800 at offset 2: a surrogate without its pair");
}
END_TEST

START_TEST(test_well_formed_escapes_still_read_as_their_text)
{
	static const char doc[] = "{\"pair\": \"\\ud83d\\ude42\", "
	    "\"e\": \"\\u00e9\\u6F22\", \"lit\": \"\\\\u0000\", "
	    "\"q\": \"\\\"\\u0041\"}";
	const char	*str;
	yajl_val	 v;

	v = json_parse(doc, strlen(doc), &err);
	ck_assert_msg(v != NULL, "%s", err.msg);
	ck_assert_int_eq(json_str(v, "pair", &str, &err), 0);
	ck_assert_str_eq(str, "🙂");
	ck_assert_int_eq(json_str(v, "e", &str, &err), 0);
	ck_assert_str_eq(str, "é漢");
	/* An escaped backslash: the text \u0000, six characters. */
	ck_assert_int_eq(json_str(v, "lit", &str, &err), 0);
	ck_assert_str_eq(str, "\\u0000");
	ck_assert_int_eq(json_str(v, "q", &str, &err), 0);
	ck_assert_str_eq(str, "\"A");
	json_free(v);
	/* Malformed digits are left to yajl to name. */
	assert_rejected("[\"\\u12\"]", 8,
	    "lexical error: invalid (non-hex) character occurs after "
	    "'\\u' inside string");
}
END_TEST

START_TEST(test_error_messages_are_one_line)
{
	static const char *const bad[] = {
		"{", "[1,]", "{\"a\" 1}", "tru", "\"\\x\"", "[\"\n\"]", NULL,
	};
	const char	*const *p;
	struct json_err	 e;

	for (p = bad; *p != NULL; p++) {
		memset(&e, 0, sizeof(e));
		ck_assert_ptr_null(json_parse(*p, strlen(*p), &e));
		ck_assert_msg(e.msg[0] != '\0', "no message for %s", *p);
		ck_assert_ptr_null(strchr(e.msg, '\n'));
		ck_assert_msg(e.msg[strlen(e.msg) - 1] != '.', "%s", e.msg);
	}
}
END_TEST

START_TEST(test_deep_nesting_is_refused_without_crashing)
{
	char		*s = nested(10000);
	yajl_val	 v;

	assert_rejected(s, strlen(s), "nested deeper than 512 levels");
	free(s);
	s = nested(512);
	v = json_parse(s, strlen(s), &err);
	ck_assert_ptr_nonnull(v);
	json_free(v);
	free(s);
	s = nested(513);
	assert_rejected(s, strlen(s), "nested deeper than 512 levels");
	free(s);
}
END_TEST

START_TEST(test_brackets_inside_strings_do_not_count_as_nesting)
{
	char		*s;
	yajl_val	 v;
	size_t		 n = 10000;
	const char	*str;

	s = malloc(n + 7);
	ck_assert_ptr_nonnull(s);
	memcpy(s, "[\"\\\"", 4);
	memset(s + 4, '[', n - 4);
	memcpy(s + n, "//\"]", 5);
	v = json_parse(s, strlen(s), &err);
	ck_assert_msg(v != NULL, "%s", err.msg);
	ck_assert_int_eq(json_str(v, "[0]", &str, &err), 0);
	ck_assert_uint_eq(strlen(str), n - 4 + 1 + 2);
	json_free(v);
	free(s);
}
END_TEST

START_TEST(test_duplicate_keys_take_the_last_value)
{
	static const char	 doc[] = "{\"a\": 1, \"a\": 2}";
	yajl_val		 v;
	long long		 n;

	v = json_parse(doc, strlen(doc), &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(json_int(v, "a", &n, &err), 0);
	ck_assert_int_eq(n, 2);
	json_free(v);
}
END_TEST

START_TEST(test_generator_writes_compact_json)
{
	struct json_w	 w;
	char		*body;
	size_t		 len;

	ck_assert_int_eq(jw_init(&w), 0);
	jw_obj_open(&w);
	jw_kv_str(&w, "name", "web-1");
	jw_kv_int(&w, "n", -9223372036854775807LL - 1);
	jw_kv_bool(&w, "start", 1);
	jw_key(&w, "labels");
	jw_obj_open(&w);
	jw_obj_close(&w);
	jw_key(&w, "ids");
	jw_arr_open(&w);
	jw_int(&w, 1);
	jw_bool(&w, 0);
	jw_null(&w);
	jw_str(&w, "");
	jw_arr_close(&w);
	jw_obj_close(&w);
	ck_assert_int_eq(jw_finish(&w, &body, &len), 0);
	ck_assert_str_eq(body, "{\"name\":\"web-1\","
	    "\"n\":-9223372036854775808,\"start\":true,\"labels\":{},"
	    "\"ids\":[1,false,null,\"\"]}");
	ck_assert_uint_eq(len, strlen(body));
	free(body);
	jw_free(&w);
	jw_free(&w);
}
END_TEST

START_TEST(test_utf8_and_control_characters_survive_a_round_trip)
{
	char		 s[200], *body;
	const char	*back;
	yajl_val	 v;
	size_t		 i, n = 0;

	for (i = 1; i < 0x80; i++)
		s[n++] = (char)i;
	strcpy(s + n, "é漢字🙂\"\\/");
	body = generate(s);
	ck_assert_ptr_nonnull(body);
	ck_assert_ptr_null(strchr(body, '\n'));
	ck_assert_ptr_null(strchr(body, '\x1b'));
	v = json_parse(body, strlen(body), &err);
	ck_assert_msg(v != NULL, "%s", err.msg);
	ck_assert_int_eq(json_str(v, "k", &back, &err), 0);
	ck_assert_str_eq(back, s);
	json_free(v);
	free(body);
}
END_TEST

START_TEST(test_invalid_utf8_cannot_be_generated)
{
	ck_assert_ptr_null(generate("abc\xff"));
	ck_assert_str_eq(logged(),
	    "test: json: cannot build JSON: a string is not valid UTF-8\n");
	ck_assert_ptr_null(generate("\xc3"));
	/* yajl lets these through; jw_str checks them itself. */
	ck_assert_ptr_null(generate("\xed\xa0\x80"));
	ck_assert_ptr_null(generate("\xc0\xaf"));
	ck_assert_ptr_null(generate("\xe0\x80\xaf"));
	ck_assert_ptr_null(generate("\xf4\x90\x80\x80"));
	ck_assert_ptr_null(generate("\xf8\x88\x80\x80\x80"));
	ck_assert_ptr_null(generate("\xe2\x82"));
}
END_TEST

START_TEST(test_null_string_cannot_be_generated)
{
	ck_assert_ptr_null(generate(NULL));
	ck_assert_str_eq(logged(),
	    "test: json: cannot build JSON: a string is NULL\n");
}
END_TEST

START_TEST(test_first_generator_error_sticks)
{
	struct json_w	 w;
	char		*body = NULL;

	ck_assert_int_eq(jw_init(&w), 0);
	jw_obj_open(&w);
	jw_int(&w, 1);
	jw_kv_str(&w, "a", "b");
	jw_obj_close(&w);
	ck_assert_int_eq(jw_finish(&w, &body, NULL), -1);
	ck_assert_ptr_null(body);
	ck_assert_str_eq(logged(),
	    "test: json: cannot build JSON: a value stands where a key must\n");
	jw_free(&w);
}
END_TEST

START_TEST(test_unclosed_or_empty_documents_are_refused)
{
	struct json_w	 w;
	char		*body = NULL;

	ck_assert_int_eq(jw_init(&w), 0);
	jw_obj_open(&w);
	jw_kv_int(&w, "a", 1);
	ck_assert_int_eq(jw_finish(&w, &body, NULL), -1);
	jw_free(&w);
	ck_assert_int_eq(jw_init(&w), 0);
	ck_assert_int_eq(jw_finish(&w, &body, NULL), -1);
	jw_free(&w);
	ck_assert_ptr_null(body);
	ck_assert_str_eq(logged(),
	    "test: json: cannot build JSON: the document is not complete\n"
	    "test: json: cannot build JSON: the document is not complete\n");
}
END_TEST

START_TEST(test_a_document_is_written_to_a_file_with_its_mode)
{
	struct json_w	 w;
	struct stat	 st;
	char		 dir[] = "/tmp/check_json.XXXXXX", path[64], buf[64];
	FILE		*fp;
	size_t		 n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stamp.json", dir);
	ck_assert_int_eq(jw_init(&w), 0);
	jw_obj_open(&w);
	jw_kv_int(&w, "id", 42);
	jw_obj_close(&w);
	ck_assert_int_eq(jw_write_file(&w, path, 0600), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	ck_assert_str_eq(buf, "{\"id\":42}\n");
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_a_document_that_fails_names_the_file_it_was_for)
{
	struct json_w	 w;
	char		 dir[] = "/tmp/check_json.XXXXXX", path[64];
	char		 want[128];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stamp.json", dir);
	ck_assert_int_eq(jw_init(&w), 0);
	jw_obj_open(&w);
	ck_assert_int_eq(jw_write_file(&w, path, 0600), -1);
	ck_assert_int_eq(access(path, F_OK), -1);
	snprintf(want, sizeof(want), "test: %s: cannot build JSON: the "
	    "document is not complete\n", path);
	ck_assert_str_eq(logged(), want);
	rmdir(dir);
}
END_TEST

START_TEST(test_second_top_level_value_is_refused)
{
	struct json_w	 w;
	char		*body = NULL;

	ck_assert_int_eq(jw_init(&w), 0);
	jw_arr_open(&w);
	jw_arr_close(&w);
	jw_arr_open(&w);
	ck_assert_int_eq(jw_finish(&w, &body, NULL), -1);
	ck_assert_ptr_null(body);
	jw_free(&w);
}
END_TEST

/*
 * Collect the tests; each has the sample server parsed.  Returns the
 * suite.
 */
static Suite *
json_suite(void)
{
	Suite	*s = suite_create("json");
	TCase	*tc = tcase_create("json");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_typed_lookups_read_a_whole_response);
	tcase_add_test(tc,
	    test_json_at_finds_nodes_and_returns_null_for_absent_ones);
	tcase_add_test(tc, test_null_where_a_string_is_wanted_is_named);
	tcase_add_test(tc, test_wrong_types_are_named_exactly);
	tcase_add_test(tc, test_missing_paths_are_named_in_full);
	tcase_add_test(tc, test_array_indexes_out_of_range_are_missing);
	tcase_add_test(tc, test_malformed_paths_are_called_invalid);
	tcase_add_test(tc, test_null_is_accepted_where_asked_for);
	tcase_add_test(tc, test_type_names_cover_every_kind);
	tcase_add_test(tc, test_large_numbers_fit_or_are_out_of_range);
	tcase_add_test(tc, test_truncated_input_is_rejected);
	tcase_add_test(tc, test_trailing_garbage_is_rejected);
	tcase_add_test(tc, test_only_len_bytes_are_parsed);
	tcase_add_test(tc, test_invalid_utf8_is_rejected);
	tcase_add_test(tc, test_nul_bytes_and_comments_are_rejected);
	tcase_add_test(tc, test_escaped_nul_is_refused_with_its_offset);
	tcase_add_test(tc, test_surrogates_without_their_pair_are_refused);
	tcase_add_test(tc,
	    test_well_formed_escapes_still_read_as_their_text);
	tcase_add_test(tc, test_error_messages_are_one_line);
	tcase_add_test(tc, test_deep_nesting_is_refused_without_crashing);
	tcase_add_test(tc,
	    test_brackets_inside_strings_do_not_count_as_nesting);
	tcase_add_test(tc, test_duplicate_keys_take_the_last_value);
	tcase_add_test(tc, test_generator_writes_compact_json);
	tcase_add_test(tc,
	    test_utf8_and_control_characters_survive_a_round_trip);
	tcase_add_test(tc, test_invalid_utf8_cannot_be_generated);
	tcase_add_test(tc, test_null_string_cannot_be_generated);
	tcase_add_test(tc, test_first_generator_error_sticks);
	tcase_add_test(tc, test_unclosed_or_empty_documents_are_refused);
	tcase_add_test(tc, test_second_top_level_value_is_refused);
	tcase_add_test(tc, test_a_document_is_written_to_a_file_with_its_mode);
	tcase_add_test(tc,
	    test_a_document_that_fails_names_the_file_it_was_for);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * Run the suite.  Returns 0 when every test passed, else 1.
 */
int
main(void)
{
	SRunner	*r = srunner_create(json_suite());
	int	 failed;

	srunner_run_all(r, CK_ENV);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed != 0;
}
