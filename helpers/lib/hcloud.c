/*
 * hcloud.c: Hetzner Cloud API calls and the parse functions for the
 * objects they answer with.
 *
 * Each parse function takes every field it needs through a typed
 * lookup and fails as a whole when one is missing or of another type,
 * naming the field's path.  Fields the API may send as null (ipv4,
 * image) are read as "" rather than trusted to be there.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcloud.h"
#include "log.h"
#include "mkprov.h"

/* Actions are polled this often at first, then less and less often. */
#define POLL_FIRST_MS	1000
#define POLL_MAX_MS	10000
#define LIST_PAGE	50

/*
 * Keep the error envelope of a failed call for hcloud_report: the
 * code and message, or what the body was when it was not one.
 */
static void
keep_error(struct hcloud *h, const struct http_resp *r)
{
	struct json_err	 err;
	const char	*code = "", *msg = "";
	yajl_val	 v;

	h->status = r->status;
	v = json_parse(r->body, r->len, &err);
	if (v == NULL || json_str(v, "error.code", &code, &err) == -1 ||
	    json_str(v, "error.message", &msg, &err) == -1) {
		code = "";
		msg = "not an error envelope";
	}
	snprintf(h->code, sizeof(h->code), "%s", code);
	snprintf(h->message, sizeof(h->message), "%s", msg);
	json_free(v);
}

/*
 * Log the last error the API answered, as "URL: HTTP 409:
 * uniqueness_error: server name is already used".
 */
void
hcloud_report(const struct hcloud *h)
{
	log_err(h->url, "HTTP %ld: %s%s%s", h->status, h->code,
	    *h->code ? ": " : "", h->message);
}

/*
 * Call method on api + path with an optional JSON body; secret keeps
 * the bodies out of -vv traces.  When the answer has status want,
 * *out gets its parsed body (free it with json_free).  Returns 0; 1
 * for another status (kept for hcloud_report, not logged); -1 for a
 * failure (logged).  h->exit holds the exit status a helper should
 * end with after a failure.
 */
static int
call(struct hcloud *h, const char *method, const char *path,
    const char *body, int secret, int want, yajl_val *out)
{
	struct http_req	 req = { 0 };
	struct http_resp r;
	struct json_err	 err;
	int		 rc = -1;

	*out = NULL;
	req.secret_bodies = secret;
	req.deadline = h->deadline;
	h->exit = MKP_EXIT_FAIL;
	snprintf(h->url, sizeof(h->url), "%s%s", h->api, path);
	req.method = method;
	req.url = h->url;
	req.body = body;
	if (http_request(h->http, &req, &r) == -1) {
		h->exit = http_exit_status(r.error);
		return -1;
	}
	if (r.status != want) {
		keep_error(h, &r);
		rc = 1;
	} else if ((*out = json_parse(r.body, r.len, &err)) == NULL)
		log_err(h->url, "answer is not JSON: %s", err.msg);
	else
		rc = 0;
	http_resp_free(&r);
	return rc;
}

/*
 * Call the API as call() says, the bodies free to trace at -vv.
 * Returns 0 with *out set when the answer had status want; 1 for
 * another status (kept in h for hcloud_report, not logged); -1 for a
 * failure (logged; h->exit says how to end).
 */
int
hcloud_call(struct hcloud *h, const char *method, const char *path,
    const char *body, int want, yajl_val *out)
{
	return call(h, method, path, body, 0, want, out);
}

/*
 * Call the API with a body that holds a secret (the user data of a
 * new server carries its first private host key): -vv never shows it.
 * Returns as hcloud_call does.
 */
int
hcloud_call_secret(struct hcloud *h, const char *method, const char *path,
    const char *body, int want, yajl_val *out)
{
	return call(h, method, path, body, 1, want, out);
}

/*
 * Copy the string at path under v into buf; null and a missing value
 * when nullable give "".  Returns 0, or -1 with err set.
 */
static int
str_at(yajl_val v, const char *path, char *buf, size_t sz,
    struct json_err *err)
{
	const char	*s;

	if (json_str_or_null(v, path, &s, err) == -1)
		return -1;
	snprintf(buf, sz, "%s", s ? s : "");
	return 0;
}

/*
 * Check that what the API gave for path is a plain word (names,
 * states, times, label values: letters, digits and ._:+-), so that
 * nothing else reaches a stamp, the inventory or the terminal.
 * Returns 0, or -1 with err set.
 */
