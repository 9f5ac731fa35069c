/*
 * http.c: HTTPS requests for mkprov, on libcurl's multi interface.
 *
 * One request and many concurrent ones take the same path: each
 * request is a "transfer" that is started, finished, and perhaps
 * scheduled again after a backoff, while the others go on.  A single
 * request is simply a batch of one, so the rules for retries, waits
 * and the deadline cannot drift apart between the two.
 *
 * Safety rules that hold for every try: TLS peer and host
 * verification are on and nothing can turn them off, only https is
 * spoken, redirects are not followed, a proxy is used only when one
 * is configured (the environment's is ignored), and the token never
 * reaches a log line (it is registered with log_secret()).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "dotenv.h"
#include "http.h"
#include "log.h"
#include "mkprov.h"
#include "util.h"

#define HTTP_USER_AGENT	"mkprov/0.1"
#define TOKEN_MAX	4096	/* longer than any API token */
#define KEEP_CONNS	64	/* connections kept between requests */
#define HDRS_MAX	256	/* headers kept per response */
#define POLL_MAX_MS	1000

struct http_client {
	struct http_conf	 conf;		/* defaults filled in */
	char			*cafile;
	char			*cas;		/* system's + cafile, PEM */
	size_t			 caslen;
	char			*proxy;
	struct curl_slist	*resolve;
	char			*token;		/* NULL: send none */
	CURLM			*multi;		/* shares connections */
	int64_t			 pace_until;	/* no try before (mono ms) */
};

enum xfer_state {
	XF_WAITING,	/* its next try starts at "wake" */
	XF_RUNNING,	/* in the multi handle */
	XF_DONE
};

/* One request on its way through its tries. */
struct xfer {
	struct http_client	*c;
	const struct http_req	*req;
	struct http_resp	*resp;
	CURL			*easy;
	struct curl_slist	*hdrs;
	enum xfer_state		 state;
	int64_t			 wake;
	struct deadline		 dl;
	size_t			 bodycap;
	int			 toobig;
	int			 nomem;
	int			 rc;
	char			 errbuf[CURL_ERROR_SIZE];
	char			 last[CURL_ERROR_SIZE + 16]; /* for messages */
};

static const char *const http_errors[] = {
	[HTTP_E_NONE] = "no error",
	[HTTP_E_CONNECT] = "connection failed",
	[HTTP_E_TLS] = "tls failed",
	[HTTP_E_DEADLINE] = "deadline passed",
	[HTTP_E_TOOBIG] = "response too big",
	[HTTP_E_TOKEN] = "token unreadable",
	[HTTP_E_USAGE] = "bad request or option",
	[HTTP_E_NOMEM] = "out of memory",
};
_Static_assert(sizeof(http_errors) / sizeof(http_errors[0]) ==
    HTTP_E__MAX, "http_errors must name every enum http_error");

static void	 xfer_fail(struct xfer *, enum http_error, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Initializes libcurl once per process.  The helpers are
 * single-threaded, so a static flag is enough; a threaded caller
 * would need pthread_once here.  curl_global_cleanup is never called:
 * the process ends soon after its last request anyway.
 * Returns 0, or -1 after logging.
 */
static int
http_global_init(void)
{
	static int done;
	CURLcode rc;

	if (done)
		return 0;
	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		log_err("libcurl", "initialization failed: %s",
		    curl_easy_strerror(rc));
		return -1;
	}
	done = 1;
	return 0;
}

/* Fills in the defaults documented in http.h.  Returns nothing. */
static void
conf_defaults(struct http_conf *conf)
{
	if (conf->connect_timeout_ms <= 0)
		conf->connect_timeout_ms = 10 * 1000;
	if (conf->try_timeout_ms <= 0)
		conf->try_timeout_ms = 60 * 1000;
	if (conf->deadline_ms <= 0)
		conf->deadline_ms = 5 * 60 * 1000;
	if (conf->max_tries <= 0)
		conf->max_tries = 8;
	if (conf->backoff_base_ms <= 0)
		conf->backoff_base_ms = 500;
	if (conf->backoff_cap_ms <= 0)
		conf->backoff_cap_ms = 30 * 1000;
	if (conf->max_body == 0)
		conf->max_body = 16 * 1024 * 1024;
}

/*
 * Checks that a token can go into a header as it is: printable ASCII
 * without spaces, so that a stray byte cannot split the header.
 * Returns 0, or -1 after logging (never the token itself).
 */
static int
token_check(const char *tok, const char *subject)
{
	const char *p;

	if (*tok == '\0') {
		log_err(subject, "token is empty: put the API token there");
		return -1;
	}
	for (p = tok; *p != '\0'; p++) {
		if (*p <= ' ' || *p > '~') {
			log_err(subject, "token has a space or control "
			    "character at byte %zu: copy it again",
			    (size_t)(p - tok));
			return -1;
		}
	}
	return 0;
}

