/*
 * bench_json.c: the json module on the list of servers of a large
 * Hetzner project: 5000 server objects shaped as the API sends them
 * (and as tests/sandbox/fakes/hetzner.py does), about 3 KB each.
 *
 * usage: bench_json gen FILE [SERVERS [REPS]]
 *        bench_json parse FILE [REPS]
 *
 * gen builds the answer of GET /servers with the generator (jw_*)
 * REPS times, reports its throughput and writes the last one to FILE.
 * parse reads FILE, then REPS times parses it and reads every server
 * with typed lookups, the fields hcloud_server() takes, and reports
 * the throughput and the peak RSS.  parse runs in its own process so
 * that its RSS is its own.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "json.h"
#include "log.h"
#include "util.h"

#define SERVERS		5000
#define GEN_REPS	5
#define PARSE_REPS	5
#define REPS_MAX	100
#define FILE_MAX	(512L * 1024 * 1024)
#define MIB		(1024.0 * 1024.0)

static const char *const locations[] = { "fsn1", "nbg1", "hel1" };
static const char *const types[] = { "cx23", "cpx22", "cpx32", "cpx42" };
static const char *const states[] = { "running", "running", "running",
	"off", "initializing" };

/*
 * Add a {net, gross} price pair.  Returns nothing.
 */
static void
gen_money(struct json_w *w, const char *key, const char *net,
    const char *gross)
{
	jw_key(w, key);
	jw_obj_open(w);
	jw_kv_str(w, "net", net);
	jw_kv_str(w, "gross", gross);
	jw_obj_close(w);
}

/*
 * Add a ServerType object with a price and an availability entry per
 * location.  Returns nothing.
 */
