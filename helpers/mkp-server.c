/*
 * mkp-server: phase 2 of the runbook: a Hetzner Cloud server for the
 * host, reachable over SSH with a host key mkprov pinned, and done with
 * cloud-init.
 *
 * The server is created with a label naming the host, and a server of
 * that name is always looked for first: a run that crashed between the
 * create call and the stamp adopts the server it made instead of
 * making a second one.  A server of that name without the label was
 * not made by mkprov and is left alone.
 *
 * The host key is generated here and handed to cloud-init in the user
 * data, so the very first login is already pinned.  Hetzner keeps the
 * user data, so once logged in the key is replaced on the server and
 * the new one pinned: the key Hetzner holds then opens nothing.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <strings.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dotenv.h"
#include "hcloud.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "mkprov.h"
#include "proc.h"
#include "ssh.h"
#include "util.h"

#define MAX_LABELS	16
#define MAX_KEYS	16
#define CAPTURE_MAX	(256 * 1024)
#define SSH_RETRY_MS	2000
/* The longest one wait for cloud-init may last before it is shown. */
#define CLOUD_INIT_POLL_S 10

struct opts {
	const char	*host;
	const char	*api;
	const char	*cafile;
	const char	*envfile;	/* secrets.env from phase 1 */
	const char	*type;
	const char	*image;
	const char	*location;
	const char	*labels[MAX_LABELS];
	int		 nlabels;
	const char	*devices;	/* secret listing the devices */
	const char	*user;
	int		 port;
	const char	*sshkey;	/* NULL: ssh-agent */
	const char	*dir;		/* state/HOST */
	const char	*stamp;
	int64_t		 wait_ms;
	int		 plan;
};

/* What the run learned, for the stamp. */
struct facts {
	struct hcloud_server srv;
	int		 adopted;
	char		 fingerprint[128];
	char		 cloud_init[32];
	int64_t		 t_start, t_created, t_ssh, t_ready;
};


/* What a usage error prints after "usage: ". */
#define SYNOPSIS	"mkp-server [-v] -H host -a api-url " \
	"-E secrets.env -t type -i image\n" \
	"    -l location [-L key=value ...] -D devices-secret " \
	"-u ssh-user [-p ssh-port]\n" \
	"    -d state-dir (-s stamp | -n) [-c cafile] [-k ssh-key] " \
	"[-w wait]"

/*
 * Build a path in the host's state directory.
 */
static const char *
state_path(const struct opts *o, const char *name)
{
	static char	 buf[4][1024];
	static int	 i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", o->dir, name);
	return buf[i];
}

/*
 * Look for a key of the project whose base64 part is blob.  Returns 1
 * with *id set, 0 when there is none, or -1 (logged).
 */
static int
key_by_blob(struct hcloud *h, const char *blob, long long *id)
{
	struct hcloud_key *keys;
	size_t		 n, i;
	int		 found = 0;

	if (hcloud_keys(h, &keys, &n) == -1)
		return -1;
	for (i = 0; i < n && !found; i++)
		if (strcmp(keys[i].blob, blob) == 0) {
			*id = keys[i].id;
			found = 1;
		}
	free(keys);
	return found;
}

/*
 * Upload one device's public key as a key named for the device.  A
 * run for another host (make -j HOSTS=...) may upload the same key
 * first: the uniqueness error that follows is then no error.  Returns
 * 0 with *id set, or an exit status (logged).
 */
static int
upload_key(struct hcloud *h, const char *device, const char *pub,
    const char *blob, long long *id)
{
	struct hcloud	 taken;
	struct json_w	 w;
	struct json_err	 err;
	char		 name[128], *body;
	size_t		 len, i;
	yajl_val	 v;
	int		 rc;

	snprintf(name, sizeof(name), "%s", device);
	for (i = 0; name[i] != '\0'; i++)
		name[i] = (char)tolower((unsigned char)name[i]);
	if (jw_init(&w) == -1)
		return MKP_EXIT_FAIL;
	jw_obj_open(&w);
	jw_kv_str(&w, "name", name);
	jw_kv_str(&w, "public_key", pub);
	jw_key(&w, "labels");
	jw_obj_open(&w);
	jw_kv_str(&w, "mkprov/device", name);
	jw_obj_close(&w);
	jw_obj_close(&w);
	rc = jw_finish(&w, &body, &len);
	jw_free(&w);
	if (rc == -1)
		return MKP_EXIT_FAIL;
	rc = hcloud_call(h, "POST", "/ssh_keys", body, 201, &v);
	free(body);
	if (rc == 1 && strcmp(h->code, "uniqueness_error") == 0) {
		taken = *h;	/* the listing overwrites h's error */
		if ((rc = key_by_blob(h, blob, id)) == 1) {
			log_info(device, "SSH key uploaded meanwhile by "
			    "another run");
			return 0;
		}
		if (rc == -1)
			return h->exit;
		hcloud_report(&taken);
		log_err(device, "the project has another key named \"%s\": "
		    "rename or delete it", name);
		return MKP_EXIT_USAGE;
	}
	if (rc == 1) {
		hcloud_report(h);
		return MKP_EXIT_FAIL;
	}
	if (rc == -1)
		return h->exit;
	rc = json_int(v, "ssh_key.id", id, &err);
	if (rc == -1)
		log_err(h->url, "unexpected answer: %s", err.msg);
	else
		log_info(device, "SSH key uploaded as \"%s\"", name);
	json_free(v);
	return rc == -1 ? MKP_EXIT_FAIL : 0;
}

/*
 * Upload the public key of every active device the project lacks;
 * keys already there (under any name) are used as they are.  Fills
 * ids with the keys' ids.  Returns 0, or an exit status (logged).
 */