/* Returns a copy of the token in the variable var, or NULL after logging. */
static char *
token_from_env(const char *var)
{
	const char *val;
	char *tok;

	if ((val = getenv(var)) == NULL || *val == '\0') {
		log_err(var, "token not set: export it, or give a token "
		    "file instead");
		return NULL;
	}
	if (token_check(val, var) == -1)
		return NULL;
	if ((tok = strdup(val)) == NULL)
		log_errno(var, "cannot copy the token");
	return tok;
}

/*
 * Returns the token read from path without its trailing newline, or
 * NULL after logging.  The file must be private (owned by us, mode
 * 0600): a token others can read is a token others hold.
 */
static char *
token_from_file(const char *path)
{
	char *buf;
	size_t len;

	if (util_read_private(path, TOKEN_MAX, &buf, &len) == -1) {
		/* A refused mode or owner already said what to do. */
		if (errno != EPERM)
			log_err(path, "token file unreadable: give a readable "
			    "file of at most %d bytes", TOKEN_MAX);
		return NULL;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		log_err(path, "token has a NUL byte: copy it again");
		goto bad;
	}
	if (token_check(buf, path) == -1)
		goto bad;
	return buf;
bad:
	explicit_bzero(buf, len);
	free(buf);
	return NULL;
}

/*
 * Returns a copy of the value of key in the .env file at path (as the
 * secrets phase writes it), or NULL after logging.  dotenv_load
 * refuses a file that is not private.
 */
static char *
token_from_dotenv(const char *path, const char *key)
{
	struct dotenv	 env;
	const char	*val;
	char		*tok = NULL;

	if (dotenv_load(path, &env) == -1)
		return NULL;
	if ((val = dotenv_get(&env, key)) == NULL || *val == '\0')
		log_err(path, "%s: not set: run the secrets phase again", key);
	else if (token_check(val, path) == 0 && (tok = strdup(val)) == NULL)
		log_errno(path, "cannot copy the token");
	dotenv_free(&env);
	return tok;
}

/*
 * Returns a copy of a token the caller holds, or NULL after logging.
 */
static char *
token_copy(const char *val)
{
	char	*tok;

	if (token_check(val, "token") == -1)
		return NULL;
	if ((tok = strdup(val)) == NULL)
		log_errno("token", "cannot copy the token");
	return tok;
}

/*
 * Reads the token named by conf: the variable wins when it is set and
 * not empty, otherwise the file (a .env file when token_key is set),
 * otherwise a token the caller gave; none of them means no token.
 * Returns 0, or -1 after logging.
 */
static int
token_load(struct http_client *c, const struct http_conf *conf)
{
	const char *env = conf->token_env;

	if (env != NULL && conf->token_file != NULL &&
	    (getenv(env) == NULL || *getenv(env) == '\0'))
		env = NULL;
	if (env != NULL)
		c->token = token_from_env(env);
	else if (conf->token_file != NULL && conf->token_key != NULL)
		c->token = token_from_dotenv(conf->token_file,
		    conf->token_key);
	else if (conf->token_file != NULL)
		c->token = token_from_file(conf->token_file);
	else if (conf->token != NULL)
		c->token = token_copy(conf->token);
	else
		return 0;
	if (c->token == NULL)
		return -1;
	if (log_secret(c->token) == -1) {
		log_err(env != NULL ? env : "token",
		    "cannot register the token for redaction");
		return -1;
	}
	return 0;
}

/* Appends line to *list.  Returns 0, or -1 when out of memory. */
static int
slist_add(struct curl_slist **list, const char *line)
{
	struct curl_slist *l;

	if ((l = curl_slist_append(*list, line)) == NULL)
		return -1;
	*list = l;
	return 0;
}

/*
 * Frees a list after zeroing every entry, since one of them may hold
 * the Authorization header.  Returns nothing.
 */
