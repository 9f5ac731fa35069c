/*
 * ssh.c: SSH sessions, commands, uploads and pipes over libssh2.
 *
 * Every session runs in non-blocking mode.  A libssh2 call that would
 * block returns LIBSSH2_ERROR_EAGAIN and we poll() the socket in the
 * directions libssh2 names.  That gives one place where deadlines,
 * the connect timeout and keepalives are kept, and lets ssh_pipe()
 * drive two sessions in one loop.
 *
 * The host key is checked right after the key exchange and before
 * any authentication: a key that is neither the pinned fingerprint
 * nor in the known_hosts file given closes the session.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "log.h"
#include "mkprov.h"
#include "ssh.h"
#include "util.h"

#define CONNECT_TIMEOUT_MS	10000
#define KEEPALIVE_S		15
#define GOODBYE_MS		2000	/* for a polite disconnect */
#define IO_CHUNK		(32 * 1024)
#define STDIN_RING		(64 * 1024)
#define PIPE_RING		(256 * 1024)
#define READ_BURST		(1024 * 1024)	/* a channel, a turn */
#define LINE_LEN		512
#define ERR_LINE_MAX		8192	/* of a stderr line passed on */
#define NAME_LEN		300
#define NO_LIMIT		INT64_MAX
#define WAIT_MAX		8

/*
 * ed25519 first, so that a server with several host keys shows the
 * one people pin.  ssh-rsa (SHA-1) is left out, as OpenSSH 9 leaves
 * it out.  libssh2 1.10 knows no rsa-sha2-* host keys and drops those
 * names, so a server with only an RSA key cannot be reached with it;
 * a later libssh2 uses them.
 */
#define HOSTKEY_PREFS	"ssh-ed25519,ecdsa-sha2-nistp256," \
	"ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," \
	"rsa-sha2-512,rsa-sha2-256"

struct ssh_conn {
	LIBSSH2_SESSION	*session;
	int		 fd;
	int		 port;
	int		 dead;		/* only ssh_close() is left */
	enum ssh_error	 err;
	const struct deadline *deadline;
	int64_t		 limit_at;	/* connect timeout, or 0 */
	long		 limit_ms;
	int		 keepalive_s;	/* 0 until authenticated */
	int64_t		 keepalive_at;
	const char	*doing;		/* for timeout messages */
	char		 name[NAME_LEN];	/* "host:port": subject */
	char		 who[NAME_LEN + 72];	/* "user@host:port" */
	char		 khname[NAME_LEN];	/* known_hosts form */
	char		 fp[64];		/* "SHA256:..." */
	char		 lastline[LINE_LEN];	/* of stderr */
};

/* Bytes between a producer and a consumer, in a circle. */
struct ring {
	char	*buf;
	size_t	 size;
	size_t	 head;
	size_t	 len;
	int	 done;		/* the producer has no more */
	int	 closed;	/* the consumer wants no more */
};

/* A growing buffer that refuses to pass max bytes. */
struct sbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
};

enum sink {
	SINK_DISCARD,
	SINK_FD,
	SINK_CAPTURE,
	SINK_RING
};

enum run_state {
	RUN_IO,			/* output and input flowing */
	RUN_WAIT_CLOSE,		/* all read: await the server's close */
	RUN_CLOSE,		/* send ours */
	RUN_FREE,
	RUN_DONE
};

/* One remote command on its own channel, and where its bytes go. */
struct run {
	struct ssh_conn	*c;
	LIBSSH2_CHANNEL	*ch;
	enum run_state	 state;
	enum sink	 sink;		/* for stdout */
	int		 out_fd;
	struct sbuf	*cap;
	struct ring	*out;
	int		 err_fd;	/* -1: stderr's last line kept */
	int		 err_log;	/* log stderr lines */
	int		 in_fd;		/* -1: from in, or none */
	int		 in_ready;	/* poll() saw in_fd readable */
	int		 in_slot;
	struct ring	*in;		/* NULL: no stdin */
	int		 eof_sent;
	int		 eof;		/* its stdout, stderr ended */
	int		 cut;		/* we ended it early */
	int		 over;		/* capture passed its max */
	uint64_t	 fed;		/* bytes sent to its stdin */
	int		 status;
	char		 line[ERR_LINE_MAX + 1];	/* of stderr */
	size_t		 linelen;
	size_t		 linecut;	/* bytes of it not kept */
};

struct waitset {
	struct pollfd	 pfd[WAIT_MAX];
	nfds_t		 n;
	int64_t		 timeout;
};

static const char *const ssh_errors[] = {
	[SSH_E_NONE] = "no error",
	[SSH_E_CONNECT] = "connection failed",
	[SSH_E_HOSTKEY] = "host key not trusted",
	[SSH_E_AUTH] = "authentication failed",
	[SSH_E_CHANNEL] = "command or transfer failed",
	[SSH_E_DEADLINE] = "deadline passed",
	[SSH_E_USAGE] = "usage or configuration error",
	[SSH_E_NOMEM] = "out of memory",
};
_Static_assert(sizeof(ssh_errors) / sizeof(ssh_errors[0]) == SSH_E__MAX,
    "ssh_errors must name every enum ssh_error");

static const int ssh_exits[] = {
	[SSH_E_NONE] = MKP_EXIT_OK,
	[SSH_E_CONNECT] = MKP_EXIT_FAIL,
	[SSH_E_HOSTKEY] = MKP_EXIT_VERIFY,
	[SSH_E_AUTH] = MKP_EXIT_FAIL,
	[SSH_E_CHANNEL] = MKP_EXIT_FAIL,
	[SSH_E_DEADLINE] = MKP_EXIT_DEADLINE,
	[SSH_E_USAGE] = MKP_EXIT_USAGE,
	[SSH_E_NOMEM] = MKP_EXIT_FAIL,
};
_Static_assert(sizeof(ssh_exits) / sizeof(ssh_exits[0]) == SSH_E__MAX,
    "ssh_exits must map every enum ssh_error");

/* The names RFC 4254 sends in "exit-signal", as local numbers. */
static const struct {
	const char	*name;
	int		 number;
} signals[] = {
	{ "ABRT", SIGABRT }, { "ALRM", SIGALRM }, { "FPE", SIGFPE },
	{ "HUP", SIGHUP }, { "ILL", SIGILL }, { "INT", SIGINT },
	{ "KILL", SIGKILL }, { "PIPE", SIGPIPE }, { "QUIT", SIGQUIT },
	{ "SEGV", SIGSEGV }, { "TERM", SIGTERM }, { "USR1", SIGUSR1 },
	{ "USR2", SIGUSR2 },
};

/*
 * Record an error on the connection and report it with the
 * connection as the subject.  Returns -1, for "return conn_fail()".
 */
static int __attribute__((format(printf, 3, 4)))
conn_fail(struct ssh_conn *c, enum ssh_error e, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->err = e;
	log_err(c->name, "%s", msg);
	return -1;
}

/*
 * libssh2's own words for its last error on this session.  Returns a
 * string that lives until the next libssh2 call.
 */
static const char *
conn_why(struct ssh_conn *c)
{
	char *msg = NULL;

	if (c->session == NULL)
		return "no session";
	libssh2_session_last_error(c->session, &msg, NULL, 0);
	return msg != NULL && *msg != '\0' ? msg : "unknown error";
}

/*
 * Give up on the connection: shutting the socket down makes every
 * later libssh2 call on it fail at once instead of waiting, so the
 * session can still be freed.  Returns nothing.
 */
static void
conn_kill(struct ssh_conn *c)
{
	c->dead = 1;
	if (c->fd != -1)
		shutdown(c->fd, SHUT_RDWR);
}

/*
 * Whether a libssh2 error code leaves the session unusable.  Refusals
 * of a request are not: the transport is still in step.  Returns 1
 * or 0.
 */
static int
lib_fatal(int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_CHANNEL_FAILURE:
	case LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED:
	case LIBSSH2_ERROR_REQUEST_DENIED:
	case LIBSSH2_ERROR_SFTP_PROTOCOL:
	case LIBSSH2_ERROR_FILE:
	case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
	case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
	case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
		return 0;
	default:
		return 1;
	}
}

/*
 * Report a failed libssh2 call made while doing "what", and kill the
 * connection when the failure broke the transport.  Returns -1.
 */
static int
lib_fail(struct ssh_conn *c, int rc, const char *what)
{
	conn_fail(c, SSH_E_CHANNEL, "%s: %s", what, conn_why(c));
	if (lib_fatal(rc))
		conn_kill(c);
	return -1;
}

