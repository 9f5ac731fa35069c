/*
 * check_ssh.c: ssh.c against a private sshd on loopback.
 *
 * The unchecked fixture makes a scratch directory with a client key
 * (authorized) and a second one (not), a 10 MB data file, known_hosts
 * files that hold the host's key, another key, or only another host,
 * and starts tests/lib/sshd-fixture.sh on 127.0.0.N and a random high
 * port as a child, which execs sshd.  It also starts an ssh-agent
 * holding the client key.  Everything runs as the current user, and
 * sshd and the agent are killed by their pids at the end.  Remote
 * commands run on this machine, so their effects are checked here
 * with stat() and cmp.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "fixture.h"
#include "log.h"
#include "mkprov.h"
#include "ssh.h"
#include "util.h"

#define START_MS	5000		/* for sshd to accept */
#define DATA_LEN	(10 * 1024 * 1024)
#define TRIES		5		/* addresses and ports to try */

/* One sshd: a "host" of its own address, port and host key. */
struct host {
	char		 dir[PATH_MAX];
	const char	*loglevel;
	char		 addr[16];
	int		 port;
	char		 fp[64];	/* its key, as ssh-keygen -lf */
	pid_t		 pid;
};

/*
 * Host 0 serves most tests.  Host 1 logs at DEBUG1, the level where
 * sshd notes keepalives, but which also leaks debug lines into each
 * session's stderr: only the keepalive test uses it.
 */
static struct {
	char		 top[1024];
	char		 dir[128];
	char		 user[64];
	struct host	 hosts[2];
	pid_t		 agent;
} fx = { .hosts = { { .pid = -1 }, { .pid = -1 } }, .agent = -1 };

#define MAIN	(&fx.hosts[0])
#define CHATTY	(&fx.hosts[1])

