/*
 * mkp-secrets: phase 1 of the runbook: check the prerequisites, log in
 * to Infisical with a machine identity, and prove that every secret the
 * later phases need is there.
 *
 * Every problem found is reported in the same run, so a person fixes
 * them all at once instead of one per run.  The secrets go to a .env
 * file of mode 0600 that Docker Compose reads back unchanged; their
 * values are never printed, and the stamp names them without values.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "dotenv.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "mkprov.h"
#include "proc.h"
#include "util.h"

/* The largest secret list and login answer read from Infisical. */
#define SECRETS_MAX	(8 * 1024 * 1024)
#define VERSION_MAX	512

struct opts {
	const char	*host;
	const char	*url;		/* Infisical, without /api */
	const char	*project;
	const char	*envslug;
	const char	*path;
	const char	*cafile;
	const char	*creds;		/* .env with the identity */
	const char	*devices;	/* secret listing the devices */
	const char	*sshkey;	/* NULL: ssh-agent */
	const char	*bundle;	/* age bundle, or NULL */
	const char	*out;		/* secrets.env */
	const char	*stamp;
	char		**required;
	int		 nrequired;
};

/*
 * A local program a phase runs, and the shell command that prints its
 * version first (ssh-keygen has no version flag: it is OpenSSH's, which
 * ssh -V prints on stderr).
 */
struct tool {
	const char	*name;
	const char	*version_cmd;
	int		 need_bundle;
	char		 version[128];
};

static struct tool tools[] = {
	{ "ansible-playbook", "ansible-playbook --version", 0, "" },
	{ "ansible-inventory", "ansible-inventory --version", 0, "" },
	{ "ssh-keygen", "ssh -V 2>&1", 0, "" },
	{ "jq", "jq --version", 0, "" },
	{ "age", "age --version", 1, "" },
};


/* What a usage error prints after "usage: ". */
#define SYNOPSIS	"mkp-secrets [-v] -H host -u infisical-url " \
	"-p project-id -e environment\n" \
	"    -P secret-path -D devices-secret -o secrets.env " \
	"-s stamp [-c cafile]\n" \
	"    [-C credentials] [-k ssh-key] [-b bundle] " \
	"[required-secret ...]"

/*
 * Find one tool and ask its version (first line of its output).
 * Returns 0, or -1 when it is missing (reported by the caller).
 */
static int
tool_probe(struct tool *t)
{
	static char	 sh[] = "/bin/sh", c[] = "-c";
	char		 path[4096], *out, *nl;
	char		*argv[4] = { sh, c, NULL, NULL };
	int		 status;

	if (proc_find(t->name, path, sizeof(path)) == -1)
		return -1;
	snprintf(t->version, sizeof(t->version), "present");
	argv[2] = (char *)(uintptr_t)t->version_cmd;
	if (proc_capture(argv, &out, VERSION_MAX, &status) == -1)
		return 0;
	if ((nl = strchr(out, '\n')) != NULL)
		*nl = '\0';
	if (status == 0 && *out != '\0')
		snprintf(t->version, sizeof(t->version), "%s", out);
	free(out);
	return 0;
}

/*
 * Check the local tools.  Returns the number of problems (logged).
 */
static int
check_tools(const struct opts *o)
{
	size_t	 i;
	int	 bad = 0;

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		if (tools[i].need_bundle && o->bundle == NULL)
			continue;
		if (tool_probe(&tools[i]) == -1) {
			log_err(tools[i].name, "not found in PATH: run "
			    "make deps, or install it");
			bad++;
		} else
			log_info(tools[i].name, "%s", tools[i].version);
	}
	if (o->bundle != NULL && access(o->bundle, R_OK) == -1) {
		log_errno(o->bundle, "BOOTSTRAP_BUNDLE unreadable: give the "
		    "age bundle of the bootstrap secrets, or leave it empty");
		bad++;
	}
	return bad;
}