static void
slist_free_secret(struct curl_slist *list)
{
	struct curl_slist *l;

	for (l = list; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

/*
 * Copies what conf points to that must outlive the caller's copy.
 * Returns 0, or -1 after logging.
 */
static int
conf_copy(struct http_client *c, const struct http_conf *conf)
{
	const char *const *r;

	c->conf = *conf;
	c->conf.token_env = c->conf.token_file = NULL;
	c->conf.token_key = c->conf.token = NULL;
	c->conf.cafile = c->conf.proxy = NULL;
	c->conf.resolve = NULL;
	conf_defaults(&c->conf);
	if ((conf->cafile != NULL &&
	    (c->cafile = strdup(conf->cafile)) == NULL) ||
	    (conf->proxy != NULL &&
	    (c->proxy = strdup(conf->proxy)) == NULL)) {
		log_errno("http", "cannot copy the configuration");
		return -1;
	}
	for (r = conf->resolve; r != NULL && *r != NULL; r++) {
		if (slist_add(&c->resolve, *r) == -1) {
			log_errno(*r, "cannot copy the resolve entry");
			return -1;
		}
	}
	return 0;
}

/*
 * Builds the CAs to trust when a CA file is given: libcurl's own
 * bundle (the system's) and then the CA file, so that one site file
 * can name the CA of a self-hosted Infisical while Hetzner and
 * Cloudflare are still checked against the public CAs.  CURLOPT_CAINFO
 * alone would replace the system's bundle.  A system without a bundle
 * trusts the CA file alone.  Returns 0, or -1 after logging.
 */
static int
cas_build(struct http_client *c)
{
	CURL	*e;
	char	*sys = NULL, *sysbuf = NULL, *extra = NULL;
	size_t	 syslen = 0, extralen;
	int	 rc = -1;

	if ((e = curl_easy_init()) == NULL) {
		log_err("libcurl", "cannot make a handle");
		return -1;
	}
	if (curl_easy_getinfo(e, CURLINFO_CAINFO, &sys) != CURLE_OK ||
	    sys == NULL || access(sys, R_OK) == -1)
		sys = NULL;
	if (sys != NULL && util_read_file(sys, 16 * 1024 * 1024, &sysbuf,
	    &syslen) == -1)
		goto out;
	if (util_read_file(c->cafile, 16 * 1024 * 1024, &extra,
	    &extralen) == -1)
		goto out;
	if ((c->cas = malloc(syslen + 1 + extralen + 1)) == NULL) {
		log_errno(c->cafile, "cannot load the CAs");
		goto out;
	}
	if (syslen > 0)
		memcpy(c->cas, sysbuf, syslen);
	c->cas[syslen] = '\n';
	memcpy(c->cas + syslen + 1, extra, extralen);
	c->caslen = syslen + 1 + extralen;
	c->cas[c->caslen] = '\0';
	rc = 0;
out:
	free(sysbuf);
	free(extra);
	curl_easy_cleanup(e);
	return rc;
}

/*
 * Makes a client from conf (NULL: all defaults), which need not
 * outlive the call.  A CA
 * file that cannot be read or a token that cannot be had fails here,
 * before any request, with a message that says how to fix it.
 * Returns the client, or NULL after logging.
 */
struct http_client *
http_new(const struct http_conf *conf)
{
	static const struct http_conf defaults;
	struct http_client *c;

	if (conf == NULL)
		conf = &defaults;
	if (http_global_init() == -1)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_errno("http", "cannot make a client");
		return NULL;
	}
	if (conf_copy(c, conf) == -1)
		goto fail;
	if (c->cafile != NULL && access(c->cafile, R_OK) == -1) {
		log_errno(c->cafile, "cannot read the CA file");
		goto fail;
	}
	if (c->cafile != NULL && cas_build(c) == -1)
		goto fail;
	if (token_load(c, conf) == -1)
		goto fail;
	if ((c->multi = curl_multi_init()) == NULL) {
		log_err("libcurl", "cannot make a multi handle");
		goto fail;
	}
	/*
	 * Keep the connections of a whole batch for the next one: by
	 * default the cache shrinks with the transfers still running, so
	 * most of a batch's connections were closed as it drained.
	 */
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)KEEP_CONNS);
	return c;
fail:
	http_free(c);
	return NULL;
}

/* Frees c, zeroing its token.  Returns nothing. */
void
http_free(struct http_client *c)
{
	if (c == NULL)
		return;
	if (c->token != NULL) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	curl_slist_free_all(c->resolve);
	free(c->cafile);
	free(c->cas);
	free(c->proxy);
	free(c);
}

/* Returns the method req is sent with. */
static const char *
req_method(const struct http_req *req)
{
	if (req->method != NULL)
		return req->method;
	return req->body != NULL ? "POST" : "GET";
}

/* Returns whether the caller's headers already hold one named name. */
static int
has_header(const char *const *hdrs, const char *name)
{
	size_t len = strlen(name);

	for (; hdrs != NULL && *hdrs != NULL; hdrs++) {
		if (strncasecmp(*hdrs, name, len) == 0 &&
		    (*hdrs)[len] == ':')
			return 1;
	}
	return 0;
}

/*
 * Appends "Authorization: Bearer TOKEN" to the request's headers,
 * from a buffer that is zeroed at once; the list's copy is zeroed
 * when the transfer ends.  Returns 0, or -1 when out of memory.
 */
static int
headers_add_auth(struct xfer *x)
{
	static const char pre[] = "Authorization: Bearer ";
	size_t len;
	char *line;
	int rc;

	len = sizeof(pre) + strlen(x->c->token);
	if ((line = malloc(len)) == NULL)
		return -1;
	snprintf(line, len, "%s%s", pre, x->c->token);
	rc = slist_add(&x->hdrs, line);
	explicit_bzero(line, len);
	free(line);
	return rc;
}

