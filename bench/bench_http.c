/*
 * bench_http.c: the http module against tests/lib/https-fixture.py
 * over real TLS: requests per second and latency for GET /ok, one at
 * a time with http_request() and in batches with http_request_many().
 *
 * usage: bench_http BASE CAFILE seq [REQUESTS [REPS]]
 *        bench_http BASE CAFILE many [REQUESTS [REPS [BATCH]]]
 *
 * BASE is the fixture's https://127.0.0.N:PORT.  One client makes
 * every request, so that libcurl can keep its connections; a few
 * requests before the timed runs open them.  seq times each request;
 * many times each batch of BATCH (20) concurrent requests, its
 * latency being that of its slowest request.  Every answer must be
 * 200 with the fixture's body, or the run fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "http.h"
#include "log.h"

#define REQUESTS	2000
#define REPS		3
#define REPS_MAX	100
#define BATCH		20
#define WARMUP		20

/*
 * Check one answer: 200 and {"ok": true}.  Returns 0, or -1
 * (reported) when it is another.
 */
static int
check(const struct http_resp *r, const char *url)
{
	if (r->status != 200 || strstr(r->body, "\"ok\": true") == NULL)
		return bench_fail(url, "HTTP %ld: unexpected answer",
		    r->status);
	return 0;
}

/*
 * Send n requests one after another, their latencies in ms into lat
 * (NULL: not kept).  Returns 0 with the requests per second in *rate,
 * or -1 (reported).
 */
static int
run_seq(struct http_client *c, const struct http_req *req, long n,
    double *lat, double *rate)
{
	struct http_resp	r;
	int64_t			t0, t1;
	long			i;
	int			rc;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		t1 = bench_now_ns();
		if (http_request(c, req, &r) == -1)
			return bench_fail(req->url, "%s",
			    http_strerror(r.error));
		if (lat != NULL)
			lat[i] = bench_secs(t1) * 1000;
		rc = check(&r, req->url);
		http_resp_free(&r);
		if (rc == -1)
			return -1;
	}
	*rate = n / bench_secs(t0);
	return 0;
}

/*
 * Send one batch of n requests at once and check every answer.
 * Returns 0, or -1 (reported).
 */
static int
run_batch(struct http_client *c, const struct http_req *reqs,
    struct http_resp *resps, int n)
{
	int	i, rc = 0;

	if (http_request_many(c, reqs, resps, (size_t)n) == -1)
		return bench_fail(reqs[0].url, "a request of the batch "
		    "failed");
	for (i = 0; i < n; i++) {
		if (rc == 0 && check(&resps[i], reqs[i].url) == -1)
			rc = -1;
		http_resp_free(&resps[i]);
	}
	return rc;
}

/*
 * Send n requests in batches of batch, the latency of each batch in
 * ms into lat (NULL: not kept).  Returns 0 with the requests per
 * second in *rate, or -1 (reported).
 */
static int
run_many(struct http_client *c, const struct http_req *req, long n,
    int batch, double *lat, double *rate)
{
	struct http_req		*reqs;
	struct http_resp	*resps;
	int64_t			 t0, t1;
	long			 b;
	int			 i, rc = 0;

	reqs = bench_alloc((size_t)batch * sizeof(*reqs));
	resps = bench_alloc((size_t)batch * sizeof(*resps));
	if (reqs == NULL || resps == NULL)
		rc = -1;
	for (i = 0; rc == 0 && i < batch; i++)
		reqs[i] = *req;
	t0 = bench_now_ns();
	for (b = 0; rc == 0 && b < n / batch; b++) {
		t1 = bench_now_ns();
		rc = run_batch(c, reqs, resps, batch);
		if (lat != NULL)
			lat[b] = bench_secs(t1) * 1000;
	}
	if (rc == 0)
		*rate = (double)(n / batch * batch) / bench_secs(t0);
	free(reqs);
	free(resps);
	return rc;
}

/*
 * Print the three results of a mode: rate, p50 and p99, each the
 * median of the runs'.  Returns nothing.
 */