static int
device_keys(struct hcloud *h, const struct opts *o,
    const struct dotenv *env, long long *ids, int *nids)
{
	struct hcloud_key *keys;
	const char	*list, *pub, *st;
	char		 devs[1024], key[256], blob[1024], *d, *save;
	size_t		 n, i;
	int		 rc = 0;

	*nids = 0;
	if ((list = dotenv_get(env, o->devices)) == NULL) {
		log_err(o->envfile, "%s: missing: run make redo-secrets",
		    o->devices);
		return MKP_EXIT_USAGE;
	}
	if (hcloud_keys(h, &keys, &n) == -1)
		return h->exit;
	snprintf(devs, sizeof(devs), "%s", list);
	for (d = strtok_r(devs, ", \t\n", &save); d != NULL && rc == 0;
	    d = strtok_r(NULL, ", \t\n", &save)) {
		snprintf(key, sizeof(key), "SSH_KEY_%s_STATUS", d);
		if ((st = dotenv_get(env, key)) == NULL ||
		    strcasecmp(st, "active") != 0) {
			log_info(d, "SSH key not active: not uploaded");
			continue;
		}
		snprintf(key, sizeof(key), "SSH_KEY_%s_PUBLIC", d);
		pub = dotenv_get(env, key);
		if (pub == NULL || hcloud_key_blob(pub, blob,
		    sizeof(blob)) == -1) {
			log_err(key, "not an OpenSSH public key: fix it in "
			    "Infisical");
			rc = MKP_EXIT_USAGE;
			break;
		}
		for (i = 0; i < n && strcmp(keys[i].blob, blob) != 0; i++)
			;
		if (*nids == MAX_KEYS) {
			log_err(o->devices, "more than %d devices", MAX_KEYS);
			rc = MKP_EXIT_USAGE;
		} else if (i < n) {
			log_info(d, "SSH key in the project as \"%s\"",
			    keys[i].name);
			ids[(*nids)++] = keys[i].id;
		} else if (o->plan) {
			printf("plan: %s: upload the SSH key of %s\n",
			    o->host, d);
		} else
			rc = upload_key(h, d, pub, blob, &ids[(*nids)++]);
	}
	free(keys);
	return rc;
}

/*
 * Run ssh-keygen with the arguments given, quietly.  Returns 0, or
 * MKP_EXIT_FAIL (logged).
 */
static int
keygen(const char *what, char *const argv[])
{
	int	 st;

	if ((st = proc_run(argv)) != 0) {
		log_err(what, "ssh-keygen exited %d", st);
		return MKP_EXIT_FAIL;
	}
	return 0;
}

/*
 * Make the first host key pair, unless an earlier run made it (the
 * server may already hold it).  Returns 0 or an exit status.
 */
static int
initial_key(const struct opts *o)
{
	static char	 prog[] = "ssh-keygen", q[] = "-q", t[] = "-t",
			 ed[] = "ed25519", nflag[] = "-N", empty[] = "",
			 c[] = "-C", f[] = "-f";
	char		 comment[128], path[1024];
	char		*argv[] = { prog, q, t, ed, nflag, empty, c, comment,
			    f, path, NULL };

	snprintf(path, sizeof(path), "%s", state_path(o, "host_key_initial"));
	if (access(path, F_OK) == 0)
		return 0;
	snprintf(comment, sizeof(comment), "root@%s", o->host);
	return keygen(path, argv);
}

/*
 * The fingerprint of the public key file path, as "SHA256:...".
 * Returns 0, or -1 (logged).
 */
static int
fingerprint(const char *path, char *fp, size_t sz)
{
	static char	 prog[] = "ssh-keygen", l[] = "-lf";
	char		 file[1024], *out, *p;
	char		*argv[] = { prog, l, file, NULL };
	int		 st;

	snprintf(file, sizeof(file), "%s", path);
	if (proc_capture(argv, &out, 4096, &st) == -1)
		return -1;
	if (st != 0 || (p = strstr(out, "SHA256:")) == NULL) {
		log_err(path, "not a public key (ssh-keygen -lf exited %d)",
		    st);
		free(out);
		return -1;
	}
	p[strcspn(p, " \n")] = '\0';
	snprintf(fp, sz, "%s", p);
	free(out);
	return 0;
}

/*
 * Copy the file from into to with mode.  Returns 0, or -1 (logged).
 */
static int
copy_file(const char *from, const char *to, mode_t mode)
{
	char	*buf;
	size_t	 len;
	int	 rc;

	if (util_read_file(from, 64 * 1024, &buf, &len) == -1)
		return -1;
	rc = util_write_atomic(to, buf, len, mode);
	free(buf);
	return rc;
}

/*
 * Write the cloud-config that seeds the host key into *out (to be
 * freed, wiped: it holds a private key).  Returns 0, or -1 (logged).
 */