/*
 * Builds the request's header list: the caller's, then JSON defaults
 * the caller did not give, no "Expect: 100-continue" (a round trip
 * for nothing with small JSON bodies), and the token.
 * Returns 0, or -1 when out of memory.
 */
static int
headers_build(struct xfer *x)
{
	const char *const *h, *const *user = x->req->headers;

	for (h = user; h != NULL && *h != NULL; h++)
		if (slist_add(&x->hdrs, *h) == -1)
			return -1;
	if (!has_header(user, "Accept") &&
	    slist_add(&x->hdrs, "Accept: application/json") == -1)
		return -1;
	if (x->req->body != NULL && !has_header(user, "Content-Type") &&
	    slist_add(&x->hdrs, "Content-Type: application/json") == -1)
		return -1;
	if (slist_add(&x->hdrs, "Expect:") == -1)
		return -1;
	if (x->c->token != NULL && headers_add_auth(x) == -1)
		return -1;
	return 0;
}

/*
 * Grows *buf to hold at least need bytes, doubling to keep appends
 * cheap.  Returns 0, or -1 when out of memory.
 */
static int
buf_grow(char **buf, size_t *cap, size_t need)
{
	size_t ncap = *cap > 0 ? *cap : 4096;
	char *nbuf;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if ((nbuf = realloc(*buf, ncap)) == NULL)
		return -1;
	*buf = nbuf;
	*cap = ncap;
	return 0;
}

/*
 * libcurl's body callback: appends to the response unless that would
 * pass max_body.  Returns n, or 0 to make libcurl abort the transfer.
 */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	struct http_resp *r = x->resp;
	size_t n = size * nmemb;

	if (n > x->c->conf.max_body - r->len) {
		x->toobig = 1;
		return 0;
	}
	if (buf_grow(&r->body, &x->bodycap, r->len + n + 1) == -1) {
		x->nomem = 1;
		return 0;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* Frees the response's headers.  Returns nothing. */
static void
headers_clear(struct http_resp *r)
{
	size_t i;

	for (i = 0; i < r->nhdrs; i++) {
		free(r->hdrs[i].name);
		free(r->hdrs[i].value);
	}
	free(r->hdrs);
	r->hdrs = NULL;
	r->nhdrs = 0;
}

/* Returns s[0..*len) without white space at either end, in *len. */
static const char *
trim(const char *s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)*s)) {
		s++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)s[*len - 1]))
		(*len)--;
	return s;
}

/*
 * Stores one "Name: value" line, trimmed.  Past HDRS_MAX headers the
 * rest are dropped: no API needs that many.
 * Returns 0, or -1 when out of memory.
 */
static int
header_add(struct http_resp *r, const char *line, size_t len)
{
	const char *colon, *name, *value;
	size_t nlen, vlen;
	struct http_header *h;

	if ((colon = memchr(line, ':', len)) == NULL || r->nhdrs >= HDRS_MAX)
		return 0;
	nlen = colon - line;
	vlen = len - nlen - 1;
	name = trim(line, &nlen);
	value = trim(colon + 1, &vlen);
	if (nlen == 0)
		return 0;
	h = realloc(r->hdrs, (r->nhdrs + 1) * sizeof(*h));
	if (h == NULL)
		return -1;
	r->hdrs = h;
	h += r->nhdrs;
	h->name = strndup(name, nlen);
	h->value = strndup(value, vlen);
	r->nhdrs++;
	return h->name != NULL && h->value != NULL ? 0 : -1;
}

/*
 * libcurl's header callback.  A status line starts a new response (a
 * 100 Continue comes before the real one), so the headers kept are
 * those of the last response.  Returns n, or 0 to abort.
 */
static size_t
header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		headers_clear(x->resp);
		return n;
	}
	if (header_add(x->resp, data, n) == -1) {
		x->nomem = 1;
		return 0;
	}
	return n;
}

/*
 * Sets what every try of every request shares: the safety rules in
 * the comment at the top, timeouts and identification.
 * Returns 0, or -1 if libcurl refused an option.
 */
static int
easy_setup_conn(struct xfer *x)
{
	struct http_client *c = x->c;
	struct curl_blob blob;
	CURL *e = x->easy;
	int bad = 0;

	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->cas != NULL) {
		blob.data = c->cas;
		blob.len = c->caslen;
		blob.flags = CURL_BLOB_NOCOPY;
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	}
	bad |= curl_easy_setopt(e, CURLOPT_PROXY,
	    c->proxy != NULL ? c->proxy : "");
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	if (c->resolve != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_RESOLVE, c->resolve);
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    c->conf.connect_timeout_ms);
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)c->conf.max_body);
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)x);
	return bad ? -1 : 0;
}

/*
 * Sets the method, body, headers and callbacks of one request.  A
 * POST, PUT or PATCH without a body still sends "Content-Length: 0",
 * which some servers insist on.
 * Returns 0, or -1 if libcurl refused an option.
 */