/*
 * Check that an SSH key is at hand: the configured file, or a key in
 * ssh-agent.  Returns the number of problems (logged).
 */
static int
check_ssh_key(const struct opts *o)
{
	static char	 prog[] = "ssh-add", list[] = "-l";
	char		*argv[] = { prog, list, NULL }, *out;
	int		 status;

	if (o->sshkey != NULL) {
		if (access(o->sshkey, R_OK) == 0)
			return 0;
		log_errno(o->sshkey, "SSH key unreadable: set SSH_KEY to "
		    "a private key file");
		return 1;
	}
	if (getenv("SSH_AUTH_SOCK") == NULL) {
		log_err("ssh-agent", "not running and no SSH_KEY set: "
		    "start an agent and ssh-add a key, or set SSH_KEY");
		return 1;
	}
	if (proc_capture(argv, &out, VERSION_MAX, &status) == -1)
		return 1;
	free(out);
	if (status == 127) {
		log_err("ssh-add", "not found in PATH: install "
		    "openssh-client, or set SSH_KEY");
		return 1;
	}
	if (status != 0) {
		log_err("ssh-agent", "holds no key: ssh-add one, or set "
		    "SSH_KEY");
		return 1;
	}
	return 0;
}

/*
 * Print the error an API answered, escaped by the log, naming url.
 */
static void
api_error(const char *url, const struct http_resp *r)
{
	struct json_err	 err;
	const char	*msg = NULL, *name = NULL;
	yajl_val	 v;

	if ((v = json_parse(r->body, r->len, &err)) != NULL) {
		json_str(v, "message", &msg, &err);
		json_str(v, "error", &name, &err);
	}
	log_err(url, "HTTP %ld: %s%s%s", r->status, name ? name : "",
	    name ? ": " : "", msg ? msg : "no message");
	json_free(v);
}

/*
 * GET url/api/status: Infisical must answer "Ok" with a certificate we
 * trust.  Returns 0, or the exit status to end with (logged).
 */
static int
check_infisical(struct http_client *c, const struct opts *o)
{
	struct http_req	 req = { 0 };
	struct http_resp r;
	struct json_err	 err;
	const char	*msg;
	char		 url[2048];
	yajl_val	 v = NULL;
	int		 rc = MKP_EXIT_FAIL;

	snprintf(url, sizeof(url), "%s/api/status", o->url);
	req.url = url;
	if (http_request(c, &req, &r) == -1)
		return http_exit_status(r.error);
	if (r.status != 200)
		api_error(url, &r);
	else if ((v = json_parse(r.body, r.len, &err)) == NULL ||
	    json_str(v, "message", &msg, &err) == -1)
		log_err(url, "not an Infisical status: %s", err.msg);
	else if (strcmp(msg, "Ok") != 0)
		log_err(url, "Infisical says \"%s\", not \"Ok\"", msg);
	else
		rc = 0;
	json_free(v);
	http_resp_free(&r);
	return rc;
}

/* The signal that cut a prompt short, raised again once echo is back. */
static volatile sig_atomic_t prompt_signo;

/*
 * Note the signal; fgets then returns early (no SA_RESTART).
 */
static void
prompt_caught(int signo)
{
	prompt_signo = signo;
}

/*
 * Read one line from tty into buf, without echo when secret.  Echo is
 * put back whatever happens: a signal that arrives meanwhile is held
 * until then and raised again.  A secret is never read with echo on.
 * Returns 0, or -1 (logged when the terminal would echo the secret).
 */