static int
word_ok(const char *path, const char *s, struct json_err *err)
{
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._:+-") == strlen(s))
		return 0;
	snprintf(err->msg, sizeof(err->msg), "%s: not a plain word", path);
	return -1;
}

/*
 * Check the server's addresses: an IPv4 address, and an IPv6 network
 * written address/prefix.  Returns 0, or -1 with err set.
 */
static int
addrs_ok(const struct hcloud_server *s, struct json_err *err)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	char		 net[sizeof(s->ipv6)], *slash;
	const char	*errstr = NULL;

	if (*s->ipv4 && inet_pton(AF_INET, s->ipv4, &a4) != 1) {
		snprintf(err->msg, sizeof(err->msg),
		    "public_net.ipv4.ip: not an IPv4 address");
		return -1;
	}
	if (*s->ipv6 == '\0')
		return 0;
	snprintf(net, sizeof(net), "%s", s->ipv6);
	if ((slash = strchr(net, '/')) != NULL)
		*slash++ = '\0';
	if (slash != NULL)
		(void)util_strtonum(slash, 1, 128, &errstr);
	if (slash == NULL || errstr != NULL ||
	    inet_pton(AF_INET6, net, &a6) != 1) {
		snprintf(err->msg, sizeof(err->msg),
		    "public_net.ipv6.ip: not an IPv6 network");
		return -1;
	}
	return 0;
}

/*
 * Parse the server object at path in v into s.  Every text field must
 * be a plain word and the addresses real ones.  Returns 0, or -1
 * (logged, naming the field).
 */
int
hcloud_server(yajl_val v, const char *path, struct hcloud_server *s)
{
	struct json_err	 err;
	yajl_val	 srv;

	memset(s, 0, sizeof(*s));
	if (json_obj(v, path, &srv, &err) == -1)
		goto bad;
	if (json_int(srv, "id", &s->id, &err) == -1 ||
	    str_at(srv, "name", s->name, sizeof(s->name), &err) == -1 ||
	    str_at(srv, "status", s->status, sizeof(s->status), &err) ||
	    str_at(srv, "created", s->created, sizeof(s->created), &err) ||
	    str_at(srv, "server_type.name", s->type, sizeof(s->type),
	    &err) == -1 || str_at(srv, "location.name", s->location,
	    sizeof(s->location), &err) == -1)
		goto bad;
	if (json_at(srv, "public_net.ipv4") != NULL &&
	    YAJL_IS_OBJECT(json_at(srv, "public_net.ipv4")) &&
	    str_at(srv, "public_net.ipv4.ip", s->ipv4, sizeof(s->ipv4),
	    &err) == -1)
		goto bad;
	if (json_at(srv, "public_net.ipv6") != NULL &&
	    YAJL_IS_OBJECT(json_at(srv, "public_net.ipv6")) &&
	    str_at(srv, "public_net.ipv6.ip", s->ipv6, sizeof(s->ipv6),
	    &err) == -1)
		goto bad;
	if (YAJL_IS_OBJECT(json_at(srv, "image")) &&
	    str_at(srv, "image.name", s->image, sizeof(s->image), &err))
		goto bad;
	if (json_obj(srv, "labels", &srv, &err) == -1)
		goto bad;
	if (json_at(srv, HCLOUD_HOST_LABEL) != NULL &&
	    str_at(srv, HCLOUD_HOST_LABEL, s->host_label,
	    sizeof(s->host_label), &err) == -1)
		goto bad;
	if (word_ok("name", s->name, &err) ||
	    word_ok("status", s->status, &err) ||
	    word_ok("created", s->created, &err) ||
	    word_ok("server_type.name", s->type, &err) ||
	    word_ok("location.name", s->location, &err) ||
	    word_ok("image.name", s->image, &err) ||
	    word_ok("labels." HCLOUD_HOST_LABEL, s->host_label, &err) ||
	    addrs_ok(s, &err))
		goto bad;
	return 0;
bad:
	log_err(path, "unexpected server object: %s", err.msg);
	return -1;
}

/*
 * Find the server called name.  Returns 1 with s filled, 0 when there
 * is none, -1 on failure (logged).
 */