static int
easy_setup_req(struct xfer *x)
{
	const struct http_req *req = x->req;
	const char *method = req_method(req);
	CURL *e = x->easy;
	int bad = 0;
	size_t len;

	bad |= curl_easy_setopt(e, CURLOPT_URL, req->url);
	if (req->body != NULL || strcmp(method, "POST") == 0 ||
	    strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
		len = req->body == NULL ? 0 : req->body_len > 0 ?
		    req->body_len : strlen(req->body);
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS,
		    req->body != NULL ? req->body : "");
	} else if (strcmp(method, "HEAD") == 0)
		bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
	    strcmp(method, "HEAD") != 0)
		bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)x);
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)x);
	return bad ? -1 : 0;
}

/*
 * Ends x with an error, logged as "URL: what failed: why".
 * Returns nothing.
 */
static void
xfer_fail(struct xfer *x, enum http_error err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err(x->req->url != NULL ? x->req->url : "http", "%s", msg);
	x->resp->error = err;
	x->rc = -1;
	x->state = XF_DONE;
}

/*
 * Ends x with the response of its last try; the body is never NULL
 * then, even when empty.  Returns nothing.
 */
static void
xfer_succeed(struct xfer *x)
{
	struct http_resp *r = x->resp;

	if (r->body == NULL && (r->body = strdup("")) == NULL) {
		xfer_fail(x, HTTP_E_NOMEM, "cannot store the response: %s",
		    strerror(errno));
		return;
	}
	x->resp->error = HTTP_E_NONE;
	x->rc = 0;
	x->state = XF_DONE;
}

/* Returns the wall clock in ms, for dates and UNIX times from servers. */
static int64_t
real_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Reads Retry-After: delta seconds or an HTTP-date.
 * Returns the wait in ms (0 for a date already past), or -1 when the
 * header is missing or unreadable.
 */
static int64_t
retry_after_ms(const struct http_resp *r)
{
	const char *v, *errstr;
	long long secs;
	time_t when;

	if ((v = http_header(r, "Retry-After")) == NULL)
		return -1;
	secs = util_strtonum(v, 0, 24 * 3600, &errstr);
	if (errstr == NULL)
		return secs * 1000;
	if ((when = curl_getdate(v, NULL)) == -1)
		return -1;
	secs = (long long)when * 1000 - real_now_ms();
	return secs > 0 ? secs : 0;
}

/*
 * Reads RateLimit-Remaining and RateLimit-Reset.  A reset above 1e9
 * is a UNIX time, as Hetzner sends it; a smaller one is a delta in
 * seconds.  Returns the wait until the reset in ms, at most cap, or
 * -1 when requests remain or the reset is unknown.
 */
static int64_t
ratelimit_ms(const struct http_resp *r, int64_t cap)
{
	const char *rem, *reset, *errstr;
	long long v, wait;

	rem = http_header(r, "RateLimit-Remaining");
	reset = http_header(r, "RateLimit-Reset");
	if (rem == NULL || reset == NULL ||
	    util_strtonum(rem, 0, LLONG_MAX, &errstr) != 0 ||
	    errstr != NULL)
		return -1;
	v = util_strtonum(reset, 0, LLONG_MAX / 1000, &errstr);
	if (errstr != NULL)
		return -1;
	wait = v > 1000000000LL ? v * 1000 - real_now_ms() : v * 1000;
	if (wait < 0)
		wait = 0;
	return wait < cap ? wait : cap;
}

/*
 * Notes an exhausted rate limit, so that the client's next try,
 * whichever request it belongs to, waits for the reset.
 * Returns nothing.
 */
static void
pace_note(struct http_client *c, const struct http_resp *r)
{
	int64_t wait, until;

	if ((wait = ratelimit_ms(r, c->conf.backoff_cap_ms)) < 0)
		return;
	until = util_now_ms() + wait;
	if (until > c->pace_until)
		c->pace_until = until;
}

/*
 * Returns a random wait in [0, min(cap, base * 2^(tries - 1))]: full
 * jitter, so that clients that failed together do not come back
 * together.
 */
static int64_t
backoff_ms(const struct http_conf *conf, int tries)
{
	int64_t top = conf->backoff_base_ms;
	int i;

	for (i = 1; i < tries && top < conf->backoff_cap_ms; i++)
		top *= 2;
	if (top > conf->backoff_cap_ms)
		top = conf->backoff_cap_ms;
	return (int64_t)(util_random() % (uint64_t)(top + 1));
}

/* Returns whether a response with this status is worth another try. */
static int
retryable_status(long status)
{
	return status == 429 || status == 502 || status == 503 ||
	    status == 504;
}

/*
 * Returns whether a libcurl error is a connection that failed, timed
 * out or broke, worth another try.
 */
static int
retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

