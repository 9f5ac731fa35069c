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
#define BATCH		20
#define WARMUP		20

/*
 * Check one answer: 200 and {"ok": true}.  Returns nothing; exits
 * when it is another.
 */
static void
check(const struct http_resp *r, const char *url)
{
	if (r->status != 200 || strstr(r->body, "\"ok\": true") == NULL)
		bench_fail(url, "HTTP %ld: unexpected answer", r->status);
}

/*
 * Send n requests one after another, their latencies in ms into lat
 * (NULL: not kept).  Returns the requests per second.
 */
static double
run_seq(struct http_client *c, const struct http_req *req, long n,
    double *lat)
{
	struct http_resp	r;
	int64_t			t0, t1;
	long			i;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		t1 = bench_now_ns();
		if (http_request(c, req, &r) == -1)
			bench_fail(req->url, "%s", http_strerror(r.error));
		if (lat != NULL)
			lat[i] = bench_secs(t1) * 1000;
		check(&r, req->url);
		http_resp_free(&r);
	}
	return n / bench_secs(t0);
}

/*
 * Send n requests in batches of batch, the latency of each batch in
 * ms into lat (NULL: not kept).  Returns the requests per second.
 */
static double
run_many(struct http_client *c, const struct http_req *req, long n,
    int batch, double *lat)
{
	struct http_req		*reqs;
	struct http_resp	*resps;
	int64_t			 t0, t1;
	long			 b;
	int			 i;

	reqs = bench_alloc((size_t)batch * sizeof(*reqs));
	resps = bench_alloc((size_t)batch * sizeof(*resps));
	for (i = 0; i < batch; i++)
		reqs[i] = *req;
	t0 = bench_now_ns();
	for (b = 0; b < n / batch; b++) {
		t1 = bench_now_ns();
		if (http_request_many(c, reqs, resps, (size_t)batch) == -1)
			bench_fail(req->url, "a request of the batch failed");
		if (lat != NULL)
			lat[b] = bench_secs(t1) * 1000;
		for (i = 0; i < batch; i++) {
			check(&resps[i], req->url);
			http_resp_free(&resps[i]);
		}
	}
	free(reqs);
	free(resps);
	return (double)(n / batch * batch) / bench_secs(t0);
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
 * Print the usage and exit 3.  Returns never.
 */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: bench_http BASE CAFILE seq [REQUESTS "
	    "[REPS]]\n       bench_http BASE CAFILE many [REQUESTS [REPS "
	    "[BATCH]]]\n");
	exit(3);
}

/*
 * Warm the client up, then run the mode REPS times.  Returns 0, 1
 * when a request failed, 3 for a usage error.
 */
int
main(int argc, char *argv[])
{
	struct http_conf	 conf = { 0 };
	struct http_req		 req = { 0 };
	struct http_client	*c;
	char			 url[256], how[256];
	double			*lat, *rate, *p50, *p99;
	long			 n = REQUESTS, nlat;
	int			 reps = REPS, batch = BATCH, many, r;

	if (argc < 4 || argc > 7)
		usage();
	if (strcmp(argv[3], "seq") != 0 && strcmp(argv[3], "many") != 0)
		usage();
	many = strcmp(argv[3], "many") == 0;
	if (!many && argc > 6)
		usage();
	if (argc > 4)
		n = bench_num(argv[4], 1, 10000000, "REQUESTS");
	if (argc > 5)
		reps = (int)bench_num(argv[5], 1, 100, "REPS");
	if (argc > 6)
		batch = (int)bench_num(argv[6], 1, 1000, "BATCH");
	log_init("bench_http");
	snprintf(url, sizeof(url), "%s/ok", argv[1]);
	conf.cafile = argv[2];
	if ((c = http_new(&conf)) == NULL)
		return 1;
	req.url = url;
	nlat = many ? n / batch : n;
	lat = bench_alloc((size_t)nlat * sizeof(*lat));
	rate = bench_alloc((size_t)reps * sizeof(*rate));
	p50 = bench_alloc((size_t)reps * sizeof(*p50));
	p99 = bench_alloc((size_t)reps * sizeof(*p99));
	if (many)
		run_many(c, &req, WARMUP * batch, batch, NULL);
	else
		run_seq(c, &req, WARMUP, NULL);
	for (r = 0; r < reps; r++) {
		rate[r] = many ? run_many(c, &req, n, batch, lat) :
		    run_seq(c, &req, n, lat);
		p50[r] = bench_percentile(lat, (size_t)nlat, 50);
		p99[r] = bench_percentile(lat, (size_t)nlat, 99);
	}
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
	http_free(c);
	free(lat);
	free(rate);
	free(p50);
	free(p99);
	return 0;
}