static void
gen_type(struct json_w *w, int t)
{
	size_t	i;

	jw_key(w, "server_type");
	jw_obj_open(w);
	jw_kv_int(w, "id", 104 + t);
	jw_kv_str(w, "name", types[t]);
	jw_kv_str(w, "description", types[t]);
	jw_kv_int(w, "cores", 2 << (t / 2));
	jw_kv_int(w, "memory", 4 << t);
	jw_kv_int(w, "disk", 40 << t);
	jw_kv_bool(w, "deprecated", 0);
	jw_key(w, "prices");
	jw_arr_open(w);
	for (i = 0; i < 3; i++) {
		jw_obj_open(w);
		jw_kv_str(w, "location", locations[i]);
		gen_money(w, "price_hourly", "0.0164000000",
		    "0.0195160000000000");
		gen_money(w, "price_monthly", "11.9900000000",
		    "14.2681000000000000");
		jw_kv_int(w, "included_traffic", 21990232555520LL);
		gen_money(w, "price_per_tb_traffic", "1.0000000000",
		    "1.1900000000000000");
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_kv_str(w, "storage_type", "local");
	jw_kv_str(w, "cpu_type", "shared");
	jw_kv_str(w, "architecture", "x86");
	jw_key(w, "deprecation");
	jw_null(w);
	jw_key(w, "locations");
	jw_arr_open(w);
	for (i = 0; i < 3; i++) {
		jw_obj_open(w);
		jw_kv_int(w, "id", (long long)i + 1);
		jw_kv_str(w, "name", locations[i]);
		jw_key(w, "deprecation");
		jw_null(w);
		jw_kv_bool(w, "available", 1);
		jw_kv_bool(w, "recommended", 1);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_obj_close(w);
}

/*
 * Add public_net: an IPv4 address (none for every tenth server) and
 * an IPv6 network.  Returns nothing.
 */
static void
gen_net(struct json_w *w, int i, uint64_t r)
{
	char	buf[96];

	jw_key(w, "public_net");
	jw_obj_open(w);
	jw_key(w, "ipv4");
	if (i % 10 == 9)
		jw_null(w);
	else {
		jw_obj_open(w);
		jw_kv_int(w, "id", 50000000LL + 2 * i);
		snprintf(buf, sizeof(buf), "10.%d.%d.%d", (int)(r & 0xff),
		    i / 256, i % 256);
		jw_kv_str(w, "ip", buf);
		jw_kv_bool(w, "blocked", 0);
		snprintf(buf, sizeof(buf), "static.%d.%d.%d.10.clients."
		    "your-server.de", i % 256, i / 256, (int)(r & 0xff));
		jw_kv_str(w, "dns_ptr", buf);
		jw_obj_close(w);
	}
	jw_key(w, "ipv6");
	jw_obj_open(w);
	jw_kv_int(w, "id", 50000001LL + 2 * i);
	snprintf(buf, sizeof(buf), "2001:db8:%x::/64", i);
	jw_kv_str(w, "ip", buf);
	jw_kv_bool(w, "blocked", 0);
	jw_key(w, "dns_ptr");
	jw_arr_open(w);
	jw_arr_close(w);
	jw_obj_close(w);
	jw_key(w, "floating_ips");
	jw_arr_open(w);
	jw_arr_close(w);
	jw_key(w, "firewalls");
	jw_arr_open(w);
	jw_obj_open(w);
	jw_kv_int(w, "id", 1000 + i % 7);
	jw_kv_str(w, "status", "applied");
	jw_obj_close(w);
	jw_arr_close(w);
	jw_obj_close(w);
}

/*
 * Add a Location object.  Returns nothing.
 */
static void
gen_location(struct json_w *w, int l)
{
	static const char *const cities[] = { "Falkenstein", "Nuremberg",
		"Helsinki" };

	jw_key(w, "location");
	jw_obj_open(w);
	jw_kv_int(w, "id", l + 1);
	jw_kv_str(w, "name", locations[l]);
	jw_kv_str(w, "description", "DC Park 1");
	jw_kv_str(w, "country", l == 2 ? "FI" : "DE");
	jw_kv_str(w, "city", cities[l]);
	jw_kv_str(w, "network_zone", "eu-central");
	jw_obj_close(w);
}

/*
 * Add an Image object, or null (a server made from a snapshot that
 * was since deleted) for every seventh server.  Returns nothing.
 */
static void
gen_image(struct json_w *w, int i)
{
	jw_key(w, "image");
	if (i % 7 == 6) {
		jw_null(w);
		return;
	}
	jw_obj_open(w);
	jw_kv_int(w, "id", 161547269);
	jw_kv_str(w, "type", "system");
	jw_kv_str(w, "status", "available");
	jw_kv_str(w, "name", "ubuntu-24.04");
	jw_kv_str(w, "description", "Ubuntu 24.04");
	jw_key(w, "image_size");
	jw_null(w);
	jw_kv_int(w, "disk_size", 5);
	jw_kv_str(w, "created", "2024-04-25T11:04:04Z");
	jw_kv_str(w, "os_flavor", "ubuntu");
	jw_kv_str(w, "os_version", "24.04");
	jw_kv_bool(w, "rapid_deploy", 1);
	jw_key(w, "protection");
	jw_obj_open(w);
	jw_kv_bool(w, "delete", 0);
	jw_obj_close(w);
	jw_key(w, "labels");
	jw_obj_open(w);
	jw_obj_close(w);
	jw_kv_str(w, "architecture", "x86");
	jw_obj_close(w);
}

/*
 * Add the flags, counters and labels that close a Server object.
 * Returns nothing.
 */
static void
gen_tail(struct json_w *w, int i, int t, const char *name, uint64_t r)
{
	jw_key(w, "iso");
	jw_null(w);
	jw_kv_bool(w, "rescue_enabled", 0);
	jw_kv_bool(w, "locked", 0);
	jw_key(w, "backup_window");
	jw_null(w);
	jw_kv_int(w, "outgoing_traffic", (long long)(r >> 24));
	jw_kv_int(w, "ingoing_traffic", (long long)(r >> 28));
	jw_kv_int(w, "included_traffic", 21990232555520LL);
	jw_key(w, "protection");
	jw_obj_open(w);
	jw_kv_bool(w, "delete", i % 3 == 0);
	jw_kv_bool(w, "rebuild", i % 3 == 0);
	jw_obj_close(w);
	jw_key(w, "labels");
	jw_obj_open(w);
	jw_kv_str(w, "role", i % 4 ? "production" : "staging");
	jw_kv_str(w, "mkprov/host", name);
	jw_kv_str(w, "team", "platform");
	jw_obj_close(w);
	jw_key(w, "volumes");
	jw_arr_open(w);
	jw_arr_close(w);
	jw_key(w, "load_balancers");
	jw_arr_open(w);
	jw_arr_close(w);
	jw_kv_int(w, "primary_disk_size", 40 << t);
	jw_key(w, "placement_group");
	jw_null(w);
}

/*
 * Add server number i.  Returns nothing.
 */
static void
gen_server(struct json_w *w, int i, uint64_t *rng)
{
	uint64_t	r = bench_rand(rng);
	int		t = (int)(r % 4), l = (int)((r >> 8) % 3);
	char		name[32], created[32];

	snprintf(name, sizeof(name), "srv-%05d", i);
	snprintf(created, sizeof(created), "2025-%02d-%02dT%02d:%02d:%02dZ",
	    (int)((r >> 16) % 12) + 1, (int)((r >> 20) % 28) + 1,
	    (int)((r >> 28) % 24), (int)((r >> 32) % 60),
	    (int)((r >> 40) % 60));
	jw_obj_open(w);
	jw_kv_int(w, "id", 10000000LL + i);
	jw_kv_str(w, "name", name);
	jw_kv_str(w, "status", states[(r >> 12) % 5]);
	jw_kv_str(w, "created", created);
	gen_net(w, i, r);
	jw_key(w, "private_net");
	jw_arr_open(w);
	jw_arr_close(w);
	gen_type(w, t);
	gen_location(w, l);
	gen_image(w, i);
	gen_tail(w, i, t, name, r);
	jw_obj_close(w);
}

/*
 * Build the answer of GET /servers for n servers.  Returns 0 with
 * *out (malloc'd) and *len set, or -1 (logged by jw_finish).
 */
static int
gen_list(int n, char **out, size_t *len)
{
	struct json_w	w;
	uint64_t	rng = 42;
	int		i, rc;

	jw_init(&w);
	jw_obj_open(&w);
	jw_key(&w, "servers");
	jw_arr_open(&w);
	for (i = 0; i < n; i++)
		gen_server(&w, i, &rng);
	jw_arr_close(&w);
	jw_key(&w, "meta");
	jw_obj_open(&w);
	jw_key(&w, "pagination");
	jw_obj_open(&w);
	jw_kv_int(&w, "page", 1);
	jw_kv_int(&w, "per_page", n);
	jw_kv_int(&w, "total_entries", n);
	jw_obj_close(&w);
	jw_obj_close(&w);
	jw_obj_close(&w);
	rc = jw_finish(&w, out, len);
	jw_free(&w);
	return rc;
}

/*
 * The gen command, reps <= REPS_MAX.  Returns the exit status: 0, or
 * 1 (reported).
 */
static int
cmd_gen(const char *file, int n, int reps)
{
	double	 mibs[REPS_MAX], rate[REPS_MAX];
	char	*doc = NULL;
	size_t	 len = 0;
	int64_t	 t0;
	int	 r;
	struct bench_stats st;

	for (r = 0; r < reps; r++) {
		free(doc);
		t0 = bench_now_ns();
		if (gen_list(n, &doc, &len) == -1)
			return 1;
		rate[r] = n / bench_secs(t0);
		mibs[r] = (double)len / MIB * rate[r] / n;
	}
	if (util_write_atomic(file, doc, len, 0644) == -1) {
		free(doc);
		return 1;
	}
	bench_stats(mibs, (size_t)reps, &st);
	bench_result("json: generate a list of servers (jw_*)", &st, "MiB/s",
	    "%d servers, %.1f MiB of JSON, built %d times; jw_finish "
	    "included", n, len / MIB, reps);
	bench_stats(rate, (size_t)reps, &st);
	bench_result("json: generate, per server", &st, "servers/s",
	    "the same runs");
	free(doc);
	return 0;
}

/*
 * Copy the string at path below srv, "" for null.  Returns 0 or -1.
 */
static int
str_at(yajl_val srv, const char *path, char *buf, size_t sz,
    struct json_err *err)
{
	const char	*s;

	if (json_str_or_null(srv, path, &s, err) == -1)
		return -1;
	snprintf(buf, sz, "%s", s != NULL ? s : "");
	return 0;
}

/* What a typed read of one server keeps: hcloud_server()'s fields. */
struct server {
	long long	 id;
	long long	 disk;
	long long	 cores;
	int		 protect;
	char		 name[64];
	char		 status[32];
	char		 created[40];
	char		 type[64];
	char		 location[64];
	char		 ipv4[64];
	char		 ipv6[64];
	char		 image[64];
	char		 host[64];
};

/*
 * Read server i of the list the way hcloud_server() does: every field
 * through a typed lookup by path.  Returns 0, or -1 with err filled.
 */
static int
read_server(yajl_val root, size_t i, struct server *s,
    struct json_err *err)
{
	yajl_val	srv, labels;
	char		path[32];

	snprintf(path, sizeof(path), "servers[%zu]", i);
	if (json_obj(root, path, &srv, err) == -1 ||
	    json_int(srv, "id", &s->id, err) == -1 ||
	    str_at(srv, "name", s->name, sizeof(s->name), err) == -1 ||
	    str_at(srv, "status", s->status, sizeof(s->status), err) ||
	    str_at(srv, "created", s->created, sizeof(s->created), err) ||
	    str_at(srv, "server_type.name", s->type, sizeof(s->type),
	    err) == -1 || json_int(srv, "server_type.cores", &s->cores,
	    err) == -1 || str_at(srv, "location.name", s->location,
	    sizeof(s->location), err) == -1 ||
	    json_int(srv, "primary_disk_size", &s->disk, err) == -1 ||
	    json_bool(srv, "protection.delete", &s->protect, err) == -1)
		return -1;
	s->ipv4[0] = s->image[0] = s->host[0] = '\0';
	if (YAJL_IS_OBJECT(json_at(srv, "public_net.ipv4")) &&
	    str_at(srv, "public_net.ipv4.ip", s->ipv4, sizeof(s->ipv4),
	    err) == -1)
		return -1;
	if (str_at(srv, "public_net.ipv6.ip", s->ipv6, sizeof(s->ipv6),
	    err) == -1)
		return -1;
	if (YAJL_IS_OBJECT(json_at(srv, "image")) &&
	    str_at(srv, "image.name", s->image, sizeof(s->image), err))
		return -1;
	if (json_obj(srv, "labels", &labels, err) == -1 ||
	    str_at(labels, "mkprov/host", s->host, sizeof(s->host), err))
		return -1;
	return 0;
}

/*
 * Read every server of a parsed list and check that each is the one
 * generated, so that a lookup that finds nothing cannot look fast.
 * Returns the number of servers, or -1 (reported).
 */
static long
read_all(yajl_val root)
{
	struct json_err	 err;
	struct server	 s;
	yajl_val	 list;
	size_t		 i, n;

	if (json_arr(root, "servers", &list, &n, &err) == -1)
		return bench_fail("servers", "%s", err.msg);
	for (i = 0; i < n; i++) {
		if (read_server(root, i, &s, &err) == -1)
			return bench_fail("servers", "%zu: %s", i, err.msg);
		if (s.id != 10000000LL + (long long)i ||
		    strcmp(s.name, s.host) != 0 || s.ipv6[0] == '\0' ||
		    (i % 10 == 9) != (s.ipv4[0] == '\0'))
			return bench_fail("servers", "%zu: not the server "
			    "generated", i);
	}
	return (long)n;
}

/*
 * Time yajl_tree_parse itself on buf (NUL-terminated), the floor
 * under json_parse, which scans and copies its input first.  Returns
 * 0 with the throughput in MiB/s in *mibs, or -1 (reported).
 */
static int
yajl_floor(const char *buf, size_t len, double *mibs)
{
	char		ebuf[256];
	yajl_val	v;
	int64_t		t0;

	t0 = bench_now_ns();
	if ((v = yajl_tree_parse(buf, ebuf, sizeof(ebuf))) == NULL)
		return bench_fail("yajl_tree_parse", "%s", ebuf);
	*mibs = len / MIB / bench_secs(t0);
	yajl_tree_free(v);
	return 0;
}

/* The timings of the parse command, one entry per run. */
struct parse_runs {
	double	mibs[REPS_MAX];
	double	parse[REPS_MAX];
	double	look[REPS_MAX];
	double	freeing[REPS_MAX];
	double	floor[REPS_MAX];
	long	n;		/* servers read */
};

/*
 * Parse buf and read every server reps times (reps <= REPS_MAX), then
 * time yajl alone as often, into t.  Returns 0, or -1 (reported).
 */
static int
parse_runs(const char *file, const char *buf, size_t len, int reps,
    struct parse_runs *t)
{
	struct json_err	 err;
	yajl_val	 v;
	int64_t		 t0, t1, t2;
	int		 r;

	for (r = 0; r < reps; r++) {
		t0 = bench_now_ns();
		if ((v = json_parse(buf, len, &err)) == NULL)
			return bench_fail(file, "%s", err.msg);
		t1 = bench_now_ns();
		t->n = read_all(v);
		t2 = bench_now_ns();
		json_free(v);
		if (t->n == -1)
			return -1;
		t->mibs[r] = len / MIB / bench_secs(t0);
		t->freeing[r] = bench_secs(t2) * 1000;
		t->parse[r] = len / MIB / ((t1 - t0) / 1e9);
		t->look[r] = t->n / ((t2 - t1) / 1e9);
	}
	for (r = 0; r < reps; r++)
		if (yajl_floor(buf, len, &t->floor[r]) == -1)
			return -1;
	return 0;
}

/*
 * The parse command, reps <= REPS_MAX.  Returns the exit status: 0,
 * or 1 (reported).
 */
static int
cmd_parse(const char *file, int reps)
{
	struct parse_runs t;
	struct bench_stats st;
	char		*buf;
	size_t		 len;
	long		 rss0;

	if (util_read_file(file, FILE_MAX, &buf, &len) == -1)
		return 1;
	rss0 = bench_maxrss_kb();
	if (parse_runs(file, buf, len, reps, &t) == -1) {
		free(buf);
		return 1;
	}
	bench_stats(t.mibs, (size_t)reps, &st);
	bench_result("json: parse + typed lookups of every server", &st,
	    "MiB/s", "%ld servers, %.1f MiB; json_parse, 17 typed lookups "
	    "per server as hcloud_server() does, json_free; %d runs", t.n,
	    len / MIB, reps);
	bench_stats(t.parse, (size_t)reps, &st);
	bench_result("json: json_parse alone", &st, "MiB/s",
	    "the same runs, up to the tree");
	bench_stats(t.floor, (size_t)reps, &st);
	bench_result("json: yajl_tree_parse directly", &st, "MiB/s",
	    "the floor under json_parse (no prescan, no copy); %d runs "
	    "after the others", reps);
	bench_stats(t.look, (size_t)reps, &st);
	bench_result("json: typed lookups alone", &st, "servers/s",
	    "the same runs, on the tree");
	bench_stats(t.freeing, (size_t)reps, &st);
	bench_result("json: json_free of the tree", &st, "ms",
	    "the same runs");
	bench_result1("json: parse max RSS", bench_maxrss_kb() / 1024.0,
	    "MiB", "getrusage peak of the process; %.1f MiB before the "
	    "first parse (the file read in)", rss0 / 1024.0);
	free(buf);
	return 0;
}

/*
 * Print the usage.  Returns 3, the exit status of a usage error.
 */
static int
usage(void)
{
	fprintf(stderr, "usage: bench_json gen FILE [SERVERS [REPS]]\n"
	    "       bench_json parse FILE [REPS]\n");
	return 3;
}

/*
 * Run the command named by argv[1].  Returns its exit status: 0, 1
 * when the library failed, 3 for a usage error.
 */
int
main(int argc, char *argv[])
{
	long	servers = SERVERS, reps;

	log_init("bench_json");
	if (argc >= 3 && argc <= 5 && strcmp(argv[1], "gen") == 0) {
		reps = GEN_REPS;
		if ((argc > 3 && bench_num(argv[3], 1, 1000000, "SERVERS",
		    &servers) == -1) || (argc > 4 && bench_num(argv[4], 1,
		    REPS_MAX, "REPS", &reps) == -1))
			return 3;
		return cmd_gen(argv[2], (int)servers, (int)reps);
	}
	if (argc >= 3 && argc <= 4 && strcmp(argv[1], "parse") == 0) {
		reps = PARSE_REPS;
		if (argc > 3 && bench_num(argv[3], 1, REPS_MAX, "REPS",
		    &reps) == -1)
			return 3;
		return cmd_parse(argv[2], (int)reps);
	}
	return usage();
}