/* Returns the kind of error a failed try of x ended with. */
static enum http_error
curl_error_kind(const struct xfer *x, CURLcode rc)
{
	if (x->toobig || rc == CURLE_FILESIZE_EXCEEDED)
		return HTTP_E_TOOBIG;
	if (x->nomem)
		return HTTP_E_NOMEM;
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return HTTP_E_USAGE;
	case CURLE_OUT_OF_MEMORY:
		return HTTP_E_NOMEM;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
		return HTTP_E_TLS;
	default:
		return HTTP_E_CONNECT;
	}
}

/*
 * Notes how the last try ended, for messages: "HTTP 503" or
 * libcurl's own words.  Returns nothing.
 */
static void
note_outcome(struct xfer *x, CURLcode rc)
{
	if (rc == CURLE_OK)
		snprintf(x->last, sizeof(x->last), "HTTP %ld",
		    x->resp->status);
	else
		snprintf(x->last, sizeof(x->last), "%s",
		    x->errbuf[0] != '\0' ? x->errbuf :
		    curl_easy_strerror(rc));
}

/*
 * Ends x because the deadline came before its next try could.
 * Returns nothing.
 */
static void
xfer_fail_deadline(struct xfer *x)
{
	int n = x->resp->tries;

	if (n == 0)
		xfer_fail(x, HTTP_E_DEADLINE, "deadline passed before the "
		    "first try: waiting for the rate limit to reset");
	else
		xfer_fail(x, HTTP_E_DEADLINE, "deadline passed after %d "
		    "%s: last: %s", n, n == 1 ? "try" : "tries", x->last);
}

/*
 * Schedules the next try of x after wait ms, or later if the client
 * is pacing itself for a rate limit.  A wait that would reach the
 * deadline is not begun.  Returns the wait in ms, or -1 if it would
 * pass the deadline.
 */
static int64_t
xfer_schedule(struct xfer *x, int64_t wait)
{
	int64_t now = util_now_ms();

	if (x->c->pace_until - now > wait)
		wait = x->c->pace_until - now;
	if (wait > 0 && wait >= deadline_left_ms(&x->dl))
		return -1;
	x->wake = now + wait;
	x->state = XF_WAITING;
	return wait;
}

/*
 * After a retryable outcome: tries again after a backoff that honours
 * the server's hints, or gives up when tries or time run out.
 * Returns nothing.
 */
static void
xfer_retry(struct xfer *x, CURLcode rc)
{
	const struct http_conf *conf = &x->c->conf;
	struct http_resp *r = x->resp;
	int64_t wait, hint;

	/* A try cut short by the deadline is the deadline's fault. */
	if (rc != CURLE_OK && deadline_passed(&x->dl)) {
		xfer_fail_deadline(x);
		return;
	}
	if (r->tries >= conf->max_tries) {
		if (rc != CURLE_OK)
			xfer_fail(x, HTTP_E_CONNECT, "request failed after "
			    "%d tries: %s", r->tries, x->last);
		else {
			log_info(x->req->url, "%s: giving up after %d tries",
			    x->last, r->tries);
			xfer_succeed(x);
		}
		return;
	}
	wait = backoff_ms(conf, r->tries);
	if ((hint = retry_after_ms(r)) < 0)
		hint = ratelimit_ms(r, conf->backoff_cap_ms);
	if (hint > wait)
		wait = hint;
	if ((wait = xfer_schedule(x, wait)) < 0) {
		xfer_fail_deadline(x);
		return;
	}
	log_info(x->req->url, "%s: retrying in %.1f s (try %d of %d)",
	    x->last, wait / 1000.0, r->tries + 1, conf->max_tries);
}

/* Traces a finished try at -vv.  Returns nothing. */
static void
trace_response(const struct xfer *x)
{
	const struct http_resp *r = x->resp;

	if (log_verbosity < 2)
		return;
	log_trace(x->req->url, "HTTP %ld, %zu bytes", r->status, r->len);
	if (r->len > 0 && x->req->secret_bodies)
		log_trace(x->req->url, "response body: not shown (secret)");
	else if (r->len > 0)
		log_trace_data(x->req->url, "response body", r->body, r->len);
}

/*
 * Decides what a finished try of x leads to: the end of the request,
 * or another try.  Returns nothing.
 */
static void
try_done(struct xfer *x, CURLcode rc)
{
	struct http_resp *r = x->resp;
	enum http_error err;

	if (rc == CURLE_OK)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE,
		    &r->status);
	else
		r->status = 0;
	note_outcome(x, rc);
	if (rc == CURLE_OK) {
		trace_response(x);
		pace_note(x->c, r);
		if (retryable_status(r->status))
			xfer_retry(x, rc);
		else
			xfer_succeed(x);
		return;
	}
	err = curl_error_kind(x, rc);
	if (err == HTTP_E_CONNECT && retryable_curl(rc)) {
		xfer_retry(x, rc);
		return;
	}
	if (err == HTTP_E_TOOBIG)
		xfer_fail(x, err, "response refused: body over %zu bytes",
		    x->c->conf.max_body);
	else
		xfer_fail(x, err, "%s: %s", http_strerror(err), x->last);
}

