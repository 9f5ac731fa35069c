/*
 * check_http.c: http.c against a real HTTPS server on loopback.
 *
 * The unchecked fixture makes a throwaway CA and server certificate
 * with tests/lib/mkca.sh, a second CA that signed nothing the server
 * shows, and starts tests/lib/https-fixture.py on a kernel-chosen
 * port.  Every test then talks real TLS to it.  The fixture's
 * scripted endpoints count requests per key, so each test uses keys
 * of its own.  Waits are kept near one second and backoffs small, so
 * the whole suite runs in a few seconds.
 */
#include <sys/wait.h>

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "fixture.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "mkprov.h"
#include "util.h"


/* Short enough that every path built from them fits in PATH_MAX. */
static char	 top[1024];
static char	 tmpdir[256];
static char	 cafile[PATH_MAX];
static char	 wrongca[PATH_MAX];
static struct fixture_https https = FIXTURE_HTTPS_INIT;

/* A URL of the HTTPS fixture, see fixture_url. */
#define URL(...)	fixture_url(&https, __VA_ARGS__)


/*
 * The unchecked fixture: certificates, then the server, whose port
 * is known once it has written it.  Fails the test case if any step
 * does.
 */
static void
fixture_start(void)
{
	fixture_top(top, sizeof(top));
	fixture_mkdtemp(tmpdir, sizeof(tmpdir), "mkp-http");
	ck_assert_int_eq(fixture_mkca(top, tmpdir, "ca"), 0);
	ck_assert_int_eq(fixture_mkca(top, tmpdir, "wrong"), 0);
	snprintf(cafile, sizeof(cafile), "%s/ca/ca.pem", tmpdir);
	snprintf(wrongca, sizeof(wrongca), "%s/wrong/ca.pem", tmpdir);
	fixture_https_start(&https, top, tmpdir);
}

/*
 * Stops the fixture (only the process started here) and removes the
 * scratch directory unless MKP_KEEP is set.
 */
static void
fixture_stop(void)
{
	fixture_https_stop(&https);
	fixture_rmdir(tmpdir);
}

/* A configuration for tests: small waits, trust in the test CA. */
static struct http_conf
conf_test(void)
{
	struct http_conf conf;

	memset(&conf, 0, sizeof(conf));
	conf.cafile = cafile;
	conf.connect_timeout_ms = 2000;
	conf.try_timeout_ms = 5000;
	conf.deadline_ms = 10000;
	conf.max_tries = 5;
	conf.backoff_base_ms = 20;
	conf.backoff_cap_ms = 100;
	return conf;
}

/* GETs u with a client made from conf.  Returns http_request's. */
static int
get(const struct http_conf *conf, const char *u, struct http_resp *r)
{
	struct http_client *c;
	struct http_req req = { .url = u };
	int rc;

	c = http_new(conf);
	ck_assert_ptr_nonnull(c);
	rc = http_request(c, &req, r);
	http_free(c);
	return rc;
}

/* GETs u like get(), and puts how long that took in *ms. */
static int
get_timed(const struct http_conf *conf, const char *u,
    struct http_resp *r, int64_t *ms)
{
	int64_t t0 = util_now_ms();
	int rc;

	rc = get(conf, u, r);
	*ms = util_now_ms() - t0;
	return rc;
}

/*
 * GETs u with a client made from conf, which must fail with error e
 * after the given number of tries.  Returns nothing; asserts.
 */
static void
get_fails(const struct http_conf *conf, const char *u, enum http_error e,
    int tries)
{
	struct http_resp r;

	ck_assert_int_eq(get(conf, u, &r), -1);
	ck_assert_int_eq(r.error, e);
	ck_assert_int_eq(r.tries, tries);
	http_resp_free(&r);
}