int
hcloud_find_server(struct hcloud *h, const char *name,
    struct hcloud_server *s)
{
	struct json_err	 err;
	char		 path[256], *q;
	yajl_val	 v, list;
	size_t		 n;
	int		 rc;

	if ((q = http_escape(name)) == NULL)
		return -1;
	snprintf(path, sizeof(path), "/servers?name=%s", q);
	free(q);
	if ((rc = hcloud_call(h, "GET", path, NULL, 200, &v)) != 0) {
		if (rc == 1)
			hcloud_report(h);
		return -1;
	}
	rc = -1;
	if (json_arr(v, "servers", &list, &n, &err) == -1)
		log_err(h->url, "unexpected answer: %s", err.msg);
	else if (n == 0)
		rc = 0;
	else if (hcloud_server(v, "servers[0]", s) == 0)
		rc = 1;
	json_free(v);
	return rc;
}

/*
 * Read server id into s.  Returns 0, or -1 (logged).
 */
int
hcloud_get_server(struct hcloud *h, long long id, struct hcloud_server *s)
{
	char		 path[64];
	yajl_val	 v;
	int		 rc;

	snprintf(path, sizeof(path), "/servers/%lld", id);
	if ((rc = hcloud_call(h, "GET", path, NULL, 200, &v)) != 0) {
		if (rc == 1)
			hcloud_report(h);
		return -1;
	}
	rc = hcloud_server(v, "server", s);
	json_free(v);
	return rc;
}

/*
 * Check an action's status: one of the three the API documents, so
 * that a new one is noticed rather than taken for a failure.
 * Returns 0, or -1 with err set.
 */
static int
status_ok(const char *status, struct json_err *err)
{
	if (strcmp(status, "running") == 0 ||
	    strcmp(status, "success") == 0 || strcmp(status, "error") == 0)
		return 0;
	/* The log escapes what the server sent; a long one is cut. */
	snprintf(err->msg, sizeof(err->msg), "status: \"%.32s\" is not "
	    "running, success or error", status);
	return -1;
}

/*
 * Parse the action at path in v into a.  The command must be a plain
 * word and the status a known one; progress a percentage.  Returns 0,
 * or -1 (logged, naming the field).
 */
int
hcloud_action(yajl_val v, const char *path, struct hcloud_action *a)
{
	struct json_err	 err;
	const char	*s;
	long long	 progress;
	yajl_val	 act;

	memset(a, 0, sizeof(*a));
	if (json_obj(v, path, &act, &err) == -1 ||
	    json_int(act, "id", &a->id, &err) == -1 ||
	    json_str(act, "command", &s, &err) == -1 ||
	    word_ok("command", s, &err) == -1)
		goto bad;
	snprintf(a->command, sizeof(a->command), "%s", s);
	if (json_str(act, "status", &s, &err) == -1 ||
	    status_ok(s, &err) == -1)
		goto bad;
	snprintf(a->status, sizeof(a->status), "%s", s);
	if (json_int(act, "progress", &progress, &err) == -1)
		goto bad;
	if (progress < 0 || progress > 100) {
		snprintf(err.msg, sizeof(err.msg), "progress: %lld is not "
		    "a percentage", progress);
		goto bad;
	}
	a->progress = (int)progress;
	if (strcmp(a->status, "error") == 0 &&
	    YAJL_IS_OBJECT(json_at(act, "error"))) {
		const char *code = "", *msg = "";

		json_str(act, "error.code", &code, &err);
		json_str(act, "error.message", &msg, &err);
		snprintf(a->error, sizeof(a->error), "%s: %s", code, msg);
	}
	return 0;
bad:
	log_err(path, "unexpected action object: %s", err.msg);
	return -1;
}

/*
 * Poll action id until it succeeds, fails or the deadline passes,
 * waiting longer between polls as it goes (the API counts every call
 * against an hourly budget).  Returns 0 on success, -1 otherwise
 * (logged; h->exit says how to end).
 */