/*
 * Tell how long the connection may still wait: until the deadline or
 * the connect timeout, whichever comes first.  Returns the
 * milliseconds left, never below 0, or NO_LIMIT when neither is set;
 * *by_deadline is 1 when the deadline is the nearer, else 0.
 */
static int64_t
conn_left_ms(const struct ssh_conn *c, int *by_deadline)
{
	int64_t now, left = NO_LIMIT;

	now = util_now_ms();
	*by_deadline = 0;
	if (c->limit_at != 0)
		left = c->limit_at - now;
	if (c->deadline != NULL && c->deadline->at_ms != 0 &&
	    c->deadline->at_ms - now <= left) {
		left = c->deadline->at_ms - now;
		*by_deadline = 1;
	}
	return left < 0 ? 0 : left;
}

/*
 * Report that time ran out and give the connection up: libssh2 may be
 * half way through a packet and cannot be resumed later.  Returns -1.
 */
static int
conn_expire(struct ssh_conn *c, int by_deadline)
{
	conn_kill(c);
	if (by_deadline)
		return conn_fail(c, SSH_E_DEADLINE,
		    "deadline passed while %s", c->doing);
	return conn_fail(c, SSH_E_CONNECT, "%s: timed out after %ld ms",
	    c->doing, c->limit_ms);
}

/*
 * Send a keepalive when one is due.  libssh2 1.10 cannot finish a
 * keepalive it sent only in part (the next packet then fails with
 * LIBSSH2_ERROR_BAD_USE), so one goes out only when no packet is half
 * sent and the socket has room.  Otherwise bytes are on their way
 * anyway, and the keepalive waits a whole interval (a due keepalive
 * would keep the poll timeout at 0).  Returns 0, or -1 when it
 * failed.
 */
static int
conn_keepalive(struct ssh_conn *c)
{
	struct pollfd p;
	int next = 0, rc;

	if (c->keepalive_s == 0 || c->dead ||
	    util_now_ms() < c->keepalive_at)
		return 0;
	p.fd = c->fd;
	p.events = POLLOUT;
	p.revents = 0;
	if ((libssh2_session_block_directions(c->session) &
	    LIBSSH2_SESSION_BLOCK_OUTBOUND) || poll(&p, 1, 0) != 1 ||
	    !(p.revents & POLLOUT)) {
		c->keepalive_at = util_now_ms() +
		    (int64_t)c->keepalive_s * 1000;
		return 0;
	}
	rc = libssh2_keepalive_send(c->session, &next);
	if (rc != 0 && rc != LIBSSH2_ERROR_EAGAIN)
		return lib_fail(c, rc, "sending a keepalive");
	if (next <= 0)
		next = c->keepalive_s;
	c->keepalive_at = util_now_ms() + (int64_t)next * 1000;
	return 0;
}

/*
 * After each wait: end the connection when its time is up, or keep
 * it alive.  Returns 0, or -1 when it failed.
 */
static int
conn_tick(struct ssh_conn *c)
{
	int by_deadline;

	if (c->dead)
		return conn_fail(c, SSH_E_CHANNEL, "connection lost");
	if (conn_left_ms(c, &by_deadline) == 0)
		return conn_expire(c, by_deadline);
	return conn_keepalive(c);
}

/* Start an empty set of descriptors to poll.  Returns nothing. */
static void
wait_init(struct waitset *w)
{
	w->n = 0;
	w->timeout = NO_LIMIT;
}

/* Add a descriptor.  Returns its slot, for reading revents back. */
static int
wait_add(struct waitset *w, int fd, short events)
{
	int slot = (int)w->n++;

	w->pfd[slot].fd = fd;
	w->pfd[slot].events = events;
	w->pfd[slot].revents = 0;
	return slot;
}

/*
 * Add a session's socket: for reading when "in" is set or libssh2
 * waits for input, for writing when libssh2 is stuck sending.  A
 * negative fd makes poll() skip it but still count its timeouts.
 * Returns nothing.
 */
static void
wait_add_conn(struct waitset *w, struct ssh_conn *c, int in)
{
	int dir, by_deadline;
	short ev = 0;
	int64_t left;

	dir = libssh2_session_block_directions(c->session);
	if (in)
		ev |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		ev |= POLLOUT;
	wait_add(w, ev != 0 ? c->fd : -1, ev);
	left = conn_left_ms(c, &by_deadline);
	if (c->keepalive_s > 0 && c->keepalive_at - util_now_ms() < left)
		left = c->keepalive_at - util_now_ms();
	if (left < w->timeout)
		w->timeout = left < 0 ? 0 : left;
}

/*
 * Poll the set, at once when "now" is set (something moved and more
 * may be ready).  Returns what poll() returned, 0 when interrupted.
 */
static int
wait_poll(struct waitset *w, int now)
{
	int timeout, n;

	if (now)
		timeout = 0;
	else if (w->timeout == NO_LIMIT)
		timeout = -1;
	else
		timeout = w->timeout > INT_MAX ? INT_MAX : (int)w->timeout;
	n = poll(w->pfd, w->n, timeout);
	if (n == -1 && errno == EINTR)
		return 0;
	return n;
}

/*
 * Wait until libssh2 can go on with the call that said EAGAIN.
 * Returns 0, or -1 when the time ran out or poll() failed.
 */
static int
conn_wait(struct ssh_conn *c)
{
	struct waitset w;
	int dir;

	dir = libssh2_session_block_directions(c->session);
	wait_init(&w);
	wait_add_conn(&w, c, (dir & LIBSSH2_SESSION_BLOCK_INBOUND) ||
	    !(dir & LIBSSH2_SESSION_BLOCK_OUTBOUND));
	if (wait_poll(&w, 0) == -1) {
		conn_kill(c);
		return conn_fail(c, SSH_E_CHANNEL, "poll: %s",
		    strerror(errno));
	}
	return conn_tick(c);
}

/*
 * Base64 without padding, as ssh-keygen prints fingerprints.  out
 * needs 4 * len / 3 + 2 bytes.  Returns nothing.
 */
static void
b64_nopad(const unsigned char *in, size_t len, char *out)
{
	static const char set[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t v = 0;
	size_t i;
	int bits = 0;

	for (i = 0; i < len; i++) {
		v = v << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = set[(v >> bits) & 63];
		}
	}
	if (bits > 0)
		*out++ = set[(v << (6 - bits)) & 63];
	*out = '\0';
}

/*
 * Check where to connect.  Returns the number of problems reported.
 */
static int
conf_check_address(const struct ssh_conf *conf, const char *subject)
{
	int bad = 0;

	if (conf->host == NULL || *conf->host == '\0') {
		log_err(subject, "no host given");
		bad++;
	}
	if (conf->port < 0 || conf->port > 65535) {
		log_err(subject, "port %d: out of range", conf->port);
		bad++;
	}
	return bad;
}

/*
 * Check what vouches for the server and for us.  Returns the number
 * of problems reported.
 */
static int
conf_check_keys(const struct ssh_conf *conf, const char *subject)
{
	const char *fp = conf->fingerprint;
	int bad = 0;

	if (fp == NULL && conf->known_hosts == NULL) {
		log_err(subject, "no pinned host key: set a fingerprint or "
		    "known_hosts");
		bad++;
	}
	if (fp != NULL && (strncmp(fp, "SHA256:", 7) != 0 ||
	    strlen(fp) < 7 + 43)) {
		log_err(subject, "fingerprint %s: not of the form "
		    "SHA256:base64", fp);
		bad++;
	}
	if (conf->key_file != NULL && access(conf->key_file, R_OK) == -1) {
		log_errno(conf->key_file, "cannot read the key");
		bad++;
	}
	return bad;
}

/*
 * Check the configuration before touching the network, reporting
 * every problem found, not just the first.  Returns 0 or -1.
 */
static int
conf_check(const struct ssh_conf *conf, const char *subject)
{
	int bad;

	bad = conf_check_address(conf, subject);
	bad += conf_check_keys(conf, subject);
	return bad > 0 ? -1 : 0;
}

/*
 * Make a connection object named after the configuration; nothing
 * is opened yet.  Returns it, or NULL with *errp set.
 */