static int
user_data(const struct opts *o, char **out, size_t *outlen)
{
	struct dotenv_buf b = { 0 };
	char		*priv, *pub, *line, *save;
	size_t		 plen, len;
	int		 rc = -1;

	if (util_read_file(state_path(o, "host_key_initial"), 64 * 1024,
	    &priv, &plen) == -1)
		return -1;
	if (util_read_file(state_path(o, "host_key_initial.pub"), 4096,
	    &pub, &len) == -1)
		goto out;
	pub[strcspn(pub, "\n")] = '\0';
	b.cap = plen * 2 + len + 1024;
	if ((b.s = malloc(b.cap)) == NULL)
		goto out;
	b.len = (size_t)snprintf(b.s, b.cap, "#cloud-config\n"
	    "# mkprov: the first SSH host key of %s, pinned by mkprov and\n"
	    "# replaced after the first login (Hetzner keeps user data)\n"
	    "ssh_deletekeys: true\nssh_keys:\n  ed25519_private: |\n",
	    o->host);
	for (line = strtok_r(priv, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		b.len += (size_t)snprintf(b.s + b.len, b.cap - b.len,
		    "    %s\n", line);
	b.len += (size_t)snprintf(b.s + b.len, b.cap - b.len,
	    "  ed25519_public: %s\n", pub);
	*out = b.s;
	*outlen = b.len;
	rc = 0;
out:
	explicit_bzero(priv, plen);
	free(priv);
	free(pub);
	return rc;
}

/*
 * Check the user data with "cloud-init schema" where that tool is
 * installed.  Returns 0, or MKP_EXIT_USAGE (logged).
 */
static int
check_schema(const struct opts *o, const char *ud, size_t len)
{
	static char	 prog[] = "cloud-init", schema[] = "schema",
			 flag[] = "--config-file";
	char		 path[1024], tool[1024];
	char		*argv[] = { prog, schema, flag, path, NULL };
	int		 st;

	if (proc_find(prog, tool, sizeof(tool)) == -1) {
		log_info(o->host, "cloud-init not installed here: user "
		    "data not checked against the schema");
		return 0;
	}
	snprintf(path, sizeof(path), "%s", state_path(o, "user-data"));
	if (util_write_atomic(path, ud, len, 0600) == -1)
		return MKP_EXIT_FAIL;
	st = proc_run(argv);
	unlink(path);
	if (st != 0) {
		log_err(o->host, "user data fails cloud-init schema: "
		    "see above");
		return MKP_EXIT_USAGE;
	}
	return 0;
}

/*
 * Split a "key=value" label (parse_args checked the '='): the key into
 * key, cut to sz.  Returns the value.
 */
static const char *
label_split(const char *kv, char *key, size_t sz)
{
	const char	*eq = strchr(kv, '=');

	snprintf(key, sz, "%.*s", (int)(eq - kv), kv);
	return eq + 1;
}

/*
 * Build the body of POST /servers.  Returns 0, or -1.
 */
static int
create_body(const struct opts *o, const long long *ids, int nids,
    const char *ud, char **body, size_t *len)
{
	struct json_w	 w;
	char		 key[128];
	const char	*val;
	int		 i, rc;

	if (jw_init(&w) == -1)
		return -1;
	jw_obj_open(&w);
	jw_kv_str(&w, "name", o->host);
	jw_kv_str(&w, "server_type", o->type);
	jw_kv_str(&w, "image", o->image);
	jw_kv_str(&w, "location", o->location);
	jw_key(&w, "ssh_keys");
	jw_arr_open(&w);
	for (i = 0; i < nids; i++)
		jw_int(&w, ids[i]);
	jw_arr_close(&w);
	jw_kv_str(&w, "user_data", ud);
	jw_key(&w, "labels");
	jw_obj_open(&w);
	for (i = 0; i < o->nlabels; i++) {
		val = label_split(o->labels[i], key, sizeof(key));
		jw_kv_str(&w, key, val);
	}
	jw_kv_str(&w, HCLOUD_HOST_LABEL, o->host);
	jw_obj_close(&w);
	jw_kv_bool(&w, "start_after_create", 1);
	jw_key(&w, "public_net");
	jw_obj_open(&w);
	jw_kv_bool(&w, "enable_ipv4", 1);
	jw_kv_bool(&w, "enable_ipv6", 1);
	jw_obj_close(&w);
	jw_obj_close(&w);
	rc = jw_finish(&w, body, len);
	jw_free(&w);
	return rc;
}

/* create() found the name taken: look again and adopt. */
#define TAKEN	(-2)

/*
 * Ask Hetzner for the server and wait for its create action.  Returns
 * 0 with f->srv filled, TAKEN when a server of that name appeared
 * meanwhile, or an exit status (logged).
 */
static int
create(struct hcloud *h, const struct opts *o, const long long *ids,
    int nids, const struct deadline *dl, struct facts *f)
{
	struct json_err	 err;
	long long	 action;
	char		*ud, *body = NULL;
	size_t		 udlen, len;
	yajl_val	 v;
	int		 rc;

	if (user_data(o, &ud, &udlen) == -1)
		return MKP_EXIT_FAIL;
	if ((rc = check_schema(o, ud, udlen)) == 0 &&
	    create_body(o, ids, nids, ud, &body, &len) == -1)
		rc = MKP_EXIT_FAIL;
	explicit_bzero(ud, udlen);
	free(ud);
	if (rc != 0)
		return rc;
	log_info(o->host, "creating: %s in %s, %s", o->type, o->location,
	    o->image);
	rc = hcloud_call_secret(h, "POST", "/servers", body, 201, &v);
	explicit_bzero(body, len);
	free(body);
	if (rc == 1 && strcmp(h->code, "uniqueness_error") == 0)
		return TAKEN;
	if (rc == 1) {
		hcloud_report(h);
		if (strcmp(h->code, "resource_unavailable") == 0)
			log_err(o->host, "%s cannot take a %s now: try "
			    "another SERVER_LOCATION", o->location, o->type);
		return h->status == 422 ? MKP_EXIT_USAGE : MKP_EXIT_FAIL;
	}
	if (rc == -1)
		return h->exit;
	rc = hcloud_server(v, "server", &f->srv) == -1 ||
	    json_int(v, "action.id", &action, &err) == -1;
	json_free(v);
	if (rc) {
		log_err(h->url, "unexpected answer");
		return MKP_EXIT_FAIL;
	}
	if (hcloud_wait_action(h, action, dl) == -1)
		return h->exit;
	return 0;
}

/*
 * Wait until the server says it is running, then read it again for
 * its addresses.  Returns 0, or an exit status (logged).
 */
static int
wait_running(struct hcloud *h, const struct deadline *dl,
    struct facts *f)
{
	int64_t	 pause = 1000, t0 = util_now_ms();

	for (;;) {
		if (hcloud_get_server(h, f->srv.id, &f->srv) == -1)
			return h->exit;
		if (strcmp(f->srv.status, "running") == 0)
			break;
		log_info(f->srv.name, "server is %s", f->srv.status);
		log_progress(f->srv.name, f->srv.status, util_now_ms() - t0,
		    deadline_left_ms(dl));
		if (deadline_left_ms(dl) < pause) {
			log_err(f->srv.name, "still %s at the deadline: "
			    "raise SERVER_WAIT", f->srv.status);
			return MKP_EXIT_DEADLINE;
		}
		util_sleep_ms(pause);
		pause = pause < 8000 ? pause * 2 : pause;
	}
	log_progress_end();
	if (*f->srv.ipv4 == '\0') {
		log_err(f->srv.name, "server has no IPv4 address: mkprov "
		    "reaches servers over IPv4");
		return MKP_EXIT_FAIL;
	}
	return 0;
}

/* How connect_pinned treats a failed login. */
enum try {
	TRY_ONCE,	/* report it */
	TRY_WAIT,	/* try again quietly until the deadline */
	TRY_PROBE	/* say nothing: the caller expects it */
};

/*
 * Open an SSH session to the server pinned to fp.  While waiting, a
 * refused connection or login is tried again (the server may still be
 * booting) and only the last failure is reported.  Returns 0 with *cp
 * set, or an exit status (logged unless probing).
 */
static int
connect_pinned(const struct opts *o, const char *ip, const char *fp,
    const struct deadline *dl, enum try how, struct ssh_conn **cp)
{
	struct ssh_conf	 conf = { 0 };
	enum ssh_error	 e;
	FILE		*quiet = NULL;
	int64_t		 t0 = util_now_ms();
	int		 rc;

	conf.host = ip;
	conf.port = o->port;
	conf.user = o->user;
	conf.fingerprint = fp;
	conf.key_file = o->sshkey;
	conf.deadline = dl;
	if (how != TRY_ONCE && (quiet = fopen("/dev/null", "we")) != NULL)
		log_set_stream(quiet);
	while ((rc = ssh_open(&conf, cp, &e)) == -1 && how == TRY_WAIT &&
	    (e == SSH_E_CONNECT || e == SSH_E_AUTH) &&
	    deadline_left_ms(dl) >= SSH_RETRY_MS) {
		log_set_stream(NULL);
		log_progress(ip, "waiting for SSH", util_now_ms() - t0,
		    deadline_left_ms(dl));
		log_set_stream(quiet);
		util_sleep_ms(SSH_RETRY_MS);
	}
	log_set_stream(NULL);
	log_progress_end();
	if (quiet != NULL)
		fclose(quiet);
	if (rc == 0)
		return 0;
	if (how == TRY_WAIT && e == SSH_E_DEADLINE)
		log_err(ip, "no SSH login by the deadline: raise SERVER_WAIT");
	else if (how == TRY_WAIT && ssh_open(&conf, cp, &e) == 0)
		return 0;	/* the last try again, to say why */
	return ssh_exit_status(e);
}

/*
 * Log cloud-init's errors of one kind from its JSON status: "errors"
 * (a list) or "recoverable_errors" (level to list).
 */
static void
cloud_init_errors(const char *ip, const char *json, int recoverable)
{
	struct json_err	 err;
	yajl_val	 v, o, list;
	size_t		 i, j, n;

	if ((v = json_parse(json, strlen(json), &err)) == NULL)
		return;
	if (!recoverable && json_arr(v, "errors", &list, &n, &err) == 0)
		for (i = 0; i < n; i++)
			if (YAJL_IS_STRING(list->u.array.values[i]))
				log_err(ip, "cloud-init: %s",
				    list->u.array.values[i]->u.string);
	if (recoverable && json_obj(v, "recoverable_errors", &o, &err) == 0)
		for (i = 0; i < o->u.object.len; i++) {
			list = o->u.object.values[i];
			for (j = 0; YAJL_IS_ARRAY(list) &&
			    j < list->u.array.len; j++)
				if (YAJL_IS_STRING(list->u.array.values[j]))
					log_warn(ip, "cloud-init: %s: %s",
					    o->u.object.keys[i],
					    list->u.array.values[j]->u.string);
		}
	json_free(v);
}

/*
 * Run "cloud-init status --wait" on the server until it ends or the
 * deadline passes.  Each run is cut short by timeout(1) after at most
 * CLOUD_INIT_POLL_S, so that the wait shows its progress and keeps to
 * the phase's deadline however long cloud-init takes.  Returns 0 with
 * *st its exit status, or an exit status (logged).
 */
static int
cloud_init_wait(struct ssh_conn *c, const char *ip,
    const struct deadline *dl, int *st)
{
	char	 cmd[64], *out;
	size_t	 len;
	int64_t	 t0 = util_now_ms(), left;
	int	 rc = 0;

	do {
		if ((left = deadline_left_ms(dl)) < 1000) {
			log_err(ip, "cloud-init still running after %lld s: "
			    "SERVER_WAIT passed", (long long)
			    ((util_now_ms() - t0) / 1000));
			rc = MKP_EXIT_DEADLINE;
			break;
		}
		snprintf(cmd, sizeof(cmd), "timeout %lld cloud-init status "
		    "--wait", left / 1000 < CLOUD_INIT_POLL_S ?
		    (long long)(left / 1000) : CLOUD_INIT_POLL_S);
		log_progress(ip, "waiting for cloud-init",
		    util_now_ms() - t0, left);
		if (ssh_exec_capture(c, cmd, &out, &len, CAPTURE_MAX,
		    st) == -1) {
			rc = ssh_exit_status(ssh_last_error(c));
			break;
		}
		free(out);
	} while (*st == 124);	/* timeout(1): still running */
	log_progress_end();
	return rc;
}

/*
 * Wait for cloud-init on the server: 0 done, 2 done with recoverable
 * errors (a warning naming them), 1 failed (its errors printed).
 * Returns 0, or an exit status (logged).
 */
static int
cloud_init(struct ssh_conn *c, const char *ip, const struct deadline *dl,
    struct facts *f)
{
	char	*out;
	size_t	 len;
	int	 st, js, rc;

	if ((rc = cloud_init_wait(c, ip, dl, &st)) != 0)
		return rc;
	if (st != 0 && st != 1 && st != 2) {
		log_err(ip, "cloud-init status exited %d: %s", st,
		    ssh_last_stderr(c));
		return MKP_EXIT_FAIL;
	}
	snprintf(f->cloud_init, sizeof(f->cloud_init), "%s",
	    st == 0 ? "done" : st == 2 ? "degraded done" : "error");
	if (st == 0)
		return 0;
	if (ssh_exec_capture(c, "cloud-init status --format json", &out,
	    &len, CAPTURE_MAX, &js) == 0) {
		cloud_init_errors(ip, out, st == 2);
		free(out);
	}
	if (st == 2) {
		log_warn(ip, "cloud-init finished with recoverable errors "
		    "(above): going on");
		return 0;
	}
	log_err(ip, "cloud-init failed: see its errors above");
	return MKP_EXIT_FAIL;
}

/*
 * Run cmd on the server, which must exit 0; its stdout goes to *out
 * when out is not NULL.  Returns 0, or an exit status (logged).
 */
static int
remote(struct ssh_conn *c, const char *ip, const char *cmd, char **out)
{
	char	*buf;
	size_t	 len;
	int	 st;

	if (ssh_exec_capture(c, cmd, &buf, &len, CAPTURE_MAX, &st) == -1)
		return ssh_exit_status(ssh_last_error(c));
	if (st != 0) {
		log_err(ip, "remote command exited %d: %s", st,
		    ssh_last_stderr(c));
		free(buf);
		return MKP_EXIT_FAIL;
	}
	if (out != NULL)
		*out = buf;
	else
		free(buf);
	return 0;
}

/*
 * The server's host key file.  MKP_ROOT prefixes every path mkprov
 * touches on a server; it is unset on real servers and names the
 * host's own directory in the sandbox.
 */
#define HOSTKEY	"\"${MKP_ROOT:-}/etc/ssh/ssh_host_ed25519_key\""

/*
 * Check that the server no longer opens with the key of fingerprint
 * old, the one Hetzner keeps in the user data.  Returns 0 when it is
 * refused, or an exit status (logged).
 */
static int
old_key_refused(const struct opts *o, const char *ip, const char *old,
    const struct deadline *dl)
{
	struct ssh_conn	*probe;
	int		 rc;

	if ((rc = connect_pinned(o, ip, old, dl, TRY_PROBE, &probe)) == 0)
		ssh_close(probe);
	if (rc == MKP_EXIT_VERIFY)
		return 0;
	log_err(ip, "%s the key Hetzner keeps (%s)", rc == 0 ?
	    "still opens with" : "cannot tell whether it refuses", old);
	return rc == 0 ? MKP_EXIT_VERIFY : rc;
}

/*
 * Replace the host key the user data carried with one made on the
 * server, which never leaves it.  The new public key is saved before
 * sshd uses it, so a crash in between still leaves a key to try; the
 * old key must then be refused.  Returns 0 with *cp reconnected and
 * f->fingerprint the new one, or an exit status (logged).
 */
static int
rotate(const struct opts *o, const struct deadline *dl,
    struct ssh_conn **cp, struct facts *f)
{
	const char	*ip = f->srv.ipv4, *next;
	char		 cmd[1024], old[128], *pub;
	int		 rc;

	snprintf(cmd, sizeof(cmd), "set -e; k=" HOSTKEY "; rm -f $k.mkp-new "
	    "$k.mkp-new.pub; ssh-keygen -q -t ed25519 -N '' -C root@%s "
	    "-f $k.mkp-new; cat $k.mkp-new.pub", o->host);
	if ((rc = remote(*cp, ip, cmd, &pub)) != 0)
		return rc;
	next = state_path(o, "host_key.next.pub");
	rc = strncmp(pub, "ssh-ed25519 ", 12) != 0 ||
	    util_write_atomic(next, pub, strlen(pub), 0600) == -1;
	free(pub);
	if (rc) {
		log_err(ip, "the new host key is not an ed25519 key");
		return MKP_EXIT_FAIL;
	}
	snprintf(cmd, sizeof(cmd), "set -e; k=" HOSTKEY "; mv -f "
	    "$k.mkp-new.pub $k.pub; mv -f $k.mkp-new $k; "
	    "systemctl reload ssh || systemctl reload sshd");
	if ((rc = remote(*cp, ip, cmd, NULL)) != 0)
		return rc;
	ssh_close(*cp);
	*cp = NULL;
	snprintf(old, sizeof(old), "%s", f->fingerprint);
	if (fingerprint(next, f->fingerprint, sizeof(f->fingerprint)) == -1)
		return MKP_EXIT_FAIL;
	rc = connect_pinned(o, ip, f->fingerprint, dl, TRY_WAIT, cp);
	if (rc != 0)
		return rc;
	if ((rc = old_key_refused(o, ip, old, dl)) != 0)
		return rc;
	if (rename(next, state_path(o, "host_key.pub")) == -1) {
		log_errno(next, "rename");
		return MKP_EXIT_FAIL;
	}
	unlink(state_path(o, "host_key_initial"));
	log_info(ip, "host key replaced: %s", f->fingerprint);
	return 0;
}

/*
 * Write known_hosts for the server, as OpenSSH and Ansible read it:
 * "[ip]:port key" (the brackets only for a port other than 22), from
 * the pinned public key.  Returns 0, or -1 (logged).
 */
static int
write_known_hosts(const struct opts *o, const char *ip)
{
	char	*pub, type[64], key[1024], line[2048];
	size_t	 len;
	int	 n;

	if (util_read_file(state_path(o, "host_key.pub"), 4096, &pub,
	    &len) == -1)
		return -1;
	n = sscanf(pub, "%63s %1023s", type, key);
	free(pub);
	if (n != 2) {
		log_err(state_path(o, "host_key.pub"), "not a public key");
		return -1;
	}
	if (o->port == 22)
		n = snprintf(line, sizeof(line), "%s %s %s\n", ip, type, key);
	else
		n = snprintf(line, sizeof(line), "[%s]:%d %s %s\n", ip,
		    o->port, type, key);
	return util_write_atomic(state_path(o, "known_hosts"), line,
	    (size_t)n, 0600);
}

/*
 * Write the stamp: the server's facts and the run's timings.  Returns
 * 0, or -1 (logged).
 */
static int
write_stamp(const struct opts *o, const struct facts *f)
{
	struct json_w	 w;
	char		 when[32];

	util_utc_now(when, sizeof(when));
	if (jw_init(&w) == -1)
		return -1;
	jw_obj_open(&w);
	jw_kv_str(&w, "host", o->host);
	jw_kv_int(&w, "server_id", f->srv.id);
	jw_kv_str(&w, "ipv4", f->srv.ipv4);
	jw_kv_str(&w, "ipv6_network", f->srv.ipv6);
	jw_kv_str(&w, "server_type", f->srv.type);
	jw_kv_str(&w, "location", f->srv.location);
	jw_kv_str(&w, "image", f->srv.image);
	jw_kv_str(&w, "host_key_fingerprint", f->fingerprint);
	jw_kv_str(&w, "known_hosts", state_path(o, "known_hosts"));
	jw_kv_int(&w, "ssh_port", o->port);
	jw_kv_str(&w, "cloud_init", f->cloud_init);
	jw_kv_bool(&w, "adopted", f->adopted);
	jw_kv_str(&w, "created", f->srv.created);
	jw_kv_str(&w, "ready_at", when);
	jw_kv_int(&w, "create_ms", f->t_created - f->t_start);
	jw_kv_int(&w, "ssh_ms", f->t_ssh - f->t_created);
	jw_kv_int(&w, "cloud_init_ms", f->t_ready - f->t_ssh);
	jw_obj_close(&w);
	return jw_write_file(&w, o->stamp, 0600);
}

/*
 * Print what creating the server would cost, from /server_types.
 * Returns 0, or an exit status (logged).
 */
static int
plan_price(struct hcloud *h, const struct opts *o)
{
	struct json_err	 err;
	char		 path[256], p[128], *q;
	const char	*loc, *net, *gross;
	yajl_val	 v, prices;
	size_t		 i, n = 0;
	int		 rc;

	if ((q = http_escape(o->type)) == NULL)
		return MKP_EXIT_FAIL;
	snprintf(path, sizeof(path), "/server_types?name=%s", q);
	free(q);
	if ((rc = hcloud_call(h, "GET", path, NULL, 200, &v)) != 0) {
		if (rc == 1)
			hcloud_report(h);
		return h->exit;
	}
	rc = MKP_EXIT_USAGE;
	if (json_arr(v, "server_types[0].prices", &prices, &n, &err) == -1)
		log_err(o->type, "no such server type: check SERVER_TYPE");
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "server_types[0].prices[%zu]", i);
		if (json_str(json_at(v, p), "location", &loc, &err) == -1 ||
		    strcmp(loc, o->location) != 0)
			continue;
		if (json_str(json_at(v, p), "price_monthly.net", &net,
		    &err) == 0 && json_str(json_at(v, p),
		    "price_monthly.gross", &gross, &err) == 0) {
			printf("plan: %s: create server %s: %s in %s, %s: "
			    "%.2f net, %.2f gross per month\n", o->host,
			    o->host, o->type, o->location, o->image,
			    strtod(net, NULL), strtod(gross, NULL));
			rc = 0;
		}
	}
	if (n > 0 && rc != 0)
		log_err(o->type, "not sold in %s: check SERVER_LOCATION",
		    o->location);
	json_free(v);
	return rc;
}

