/*
 * mkp-status: what mkprov knows of its hosts, from their state
 * directories and the inventory, without calling any API.
 *
 * With a host: one line per phase with its state, when it finished,
 * how long it took next to the runbook's estimate, and the facts its
 * stamp proves.  Without: the runbook's "Server Reference" table.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "mkprov.h"
#include "proc.h"
#include "util.h"

#define STAMP_MAX	(64 * 1024)
#define JOURNAL_MAX	(4 * 1024 * 1024)
#define INVENTORY_MAX	(4 * 1024 * 1024)
#define MAX_PHASES	16

/* A phase as make describes it: name=stamp:minutes. */
struct phase {
	char	 name[32];
	char	 stamp[64];
	int	 estimate;	/* minutes, in the runbook */
	/* From the journal: */
	char	 outcome[32];	/* of the last end, or "running" */
	char	 finished[32];
	long long duration_ms;
};


/* What a usage error prints after "usage: ". */
#define SYNOPSIS	"mkp-status -S state-dir -H host " \
	"phase=stamp:minutes ...\n" \
	"       mkp-status -S state-dir [-i inventory]"

/*
 * Read a JSON file.  Returns the tree, or NULL when the file is not
 * there (quietly) or not JSON (logged).
 */
static yajl_val
read_json(const char *path, size_t max)
{
	struct json_err	 err;
	char		*buf;
	size_t		 len;
	yajl_val	 v;

	if (access(path, F_OK) == -1 ||
	    util_read_file(path, max, &buf, &len) == -1)
		return NULL;
	if ((v = json_parse(buf, len, &err)) == NULL)
		log_err(path, "not JSON: %s", err.msg);
	free(buf);
	return v;
}

/*
 * Parse "name=stamp:minutes" into p.  Returns 0, or -1.
 */
static int
parse_phase(const char *arg, struct phase *p)
{
	memset(p, 0, sizeof(*p));
	if (sscanf(arg, "%31[^=]=%63[^:]:%d", p->name, p->stamp,
	    &p->estimate) != 3)
		return -1;
	return 0;
}

/*
 * Apply one journal line to the phases it names: a start marks the
 * phase running, an end records its outcome, time and duration.
 */
static void
journal_line(const char *line, struct phase *ph, int n)
{
	struct json_err	 err;
	const char	*name, *event, *time, *outcome;
	long long	 ms;
	yajl_val	 v;
	int		 i;

	if ((v = json_parse(line, strlen(line), &err)) == NULL)
		return;
	if (json_str(v, "phase", &name, &err) == 0 &&
	    json_str(v, "event", &event, &err) == 0 &&
	    json_str(v, "time", &time, &err) == 0)
		for (i = 0; i < n; i++) {
			if (strcmp(ph[i].name, name) != 0)
				continue;
			if (strcmp(event, "start") == 0) {
				snprintf(ph[i].outcome, sizeof(ph[i].outcome),
				    "running");
			} else if (json_str(v, "outcome", &outcome,
			    &err) == 0 &&
			    json_int(v, "duration_ms", &ms, &err) == 0) {
				snprintf(ph[i].outcome, sizeof(ph[i].outcome),
				    "%s", outcome);
				snprintf(ph[i].finished,
				    sizeof(ph[i].finished), "%s", time);
				ph[i].duration_ms = ms;
			}
		}
	json_free(v);
}

/*
 * Read the host's journal into the phases.  A missing journal is a
 * host where nothing ran yet.
 */
static void
read_journal(const char *dir, struct phase *ph, int n)
{
	char	 path[1200], *buf, *line, *save;
	size_t	 len;

	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	if (access(path, F_OK) == -1 ||
	    util_read_file(path, JOURNAL_MAX, &buf, &len) == -1)
		return;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		journal_line(line, ph, n);
	free(buf);
}

/*
 * The facts a stamp proves worth showing, into buf.
 */