int
hcloud_wait_action(struct hcloud *h, long long id,
    const struct deadline *dl)
{
	struct hcloud_action a;
	char		 path[64];
	int64_t		 pause = POLL_FIRST_MS, t0 = util_now_ms();
	yajl_val	 v;
	int		 rc;

	snprintf(path, sizeof(path), "/actions/%lld", id);
	for (;;) {
		if ((rc = hcloud_call(h, "GET", path, NULL, 200, &v)) != 0) {
			if (rc == 1)
				hcloud_report(h);
			return -1;
		}
		rc = hcloud_action(v, "action", &a);
		json_free(v);
		if (rc == -1)
			return -1;
		if (strcmp(a.status, "success") == 0) {
			log_progress_end();
			return 0;
		}
		if (strcmp(a.status, "running") != 0) {
			log_err(h->url, "%s failed: %s", a.command,
			    *a.error ? a.error : a.status);
			return -1;
		}
		log_info(h->url, "%s: %d%%", a.command, a.progress);
		log_progress(a.command, "waiting", util_now_ms() - t0,
		    deadline_left_ms(dl));
		if (deadline_left_ms(dl) < pause) {
			log_err(h->url, "%s still running at the deadline",
			    a.command);
			h->exit = MKP_EXIT_DEADLINE;
			return -1;
		}
		util_sleep_ms(pause);
		if ((pause = pause * 3 / 2) > POLL_MAX_MS)
			pause = POLL_MAX_MS;
	}
}

/*
 * Take the base64 part of an OpenSSH public key line ("type base64
 * [comment]") into blob; keys are compared by it, as the API's
 * fingerprint is of it.  Returns 0, or -1 when the line is malformed.
 */
int
hcloud_key_blob(const char *pubkey, char *blob, size_t sz)
{
	const char	*p = pubkey, *e;

	while (*p == ' ' || *p == '\t')
		p++;
	if ((p = strchr(p, ' ')) == NULL)
		return -1;
	while (*p == ' ')
		p++;
	e = p + strcspn(p, " \t\r\n");
	if (e == p || (size_t)(e - p) >= sz)
		return -1;
	memcpy(blob, p, (size_t)(e - p));
	blob[e - p] = '\0';
	return 0;
}

/*
 * Append the keys of one page in v to *keys.  Returns 0, or -1
 * (logged).
 */
static int
keys_page(const struct hcloud *h, yajl_val v, struct hcloud_key **keys,
    size_t *n)
{
	struct json_err	 err;
	struct hcloud_key *k;
	const char	*name, *pub;
	yajl_val	 list, e;
	size_t		 i, m;

	if (json_arr(v, "ssh_keys", &list, &m, &err) == -1)
		goto bad;
	if ((k = reallocarray(*keys, *n + m, sizeof(**keys))) == NULL) {
		log_errno(h->url, "reallocarray");
		return -1;
	}
	*keys = k;
	for (i = 0; i < m; i++) {
		e = list->u.array.values[i];
		k = &(*keys)[*n];
		if (json_int(e, "id", &k->id, &err) == -1 ||
		    json_str(e, "name", &name, &err) == -1 ||
		    json_str(e, "public_key", &pub, &err) == -1)
			goto bad;
		snprintf(k->name, sizeof(k->name), "%s", name);
		if (hcloud_key_blob(pub, k->blob, sizeof(k->blob)) == -1)
			k->blob[0] = '\0';
		(*n)++;
	}
	return 0;
bad:
	log_err(h->url, "unexpected answer: %s", err.msg);
	return -1;
}

/*
 * List every SSH key of the project, following the pages.  Returns 0
 * with *keys (free(3) it) and *n set, or -1 (logged).
 */
int
hcloud_keys(struct hcloud *h, struct hcloud_key **keys, size_t *n)
{
	struct json_err	 err;
	long long	 next;
	char		 path[64];
	yajl_val	 v;
	int		 isnull, rc, page = 1;

	*keys = NULL;
	*n = 0;
	for (;;) {
		snprintf(path, sizeof(path), "/ssh_keys?page=%d&per_page=%d",
		    page, LIST_PAGE);
		if ((rc = hcloud_call(h, "GET", path, NULL, 200, &v)) != 0) {
			if (rc == 1)
				hcloud_report(h);
			break;
		}
		rc = keys_page(h, v, keys, n);
		if (rc == 0 && json_int_or_null(v,
		    "meta.pagination.next_page", &next, &isnull, &err)) {
			log_err(h->url, "unexpected answer: %s", err.msg);
			rc = -1;
		}
		json_free(v);
		if (rc != 0 || isnull || next <= page)
			break;
		page = (int)next;
	}
	if (rc != 0) {
		free(*keys);
		*keys = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}