static int
prompt(FILE *tty, const char *what, int secret, char *buf, size_t bufsz)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM,
	    SIGTSTP };
	struct sigaction sa = { 0 }, saved[sizeof(sigs) / sizeof(sigs[0])];
	struct termios	 old, quiet;
	size_t		 i;
	int		 rc = -1;

	if (secret && tcgetattr(fileno(tty), &old) == -1) {
		log_errno("/dev/tty", "cannot turn echo off to ask the %s",
		    what);
		return -1;
	}
	prompt_signo = 0;
	sa.sa_handler = prompt_caught;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &saved[i]);
	if (secret) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
	}
	/* Echo goes off before the prompt shows, never after. */
	if (!secret || tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0) {
		fprintf(tty, "%s: ", what);
		fflush(tty);
		if (fgets(buf, (int)bufsz, tty) != NULL && !prompt_signo) {
			buf[strcspn(buf, "\r\n")] = '\0';
			rc = 0;
		}
		if (secret) {
			tcsetattr(fileno(tty), TCSAFLUSH, &old);
			fputc('\n', tty);
		}
	}
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &saved[i], NULL);
	if (prompt_signo)
		raise(prompt_signo);
	return rc;
}

/*
 * Cut the last component off path, in place: "." when none is left.
 * Returns path.
 */
static char *
parent(char *path)
{
	char	*slash;

	if ((slash = strrchr(path, '/')) == NULL)
		strcpy(path, ".");
	else if (slash == path)
		slash[1] = '\0';
	else
		*slash = '\0';
	return path;
}

/*
 * Ask the terminal for the machine identity.  Runs of several hosts
 * at once (make -j HOSTS=...) take turns, both questions at a time:
 * they share a lock file in the state directory above the host's own
 * (the one secrets.env is in).  Returns 0, or -1 when there is no
 * terminal or no answer (logged only for a terminal that cannot hide
 * the secret, or a lock that cannot be taken).
 */
static int
ask_identity(const struct opts *o, char *id, char *secret, size_t sz)
{
	FILE	*tty;
	char	 lock[4096];
	int	 fd, rc = -1;

	if ((tty = fopen("/dev/tty", "r+e")) == NULL)
		return -1;
	snprintf(lock, sizeof(lock), "%s", o->out);
	parent(parent(lock));
	snprintf(lock + strlen(lock), sizeof(lock) - strlen(lock),
	    "/prompt.lock");
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    flock(fd, LOCK_EX) == -1)
		log_errno(lock, "lock for the terminal's questions");
	else if (prompt(tty, "Machine identity client ID", 0, id,
	    sz) == 0 && prompt(tty, "Machine identity client secret", 1,
	    secret, sz) == 0)
		rc = 0;
	if (fd != -1)
		close(fd);
	fclose(tty);
	return rc;
}

/*
 * Find the machine identity: the environment, then the credentials
 * file (which must be 0600 and ours), then the terminal.  Returns 0
 * with id and secret filled, or -1 (logged).
 */
static int
credentials(const struct opts *o, char *id, char *secret, size_t sz)
{
	struct dotenv	 env = { 0 };
	const char	*i = getenv("INFISICAL_CLIENT_ID");
	const char	*s = getenv("INFISICAL_CLIENT_SECRET");
	int		 rc = -1;

	if ((i == NULL || s == NULL) && o->creds != NULL) {
		/* dotenv_load refuses a file others could read. */
		if (dotenv_load(o->creds, &env) == -1)
			return -1;
		i = dotenv_get(&env, "INFISICAL_CLIENT_ID");
		s = dotenv_get(&env, "INFISICAL_CLIENT_SECRET");
	}
	if (i != NULL && s != NULL) {
		snprintf(id, sz, "%s", i);
		snprintf(secret, sz, "%s", s);
		rc = 0;
	} else if (ask_identity(o, id, secret, sz) == 0)
		rc = 0;
	else
		log_err("INFISICAL_CLIENT_ID", "not set and no terminal to "
		    "ask on: export INFISICAL_CLIENT_ID and "
		    "INFISICAL_CLIENT_SECRET, or set INFISICAL_CREDENTIALS");
	dotenv_free(&env);
	if (rc == 0 && (*id == '\0' || *secret == '\0')) {
		log_err("INFISICAL_CLIENT_ID", "empty machine identity: "
		    "give its client ID and secret");
		rc = -1;
	}
	return rc;
}