static void
facts(yajl_val v, char *buf, size_t sz)
{
	static const char *const keys[] = { "server_id", "ipv4",
	    "host_key_fingerprint", "secrets", "devices", "group",
	    NULL };
	struct json_err	 err;
	const char	*s;
	long long	 n;
	size_t		 len = 0;
	int		 i;

	*buf = '\0';
	for (i = 0; keys[i] != NULL && len < sz; i++) {
		if (json_str(v, keys[i], &s, &err) == 0 && *s != '\0')
			len += (size_t)snprintf(buf + len, sz - len, "%s%s=%s",
			    len ? " " : "", keys[i], s);
		else if (json_int(v, keys[i], &n, &err) == 0)
			len += (size_t)snprintf(buf + len, sz - len,
			    "%s%s=%lld", len ? " " : "", keys[i], n);
	}
}

/*
 * Print the phase table of one host.  Returns 0, or MKP_EXIT_USAGE
 * when the host has no state at all.
 */
static int
host_table(const char *state, const char *host, struct phase *ph, int n)
{
	char		 dir[1024], path[1200], took[32], fact[256];
	const char	*st;
	yajl_val	 v;
	int		 i, ok;

	snprintf(dir, sizeof(dir), "%s/%s", state, host);
	if (access(dir, F_OK) == -1) {
		log_err(host, "no state in %s: nothing has run for it", dir);
		return MKP_EXIT_USAGE;
	}
	read_journal(dir, ph, n);
	printf("%-10s %-13s %-21s %9s %8s  %s\n", "PHASE", "STATE",
	    "FINISHED", "TOOK", "RUNBOOK", "FACTS");
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ph[i].stamp);
		v = read_json(path, STAMP_MAX);
		/* A stamp proves the state unless a later run of the
		 * phase ended otherwise (it then reruns next time). */
		ok = *ph[i].outcome == '\0' ||
		    strcmp(ph[i].outcome, "done") == 0 ||
		    strcmp(ph[i].outcome, "unchanged") == 0;
		if (v != NULL && ok)
			st = "done";
		else if (v == NULL && ok)	/* redo deleted it */
			st = "pending";
		else
			st = ph[i].outcome;
		fact[0] = '\0';
		if (v != NULL)
			facts(v, fact, sizeof(fact));
		took[0] = '\0';
		if (*ph[i].finished)
			snprintf(took, sizeof(took), "%.1f s",
			    (double)ph[i].duration_ms / 1000);
		printf("%-10s %-13s %-21s %9s %5d min  %s\n", ph[i].name, st,
		    *ph[i].finished ? ph[i].finished : "-",
		    *took ? took : "-", ph[i].estimate, fact);
		json_free(v);
	}
	return 0;
}

/*
 * One row of the reference table.  ip and role come from the
 * inventory ("" when the host is not in it); the state adds how far
 * mkprov got with the host, and the address it learned.
 */
static void
reference_row(const char *state, const char *host, const char *ip,
    const char *role, int listed)
{
	struct json_err	 err;
	const char	*status, *sip = NULL;
	char		 path[1024];
	yajl_val	 srv, ver;

	snprintf(path, sizeof(path), "%s/%s/server-ready.json", state, host);
	srv = read_json(path, STAMP_MAX);
	snprintf(path, sizeof(path), "%s/%s/verified.json", state, host);
	ver = read_json(path, STAMP_MAX);
	if (srv != NULL && json_str(srv, "ipv4", &sip, &err) == 0 &&
	    *ip == '\0')
		ip = sip;
	if (ver != NULL)
		status = "active (verified)";
	else if (srv != NULL)
		status = "provisioning";
	else
		status = listed ? "in inventory" : "not created";
	printf("| %-20s | %-15s | %-12s | %-22s |\n", host,
	    *ip ? ip : "-", *role ? role : "-", status);
	json_free(srv);
	json_free(ver);
}

/*
 * Read the inventory as ansible-inventory does (so the table agrees
 * with what Ansible would do).  Returns the hostvars object of the
 * tree in *v (free *v with json_free), or NULL (logged).
 */
