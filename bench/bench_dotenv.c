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
#define REPS_MAX	100
#define MIB	(1024.0 * 1024.0)

static const char *const nasty[] = {
	"\"", "'", "\\", "$", "$$", "${HOME}", "$PATH", "\n", "\r\n", "\t",
	"#", " # not a comment", "=", "`id`", "\xc3\xa9", "\xe6\x97\xa5",
	"\\n", "\x01", " ", "export ", "'\"'", "\\\"", "$'x'",
};

/*
 * Make the value of variable i: random letters and digits broken by
 * nasty fragments, 20 to 200 bytes.  Returns it, malloc'd, or NULL
 * (reported).
 */
static char *
make_value(uint64_t *rng)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
	size_t	 want = 20 + bench_rand(rng) % 181, n = 0, k;
	char	*v = bench_alloc(want + 32);
	const char *frag;

	if (v == NULL)
		return NULL;
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
 * Write the n variables into b.  Returns 0, or -1 (reported).
 */
static int
write_all(struct dotenv_buf *b, char **keys, char **vals, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (dotenv_append(b, keys[i], vals[i]) == -1)
			return bench_fail(keys[i], "dotenv_append failed");
	return 0;
}

/*
 * Check that env holds exactly the n variables.  Returns 0, or -1
 * (reported) when a value came back different.
 */
static int
check(const struct dotenv *env, char **keys, char **vals, size_t n)
{
	size_t	i;

	if (env->n != n)
		return bench_fail("dotenv_parse", "%zu variables read, %zu "
		    "written", env->n, n);
	for (i = 0; i < n; i++)
		if (strcmp(env->vars[i].key, keys[i]) != 0 ||
		    strcmp(env->vars[i].val, vals[i]) != 0)
			return bench_fail(keys[i], "value changed in the "
			    "round trip");
	return 0;
}

/*
 * Parse the first n variables reps times (reps <= REPS_MAX), the
 * first parse checked.  Returns 0 with the rate in MiB/s in st and
 * the file's size in *size, or -1 (reported).
 */
static int
parse_runs(char **keys, char **vals, size_t n, int reps,
    struct bench_stats *st, size_t *size)
{
	struct dotenv_buf	 b = { 0 };
	struct dotenv		 env;
	char			 err[256];
	double			 v[REPS_MAX];
	int64_t			 t0;
	int			 r, rc = -1;

	if (write_all(&b, keys, vals, n) == -1)
		goto out;
	for (r = 0; r < reps; r++) {
		t0 = bench_now_ns();
		if (dotenv_parse(b.s, b.len, &env, err, sizeof(err)) == -1) {
			bench_fail("dotenv_parse", "%s", err);
			goto out;
		}
		v[r] = b.len / MIB / bench_secs(t0);
		rc = r == 0 ? check(&env, keys, vals, n) : 0;
		dotenv_free(&env);
		if (rc == -1)
			goto out;
	}
	bench_stats(v, (size_t)reps, st);
	*size = b.len;
	rc = 0;
out:
	dotenv_buf_free(&b);
	return rc;
}

/*
 * Make the n variables into keys and vals (n entries each, zeroed by
 * the caller).  Returns 0, or -1 (reported).
 */
static int
make_vars(char **keys, char **vals, size_t n)
{
	uint64_t	rng = 1;
	char		key[32];
	size_t		i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "SECRET_%05zu", i);
		if ((keys[i] = strdup(key)) == NULL)
			return bench_fail("strdup", "out of memory");
		if ((vals[i] = make_value(&rng)) == NULL)
			return -1;
	}
	return 0;
}

/*
 * Time writing the n variables reps times (reps <= REPS_MAX) and
 * report it.  Returns 0, or -1 (reported).
 */
static int
write_runs(char **keys, char **vals, size_t n, int reps)
{
	struct bench_stats	 st;
	struct dotenv_buf	 b;
	double			 v[REPS_MAX];
	size_t			 size = 0;
	int64_t			 t0;
	int			 r, rc;

	for (r = 0; r < reps; r++) {
		memset(&b, 0, sizeof(b));
		t0 = bench_now_ns();
		rc = write_all(&b, keys, vals, n);
		v[r] = b.len / MIB / bench_secs(t0);
		size = b.len;
		dotenv_buf_free(&b);
		if (rc == -1)
			return -1;
	}
	bench_stats(v, (size_t)reps, &st);
	bench_result("dotenv: write (dotenv_append)", &st, "MiB/s",
	    "%zu variables, %.2f MiB of .env; %d runs", n, size / MIB,
	    reps);
	return 0;
}

/*
 * Write, then parse, then parse a tenth, and report each.  Returns
 * 0, or -1 (reported).
 */
static int
measure(char **keys, char **vals, size_t n, int reps)
{
	struct bench_stats	st;
	size_t			size = 0;

	if (write_runs(keys, vals, n, reps) == -1 ||
	    parse_runs(keys, vals, n, reps, &st, &size) == -1)
		return -1;
	bench_result("dotenv: parse (dotenv_parse)", &st, "MiB/s",
	    "the same file; round trip checked; dotenv_free not timed; "
	    "%d runs", reps);
	if (parse_runs(keys, vals, n / 10, reps, &st, &size) == -1)
		return -1;
	bench_result("dotenv: parse, a tenth of the variables", &st,
	    "MiB/s", "the first %zu variables, %.2f MiB; the same rate as "
	    "above means linear work", n / 10, size / MIB);
	return 0;
}

/*
 * Read the arguments, make the variables and measure.  Returns 0, 1
 * when the round trip failed, 3 for a usage error.
 */
int
main(int argc, char *argv[])
{
	char	**keys = NULL, **vals = NULL;
	long	  n = VARS, reps = REPS;
	size_t	  i;
	int	  rc = 1;

	if (argc > 3) {
		fprintf(stderr, "usage: bench_dotenv [VARS [REPS]]\n");
		return 3;
	}
	if ((argc > 1 && bench_num(argv[1], 10, 10000000, "VARS",
	    &n) == -1) || (argc > 2 && bench_num(argv[2], 1, REPS_MAX,
	    "REPS", &reps) == -1))
		return 3;
	log_init("bench_dotenv");
	if ((keys = calloc((size_t)n, sizeof(*keys))) == NULL ||
	    (vals = calloc((size_t)n, sizeof(*vals))) == NULL)
		bench_fail("calloc", "out of memory");
	else if (make_vars(keys, vals, (size_t)n) == 0 &&
	    measure(keys, vals, (size_t)n, (int)reps) == 0)
		rc = 0;
	for (i = 0; keys != NULL && vals != NULL && i < (size_t)n; i++) {
		free(keys[i]);
		free(vals[i]);
	}
	free(keys);
	free(vals);
	return rc;
}