/*
 * Log in with universal auth.  Returns 0 with *token (to be freed)
 * and *expires set, or the exit status to end with (logged).
 */
static int
login(struct http_client *c, const struct opts *o, char **token,
    long long *expires)
{
	struct json_w	 w;
	struct http_req	 req = { 0 };
	struct http_resp r;
	struct json_err	 err;
	const char	*tok;
	char		 url[2048], id[1024], secret[1024], *body;
	size_t		 len;
	yajl_val	 v = NULL;
	int		 rc = MKP_EXIT_FAIL;

	if (credentials(o, id, secret, sizeof(id)) == -1)
		return MKP_EXIT_USAGE;
	/* A secret the log cannot hide must not reach any output. */
	if (log_secret(secret) == -1 || jw_init(&w) == -1) {
		log_errno(o->host, "login");
		explicit_bzero(secret, sizeof(secret));
		return MKP_EXIT_FAIL;
	}
	jw_obj_open(&w);
	jw_kv_str(&w, "clientId", id);
	jw_kv_str(&w, "clientSecret", secret);
	jw_obj_close(&w);
	explicit_bzero(secret, sizeof(secret));
	if (jw_finish(&w, &body, &len) == -1) {
		jw_free(&w);
		return MKP_EXIT_FAIL;
	}
	jw_free(&w);
	snprintf(url, sizeof(url), "%s/api/v1/auth/universal-auth/login",
	    o->url);
	req.method = "POST";
	req.url = url;
	req.body = body;
	req.body_len = len;
	req.secret_bodies = 1;
	if (http_request(c, &req, &r) == -1) {
		rc = http_exit_status(r.error);
		goto out;
	}
	if (r.status == 401) {
		api_error(url, &r);
		log_err(o->host, "login refused: check the machine "
		    "identity's client ID and secret");
		rc = MKP_EXIT_USAGE;
	} else if (r.status != 200)
		api_error(url, &r);
	else if ((v = json_parse(r.body, r.len, &err)) == NULL ||
	    json_str(v, "accessToken", &tok, &err) == -1 ||
	    json_int(v, "expiresIn", expires, &err) == -1)
		log_err(url, "unexpected answer: %s", err.msg);
	else if ((*token = strdup(tok)) == NULL || log_secret(*token) == -1)
		log_errno(url, "access token");
	else
		rc = 0;
	json_free(v);
	http_resp_free(&r);
out:
	explicit_bzero(body, len);
	free(body);
	return rc;
}

/*
 * Add the secrets of the array at path in v to env, keeping those
 * already there when keep is set (local secrets beat imported ones).
 * Returns 0, or -1 (logged).
 */
static int
add_secrets(yajl_val v, const char *path, struct dotenv *env, int keep,
    const char *url)
{
	struct json_err	 err;
	const char	*key, *val;
	yajl_val	 arr, s;
	size_t		 i, n;
	int		 hidden;

	if (json_arr(v, path, &arr, &n, &err) == -1) {
		log_err(url, "unexpected answer: %s", err.msg);
		return -1;
	}
	for (i = 0; i < n; i++) {
		s = arr->u.array.values[i];
		if (json_str(s, "secretKey", &key, &err) == -1 ||
		    json_str(s, "secretValue", &val, &err) == -1) {
			log_err(url, "unexpected secret: %s", err.msg);
			return -1;
		}
		if (json_bool(s, "secretValueHidden", &hidden, &err) == 0 &&
		    hidden) {
			log_err(url, "%s: value hidden: give the identity "
			    "read access to secret values", key);
			return -1;
		}
		if (log_secret(val) == -1) {
			log_errno(url, "%s", key);
			return -1;
		}
		if (keep && dotenv_get(env, key) != NULL)
			continue;
		if (dotenv_set(env, key, val) == -1) {
			log_errno(url, "dotenv_set");
			return -1;
		}
	}
	return 0;
}