static const char *path(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
static int sh(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * A path in the scratch directory, from a ring of buffers so that a
 * few can be alive at once.  Returns it.
 */
static const char *
path(const char *fmt, ...)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *p = bufs[next++ % 8];
	char name[PATH_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	snprintf(p, PATH_MAX, "%s/%s", fx.dir, name);
	return p;
}

/*
 * Run a shell command line made with printf.  Returns its exit
 * status, or -1 when it did not exit.
 */
static int
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * Whether a host's sshd accepts TCP connections on its address and
 * port.  Returns 1 or 0.
 */
static int
accepts(const void *host)
{
	const struct host *h = host;
	struct sockaddr_in sin;
	int fd, ok;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)h->port);
	inet_pton(AF_INET, h->addr, &sin.sin_addr);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/*
 * Start sshd on a random loopback address and high port, and wait
 * until it accepts.  Returns 0, or -1 when it exited (the port was
 * taken) or never answered.
 */
static int
sshd_try(struct host *h)
{
	char port[16], script[PATH_MAX], log[PATH_MAX + 16];
	const char *argv[6];

	snprintf(h->addr, sizeof(h->addr), "127.0.0.%d",
	    20 + (int)(util_random() % 231));
	h->port = 20000 + (int)(util_random() % 40000);
	snprintf(port, sizeof(port), "%d", h->port);
	snprintf(script, sizeof(script), "%s/tests/lib/sshd-fixture.sh",
	    fx.top);
	snprintf(log, sizeof(log), "%s/sshd.log", h->dir);
	argv[0] = "/bin/sh";
	argv[1] = script;
	argv[2] = h->dir;
	argv[3] = h->addr;
	argv[4] = port;
	argv[5] = NULL;
	setenv("SSHD_LOGLEVEL", h->loglevel, 1);
	h->pid = fixture_exec(argv, -1, log);
	unsetenv("SSHD_LOGLEVEL");
	if (fixture_ready(&h->pid, accepts, h, START_MS) == 0)
		return 0;
	fixture_kill(&h->pid);
	return -1;
}

/* The host key's fingerprint as ssh-keygen prints it. */
static void
read_fingerprint(struct host *h)
{
	char line[512], cmd[PATH_MAX + 32];
	FILE *fp;

	snprintf(cmd, sizeof(cmd), "ssh-keygen -lf %s/hostkey.pub", h->dir);
	ck_assert_ptr_nonnull(fp = popen(cmd, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	pclose(fp);
	ck_assert_int_eq(sscanf(line, "%*d %63s", h->fp), 1);
	ck_assert(strncmp(h->fp, "SHA256:", 7) == 0);
}

/*
 * Make a host in dir that lets the client key in, and start it,
 * trying other ports when one is taken.  Returns nothing; asserts.
 */
static void
host_start(struct host *h, const char *dir, const char *loglevel)
{
	int i;

	snprintf(h->dir, sizeof(h->dir), "%s", dir);
	h->loglevel = loglevel;
	ck_assert_int_eq(sh("mkdir -p %s && cp %s %s/authorized_keys",
	    h->dir, path("id.pub"), h->dir), 0);
	for (i = 0; i < TRIES && sshd_try(h) == -1; i++)
		continue;
	ck_assert_msg(h->pid != -1, "sshd did not start: see %s/sshd.log",
	    h->dir);
	read_fingerprint(h);
}

/* Whether a file exists.  Returns 1 or 0. */
static int
exists(const void *file)
{
	return access(file, F_OK) == 0;
}

/*
 * Start an ssh-agent in the foreground holding the client key.
 * Returns nothing; asserts.
 */
static void
agent_start(void)
{
	char sock[PATH_MAX];
	const char *argv[5];

	snprintf(sock, sizeof(sock), "%s", path("agent.sock"));
	argv[0] = "/usr/bin/ssh-agent";
	argv[1] = "-D";
	argv[2] = "-a";
	argv[3] = sock;
	argv[4] = NULL;
	fx.agent = fixture_exec(argv, -1, path("agent.log"));
	ck_assert_msg(fixture_ready(&fx.agent, exists, sock, START_MS) == 0,
	    "ssh-agent did not start: see %s", path("agent.log"));
	ck_assert_int_eq(sh("SSH_AUTH_SOCK=%s ssh-add -q %s 2>/dev/null",
	    sock, path("id")), 0);
}

/*
 * The known_hosts files: the right key, the same hashed, another key
 * for this host, and the right key for another port only.
 */
static void
write_known_hosts(void)
{
	const char *pub = path("hostkey.pub");

	ck_assert_int_eq(sh("ssh-keygen -q -t ed25519 -N '' -f %s",
	    path("otherhostkey")), 0);
	ck_assert_int_eq(sh("printf '[%s]:%d ' >%s && cut -d' ' -f1,2 %s"
	    " >>%s", MAIN->addr, MAIN->port, path("kh_good"), pub,
	    path("kh_good")), 0);
	ck_assert_int_eq(sh("cp %s %s && ssh-keygen -q -H -f %s "
	    ">/dev/null 2>&1", path("kh_good"), path("kh_hashed"),
	    path("kh_hashed")), 0);
	ck_assert_int_eq(sh("printf '[%s]:%d ' >%s && cut -d' ' -f1,2 %s"
	    " >>%s", MAIN->addr, MAIN->port, path("kh_bad"),
	    path("otherhostkey.pub"), path("kh_bad")), 0);
	ck_assert_int_eq(sh("printf '[%s]:%d ' >%s && cut -d' ' -f1,2 %s"
	    " >>%s", MAIN->addr, MAIN->port + 1, path("kh_missing"), pub,
	    path("kh_missing")), 0);
}

/*
 * The unchecked fixture: keys, data, both hosts, the known_hosts
 * files and the agent.  Fails the test case if any step does.
 */
static void
fixture_start(void)
{
	const struct passwd *pw;

	log_init("check_ssh");
	/* Orphans of sshd's sessions come to us to be reaped, not to a
	 * PID 1 that never reaps them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	fixture_top(fx.top, sizeof(fx.top));
	ck_assert_ptr_nonnull(pw = getpwuid(getuid()));
	snprintf(fx.user, sizeof(fx.user), "%s", pw->pw_name);
	fixture_mkdtemp(fx.dir, sizeof(fx.dir), "check_ssh");
	ck_assert_int_eq(sh("cd %s && ssh-keygen -q -t ed25519 -N '' -f id"
	    " && ssh-keygen -q -t ed25519 -N '' -f other && "
	    "head -c %d /dev/urandom >data && mkdir up", fx.dir, DATA_LEN),
	    0);
	host_start(MAIN, fx.dir, "INFO");
	host_start(CHATTY, path("chatty"), "DEBUG1");
	write_known_hosts();
	agent_start();
}

/*
 * Stop the agent and the hosts (only the processes started here) and
 * remove the scratch directory unless MKP_KEEP is set.
 */
static void
fixture_stop(void)
{
	fixture_kill(&fx.agent);
	fixture_kill(&MAIN->pid);
	fixture_kill(&CHATTY->pid);
	/* Reap (not kill) what sshd's sessions left to us. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		continue;
	fixture_rmdir(fx.dir);
}

/* A configuration for the fixture, pinned by fingerprint. */
static struct ssh_conf
conf_pinned(void)
{
	struct ssh_conf conf;

	memset(&conf, 0, sizeof(conf));
	conf.host = MAIN->addr;
	conf.port = MAIN->port;
	conf.user = fx.user;
	conf.fingerprint = MAIN->fp;
	conf.key_file = path("id");
	conf.connect_timeout_ms = 5000;
	return conf;
}

/*
 * A configuration for the fixture that checks its host key against
 * the known_hosts file kh in the scratch directory, not a fingerprint.
 */
static struct ssh_conf
conf_known_hosts(const char *kh)
{
	struct ssh_conf conf = conf_pinned();

	conf.fingerprint = NULL;
	conf.known_hosts = path("%s", kh);
	return conf;
}

/* Open a connection that must succeed.  Returns it. */
static struct ssh_conn *
open_ok(const struct ssh_conf *conf)
{
	struct ssh_conn *c = NULL;
	enum ssh_error e = SSH_E__MAX;

	ck_assert_int_eq(ssh_open(conf, &c, &e), 0);
	ck_assert_int_eq(e, SSH_E_NONE);
	ck_assert_ptr_nonnull(c);
	return c;
}

/*
 * Open a connection to the main host, pinned by fingerprint, that
 * must succeed.  Returns it.
 */
static struct ssh_conn *
open_pinned(void)
{
	struct ssh_conf conf = conf_pinned();

	return open_ok(&conf);
}

/*
 * Open a connection that must be refused with error e.  Returns
 * nothing; asserts.
 */
static void
open_refused(const struct ssh_conf *conf, enum ssh_error e)
{
	struct ssh_conn *c = NULL;
	enum ssh_error got = SSH_E_NONE;

	ck_assert_int_eq(ssh_open(conf, &c, &got), -1);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(got, e);
}

/* How many lines of a host's log hold a string. */
static int
log_count(const struct host *h, const char *what)
{
	char cmd[PATH_MAX + 128];
	FILE *fp;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "grep -c '%s' %s/sshd.log", what,
	    h->dir);
	ck_assert_ptr_nonnull(fp = popen(cmd, "r"));
	ck_assert_int_eq(fscanf(fp, "%d", &n), 1);
	pclose(fp);
	return n;
}

/*
 * Wait at most ms for a host's log to show, past its first skip
 * lines, a connection that ended before authentication began:
 * "Disconnected from ADDR port P [preauth]", which sshd writes only
 * when the client never sent a user name (else it says "from
 * authenticating user U").  Returns P, or -1.
 */
static int
preauth_port(const struct host *h, int skip, int ms)
{
	char file[PATH_MAX + 16], *buf, *line, *save;
	struct deadline dl;
	size_t len;
	int n, port;

	snprintf(file, sizeof(file), "%s/sshd.log", h->dir);
	deadline_set(&dl, ms);
	do {
		ck_assert_int_eq(util_read_file(file, 1 << 24, &buf, &len),
		    0);
		n = 0;
		for (line = strtok_r(buf, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			if (n++ >= skip && sscanf(line, "Disconnected from "
			    "127.0.0.1 port %d [preauth]", &port) == 1 &&
			    strstr(line, "[preauth]") != NULL) {
				free(buf);
				return port;
			}
		}
		free(buf);
		util_sleep_ms(20);
	} while (!deadline_passed(&dl));
	return -1;
}

/* How many keys sshd has accepted so far. */
static int
accepted_keys(void)
{
	return log_count(MAIN, "Accepted publickey");
}

/*
 * How many keepalives the chatty host has seen.  libssh2 1.10 names
 * them keepalive@libssh2.org.
 */
static int
keepalives(void)
{
	return log_count(CHATTY, "rtype keepalive@");
}

/* A file's contents, which must exist.  Returns them, malloc'd. */
static char *
slurp(const char *file)
{
	char *buf = NULL;
	size_t len;

	ck_assert_int_eq(util_read_file(file, 1 << 20, &buf, &len), 0);
	return buf;
}

/*
 * Create, or empty, a file in the scratch directory for a command's
 * output.  Returns its descriptor; asserts.
 */
static int
output_file(const char *name)
{
	int fd;

	fd = open(path("%s", name), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	return fd;
}

/* Whether a temporary upload is left in dir.  Returns 1 or 0. */
static int
has_temporary(const char *dir)
{
	struct dirent *d;
	DIR *dp;
	int found = 0;

	ck_assert_ptr_nonnull(dp = opendir(dir));
	while ((d = readdir(dp)) != NULL)
		if (strstr(d->d_name, ".mkp-") != NULL)
			found = 1;
	closedir(dp);
	return found;
}

START_TEST(test_exec_returns_stdout_stderr_and_status)
{
	struct ssh_conn *c = open_pinned();
	int out, err, status = -1;
	char *o, *e, want[128];

	out = output_file("out1");
	err = output_file("err1");
	ck_assert_int_eq(ssh_exec(c, "printf out; printf err >&2; exit 3",
	    -1, out, err, &status), 0);
	ck_assert_int_eq(status, 3);
	close(out);
	close(err);
	ck_assert_str_eq(o = slurp(path("out1")), "out");
	snprintf(want, sizeof(want), "check_ssh: %s:%d: err\n", MAIN->addr,
	    MAIN->port);
	ck_assert_str_eq(e = slurp(path("err1")), want);
	ck_assert_str_eq(ssh_last_stderr(c), "err");
	free(o);
	free(e);
	ssh_close(c);
}
END_TEST

START_TEST(test_stderr_is_passed_on_redacted_and_escaped)
{
	static const char secret[] = "pa55-w0rd-5ecret";
	struct ssh_conn *c = open_pinned();
	int err, status = -1;
	char *e, want[512];

	ck_assert_int_eq(log_secret(secret), 0);
	err = output_file("err2");
	/* As a command does that echoes what it was given, or worse. */
	ck_assert_int_eq(ssh_exec(c, "echo \"bad password: pa55-w0rd-5ecret"
	    "\" >&2; printf 'red\\033[31m\\n\\n' >&2; printf tail >&2",
	    -1, -1, err, &status), 0);
	close(err);
	ck_assert_int_eq(status, 0);
	snprintf(want, sizeof(want), "check_ssh: %s:%d: bad password: "
	    LOG_REDACTED "\ncheck_ssh: %s:%d: red\\x1b[31m\n"
	    "check_ssh: %s:%d: tail\n", MAIN->addr, MAIN->port, MAIN->addr,
	    MAIN->port, MAIN->addr, MAIN->port);
	ck_assert_str_eq(e = slurp(path("err2")), want);
	ck_assert_ptr_null(strstr(e, secret));
	ck_assert_ptr_null(strchr(e, '\x1b'));
	free(e);
	log_forget_secrets();
	ssh_close(c);
}
END_TEST

START_TEST(test_pipe_stderr_is_passed_on_redacted)
{
	static const char secret[] = "db-pa55-5ecret";
	struct ssh_conn *a = open_pinned(), *b = open_pinned();
	int err, ss = -1, ds = -1;
	char *e;

	ck_assert_int_eq(log_secret(secret), 0);
	err = output_file("err3");
	ck_assert_int_eq(ssh_pipe(a, "echo from db-pa55-5ecret >&2; echo x",
	    b, "cat >/dev/null; echo to db-pa55-5ecret >&2", err, &ss, &ds,
	    NULL), 0);
	close(err);
	ck_assert_int_eq(ss, 0);
	ck_assert_int_eq(ds, 0);
	e = slurp(path("err3"));
	ck_assert_ptr_nonnull(strstr(e, ": from " LOG_REDACTED "\n"));
	ck_assert_ptr_nonnull(strstr(e, ": to " LOG_REDACTED "\n"));
	ck_assert_ptr_null(strstr(e, secret));
	free(e);
	log_forget_secrets();
	ssh_close(a);
	ssh_close(b);
}
END_TEST

START_TEST(test_megabytes_on_stderr_and_stdout_do_not_hang)
{
	struct ssh_conn *c = open_pinned();
	struct stat st;
	int out, status = -1;

	out = output_file("out2");
	ck_assert_int_eq(ssh_exec(c, "head -c 1048576 /dev/zero >&2; "
	    "head -c 1048576 /dev/zero; head -c 1000 /dev/zero >&2",
	    -1, out, -1, &status), 0);
	close(out);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(stat(path("out2"), &st), 0);
	ck_assert_int_eq(st.st_size, 1048576);
	ssh_close(c);
}
END_TEST

START_TEST(test_stdin_from_a_file_is_delivered_whole)
{
	struct ssh_conn *c = open_pinned();
	char cmd[PATH_MAX + 8];
	int in, status = -1;

	ck_assert_int_ne(in = open(path("data"), O_RDONLY), -1);
	snprintf(cmd, sizeof(cmd), "cat >%s", path("data.got"));
	ck_assert_int_eq(ssh_exec(c, cmd, in, -1, -1, &status), 0);
	close(in);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(sh("cmp -s %s %s", path("data"), path("data.got")),
	    0);
	ssh_close(c);
}
END_TEST

START_TEST(test_stdin_from_a_pipe_is_counted_by_wc)
{
	struct ssh_conn *c = open_pinned();
	int p[2], out, status = -1;
	char *got;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "twelve bytes", 12), 12);
	close(p[1]);
	out = output_file("wc");
	ck_assert_int_eq(ssh_exec(c, "wc -c", p[0], out, -1, &status), 0);
	close(p[0]);
	close(out);
	ck_assert_int_eq(status, 0);
	ck_assert_str_eq(got = slurp(path("wc")), "12\n");
	free(got);
	ssh_close(c);
}
END_TEST

START_TEST(test_pinned_fingerprint_is_accepted_and_reported)
{
	struct ssh_conn *c = open_pinned();

	ck_assert_str_eq(ssh_fingerprint(c), MAIN->fp);
	ssh_close(c);
}
END_TEST

START_TEST(test_wrong_fingerprint_is_refused_before_authentication)
{
	struct ssh_conf conf = conf_pinned();
	int before = accepted_keys();

	int lines = log_count(MAIN, ""), port;
	char about[64], preauth[96];

	conf.fingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	open_refused(&conf, SSH_E_HOSTKEY);
	/*
	 * sshd saw the connection end with no user named, and every
	 * line it wrote about that connection is from before
	 * authentication: no key offered, none accepted, no session.
	 */
	port = preauth_port(MAIN, lines, 3000);
	ck_assert_msg(port > 0, "sshd logged no connection that ended "
	    "before authentication: see %s/sshd.log", MAIN->dir);
	snprintf(about, sizeof(about), "port %d[: ]", port);
	snprintf(preauth, sizeof(preauth), "port %d[: ].*\\[preauth\\]",
	    port);
	ck_assert_int_eq(log_count(MAIN, about), log_count(MAIN, preauth));
	snprintf(about, sizeof(about), "user .*port %d[: ]", port);
	ck_assert_int_eq(log_count(MAIN, about), 0);
	ck_assert_int_eq(accepted_keys(), before);
}
END_TEST

START_TEST(test_known_hosts_with_the_key_is_accepted)
{
	struct ssh_conf plain = conf_known_hosts("kh_good");
	struct ssh_conf hashed = conf_known_hosts("kh_hashed");

	ssh_close(open_ok(&plain));
	ssh_close(open_ok(&hashed));
}
END_TEST

START_TEST(test_known_hosts_with_another_key_is_refused)
{
	struct ssh_conf conf = conf_known_hosts("kh_bad");
	int before = accepted_keys();

	open_refused(&conf, SSH_E_HOSTKEY);
	ck_assert_int_eq(accepted_keys(), before);
}
END_TEST

START_TEST(test_known_hosts_without_the_host_is_refused)
{
	struct ssh_conf conf = conf_known_hosts("kh_missing");

	open_refused(&conf, SSH_E_HOSTKEY);
}
END_TEST

START_TEST(test_known_hosts_that_cannot_be_read_is_a_usage_error)
{
	struct ssh_conf conf = conf_known_hosts("no_such_file");

	open_refused(&conf, SSH_E_USAGE);
}
END_TEST

START_TEST(test_no_pinned_key_at_all_is_refused)
{
	struct ssh_conf conf = conf_pinned();

	conf.fingerprint = NULL;
	open_refused(&conf, SSH_E_USAGE);
}
END_TEST

START_TEST(test_malformed_fingerprint_is_a_usage_error)
{
	struct ssh_conf conf = conf_pinned();

	conf.fingerprint = "MD5:00:11";
	open_refused(&conf, SSH_E_USAGE);
}
END_TEST

START_TEST(test_wrong_client_key_fails_authentication)
{
	struct ssh_conf conf = conf_pinned();

	conf.key_file = path("other");
	open_refused(&conf, SSH_E_AUTH);
}
END_TEST

START_TEST(test_missing_key_file_is_a_usage_error)
{
	struct ssh_conf conf = conf_pinned();

	conf.key_file = path("no_such_key");
	open_refused(&conf, SSH_E_USAGE);
}
END_TEST

START_TEST(test_key_without_its_pub_file_still_works)
{
	struct ssh_conf conf = conf_pinned();

	ck_assert_int_eq(sh("cp %s %s", path("id"), path("lonely")), 0);
	conf.key_file = path("lonely");
	ssh_close(open_ok(&conf));
}
END_TEST

START_TEST(test_agent_keys_are_used_without_a_key_file)
{
	struct ssh_conf conf = conf_pinned();
	struct ssh_conn *c;
	int status = -1;

	ck_assert_int_eq(setenv("SSH_AUTH_SOCK", path("agent.sock"), 1), 0);
	conf.key_file = NULL;
	c = open_ok(&conf);
	ck_assert_int_eq(ssh_exec(c, "exit 7", -1, -1, -1, &status), 0);
	ck_assert_int_eq(status, 7);
	ssh_close(c);
	unsetenv("SSH_AUTH_SOCK");
}
END_TEST

START_TEST(test_no_agent_and_no_key_file_fails_authentication)
{
	struct ssh_conf conf = conf_pinned();

	unsetenv("SSH_AUTH_SOCK");
	conf.key_file = NULL;
	open_refused(&conf, SSH_E_AUTH);
}
END_TEST

START_TEST(test_upload_lands_with_exactly_the_mode_and_content)
{
	struct ssh_conn *c = open_pinned();
	struct stat st;
	char *got;

	ck_assert_int_eq(ssh_upload(c, "secret\n", 7, path("up/a"), 0600),
	    0);
	ck_assert_int_eq(stat(path("up/a"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_str_eq(got = slurp(path("up/a")), "secret\n");
	free(got);
	/* The sshd's umask (022 or so) would narrow 0664 to 0644. */
	ck_assert_int_eq(ssh_upload(c, "", 0, path("up/b"), 0664), 0);
	ck_assert_int_eq(stat(path("up/b"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0664);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert(!has_temporary(path("up")));
	ssh_close(c);
}
END_TEST

START_TEST(test_upload_replaces_an_existing_file_by_renaming)
{
	struct ssh_conn *c = open_pinned();
	struct stat st;
	char *got, *old;

	ck_assert_int_eq(sh("printf old >%s && ln %s %s", path("up/c"),
	    path("up/c"), path("up/c.link")), 0);
	ck_assert_int_eq(ssh_upload(c, "new", 3, path("up/c"), 0640), 0);
	ck_assert_str_eq(got = slurp(path("up/c")), "new");
	/* A rename leaves the old inode whole; a rewrite would not. */
	ck_assert_str_eq(old = slurp(path("up/c.link")), "old");
	ck_assert_int_eq(stat(path("up/c"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	ck_assert(!has_temporary(path("up")));
	free(got);
	free(old);
	ssh_close(c);
}
END_TEST

START_TEST(test_failed_upload_leaves_no_temporary)
{
	struct ssh_conn *c = open_pinned();

	ck_assert_int_eq(mkdir(path("up/dir"), 0755), 0);
	ck_assert_int_eq(ssh_upload(c, "x", 1, path("up/dir"), 0600), -1);
	ck_assert_int_eq(ssh_last_error(c), SSH_E_CHANNEL);
	ck_assert(!has_temporary(path("up")));
	ck_assert_int_eq(ssh_upload(c, "x", 1, path("up/nodir/f"), 0600),
	    -1);
	ck_assert_int_eq(ssh_upload(c, "x", 1, path("up/d"), 01777), -1);
	ck_assert_int_eq(ssh_last_error(c), SSH_E_USAGE);
	/* The connection is still good after refusals. */
	ck_assert_int_eq(ssh_upload(c, "x", 1, path("up/d"), 0600), 0);
	ssh_close(c);
}
END_TEST

START_TEST(test_pipe_moves_10_mb_between_two_connections)
{
	struct ssh_conn *a = open_pinned(), *b = open_pinned();
	char src[PATH_MAX + 8], dst[PATH_MAX + 8];
	int ss = -1, ds = -1;
	uint64_t bytes = 0;

	snprintf(src, sizeof(src), "cat %s", path("data"));
	snprintf(dst, sizeof(dst), "cat >%s", path("copy"));
	ck_assert_int_eq(ssh_pipe(a, src, b, dst, -1, &ss, &ds, &bytes),
	    0);
	ck_assert_int_eq(ss, 0);
	ck_assert_int_eq(ds, 0);
	ck_assert_uint_eq(bytes, DATA_LEN);
	ck_assert_int_eq(sh("test \"$(sha256sum <%s)\" = \"$(sha256sum "
	    "<%s)\"", path("data"), path("copy")), 0);
	ssh_close(a);
	ssh_close(b);
}
END_TEST

START_TEST(test_pipe_cuts_off_the_producer_when_the_consumer_ends)
{
	struct ssh_conn *a = open_pinned(), *b = open_pinned();
	int ss = -1, ds = -1, status = -1;
	uint64_t bytes = 0;

	ck_assert_int_eq(ssh_pipe(a, "yes", b, "head -c 1000 >/dev/null; "
	    "echo consumer done >&2; exit 4", -1, &ss, &ds, &bytes), 0);
	ck_assert_int_gt(ss, 128);
	ck_assert_int_eq(ds, 4);
	ck_assert_str_eq(ssh_last_stderr(b), "consumer done");
	/* Both connections stay usable. */
	ck_assert_int_eq(ssh_exec(a, "true", -1, -1, -1, &status), 0);
	ck_assert_int_eq(ssh_exec(b, "true", -1, -1, -1, &status), 0);
	ssh_close(a);
	ssh_close(b);
}
END_TEST

START_TEST(test_capture_returns_output_up_to_its_cap)
{
	struct ssh_conn *c = open_pinned();
	char *out = NULL;
	size_t len = 0;
	int status = -1;

	ck_assert_int_eq(ssh_exec_capture(c, "printf hello; echo first >&2;"
	    " echo last >&2; exit 2", &out, &len, 5, &status), 0);
	ck_assert_str_eq(out, "hello");
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(status, 2);
	ck_assert_str_eq(ssh_last_stderr(c), "last");
	free(out);
	ck_assert_int_eq(ssh_exec_capture(c, "head -c 100000 /dev/zero",
	    &out, &len, 1000, &status), -1);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(ssh_last_error(c), SSH_E_CHANNEL);
	/* Passing the cap closes that channel, not the connection. */
	ck_assert_int_eq(ssh_exec_capture(c, "echo again", &out, &len, 100,
	    &status), 0);
	ck_assert_str_eq(out, "again\n");
	free(out);
	ssh_close(c);
}
END_TEST

START_TEST(test_killed_command_reports_128_plus_the_signal)
{
	struct ssh_conn *c = open_pinned();
	int status = -1;

	ck_assert_int_eq(ssh_exec(c, "kill -TERM $$", -1, -1, -1, &status),
	    0);
	ck_assert_int_eq(status, 128 + SIGTERM);
	ssh_close(c);
}
END_TEST

/* CPU seconds this process has used. */
static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

START_TEST(test_quiet_command_outlasts_keepalives_without_spinning)
{
	struct ssh_conf conf = conf_pinned();
	struct ssh_conn *c;
	int before, status = -1;
	double cpu;

	/* libssh2 makes an interval of 1 s into 2 s anyway. */
	conf.keepalive_s = 2;
	conf.host = CHATTY->addr;
	conf.port = CHATTY->port;
	conf.fingerprint = CHATTY->fp;
	c = open_ok(&conf);
	before = keepalives();
	cpu = cpu_seconds();
	ck_assert_int_eq(ssh_exec(c, "sleep 2.5; exit 5", -1, -1, -1,
	    &status), 0);
	ck_assert_int_eq(status, 5);
	ck_assert_double_lt(cpu_seconds() - cpu, 0.5);
	ck_assert_int_ge(keepalives() - before, 1);
	ssh_close(c);
}
END_TEST

START_TEST(test_deadline_stops_a_command_that_waits)
{
	struct ssh_conf conf = conf_pinned();
	struct deadline d;
	struct ssh_conn *c;
	int p[2], status = -1;
	int64_t t0;

	conf.deadline = &d;
	deadline_set(&d, 5000);
	c = open_ok(&conf);
	ck_assert_int_eq(pipe(p), 0);
	deadline_set(&d, 300);
	t0 = util_now_ms();
	/* cat ends as soon as sshd closes its stdin: nothing lingers. */
	ck_assert_int_eq(ssh_exec(c, "cat", p[0], -1, -1, &status), -1);
	ck_assert_int_lt(util_now_ms() - t0, 2000);
	ck_assert_int_eq(ssh_last_error(c), SSH_E_DEADLINE);
	ck_assert_int_eq(ssh_exit_status(ssh_last_error(c)),
	    MKP_EXIT_DEADLINE);
	ck_assert_int_eq(ssh_exec(c, "true", -1, -1, -1, &status), -1);
	close(p[0]);
	close(p[1]);
	ssh_close(c);
}
END_TEST

/*
 * A listener that completes TCP handshakes but never says a word.
 * Returns its socket, with *port set.
 */
static int
mute_listener(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, len), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

START_TEST(test_silent_server_is_bounded_by_timeout_and_deadline)
{
	struct ssh_conf conf = conf_pinned();
	struct deadline d;
	int fd, port;
	int64_t t0 = util_now_ms();

	fd = mute_listener(&port);
	conf.host = "127.0.0.1";
	conf.port = port;
	conf.connect_timeout_ms = 300;
	open_refused(&conf, SSH_E_CONNECT);
	conf.connect_timeout_ms = 5000;
	deadline_set(&d, 300);
	conf.deadline = &d;
	open_refused(&conf, SSH_E_DEADLINE);
	ck_assert_int_lt(util_now_ms() - t0, 2000);
	close(fd);
}
END_TEST

START_TEST(test_closed_port_fails_to_connect)
{
	struct ssh_conf conf = conf_pinned();
	int fd, port;

	fd = mute_listener(&port);
	close(fd);
	conf.host = "127.0.0.1";
	conf.port = port;
	open_refused(&conf, SSH_E_CONNECT);
}
END_TEST

START_TEST(test_errors_have_names_and_exit_statuses)
{
	int e;

	for (e = 0; e < SSH_E__MAX; e++)
		ck_assert_ptr_nonnull(ssh_strerror((enum ssh_error)e));
	ck_assert_str_eq(ssh_strerror(SSH_E__MAX), "unknown error");
	ck_assert_int_eq(ssh_exit_status(SSH_E_DEADLINE), MKP_EXIT_DEADLINE);
	ck_assert_int_eq(ssh_exit_status(SSH_E_USAGE), MKP_EXIT_USAGE);
	ck_assert_int_eq(ssh_exit_status(SSH_E_HOSTKEY), MKP_EXIT_VERIFY);
	ck_assert_int_eq(ssh_exit_status(SSH_E_AUTH), MKP_EXIT_FAIL);
	ck_assert_int_eq(ssh_exit_status(SSH_E_CONNECT), MKP_EXIT_FAIL);
	ck_assert_int_eq(ssh_exit_status(SSH_E_CHANNEL), MKP_EXIT_FAIL);
	ck_assert_int_eq(ssh_exit_status(SSH_E_NOMEM), MKP_EXIT_FAIL);
}
END_TEST

/*
 * Run every test against the fixture's two sshds and its agent.
 * Returns 0 when all passed, else 1.
 */
int
main(void)
{
	const TTest *const tests[] = {
		test_exec_returns_stdout_stderr_and_status,
		test_stderr_is_passed_on_redacted_and_escaped,
		test_pipe_stderr_is_passed_on_redacted,
		test_megabytes_on_stderr_and_stdout_do_not_hang,
		test_stdin_from_a_file_is_delivered_whole,
		test_stdin_from_a_pipe_is_counted_by_wc,
		test_pinned_fingerprint_is_accepted_and_reported,
		test_wrong_fingerprint_is_refused_before_authentication,
		test_known_hosts_with_the_key_is_accepted,
		test_known_hosts_with_another_key_is_refused,
		test_known_hosts_without_the_host_is_refused,
		test_known_hosts_that_cannot_be_read_is_a_usage_error,
		test_no_pinned_key_at_all_is_refused,
		test_malformed_fingerprint_is_a_usage_error,
		test_wrong_client_key_fails_authentication,
		test_missing_key_file_is_a_usage_error,
		test_key_without_its_pub_file_still_works,
		test_agent_keys_are_used_without_a_key_file,
		test_no_agent_and_no_key_file_fails_authentication,
		test_upload_lands_with_exactly_the_mode_and_content,
		test_upload_replaces_an_existing_file_by_renaming,
		test_failed_upload_leaves_no_temporary,
		test_pipe_moves_10_mb_between_two_connections,
		test_pipe_cuts_off_the_producer_when_the_consumer_ends,
		test_capture_returns_output_up_to_its_cap,
		test_killed_command_reports_128_plus_the_signal,
		test_quiet_command_outlasts_keepalives_without_spinning,
		test_deadline_stops_a_command_that_waits,
		test_silent_server_is_bounded_by_timeout_and_deadline,
		test_closed_port_fails_to_connect,
		test_errors_have_names_and_exit_statuses,
		NULL
	};

	return fixture_main("ssh", "sshd-fixture", fixture_start,
	    fixture_stop, tests);
}
