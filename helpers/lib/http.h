/*
 * http.h: HTTPS requests with libcurl, as mkprov makes them: TLS
 * verification always on (an extra CA file for the sandbox), no proxy
 * unless one is configured, bearer tokens from the environment or a
 * file (never argv), bounded retries with full-jitter backoff that
 * honour Retry-After and RateLimit-*, one overall deadline, and a cap
 * on the size of a response.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum http_error {
	HTTP_E_NONE = 0,
	HTTP_E_CONNECT,		/* DNS, refused, reset, timeout of a try */
	HTTP_E_TLS,		/* certificate or handshake refused */
	HTTP_E_DEADLINE,	/* the overall deadline passed */
	HTTP_E_TOOBIG,		/* the body passed max_body */
	HTTP_E_TOKEN,		/* the token could not be read */
	HTTP_E_USAGE,		/* a bad URL or option */
	HTTP_E_NOMEM,
	HTTP_E__MAX
};

struct http_conf {
	const char	*cafile;	/* trusted besides the system's */
	const char	*proxy;		/* NULL: never use a proxy */
	const char	*token_env;	/* variable holding a token, */
	const char	*token_file;	/* else a file holding one */
	const char	*token_key;	/* the file is .env: this key */
	const char	*token;		/* else one the caller holds */
	const char	*const *resolve; /* CURLOPT_RESOLVE entries */
	long		 connect_timeout_ms;	/* per try; 0: 10 s */
	long		 try_timeout_ms;	/* per try; 0: 60 s */
	int64_t		 deadline_ms;	/* all tries; 0: 5 min */
	int		 max_tries;	/* 0: 8 */
	long		 backoff_base_ms; /* 0: 500 */
	long		 backoff_cap_ms;  /* 0: 30 s */
	size_t		 max_body;	/* 0: 16 MiB */
};

struct http_req {
	const char	*method;	/* NULL: GET, or POST with body */
	const char	*url;
	const char	*const *headers; /* NULL-terminated, or NULL */
	const char	*body;		/* JSON; sets Content-Type */
	size_t		 body_len;	/* 0: strlen(body) */
	/*
	 * The bodies carry secrets not yet known to the log (a token
	 * in the answer, a private key in the request): -vv names them
	 * but never shows them.
	 */
	int		 secret_bodies;
	/*
	 * A deadline the caller keeps for more than this request (a
	 * whole phase, say): the request's tries end by it, or by the
	 * conf's deadline_ms if that comes first.  NULL: only the latter.
	 */
	const struct deadline *deadline;
};

struct http_header {
	char	*name;
	char	*value;
};

struct http_resp {
	long			 status;
	char			*body;	/* NUL-terminated */
	size_t			 len;
	struct http_header	*hdrs;	/* of the last try */
	size_t			 nhdrs;
	int			 tries;
	enum http_error		 error;
};

struct http_client;

struct http_client *http_new(const struct http_conf *);
void	 http_free(struct http_client *);
int	 http_request(struct http_client *, const struct http_req *,
	    struct http_resp *);
int	 http_request_many(struct http_client *, const struct http_req *,
	    struct http_resp *, size_t n);
const char *http_header(const struct http_resp *, const char *name);
void	 http_resp_free(struct http_resp *);
char	*http_escape(const char *);
const char *http_strerror(enum http_error);
int	 http_exit_status(enum http_error);

#endif
