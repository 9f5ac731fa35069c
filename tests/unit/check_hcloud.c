/*
 * check_hcloud.c: the Hetzner Cloud parse functions on answers that
 * are whole, short of a field, of the wrong types or carrying text
 * that must not reach a stamp; and the calls against the HTTPS
 * fixture (tests/lib/https-fixture.py), whose /hcloud endpoints
 * answer as the API does: error envelopes, and actions that run,
 * succeed, fail or come back in a state the API does not have.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "fixture.h"
#include "hcloud.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "logged.h"
#include "mkprov.h"
#include "util.h"

/* A URL of the HTTPS fixture, see fixture_url. */
#define URL(...)	fixture_url(&https, __VA_ARGS__)
#define TOKEN		"hcloud-test-token-5e1f"

/* A server as GET /servers/42 answers it, with the fields mkprov reads. */
static const char server[] =
    "{\"server\": {\"id\": 42, \"name\": \"bruno-2\", "
    "\"status\": \"running\", \"created\": \"2026-12-03T20:04:09+00:00\", "
    "\"public_net\": {\"ipv4\": {\"ip\": \"203.0.113.7\"}, "
    "\"ipv6\": {\"ip\": \"2001:db8:1::/64\"}}, "
    "\"server_type\": {\"name\": \"cpx32\"}, "
    "\"location\": {\"name\": \"fsn1\"}, "
    "\"image\": {\"name\": \"ubuntu-24.04\"}, "
    "\"labels\": {\"mkprov/host\": \"bruno-2\", \"team\": \"ops\"}}}";

/* An action that failed, as GET /actions/7 answers it. */
static const char action[] =
    "{\"action\": {\"id\": 7, \"command\": \"create_server\", "
    "\"status\": \"error\", \"progress\": 100, "
    "\"error\": {\"code\": \"action_failed\", \"message\": \"boom\"}}}";

static char	 top[1024];
static char	 tmpdir[256];
static char	 cafile[PATH_MAX];
static struct fixture_https https = FIXTURE_HTTPS_INIT;

/* A URL of the HTTPS fixture, see fixture_url. */
#define URL(...)	fixture_url(&https, __VA_ARGS__)


/*
 * The unchecked fixture: a CA and the HTTPS fixture.  Fails the test
 * case if either cannot be had.
 */
static void
fixture_start(void)
{
	fixture_top(top, sizeof(top));
	fixture_mkdtemp(tmpdir, sizeof(tmpdir), "mkp-hcloud");
	ck_assert_int_eq(fixture_mkca(top, tmpdir, "ca"), 0);
	snprintf(cafile, sizeof(cafile), "%s/ca/ca.pem", tmpdir);
	fixture_https_start(&https, top, tmpdir);
}

/*
 * Stop the fixture (only the process started here) and remove the
 * scratch directory unless MKP_KEEP is set.
 */
static void
fixture_stop(void)
{
	fixture_https_stop(&https);
	fixture_rmdir(tmpdir);
}

/*
 * Make h a client of the API at base, trusting the fixture's CA, with
 * waits kept short, and catch log lines.  Returns nothing; asserts.
 */
static void
hc_open(struct hcloud *h, const char *base, int64_t deadline_ms)
{
	struct http_conf conf;

	memset(&conf, 0, sizeof(conf));
	conf.cafile = cafile;
	conf.token = TOKEN;
	conf.connect_timeout_ms = 2000;
	conf.deadline_ms = deadline_ms;
	conf.max_tries = 3;
	conf.backoff_base_ms = 20;
	conf.backoff_cap_ms = 100;
	memset(h, 0, sizeof(*h));
	logged_start();
	ck_assert_ptr_nonnull(h->http = http_new(&conf));
	h->api = base;
}

/*
 * Free h's client and stop catching log lines.  Returns nothing.
 */
static void
hc_close(struct hcloud *h)
{
	http_free(h->http);
	logged_stop();
	log_forget_secrets();
}

/*
 * Copy doc with its first "from" replaced by "to" into a malloc'd
 * string.  Returns it; asserts that from is there.
 */