/*
 * Check that an adopted server is what the settings ask for: a
 * change of type or place is not something to do silently.  Returns
 * 0, or MKP_EXIT_USAGE (logged).
 */
static int
same_shape(const struct opts *o, const struct hcloud_server *s)
{
	int	 bad = 0;

	if (strcmp(s->type, o->type) != 0) {
		log_err(o->host, "server %lld is a %s but SERVER_TYPE is %s: "
		    "set it back, or resize the server by hand first",
		    s->id, s->type, o->type);
		bad++;
	}
	if (strcmp(s->location, o->location) != 0) {
		log_err(o->host, "server %lld is in %s but SERVER_LOCATION "
		    "is %s: set it back", s->id, s->location, o->location);
		bad++;
	}
	if (*s->image != '\0' && strcmp(s->image, o->image) != 0) {
		log_err(o->host, "server %lld runs %s but SERVER_IMAGE is %s: "
		    "set it back", s->id, s->image, o->image);
		bad++;
	}
	return bad ? MKP_EXIT_USAGE : 0;
}

/*
 * Find the key to pin for a server mkprov made earlier: the current
 * one, or the one a crashed rotation saved.  Returns 0 with fp set, or
 * MKP_EXIT_VERIFY (logged) when this machine holds none.
 */
static int
pinned_key(const struct opts *o, char *fp, size_t sz)
{
	const char	*cur = state_path(o, "host_key.pub");

	if (access(cur, R_OK) == 0)
		return fingerprint(cur, fp, sz) == 0 ? 0 : MKP_EXIT_FAIL;
	log_err(o->host, "server exists but %s is missing, so its host "
	    "key cannot be pinned: copy the state directory from the "
	    "machine that made it", cur);
	return MKP_EXIT_VERIFY;
}

