/*
 * bench_dotenv.c: writing and reading .env files with values as nasty
 * as real secrets get: quotes of both kinds, backslashes, "$" alone,
 * doubled and before names, newlines, carriage returns, tabs, "#",
 * "=", backticks, control bytes and UTF-8.
 *
 * usage: bench_dotenv [VARS [REPS]]
 *
 * The same VARS variables (10 000 by default, 20 to 200 bytes each,
 * from a fixed seed) are written with dotenv_append() and read back
 * with dotenv_parse() REPS times; the round trip is checked once, so
 * that a parser that loses bytes cannot look fast.  A tenth of VARS
 * is parsed too: with the same bytes per variable, a lower rate for
 * the full count shows work growing faster than the input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dotenv.h"
#include "log.h"

#define VARS	10000
#define REPS	5
#define MIB	(1024.0 * 1024.0)

static const char *const nasty[] = {
	"\"", "'", "\\", "$", "$$", "${HOME}", "$PATH", "\n", "\r\n", "\t",
	"#", " # not a comment", "=", "`id`", "\xc3\xa9", "\xe6\x97\xa5",
	"\\n", "\x01", " ", "export ", "'\"'", "\\\"", "$'x'",
};

/*
 * Make the value of variable i: random letters and digits broken by
 * nasty fragments, 20 to 200 bytes.  Returns it, malloc'd.
 */
static char *
make_value(uint64_t *rng)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
	size_t	 want = 20 + bench_rand(rng) % 181, n = 0, k;
	char	*v = bench_alloc(want + 32);
	const char *frag;

	while (n < want) {
		if (bench_rand(rng) % 4 == 0) {
			frag = nasty[bench_rand(rng) %
			    (sizeof(nasty) / sizeof(nasty[0]))];
			k = strlen(frag);
			memcpy(v + n, frag, k);
			n += k;
		} else
			v[n++] = alnum[bench_rand(rng) % (sizeof(alnum) - 1)];
	}
	v[n] = '\0';
	return v;
}

/*
 * Write the n variables into b.  Returns nothing; exits on failure.
 */
static void
write_all(struct dotenv_buf *b, char **keys, char **vals, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (dotenv_append(b, keys[i], vals[i]) == -1)
			bench_fail(keys[i], "dotenv_append failed");
}

/*
 * Check that env holds exactly the n variables.  Returns nothing;
 * exits when a value came back different.
 */
static void
check(const struct dotenv *env, char **keys, char **vals, size_t n)
{
	size_t	i;

	if (env->n != n)
		bench_fail("dotenv_parse", "%zu variables read, %zu written",
		    env->n, n);
	for (i = 0; i < n; i++)
		if (strcmp(env->vars[i].key, keys[i]) != 0 ||
		    strcmp(env->vars[i].val, vals[i]) != 0)
			bench_fail(keys[i], "value changed in the round trip");
}

/*
 * Parse the first n variables reps times.  Returns the median rate in
 * MiB/s in st; the file's size in *size.
 */
static void
parse_runs(char **keys, char **vals, size_t n, int reps,
    struct bench_stats *st, size_t *size)
{
	struct dotenv_buf	 b = { 0 };
	struct dotenv		 env;
	char			 err[256];
	double			*v;
	int64_t			 t0;
	int			 r;

	write_all(&b, keys, vals, n);
	v = bench_alloc((size_t)reps * sizeof(*v));
	for (r = 0; r < reps; r++) {
		t0 = bench_now_ns();
		if (dotenv_parse(b.s, b.len, &env, err, sizeof(err)) == -1)
			bench_fail("dotenv_parse", "%s", err);
		v[r] = b.len / MIB / bench_secs(t0);
		if (r == 0)
			check(&env, keys, vals, n);
		dotenv_free(&env);
	}
	bench_stats(v, (size_t)reps, st);
	*size = b.len;
	dotenv_buf_free(&b);
	free(v);
}

/*
 * Write, then parse, then parse a tenth.  Returns 0, 1 when the
 * round trip failed, 3 for a usage error.
 */
int
main(int argc, char *argv[])
{
	struct bench_stats	 st;
	struct dotenv_buf	 b;
	char			**keys, **vals, key[32];
	double			*v;
	size_t			 n = VARS, i, size = 0;
	uint64_t		 rng = 1;
	int64_t			 t0;
	int			 reps = REPS, r;

	if (argc > 3) {
		fprintf(stderr, "usage: bench_dotenv [VARS [REPS]]\n");
		return 3;
	}
	if (argc > 1)
		n = (size_t)bench_num(argv[1], 10, 10000000, "VARS");
	if (argc > 2)
		reps = (int)bench_num(argv[2], 1, 100, "REPS");
	log_init("bench_dotenv");
	keys = bench_alloc(n * sizeof(*keys));
	vals = bench_alloc(n * sizeof(*vals));
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "SECRET_%05zu", i);
		if ((keys[i] = strdup(key)) == NULL)
			bench_fail("strdup", "out of memory");
		vals[i] = make_value(&rng);
	}

	v = bench_alloc((size_t)reps * sizeof(*v));
	for (r = 0; r < reps; r++) {
		memset(&b, 0, sizeof(b));
		t0 = bench_now_ns();
		write_all(&b, keys, vals, n);
		v[r] = b.len / MIB / bench_secs(t0);
		size = b.len;
		dotenv_buf_free(&b);
	}
	bench_stats(v, (size_t)reps, &st);
	bench_result("dotenv: write (dotenv_append)", &st, "MiB/s",
	    "%zu variables, %.2f MiB of .env; %d runs", n, size / MIB,
	    reps);

	parse_runs(keys, vals, n, reps, &st, &size);
	bench_result("dotenv: parse (dotenv_parse)", &st, "MiB/s",
	    "the same file; round trip checked; dotenv_free not timed; "
	    "%d runs", reps);
	parse_runs(keys, vals, n / 10, reps, &st, &size);
	bench_result("dotenv: parse, a tenth of the variables", &st,
	    "MiB/s", "the first %zu variables, %.2f MiB; the same rate as "
	    "above means linear work", n / 10, size / MIB);

	for (i = 0; i < n; i++) {
		free(keys[i]);
		free(vals[i]);
	}
	free(keys);
	free(vals);
	free(v);
	return 0;
}