static void
report(const char *mode, const char *unit, double *rate, double *p50,
    double *p99, int reps, const char *how)
{
	struct bench_stats	st;
	char			what[128];

	snprintf(what, sizeof(what), "http: %s, throughput", mode);
	bench_stats(rate, (size_t)reps, &st);
	bench_result(what, &st, "req/s", "%s", how);
	snprintf(what, sizeof(what), "http: %s, p50 latency", mode);
	bench_stats(p50, (size_t)reps, &st);
	bench_result(what, &st, unit, "the same runs: median of each "
	    "run's p50");
	snprintf(what, sizeof(what), "http: %s, p99 latency", mode);
	bench_stats(p99, (size_t)reps, &st);
	bench_result(what, &st, unit, "the same runs: median of each "
	    "run's p99");
}

/*
 * Print the usage.  Returns 3, the exit status of a usage error.
 */
static int
usage(void)
{
	fprintf(stderr, "usage: bench_http BASE CAFILE seq [REQUESTS "
	    "[REPS]]\n       bench_http BASE CAFILE many [REQUESTS [REPS "
	    "[BATCH]]]\n");
	return 3;
}

/*
 * Run one timed pass of the mode: n requests, their latencies into
 * lat.  Returns as run_seq and run_many do.
 */
static int
run_once(struct http_client *c, const struct http_req *req, int many,
    long n, int batch, double *lat, double *rate)
{
	if (many)
		return run_many(c, req, n, batch, lat, rate);
	return run_seq(c, req, n, lat, rate);
}

/*
 * Warm the client up, then run the mode reps times (reps <= REPS_MAX)
 * and report it.  Returns 0, or -1 (reported).
 */
static int
measure(struct http_client *c, const struct http_req *req, int many,
    long n, int reps, int batch)
{
	double	 rate[REPS_MAX], p50[REPS_MAX], p99[REPS_MAX], warm, *lat;
	char	 how[256];
	long	 nlat = many ? n / batch : n;
	int	 r, rc;

	if ((lat = bench_alloc((size_t)nlat * sizeof(*lat))) == NULL)
		return -1;
	rc = run_once(c, req, many, many ? WARMUP * batch : WARMUP, batch,
	    NULL, &warm);
	for (r = 0; rc == 0 && r < reps; r++) {
		rc = run_once(c, req, many, n, batch, lat, &rate[r]);
		p50[r] = bench_percentile(lat, (size_t)nlat, 50);
		p99[r] = bench_percentile(lat, (size_t)nlat, 99);
	}
	free(lat);
	if (rc == -1)
		return -1;
	if (many) {
		snprintf(how, sizeof(how), "%ld GET /ok as %ld "
		    "http_request_many() calls of %d, one client; %d runs",
		    n / batch * batch, n / batch, batch, reps);
		report("http_request_many, 20 at once", "ms per batch", rate,
		    p50, p99, reps, how);
	} else {
		snprintf(how, sizeof(how), "%ld GET /ok one after another, "
		    "one client; %d runs", n, reps);
		report("http_request, one at a time", "ms", rate, p50, p99,
		    reps, how);
	}
	return 0;
}

/*
 * Read the arguments and measure the mode.  Returns 0, 1 when a
 * request failed, 3 for a usage error.
 */
int
main(int argc, char *argv[])
{
	struct http_conf	 conf = { 0 };
	struct http_req		 req = { 0 };
	struct http_client	*c;
	char			 url[256];
	long			 n = REQUESTS, reps = REPS, batch = BATCH;
	int			 many, rc;

	if (argc < 4 || argc > 7)
		return usage();
	if (strcmp(argv[3], "seq") != 0 && strcmp(argv[3], "many") != 0)
		return usage();
	many = strcmp(argv[3], "many") == 0;
	if (!many && argc > 6)
		return usage();
	if ((argc > 4 && bench_num(argv[4], 1, 10000000, "REQUESTS",
	    &n) == -1) || (argc > 5 && bench_num(argv[5], 1, REPS_MAX,
	    "REPS", &reps) == -1) || (argc > 6 && bench_num(argv[6], 1,
	    1000, "BATCH", &batch) == -1))
		return 3;
	log_init("bench_http");
	snprintf(url, sizeof(url), "%s/ok", argv[1]);
	conf.cafile = argv[2];
	if ((c = http_new(&conf)) == NULL)
		return 1;
	req.url = url;
	rc = measure(c, &req, many, n, (int)reps, (int)batch);
	http_free(c);
	return rc == 0 ? 0 : 1;
}