/* Empties the response of x for a new try.  Returns nothing. */
static void
resp_reset(struct xfer *x)
{
	struct http_resp *r = x->resp;

	headers_clear(r);
	r->len = 0;
	if (r->body != NULL)
		r->body[0] = '\0';
	r->status = 0;
	x->toobig = x->nomem = 0;
	x->errbuf[0] = '\0';
}

/* Traces a try about to start at -vv.  Returns nothing. */
static void
trace_request(const struct xfer *x)
{
	const struct http_req *req = x->req;

	if (log_verbosity < 2)
		return;
	log_trace(req->url, "%s %s (try %d of %d)", req_method(req),
	    req->url, x->resp->tries, x->c->conf.max_tries);
	if (req->body != NULL && req->secret_bodies)
		log_trace(req->url, "request body: not shown (secret)");
	else if (req->body != NULL)
		log_trace_data(req->url, "request body", req->body,
		    req->body_len > 0 ? req->body_len : strlen(req->body));
}

/*
 * Checks whether a try of x may start now: not past the deadline,
 * and not while the client waits for a rate limit to reset (which a
 * response to another request may have started since x was
 * scheduled).  Returns 1 if it may, or 0 with x done or waiting.
 */
static int
try_may_start(struct xfer *x)
{
	int64_t wait;

	if (deadline_left_ms(&x->dl) <= 0) {
		xfer_fail_deadline(x);
		return 0;
	}
	if (x->c->pace_until <= util_now_ms())
		return 1;
	if ((wait = xfer_schedule(x, 0)) < 0)
		xfer_fail_deadline(x);
	else
		log_info(x->req->url, "rate limit reached: waiting %.1f s",
		    wait / 1000.0);
	return 0;
}

/*
 * Starts a try of x, bounded by what is left of the deadline.
 * Returns nothing; x is running, waiting or done afterwards.
 */
static void
try_start(struct xfer *x)
{
	int64_t left, limit = x->c->conf.try_timeout_ms;
	struct http_resp *r = x->resp;
	CURLMcode mc;

	if (!try_may_start(x))
		return;
	left = deadline_left_ms(&x->dl);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS,
	    (long)(left < limit ? left : limit));
	resp_reset(x);
	r->tries++;
	trace_request(x);
	if ((mc = curl_multi_add_handle(x->c->multi, x->easy)) !=
	    CURLM_OK) {
		xfer_fail(x, HTTP_E_NOMEM, "cannot start the request: %s",
		    curl_multi_strerror(mc));
		return;
	}
	x->state = XF_RUNNING;
}

/*
 * Readies x for its first try, due at once.
 * Returns nothing; x is waiting or done afterwards.
 */
static void
xfer_init(struct xfer *x, struct http_client *c,
    const struct http_req *req, struct http_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	x->c = c;
	x->req = req;
	x->resp = resp;
	deadline_set(&x->dl, c->conf.deadline_ms);
	/* A caller's deadline for a whole phase ends the request too. */
	if (req->deadline != NULL && req->deadline->at_ms != 0 &&
	    req->deadline->at_ms < x->dl.at_ms)
		x->dl = *req->deadline;
	if (req->url == NULL) {
		xfer_fail(x, HTTP_E_USAGE, "request has no URL");
		return;
	}
	if ((x->easy = curl_easy_init()) == NULL ||
	    headers_build(x) == -1 || easy_setup_conn(x) == -1 ||
	    easy_setup_req(x) == -1) {
		xfer_fail(x, HTTP_E_NOMEM, "cannot set up the request");
		return;
	}
	x->state = XF_WAITING;
	x->wake = util_now_ms();
}

/* Frees what x holds but not its response.  Returns nothing. */
static void
xfer_cleanup(struct xfer *x)
{
	if (x->easy != NULL) {
		if (x->state == XF_RUNNING)
			curl_multi_remove_handle(x->c->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	slist_free_secret(x->hdrs);
}

/*
 * Hands every finished try to try_done.  The message is read before
 * the handle is removed, which would invalidate it.
 * Returns nothing.
 */
static void
collect(struct http_client *c)
{
	CURLMsg *m;
	CURLcode rc;
	CURL *e;
	char *p;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		e = m->easy_handle;
		rc = m->data.result;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &p);
		curl_multi_remove_handle(c->multi, e);
		try_done((struct xfer *)(void *)p, rc);
	}
}

/*
 * Starts the waiting transfers whose time has come and counts those
 * running.  Returns the earliest wake time of those still waiting,
 * or INT64_MAX if none is.
 */
static int64_t
start_due(struct xfer *xs, size_t n, int *running)
{
	int64_t now = util_now_ms(), next = INT64_MAX;
	size_t i;

	*running = 0;
	for (i = 0; i < n; i++) {
		if (xs[i].state == XF_WAITING && xs[i].wake <= now)
			try_start(&xs[i]);
		if (xs[i].state == XF_RUNNING)
			(*running)++;
		else if (xs[i].state == XF_WAITING && xs[i].wake < next)
			next = xs[i].wake;
	}
	return next;
}