/*
 * Merge an answer of /api/v4/secrets (or v3/secrets/raw) into env as
 * the Infisical CLI does: the path's own secrets, then imports from
 * the last to the first, none replacing a secret already there.
 * Returns 0, or -1 (logged).
 */
static int
merge(const char *url, const struct http_resp *r, struct dotenv *env)
{
	struct json_err	 err;
	yajl_val	 v, imports;
	size_t		 i, n = 0;
	char		 path[64];
	int		 rc = -1;

	if ((v = json_parse(r->body, r->len, &err)) == NULL) {
		log_err(url, "unexpected answer: %s", err.msg);
		return -1;
	}
	if (add_secrets(v, "secrets", env, 0, url) == -1)
		goto out;
	if (json_at(v, "imports") != NULL &&
	    json_arr(v, "imports", &imports, &n, &err) == -1) {
		log_err(url, "unexpected answer: %s", err.msg);
		goto out;
	}
	for (i = n; i > 0; i--) {
		snprintf(path, sizeof(path), "imports[%zu].secrets", i - 1);
		if (add_secrets(v, path, env, 1, url) == -1)
			goto out;
	}
	rc = 0;
out:
	json_free(v);
	return rc;
}

/*
 * Build the URL that lists the secrets of spath, v4 or the older v3
 * form.  Returns 0, or -1 (logged).
 */
static int
secrets_url(const struct opts *o, const char *spath, int v3, char *url,
    size_t sz)
{
	char	*proj, *env, *path;
	int	 n = -1;

	proj = http_escape(o->project);
	env = http_escape(o->envslug);
	path = http_escape(spath);
	if (proj != NULL && env != NULL && path != NULL)
		n = snprintf(url, sz, "%s/api/%s?%s=%s&environment=%s"
		    "&secretPath=%s&viewSecretValue=true"
		    "&expandSecretReferences=true&include_imports=true"
		    "&includeImports=true", o->url,
		    v3 ? "v3/secrets/raw" : "v4/secrets",
		    v3 ? "workspaceId" : "projectId", proj, env, path);
	free(proj);
	free(env);
	free(path);
	if (n < 0 || (size_t)n >= sz) {
		log_err(o->url, "URL too long");
		return -1;
	}
	return 0;
}

/*
 * Say what is missing when the listing was refused as not found: the
 * path, when the environment's root can be listed, else the
 * environment (or the project).  Returns the usage status.
 */
static int
missing(struct http_client *c, const struct opts *o, int v3)
{
	struct http_req	 req = { 0 };
	struct http_resp r;
	char		 url[4096];
	int		 root = 0;

	if (strcmp(o->path, "/") != 0 &&
	    secrets_url(o, "/", v3, url, sizeof(url)) == 0) {
		req.url = url;
		req.secret_bodies = 1;
		if (http_request(c, &req, &r) == 0)
			root = r.status == 200;
		http_resp_free(&r);
	}
	if (root)
		log_err(o->host, "path '%s' missing in environment '%s' of "
		    "project %s: check INFISICAL_PATH", o->path, o->envslug,
		    o->project);
	else
		log_err(o->host, "environment '%s' missing in project %s: "
		    "check INFISICAL_ENV and INFISICAL_PROJECT_ID",
		    o->envslug, o->project);
	return MKP_EXIT_USAGE;
}

/*
 * Fetch the environment's secrets into env.  A server without the v4
 * route (Infisical before 2025) is asked the v3 way.  Returns 0, or
 * the exit status to end with (logged).
 */
