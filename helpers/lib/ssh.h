/*
 * ssh.h: SSH sessions with libssh2 that never trust a host key they
 * were not told to trust: the key must match a pinned SHA256
 * fingerprint or a known_hosts entry, or the session is closed before
 * authentication.  Commands run with their stdout and stderr streamed
 * and their exit status returned; files are uploaded by SFTP under a
 * temporary name and renamed into place with the mode asked for.
 */
#ifndef SSH_H
#define SSH_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum ssh_error {
	SSH_E_NONE = 0,
	SSH_E_CONNECT,		/* TCP or handshake failed */
	SSH_E_HOSTKEY,		/* host key unknown or not as pinned */
	SSH_E_AUTH,		/* no key was accepted */
	SSH_E_CHANNEL,		/* a channel or SFTP call failed */
	SSH_E_DEADLINE,		/* the deadline passed */
	SSH_E_USAGE,
	SSH_E_NOMEM,
	SSH_E__MAX
};

struct ssh_conf {
	const char	*host;		/* address or name */
	int		 port;		/* 0: 22 */
	const char	*user;		/* NULL: root */
	const char	*fingerprint;	/* "SHA256:base64", or NULL */
	const char	*known_hosts;	/* file, or NULL */
	const char	*key_file;	/* private key; NULL: ssh-agent */
	long		 connect_timeout_ms;	/* 0: 10 s */
	int		 keepalive_s;	/* 0: 15 s */
	const struct deadline *deadline; /* NULL: none */
};

/*
 * The connection keeps the pointer to conf->deadline: it must live as
 * long as the connection.  After a transport failure or a passed
 * deadline a connection is only good for ssh_close().
 */
struct ssh_conn;

/* 0 and *conn set, or -1 with *err (may be NULL) set and reported. */
int	 ssh_open(const struct ssh_conf *, struct ssh_conn **,
	    enum ssh_error *);
void	 ssh_close(struct ssh_conn *);
const char *ssh_fingerprint(const struct ssh_conn *);
enum ssh_error ssh_last_error(const struct ssh_conn *);
/* The last line the last command wrote to stderr, or "". */
const char *ssh_last_stderr(const struct ssh_conn *);

/*
 * The command functions return 0 when the command ran, whatever its
 * status, and -1 when it could not be run or followed to its end.
 * A status is the exit status, or 128 + the signal number when the
 * command was killed by a signal (as a shell reports it).  A
 * command's stderr reaches err_fd as log lines, "prog: host:port:
 * line", with registered secrets redacted and other bytes escaped.
 */
int	 ssh_exec(struct ssh_conn *, const char *cmd, int in_fd,
	    int out_fd, int err_fd, int *status);
int	 ssh_exec_capture(struct ssh_conn *, const char *cmd,
	    char **out, size_t *outlen, size_t max, int *status);
/* 0 when path holds buf with exactly mode, -1 otherwise. */
int	 ssh_upload(struct ssh_conn *, const void *buf, size_t len,
	    const char *path, int mode);
int	 ssh_pipe(struct ssh_conn *src, const char *src_cmd,
	    struct ssh_conn *dst, const char *dst_cmd, int err_fd,
	    int *src_status, int *dst_status, uint64_t *bytes);
const char *ssh_strerror(enum ssh_error);
int	 ssh_exit_status(enum ssh_error);

#endif