static struct ssh_conn *
conn_new(const struct ssh_conf *conf, enum ssh_error *errp)
{
	struct ssh_conn *c;
	const char *host = conf->host != NULL ? conf->host : "";

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_errno("ssh", "cannot allocate a connection");
		*errp = SSH_E_NOMEM;
		return NULL;
	}
	c->fd = -1;
	c->port = conf->port != 0 ? conf->port : 22;
	/* An IPv6 address is bracketed, as ssh(1) writes it. */
	if (strchr(host, ':') != NULL)
		snprintf(c->name, sizeof(c->name), "[%s]:%d", host, c->port);
	else
		snprintf(c->name, sizeof(c->name), "%s:%d", host, c->port);
	snprintf(c->who, sizeof(c->who), "%.64s@%s",
	    conf->user != NULL ? conf->user : "root", c->name);
	/* known_hosts names a host on port 22 without the port. */
	if (c->port == 22)
		snprintf(c->khname, sizeof(c->khname), "%s", host);
	else
		snprintf(c->khname, sizeof(c->khname), "[%s]:%d", host,
		    c->port);
	c->deadline = conf->deadline;
	c->limit_ms = conf->connect_timeout_ms > 0 ?
	    conf->connect_timeout_ms : CONNECT_TIMEOUT_MS;
	c->limit_at = util_now_ms() + c->limit_ms;
	return c;
}

/*
 * Connect to one address, waiting no longer than the connection may.
 * Returns the socket, -1 with errno set when this address failed, or
 * -2 when the time ran out.
 */