static int
fetch(const struct opts *o, const char *token, struct dotenv *env)
{
	struct http_conf conf = { 0 };
	struct http_client *c;
	struct http_req	 req = { 0 };
	struct http_resp r;
	char		 url[4096];
	int		 v3, rc = MKP_EXIT_FAIL;

	conf.cafile = o->cafile;
	conf.token = token;
	conf.max_body = SECRETS_MAX;
	if ((c = http_new(&conf)) == NULL)
		return MKP_EXIT_FAIL;
	for (v3 = 0; v3 < 2; v3++) {
		if (secrets_url(o, o->path, v3, url, sizeof(url)) == -1)
			break;
		req.url = url;
		req.secret_bodies = 1;
		if (http_request(c, &req, &r) == -1) {
			rc = http_exit_status(r.error);
			break;
		}
		if (r.status == 404 && !v3 && strstr(r.body, "\"Route ")) {
			http_resp_free(&r);
			continue;
		}
		if (r.status == 200)
			rc = merge(url, &r, env) == 0 ? 0 : MKP_EXIT_FAIL;
		else {
			api_error(url, &r);
			rc = r.status == 404 || r.status == 400 ?
			    missing(c, o, v3) : MKP_EXIT_FAIL;
		}
		http_resp_free(&r);
		break;
	}
	http_free(c);
	return rc;
}

/*
 * Report one required secret that is missing or empty.  Returns 1 when
 * it is, else 0.
 */
static int
need(const struct opts *o, const struct dotenv *env, const char *key)
{
	const char	*v = dotenv_get(env, key);

	if (v != NULL && *v != '\0')
		return 0;
	log_err(o->host, "%s: %s in %s%s", key, v ? "empty" : "missing",
	    o->envslug, o->path);
	return 1;
}

/*
 * Check every required secret, the device list and each device's two
 * keys, reporting all that are missing.  Returns the number missing.
 */
static int
check_required(const struct opts *o, const struct dotenv *env,
    char *devices, size_t sz)
{
	const char	*list;
	char		*dev, *save, key[256];
	int		 i, bad = 0;

	for (i = 0; i < o->nrequired; i++)
		bad += need(o, env, o->required[i]);
	*devices = '\0';
	if (need(o, env, o->devices))
		return bad + 1;
	list = dotenv_get(env, o->devices);
	snprintf(devices, sz, "%s", list);
	for (dev = strtok_r(devices, ", \t\n", &save); dev != NULL;
	    dev = strtok_r(NULL, ", \t\n", &save)) {
		snprintf(key, sizeof(key), "SSH_KEY_%s_PUBLIC", dev);
		bad += need(o, env, key);
		snprintf(key, sizeof(key), "SSH_KEY_%s_STATUS", dev);
		bad += need(o, env, key);
	}
	snprintf(devices, sz, "%s", list);
	return bad;
}

/*
 * Sort helper: order variables by key, as infisical export does.
 */
static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct dotenv_var *)a)->key,
	    ((const struct dotenv_var *)b)->key);
}

/*
 * Write every secret to the .env file, mode 0600, sorted by key; a key
 * no shell could name is left out with a warning.  Returns 0 or -1.
 */
static int
write_env(const struct opts *o, struct dotenv *env)
{
	struct dotenv_buf	 b = { 0 };
	size_t			 i;
	int			 rc = 0;

	qsort(env->vars, env->n, sizeof(env->vars[0]), by_key);
	for (i = 0; i < env->n && rc == 0; i++) {
		if (!dotenv_valid_key(env->vars[i].key)) {
			log_warn(env->vars[i].key, "not a variable name: "
			    "left out of %s", o->out);
			continue;
		}
		rc = dotenv_append(&b, env->vars[i].key, env->vars[i].val);
	}
	if (rc == -1)
		log_errno(o->out, "cannot build");
	else
		rc = util_write_atomic(o->out, b.s ? b.s : "", b.len, 0600);
	dotenv_buf_free(&b);
	return rc;
}

/*
 * Write the stamp: what was verified, when, and with which tools; no
 * secret value.  Returns 0 or -1.
 */