/*
 * Ends every transfer not yet done, after libcurl itself failed.
 * Returns nothing.
 */
static void
fail_all(struct xfer *xs, size_t n, CURLMcode mc)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (xs[i].state == XF_RUNNING)
			curl_multi_remove_handle(xs[i].c->multi, xs[i].easy);
		if (xs[i].state != XF_DONE)
			xfer_fail(&xs[i], HTTP_E_NOMEM, "libcurl failed: %s",
			    curl_multi_strerror(mc));
	}
}

/*
 * Runs the transfers until all are done: running ones make progress
 * while waiting ones sleep out their backoff.  Returns nothing.
 */
static void
run(struct http_client *c, struct xfer *xs, size_t n)
{
	int64_t next, wait;
	int running, still;
	CURLMcode mc;

	for (;;) {
		next = start_due(xs, n, &running);
		if (running > 0) {
			if ((mc = curl_multi_perform(c->multi, &still)) !=
			    CURLM_OK) {
				fail_all(xs, n, mc);
				return;
			}
			collect(c);
			next = start_due(xs, n, &running);
		}
		if (running == 0 && next == INT64_MAX)
			return;
		wait = next == INT64_MAX ? POLL_MAX_MS : next - util_now_ms();
		wait = wait < 0 ? 0 : wait > POLL_MAX_MS ? POLL_MAX_MS : wait;
		if (running > 0)
			curl_multi_poll(c->multi, NULL, 0, (int)wait, NULL);
		else
			util_sleep_ms(wait);
	}
}

/*
 * Sends one request.  resp is filled in and must be freed with
 * http_resp_free whatever happens.  Returns 0 when a response was
 * received, whatever its status (a retryable status is returned once
 * the tries run out), or -1 with resp->error set, after logging.
 */
int
http_request(struct http_client *c, const struct http_req *req,
    struct http_resp *resp)
{
	return http_request_many(c, req, resp, 1);
}

/*
 * Sends n requests at once, each with its own tries and deadline.
 * Returns 0 when every request got a response, or -1 if any failed
 * (see each resp->error), after logging.
 */
int
http_request_many(struct http_client *c, const struct http_req *reqs,
    struct http_resp *resps, size_t n)
{
	struct xfer *xs;
	size_t i;
	int rc = 0;

	if (n == 0)
		return 0;
	if ((xs = calloc(n, sizeof(*xs))) == NULL) {
		log_errno("http", "cannot start %zu requests", n);
		for (i = 0; i < n; i++) {
			memset(&resps[i], 0, sizeof(resps[i]));
			resps[i].error = HTTP_E_NOMEM;
		}
		return -1;
	}
	for (i = 0; i < n; i++)
		xfer_init(&xs[i], c, &reqs[i], &resps[i]);
	run(c, xs, n);
	for (i = 0; i < n; i++) {
		if (xs[i].rc == -1)
			rc = -1;
		xfer_cleanup(&xs[i]);
	}
	free(xs);
	return rc;
}

/*
 * Looks up a header of the response's last try, ignoring case.
 * Returns its trimmed value, or NULL if it is absent.
 */
const char *
http_header(const struct http_resp *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nhdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			return r->hdrs[i].value;
	return NULL;
}

/* Frees what r holds and empties it.  Returns nothing. */
void
http_resp_free(struct http_resp *r)
{
	if (r == NULL)
		return;
	headers_clear(r);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Returns a short lower-case description of err. */
const char *
http_strerror(enum http_error err)
{
	if ((unsigned)err >= HTTP_E__MAX)
		return "unknown error";
	return http_errors[err];
}

/*
 * Maps an error to the exit status contract in mkprov.h.  It is
 * asked once something failed, so HTTP_E_NONE (a response with a bad
 * status) is a failure too.  Returns an MKP_EXIT_* value.
 */
int
http_exit_status(enum http_error err)
{
	switch (err) {
	case HTTP_E_DEADLINE:
		return MKP_EXIT_DEADLINE;
	case HTTP_E_USAGE:
	case HTTP_E_TOKEN:
		return MKP_EXIT_USAGE;
	default:
		return MKP_EXIT_FAIL;
	}
}

/*
 * Percent-encode s for a URL's query or path.  Returns a copy to be
 * freed with free(3), or NULL on ENOMEM (logged).
 */
char *
http_escape(const char *s)
{
	char	*e, *copy;

	if ((e = curl_easy_escape(NULL, s, 0)) == NULL) {
		log_err(s, "cannot percent-encode");
		return NULL;
	}
	copy = strdup(e);
	curl_free(e);
	if (copy == NULL)
		log_errno(s, "cannot percent-encode");
	return copy;
}