/* Asserts that the JSON string at path in r's body is want. */
static void
assert_json_str(const struct http_resp *r, const char *path,
    const char *want)
{
	struct json_err err;
	const char *got;
	yajl_val v;

	v = json_parse(r->body, r->len, &err);
	ck_assert_msg(v != NULL, "%s", err.msg);
	ck_assert_msg(json_str(v, path, &got, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(got, want);
	json_free(v);
}

static char	*capbuf;
static size_t	 capsize;
static FILE	*capfp;

/* Sends log lines to memory until log_capture_end. */
static void
log_capture(void)
{
	capfp = open_memstream(&capbuf, &capsize);
	ck_assert_ptr_nonnull(capfp);
	log_set_stream(capfp);
}

/* Returns what was logged since log_capture, for the caller to free. */
static char *
log_capture_end(void)
{
	log_set_stream(NULL);
	fclose(capfp);
	capfp = NULL;
	return capbuf;
}

START_TEST(test_fixture_answers_who_it_is)
{
	struct http_conf conf = conf_test();
	struct http_resp r;
	struct json_err err;
	long long pid;
	yajl_val v;

	ck_assert_int_eq(get(&conf, URL("/whoami"), &r), 0);
	v = json_parse(r.body, r.len, &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(json_int(v, "pid", &pid, &err), 0);
	ck_assert_int_eq(pid, https.pid);
	json_free(v);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_ok_gives_status_body_and_headers)
{
	struct http_conf conf = conf_test();
	struct http_resp r;

	ck_assert_int_eq(get(&conf, URL("/ok"), &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.tries, 1);
	ck_assert_int_eq(r.error, HTTP_E_NONE);
	ck_assert_str_eq(r.body, "{\"ok\": true}\n");
	ck_assert_uint_eq(r.len, strlen(r.body));
	ck_assert_pstr_eq(http_header(&r, "x-fixture"), "yes");
	ck_assert_pstr_eq(http_header(&r, "CONTENT-TYPE"),
	    "application/json");
	ck_assert_ptr_null(http_header(&r, "X-Missing"));
	http_resp_free(&r);
}
END_TEST

START_TEST(test_503_is_retried_until_it_succeeds)
{
	struct http_conf conf = conf_test();
	struct http_resp r;
	char *log;

	log_verbosity = 1;
	log_capture();
	ck_assert_int_eq(get(&conf, URL("/status/503?n=2&key=s503"), &r),
	    0);
	log = log_capture_end();
	log_verbosity = 0;
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.tries, 3);
	/* -v says why and when it tries again. */
	ck_assert_ptr_nonnull(strstr(log, "key=s503: HTTP 503: retrying "
	    "in 0."));
	ck_assert_ptr_nonnull(strstr(log, " s (try 3 of 5)\n"));
	free(log);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_429_waits_at_least_retry_after)
{
	struct http_conf conf = conf_test();
	struct http_resp r;
	int64_t ms;

	ck_assert_int_eq(get_timed(&conf,
	    URL("/status/429?n=1&retry_after=1&key=ra"), &r, &ms), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.tries, 2);
	ck_assert_int_ge(ms, 1000);
	ck_assert_int_lt(ms, 3000);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_retry_after_as_a_date_is_honoured)
{
	struct http_conf conf = conf_test();
	struct http_resp r;
	int64_t ms;

	/* The date is whole seconds, 2 s ahead: at least 1 s away. */
	ck_assert_int_eq(get_timed(&conf,
	    URL("/status/503?n=1&retry_after_date=2&key=rad"), &r, &ms), 0);
	ck_assert_int_eq(r.tries, 2);
	ck_assert_int_ge(ms, 990);
	ck_assert_int_lt(ms, 3500);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_429_with_ratelimit_remaining_0_waits_for_reset)
{
	struct http_conf conf = conf_test();
	struct http_resp r;
	int64_t ms;

	conf.backoff_cap_ms = 3000;
	ck_assert_int_eq(get_timed(&conf,
	    URL("/status/429?n=1&reset=1&key=rl"), &r, &ms), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.tries, 2);
	ck_assert_int_ge(ms, 1000);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_ratelimit_remaining_0_paces_the_next_request)
{
	struct http_conf conf = conf_test();
	struct http_req req = { .url = URL("/status/200?reset_unix=2") };
	struct http_client *c;
	struct http_resp r;
	struct timespec now;
	int64_t t0, ms, want;
	const char *errstr;

	conf.backoff_cap_ms = 3000;
	ck_assert_ptr_nonnull(c = http_new(&conf));
	ck_assert_int_eq(http_request(c, &req, &r), 0);
	ck_assert_int_eq(r.status, 200);
	clock_gettime(CLOCK_REALTIME, &now);
	t0 = util_now_ms();
	want = util_strtonum(http_header(&r, "RateLimit-Reset"), 1,
	    LLONG_MAX / 1000, &errstr) * 1000 - (int64_t)now.tv_sec * 1000 -
	    now.tv_nsec / 1000000;
	ck_assert_ptr_null(errstr);
	http_resp_free(&r);
	req.url = URL("/ok");
	ck_assert_int_eq(http_request(c, &req, &r), 0);
	ms = util_now_ms() - t0;
	ck_assert_int_gt(want, 900);
	ck_assert_int_ge(ms, want - 20);
	ck_assert_int_eq(r.tries, 1);
	http_resp_free(&r);
	http_free(c);
}
END_TEST

START_TEST(test_wait_past_the_deadline_is_not_begun)
{
	struct http_conf conf = conf_test();
	struct http_resp r;
	int64_t ms;

	conf.deadline_ms = 1500;
	ck_assert_int_eq(get_timed(&conf, URL("/status/503?retry_after=5"),
	    &r, &ms), -1);
	ck_assert_int_eq(r.error, HTTP_E_DEADLINE);
	ck_assert_int_eq(r.tries, 1);
	ck_assert_int_eq(r.status, 503);
	ck_assert_int_lt(ms, 1000);
	ck_assert_int_eq(http_exit_status(r.error), MKP_EXIT_DEADLINE);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_deadline_cuts_a_slow_try_short)
{
	struct http_conf conf = conf_test();
	struct http_resp r;
	int64_t ms;

	conf.deadline_ms = 800;
	ck_assert_int_eq(get_timed(&conf, URL("/slow?ms=3000"), &r, &ms), -1);
	ck_assert_int_eq(r.error, HTTP_E_DEADLINE);
	ck_assert_int_ge(ms, 700);
	ck_assert_int_lt(ms, 2000);
	http_resp_free(&r);
}
END_TEST

/*
 * A deadline the caller keeps for a whole phase ends a request the
 * client's own deadline would let go on; one further away than the
 * client's changes nothing.
 */
START_TEST(test_callers_deadline_ends_the_request)
{
	struct http_conf conf = conf_test();
	struct http_client *c;
	struct http_req req = { 0 };
	struct http_resp r;
	struct deadline dl;
	int64_t t0, ms;

	conf.deadline_ms = 10000;
	c = http_new(&conf);
	ck_assert_ptr_nonnull(c);
	deadline_set(&dl, 800);
	req.url = URL("/slow?ms=3000");
	req.deadline = &dl;
	t0 = util_now_ms();
	ck_assert_int_eq(http_request(c, &req, &r), -1);
	ms = util_now_ms() - t0;
	ck_assert_int_eq(r.error, HTTP_E_DEADLINE);
	ck_assert_int_lt(ms, 2000);
	http_resp_free(&r);
	deadline_set(&dl, 60000);
	req.url = URL("/status/200");
	ck_assert_int_eq(http_request(c, &req, &r), 0);
	ck_assert_int_eq(r.status, 200);
	http_resp_free(&r);
	http_free(c);
}
END_TEST

START_TEST(test_oversized_body_is_refused)
{
	struct http_conf conf = conf_test();
	struct http_resp r;

	conf.max_body = 1000;
	ck_assert_int_eq(get(&conf, URL("/big?bytes=1000"), &r), 0);
	ck_assert_uint_eq(r.len, 1000);
	http_resp_free(&r);
	get_fails(&conf, URL("/big?bytes=1001"), HTTP_E_TOOBIG, 1);
	/* Without a Content-Length only the body callback can stop it. */
	get_fails(&conf, URL("/big?bytes=300000&nolength=1"), HTTP_E_TOOBIG,
	    1);
}
END_TEST

START_TEST(test_wrong_ca_is_refused_and_not_retried)
{
	struct http_conf conf = conf_test();

	conf.cafile = wrongca;
	get_fails(&conf, URL("/ok"), HTTP_E_TLS, 1);
	ck_assert_int_eq(http_exit_status(HTTP_E_TLS), MKP_EXIT_FAIL);
}
END_TEST

START_TEST(test_system_store_does_not_trust_the_test_ca)
{
	struct http_conf conf = conf_test();

	conf.cafile = NULL;
	get_fails(&conf, URL("/ok"), HTTP_E_TLS, 1);
}
END_TEST

START_TEST(test_unreadable_ca_file_fails_at_creation)
{
	struct http_conf conf = conf_test();

	conf.cafile = "/nonexistent/ca.pem";
	log_capture();
	ck_assert_ptr_null(http_new(&conf));
	free(log_capture_end());
}
END_TEST

START_TEST(test_proxy_in_the_environment_is_ignored)
{
	static const char *const vars[] = { "https_proxy", "HTTPS_PROXY",
	    "all_proxy", "ALL_PROXY", NULL };
	struct http_conf conf = conf_test();
	struct http_resp r;
	size_t i;
	int rc;

	for (i = 0; vars[i] != NULL; i++)
		setenv(vars[i], "http://127.0.0.1:1", 1);
	rc = get(&conf, URL("/ok"), &r);
	for (i = 0; vars[i] != NULL; i++)
		unsetenv(vars[i]);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(r.status, 200);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_token_from_env_is_sent_as_bearer)
{
	struct http_conf conf = conf_test();
	struct http_resp r;

	setenv("MKP_TEST_TOKEN", "tok-env-123", 1);
	conf.token_env = "MKP_TEST_TOKEN";
	ck_assert_int_eq(get(&conf, URL("/echo"), &r), 0);
	unsetenv("MKP_TEST_TOKEN");
	assert_json_str(&r, "headers.authorization", "Bearer tok-env-123");
	assert_json_str(&r, "headers.user-agent", "mkprov/0.1");
	assert_json_str(&r, "headers.accept", "application/json");
	assert_json_str(&r, "method", "GET");
	http_resp_free(&r);
}
END_TEST

START_TEST(test_token_from_file_is_sent_without_its_newline)
{
	struct http_conf conf = conf_test();
	struct http_resp r;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/token", tmpdir);
	ck_assert_int_eq(util_write_atomic(path, "tok-file-456\n", 13,
	    0600), 0);
	conf.token_file = path;
	ck_assert_int_eq(get(&conf, URL("/echo"), &r), 0);
	assert_json_str(&r, "headers.authorization", "Bearer tok-file-456");
	http_resp_free(&r);
}
END_TEST

START_TEST(test_token_from_a_dotenv_file_is_taken_by_its_key)
{
	static const char env[] = "OTHER=\"x\"\nAPI_TOKEN=\"tok-env-789\"\n";
	struct http_conf conf = conf_test();
	struct http_resp r;
	char path[PATH_MAX], *log;

	snprintf(path, sizeof(path), "%s/secrets.env", tmpdir);
	ck_assert_int_eq(util_write_atomic(path, env, sizeof(env) - 1,
	    0600), 0);
	conf.token_file = path;
	conf.token_key = "API_TOKEN";
	ck_assert_int_eq(get(&conf, URL("/echo"), &r), 0);
	assert_json_str(&r, "headers.authorization", "Bearer tok-env-789");
	http_resp_free(&r);
	conf.token_key = "NO_SUCH_KEY";
	log_capture();
	ck_assert_ptr_null(http_new(&conf));
	log = log_capture_end();
	ck_assert_ptr_nonnull(strstr(log, "NO_SUCH_KEY: not set"));
	free(log);
}
END_TEST

START_TEST(test_token_the_caller_holds_is_sent_as_bearer)
{
	struct http_conf conf = conf_test();
	struct http_resp r;

	conf.token = "tok-held-42";
	ck_assert_int_eq(get(&conf, URL("/echo"), &r), 0);
	assert_json_str(&r, "headers.authorization", "Bearer tok-held-42");
	http_resp_free(&r);
}
END_TEST

START_TEST(test_missing_token_fails_naming_its_source)
{
	struct http_conf conf = conf_test();
	char path[PATH_MAX], *log;

	unsetenv("MKP_TEST_NO_TOKEN");
	conf.token_env = "MKP_TEST_NO_TOKEN";
	log_capture();
	ck_assert_ptr_null(http_new(&conf));
	snprintf(path, sizeof(path), "%s/no-such-token", tmpdir);
	conf.token_env = NULL;
	conf.token_file = path;
	ck_assert_ptr_null(http_new(&conf));
	snprintf(path, sizeof(path), "%s/empty-token", tmpdir);
	ck_assert_int_eq(util_write_atomic(path, "\n", 1, 0600), 0);
	ck_assert_ptr_null(http_new(&conf));
	log = log_capture_end();
	ck_assert_ptr_nonnull(strstr(log, "MKP_TEST_NO_TOKEN: token not "
	    "set"));
	ck_assert_ptr_nonnull(strstr(log, "no-such-token: "));
	ck_assert_ptr_nonnull(strstr(log, "empty-token: token is empty"));
	free(log);
}
END_TEST

START_TEST(test_token_files_others_can_read_are_refused)
{
	static const char env[] = "API_TOKEN=\"tok-env-open\"\n";
	struct http_conf conf = conf_test();
	char path[PATH_MAX], dpath[PATH_MAX], *log;

	snprintf(path, sizeof(path), "%s/open-token", tmpdir);
	ck_assert_int_eq(util_write_atomic(path, "tok-open\n", 9, 0644), 0);
	snprintf(dpath, sizeof(dpath), "%s/open.env", tmpdir);
	ck_assert_int_eq(util_write_atomic(dpath, env, sizeof(env) - 1,
	    0640), 0);
	log_capture();
	conf.token_file = path;
	ck_assert_ptr_null(http_new(&conf));
	conf.token_file = dpath;
	conf.token_key = "API_TOKEN";
	ck_assert_ptr_null(http_new(&conf));
	log = log_capture_end();
	ck_assert_ptr_nonnull(strstr(log, "open-token: readable by others: "
	    "chmod 600 it\n"));
	ck_assert_ptr_nonnull(strstr(log, "open.env: readable by others: "
	    "chmod 600 it\n"));
	/* The mode is the whole story: no second, vaguer line. */
	ck_assert_ptr_null(strstr(log, "unreadable"));
	ck_assert_ptr_null(strstr(log, "tok-open"));
	free(log);
}
END_TEST

START_TEST(test_token_never_appears_in_the_log_even_at_vv)
{
	static const char tok[] = "tok-secret-789";
	struct http_conf conf = conf_test();
	struct http_resp r;
	char *log;

	setenv("MKP_TEST_TOKEN", tok, 1);
	conf.token_env = "MKP_TEST_TOKEN";
	log_verbosity = 2;
	log_capture();
	ck_assert_int_eq(get(&conf, URL("/echo?key=vv"), &r), 0);
	log = log_capture_end();
	log_verbosity = 0;
	unsetenv("MKP_TEST_TOKEN");
	/* The server echoed it, and the body was traced: redacted. */
	ck_assert_ptr_nonnull(strstr(r.body, tok));
	ck_assert_ptr_nonnull(strstr(log, "/echo?key=vv"));
	ck_assert_ptr_nonnull(strstr(log, LOG_REDACTED));
	ck_assert_ptr_null(strstr(log, tok));
	free(log);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_secret_bodies_are_never_traced)
{
	static const char body[] = "{\"clientSecret\":\"not-yet-known\"}";
	struct http_conf conf = conf_test();
	struct http_req req = { .method = "POST", .body = body,
	    .secret_bodies = 1 };
	struct http_client *c;
	struct http_resp r;
	char *log;

	req.url = URL("/echo?key=sb");
	c = http_new(&conf);
	ck_assert_ptr_nonnull(c);
	log_verbosity = 2;
	log_capture();
	ck_assert_int_eq(http_request(c, &req, &r), 0);
	log = log_capture_end();
	log_verbosity = 0;
	http_free(c);
	ck_assert_ptr_nonnull(strstr(r.body, "not-yet-known"));
	ck_assert_ptr_nonnull(strstr(log, "request body: not shown"));
	ck_assert_ptr_nonnull(strstr(log, "response body: not shown"));
	ck_assert_ptr_null(strstr(log, "not-yet-known"));
	free(log);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_connection_reset_is_retried)
{
	struct http_conf conf = conf_test();
	struct http_resp r;

	ck_assert_int_eq(get(&conf, URL("/reset?n=2&key=rst"), &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.tries, 3);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_refused_connection_is_retried_then_fails)
{
	struct http_conf conf = conf_test();

	conf.max_tries = 3;
	get_fails(&conf, "https://127.0.0.1:1/", HTTP_E_CONNECT, 3);
}
END_TEST

START_TEST(test_plain_http_is_refused)
{
	struct http_conf conf = conf_test();
	char u[128];

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/ok", https.port);
	get_fails(&conf, u, HTTP_E_USAGE, 1);
}
END_TEST

START_TEST(test_redirect_is_not_followed)
{
	struct http_conf conf = conf_test();
	struct http_resp r;

	ck_assert_int_eq(get(&conf, URL("/redirect"), &r), 0);
	ck_assert_int_eq(r.status, 302);
	ck_assert_pstr_eq(http_header(&r, "Location"), "/ok");
	http_resp_free(&r);
}
END_TEST

START_TEST(test_json_body_is_posted_with_its_content_type)
{
	struct http_conf conf = conf_test();
	struct http_req req = { .url = URL("/echo"), .body = "{\"a\":1}" };
	struct http_client *c;
	struct http_resp r;

	ck_assert_ptr_nonnull(c = http_new(&conf));
	ck_assert_int_eq(http_request(c, &req, &r), 0);
	assert_json_str(&r, "method", "POST");
	assert_json_str(&r, "body", "{\"a\":1}");
	assert_json_str(&r, "headers.content-type", "application/json");
	http_resp_free(&r);
	req.method = "POST";
	req.body = NULL;
	ck_assert_int_eq(http_request(c, &req, &r), 0);
	assert_json_str(&r, "headers.content-length", "0");
	http_resp_free(&r);
	req.method = "DELETE";
	ck_assert_int_eq(http_request(c, &req, &r), 0);
	assert_json_str(&r, "method", "DELETE");
	http_resp_free(&r);
	http_free(c);
}
END_TEST

START_TEST(test_resolve_entry_points_a_name_at_the_fixture)
{
	struct http_conf conf = conf_test();
	struct http_resp r;
	char entry[64], u[128];
	const char *resolve[] = { entry, NULL };

	snprintf(entry, sizeof(entry), "api.mkprov.test:%d:127.0.0.1",
	    https.port);
	snprintf(u, sizeof(u), "https://api.mkprov.test:%d/ok",
	    https.port);
	conf.resolve = resolve;
	ck_assert_int_eq(get(&conf, u, &r), 0);
	ck_assert_int_eq(r.status, 200);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_many_requests_run_at_once_and_all_complete)
{
	struct http_conf conf = conf_test();
	struct http_req reqs[20];
	struct http_resp resps[20];
	struct http_client *c;
	int64_t t0, ms;
	size_t i;

	memset(reqs, 0, sizeof(reqs));
	for (i = 0; i < 20; i++) {
		if (i < 8)
			reqs[i].url = URL("/slow?ms=600");
		else if (i < 14)
			reqs[i].url = URL("/status/503?n=1&key=m%zu", i);
		else
			reqs[i].url = URL("/reset?n=1&key=m%zu", i);
	}
	ck_assert_ptr_nonnull(c = http_new(&conf));
	t0 = util_now_ms();
	ck_assert_int_eq(http_request_many(c, reqs, resps, 20), 0);
	ms = util_now_ms() - t0;
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(resps[i].status, 200);
		ck_assert_int_eq(resps[i].tries, i < 8 ? 1 : 2);
		http_resp_free(&resps[i]);
	}
	/* One after another, the slow ones alone would take 4.8 s. */
	ck_assert_int_lt(ms, 3000);
	http_free(c);
}
END_TEST

START_TEST(test_one_failure_in_a_batch_spares_the_others)
{
	struct http_conf conf = conf_test();
	struct http_req reqs[3];
	struct http_resp resps[3];
	struct http_client *c;
	size_t i;

	memset(reqs, 0, sizeof(reqs));
	conf.max_body = 1000;
	reqs[0].url = URL("/ok");
	reqs[1].url = URL("/big?bytes=5000");
	reqs[2].url = URL("/status/502?n=1&key=batch");
	ck_assert_ptr_nonnull(c = http_new(&conf));
	ck_assert_int_eq(http_request_many(c, reqs, resps, 3), -1);
	ck_assert_int_eq(resps[0].status, 200);
	ck_assert_int_eq(resps[1].error, HTTP_E_TOOBIG);
	ck_assert_int_eq(resps[2].status, 200);
	ck_assert_int_eq(resps[2].tries, 2);
	for (i = 0; i < 3; i++)
		http_resp_free(&resps[i]);
	http_free(c);
}
END_TEST

START_TEST(test_backoff_and_reset_waits_are_bounded_by_the_cap)
{
	struct http_conf conf = conf_test();
	struct http_resp r;
	int64_t ms;

	/* Uncapped, 1 s doubling and a 30 s reset would take seconds. */
	conf.backoff_base_ms = 1000;
	conf.backoff_cap_ms = 100;
	conf.max_tries = 4;
	ck_assert_int_eq(get_timed(&conf, URL("/status/503?reset=30"), &r,
	    &ms), 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert_int_eq(r.tries, 4);
	ck_assert_int_lt(ms, 3 * 100 + 700);
	http_resp_free(&r);
}
END_TEST

START_TEST(test_errors_have_names_and_exit_statuses)
{
	int e, f;

	for (e = 0; e < HTTP_E__MAX; e++) {
		ck_assert_ptr_nonnull(http_strerror(e));
		for (f = 0; f < e; f++)
			ck_assert_str_ne(http_strerror(e), http_strerror(f));
	}
	ck_assert_str_eq(http_strerror(HTTP_E__MAX), "unknown error");
	ck_assert_int_eq(http_exit_status(HTTP_E_DEADLINE),
	    MKP_EXIT_DEADLINE);
	ck_assert_int_eq(http_exit_status(HTTP_E_USAGE), MKP_EXIT_USAGE);
	ck_assert_int_eq(http_exit_status(HTTP_E_TOKEN), MKP_EXIT_USAGE);
	ck_assert_int_eq(http_exit_status(HTTP_E_CONNECT), MKP_EXIT_FAIL);
	ck_assert_int_eq(http_exit_status(HTTP_E_NONE), MKP_EXIT_FAIL);
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
		test_fixture_answers_who_it_is,
		test_ok_gives_status_body_and_headers,
		test_503_is_retried_until_it_succeeds,
		test_429_waits_at_least_retry_after,
		test_retry_after_as_a_date_is_honoured,
		test_429_with_ratelimit_remaining_0_waits_for_reset,
		test_ratelimit_remaining_0_paces_the_next_request,
		test_wait_past_the_deadline_is_not_begun,
		test_deadline_cuts_a_slow_try_short,
		test_callers_deadline_ends_the_request,
		test_oversized_body_is_refused,
		test_wrong_ca_is_refused_and_not_retried,
		test_system_store_does_not_trust_the_test_ca,
		test_unreadable_ca_file_fails_at_creation,
		test_proxy_in_the_environment_is_ignored,
		test_token_from_env_is_sent_as_bearer,
		test_token_from_file_is_sent_without_its_newline,
		test_token_from_a_dotenv_file_is_taken_by_its_key,
		test_token_the_caller_holds_is_sent_as_bearer,
		test_missing_token_fails_naming_its_source,
		test_token_files_others_can_read_are_refused,
		test_token_never_appears_in_the_log_even_at_vv,
		test_secret_bodies_are_never_traced,
		test_connection_reset_is_retried,
		test_refused_connection_is_retried_then_fails,
		test_plain_http_is_refused,
		test_redirect_is_not_followed,
		test_json_body_is_posted_with_its_content_type,
		test_resolve_entry_points_a_name_at_the_fixture,
		test_many_requests_run_at_once_and_all_complete,
		test_one_failure_in_a_batch_spares_the_others,
		test_backoff_and_reset_waits_are_bounded_by_the_cap,
		test_errors_have_names_and_exit_statuses,
		NULL
	};

	log_init("check_http");
	return fixture_main("http", "https-fixture", fixture_start,
	    fixture_stop, tests);
}