static int
write_stamp(const struct opts *o, const struct dotenv *env,
    const char *devices, long long expires)
{
	struct json_w	 w;
	char		 when[32];
	size_t		 i;

	util_utc_now(when, sizeof(when));
	if (jw_init(&w) == -1)
		return -1;
	jw_obj_open(&w);
	jw_kv_str(&w, "host", o->host);
	jw_kv_str(&w, "verified_at", when);
	jw_kv_str(&w, "infisical_url", o->url);
	jw_kv_str(&w, "project_id", o->project);
	jw_kv_str(&w, "environment", o->envslug);
	jw_kv_str(&w, "secret_path", o->path);
	jw_kv_int(&w, "secrets", (long long)env->n);
	jw_kv_str(&w, "devices", devices);
	jw_kv_int(&w, "token_expires_in", expires);
	jw_key(&w, "tools");
	jw_obj_open(&w);
	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (tools[i].version[0] != '\0')
			jw_kv_str(&w, tools[i].name, tools[i].version);
	jw_obj_close(&w);
	jw_obj_close(&w);
	return jw_write_file(&w, o->stamp, 0600);
}

/*
 * Parse the command line into o.  Returns 0, or the usage status
 * (logged).
 */
static int
parse_args(int argc, char *argv[], struct opts *o)
{
	int	 ch;

	while ((ch = getopt(argc, argv, ":b:C:c:D:e:H:k:o:P:p:s:u:v")) != -1)
		switch (ch) {
		case 'b': o->bundle = *optarg ? optarg : NULL; break;
		case 'C': o->creds = *optarg ? optarg : NULL; break;
		case 'c': o->cafile = *optarg ? optarg : NULL; break;
		case 'D': o->devices = optarg; break;
		case 'e': o->envslug = optarg; break;
		case 'H': o->host = optarg; break;
		case 'k': o->sshkey = *optarg ? optarg : NULL; break;
		case 'o': o->out = optarg; break;
		case 'P': o->path = optarg; break;
		case 'p': o->project = optarg; break;
		case 's': o->stamp = optarg; break;
		case 'u': o->url = optarg; break;
		case 'v': log_verbosity++; break;
		default: return log_usage(ch, SYNOPSIS);
		}
	if (!o->host || !o->url || !o->project || !o->envslug ||
	    !o->path || !o->devices || !o->out || !o->stamp)
		return log_usage(0, SYNOPSIS);
	o->required = argv + optind;
	o->nrequired = argc - optind;
	return 0;
}

/*
 * Parse the command line, run the helper, and exit with the status of
 * the contract in mkprov.h.
 */
int
main(int argc, char *argv[])
{
	struct opts	 o = { 0 };
	struct http_conf conf = { 0 };
	struct http_client *c;
	struct dotenv	 env = { 0 };
	char		*token = NULL, devices[1024];
	long long	 expires = 0;
	int		 bad, rc;

	log_init(argv[0]);
	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc;

	conf.cafile = o.cafile;
	if ((c = http_new(&conf)) == NULL)
		return MKP_EXIT_USAGE;
	bad = check_tools(&o) + check_ssh_key(&o);
	rc = check_infisical(c, &o);
	if (bad > 0) {
		log_err(o.host, "%d prerequisite%s missing: see above", bad,
		    bad == 1 ? "" : "s");
		rc = MKP_EXIT_USAGE;
	}
	if (rc == 0)
		rc = login(c, &o, &token, &expires);
	http_free(c);
	if (rc == 0)
		rc = fetch(&o, token, &env);
	if (rc == 0 && (bad = check_required(&o, &env, devices,
	    sizeof(devices))) > 0) {
		log_err(o.host, "%d required secret%s missing or empty in "
		    "%s: add them in Infisical", bad, bad == 1 ? "" : "s",
		    o.envslug);
		rc = MKP_EXIT_VERIFY;
	}
	if (rc == 0 && (write_env(&o, &env) == -1 ||
	    write_stamp(&o, &env, devices, expires) == -1))
		rc = MKP_EXIT_FAIL;
	if (token != NULL) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	dotenv_free(&env);
	return rc;
}