/*
 * Log in pinned, falling back to the key a crashed rotation saved
 * (host_key.next.pub), which then becomes the pinned one.  Returns 0
 * with *cp set, or an exit status (logged).
 */
static int
first_login(const struct opts *o, const struct deadline *dl,
    struct facts *f, struct ssh_conn **cp)
{
	const char	*next = state_path(o, "host_key.next.pub");
	char		 old[128];
	int		 rc;

	rc = connect_pinned(o, f->srv.ipv4, f->fingerprint, dl, TRY_WAIT,
	    cp);
	if (rc != MKP_EXIT_VERIFY || access(next, R_OK) == -1)
		return rc;
	snprintf(old, sizeof(old), "%s", f->fingerprint);
	if (fingerprint(next, f->fingerprint, sizeof(f->fingerprint)) == -1)
		return MKP_EXIT_FAIL;
	log_info(f->srv.ipv4, "trying the key of an unfinished rotation");
	if ((rc = connect_pinned(o, f->srv.ipv4, f->fingerprint, dl,
	    TRY_ONCE, cp)) != 0)
		return rc;
	/* Finish that rotation as rotate() would have. */
	if ((rc = old_key_refused(o, f->srv.ipv4, old, dl)) != 0)
		return rc;
	if (rename(next, state_path(o, "host_key.pub")) == -1) {
		log_errno(next, "rename");
		return MKP_EXIT_FAIL;
	}
	unlink(state_path(o, "host_key_initial"));
	return 0;
}