static yajl_val
inventory_hosts(const char *inventory, yajl_val *v)
{
	static char	 prog[] = "ansible-inventory", i[] = "-i",
			 list[] = "--list";
	struct json_err	 err;
	char		 file[1024], *out;
	char		*argv[] = { prog, i, file, list, NULL };
	yajl_val	 hv;
	int		 st;

	*v = NULL;
	snprintf(file, sizeof(file), "%s", inventory);
	setenv("ANSIBLE_INVENTORY_UNPARSED_FAILED", "True", 1);
	if (proc_capture(argv, &out, INVENTORY_MAX, &st) == -1)
		return NULL;
	*v = st == 0 ? json_parse(out, strlen(out), &err) : NULL;
	free(out);
	if (*v == NULL || json_obj(*v, "_meta.hostvars", &hv, &err) == -1) {
		log_err(inventory, "ansible-inventory cannot read it");
		json_free(*v);
		*v = NULL;
		return NULL;
	}
	return hv;
}

/*
 * The string at key in the object v, or "".
 */
static const char *
str_or_empty(yajl_val v, const char *key)
{
	struct json_err	 err;
	const char	*s;

	return json_str(v, key, &s, &err) == 0 ? s : "";
}

/*
 * Print the runbook's Server Reference table: the inventory's hosts,
 * then hosts that have state but are not in it.  Returns an exit
 * status.
 */
static int
reference(const char *state, const char *inventory)
{
	struct dirent	**names = NULL, *e;
	char		 path[1024];
	struct stat	 st;
	yajl_val	 tree = NULL, hv = NULL;
	size_t		 k;
	int		 i, n, rc = 0;

	printf("| %-20s | %-15s | %-12s | %-22s |\n", "Name", "IP", "Role",
	    "Status");
	printf("|%s|%s|%s|%s|\n", "----------------------",
	    "-----------------", "--------------", "------------------------");
	if (inventory != NULL && access(inventory, F_OK) == 0 &&
	    (hv = inventory_hosts(inventory, &tree)) == NULL)
		rc = MKP_EXIT_FAIL;
	for (k = 0; hv != NULL && k < hv->u.object.len; k++)
		reference_row(state, hv->u.object.keys[k],
		    str_or_empty(hv->u.object.values[k], "ansible_host"),
		    str_or_empty(hv->u.object.values[k], "server_role"), 1);
	n = scandir(state, &names, NULL, alphasort);
	for (i = 0; i < n; i++) {
		e = names[i];
		snprintf(path, sizeof(path), "%s/%s/journal.jsonl", state,
		    e->d_name);
		if (e->d_name[0] != '.' && stat(path, &st) == 0 &&
		    (hv == NULL || json_at(hv, e->d_name) == NULL))
			reference_row(state, e->d_name, "", "", 0);
		free(e);
	}
	free(names);
	json_free(tree);
	return rc;
}

/*
 * Parse the command line, run the helper, and exit with the status of
 * the contract in mkprov.h.
 */
int
main(int argc, char *argv[])
{
	struct phase	 ph[MAX_PHASES];
	const char	*state = NULL, *host = NULL, *inventory = NULL;
	int		 ch, i, n = 0;

	log_init(argv[0]);
	while ((ch = getopt(argc, argv, ":H:i:S:")) != -1)
		switch (ch) {
		case 'H': host = optarg; break;
		case 'i': inventory = optarg; break;
		case 'S': state = optarg; break;
		default: return log_usage(ch, SYNOPSIS);
		}
	if (state == NULL || argc - optind > MAX_PHASES)
		return log_usage(0, SYNOPSIS);
	for (i = optind; i < argc; i++)
		if (parse_phase(argv[i], &ph[n++]) == -1)
			return log_usage(0, SYNOPSIS);
	if (host == NULL)
		return reference(state, inventory);
	if (n == 0)
		return log_usage(0, SYNOPSIS);
	return host_table(state, host, ph, n);
}
