/*
 * json.c: parsing with yajl's tree, typed lookups by path, and a
 * generator that keeps its first error until jw_finish.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "json.h"
#include "log.h"
#include "util.h"

/*
 * yajl_tree_free recurses once per level, so a 16 MiB body of '['
 * would overflow the stack; no API answer comes near this depth.
 */
#define JSON_MAX_DEPTH	512

/* Generator errors of our own, beside yajl_gen_status values. */
#define JW_E_NOMEM	(-1)
#define JW_E_NULL	(-2)
#define JW_E_INCOMPLETE	(-3)

static void	jerr(struct json_err *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * Fill err (which may be NULL) with a message.
 */
static void
jerr(struct json_err *err, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/*
 * Read the four hex digits at buf[i] into *cp.  Returns 0, or -1 when
 * there are not four there (yajl then names the error).
 */
static int
hex4(const char *buf, size_t len, size_t i, unsigned *cp)
{
	size_t	k;
	char	c;

	if (len < 4 || i > len - 4)
		return -1;
	*cp = 0;
	for (k = i; k < i + 4; k++) {
		c = buf[k];
		if (c >= '0' && c <= '9')
			*cp = *cp << 4 | (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*cp = *cp << 4 | (unsigned)((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

/*
 * Check the \u escape whose backslash is at buf[i].  yajl's tree hands
 * strings over NUL-terminated, so \u0000 would silently end one
 * early; and it turns a surrogate without its partner into "?" or
 * into bytes that are not UTF-8.  Both are refused rather than read
 * as some other text.  Returns the bytes to skip (12 for a pair, else
 * 2, leaving malformed digits to yajl), or 0 with err filled.
 */
static size_t
uescape(const char *buf, size_t len, size_t i, struct json_err *err)
{
	unsigned	cp, lo;

	if (hex4(buf, len, i + 2, &cp) == -1)
		return 2;
	if (cp == 0) {
		jerr(err, "\\u0000 at offset %zu: strings cannot hold NUL",
		    i);
		return 0;
	}
	if (cp < 0xd800 || cp > 0xdfff)
		return 2;
	if (cp <= 0xdbff && i + 7 < len && buf[i + 6] == '\\' &&
	    buf[i + 7] == 'u' && hex4(buf, len, i + 8, &lo) == 0 &&
	    lo >= 0xdc00 && lo <= 0xdfff)
		return 12;
	jerr(err, "\\u%04x at offset %zu: a surrogate without its pair",
	    cp, i);
	return 0;
}

/*
 * Check what yajl cannot be trusted with: nesting deeper than
 * JSON_MAX_DEPTH, NUL bytes (yajl_tree_parse stops at the first),
 * \u escapes it would decode wrongly (see uescape) and comments
 * (yajl_tree_parse accepts them; JSON has none).  Strings are
 * skipped, as brackets in them do not nest.  Returns 0, or -1 with
 * err filled.
 */
static int
prescan(const char *buf, size_t len, struct json_err *err)
{
	size_t	i, n, depth = 0;
	int	instr = 0, esc = 0;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\0') {
			jerr(err, "NUL byte at offset %zu", i);
			return -1;
		}
		if (instr) {
			if (esc)
				esc = 0;
			else if (buf[i] == '\\' && i + 1 < len &&
			    buf[i + 1] == 'u') {
				if ((n = uescape(buf, len, i, err)) == 0)
					return -1;
				i += n - 1;
			} else if (buf[i] == '\\')
				esc = 1;
			else if (buf[i] == '"')
				instr = 0;
			continue;
		}
		switch (buf[i]) {
		case '"':
			instr = 1;
			break;
		case '/':
			jerr(err, "comment at offset %zu", i);
			return -1;
		case '[':
		case '{':
			if (++depth > JSON_MAX_DEPTH) {
				jerr(err, "nested deeper than %d levels",
				    JSON_MAX_DEPTH);
				return -1;
			}
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		}
	}
	return 0;
}

/*
 * Keep the first line of a yajl error (the rest quotes the input and
 * points at it) without trailing blanks or a period.
 */
static void
yajl_msg(const char *msg, struct json_err *err)
{
	size_t	n;

	n = strcspn(msg, "\n");
	while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == '.'))
		n--;
	if (n == 0)
		jerr(err, "parse error");
	else
		jerr(err, "%.*s", (int)n, msg);
}

/*
 * Parse len bytes of JSON.  Returns the tree, to be freed with
 * json_free, or NULL with err filled.
 */
yajl_val
json_parse(const char *buf, size_t len, struct json_err *err)
{
	char		*s, ebuf[512];
	yajl_val	 v;

	if (buf == NULL)
		len = 0;
	if (prescan(buf, len, err) == -1)
		return NULL;
	if (len == SIZE_MAX || (s = malloc(len + 1)) == NULL) {
		jerr(err, "%s", strerror(ENOMEM));
		return NULL;
	}
	if (len > 0)
		memcpy(s, buf, len);
	s[len] = '\0';
	ebuf[0] = '\0';
	v = yajl_tree_parse(s, ebuf, sizeof(ebuf));
	free(s);
	if (v == NULL)
		yajl_msg(ebuf, err);
	return v;
}

/*
 * Free a tree from json_parse; NULL is fine.
 */
void
json_free(yajl_val v)
{
	yajl_tree_free(v);
}

/*
 * Return the member of object v named by the klen bytes at key, or
 * NULL.  With duplicate keys the last one counts, as in most parsers.
 */
static yajl_val
member(yajl_val v, const char *key, size_t klen)
{
	size_t	i;

	if (!YAJL_IS_OBJECT(v))
		return NULL;
	for (i = v->u.object.len; i > 0; i--) {
		const char	*k = v->u.object.keys[i - 1];

		if (strncmp(k, key, klen) == 0 && k[klen] == '\0')
			return v->u.object.values[i - 1];
	}
	return NULL;
}

/*
 * Read "[N]" at *pp into *idx and move past it.  Returns 0, or -1
 * when it is not a well-formed index.
 */
static int
index_of(const char **pp, size_t *idx)
{
	const char	*p = *pp + 1;
	size_t		 n = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (SIZE_MAX - 9) / 10)
			return -1;
		n = n * 10 + (size_t)(*p - '0');
	}
	if (*p != ']')
		return -1;
	*pp = p + 1;
	*idx = n;
	return 0;
}

/*
 * Walk path from v.  Returns 0 with *out set, -1 when something on the
 * way is missing, or -2 when path is not well formed.
 */
static int
walk(yajl_val v, const char *path, yajl_val *out)
{
	const char	*p = path;
	size_t		 klen, idx;

	while (v != NULL && *p != '\0') {
		if (*p == '[') {
			if (index_of(&p, &idx) == -1)
				return -2;
			v = YAJL_IS_ARRAY(v) && idx < v->u.array.len ?
			    v->u.array.values[idx] : NULL;
			continue;
		}
		if (p != path && *p++ != '.')
			return -2;
		if ((klen = strcspn(p, ".[")) == 0)
			return -2;
		v = member(v, p, klen);
		p += klen;
	}
	if (v == NULL)
		return -1;
	*out = v;
	return 0;
}

/*
 * Return the node at path below v, or NULL when there is none.
 */
yajl_val
json_at(yajl_val v, const char *path)
{
	yajl_val	out;

	if (path == NULL || walk(v, path, &out) != 0)
		return NULL;
	return out;
}

/*
 * Return path as messages name it: the root has no path of its own.
 */
static const char *
pname(const char *path)
{
	return path != NULL && *path != '\0' ? path : "top level";
}

/*
 * Find path below v, filling err with "PATH: missing" or "PATH:
 * invalid path" when it is not there.  Returns the node or NULL.
 */
static yajl_val
lookup(yajl_val v, const char *path, struct json_err *err)
{
	yajl_val	out;
	int		rc;

	if ((rc = walk(v, path != NULL ? path : "", &out)) == 0)
		return out;
	jerr(err, "%s: %s", pname(path),
	    rc == -2 ? "invalid path" : "missing");
	return NULL;
}

/*
 * Parse a number node as a long long.  Returns 0 with *out set, or -1
 * when it is not an integer that fits.
 */
static int
int_value(yajl_val v, long long *out)
{
	const char	*errstr;
	long long	 n;

	if (!YAJL_IS_NUMBER(v))
		return -1;
	/* yajl rejects -2^63, so the text is parsed again. */
	n = util_strtonum(v->u.number.r, LLONG_MIN, LLONG_MAX, &errstr);
	if (errstr != NULL)
		return -1;
	*out = n;
	return 0;
}

/*
 * Name the type of v as messages do: object, array, string, integer
 * (a number that fits a long long), number, boolean or null.
 * Returns the name, "missing" for NULL and "unknown" for a type yajl
 * added later; never NULL.
 */
const char *
json_type_name(yajl_val v)
{
	long long	n;

	if (v == NULL)
		return "missing";
	switch (v->type) {
	case yajl_t_object:
		return "object";
	case yajl_t_array:
		return "array";
	case yajl_t_string:
		return "string";
	case yajl_t_number:
		return int_value(v, &n) == 0 ? "integer" : "number";
	case yajl_t_true:
	case yajl_t_false:
		return "boolean";
	case yajl_t_null:
		return "null";
	default:
		return "unknown";
	}
}

/*
 * Fill err with "PATH: expected WANT, got TYPE".  Returns -1.
 */
static int
mismatch(yajl_val v, const char *path, const char *want,
    struct json_err *err)
{
	jerr(err, "%s: expected %s, got %s", pname(path), want,
	    json_type_name(v));
	return -1;
}

/*
 * Set *out to the string at path, which lives as long as the tree.
 * Returns 0, or -1 with err filled.
 */
int
json_str(yajl_val root, const char *path, const char **out,
    struct json_err *err)
{
	yajl_val	v;

	if ((v = lookup(root, path, err)) == NULL)
		return -1;
	if (!YAJL_IS_STRING(v))
		return mismatch(v, path, "string", err);
	*out = v->u.string;
	return 0;
}

/*
 * Like json_str, but null is accepted and sets *out to NULL.
 * Returns 0, or -1 with err filled.
 */
int
json_str_or_null(yajl_val root, const char *path, const char **out,
    struct json_err *err)
{
	yajl_val	v;

	if ((v = lookup(root, path, err)) == NULL)
		return -1;
	if (YAJL_IS_NULL(v)) {
		*out = NULL;
		return 0;
	}
	if (!YAJL_IS_STRING(v))
		return mismatch(v, path, "string or null", err);
	*out = v->u.string;
	return 0;
}

/*
 * Check that v is an integer that fits a long long and store it in
 * *out.  A fraction, an exponent or too many digits is named in err.
 * Returns 0, or -1.
 */
static int
want_int(yajl_val v, const char *path, long long *out,
    struct json_err *err)
{
	const char	*r;

	if (int_value(v, out) == 0)
		return 0;
	if (!YAJL_IS_NUMBER(v))
		return mismatch(v, path, "integer", err);
	r = v->u.number.r;
	if (strpbrk(r, ".eE") != NULL)
		jerr(err, "%s: expected integer, got number %.40s%s",
		    pname(path), r, strlen(r) > 40 ? "..." : "");
	else
		jerr(err, "%s: integer %.40s%s out of range", pname(path),
		    r, strlen(r) > 40 ? "..." : "");
	return -1;
}

/*
 * Set *out to the integer at path.  Returns 0, or -1 with err filled.
 */
int
json_int(yajl_val root, const char *path, long long *out,
    struct json_err *err)
{
	yajl_val	v;

	if ((v = lookup(root, path, err)) == NULL)
		return -1;
	return want_int(v, path, out, err);
}

/*
 * Like json_int, but null is accepted: *isnull says which it was, and
 * *out is 0 for null.  Returns 0, or -1 with err filled.
 */
int
json_int_or_null(yajl_val root, const char *path, long long *out,
    int *isnull, struct json_err *err)
{
	yajl_val	v;

	if ((v = lookup(root, path, err)) == NULL)
		return -1;
	*isnull = YAJL_IS_NULL(v);
	if (*isnull) {
		*out = 0;
		return 0;
	}
	if (!YAJL_IS_NUMBER(v))
		return mismatch(v, path, "integer or null", err);
	return want_int(v, path, out, err);
}

/*
 * Set *out to 1 or 0 for true or false at path.  Returns 0, or -1
 * with err filled.
 */
int
json_bool(yajl_val root, const char *path, int *out, struct json_err *err)
{
	yajl_val	v;

	if ((v = lookup(root, path, err)) == NULL)
		return -1;
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
		return mismatch(v, path, "boolean", err);
	*out = YAJL_IS_TRUE(v);
	return 0;
}

/*
 * Set *out to the object at path.  Returns 0, or -1 with err filled.
 */
int
json_obj(yajl_val root, const char *path, yajl_val *out,
    struct json_err *err)
{
	yajl_val	v;

	if ((v = lookup(root, path, err)) == NULL)
		return -1;
	if (!YAJL_IS_OBJECT(v))
		return mismatch(v, path, "object", err);
	*out = v;
	return 0;
}

/*
 * Set *out to the array at path and *n to its length.  Returns 0, or
 * -1 with err filled.
 */
int
json_arr(yajl_val root, const char *path, yajl_val *out, size_t *n,
    struct json_err *err)
{
	yajl_val	v;

	if ((v = lookup(root, path, err)) == NULL)
		return -1;
	if (!YAJL_IS_ARRAY(v))
		return mismatch(v, path, "array", err);
	*out = v;
	*n = v->u.array.len;
	return 0;
}

/*
 * Start a generator: compact output, and strings must be valid UTF-8
 * so that a body is never sent with bytes the server cannot read.
 * Returns 0, or -1 on ENOMEM (w->err is then set too).
 */
int
jw_init(struct json_w *w)
{
	w->err = 0;
	if ((w->g = yajl_gen_alloc(NULL)) == NULL) {
		w->err = JW_E_NOMEM;
		return -1;
	}
	yajl_gen_config(w->g, yajl_gen_validate_utf8, 1);
	return 0;
}

/*
 * Return 1 when a call on w should do nothing because an earlier one
 * failed, else 0.
 */
static int
jw_failed(struct json_w *w)
{
	if (w->err == 0 && w->g == NULL)
		w->err = JW_E_NOMEM;
	return w->err != 0;
}

/*
 * Keep st as the error of w unless an earlier one is already there.
 */
static void
jw_status(struct json_w *w, yajl_gen_status st)
{
	if (st != yajl_gen_status_ok && w->err == 0)
		w->err = (int)st;
}

/*
 * Open an object.
 */
void
jw_obj_open(struct json_w *w)
{
	if (!jw_failed(w))
		jw_status(w, yajl_gen_map_open(w->g));
}

/*
 * Close an object.
 */
void
jw_obj_close(struct json_w *w)
{
	if (!jw_failed(w))
		jw_status(w, yajl_gen_map_close(w->g));
}

/*
 * Open an array.
 */
void
jw_arr_open(struct json_w *w)
{
	if (!jw_failed(w))
		jw_status(w, yajl_gen_array_open(w->g));
}

/*
 * Close an array.
 */
void
jw_arr_close(struct json_w *w)
{
	if (!jw_failed(w))
		jw_status(w, yajl_gen_array_close(w->g));
}

/*
 * Return 1 when s is well-formed UTF-8: no overlong forms, no UTF-16
 * surrogates and nothing past U+10FFFF, which yajl's own check lets
 * through.  Otherwise 0.
 */
static int
utf8_valid(const unsigned char *s)
{
	unsigned long	cp;
	int		i, n;

	while (*s != '\0') {
		if (*s < 0x80) {
			s++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf)
			n = 1;
		else if (*s >= 0xe0 && *s <= 0xef)
			n = 2;
		else if (*s >= 0xf0 && *s <= 0xf4)
			n = 3;
		else
			return 0;
		cp = *s & (0x3f >> n);
		/* A NUL ends the loop here, before reading past it. */
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		s += n + 1;
	}
	return 1;
}

/*
 * Add a string; yajl escapes quotes and control characters.  NULL is
 * an error rather than null, which must be asked for with jw_null.
 */
void
jw_str(struct json_w *w, const char *s)
{
	if (jw_failed(w))
		return;
	if (s == NULL) {
		w->err = JW_E_NULL;
		return;
	}
	if (!utf8_valid((const unsigned char *)s)) {
		w->err = yajl_gen_invalid_string;
		return;
	}
	jw_status(w, yajl_gen_string(w->g, (const unsigned char *)s,
	    strlen(s)));
}

/*
 * Add an object key; yajl itself checks that a key is due here.
 */
void
jw_key(struct json_w *w, const char *key)
{
	jw_str(w, key);
}

/*
 * Add an integer.
 */
void
jw_int(struct json_w *w, long long n)
{
	if (!jw_failed(w))
		jw_status(w, yajl_gen_integer(w->g, n));
}

/*
 * Add true (b not 0) or false.
 */
void
jw_bool(struct json_w *w, int b)
{
	if (!jw_failed(w))
		jw_status(w, yajl_gen_bool(w->g, b != 0));
}

/*
 * Add null.
 */
void
jw_null(struct json_w *w)
{
	if (!jw_failed(w))
		jw_status(w, yajl_gen_null(w->g));
}

/*
 * Add "key": "val".
 */
void
jw_kv_str(struct json_w *w, const char *key, const char *val)
{
	jw_key(w, key);
	jw_str(w, val);
}

/*
 * Add "key": n.
 */
void
jw_kv_int(struct json_w *w, const char *key, long long val)
{
	jw_key(w, key);
	jw_int(w, val);
}

/*
 * Add "key": true or false.
 */
void
jw_kv_bool(struct json_w *w, const char *key, int val)
{
	jw_key(w, key);
	jw_bool(w, val);
}

/*
 * Name a generator error (a JW_E_* or a yajl_gen_status) for a
 * message.  Returns a static string, never NULL.
 */
static const char *
jw_strerror(int e)
{
	switch (e) {
	case JW_E_NOMEM:
		return strerror(ENOMEM);
	case JW_E_NULL:
		return "a string is NULL";
	case JW_E_INCOMPLETE:
		return "the document is not complete";
	case yajl_gen_keys_must_be_strings:
		return "a value stands where a key must";
	case yajl_max_depth_exceeded:
		return "nested too deep";
	case yajl_gen_generation_complete:
		return "a second value after a complete one";
	case yajl_gen_invalid_string:
		return "a string is not valid UTF-8";
	default:
		return "generator error";
	}
}

/*
 * Return 1 when buf holds exactly one complete JSON value.  yajl_gen
 * cannot tell whether every container was closed, so its output is
 * read back; request bodies are small.
 */
static int
complete(const unsigned char *buf, size_t len)
{
	yajl_handle	h;
	int		ok;

	if ((h = yajl_alloc(NULL, NULL, NULL)) == NULL)
		return 0;
	ok = yajl_parse(h, buf, len) == yajl_status_ok &&
	    yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok;
}

/*
 * Hand over the document as jw_finish does, naming subject (what the
 * document is for) in the message of a failure.  Returns 0, or -1
 * (logged).
 */
static int
finish(struct json_w *w, const char *subject, char **out, size_t *len)
{
	const unsigned char	*buf;
	size_t			 n = 0;

	if (!jw_failed(w)) {
		jw_status(w, yajl_gen_get_buf(w->g, &buf, &n));
		if (w->err == 0 && !complete(buf, n))
			w->err = JW_E_INCOMPLETE;
	}
	if (w->err == 0 && (*out = malloc(n + 1)) == NULL)
		w->err = JW_E_NOMEM;
	if (w->err != 0) {
		log_err(subject, "cannot build JSON: %s",
		    jw_strerror(w->err));
		return -1;
	}
	memcpy(*out, buf, n);
	(*out)[n] = '\0';
	if (len != NULL)
		*len = n;
	return 0;
}

/*
 * Hand over the document: *out is a malloc'd NUL-terminated copy and
 * *len (when not NULL) its length.  The caller knows no better name
 * for it than "json" here: jw_write_file names its file instead.
 * Returns 0, or -1 after logging the first error of any call on w.
 * w must still be freed with jw_free.
 */
int
jw_finish(struct json_w *w, char **out, size_t *len)
{
	return finish(w, "json", out, len);
}

/*
 * Free the generator; calling it twice, or after a failed jw_init, is
 * harmless.
 */
void
jw_free(struct json_w *w)
{
	if (w->g != NULL)
		yajl_gen_free(w->g);
	w->g = NULL;
}

/*
 * Finish the document in w and write it with a final newline to path,
 * atomically and with mode: how every stamp and state file is written.
 * Frees w either way.  Returns 0, or -1 (logged).
 */
int
jw_write_file(struct json_w *w, const char *path, mode_t mode)
{
	char	*buf;
	size_t	 len;
	int	 rc;

	if ((rc = finish(w, path, &buf, &len)) == 0) {
		buf[len++] = '\n';	/* over the NUL jw_finish added */
		rc = util_write_atomic(path, buf, len, mode);
		free(buf);
	}
	jw_free(w);
	return rc;
}