/*
 * Print the plan line for a label to set; the value now on the server
 * came from the API, so it is escaped.
 */
static void
plan_label(const struct opts *o, const char *key, const char *want,
    const char *have)
{
	char	*esc = NULL;

	if (have != NULL)
		esc = log_escape(have, strlen(have), 64);
	printf("plan: %s: set label %s=%s (now %s)\n", o->host, key, want,
	    have == NULL ? "unset" : esc != NULL ? esc : "?");
	free(esc);
}

/*
 * Find the value of label key in the labels object.  Not json_at: a
 * label key may hold dots ("team.example/owner"), which it would read
 * as a path.  Returns the value, or NULL when the key is missing or
 * its value is not a string.
 */
static const char *
label_value(yajl_val labels, const char *key)
{
	size_t	i;

	for (i = 0; i < labels->u.object.len; i++)
		if (strcmp(labels->u.object.keys[i], key) == 0)
			return YAJL_GET_STRING(labels->u.object.values[i]);
	return NULL;
}

/*
 * Compare the labels of the server in v with SERVER_LABELS and write
 * the body of PUT /servers/{id} that makes them agree into w: the
 * server's labels, each of SERVER_LABELS set over them.  Labels the
 * site does not list are kept (someone may have set them by hand) and
 * named.  Returns the number of labels that differ, or -1 (logged).
 */