static char *
edit(const char *doc, const char *from, const char *to)
{
	const char *at = strstr(doc, from);
	size_t n;
	char *out;

	ck_assert_msg(at != NULL, "%s: not in the document", from);
	n = strlen(doc) - strlen(from) + strlen(to) + 1;
	ck_assert_ptr_nonnull(out = malloc(n));
	snprintf(out, n, "%.*s%s%s", (int)(at - doc), doc, to,
	    at + strlen(from));
	return out;
}

/*
 * Parse doc and read the server at "server" from it.  Returns what
 * hcloud_server returned.
 */
static int
parse_server(const char *doc, struct hcloud_server *s)
{
	struct json_err err;
	yajl_val v;
	int rc;

	v = json_parse(doc, strlen(doc), &err);
	ck_assert_msg(v != NULL, "%s: %s", doc, err.msg);
	rc = hcloud_server(v, "server", s);
	json_free(v);
	return rc;
}

/*
 * Edit the sample server as edit() does; hcloud_server must refuse
 * it, logging exactly "test: server: unexpected server object: why".
 * Returns nothing; asserts.
 */
static void
server_refused(const char *from, const char *to, const char *why)
{
	struct hcloud_server s;
	char *doc = edit(server, from, to), want[512];

	logged_start();
	ck_assert_msg(parse_server(doc, &s) == -1, "accepted %s", to);
	snprintf(want, sizeof(want), "test: server: unexpected server "
	    "object: %s\n", why);
	ck_assert_str_eq(logged(), want);
	logged_stop();
	free(doc);
}

/*
 * Parse doc and read the action at "action" from it.  Returns what
 * hcloud_action returned.
 */
static int
parse_action(const char *doc, struct hcloud_action *a)
{
	struct json_err err;
	yajl_val v;
	int rc;

	v = json_parse(doc, strlen(doc), &err);
	ck_assert_msg(v != NULL, "%s: %s", doc, err.msg);
	rc = hcloud_action(v, "action", a);
	json_free(v);
	return rc;
}

/*
 * Edit the sample action as edit() does; hcloud_action must refuse
 * it, logging exactly "test: action: unexpected action object: why".
 * Returns nothing; asserts.
 */
static void
action_refused(const char *from, const char *to, const char *why)
{
	struct hcloud_action a;
	char *doc = edit(action, from, to), want[512];

	logged_start();
	ck_assert_msg(parse_action(doc, &a) == -1, "accepted %s", to);
	snprintf(want, sizeof(want), "test: action: unexpected action "
	    "object: %s\n", why);
	ck_assert_str_eq(logged(), want);
	logged_stop();
	free(doc);
}

/*
 * How many requests the fixture has seen for key.  Returns it.
 */
static long long
fixture_count(const char *key)
{
	struct hcloud h;
	struct json_err err;
	long long n = -1;
	char path[256];
	yajl_val v;

	hc_open(&h, URL("%s", ""), 5000);
	snprintf(path, sizeof(path), "/count?key=%s", key);
	ck_assert_int_eq(hcloud_call(&h, "GET", path, NULL, 200, &v), 0);
	ck_assert_int_eq(json_int(v, "count", &n, &err), 0);
	json_free(v);
	hc_close(&h);
	return n;
}

START_TEST(test_server_takes_every_field_it_needs)
{
	struct hcloud_server s;

	ck_assert_int_eq(parse_server(server, &s), 0);
	ck_assert_int_eq(s.id, 42);
	ck_assert_str_eq(s.name, "bruno-2");
	ck_assert_str_eq(s.status, "running");
	ck_assert_str_eq(s.created, "2026-12-03T20:04:09+00:00");
	ck_assert_str_eq(s.ipv4, "203.0.113.7");
	ck_assert_str_eq(s.ipv6, "2001:db8:1::/64");
	ck_assert_str_eq(s.type, "cpx32");
	ck_assert_str_eq(s.location, "fsn1");
	ck_assert_str_eq(s.image, "ubuntu-24.04");
	ck_assert_str_eq(s.host_label, "bruno-2");
}
END_TEST

