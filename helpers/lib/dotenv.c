/*
 * dotenv.c: write and read .env files with Docker Compose's rules.
 *
 * The writer always double-quotes, since that is the only Compose form
 * that can hold every byte: single quotes cannot hold a single quote,
 * and unquoted values lose trailing blanks and anything after " #".
 * Inside double quotes Compose turns \n, \r, \\ and \" back into
 * their characters and interpolates "$", so those are escaped; a "$"
 * is written "$$", the one escape every Compose release reads as "$"
 * (newer ones also take "\$").
 *
 * The reader follows compose-go's parser for the forms a person might
 * write by hand, except interpolation: a "$" that would expand a
 * variable is refused with a message, rather than read differently
 * from Compose.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dotenv.h"
#include "log.h"
#include "util.h"

/* The largest .env file dotenv_load reads. */
#define DOTENV_MAX	(4 * 1024 * 1024)

struct cursor {
	const char	*p;
	const char	*end;
	int		 line;
	char		*err;
	size_t		 errsz;
};

/*
 * Report whether key is a name every shell and Compose accept:
 * [A-Za-z_][A-Za-z0-9_]*.  Returns 1 or 0.
 */
int
dotenv_valid_key(const char *key)
{
	const char	*p;

	if (key == NULL || !(isalpha((unsigned char)*key) || *key == '_'))
		return 0;
	for (p = key + 1; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return 0;
	return 1;
}

/*
 * Make room for n more bytes (and a NUL) in b.  Returns 0, or -1 on
 * ENOMEM.
 */
static int
buf_grow(struct dotenv_buf *b, size_t n)
{
	size_t	 cap;
	char	*s;

	if (b->len + n + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	if ((s = realloc(b->s, cap)) == NULL)
		return -1;
	b->s = s;
	b->cap = cap;
	return 0;
}

/*
 * Append n bytes to b, keeping it NUL-terminated.  Returns 0 or -1.
 */
static int
buf_add(struct dotenv_buf *b, const char *s, size_t n)
{
	if (buf_grow(b, n) == -1)
		return -1;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

/*
 * Append KEY="value" and a newline to b, escaped as the file comment
 * says.  Returns 0, or -1 for an invalid key (EINVAL) or ENOMEM.
 */
int
dotenv_append(struct dotenv_buf *b, const char *key, const char *val)
{
	const char	*p, *esc;
	int		 rc;

	if (!dotenv_valid_key(key) || val == NULL) {
		errno = EINVAL;
		return -1;
	}
	rc = buf_add(b, key, strlen(key)) | buf_add(b, "=\"", 2);
	for (p = val; *p != '\0' && rc == 0; p++) {
		switch (*p) {
		case '\n':	esc = "\\n"; break;
		case '\r':	esc = "\\r"; break;
		case '\\':	esc = "\\\\"; break;
		case '"':	esc = "\\\""; break;
		case '$':	esc = "$$"; break;
		default:	esc = NULL; break;
		}
		rc = esc ? buf_add(b, esc, 2) : buf_add(b, p, 1);
	}
	if (rc == 0)
		rc = buf_add(b, "\"\n", 2);
	return rc == 0 ? 0 : -1;
}

/*
 * Free what b holds, wiping it first: it holds secrets.
 */
void
dotenv_buf_free(struct dotenv_buf *b)
{
	if (b->s != NULL)
		explicit_bzero(b->s, b->cap);
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

/*
 * Record a parse error "line N: ..." in the cursor.  Returns -1 so a
 * caller can return the call.
 */
static int
fail(struct cursor *c, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	n = snprintf(c->err, c->errsz, "line %d: ", c->line);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < c->errsz)
		vsnprintf(c->err + n, c->errsz - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Skip blanks, blank lines and comment lines up to the next statement.
 * Returns 1 when there is one, 0 at the end of the input.
 */
static int
next_statement(struct cursor *c)
{
	while (c->p < c->end) {
		if (*c->p == '\n') {
			c->line++;
			c->p++;
		} else if (isspace((unsigned char)*c->p)) {
			c->p++;
		} else if (*c->p == '#') {
			while (c->p < c->end && *c->p != '\n')
				c->p++;
		} else
			return 1;
	}
	return 0;
}

/*
 * Skip spaces and tabs, never a newline.
 */
static void
skip_blanks(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/*
 * Read "[export ]KEY=" into key (keysz bytes).  Returns 0 or -1.
 */
static int
read_key(struct cursor *c, char *key, size_t keysz)
{
	size_t	 n = 0;

	if (c->end - c->p > 7 && strncmp(c->p, "export", 6) == 0 &&
	    (c->p[6] == ' ' || c->p[6] == '\t')) {
		c->p += 6;
		skip_blanks(c);
	}
	while (c->p < c->end && (isalnum((unsigned char)*c->p) ||
	    *c->p == '_')) {
		if (n + 1 >= keysz)
			return fail(c, "name longer than %zu bytes",
			    keysz - 1);
		key[n++] = *c->p++;
	}
	key[n] = '\0';
	skip_blanks(c);
	if (n == 0 || !dotenv_valid_key(key) || c->p == c->end ||
	    *c->p != '=')
		return fail(c, "expected NAME=value");
	c->p++;
	skip_blanks(c);
	return 0;
}

/*
 * Read a "$" at p the way Compose does: "$$" is one "$", a lone "$" is
 * itself, and "$NAME" or "${...}" would be interpolated, which is
 * refused rather than read differently.  Appends to out.  Returns the
 * number of input bytes used, or -1 with the error set.
 */
static int
dollar(struct cursor *c, const char *key, const char *p, const char *end,
    struct dotenv_buf *out)
{
	int	 n = p + 1 < end && p[1] == '$' ? 2 : 1;

	if (n == 1 && p + 1 < end && (p[1] == '{' || p[1] == '_' ||
	    isalpha((unsigned char)p[1])))
		return fail(c, "%s: \"$%c\" would be interpolated by "
		    "Compose: write $$ for a literal $", key, p[1]);
	if (buf_add(out, "$", 1) == -1)
		return fail(c, "%s", strerror(ENOMEM));
	return n;
}

/*
 * Whether the n bytes at p, none of them at or past end, are octal
 * digits.  Returns 1 or 0.
 */
static int
octal(const char *p, const char *end, int n)
{
	for (; n > 0; n--, p++)
		if (p >= end || *p < '0' || *p > '7')
			return 0;
	return 1;
}

/*
 * Turn one backslash escape inside double quotes into its character,
 * as Compose does: the shell's letters, \\, \", \$, and \0 with
 * three octal digits; other escapes keep their backslash.  Appends to
 * out and returns the number of input bytes used, or -1 on ENOMEM.
 */
static int
unescape(const char *p, const char *end, struct dotenv_buf *out)
{
	char	 ch;

	switch (p[1]) {
	case 'a':	ch = '\a'; break;
	case 'b':	ch = '\b'; break;
	case 'f':	ch = '\f'; break;
	case 'n':	ch = '\n'; break;
	case 'r':	ch = '\r'; break;
	case 't':	ch = '\t'; break;
	case 'v':	ch = '\v'; break;
	case '\\':	ch = '\\'; break;
	case '"':	ch = '"'; break;
	case '$':	ch = '$'; break;
	case '0':
		if (octal(p + 2, end, 3) && p[2] <= '3') {
			ch = (char)((p[2] - '0') * 64 + (p[3] - '0') * 8 +
			    (p[4] - '0'));
			return buf_add(out, &ch, 1) == 0 ? 5 : -1;
		}
		/* FALLTHROUGH */
	default:
		return buf_add(out, p, 2) == 0 ? 2 : -1;
	}
	return buf_add(out, &ch, 1) == 0 ? 2 : -1;
}

/*
 * Read a quoted value, the cursor on its opening quote, into out.
 * Returns 0 or -1.
 */
static int
read_quoted(struct cursor *c, const char *key, struct dotenv_buf *out)
{
	char	 q = *c->p++;
	int	 n;

	while (c->p < c->end && *c->p != q) {
		if (*c->p == '\n')
			c->line++;
		if (*c->p == '\\' && c->p + 1 < c->end) {
			if (c->p[1] == q && q == '\'')
				n = buf_add(out, "'", 1) == 0 ? 2 : -1;
			else if (q == '"')
				n = unescape(c->p, c->end, out);
			else
				n = buf_add(out, c->p, 2) == 0 ? 2 : -1;
			if (n == -1)
				return fail(c, "%s", strerror(ENOMEM));
		} else if (q == '"' && *c->p == '$')
			n = dollar(c, key, c->p, c->end, out);
		else
			n = buf_add(out, c->p, 1) == 0 ? 1 : -1;
		if (n == -1)
			return -1;
		c->p += n;
	}
	if (c->p == c->end)
		return fail(c, "%s: unterminated quoted value", key);
	c->p++;
	skip_blanks(c);
	if (c->p < c->end && *c->p == '#')
		while (c->p < c->end && *c->p != '\n')
			c->p++;
	if (c->p < c->end && *c->p != '\n')
		return fail(c, "%s: text after the closing quote", key);
	return 0;
}

/*
 * Read an unquoted value: the rest of the line, cut at " #", without
 * trailing blanks.  Returns 0 or -1.
 */
static int
read_bare(struct cursor *c, const char *key, struct dotenv_buf *out)
{
	const char	*s = c->p, *e, *p;
	int		 n;

	while (c->p < c->end && *c->p != '\n')
		c->p++;
	for (e = s; e < c->p; e++)
		if (*e == '#' && e > s && isspace((unsigned char)e[-1]))
			break;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (buf_add(out, "", 0) == -1)
		return fail(c, "%s", strerror(ENOMEM));
	for (p = s; p < e; p += n)
		if (*p == '$') {
			if ((n = dollar(c, key, p, e, out)) == -1)
				return -1;
		} else if (buf_add(out, p, 1) == -1)
			return fail(c, "%s", strerror(ENOMEM));
		else
			n = 1;
	return 0;
}

/*
 * Add key=val to env, a later value of a key replacing an earlier one
 * as in Compose.  Takes val's buffer.  Returns 0, or -1 on ENOMEM.
 */
static int
env_set(struct dotenv *env, const char *key, struct dotenv_buf *val)
{
	struct dotenv_var	*v;
	size_t			 i;

	for (i = 0; i < env->n; i++)
		if (strcmp(env->vars[i].key, key) == 0) {
			explicit_bzero(env->vars[i].val,
			    strlen(env->vars[i].val));
			free(env->vars[i].val);
			env->vars[i].val = val->s;
			return 0;
		}
	v = reallocarray(env->vars, env->n + 1, sizeof(*v));
	if (v == NULL)
		return -1;
	env->vars = v;
	if ((v[env->n].key = strdup(key)) == NULL)
		return -1;
	v[env->n++].val = val->s;
	return 0;
}

/*
 * Parse len bytes of .env text into env (which must be zeroed or
 * freed).  Returns 0, or -1 with "line N: what" in err; env then holds
 * nothing.
 */
int
dotenv_parse(const char *buf, size_t len, struct dotenv *env, char *err,
    size_t errsz)
{
	struct cursor		 c = { buf, buf + len, 1, err, errsz };
	struct dotenv_buf	 val;
	char			 key[256];
	int			 rc;

	memset(env, 0, sizeof(*env));
	while (next_statement(&c)) {
		if (read_key(&c, key, sizeof(key)) == -1)
			goto bad;
		memset(&val, 0, sizeof(val));
		if (c.p < c.end && (*c.p == '"' || *c.p == '\''))
			rc = read_quoted(&c, key, &val);
		else
			rc = read_bare(&c, key, &val);
		if (rc == 0 && val.s == NULL && buf_add(&val, "", 0) == -1)
			rc = fail(&c, "%s", strerror(ENOMEM));
		if (rc == 0 && env_set(env, key, &val) == -1)
			rc = fail(&c, "%s", strerror(ENOMEM));
		if (rc == -1) {
			dotenv_buf_free(&val);
			goto bad;
		}
	}
	return 0;
bad:
	dotenv_free(env);
	return -1;
}

/*
 * Read and parse the file at path, which must be private (owned by
 * us, mode 0600), as every .env file mkprov reads holds secrets.
 * Returns 0, or -1 (logged as "path: line N: what", or as
 * util_open_private says).
 */
int
dotenv_load(const char *path, struct dotenv *env)
{
	char	*buf, err[256];
	size_t	 len;
	int	 rc;

	memset(env, 0, sizeof(*env));
	if (util_read_private(path, DOTENV_MAX, &buf, &len) == -1)
		return -1;
	if ((rc = dotenv_parse(buf, len, env, err, sizeof(err))) == -1)
		log_err(path, "%s", err);
	explicit_bzero(buf, len);
	free(buf);
	return rc;
}

/*
 * Look key up in env.  Returns its value, or NULL.
 */
const char *
dotenv_get(const struct dotenv *env, const char *key)
{
	size_t	 i;

	for (i = 0; i < env->n; i++)
		if (strcmp(env->vars[i].key, key) == 0)
			return env->vars[i].val;
	return NULL;
}

/*
 * Set key to a copy of val in env, replacing an earlier value.
 * Returns 0, or -1 on ENOMEM.
 */
int
dotenv_set(struct dotenv *env, const char *key, const char *val)
{
	struct dotenv_buf	 b = { 0 };

	if (buf_add(&b, val, strlen(val)) == -1)
		return -1;
	if (env_set(env, key, &b) == -1) {
		dotenv_buf_free(&b);
		return -1;
	}
	return 0;
}

/*
 * Free env, wiping the values: they are secrets.
 */
void
dotenv_free(struct dotenv *env)
{
	size_t	 i;

	for (i = 0; i < env->n; i++) {
		free(env->vars[i].key);
		explicit_bzero(env->vars[i].val, strlen(env->vars[i].val));
		free(env->vars[i].val);
	}
	free(env->vars);
	memset(env, 0, sizeof(*env));
}