static int
label_diff(const struct opts *o, yajl_val v, struct json_w *w)
{
	struct json_err	 err;
	yajl_val	 labels;
	const char	*have, *want;
	char		 key[128];
	size_t		 i;
	int		 j, listed, differ = 0;

	if (json_obj(v, "server.labels", &labels, &err) == -1) {
		log_err(o->host, "unexpected server: %s", err.msg);
		return -1;
	}
	jw_obj_open(w);
	jw_key(w, "labels");
	jw_obj_open(w);
	for (i = 0; i < labels->u.object.len; i++) {
		have = YAJL_GET_STRING(labels->u.object.values[i]);
		listed = !strcmp(labels->u.object.keys[i], HCLOUD_HOST_LABEL);
		for (j = 0; j < o->nlabels && !listed; j++) {
			label_split(o->labels[j], key, sizeof(key));
			listed = !strcmp(key, labels->u.object.keys[i]);
		}
		if (!listed) {
			log_info(o->host, "label %s=%s is not in "
			    "SERVER_LABELS: kept", labels->u.object.keys[i],
			    have ? have : "");
			jw_kv_str(w, labels->u.object.keys[i],
			    have ? have : "");
		}
	}
	for (j = 0; j < o->nlabels; j++) {
		want = label_split(o->labels[j], key, sizeof(key));
		have = label_value(labels, key);
		if (have == NULL || strcmp(have, want) != 0) {
			differ++;
			if (o->plan)
				plan_label(o, key, want, have);
		}
		jw_kv_str(w, key, want);
	}
	jw_kv_str(w, HCLOUD_HOST_LABEL, o->host);
	jw_obj_close(w);
	jw_obj_close(w);
	return differ;
}

/*
 * Give an adopted server the labels of SERVER_LABELS: a changed site
 * must not leave the server as it was without a word.  In a plan, say
 * what would change.  Returns 0, or an exit status (logged).
 */
static int
sync_labels(struct hcloud *h, const struct opts *o,
    const struct facts *f)
{
	struct json_w	 w;
	char		 path[64], *body = NULL;
	size_t		 len;
	yajl_val	 v;
	int		 differ, rc;

	snprintf(path, sizeof(path), "/servers/%lld", f->srv.id);
	if ((rc = hcloud_call(h, "GET", path, NULL, 200, &v)) != 0) {
		if (rc == 1)
			hcloud_report(h);
		return h->exit;
	}
	if (jw_init(&w) == -1) {
		json_free(v);
		return MKP_EXIT_FAIL;
	}
	differ = label_diff(o, v, &w);
	json_free(v);
	rc = differ <= 0 ? 0 : jw_finish(&w, &body, &len);
	jw_free(&w);
	if (differ <= 0 || o->plan)
		return differ == -1 ? MKP_EXIT_FAIL : 0;
	if (rc == -1)
		return MKP_EXIT_FAIL;
	log_info(o->host, "setting %d label%s of server %lld", differ,
	    differ == 1 ? "" : "s", f->srv.id);
	rc = hcloud_call(h, "PUT", path, body, 200, &v);
	free(body);
	if (rc != 0) {
		if (rc == 1)
			hcloud_report(h);
		return h->exit;
	}
	json_free(v);
	return 0;
}

/*
 * Adopt a server of the host's name, if mkprov made it.  Returns 0
 * with f filled, or an exit status (logged).
 */
static int
adopt(const struct opts *o, struct facts *f)
{
	if (strcmp(f->srv.host_label, o->host) != 0) {
		log_err(o->host, "server %lld has this name but not the "
		    "label %s=%s, so mkprov did not make it: pick another "
		    "HOST, or add the label to adopt it", f->srv.id,
		    HCLOUD_HOST_LABEL, o->host);
		return MKP_EXIT_VERIFY;
	}
	f->adopted = 1;
	log_info(o->host, "adopting server %lld (%s)", f->srv.id,
	    f->srv.status);
	if (o->plan) {
		printf("plan: %s: adopt server %lld: %s in %s, %s\n", o->host,
		    f->srv.id, f->srv.type, f->srv.location,
		    *f->srv.ipv4 ? f->srv.ipv4 : "no IPv4 yet");
		return same_shape(o, &f->srv);
	}
	if (same_shape(o, &f->srv) != 0)
		return MKP_EXIT_USAGE;
	return pinned_key(o, f->fingerprint, sizeof(f->fingerprint));
}

/*
 * Create the server: the device keys, a host key to seed and pin, the
 * create call.  Returns 0 with f filled, TAKEN, or an exit status.
 */