static int
try_connect(struct ssh_conn *c, const struct addrinfo *ai)
{
	struct pollfd p;
	socklen_t len = sizeof(int);
	int fd, n, err = 0, by_deadline;
	int64_t left;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	p.fd = fd;
	p.events = POLLOUT;
	do {
		left = conn_left_ms(c, &by_deadline);
		n = left == 0 ? 0 : poll(&p, 1, left > INT_MAX ? INT_MAX :
		    (int)left);
	} while (n == -1 && errno == EINTR);
	if (n == 0) {
		close(fd);
		return -2;
	}
	if (n == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		goto fail;
	if (err == 0)
		return fd;
	errno = err;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/*
 * Open the TCP connection, trying each address of the host in turn.
 * Name lookup itself blocks: getaddrinfo() takes no timeout.  Returns
 * 0, or -1 reported.
 */
static int
conn_connect(struct ssh_conn *c, const char *host)
{
	struct addrinfo hints, *res, *ai;
	char port[16];
	int fd = -1, rc, err = 0, one = 1, by_deadline;

	c->doing = "connecting";
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", c->port);
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return conn_fail(c, SSH_E_CONNECT, "cannot resolve: %s",
		    gai_strerror(rc));
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		if ((fd = try_connect(c, ai)) == -1)
			err = errno;
	freeaddrinfo(res);
	if (fd == -2) {
		conn_left_ms(c, &by_deadline);
		return conn_expire(c, by_deadline);
	}
	if (fd == -1)
		return conn_fail(c, SSH_E_CONNECT, "cannot connect: %s",
		    strerror(err));
	c->fd = fd;
	/* Small packets (window adjustments, requests) must not wait. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/*
 * Start the SSH session on the connected socket: banner and key
 * exchange.  Returns 0, or -1 reported.
 */
static int
conn_handshake(struct ssh_conn *c)
{
	int rc;

	if ((c->session = libssh2_session_init()) == NULL)
		return conn_fail(c, SSH_E_NOMEM, "cannot start a session");
	libssh2_session_set_blocking(c->session, 0);
	rc = libssh2_session_method_pref(c->session, LIBSSH2_METHOD_HOSTKEY,
	    HOSTKEY_PREFS);
	if (rc != 0)
		return conn_fail(c, SSH_E_CONNECT, "host key algorithms: %s",
		    conn_why(c));
	c->doing = "exchanging keys";
	while ((rc = libssh2_session_handshake(c->session, c->fd)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(c) == -1)
			return -1;
	if (rc != 0) {
		conn_kill(c);
		return conn_fail(c, SSH_E_CONNECT, "handshake failed: %s",
		    conn_why(c));
	}
	return 0;
}

/*
 * Compare the server's key with the pinned fingerprint; padding '='
 * in the pin is forgiven.  Returns 0 on a match, or -1 reported.
 */
static int
check_pin(struct ssh_conn *c, const char *pin)
{
	size_t len = strlen(pin);

	while (len > 0 && pin[len - 1] == '=')
		len--;
	if (strlen(c->fp) == len && strncmp(c->fp, pin, len) == 0)
		return 0;
	return conn_fail(c, SSH_E_HOSTKEY, "host key %s does not match the "
	    "pinned %.*s: refusing to connect", c->fp, (int)len, pin);
}

/*
 * Map a libssh2 host key type to its known_hosts key type.  Returns
 * the LIBSSH2_KNOWNHOST_KEY_* value, or LIBSSH2_KNOWNHOST_KEY_UNKNOWN
 * for a type libssh2 cannot look up.
 */
static int
known_keytype(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS:
		return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
	default:
		return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

/*
 * Look the server's key up in a known_hosts file.  The name is passed
 * ready-made ("[addr]:port") with no port, because given a port
 * libssh2 also accepts an entry for the bare address, which OpenSSH
 * would not.  libssh2 refuses a whole file with a line it cannot
 * parse (a @cert-authority, an sk- key).  Returns a
 * LIBSSH2_KNOWNHOST_CHECK_* value, or -1 reported.
 */
static int
known_lookup(struct ssh_conn *c, const char *file)
{
	LIBSSH2_KNOWNHOSTS *hosts;
	const char *key;
	size_t len;
	int type, rc;

	if (access(file, R_OK) == -1) {
		c->err = SSH_E_USAGE;
		log_errno(file, "cannot read known hosts");
		return -1;
	}
	if ((hosts = libssh2_knownhost_init(c->session)) == NULL)
		return conn_fail(c, SSH_E_NOMEM, "known hosts: %s",
		    conn_why(c));
	if (libssh2_knownhost_readfile(hosts, file,
	    LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		c->err = SSH_E_USAGE;
		log_err(file, "cannot read known hosts: %s", conn_why(c));
		libssh2_knownhost_free(hosts);
		return -1;
	}
	key = libssh2_session_hostkey(c->session, &len, &type);
	rc = key == NULL ? LIBSSH2_KNOWNHOST_CHECK_FAILURE :
	    libssh2_knownhost_checkp(hosts, c->khname, -1, key, len,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	    known_keytype(type), NULL);
	libssh2_knownhost_free(hosts);
	return rc;
}

/*
 * Check the server's key against a known_hosts file.  Returns 0 when
 * the file holds it for this host, or -1 reported.
 */
static int
check_known(struct ssh_conn *c, const char *file)
{
	switch (known_lookup(c, file)) {
	case -1:
		return -1;
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		return conn_fail(c, SSH_E_HOSTKEY, "host key %s does not "
		    "match the one in %s: refusing to connect", c->fp, file);
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		return conn_fail(c, SSH_E_HOSTKEY, "host key %s is not in "
		    "%s: refusing to connect", c->fp, file);
	default:
		return conn_fail(c, SSH_E_HOSTKEY, "host key %s: cannot "
		    "check it against %s: %s", c->fp, file, conn_why(c));
	}
}

/*
 * Trust the server only as far as the configuration says: the pin,
 * the known_hosts file, or both must vouch for its key.  Returns 0,
 * or -1 reported.
 */
static int
conn_verify(struct ssh_conn *c, const struct ssh_conf *conf)
{
	const char *hash;

	hash = libssh2_hostkey_hash(c->session,
	    LIBSSH2_HOSTKEY_HASH_SHA256);
	if (hash == NULL)
		return conn_fail(c, SSH_E_HOSTKEY, "no host key hash: %s",
		    conn_why(c));
	memcpy(c->fp, "SHA256:", 7);
	b64_nopad((const unsigned char *)hash, 32, c->fp + 7);
	if (conf->fingerprint != NULL &&
	    check_pin(c, conf->fingerprint) == -1)
		return -1;
	if (conf->known_hosts != NULL &&
	    check_known(c, conf->known_hosts) == -1)
		return -1;
	log_trace(c->name, "host key %s trusted", c->fp);
	return 0;
}

/*
 * Report a failed authentication, naming user@host and what was
 * tried.  Returns -1.
 */
static int
auth_fail(struct ssh_conn *c, const char *tried, const char *why)
{
	c->err = SSH_E_AUTH;
	log_err(c->who, "authentication failed: tried %s: %s", tried, why);
	return -1;
}

/*
 * Authenticate with a private key file, and its .pub beside it when
 * there is one (libssh2 can derive the public key otherwise).
 * Returns 0, or -1 reported.
 */
static int
auth_key(struct ssh_conn *c, const char *user, const char *file)
{
	char pub[PATH_MAX], tried[PATH_MAX + 16];
	const char *pubp = NULL;
	int rc, n;

	n = snprintf(pub, sizeof(pub), "%s.pub", file);
	if (n > 0 && (size_t)n < sizeof(pub) && access(pub, R_OK) == 0)
		pubp = pub;
	while ((rc = libssh2_userauth_publickey_fromfile_ex(c->session,
	    user, (unsigned int)strlen(user), pubp, file, NULL)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(c) == -1)
			return -1;
	if (rc == 0)
		return 0;
	if (lib_fatal(rc))
		conn_kill(c);
	snprintf(tried, sizeof(tried), "key %s", file);
	return auth_fail(c, tried, conn_why(c));
}

/*
 * Offer one agent identity.  Returns 0 when it was accepted, 1 when
 * refused, -1 when the connection failed.
 */
static int
auth_agent_one(struct ssh_conn *c, LIBSSH2_AGENT *agent,
    const char *user, struct libssh2_agent_publickey *id)
{
	int rc;

	while ((rc = libssh2_agent_userauth(agent, user, id)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(c) == -1)
			return -1;
	if (rc == 0)
		return 0;
	if (lib_fatal(rc) && rc != LIBSSH2_ERROR_AGENT_PROTOCOL) {
		conn_kill(c);
		return auth_fail(c, "the ssh-agent keys", conn_why(c));
	}
	return 1;
}

/*
 * Authenticate with each key of the ssh-agent in turn.  Returns 0,
 * or -1 reported.  (auth_agent_one() and auth_fail() report; 1 is
 * "keep trying".)
 */
static int
auth_agent(struct ssh_conn *c, const char *user)
{
	LIBSSH2_AGENT *agent;
	struct libssh2_agent_publickey *id = NULL;
	char tried[64];
	int rc = 1, n = 0;

	if ((agent = libssh2_agent_init(c->session)) == NULL)
		return auth_fail(c, "the ssh-agent", conn_why(c));
	if (libssh2_agent_connect(agent) != 0) {
		libssh2_agent_free(agent);
		return auth_fail(c, "the ssh-agent (no key file given)",
		    conn_why(c));
	}
	if (libssh2_agent_list_identities(agent) != 0)
		rc = auth_fail(c, "the ssh-agent", conn_why(c));
	while (rc == 1 && libssh2_agent_get_identity(agent, &id, id) == 0) {
		n++;
		rc = auth_agent_one(c, agent, user, id);
	}
	libssh2_agent_disconnect(agent);
	libssh2_agent_free(agent);
	if (rc != 1)
		return rc;
	snprintf(tried, sizeof(tried), "%d ssh-agent key%s", n,
	    n == 1 ? "" : "s");
	return auth_fail(c, tried, n == 0 ? "the agent holds no keys" :
	    "none was accepted");
}

/*
 * Log in as conf->user (root by default) with the key file, or with
 * the ssh-agent when none is given.  Returns 0, or -1 reported.
 */
static int
conn_auth(struct ssh_conn *c, const struct ssh_conf *conf)
{
	const char *user = conf->user != NULL ? conf->user : "root";

	c->doing = "authenticating";
	if (conf->key_file != NULL)
		return auth_key(c, user, conf->key_file);
	return auth_agent(c, user);
}

/*
 * Initialise libssh2 once per process.  Returns 0, or -1 reported.
 */
static int
lib_init(void)
{
	static int done;

	if (done)
		return 0;
	if (libssh2_init(0) != 0) {
		log_err("ssh", "libssh2_init: failed");
		return -1;
	}
	done = 1;
	return 0;
}

/*
 * Connect, check the host key, log in.  The connect timeout bounds all
 * three together; the deadline bounds everything the connection does.
 * Returns 0 with *connp set, or -1 reported with *errp set.
 */
int
ssh_open(const struct ssh_conf *conf, struct ssh_conn **connp,
    enum ssh_error *errp)
{
	enum ssh_error dummy;
	struct ssh_conn *c;

	if (errp == NULL)
		errp = &dummy;
	*connp = NULL;
	if ((c = conn_new(conf, errp)) == NULL)
		return -1;
	*errp = SSH_E_USAGE;
	if (conf_check(conf, c->name) == -1 || lib_init() == -1) {
		free(c);
		return -1;
	}
	if (conn_connect(c, conf->host) == -1 || conn_handshake(c) == -1 ||
	    conn_verify(c, conf) == -1 || conn_auth(c, conf) == -1) {
		*errp = c->err;
		ssh_close(c);
		return -1;
	}
	c->limit_at = 0;
	c->keepalive_s = conf->keepalive_s > 0 ? conf->keepalive_s :
	    KEEPALIVE_S;
	libssh2_keepalive_config(c->session, 1, (unsigned)c->keepalive_s);
	c->keepalive_at = util_now_ms() + (int64_t)c->keepalive_s * 1000;
	log_info(c->name, "connected as %s, host key %s", c->who, c->fp);
	*errp = SSH_E_NONE;
	*connp = c;
	return 0;
}

/*
 * Say goodbye to the server, waiting for the socket no longer than
 * GOODBYE_MS.  Returns nothing: the session ends either way.
 */
static void
conn_goodbye(struct ssh_conn *c)
{
	struct pollfd p;
	int64_t end = util_now_ms() + GOODBYE_MS, left;

	while (libssh2_session_disconnect(c->session, "done") ==
	    LIBSSH2_ERROR_EAGAIN) {
		if ((left = end - util_now_ms()) <= 0)
			return;
		p.fd = c->fd;
		p.events = POLLOUT;
		if (poll(&p, 1, (int)left) <= 0)
			return;
	}
}

/*
 * End the session politely if it still works, and free it.  Returns
 * nothing.
 */
void
ssh_close(struct ssh_conn *c)
{
	if (c == NULL)
		return;
	if (c->session != NULL) {
		if (!c->dead)
			conn_goodbye(c);
		/* Channels left open by a failure need a dead socket. */
		if (libssh2_session_free(c->session) ==
		    LIBSSH2_ERROR_EAGAIN) {
			conn_kill(c);
			libssh2_session_free(c->session);
		}
	}
	if (c->fd != -1)
		close(c->fd);
	free(c);
}

/* The server's key as "SHA256:...".  Returns it. */
const char *
ssh_fingerprint(const struct ssh_conn *c)
{
	return c != NULL ? c->fp : "";
}

/* What the last failure on the connection was.  Returns it. */
enum ssh_error
ssh_last_error(const struct ssh_conn *c)
{
	return c != NULL ? c->err : SSH_E_USAGE;
}

/*
 * The last line the last command wrote to stderr, for a message about
 * its failure.  Returns it, "" when there was none.
 */
const char *
ssh_last_stderr(const struct ssh_conn *c)
{
	return c != NULL ? c->lastline : "";
}

/* Words for an error.  Returns a static string. */
const char *
ssh_strerror(enum ssh_error e)
{
	if ((int)e < 0 || e >= SSH_E__MAX)
		return "unknown error";
	return ssh_errors[e];
}

/* The exit status a helper gives for an error.  Returns it. */
int
ssh_exit_status(enum ssh_error e)
{
	if ((int)e < 0 || e >= SSH_E__MAX)
		return MKP_EXIT_FAIL;
	return ssh_exits[e];
}

/*
 * Whether the connection can take a new request.  Returns 0, or -1
 * reported.
 */
static int
conn_ready(struct ssh_conn *c)
{
	if (c == NULL) {
		log_err("ssh", "no connection");
		return -1;
	}
	if (c->dead)
		return conn_fail(c, SSH_E_CHANNEL, "connection unusable "
		    "after an earlier failure");
	c->lastline[0] = '\0';
	return 0;
}

/* Make an empty ring of size bytes.  Returns 0, or -1 reported. */
static int
ring_init(struct ring *r, size_t size)
{
	memset(r, 0, sizeof(*r));
	if ((r->buf = malloc(size)) == NULL) {
		log_errno("ssh", "cannot allocate %zu bytes", size);
		return -1;
	}
	r->size = size;
	return 0;
}

/*
 * Where the next bytes may be written, and how many fit there in one
 * piece.  Returns the place; *room is 0 when the ring is full.
 */
static char *
ring_room(struct ring *r, size_t *room)
{
	size_t tail = (r->head + r->len) % r->size;

	*room = r->size - r->len;
	if (*room > r->size - tail)
		*room = r->size - tail;
	return r->buf + tail;
}

/*
 * The oldest bytes in one piece.  Returns them with *len set, or NULL
 * when the ring is empty.
 */
static const char *
ring_data(const struct ring *r, size_t *len)
{
	if (r->len == 0)
		return NULL;
	*len = r->len;
	if (*len > r->size - r->head)
		*len = r->size - r->head;
	return r->buf + r->head;
}

/* Take n bytes off the front.  Returns nothing. */
static void
ring_consume(struct ring *r, size_t n)
{
	r->head = (r->head + n) % r->size;
	r->len -= n;
	if (r->len == 0)
		r->head = 0;
}

/*
 * Append bytes, growing the buffer but never past max; one byte more
 * is kept for a NUL.  Returns 0, 1 when max would be passed, or -1
 * when memory ran out.
 */
static int
sbuf_add(struct sbuf *b, const char *p, size_t n)
{
	size_t cap;
	char *np;

	if (n > b->max - b->len)
		return 1;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap != 0 ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		if ((np = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/*
 * Prepare a run of a command on c: no stdin, output discarded until
 * the caller says otherwise.  Returns nothing.
 */
static void
run_init(struct run *r, struct ssh_conn *c)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->sink = SINK_DISCARD;
	r->out_fd = -1;
	r->err_fd = -1;
	r->in_fd = -1;
	r->in_slot = -1;
}

/*
 * A complete stderr line: keep it (up to LINE_LEN) as the last one,
 * log it when asked to, and pass it on to err_fd.  It goes to err_fd
 * through log_output, never as it came: the command may print a
 * secret the log would redact, or bytes that drive a terminal.
 * Returns 0, or -1 reported.
 */
static int
run_err_line(struct run *r)
{
	size_t n = r->linelen;

	if (r->linelen == 0 && r->linecut == 0)
		return 0;
	r->line[r->linelen] = '\0';
	if (n > sizeof(r->c->lastline) - 1)
		n = sizeof(r->c->lastline) - 1;
	memcpy(r->c->lastline, r->line, n);
	r->c->lastline[n] = '\0';
	if (r->err_log)
		log_info(r->c->name, "%s", r->line);
	if (r->err_fd != -1 && log_output(r->err_fd, r->c->name, r->line,
	    r->linelen, r->linecut) == -1)
		return conn_fail(r->c, SSH_E_CHANNEL, "forwarding stderr: "
		    "%s", strerror(errno));
	r->linelen = r->linecut = 0;
	return 0;
}

/*
 * Take bytes the command wrote to stderr into lines; the part of a
 * line past ERR_LINE_MAX is counted, not kept.  Returns 0, or -1
 * reported.
 */
static int
run_put_err(struct run *r, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (run_err_line(r) == -1)
				return -1;
		} else if (r->linelen < sizeof(r->line) - 1)
			r->line[r->linelen++] = buf[i];
		else
			r->linecut++;
	}
	return 0;
}

/*
 * Take bytes the command wrote to stdout, to wherever they go.  A
 * capture that would pass its max marks the run "over" instead.
 * Returns 0, or -1 reported.
 */
static int
run_put_out(struct run *r, const char *buf, size_t n)
{
	int rc;

	switch (r->sink) {
	case SINK_DISCARD:
		return 0;
	case SINK_FD:
		if (util_write_all(r->out_fd, buf, n) == 0)
			return 0;
		return conn_fail(r->c, SSH_E_CHANNEL, "writing stdout: %s",
		    strerror(errno));
	case SINK_CAPTURE:
		if ((rc = sbuf_add(r->cap, buf, n)) == 1)
			r->over = 1;
		if (rc != -1)
			return 0;
		return conn_fail(r->c, SSH_E_NOMEM, "capturing stdout: %s",
		    strerror(errno));
	case SINK_RING:
		r->out->len += n;	/* read in place by run_read_one */
		return 0;
	}
	return 0;
}

/*
 * Whether the run must not read now: its stdout goes to a ring that
 * is full.  Its stderr waits too, because any read lets libssh2 widen
 * the window the server may fill, and a window opened for stderr is
 * filled with stdout that would then pile up in memory.  Returns 1
 * or 0.
 */
static int
run_paused(const struct run *r)
{
	return r->state == RUN_IO && r->sink == SINK_RING &&
	    r->out->len == r->out->size;
}

/*
 * Read what is there on one stream (0 stdout, 1 stderr) and pass it
 * on.  Returns the number of bytes, or -1 reported.
 */
static ssize_t
run_read_one(struct run *r, int id)
{
	char buf[IO_CHUNK], *p = buf;
	size_t room = sizeof(buf);
	ssize_t n;

	if (id == 0 && r->sink == SINK_RING)
		p = ring_room(r->out, &room);
	n = libssh2_channel_read_ex(r->ch, id, p, room);
	if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
		return 0;
	if (n < 0)
		return lib_fail(r->c, (int)n, "reading output");
	if (id != 0)
		return run_put_err(r, buf, (size_t)n) == -1 ? -1 : n;
	return run_put_out(r, p, (size_t)n) == -1 ? -1 : n;
}

/*
 * Drain stdout and stderr together, as much as is there (up to a
 * burst, to be fair to the other channel of a pipe).  Reading only
 * stdout would never end: libssh2_channel_eof() stays false while
 * stderr is unread.  Returns 1 when anything moved, 0 when not, -1
 * reported.
 */
static int
run_read(struct run *r)
{
	ssize_t e, o;
	size_t total = 0;

	while (!run_paused(r) && !r->over && total < READ_BURST) {
		if ((e = run_read_one(r, SSH_EXTENDED_DATA_STDERR)) == -1)
			return -1;
		o = run_paused(r) ? 0 : run_read_one(r, 0);
		if (o == -1)
			return -1;
		if (e + o == 0)
			break;
		total += (size_t)(e + o);
	}
	if (!r->eof && !run_paused(r) && libssh2_channel_eof(r->ch)) {
		r->eof = 1;
		if (run_err_line(r) == -1)
			return -1;
		if (r->sink == SINK_RING)
			r->out->done = 1;
		return 1;
	}
	return total > 0;
}

/*
 * Read the local stdin into the ring, once per time poll() found it
 * readable, so a pipe that is empty cannot block the loop.  Returns
 * 1 when anything moved, 0 when not, -1 reported.
 */
static int
run_fill(struct run *r)
{
	size_t room;
	char *p;
	ssize_t n;

	if (r->in_fd == -1 || !r->in_ready || r->in->done)
		return 0;
	r->in_ready = 0;
	p = ring_room(r->in, &room);
	if (room == 0)
		return 0;
	if ((n = read(r->in_fd, p, room)) > 0)
		r->in->len += (size_t)n;
	else if (n == 0)
		r->in->done = 1;
	else if (errno == EINTR || errno == EAGAIN)
		return 0;
	else
		return conn_fail(r->c, SSH_E_CHANNEL, "reading stdin: %s",
		    strerror(errno));
	return 1;
}

/*
 * Send what the ring holds to the command's stdin.  Returns 1 when
 * anything moved, 0 when not, -1 reported.
 */
static int
run_feed(struct run *r)
{
	const char *p;
	size_t len;
	ssize_t n;
	int moved = 0;

	while ((p = ring_data(r->in, &len)) != NULL) {
		n = libssh2_channel_write_ex(r->ch, 0, p, len);
		if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
			break;
		if (n < 0)
			return lib_fail(r->c, (int)n, "sending stdin");
		ring_consume(r->in, (size_t)n);
		r->fed += (uint64_t)n;
		moved = 1;
	}
	return moved;
}

/*
 * Keep the command's stdin going, and end it with EOF once the input
 * ended.  When the command's output ended first, the rest of the
 * input is dropped: a command that closed stdout and stderr is
 * taken to be done, and for a pipe this is where the producer is cut
 * off.  Returns 1 when anything moved, 0 when not, -1 reported.
 */
static int
run_write(struct run *r)
{
	int moved = 0, rc;

	if (r->eof_sent)
		return 0;
	if (r->in != NULL && r->eof && !(r->in->done && r->in->len == 0))
		r->in->closed = 1;
	if (r->in != NULL && !r->in->closed) {
		if ((moved = run_fill(r)) == -1 ||
		    (rc = run_feed(r)) == -1)
			return -1;
		moved |= rc;
		if (!r->in->done || r->in->len > 0)
			return moved;
	}
	rc = libssh2_channel_send_eof(r->ch);
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return moved;
	if (rc < 0)
		return lib_fail(r->c, rc, "sending EOF");
	r->eof_sent = 1;
	return 1;
}

/*
 * Map a signal name from "exit-signal" ("TERM") to the local number.
 * Returns it, or 127 for a name not in the table (the status is then
 * 255, which no known signal gives).
 */
static int
signal_number(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcmp(signals[i].name, name) == 0)
			return signals[i].number;
	return 127;
}

/*
 * The command's status as a shell would give it: the exit status, or
 * 128 + the signal's number (the remote's name mapped to the local
 * number, the same on Linux).  A producer we cut off without hearing
 * its end counts as killed by SIGPIPE, as in a shell pipe.  Returns
 * the status.
 */
static int
run_status(struct run *r)
{
	char *sig = NULL;
	int status;

	if (libssh2_channel_get_exit_signal(r->ch, &sig, NULL, NULL, NULL,
	    NULL, NULL) == 0 && sig != NULL) {
		status = 128 + signal_number(sig);
		libssh2_free(r->c->session, sig);
		return status;
	}
	status = libssh2_channel_get_exit_status(r->ch);
	if (status == 0 && r->cut)
		status = 128 + SIGPIPE;
	return status;
}

/*
 * Take a channel whose streams ended to its end: wait for the server
 * to close it, which comes after the exit status, close ours, read
 * the status, free it.  Returns 1 when the state moved, 0 when it
 * waits, -1 reported.
 */
static int
run_finish(struct run *r)
{
	int rc;

	if (r->state == RUN_WAIT_CLOSE) {
		rc = libssh2_channel_wait_closed(r->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return 0;
		if (rc < 0)
			return lib_fail(r->c, rc, "waiting for the end");
		r->state = RUN_CLOSE;
	}
	if (r->state == RUN_CLOSE) {
		rc = libssh2_channel_close(r->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return 0;
		if (rc < 0)
			return lib_fail(r->c, rc, "closing the channel");
		r->status = run_status(r);
		r->state = RUN_FREE;
	}
	if ((rc = libssh2_channel_free(r->ch)) == LIBSSH2_ERROR_EAGAIN)
		return 0;
	r->ch = NULL;
	r->state = RUN_DONE;
	return 1;
}

/*
 * One turn of a run: move bytes while its streams flow, then see it
 * to its end.  A producer whose consumer ended, and a capture that
 * passed its max, are closed early.  Returns 1 when anything moved,
 * 0 when not, -1 reported.
 */
static int
run_step(struct run *r)
{
	int a, b;

	if (r->state == RUN_DONE)
		return 0;
	if (r->state != RUN_IO)
		return run_finish(r);
	if (r->sink == SINK_RING && r->out->closed && !r->eof) {
		r->cut = 1;
		r->state = RUN_CLOSE;
		return 1;
	}
	if ((a = run_read(r)) == -1 || (b = run_write(r)) == -1)
		return -1;
	if (r->over) {
		r->state = RUN_CLOSE;
		return 1;
	}
	if (r->eof && r->eof_sent) {
		r->state = RUN_WAIT_CLOSE;
		return 1;
	}
	return a | b;
}

/*
 * Wait for any of the runs' sockets, or a local stdin, to be ready;
 * at once when something just moved.  A paused run's socket is left
 * out, or poll() would keep waking for bytes we will not read yet.
 * Returns 0, or -1 reported.
 */
static int
run_wait(struct run **runs, int n, int moved)
{
	struct waitset w;
	struct run *r;
	int i;

	wait_init(&w);
	for (i = 0; i < n; i++) {
		r = runs[i];
		if (r->state == RUN_DONE)
			continue;
		wait_add_conn(&w, r->c, !run_paused(r));
		r->in_slot = -1;
		if (r->state == RUN_IO && r->in_fd != -1 && !r->in_ready &&
		    !r->in->done && !r->in->closed && r->in->len < r->in->size)
			r->in_slot = wait_add(&w, r->in_fd, POLLIN);
	}
	if (wait_poll(&w, moved) == -1)
		return conn_fail(runs[0]->c, SSH_E_CHANNEL, "poll: %s",
		    strerror(errno));
	for (i = 0; i < n; i++) {
		r = runs[i];
		if (r->in_slot != -1 && w.pfd[r->in_slot].revents != 0)
			r->in_ready = 1;
		if (r->state != RUN_DONE && conn_tick(r->c) == -1)
			return -1;
	}
	return 0;
}

/*
 * Drive the runs until all are done.  On a failure every connection
 * involved is given up: its channels are in an unknown state.
 * Returns 0, or -1 reported.
 */
static int
run_loop(struct run **runs, int n)
{
	int i, rc, moved, busy;

	for (;;) {
		moved = busy = 0;
		for (i = 0; i < n; i++) {
			if ((rc = run_step(runs[i])) == -1)
				break;
			moved |= rc;
			busy |= runs[i]->state != RUN_DONE;
		}
		if (i == n && !busy)
			return 0;
		if (i < n || run_wait(runs, n, moved) == -1)
			break;
	}
	for (i = 0; i < n; i++)
		conn_kill(runs[i]->c);
	return -1;
}

/*
 * Free a channel that never got going.  Returns nothing.
 */
static void
chan_drop(struct ssh_conn *c, LIBSSH2_CHANNEL *ch)
{
	while (libssh2_channel_free(ch) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(c) == -1)
			return;
}

/*
 * Open a session channel and start the command in it.  Returns 0, or
 * -1 reported.
 */
static int
run_start(struct run *r, const char *cmd)
{
	struct ssh_conn *c = r->c;
	int rc;

	c->doing = "starting a command";
	log_trace(c->name, "exec: %s", cmd);
	while ((r->ch = libssh2_channel_open_session(c->session)) == NULL) {
		rc = libssh2_session_last_errno(c->session);
		if (rc != LIBSSH2_ERROR_EAGAIN)
			return lib_fail(c, rc, "cannot open a channel");
		if (conn_wait(c) == -1)
			return -1;
	}
	while ((rc = libssh2_channel_exec(r->ch, cmd)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(c) == -1)
			return -1;
	if (rc != 0) {
		lib_fail(c, rc, "cannot start the command");
		chan_drop(c, r->ch);
		return -1;
	}
	c->doing = "running a command";
	return 0;
}

/*
 * Run one command to its end.  Returns 0, or -1 reported.
 */
static int
run_exec(struct run *r, const char *cmd)
{
	struct run *runs[1];

	runs[0] = r;
	if (run_start(r, cmd) == -1)
		return -1;
	return run_loop(runs, 1);
}

/*
 * Run cmd with stdin from in_fd (-1: none), its stdout written to
 * out_fd as it comes and its stderr to err_fd line by line as log
 * lines ("prog: host:port: line", redacted and escaped); -1 drops
 * either, but the last stderr line is kept.  Returns 0 with *status
 * set when the command ran, or -1 reported.
 */
int
ssh_exec(struct ssh_conn *c, const char *cmd, int in_fd, int out_fd,
    int err_fd, int *status)
{
	struct ring in;
	struct run r;
	int rc;

	if (conn_ready(c) == -1)
		return -1;
	run_init(&r, c);
	r.sink = out_fd != -1 ? SINK_FD : SINK_DISCARD;
	r.out_fd = out_fd;
	r.err_fd = err_fd;
	if (in_fd != -1) {
		if (ring_init(&in, STDIN_RING) == -1)
			return conn_fail(c, SSH_E_NOMEM, "no memory for stdin");
		r.in = &in;
		r.in_fd = in_fd;
	}
	rc = run_exec(&r, cmd);
	if (in_fd != -1)
		free(in.buf);
	if (rc == 0 && status != NULL)
		*status = r.status;
	return rc;
}

/*
 * Run cmd and capture its stdout, NUL-terminated, in *out (the
 * caller frees it).  Output past max bytes stops the command and
 * fails.  Its stderr lines are logged at -v.  Returns 0 with *out,
 * *outlen and *status set, or -1 reported with *out NULL.
 */
int
ssh_exec_capture(struct ssh_conn *c, const char *cmd, char **out,
    size_t *outlen, size_t max, int *status)
{
	struct sbuf b = { .p = NULL, .len = 0, .cap = 0, .max = max };
	struct run r;

	*out = NULL;
	if (conn_ready(c) == -1)
		return -1;
	run_init(&r, c);
	r.sink = SINK_CAPTURE;
	r.cap = &b;
	r.err_log = 1;
	if (sbuf_add(&b, "", 0) == -1 || run_exec(&r, cmd) == -1) {
		free(b.p);
		return -1;
	}
	if (r.over) {
		free(b.p);
		return conn_fail(c, SSH_E_CHANNEL, "command output passed "
		    "%zu bytes: stopped it", max);
	}
	*out = b.p;
	if (outlen != NULL)
		*outlen = b.len;
	if (status != NULL)
		*status = r.status;
	return 0;
}

/*
 * Start both commands of a pipe, the producer first: if the consumer
 * cannot start, the producer is only cut off, while a consumer
 * started alone would see an empty input as a complete one.
 * Returns 0, or -1 reported.
 */
static int
pipe_start(struct run *src, const char *src_cmd, struct run *dst,
    const char *dst_cmd)
{
	if (run_start(src, src_cmd) == -1)
		return -1;
	return run_start(dst, dst_cmd);
}

/*
 * Run src_cmd on src and dst_cmd on dst with the first's stdout fed
 * to the second's stdin through a bounded buffer, both stderrs going
 * to err_fd as ssh_exec sends them.  *bytes counts what reached
 * dst_cmd.  When dst_cmd ends first, src_cmd is cut off and counts as
 * killed by SIGPIPE unless it said otherwise.  Returns 0 with both
 * statuses set when both commands ran, or -1 reported.
 *
 * The consumer sees its input end whenever the pipe stops, after a
 * failure too (sshd closes its stdin when the connection drops): it
 * must commit only input that ends properly, as psql does with
 * --single-transaction and ON_ERROR_STOP.  After a failure both
 * connections are given up.
 */
int
ssh_pipe(struct ssh_conn *src, const char *src_cmd, struct ssh_conn *dst,
    const char *dst_cmd, int err_fd, int *src_status, int *dst_status,
    uint64_t *bytes)
{
	struct ring ring;
	struct run a, b;
	struct run *runs[2] = { &a, &b };
	int rc;

	if (conn_ready(src) == -1 || conn_ready(dst) == -1)
		return -1;
	if (ring_init(&ring, PIPE_RING) == -1)
		return conn_fail(src, SSH_E_NOMEM, "no memory for the pipe");
	run_init(&a, src);
	a.sink = SINK_RING;
	a.out = &ring;
	a.err_fd = err_fd;
	run_init(&b, dst);
	b.in = &ring;
	b.err_fd = err_fd;
	rc = pipe_start(&a, src_cmd, &b, dst_cmd);
	if (rc == 0)
		rc = run_loop(runs, 2);
	if (rc == -1) {
		conn_kill(src);
		conn_kill(dst);
	}
	free(ring.buf);
	if (bytes != NULL)
		*bytes = b.fed;
	if (rc == 0 && src_status != NULL)
		*src_status = a.status;
	if (rc == 0 && dst_status != NULL)
		*dst_status = b.status;
	return rc;
}

/*
 * Words for an SFTP status code, or libssh2's words for a failure
 * that was not an SFTP status.  Returns a string.
 */
static const char *
sftp_why(struct ssh_conn *c, LIBSSH2_SFTP *sftp, int rc)
{
	if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL)
		return conn_why(c);
	switch (libssh2_sftp_last_error(sftp)) {
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		return "no such file or directory";
	case LIBSSH2_FX_PERMISSION_DENIED:
		return "permission denied";
	case LIBSSH2_FX_FILE_ALREADY_EXISTS:
		return "file exists";
	case LIBSSH2_FX_OP_UNSUPPORTED:
		return "operation not supported";
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
		return "no space left on device";
	case LIBSSH2_FX_QUOTA_EXCEEDED:
		return "quota exceeded";
	case LIBSSH2_FX_WRITE_PROTECT:
		return "read-only file system";
	case LIBSSH2_FX_NOT_A_DIRECTORY:
		return "not a directory";
	default:
		return "failure";
	}
}

/*
 * Report a failed SFTP call on path, giving the connection up when
 * the transport broke.  Returns -1.
 */
static int
sftp_fail(struct ssh_conn *c, LIBSSH2_SFTP *sftp, int rc,
    const char *path, const char *what)
{
	conn_fail(c, SSH_E_CHANNEL, "%s: %s: %s", path, what,
	    sftp_why(c, sftp, rc));
	if (lib_fatal(rc))
		conn_kill(c);
	return -1;
}

/*
 * The SFTP permission bits for a mode, spelled out so that they do
 * not depend on the local values of S_IRUSR and friends.  Returns
 * them.
 */
static unsigned long
sftp_perm(int mode)
{
	static const struct {
		int		 bit;
		unsigned long	 perm;
	} bits[] = {
		{ 0400, LIBSSH2_SFTP_S_IRUSR }, { 0200, LIBSSH2_SFTP_S_IWUSR },
		{ 0100, LIBSSH2_SFTP_S_IXUSR }, { 0040, LIBSSH2_SFTP_S_IRGRP },
		{ 0020, LIBSSH2_SFTP_S_IWGRP }, { 0010, LIBSSH2_SFTP_S_IXGRP },
		{ 0004, LIBSSH2_SFTP_S_IROTH }, { 0002, LIBSSH2_SFTP_S_IWOTH },
		{ 0001, LIBSSH2_SFTP_S_IXOTH },
	};
	unsigned long perm = 0;
	size_t i;

	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (mode & bits[i].bit)
			perm |= bits[i].perm;
	return perm;
}

/*
 * Start the SFTP subsystem.  Returns it, or NULL reported.
 */
static LIBSSH2_SFTP *
sftp_start(struct ssh_conn *c)
{
	LIBSSH2_SFTP *sftp;
	int rc;

	while ((sftp = libssh2_sftp_init(c->session)) == NULL) {
		rc = libssh2_session_last_errno(c->session);
		if (rc != LIBSSH2_ERROR_EAGAIN) {
			lib_fail(c, rc, "cannot start sftp");
			return NULL;
		}
		if (conn_wait(c) == -1)
			return NULL;
	}
	return sftp;
}

/*
 * End the SFTP subsystem; on a dead connection this only frees it.
 * Returns nothing.
 */
static void
sftp_stop(struct ssh_conn *c, LIBSSH2_SFTP *sftp)
{
	while (libssh2_sftp_shutdown(sftp) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(c) == -1)
			conn_kill(c);
}

/*
 * Create the temporary file: exclusively, so that nothing already
 * there is followed or reused.  Returns its handle, or NULL reported.
 */
static LIBSSH2_SFTP_HANDLE *
sftp_create(struct ssh_conn *c, LIBSSH2_SFTP *sftp, const char *tmp,
    int mode)
{
	LIBSSH2_SFTP_HANDLE *h;
	int rc;

	while ((h = libssh2_sftp_open_ex(sftp, tmp,
	    (unsigned int)strlen(tmp), LIBSSH2_FXF_WRITE |
	    LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, (long)sftp_perm(mode),
	    LIBSSH2_SFTP_OPENFILE)) == NULL) {
		rc = libssh2_session_last_errno(c->session);
		if (rc != LIBSSH2_ERROR_EAGAIN) {
			sftp_fail(c, sftp, rc, tmp, "cannot create");
			return NULL;
		}
		if (conn_wait(c) == -1)
			return NULL;
	}
	return h;
}

/*
 * Set the mode on the open file: the server's umask applies to the
 * mode given at creation and may have narrowed it.  Done before any
 * byte is written.  Returns 0, or -1 reported.
 */
static int
sftp_chmod(struct ssh_conn *c, LIBSSH2_SFTP *sftp,
    LIBSSH2_SFTP_HANDLE *h, const char *tmp, int mode)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
	a.permissions = sftp_perm(mode);
	while ((rc = libssh2_sftp_fsetstat(h, &a)) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(c) == -1)
			return -1;
	return rc == 0 ? 0 : sftp_fail(c, sftp, rc, tmp, "cannot chmod");
}

/*
 * Write all of buf, then ask the server to fsync it, so that the
 * rename can never expose an empty file after a crash; a server
 * without fsync@openssh.com is let off.  Returns 0, or -1 reported.
 */
static int
sftp_write_all(struct ssh_conn *c, LIBSSH2_SFTP *sftp,
    LIBSSH2_SFTP_HANDLE *h, const char *tmp, const char *buf, size_t len)
{
	ssize_t n;
	int rc;

	while (len > 0) {
		n = libssh2_sftp_write(h, buf, len);
		if (n == LIBSSH2_ERROR_EAGAIN || n == 0) {
			if (conn_wait(c) == -1)
				return -1;
			continue;
		}
		if (n < 0)
			return sftp_fail(c, sftp, (int)n, tmp, "cannot write");
		buf += n;
		len -= (size_t)n;
	}
	while ((rc = libssh2_sftp_fsync(h)) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(c) == -1)
			return -1;
	if (rc == 0 || (rc == LIBSSH2_ERROR_SFTP_PROTOCOL &&
	    libssh2_sftp_last_error(sftp) == LIBSSH2_FX_OP_UNSUPPORTED))
		return 0;
	return sftp_fail(c, sftp, rc, tmp, "cannot fsync");
}

/*
 * Write the temporary file: create, chmod, write, close.  *made says
 * whether there is a file to remove after a failure.  Returns 0, or
 * -1 reported.
 */
static int
sftp_put(struct ssh_conn *c, LIBSSH2_SFTP *sftp, const char *tmp,
    const void *buf, size_t len, int mode, int *made)
{
	LIBSSH2_SFTP_HANDLE *h;
	int rc, closed;

	*made = 0;
	if ((h = sftp_create(c, sftp, tmp, mode)) == NULL)
		return -1;
	*made = 1;
	rc = sftp_chmod(c, sftp, h, tmp, mode);
	if (rc == 0)
		rc = sftp_write_all(c, sftp, h, tmp, buf, len);
	while ((closed = libssh2_sftp_close_handle(h)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(c) == -1)
			return -1;
	if (rc == 0 && closed != 0)
		return sftp_fail(c, sftp, closed, tmp, "cannot close");
	return rc;
}

/*
 * Rename over SFTP.  Returns 0 or libssh2's error code.
 */
static int
sftp_rename(struct ssh_conn *c, LIBSSH2_SFTP *sftp, const char *from,
    const char *to)
{
	int rc;

	while ((rc = libssh2_sftp_rename_ex(sftp, from,
	    (unsigned int)strlen(from), to, (unsigned int)strlen(to),
	    LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
	    LIBSSH2_SFTP_RENAME_NATIVE)) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(c) == -1)
			return LIBSSH2_ERROR_TIMEOUT;
	return rc;
}

/*
 * What is at path, without following a link.  Returns 1 for a
 * directory, 0 for anything else, -1 when nothing is there or the
 * question failed.
 */
static int
sftp_kind(struct ssh_conn *c, LIBSSH2_SFTP *sftp, const char *path)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc;

	memset(&a, 0, sizeof(a));
	while ((rc = libssh2_sftp_stat_ex(sftp, path,
	    (unsigned int)strlen(path), LIBSSH2_SFTP_LSTAT, &a)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(c) == -1)
			return -1;
	if (rc != 0)
		return -1;
	return LIBSSH2_SFTP_S_ISDIR(a.permissions) ? 1 : 0;
}

/*
 * Quote a string for a POSIX shell.  Returns it, malloc'd, or NULL.
 */
static char *
shquote(const char *s)
{
	size_t n = 3;
	const char *p;
	char *q, *out;

	for (p = s; *p != '\0'; p++)
		n += *p == '\'' ? 4 : 1;
	if ((out = q = malloc(n)) == NULL)
		return NULL;
	*q++ = '\'';
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'') {
			memcpy(q, "'\\''", 4);
			q += 4;
		} else
			*q++ = *p;
	}
	*q++ = '\'';
	*q = '\0';
	return out;
}

/*
 * Replace path by tmp with mv(1), whose rename(2) is atomic.
 * Returns 0, 1 when no shell or mv could be run there, -1 reported.
 */
static int
replace_by_mv(struct ssh_conn *c, const char *tmp, const char *path)
{
	char *a, *b, *cmd = NULL;
	size_t n;
	int rc = -1, status = -1;

	a = shquote(tmp);
	b = shquote(path);
	n = a != NULL && b != NULL ? strlen(a) + strlen(b) + 16 : 0;
	if (n > 0 && (cmd = malloc(n)) != NULL) {
		snprintf(cmd, n, "mv -f -- %s %s", a, b);
		rc = ssh_exec(c, cmd, -1, -1, -1, &status);
	}
	free(a);
	free(b);
	free(cmd);
	if (n == 0 || cmd == NULL)
		return conn_fail(c, SSH_E_NOMEM, "no memory for mv");
	if (rc == 0 && status == 0)
		return 0;
	if (c->dead || (rc == 0 && status != 126 && status != 127))
		return conn_fail(c, SSH_E_CHANNEL, "%s: mv exited %d: %s",
		    path, status, c->lastline);
	return 1;
}

/*
 * Move the finished temporary file to path.  The SFTP rename asks
 * for an atomic overwrite, but OpenSSH speaks SFTP version 3, where
 * libssh2 1.10 cannot send those flags, and its plain rename refuses
 * an existing target (libssh2 1.10 has no posix-rename@openssh.com).
 * So an existing file is replaced by mv(1) over an exec channel,
 * which is still one atomic rename(2).  Only where no command can
 * run (an SFTP-only account) is the old file removed first, leaving
 * a moment with no file: a warning says so.  Returns 0, or -1
 * reported.
 */
static int
sftp_replace(struct ssh_conn *c, LIBSSH2_SFTP *sftp, const char *tmp,
    const char *path)
{
	int rc;

	if ((rc = sftp_rename(c, sftp, tmp, path)) == 0)
		return 0;
	if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL || c->dead)
		return sftp_fail(c, sftp, rc, path, "cannot rename");
	switch (sftp_kind(c, sftp, path)) {
	case -1:
		return sftp_fail(c, sftp, rc, path, "cannot rename");
	case 1:
		return conn_fail(c, SSH_E_CHANNEL, "%s: is a directory",
		    path);
	}
	log_trace(c->name, "%s: exists: replacing it with mv", path);
	rc = replace_by_mv(c, tmp, path);
	c->doing = "uploading";
	if (rc != 1)
		return rc;
	log_warn(c->name, "%s: no atomic rename here: removing it first",
	    path);
	while ((rc = libssh2_sftp_unlink_ex(sftp, path,
	    (unsigned int)strlen(path))) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(c) == -1)
			return -1;
	if (rc != 0)
		return sftp_fail(c, sftp, rc, path, "cannot remove");
	rc = sftp_rename(c, sftp, tmp, path);
	return rc == 0 ? 0 : sftp_fail(c, sftp, rc, path, "cannot rename");
}

/*
 * Remove the temporary file after a failure, if the connection still
 * allows it.  Returns nothing: the failure is already reported.
 */
static void
sftp_discard(struct ssh_conn *c, LIBSSH2_SFTP *sftp, const char *tmp)
{
	int rc;

	if (c->dead)
		return;
	while ((rc = libssh2_sftp_unlink_ex(sftp, tmp,
	    (unsigned int)strlen(tmp))) == LIBSSH2_ERROR_EAGAIN)
		if (conn_wait(c) == -1)
			return;
	if (rc != 0)
		log_warn(c->name, "%s: cannot remove the temporary file",
		    tmp);
}

/*
 * Name the temporary file: path.mkp-XXXXXX in the same directory, so
 * that the rename stays on one file system.  Returns 0, or -1 when
 * the name does not fit.
 */
static int
tmp_name(char *buf, size_t size, const char *path)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint64_t r = util_random();
	char sfx[7];
	int i, n;

	for (i = 0; i < 6; i++, r /= 36)
		sfx[i] = set[r % 36];
	sfx[6] = '\0';
	n = snprintf(buf, size, "%s.mkp-%s", path, sfx);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/*
 * Put buf at path on the server, with exactly the mode given (at most
 * 0777), by way of a temporary file beside it, so that path holds
 * either the old file or all of the new one.  Returns 0, or -1
 * reported with no temporary left behind when the connection allows.
 */
int
ssh_upload(struct ssh_conn *c, const void *buf, size_t len,
    const char *path, int mode)
{
	LIBSSH2_SFTP *sftp;
	char tmp[PATH_MAX];
	int rc, made;

	if (conn_ready(c) == -1)
		return -1;
	if (*path == '\0' || path[strlen(path) - 1] == '/')
		return conn_fail(c, SSH_E_USAGE, "%s: not a file name", path);
	if (tmp_name(tmp, sizeof(tmp), path) == -1)
		return conn_fail(c, SSH_E_USAGE, "%s: name too long", path);
	if (mode < 0 || (mode & ~0777) != 0)
		return conn_fail(c, SSH_E_USAGE, "%s: mode %o: not allowed",
		    path, (unsigned)mode);
	c->doing = "uploading";
	if ((sftp = sftp_start(c)) == NULL)
		return -1;
	rc = sftp_put(c, sftp, tmp, buf, len, mode, &made);
	if (rc == 0)
		rc = sftp_replace(c, sftp, tmp, path);
	if (rc == -1 && made)
		sftp_discard(c, sftp, tmp);
	sftp_stop(c, sftp);
	if (rc == 0)
		log_info(c->name, "%s: uploaded %zu bytes, mode %03o", path,
		    len, (unsigned)mode);
	return rc;
}