START_TEST(test_server_fields_the_api_may_leave_null_read_as_empty)
{
	struct hcloud_server s;
	char *a, *b, *c;

	a = edit(server, "{\"ip\": \"203.0.113.7\"}", "null");
	b = edit(a, "{\"name\": \"ubuntu-24.04\"}", "null");
	c = edit(b, "\"mkprov/host\": \"bruno-2\", ", "");
	ck_assert_int_eq(parse_server(c, &s), 0);
	ck_assert_str_eq(s.ipv4, "");
	ck_assert_str_eq(s.image, "");
	ck_assert_str_eq(s.host_label, "");
	ck_assert_str_eq(s.ipv6, "2001:db8:1::/64");
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(test_server_missing_or_wrong_typed_fields_are_named)
{
	server_refused("\"id\": 42, ", "", "id: missing");
	server_refused("\"id\": 42", "\"id\": \"42\"",
	    "id: expected integer, got string");
	server_refused("\"id\": 42", "\"id\": 4.2",
	    "id: expected integer, got number 4.2");
	server_refused("\"name\": \"bruno-2\"", "\"name\": 7",
	    "name: expected string or null, got integer");
	server_refused("\"server_type\": {\"name\": \"cpx32\"}",
	    "\"server_type\": {}", "server_type.name: missing");
	server_refused("\"location\": {\"name\": \"fsn1\"}",
	    "\"location\": \"fsn1\"", "location.name: missing");
	server_refused("\"labels\": {", "\"labels\": [], \"x\": {",
	    "labels: expected object, got array");
	server_refused("{\"ip\": \"203.0.113.7\"}", "{\"ip\": 7}",
	    "public_net.ipv4.ip: expected string or null, got integer");
}
END_TEST

START_TEST(test_server_text_that_is_not_a_plain_word_is_refused)
{
	server_refused("\"bruno-2\"", "\"bruno 2\"",
	    "name: not a plain word");
	server_refused("\"bruno-2\"", "\"bruno\\u001b[2J\"",
	    "name: not a plain word");
	server_refused("\"running\"", "\"running;reboot\"",
	    "status: not a plain word");
	server_refused("\"2026-12-03T20:04:09+00:00\"", "\"today\\n\"",
	    "created: not a plain word");
	server_refused("\"cpx32\"", "\"cpx32/x\"",
	    "server_type.name: not a plain word");
	server_refused("\"fsn1\"", "\"fsn1 \"",
	    "location.name: not a plain word");
	server_refused("\"ubuntu-24.04\"", "\"ubuntu 24.04\"",
	    "image.name: not a plain word");
	server_refused("\"mkprov/host\": \"bruno-2\"",
	    "\"mkprov/host\": \"$(id)\"",
	    "labels.mkprov/host: not a plain word");
}
END_TEST

START_TEST(test_server_addresses_that_are_not_addresses_are_refused)
{
	server_refused("203.0.113.7", "203.0.113.256",
	    "public_net.ipv4.ip: not an IPv4 address");
	server_refused("203.0.113.7", "203.0.113.7/32",
	    "public_net.ipv4.ip: not an IPv4 address");
	server_refused("203.0.113.7", "localhost",
	    "public_net.ipv4.ip: not an IPv4 address");
	server_refused("2001:db8:1::/64", "2001:db8:1::",
	    "public_net.ipv6.ip: not an IPv6 network");
	server_refused("2001:db8:1::/64", "2001:db8:1::/129",
	    "public_net.ipv6.ip: not an IPv6 network");
	server_refused("2001:db8:1::/64", "2001:db8:1::/0",
	    "public_net.ipv6.ip: not an IPv6 network");
	server_refused("2001:db8:1::/64", "2001:zz8:1::/64",
	    "public_net.ipv6.ip: not an IPv6 network");
	server_refused("2001:db8:1::/64", "203.0.113.7/24",
	    "public_net.ipv6.ip: not an IPv6 network");
}
END_TEST

START_TEST(test_action_takes_its_fields_and_error)
{
	struct hcloud_action a;
	char *doc;

	ck_assert_int_eq(parse_action(action, &a), 0);
	ck_assert_int_eq(a.id, 7);
	ck_assert_str_eq(a.command, "create_server");
	ck_assert_str_eq(a.status, "error");
	ck_assert_int_eq(a.progress, 100);
	ck_assert_str_eq(a.error, "action_failed: boom");
	doc = edit(action, "\"status\": \"error\", \"progress\": 100",
	    "\"status\": \"running\", \"progress\": 0");
	ck_assert_int_eq(parse_action(doc, &a), 0);
	ck_assert_str_eq(a.status, "running");
	ck_assert_int_eq(a.progress, 0);
	free(doc);
}
END_TEST

START_TEST(test_action_missing_or_wrong_typed_fields_are_named)
{
	action_refused("\"id\": 7, ", "", "id: missing");
	action_refused("\"command\": \"create_server\", ", "",
	    "command: missing");
	action_refused("\"create_server\"", "null",
	    "command: expected string, got null");
	action_refused("\"status\": \"error\"", "\"status\": null",
	    "status: expected string, got null");
	action_refused("\"progress\": 100", "\"progress\": \"100\"",
	    "progress: expected integer, got string");
	action_refused("\"progress\": 100", "\"progress\": 101",
	    "progress: 101 is not a percentage");
	action_refused("{\"action\": {", "{\"action\": [], \"x\": {",
	    "action: expected object, got array");
}
END_TEST

START_TEST(test_action_command_and_status_must_be_known_words)
{
	action_refused("\"create_server\"", "\"create server\"",
	    "command: not a plain word");
	action_refused("\"create_server\"", "\"create\\u001b[2J\"",
	    "command: not a plain word");
	action_refused("\"error\",", "\"paused\",",
	    "status: \"paused\" is not running, success or error");
	action_refused("\"error\",", "\"\",",
	    "status: \"\" is not running, success or error");
	action_refused("\"error\",", "\"run\\u001b[2J\",",
	    "status: \"run\\x1b[2J\" is not running, success or error");
}
END_TEST

START_TEST(test_key_blob_is_the_base64_part_of_the_key)
{
	char blob[64];

	ck_assert_int_eq(hcloud_key_blob("ssh-ed25519 AAAAC3Nz me@host",
	    blob, sizeof(blob)), 0);
	ck_assert_str_eq(blob, "AAAAC3Nz");
	ck_assert_int_eq(hcloud_key_blob("  ssh-ed25519   AAAAC3Nz\r\n",
	    blob, sizeof(blob)), 0);
	ck_assert_str_eq(blob, "AAAAC3Nz");
	ck_assert_int_eq(hcloud_key_blob("ssh-ed25519 AAAAC3Nz\tnote",
	    blob, sizeof(blob)), 0);
	ck_assert_str_eq(blob, "AAAAC3Nz");
}
END_TEST

START_TEST(test_key_blob_of_a_malformed_line_fails)
{
	char blob[64], tiny[8];

	ck_assert_int_eq(hcloud_key_blob("ssh-ed25519", blob,
	    sizeof(blob)), -1);
	ck_assert_int_eq(hcloud_key_blob("ssh-ed25519 ", blob,
	    sizeof(blob)), -1);
	ck_assert_int_eq(hcloud_key_blob("", blob, sizeof(blob)), -1);
	/* A blob that does not fit is refused, not cut. */
	ck_assert_int_eq(hcloud_key_blob("ssh-ed25519 AAAAC3Nz", tiny,
	    sizeof(tiny)), -1);
	ck_assert_int_eq(hcloud_key_blob("ssh-ed25519 AAAAC3N", tiny,
	    sizeof(tiny)), 0);
	ck_assert_str_eq(tiny, "AAAAC3N");
}
END_TEST

START_TEST(test_call_hands_over_the_body_of_the_wanted_status)
{
	struct hcloud h;
	struct json_err err;
	yajl_val v = NULL;
	int ok = 0;

	hc_open(&h, URL("%s", ""), 5000);
	ck_assert_int_eq(hcloud_call(&h, "GET", "/ok", NULL, 200, &v), 0);
	ck_assert_int_eq(json_bool(v, "ok", &ok, &err), 0);
	ck_assert_int_eq(ok, 1);
	ck_assert_str_eq(h.url, URL("/ok"));
	ck_assert_str_eq(logged(), "");
	json_free(v);
	hc_close(&h);
}
END_TEST

START_TEST(test_call_keeps_the_error_envelope_of_another_status)
{
	static const char path[] = "/error/409?code=uniqueness_error&"
	    "message=server%20name%20is%20already%20used";
	struct hcloud h;
	yajl_val v = (yajl_val)&h;
	char want[512];

	hc_open(&h, URL("/hcloud/x"), 5000);
	ck_assert_int_eq(hcloud_call(&h, "POST", path, "{}", 201, &v), 1);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(h.status, 409);
	ck_assert_str_eq(h.code, "uniqueness_error");
	ck_assert_str_eq(h.message, "server name is already used");
	/* Kept for the caller, who decides whether it is an error. */
	ck_assert_str_eq(logged(), "");
	hcloud_report(&h);
	snprintf(want, sizeof(want), "test: %s%s: HTTP 409: "
	    "uniqueness_error: server name is already used\n",
	    URL("/hcloud/x"), path);
	ck_assert_str_eq(logged(), want);
	hc_close(&h);
}
END_TEST

START_TEST(test_call_says_when_a_status_came_without_an_envelope)
{
	struct hcloud h;
	yajl_val v;
	char want[512];

	hc_open(&h, URL("/hcloud/x"), 5000);
	ck_assert_int_eq(hcloud_call(&h, "GET", "/error/404", NULL, 200,
	    &v), 1);
	ck_assert_int_eq(h.status, 404);
	ck_assert_str_eq(h.code, "");
	ck_assert_str_eq(h.message, "not an error envelope");
	hcloud_report(&h);
	snprintf(want, sizeof(want), "test: %s: HTTP 404: not an error "
	    "envelope\n", URL("/hcloud/x/error/404"));
	ck_assert_str_eq(logged(), want);
	hc_close(&h);
}
END_TEST

START_TEST(test_server_text_in_an_error_is_escaped_when_reported)
{
	struct hcloud h;
	yajl_val v;

	hc_open(&h, URL("/hcloud/x"), 5000);
	ck_assert_int_eq(hcloud_call(&h, "GET", "/error/422?code=invalid"
	    "&message=a%1B%5B2Jb%0Ac%20" TOKEN, NULL, 200, &v), 1);
	ck_assert_str_eq(h.message, "a\x1b[2Jb\nc " TOKEN);
	hcloud_report(&h);
	ck_assert_ptr_nonnull(strstr(logged(), ": HTTP 422: invalid: "
	    "a\\x1b[2Jb\\nc " LOG_REDACTED "\n"));
	ck_assert_ptr_null(strchr(logged(), '\x1b'));
	ck_assert_ptr_null(strstr(logged(), TOKEN));
	hc_close(&h);
}
END_TEST

START_TEST(test_call_of_an_answer_that_is_not_json_fails)
{
	struct hcloud h;
	yajl_val v = (yajl_val)&h;
	char want[512];

	hc_open(&h, URL("/hcloud/x"), 5000);
	ck_assert_int_eq(hcloud_call(&h, "GET", "/text", NULL, 200, &v),
	    -1);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(h.exit, MKP_EXIT_FAIL);
	snprintf(want, sizeof(want), "test: %s: answer is not JSON: ",
	    URL("/hcloud/x/text"));
	ck_assert_msg(strncmp(logged(), want, strlen(want)) == 0, "%s",
	    logged());
	hc_close(&h);
}
END_TEST

START_TEST(test_call_that_fails_sets_the_exit_status_to_end_with)
{
	struct hcloud h;
	yajl_val v;

	hc_open(&h, "https://127.0.0.1:1", 5000);
	ck_assert_int_eq(hcloud_call(&h, "GET", "/servers", NULL, 200, &v),
	    -1);
	ck_assert_int_eq(h.exit, MKP_EXIT_FAIL);
	ck_assert_ptr_nonnull(strstr(logged(), "https://127.0.0.1:1/servers"));
	hc_close(&h);
	hc_open(&h, URL("%s", ""), 300);
	ck_assert_int_eq(hcloud_call(&h, "GET", "/slow?ms=3000", NULL, 200,
	    &v), -1);
	ck_assert_int_eq(h.exit, MKP_EXIT_DEADLINE);
	hc_close(&h);
}
END_TEST

START_TEST(test_wait_action_polls_until_it_succeeds)
{
	struct deadline dl;
	struct hcloud h;
	int64_t t0 = util_now_ms();

	hc_open(&h, URL("/hcloud/running-running-success"), 10000);
	deadline_set(&dl, 10000);
	ck_assert_int_eq(hcloud_wait_action(&h, 101, &dl), 0);
	/* Two waits between three polls, the second half as long again. */
	ck_assert_int_ge(util_now_ms() - t0, 2500);
	ck_assert_str_eq(logged(), "");
	hc_close(&h);
	ck_assert_int_eq(fixture_count("hcloud/running-running-success/101"),
	    3);
}
END_TEST

START_TEST(test_wait_action_reports_a_failed_action_escaped)
{
	struct deadline dl;
	struct hcloud h;
	char want[512];

	hc_open(&h, URL("/hcloud/error"), 10000);
	deadline_set(&dl, 10000);
	ck_assert_int_eq(hcloud_wait_action(&h, 102, &dl), -1);
	ck_assert_int_eq(h.exit, MKP_EXIT_FAIL);
	snprintf(want, sizeof(want), "test: %s: create_server failed: "
	    "action_failed: disk \\x1b[31mfailed\\nbadly\n",
	    URL("/hcloud/error/actions/102"));
	ck_assert_str_eq(logged(), want);
	hc_close(&h);
}
END_TEST

START_TEST(test_wait_action_stops_at_the_deadline)
{
	struct deadline dl;
	struct hcloud h;
	char want[512];
	int64_t t0 = util_now_ms();

	hc_open(&h, URL("/hcloud/running"), 10000);
	deadline_set(&dl, 300);
	ck_assert_int_eq(hcloud_wait_action(&h, 103, &dl), -1);
	/* No poll is begun that would end past the deadline. */
	ck_assert_int_lt(util_now_ms() - t0, 1000);
	ck_assert_int_eq(h.exit, MKP_EXIT_DEADLINE);
	snprintf(want, sizeof(want), "test: %s: create_server still "
	    "running at the deadline\n", URL("/hcloud/running/actions/103"));
	ck_assert_str_eq(logged(), want);
	hc_close(&h);
}
END_TEST

START_TEST(test_wait_action_refuses_a_state_the_api_does_not_have)
{
	struct deadline dl;
	struct hcloud h;

	hc_open(&h, URL("/hcloud/odd"), 10000);
	deadline_set(&dl, 10000);
	ck_assert_int_eq(hcloud_wait_action(&h, 104, &dl), -1);
	ck_assert_str_eq(logged(), "test: action: unexpected action object: "
	    "status: \"paused\" is not running, success or error\n");
	hc_close(&h);
}
END_TEST

/*
 * Run every test against one HTTPS fixture.  Returns 0 when all
 * passed, else 1.
 */
int
main(void)
{
	const TTest *const tests[] = {
		test_server_takes_every_field_it_needs,
		test_server_fields_the_api_may_leave_null_read_as_empty,
		test_server_missing_or_wrong_typed_fields_are_named,
		test_server_text_that_is_not_a_plain_word_is_refused,
		test_server_addresses_that_are_not_addresses_are_refused,
		test_action_takes_its_fields_and_error,
		test_action_missing_or_wrong_typed_fields_are_named,
		test_action_command_and_status_must_be_known_words,
		test_key_blob_is_the_base64_part_of_the_key,
		test_key_blob_of_a_malformed_line_fails,
		test_call_hands_over_the_body_of_the_wanted_status,
		test_call_keeps_the_error_envelope_of_another_status,
		test_call_says_when_a_status_came_without_an_envelope,
		test_server_text_in_an_error_is_escaped_when_reported,
		test_call_of_an_answer_that_is_not_json_fails,
		test_call_that_fails_sets_the_exit_status_to_end_with,
		test_wait_action_polls_until_it_succeeds,
		test_wait_action_reports_a_failed_action_escaped,
		test_wait_action_stops_at_the_deadline,
		test_wait_action_refuses_a_state_the_api_does_not_have,
		NULL
	};

	log_init("check_hcloud");
	return fixture_main("hcloud", "https-fixture", fixture_start,
	    fixture_stop, tests);
}