static int
make_server(struct hcloud *h, const struct opts *o,
    const struct dotenv *env, const struct deadline *dl, struct facts *f)
{
	long long	 ids[MAX_KEYS];
	int		 nids, rc;

	if ((rc = device_keys(h, o, env, ids, &nids)) != 0)
		return rc;
	if (o->plan)
		return plan_price(h, o);
	if (nids == 0) {
		log_err(o->devices, "no active device key: the server "
		    "would take no login: mark a device active in Infisical");
		return MKP_EXIT_USAGE;
	}
	if ((rc = initial_key(o)) != 0)
		return rc;
	if (copy_file(state_path(o, "host_key_initial.pub"),
	    state_path(o, "host_key.pub"), 0600) == -1 ||
	    fingerprint(state_path(o, "host_key.pub"), f->fingerprint,
	    sizeof(f->fingerprint)) == -1)
		return MKP_EXIT_FAIL;
	return create(h, o, ids, nids, dl, f);
}

/*
 * Adopt the server of the host's name, or create it (in a plan, say
 * which would happen).  A server that appears between the look and
 * the create, made by a run that crashed before its stamp, is looked
 * up again and adopted.  Returns 0 with f filled, or an exit status
 * (logged).
 */
static int
find_or_make(struct hcloud *h, const struct opts *o,
    const struct dotenv *env, const struct deadline *dl, struct facts *f)
{
	int	 found, rc;

	if ((found = hcloud_find_server(h, o->host, &f->srv)) == -1)
		return h->exit;
	if (!found) {
		if ((rc = make_server(h, o, env, dl, f)) != TAKEN)
			return rc;
		if ((found = hcloud_find_server(h, o->host, &f->srv)) == -1)
			return h->exit;
		if (!found) {
			log_err(o->host, "the name is taken, yet no server "
			    "has it: try again");
			return MKP_EXIT_FAIL;
		}
	}
	if ((rc = adopt(o, f)) != 0)
		return rc;
	return sync_labels(h, o, f);
}

/*
 * From a running server to one ready for Ansible: pinned login,
 * cloud-init done, host key replaced, known_hosts written.  Returns 0,
 * or an exit status (logged).
 */
static int
make_ready(const struct opts *o, const struct deadline *dl,
    struct facts *f)
{
	struct ssh_conn	*c = NULL;
	int		 rc;

	if ((rc = first_login(o, dl, f, &c)) != 0)
		return rc;
	f->t_ssh = util_now_ms();
	log_info(f->srv.ipv4, "logged in, host key %s", f->fingerprint);
	if ((rc = cloud_init(c, f->srv.ipv4, dl, f)) == 0 &&
	    access(state_path(o, "host_key_initial"), F_OK) == 0)
		rc = rotate(o, dl, &c, f);
	if (c != NULL)
		ssh_close(c);
	f->t_ready = util_now_ms();
	if (rc == 0 && write_known_hosts(o, f->srv.ipv4) == -1)
		rc = MKP_EXIT_FAIL;
	return rc;
}

/*
 * Parse the command line into o.  Returns 0, or the usage status
 * (logged).
 */
static int
parse_args(int argc, char *argv[], struct opts *o)
{
	const char	*errstr;
	int		 ch;

	o->port = 22;
	o->wait_ms = 15 * 60 * 1000;
	while ((ch = getopt(argc, argv, ":a:c:D:d:E:H:i:k:L:l:np:s:t:u:vw:"))
	    != -1)
		switch (ch) {
		case 'a': o->api = optarg; break;
		case 'c': o->cafile = *optarg ? optarg : NULL; break;
		case 'D': o->devices = optarg; break;
		case 'd': o->dir = optarg; break;
		case 'E': o->envfile = optarg; break;
		case 'H': o->host = optarg; break;
		case 'i': o->image = optarg; break;
		case 'k': o->sshkey = *optarg ? optarg : NULL; break;
		case 'l': o->location = optarg; break;
		case 'n': o->plan = 1; break;
		case 's': o->stamp = optarg; break;
		case 't': o->type = optarg; break;
		case 'u': o->user = optarg; break;
		case 'v': log_verbosity++; break;
		case 'L':
			if (o->nlabels == MAX_LABELS || !strchr(optarg, '=')) {
				log_err("-L", "%s: give key=value, %d at most",
				    optarg, MAX_LABELS);
				return MKP_EXIT_USAGE;
			}
			o->labels[o->nlabels++] = optarg;
			break;
		case 'p':
			o->port = (int)util_strtonum(optarg, 1, 65535,
			    &errstr);
			if (errstr != NULL) {
				log_err("-p", "%s: port number %s", optarg,
				    errstr);
				return MKP_EXIT_USAGE;
			}
			break;
		case 'w':
			if (util_parse_duration(optarg, &o->wait_ms,
			    &errstr) == -1) {
				log_err("-w", "%s: %s: give a duration such "
				    "as 90s or 15m", optarg, errstr);
				return MKP_EXIT_USAGE;
			}
			break;
		default: return log_usage(ch, SYNOPSIS);
		}
	if (!o->host || !o->api || !o->envfile || !o->type || !o->image ||
	    !o->location || !o->devices || !o->user || !o->dir ||
	    (!o->stamp && !o->plan) || optind != argc)
		return log_usage(0, SYNOPSIS);
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
	struct hcloud	 h = { 0 };
	struct facts	 f = { 0 };
	struct dotenv	 env;
	struct deadline	 dl;
	int		 rc;

	log_init(argv[0]);
	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc;
	f.t_start = util_now_ms();
	deadline_set(&dl, o.wait_ms);
	if (dotenv_load(o.envfile, &env) == -1)
		return MKP_EXIT_USAGE;
	conf.cafile = o.cafile;
	conf.token_file = o.envfile;
	conf.token_key = "HETZNER_API_TOKEN";
	conf.deadline_ms = o.wait_ms;
	h.api = o.api;
	h.deadline = &dl;
	if ((h.http = http_new(&conf)) == NULL) {
		dotenv_free(&env);
		return MKP_EXIT_USAGE;
	}
	rc = find_or_make(&h, &o, &env, &dl, &f);
	dotenv_free(&env);
	f.t_created = util_now_ms();
	if (rc == 0 && !o.plan)
		rc = wait_running(&h, &dl, &f);
	http_free(h.http);
	if (rc == 0 && !o.plan)
		rc = make_ready(&o, &dl, &f);
	if (rc == 0 && !o.plan && write_stamp(&o, &f) == -1)
		rc = MKP_EXIT_FAIL;
	return rc;
}
