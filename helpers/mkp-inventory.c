/*
 * mkp-inventory: phase 3 of the runbook: list a host in the Ansible
 * inventory under its role's group, or take it out again.
 *
 * People keep comments, their own groups and their own order in
 * hosts.yml, and a YAML parser that dumps the tree back would lose
 * them all.  So the file is edited as text: lines are sorted by
 * indentation into the few nodes that matter (groups, their hosts:,
 * the host), and only the host's lines are spliced.  What that model
 * cannot read with certainty (tabs, flow style, anchors, duplicates)
 * is refused before anything is written, and every result is read
 * back by ansible-inventory itself before it replaces the file.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "mkprov.h"
#include "proc.h"
#include "util.h"

#define FILE_MAX	(4 * 1024 * 1024)	/* largest inventory read */
#define LIST_MAX	(64 * 1024 * 1024)	/* largest --list answer */
#define ERR_TAIL	8192	/* bytes of ansible's stderr kept */
#define ERR_LINES	12	/* lines of it shown on failure */
#define DEPTH_MAX	16	/* nesting of children: followed */
#define HITS_MAX	16	/* places a host or group is listed */
#define NAME_MAX_LEN	128	/* longest key compared */
#define NONE		((size_t)-1)

extern char	**environ;

struct opts {
	const char	*file;
	const char	*host;
	const char	*group;
	const char	*addr;
	const char	*user;
	const char	*port;
	const char	*role;
	const char	*domain;
	const char	*known;		/* known_hosts for ssh, or NULL */
	const char	*stamp;
	char		*sshargs;	/* built from known */
	long long	 portnum;
	int		 remove;
	int		 dry;
};

enum kind {
	L_BLANK,	/* empty or white space only */
	L_COMMENT,	/* a comment alone on its line */
	L_MARK,		/* the "---" that starts the document */
	L_CONTENT,
};

struct line {
	const char	*s;
	size_t		 len;		/* without the newline */
	int		 indent;	/* leading spaces */
	enum kind	 kind;
};

struct doc {
	const char	*path;
	char		*text;
	size_t		 len;
	struct line	*lines;
	size_t		 n;
	mode_t		 mode;
	int		 isnew;		/* missing or empty */
};

/* A "key:" line: the key decoded, and what follows the colon. */
struct key {
	char		 name[NAME_MAX_LEN];
	const char	*val;
	size_t		 vlen;
};

enum vkind {
	V_EMPTY, V_NULL, V_SCALAR, V_FLOW, V_ANCHOR, V_ALIAS, V_TAG,
	V_BLOCK, V_KIND__MAX
};

static const char *const vkind_names[V_KIND__MAX] = {
	[V_EMPTY] = "no value",
	[V_NULL] = "a null value",
	[V_SCALAR] = "a scalar value",
	[V_FLOW] = "flow style ({...} or [...])",
	[V_ANCHOR] = "an anchor (&)",
	[V_ALIAS] = "an alias (*)",
	[V_TAG] = "a tag (!)",
	[V_BLOCK] = "a block scalar (| or >)",
};

/* One line where a group is defined or a host is listed. */
struct place {
	size_t		 line;
	size_t		 parent;	/* the line holding it, or NONE */
	size_t		 hosts;		/* hosts: below it, or NONE */
	char		 group[NAME_MAX_LEN];
};

/* What a walk over the document found. */
struct scan {
	const struct opts *o;
	struct place	 hits[HITS_MAX];	/* HOST: lines */
	size_t		 nhits;
	struct place	 defs[HITS_MAX];	/* GROUP: lines */
	size_t		 ndefs;
	size_t		 children;	/* top-level all: children: */
};

/* Iterating over the direct children of one node. */
struct iter {
	size_t		 next;
	size_t		 end;		/* last line of the parent */
	int		 cind;		/* children's indent, -1: unknown */
};

/* Lines [from, to) replaced by text. */
struct splice {
	size_t		 from;
	size_t		 to;
	char		*text;
	size_t		 len;
};

struct edit {
	struct splice	 sp[HITS_MAX];
	size_t		 n;
	const char	*group;		/* where the host is, or was */
};

struct buf {
	char		*s;
	size_t		 len;
	size_t		 cap;
	int		 err;
};

static const char header[] =
    "# Ansible inventory.\n"
    "# mkprov maintains the host entries (mkp-inventory adds, updates\n"
    "# and removes them); edit the rest as you like: comments, order\n"
    "# and other groups and hosts are kept byte for byte.\n";

static void	refuse(const struct doc *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* What a usage error prints after "usage: ". */
#define SYNOPSIS	"mkp-inventory [-nv] -f file -H host " \
	"-g group -a address -u user\n" \
	"    -p port -r role -d domain-suffix [-K known-hosts] " \
	"[-s stamp]\n" \
	"       mkp-inventory [-nv] -D -f file -H host [-s stamp]"

/*
 * Report a shape of the file that mkp-inventory will not edit, at
 * line i (0-based; NONE for the whole file).
 */
static void
refuse(const struct doc *d, size_t i, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (i == NONE)
		log_err(d->path, "%s", msg);
	else
		log_err(d->path, "line %zu: %s", i + 1, msg);
}

/*
 * Append len bytes to b.  A failure is kept in b->err and makes later
 * calls do nothing, so a text is built without checking every call.
 */
static void
buf_add(struct buf *b, const char *s, size_t len)
{
	char	*p;
	size_t	 cap;

	if (b->err)
		return;
	if (b->len + len + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + len + 1)
			cap *= 2;
		if ((p = realloc(b->s, cap)) == NULL) {
			b->err = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
}

/*
 * Append the string s to b.
 */
static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/*
 * Append n spaces to b.
 */
static void
buf_indent(struct buf *b, int n)
{
	while (n-- > 0)
		buf_add(b, " ", 1);
}

/*
 * Return 1 when s reads as a YAML 1.1 number or one of its special
 * words (what PyYAML, and so Ansible, would not take as a string).
 * Errs on the side of 1: a needless quote costs nothing.
 */
static int
yaml_special(const char *s)
{
	static const char *const words[] = {
		"y", "n", "yes", "no", "true", "false", "on", "off",
		"null", "~",
	};
	const char	*p;
	size_t		 i, dots = 0;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			return 1;
	if (*s < '0' || *s > '9')
		return 0;
	for (p = s; *p != '\0'; p++)
		if (*p == '.')
			dots++;
	/* 10.0.0.1 is no number; 1.5, 1e3, 0x1f and 1_000 are. */
	return dots <= 1 &&
	    s[strspn(s, "0123456789abcdefABCDEFxXoO_.+-")] == '\0';
}

/*
 * Append s as a YAML scalar: plain when that is sure to read back as
 * the same string, else double-quoted.  Control bytes never get here
 * (check_value refuses them), so only " and \ need escapes.
 */
static void
buf_scalar(struct buf *b, const char *s)
{
	const char	*safe = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-";
	size_t		 n;

	if (*s != '\0' && s[strspn(s, safe)] == '\0' && *s != '-' &&
	    *s != '.' && !yaml_special(s)) {
		buf_str(b, s);
		return;
	}
	buf_add(b, "\"", 1);
	while (*s != '\0') {
		n = strcspn(s, "\"\\");
		buf_add(b, s, n);
		if (s[n] == '\0')
			break;
		buf_add(b, "\\", 1);
		buf_add(b, s + n, 1);
		s += n + 1;
	}
	buf_add(b, "\"", 1);
}

/*
 * Return 1 when s is a host name make would accept: an RFC 1123
 * label of lower-case letters, digits and inner dashes.
 */
static int
valid_host(const char *s)
{
	size_t	len = strlen(s);

	return len > 0 && len <= 63 &&
	    s[strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-")] == '\0' &&
	    s[0] != '-' && s[len - 1] != '-';
}

/*
 * Return 1 when s is a group name Ansible takes without a warning:
 * letters, digits and underscores, not starting with a digit, and not
 * one of the groups Ansible makes itself.
 */
static int
valid_group(const char *s)
{
	size_t	len = strlen(s);

	return len > 0 && len < NAME_MAX_LEN &&
	    s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")] == '\0' &&
	    (s[0] < '0' || s[0] > '9') && strcmp(s, "all") != 0 &&
	    strcmp(s, "ungrouped") != 0;
}

/*
 * Check that the value of option opt is given, not empty, and free
 * of control bytes.  Returns the number of problems (logged).
 */
static int
check_value(const char *opt, const char *what, const char *s)
{
	const unsigned char	*p;

	if (s == NULL) {
		log_err(opt, "missing: give the %s", what);
		return 1;
	}
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f) {
			log_err(opt, "control character in the %s: give "
			    "printable text", what);
			return 1;
		}
	if (*s == '\0') {
		log_err(opt, "empty %s: give one", what);
		return 1;
	}
	return 0;
}

/*
 * Warn when the known_hosts path has white space outside {{ }}: ssh
 * reads UserKnownHostsFile as a list of files split at white space.
 */
static void
check_known(const char *k)
{
	const char	*p = k, *e;

	while (*p != '\0') {
		if (p[0] == '{' && p[1] == '{' &&
		    (e = strstr(p, "}}")) != NULL) {
			p = e + 2;
			continue;
		}
		if (*p == ' ' || *p == '\t') {
			log_warn("-K", "%s: white space: ssh would read "
			    "UserKnownHostsFile as several files", k);
			return;
		}
		p++;
	}
}

/*
 * Check the options of an upsert, all of them in one go, and build
 * the ssh arguments.  Returns the number of problems (logged).
 */
static int
check_upsert(struct opts *o)
{
	struct buf	 b = { 0 };
	const char	*errstr;
	int		 bad;

	bad = check_value("-g", "group", o->group);
	if (bad == 0 && !valid_group(o->group)) {
		log_err("-g", "%s: not a group name: use letters, digits "
		    "and _, not all or ungrouped", o->group);
		bad++;
	}
	bad += check_value("-a", "address", o->addr);
	bad += check_value("-u", "user", o->user);
	bad += check_value("-r", "role", o->role);
	bad += check_value("-d", "domain suffix", o->domain);
	if (check_value("-p", "port", o->port) == 0) {
		o->portnum = util_strtonum(o->port, 1, 65535, &errstr);
		if (errstr != NULL) {
			log_err("-p", "%s: port %s: give 1 to 65535",
			    o->port, errstr);
			bad++;
		}
	} else
		bad++;
	if (o->known != NULL && check_value("-K", "known_hosts path",
	    o->known) == 0) {
		check_known(o->known);
		buf_str(&b, "-o UserKnownHostsFile=");
		buf_str(&b, o->known);
		buf_str(&b, " -o StrictHostKeyChecking=yes"
		    " -o HostKeyAlgorithms=ssh-ed25519");
		if (b.err) {
			log_errno("-K", "out of memory");
			bad++;
		}
		o->sshargs = b.s;
	} else if (o->known != NULL)
		bad++;
	return bad;
}

/*
 * Parse the command line into o and check it.  Returns 0, or the usage
 * status (logged).
 */
static int
parse_args(int argc, char *argv[], struct opts *o)
{
	int	 ch, bad = 0;

	while ((ch = getopt(argc, argv, ":a:Dd:f:g:H:K:np:r:s:u:v")) != -1)
		switch (ch) {
		case 'a': o->addr = optarg; break;
		case 'D': o->remove = 1; break;
		case 'd': o->domain = optarg; break;
		case 'f': o->file = optarg; break;
		case 'g': o->group = optarg; break;
		case 'H': o->host = optarg; break;
		case 'K': o->known = optarg; break;
		case 'n': o->dry = 1; break;
		case 'p': o->port = optarg; break;
		case 'r': o->role = optarg; break;
		case 's': o->stamp = optarg; break;
		case 'u': o->user = optarg; break;
		case 'v': log_verbosity++; break;
		default: return log_usage(ch, SYNOPSIS);
		}
	if (optind != argc || o->file == NULL || o->host == NULL)
		return log_usage(0, SYNOPSIS);
	if (!valid_host(o->host)) {
		log_err("-H", "%s: not a host name: use lower-case "
		    "letters, digits and inner dashes, 63 at most",
		    o->host);
		bad++;
	}
	if (!o->remove)
		bad += check_upsert(o);
	return bad > 0 ? MKP_EXIT_USAGE : 0;
}

/*
 * Read the inventory into d; a missing file reads as empty.  Symbolic
 * links are refused: the rename would replace the link, not its file.
 * Returns 0, or the exit status to end with (logged).
 */
static int
doc_load(struct doc *d, const char *path)
{
	struct stat	 st;

	d->path = path;
	d->mode = 0644;
	if (lstat(path, &st) == -1) {
		if (errno != ENOENT) {
			log_errno(path, "lstat");
			return MKP_EXIT_FAIL;
		}
		d->isnew = 1;
		d->text = strdup("");
		return d->text ? 0 : MKP_EXIT_FAIL;
	}
	if (!S_ISREG(st.st_mode)) {
		log_err(path, "not a regular file: give the real path of "
		    "the inventory with -f");
		return MKP_EXIT_USAGE;
	}
	d->mode = st.st_mode & 07777;
	if (util_read_file(path, FILE_MAX, &d->text, &d->len) == -1)
		return MKP_EXIT_FAIL;
	d->isnew = d->len == 0;
	return 0;
}

/*
 * Sort line l into its kind and measure its indentation.  Returns 0,
 * or -1 for a tab or carriage return the line model cannot carry
 * (logged).
 */
static int
classify(const struct doc *d, size_t i, struct line *l)
{
	const char	*p = l->s, *e = l->s + l->len;

	while (p < e && *p == ' ')
		p++;
	l->indent = (int)(p - l->s);
	if (memchr(l->s, '\r', l->len) != NULL) {
		refuse(d, i, "carriage return: convert the file to Unix "
		    "line ends (dos2unix)");
		return -1;
	}
	/* The text ends in a NUL, so strspn stops at the line's end. */
	if (p + strspn(p, " \t") >= e)
		l->kind = L_BLANK;
	else if (*p == '\t') {
		refuse(d, i, "tab in the indentation: indent with spaces "
		    "(YAML does not allow tabs there)");
		return -1;
	} else
		l->kind = *p == '#' ? L_COMMENT : L_CONTENT;
	return 0;
}

/*
 * Check the document-level lines: one leading "---" is trivia; a
 * directive, a second document or a document end is refused.
 * Returns 0, or -1 (logged).
 */
static int
markers(const struct doc *d, size_t i, struct line *l, int *seen)
{
	const char	*s = l->s, *rest;
	int		 dash, dots;

	if (l->kind != L_CONTENT)
		return 0;
	dash = l->len >= 3 && strncmp(s, "---", 3) == 0 &&
	    (l->len == 3 || s[3] == ' ');
	dots = l->len >= 3 && strncmp(s, "...", 3) == 0 &&
	    (l->len == 3 || s[3] == ' ');
	if (dash && !*seen) {
		rest = s + 3 + strspn(s + 3, " ");
		if (rest < s + l->len && *rest != '#') {
			refuse(d, i, "content after ---: move it to a "
			    "line of its own");
			return -1;
		}
		l->kind = L_MARK;
	} else if (dash || dots || (l->indent == 0 && *s == '%')) {
		refuse(d, i, "YAML directive or document marker: keep one "
		    "document, with at most a leading ---");
		return -1;
	}
	*seen = 1;
	return 0;
}

/*
 * Cut the text into lines, sort them, and refuse what the line model
 * cannot carry: NUL bytes, a byte order mark, tabs in indentation,
 * CR line ends, several documents.  Returns 0, or the exit status to
 * end with (logged).
 */
static int
doc_split(struct doc *d)
{
	const char	*p = d->text, *e = d->text + d->len, *nl;
	struct line	*more;
	size_t		 cap = 0;
	int		 seen = 0;

	if (memchr(d->text, '\0', d->len) != NULL ||
	    (d->len >= 3 && memcmp(d->text, "\xef\xbb\xbf", 3) == 0)) {
		refuse(d, NONE, "NUL byte or byte order mark: save it as "
		    "plain UTF-8 text");
		return MKP_EXIT_USAGE;
	}
	for (; p < e; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
			nl = e;
		if (d->n == cap) {
			cap = cap ? cap * 2 : 64;
			more = reallocarray(d->lines, cap, sizeof(*more));
			if (more == NULL) {
				log_errno(d->path, "out of memory");
				return MKP_EXIT_FAIL;
			}
			d->lines = more;
		}
		d->lines[d->n].s = p;
		d->lines[d->n].len = (size_t)(nl - p);
		if (classify(d, d->n, &d->lines[d->n]) == -1 ||
		    markers(d, d->n, &d->lines[d->n], &seen) == -1)
			return MKP_EXIT_USAGE;
		d->n++;
	}
	return 0;
}

/*
 * Decode the quoted key at p (up to e) into name.  Returns a pointer
 * past the closing quote, or NULL when there is none.  An escape
 * other than \" and \\ is kept as written, so such a key matches no
 * host or group name, which cannot hold a backslash.
 */
static const char *
quoted_key(const char *p, const char *e, char *name, size_t sz)
{
	char	 q = *p++;
	size_t	 n = 0;

	for (; p < e; p++) {
		if (*p == q && q == '\'' && p + 1 < e && p[1] == '\'')
			p++;
		else if (*p == q)
			break;
		else if (*p == '\\' && q == '"' && p + 1 < e &&
		    (p[1] == '"' || p[1] == '\\'))
			p++;
		if (n + 1 < sz)
			name[n++] = *p;
	}
	name[n] = '\0';
	return p < e ? p + 1 : NULL;
}

/*
 * Read the plain key at p (up to e) into name, trimmed.  Returns a
 * pointer to its colon, or NULL when the line holds no plain key.
 */
static const char *
plain_key(const char *p, const char *e, char *name, size_t sz)
{
	const char	*q, *end;
	size_t		 n;

	if (strchr("[]{}#&*!|>%@`,", *p) != NULL ||
	    ((*p == '-' || *p == '?' || *p == ':') &&
	    (p + 1 == e || p[1] == ' ')))
		return NULL;
	for (q = p; q < e; q++) {
		if (*q == '#' && q > p && (q[-1] == ' ' || q[-1] == '\t'))
			return NULL;
		if (*q == ':' && (q + 1 == e || q[1] == ' ' || q[1] == '\t'))
			break;
	}
	if (q == e)
		return NULL;
	for (end = q; end > p && (end[-1] == ' ' || end[-1] == '\t'); end--)
		continue;
	n = (size_t)(end - p);
	/* A key too long to compare matches nothing. */
	if (n >= sz)
		n = 0;
	memcpy(name, p, n);
	name[n] = '\0';
	return q;
}

/*
 * Read the "key:" that starts line l into k.  Returns 1 when it is
 * one, 0 when the line is something else (an item, a scalar, a
 * complex key).
 */
static int
key_parse(const struct line *l, struct key *k)
{
	const char	*p = l->s + l->indent, *e = l->s + l->len, *q;

	if (*p == '\'' || *p == '"') {
		if ((q = quoted_key(p, e, k->name, sizeof(k->name))) == NULL)
			return 0;
		while (q < e && *q == ' ')
			q++;
		if (q == e || *q != ':')
			return 0;
	} else if ((q = plain_key(p, e, k->name, sizeof(k->name))) == NULL)
		return 0;
	q++;
	if (q < e && *q != ' ' && *q != '\t')
		return 0;
	while (q < e && (*q == ' ' || *q == '\t'))
		q++;
	k->val = q;
	k->vlen = (size_t)(e - q);
	return 1;
}

/*
 * Tell what follows a key's colon.  Returns its kind; V_EMPTY when
 * nothing but a comment does, so a block may follow on next lines.
 */
static enum vkind
value_kind(const struct key *k)
{
	static const char *const nulls[] = { "~", "null", "Null", "NULL" };
	size_t	 i, n;

	if (k->vlen == 0 || *k->val == '#')
		return V_EMPTY;
	switch (*k->val) {
	case '{': case '[': return V_FLOW;
	case '&': return V_ANCHOR;
	case '*': return V_ALIAS;
	case '!': return V_TAG;
	case '|': case '>': return V_BLOCK;
	}
	n = strcspn(k->val, " \t\n");
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (n == strlen(nulls[i]) && strncmp(k->val, nulls[i], n) == 0)
			return V_NULL;
	return V_SCALAR;
}

/*
 * Return 1 when line l is a block sequence item ("- x" or "-").
 */
static int
is_item(const struct line *l)
{
	const char	*p = l->s + l->indent;
	size_t		 left = l->len - (size_t)l->indent;

	return left > 0 && *p == '-' && (left == 1 || p[1] == ' ');
}

/*
 * Find the last line of the node that starts at line i: the lines
 * after it indented deeper, and, under a key with no value, the "- "
 * items at its own indentation (YAML lets a sequence sit at its key's
 * level).  Comments after its last content line are its own only
 * while no blank or shallower line comes between: the others belong
 * to what follows.  Returns the index of that last line.
 */
static size_t
node_end(const struct doc *d, size_t i)
{
	const struct line	*l;
	struct key		 k;
	size_t			 j, last = i;
	int			 ind = d->lines[i].indent, seq, gap = 0;

	seq = key_parse(&d->lines[i], &k) && value_kind(&k) == V_EMPTY;
	for (j = i + 1; j < d->n; j++) {
		l = &d->lines[j];
		if (l->kind == L_BLANK || l->kind == L_MARK ||
		    (l->kind == L_COMMENT && l->indent <= ind))
			gap = 1;
		else if (l->kind == L_COMMENT) {
			if (!gap)
				last = j;
		} else if (l->indent > ind ||
		    (seq && l->indent == ind && is_item(l))) {
			last = j;
			gap = 0;
		} else
			break;
	}
	return last;
}

/*
 * Start iterating over the children of the node at line parent, or
 * of the whole document when parent is NONE.
 */
static void
iter_init(struct iter *it, const struct doc *d, size_t parent)
{
	it->cind = -1;
	it->next = parent == NONE ? 0 : parent + 1;
	if (parent != NONE)
		it->end = node_end(d, parent);
	else
		it->end = d->n > 0 ? d->n - 1 : 0;
}

/*
 * Step to the next child: a content line at the indentation the first
 * child set.  Returns 1 with *child set, 0 when there are no more, or
 * -1 for a line indented unlike its siblings (logged).
 */
static int
iter_next(struct iter *it, const struct doc *d, size_t *child)
{
	size_t	j;

	for (j = it->next; j <= it->end && j < d->n; j++)
		if (d->lines[j].kind == L_CONTENT)
			break;
	if (j > it->end || j >= d->n)
		return 0;
	if (it->cind == -1)
		it->cind = d->lines[j].indent;
	if (d->lines[j].indent != it->cind) {
		refuse(d, j, "indented unlike the lines before it at its "
		    "level: align it");
		return -1;
	}
	*child = j;
	it->next = node_end(d, j) + 1;
	return 1;
}

/*
 * Return 1 when a line of the node at line i, or the line itself,
 * holds an anchor, an alias or a merge key: replacing or removing
 * the node could then break a reference elsewhere.
 */
static int
has_reference(const struct doc *d, size_t i, size_t *where)
{
	struct line	 l;
	struct key	 k;
	enum vkind	 v;
	size_t		 j, end = node_end(d, i);

	for (j = i; j <= end; j++) {
		l = d->lines[j];
		if (l.kind != L_CONTENT)
			continue;
		while (is_item(&l) && l.len > (size_t)l.indent + 1)
			l.indent += 2 + (int)strspn(l.s + l.indent + 2, " ");
		if (l.s[l.indent] == '&' || l.s[l.indent] == '*' ||
		    (key_parse(&l, &k) && ((v = value_kind(&k)) ==
		    V_ANCHOR || v == V_ALIAS || strcmp(k.name, "<<") == 0))) {
			*where = j;
			return 1;
		}
	}
	return 0;
}

/*
 * Record place (line, parent) for the group name in list, which holds
 * *n places.  Returns 0, or the exit status to end with (logged).
 */
static int
record(const struct doc *d, struct place *list, size_t *n, size_t line,
    size_t parent, const char *group)
{
	if (*n == HITS_MAX) {
		refuse(d, line, "listed more than %d times: merge them",
		    HITS_MAX);
		return MKP_EXIT_USAGE;
	}
	list[*n].line = line;
	list[*n].parent = parent;
	list[*n].hosts = NONE;
	snprintf(list[*n].group, sizeof(list[*n].group), "%s", group);
	(*n)++;
	return 0;
}

/*
 * Look for HOST among the keys below the hosts: line h of group.  A
 * host listed there must be in block style without references.
 * Returns 0, or the exit status to end with (logged).
 */
static int
walk_hosts(const struct doc *d, size_t h, const char *group,
    struct scan *s)
{
	struct iter	 it;
	struct key	 k;
	enum vkind	 v;
	size_t		 c, where;
	int		 rc;

	iter_init(&it, d, h);
	while ((rc = iter_next(&it, d, &c)) == 1) {
		if (!key_parse(&d->lines[c], &k) ||
		    strcmp(k.name, s->o->host) != 0)
			continue;
		if ((v = value_kind(&k)) != V_EMPTY && v != V_NULL) {
			refuse(d, c, "host %s has %s: write it in block "
			    "style, \"%s:\" with its variables below",
			    k.name, vkind_names[v], k.name);
			return MKP_EXIT_USAGE;
		}
		if (has_reference(d, c, &where)) {
			refuse(d, where, "anchor, alias or merge key in "
			    "host %s: write its variables out in full",
			    k.name);
			return MKP_EXIT_USAGE;
		}
		if (record(d, s->hits, &s->nhits, c, h, group) != 0)
			return MKP_EXIT_USAGE;
	}
	return rc == -1 ? MKP_EXIT_USAGE : 0;
}


static int	walk_group(const struct doc *, size_t, size_t,
		    const struct key *, int, struct scan *);

/*
 * Walk the groups below the children: line c.  Returns 0, or the exit
 * status to end with (logged).
 */
static int
walk_children(const struct doc *d, size_t c, int depth, struct scan *s)
{
	struct iter	 it;
	struct key	 k;
	size_t		 g;
	int		 rc;

	iter_init(&it, d, c);
	while ((rc = iter_next(&it, d, &g)) == 1)
		if (key_parse(&d->lines[g], &k) &&
		    (rc = walk_group(d, g, c, &k, depth + 1, s)) != 0)
			return rc;
	return rc == -1 ? MKP_EXIT_USAGE : 0;
}

/*
 * Walk one section, line c, of the group gk: hosts: and children:
 * are followed, the rest (vars:) is left alone.  def is the group's
 * place when it is GROUP, else NULL: its hosts: must then be a block
 * mapping, where a host can be added.  Returns 0, or the exit status
 * to end with (logged).
 */
static int
walk_section(const struct doc *d, size_t c, const struct key *k,
    const struct key *gk, int depth, struct place *def, struct scan *s)
{
	enum vkind	 v = value_kind(k);
	int		 hosts = strcmp(k->name, "hosts") == 0;

	if (strcmp(k->name, "children") == 0 && depth == 0 &&
	    strcmp(gk->name, "all") == 0)
		s->children = c;
	if (hosts && def != NULL && def->hosts != NONE) {
		refuse(d, c, "second hosts: in group %s (the first is at "
		    "line %zu): merge them", gk->name, def->hosts + 1);
		return MKP_EXIT_USAGE;
	}
	if (hosts && def != NULL)
		def->hosts = c;
	if (v != V_EMPTY && hosts && def != NULL) {
		refuse(d, c, "hosts: of group %s has %s: write it in "
		    "block style, one \"host:\" a line", gk->name,
		    vkind_names[v]);
		return MKP_EXIT_USAGE;
	}
	/* Other shapes are opaque here; ansible-inventory sees them. */
	if (v != V_EMPTY)
		return 0;
	if (hosts)
		return walk_hosts(d, c, gk->name, s);
	if (strcmp(k->name, "children") == 0)
		return walk_children(d, c, depth, s);
	return 0;
}

/*
 * Walk the sections of the group at line g.  Returns 0, or the exit
 * status to end with (logged).
 */
static int
walk_sections(const struct doc *d, size_t g, const struct key *gk,
    int depth, struct place *def, struct scan *s)
{
	struct iter	 it;
	struct key	 k;
	size_t		 c;
	int		 rc;

	iter_init(&it, d, g);
	while ((rc = iter_next(&it, d, &c)) == 1) {
		if (key_parse(&d->lines[c], &k)) {
			rc = walk_section(d, c, &k, gk, depth, def, s);
			if (rc != 0)
				return rc;
		} else if (def != NULL) {
			refuse(d, c, "not a \"key:\" line in group %s: "
			    "mkp-inventory edits block mappings only",
			    gk->name);
			return MKP_EXIT_USAGE;
		}
	}
	return rc == -1 ? MKP_EXIT_USAGE : 0;
}

/*
 * Walk the group defined at line g, below line parent (NONE: the top
 * level).  GROUP itself must be a plain block mapping; other groups
 * in another shape are left to ansible-inventory's check.  Returns 0,
 * or the exit status to end with (logged).
 */
static int
walk_group(const struct doc *d, size_t g, size_t parent,
    const struct key *gk, int depth, struct scan *s)
{
	struct place	*def = NULL;
	enum vkind	 v = value_kind(gk);

	if (!s->o->remove && strcmp(gk->name, s->o->group) == 0) {
		if (record(d, s->defs, &s->ndefs, g, parent, gk->name))
			return MKP_EXIT_USAGE;
		def = &s->defs[s->ndefs - 1];
	}
	if (v != V_EMPTY && def != NULL) {
		refuse(d, g, "group %s has %s: write it in block style, "
		    "\"%s:\" with hosts: below", gk->name, vkind_names[v],
		    gk->name);
		return MKP_EXIT_USAGE;
	}
	if (v != V_EMPTY)
		return 0;
	if (depth > DEPTH_MAX) {
		refuse(d, g, "groups nested deeper than %d: flatten them",
		    DEPTH_MAX);
		return MKP_EXIT_USAGE;
	}
	return walk_sections(d, g, gk, depth, def, s);
}

/*
 * Walk the whole document: a mapping of groups.  Returns 0, or the
 * exit status to end with (logged).
 */
static int
walk_root(const struct doc *d, struct scan *s)
{
	struct iter	 it;
	struct key	 k;
	size_t		 g;
	int		 rc;

	s->children = NONE;
	iter_init(&it, d, NONE);
	while ((rc = iter_next(&it, d, &g)) == 1) {
		if (!key_parse(&d->lines[g], &k)) {
			refuse(d, g, "not a \"group:\" line: an inventory "
			    "is a mapping of groups");
			return MKP_EXIT_USAGE;
		}
		if ((rc = walk_group(d, g, NONE, &k, 0, s)) != 0)
			return rc;
	}
	return rc == -1 ? MKP_EXIT_USAGE : 0;
}

/*
 * Append one "key: value" line at indentation ind.
 */
static void
buf_var(struct buf *b, int ind, const char *key, const char *val)
{
	buf_indent(b, ind);
	buf_str(b, key);
	buf_str(b, ": ");
	buf_scalar(b, val);
	buf_str(b, "\n");
}

/*
 * Append HOST's block: its "HOST:" line at hind unless head is 0 (the
 * caller keeps the line there is), then its variables at vind.
 */
static void
host_block(struct buf *b, const struct opts *o, int hind, int vind,
    int head)
{
	char	port[16];

	if (head) {
		buf_indent(b, hind);
		buf_scalar(b, o->host);
		buf_str(b, ":\n");
	}
	buf_var(b, vind, "ansible_host", o->addr);
	buf_var(b, vind, "ansible_user", o->user);
	snprintf(port, sizeof(port), "%lld", o->portnum);
	buf_indent(b, vind);
	buf_str(b, "ansible_port: ");
	buf_str(b, port);
	buf_str(b, "\n");
	buf_var(b, vind, "server_role", o->role);
	buf_var(b, vind, "domain_suffix", o->domain);
	if (o->sshargs != NULL)
		buf_var(b, vind, "ansible_ssh_common_args", o->sshargs);
}

/*
 * Turn b into the splice that replaces lines [from, to).  Returns 0,
 * or MKP_EXIT_FAIL when b could not be built (logged).
 */
static int
add_splice(struct edit *ed, struct buf *b, size_t from, size_t to)
{
	struct splice	*sp = &ed->sp[ed->n];

	if (b->err) {
		log_errno(NULL, "building the new text");
		free(b->s);
		return MKP_EXIT_FAIL;
	}
	sp->from = from;
	sp->to = to;
	sp->text = b->s;
	sp->len = b->len;
	ed->n++;
	return 0;
}

/*
 * Return the indentation of the first content line in (i, end], or
 * dflt when there is none deeper than line i.
 */
static int
body_indent(const struct doc *d, size_t i, size_t end, int dflt)
{
	size_t	j;

	for (j = i + 1; j <= end && j < d->n; j++)
		if (d->lines[j].kind == L_CONTENT)
			return d->lines[j].indent > d->lines[i].indent ?
			    d->lines[j].indent : dflt;
	return dflt;
}

/*
 * Plan the replacement of HOST's block at hit: its variables are
 * written anew at their old indentation; a "HOST:" line with no value
 * is kept as it is, with any comment on it.  Returns 0, or the exit
 * status to end with.
 */
static int
replace_host(const struct doc *d, const struct opts *o,
    const struct place *hit, struct edit *ed)
{
	struct buf	 b = { 0 };
	struct key	 k;
	size_t		 h = hit->line, end = node_end(d, h);
	int		 hind = d->lines[h].indent, vind, keep;

	keep = key_parse(&d->lines[h], &k) && value_kind(&k) == V_EMPTY;
	vind = hind + (hind - d->lines[hit->parent].indent);
	vind = body_indent(d, h, end, vind);
	host_block(&b, o, hind, vind, !keep);
	log_info(d->path, "line %zu: %s in group %s: replacing lines "
	    "%zu-%zu", h + 1, o->host, hit->group, h + 1, end + 1);
	return add_splice(ed, &b, keep ? h + 1 : h, end + 1);
}

/*
 * Find the last child of the node at line parent (NONE: the top
 * level).  Returns 0 with *last (NONE when there is none) and *cind
 * (-1 then) set, or -1 (logged).
 */
static int
last_child(const struct doc *d, size_t parent, size_t *last, int *cind)
{
	struct iter	 it;
	size_t		 c;
	int		 rc;

	*last = NONE;
	iter_init(&it, d, parent);
	while ((rc = iter_next(&it, d, &c)) == 1)
		*last = c;
	*cind = it.cind;
	return rc;
}

/*
 * Plan HOST's block at the end of the hosts: mapping at line h, at
 * the indentation of the hosts already there.  Returns 0, or the exit
 * status to end with.
 */
static int
insert_host(const struct doc *d, const struct opts *o, size_t h,
    struct edit *ed)
{
	struct buf	 b = { 0 };
	size_t		 last, at;
	int		 cind, step;

	if (last_child(d, h, &last, &cind) == -1)
		return MKP_EXIT_USAGE;
	at = last == NONE ? h + 1 : node_end(d, last) + 1;
	step = cind > d->lines[h].indent ? cind - d->lines[h].indent : 2;
	cind = d->lines[h].indent + step;
	host_block(&b, o, cind, cind + step, 1);
	log_info(d->path, "line %zu: adding %s to the hosts of group %s",
	    at + 1, o->host, o->group);
	return add_splice(ed, &b, at, at);
}

/*
 * Plan a hosts: section holding HOST at the end of the group at line
 * g, which has none yet.  Returns 0, or the exit status to end with.
 */
static int
insert_hosts(const struct doc *d, const struct opts *o, size_t g,
    struct edit *ed)
{
	struct buf	 b = { 0 };
	size_t		 last, at;
	int		 cind, step;

	if (last_child(d, g, &last, &cind) == -1)
		return MKP_EXIT_USAGE;
	at = last == NONE ? g + 1 : node_end(d, last) + 1;
	step = cind > d->lines[g].indent ? cind - d->lines[g].indent : 2;
	cind = d->lines[g].indent + step;
	buf_indent(&b, cind);
	buf_str(&b, "hosts:\n");
	host_block(&b, o, cind + step, cind + 2 * step, 1);
	log_info(d->path, "line %zu: adding hosts: with %s to group %s",
	    at + 1, o->host, o->group);
	return add_splice(ed, &b, at, at);
}

/*
 * Return the file's indentation step: the first increase of
 * indentation from one content line to the next, or 2.
 */
static int
doc_step(const struct doc *d)
{
	size_t	i;
	int	prev = -1;

	for (i = 0; i < d->n; i++) {
		if (d->lines[i].kind != L_CONTENT)
			continue;
		if (prev != -1 && d->lines[i].indent > prev)
			return d->lines[i].indent - prev;
		prev = d->lines[i].indent;
	}
	return 2;
}

/*
 * Plan GROUP with HOST in it: under all: children: when the file has
 * that, else at the end of the file (with the header when the file
 * is new).  Returns 0, or the exit status to end with.
 */
static int
insert_group(const struct doc *d, const struct scan *s,
    struct edit *ed)
{
	struct buf	 b = { 0 };
	struct key	 k;
	enum vkind	 v;
	size_t		 p = s->children, last, at = d->n;
	int		 gind, step = doc_step(d);

	if (p != NONE && key_parse(&d->lines[p], &k) &&
	    (v = value_kind(&k)) != V_EMPTY) {
		refuse(d, p, "children: of all has %s: write it in block "
		    "style, one \"group:\" a line", vkind_names[v]);
		return MKP_EXIT_USAGE;
	}
	if (last_child(d, p, &last, &gind) == -1)
		return MKP_EXIT_USAGE;
	if (p != NONE) {
		at = last == NONE ? p + 1 : node_end(d, last) + 1;
		if (gind == -1)
			gind = d->lines[p].indent + step;
	} else if (gind == -1)
		gind = 0;
	if (d->isnew)
		buf_str(&b, header);
	buf_indent(&b, gind);
	buf_scalar(&b, s->o->group);
	buf_str(&b, ":\n");
	buf_indent(&b, gind + step);
	buf_str(&b, "hosts:\n");
	host_block(&b, s->o, gind + 2 * step, gind + 3 * step, 1);
	log_info(d->path, "line %zu: adding group %s%s with %s", at + 1,
	    s->o->group, p != NONE ? " under all: children:" : "",
	    s->o->host);
	return add_splice(ed, &b, at, at);
}

/*
 * Refuse definitions of GROUP that leave unclear where a host goes:
 * two at the same level (YAML keeps only the last), or two with a
 * hosts: section.  Returns 0, or MKP_EXIT_USAGE (logged).
 */
static int
check_defs(const struct doc *d, const struct scan *s)
{
	const struct place	*a, *b;
	size_t			 i, j;

	for (i = 0; i < s->ndefs; i++)
		for (j = i + 1; j < s->ndefs; j++) {
			a = &s->defs[i];
			b = &s->defs[j];
			if (a->parent == b->parent) {
				refuse(d, b->line, "group %s defined again "
				    "at the same level (first at line %zu): "
				    "merge them", b->group, a->line + 1);
				return MKP_EXIT_USAGE;
			}
			if (a->hosts != NONE && b->hosts != NONE) {
				refuse(d, b->hosts, "group %s has hosts: "
				    "here and at line %zu: keep one list",
				    b->group, a->hosts + 1);
				return MKP_EXIT_USAGE;
			}
		}
	return 0;
}

/*
 * Plan the upsert from what the walk found.  Returns 0 with ed
 * filled, or the exit status to end with (logged).
 */
static int
plan_upsert(const struct doc *d, const struct scan *s, struct edit *ed)
{
	const struct opts	*o = s->o;
	const char		*g;
	size_t			 i;

	ed->group = o->group;
	for (i = 0; i < s->nhits; i++) {
		g = s->hits[i].group;
		if (strcmp(g, o->group) == 0)
			continue;
		refuse(d, s->hits[i].line, "%s is in group %s, not %s: "
		    "retire it there first (mkp-inventory -D)%s%s", o->host,
		    g, o->group, valid_group(g) ? ", or give -g " : "",
		    valid_group(g) ? g : "");
		return MKP_EXIT_USAGE;
	}
	if (s->nhits > 1) {
		refuse(d, s->hits[1].line, "%s listed again in group %s "
		    "(first at line %zu): delete one of them", o->host,
		    o->group, s->hits[0].line + 1);
		return MKP_EXIT_USAGE;
	}
	if (check_defs(d, s) != 0)
		return MKP_EXIT_USAGE;
	if (s->nhits == 1)
		return replace_host(d, o, &s->hits[0], ed);
	for (i = 0; i < s->ndefs; i++)
		if (s->defs[i].hosts != NONE)
			return insert_host(d, o, s->defs[i].hosts, ed);
	if (s->ndefs > 0)
		return insert_hosts(d, o, s->defs[0].line, ed);
	return insert_group(d, s, ed);
}

/*
 * Plan the removal of every block of HOST.  Returns 0 with ed filled,
 * MKP_EXIT_UNCHANGED when it is listed nowhere, or MKP_EXIT_FAIL.
 */
static int
plan_remove(const struct doc *d, const struct scan *s, struct edit *ed)
{
	struct buf	 b = { 0 };
	size_t		 i, h;
	int		 rc;

	if (s->nhits == 0) {
		log_info(d->path, "%s is listed in no group", s->o->host);
		return MKP_EXIT_UNCHANGED;
	}
	ed->group = s->hits[0].group;
	for (i = 0; i < s->nhits; i++) {
		h = s->hits[i].line;
		log_info(d->path, "line %zu: removing %s from group %s",
		    h + 1, s->o->host, s->hits[i].group);
		memset(&b, 0, sizeof(b));
		if ((rc = add_splice(ed, &b, h, node_end(d, h) + 1)) != 0)
			return rc;
	}
	return 0;
}

/*
 * Return the byte offset where line i starts (the text's length for
 * i == d->n).
 */
static size_t
offset(const struct doc *d, size_t i)
{
	return i < d->n ? (size_t)(d->lines[i].s - d->text) : d->len;
}

/*
 * Build the new text into b: the old lines with the splices put in.
 * A last line without a newline gets one before inserted text.
 * Returns 0, or MKP_EXIT_FAIL when memory ran out (logged).
 */
static int
apply(const struct doc *d, const struct edit *ed, struct buf *b)
{
	const struct splice	*sp;
	size_t			 i, pos = 0;

	buf_add(b, "", 0);
	for (i = 0; i < ed->n; i++) {
		sp = &ed->sp[i];
		buf_add(b, d->text + offset(d, pos),
		    offset(d, sp->from) - offset(d, pos));
		if (sp->len > 0 && b->len > 0 && b->s[b->len - 1] != '\n')
			buf_add(b, "\n", 1);
		buf_add(b, sp->text, sp->len);
		pos = sp->to;
	}
	buf_add(b, d->text + offset(d, pos), d->len - offset(d, pos));
	if (b->err) {
		log_errno(d->path, "out of memory");
		return MKP_EXIT_FAIL;
	}
	return 0;
}

/*
 * Count the lines of the len bytes at s.
 */
static size_t
count_lines(const char *s, size_t len)
{
	size_t	i, n = 0;

	for (i = 0; i < len; i++)
		if (s[i] == '\n')
			n++;
	return n;
}

/*
 * Return 1 when line i of d equals line k of splice sp, whose line
 * starts are at off[].
 */
static int
same_line(const struct doc *d, size_t i, const struct splice *sp,
    const size_t *off, size_t k)
{
	size_t	len = off[k + 1] - off[k] - 1;

	return d->lines[i].len == len &&
	    memcmp(d->lines[i].s, sp->text + off[k], len) == 0;
}

/*
 * Print the old lines [a, b) and the new lines [x, y) of sp as one
 * hunk without context; delta is how far earlier hunks moved lines.
 */
static void
print_lines(const struct doc *d, const struct splice *sp,
    const size_t *off, size_t a, size_t b, size_t x, size_t y,
    long delta)
{
	size_t	i;

	/* An empty range names the line before it, as diff -U0 does. */
	printf("@@ -%zu,%zu +%zu,%zu @@\n", a < b ? a + 1 : a, b - a,
	    (size_t)((long)a + delta) + (x < y ? 1 : 0), y - x);
	for (i = a; i < b; i++)
		printf("-%.*s\n", (int)d->lines[i].len, d->lines[i].s);
	for (i = x; i < y; i++)
		printf("+%.*s\n", (int)(off[i + 1] - off[i] - 1),
		    sp->text + off[i]);
}

/*
 * Print one splice as a hunk, leaving out the lines at its start and
 * end that stay as they were, so that a new address shows as one
 * line changed.  Returns 0, or -1 when memory ran out (logged).
 */
static int
print_hunk(const struct doc *d, const struct splice *sp, long delta)
{
	size_t	*off, i, k = 0, a = sp->from, b = sp->to, x = 0, y;

	y = count_lines(sp->text, sp->len);
	if ((off = calloc(y + 1, sizeof(*off))) == NULL) {
		log_errno(d->path, "out of memory");
		return -1;
	}
	for (i = 0; i < sp->len; i++)
		if (sp->text[i] == '\n')
			off[++k] = i + 1;
	while (a < b && x < y && same_line(d, a, sp, off, x)) {
		a++;
		x++;
	}
	while (a < b && x < y && same_line(d, b - 1, sp, off, y - 1)) {
		b--;
		y--;
	}
	print_lines(d, sp, off, a, b, x, y, delta);
	free(off);
	return 0;
}

/*
 * Print what the edit would change, as a unified diff on stdout.
 * Returns 0, or -1 (logged).
 */
static int
print_diff(const struct doc *d, const struct edit *ed)
{
	size_t	i;
	long	delta = 0;

	printf("--- %s\n+++ %s\n", d->path, d->path);
	for (i = 0; i < ed->n; i++) {
		if (print_hunk(d, &ed->sp[i], delta) == -1)
			return -1;
		delta += (long)count_lines(ed->sp[i].text, ed->sp[i].len) -
		    (long)(ed->sp[i].to - ed->sp[i].from);
	}
	return fflush(stdout) == EOF ? -1 : 0;
}

/*
 * Write the directory part of path into dir.
 */
static void
dir_of(const char *path, char *dir, size_t sz)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(dir, sz, ".");
	else if (slash == path)
		snprintf(dir, sz, "/");
	else
		snprintf(dir, sz, "%.*s", (int)(slash - path), path);
}

/*
 * Lock the directory that holds path, so that two runs (for two
 * hosts, say) never both read the old file and then each write their
 * own new one.  The file itself cannot carry the lock: the rename
 * replaces it.  Returns the descriptor, or -1 (logged).
 */
static int
lock_dir(const char *path)
{
	char	 dir[4096];
	int	 fd;

	dir_of(path, dir, sizeof(dir));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_errno(dir, "the inventory's directory");
		return -1;
	}
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			log_errno(dir, "flock");
			close(fd);
			return -1;
		}
	return fd;
}

/*
 * Make an empty configuration file so that ansible-inventory reads no
 * ansible.cfg of the user's; it refuses /dev/null, wanting a name
 * ending in .cfg.  Returns 0 with path filled, or -1 (logged).
 */
static int
empty_cfg(char *path, size_t sz)
{
	const char	*tmp = getenv("TMPDIR");
	int		 fd;

	snprintf(path, sz, "%s/mkp-inventory.XXXXXX.cfg",
	    tmp != NULL && *tmp == '/' ? tmp : "/tmp");
	if ((fd = mkstemps(path, 4)) == -1) {
		log_errno(path, "mkstemps");
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Set the environment ansible-inventory runs in: none of the user's
 * ANSIBLE_ variables, an empty configuration, only the YAML plugin,
 * and a source that fails to parse is an error, not an empty
 * inventory.
 */
static void
ansible_env(const char *cfg)
{
	char	 name[256];
	size_t	 i = 0, n;

	while (environ[i] != NULL) {
		n = strcspn(environ[i], "=");
		if (strncmp(environ[i], "ANSIBLE_", 8) != 0 ||
		    n >= sizeof(name)) {
			i++;
			continue;
		}
		memcpy(name, environ[i], n);
		name[n] = '\0';
		/* unsetenv moves the entries after it: look again. */
		if (unsetenv(name) == -1)
			i++;
	}
	setenv("ANSIBLE_CONFIG", cfg, 1);
	setenv("ANSIBLE_INVENTORY_ENABLED", "yaml", 1);
	setenv("ANSIBLE_INVENTORY_UNPARSED_FAILED", "True", 1);
	setenv("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "True", 1);
	setenv("ANSIBLE_LOCALHOST_WARNING", "False", 1);
	setenv("ANSIBLE_NOCOLOR", "True", 1);
}

/*
 * Run argv as proc_capture does, with its stderr in the file errf
 * rather than ours.  Returns as proc_capture does.
 */
static int
capture_both(char *const argv[], char **out, FILE *errf, int *status)
{
	int	 saved, rc;

	fflush(stderr);
	if ((saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) == -1) {
		log_errno(argv[0], "dup stderr");
		return -1;
	}
	if (dup2(fileno(errf), STDERR_FILENO) == -1) {
		log_errno(argv[0], "dup2 stderr");
		close(saved);
		return -1;
	}
	rc = proc_capture(argv, out, LIST_MAX, status);
	dup2(saved, STDERR_FILENO);
	close(saved);
	return rc;
}

/*
 * Show the last lines ansible-inventory wrote on stderr, escaped by
 * the log: as errors when it failed, else as narration (-v).
 */
static void
show_stderr(FILE *f, int failed)
{
	char	 buf[ERR_TAIL + 1], *line[ERR_LINES], *p, *save;
	long	 size;
	size_t	 n, k = 0, i;

	if (fseek(f, 0, SEEK_END) == -1 || (size = ftell(f)) <= 0 ||
	    fseek(f, size > ERR_TAIL ? size - ERR_TAIL : 0, SEEK_SET) == -1)
		return;
	n = fread(buf, 1, ERR_TAIL, f);
	buf[n] = '\0';
	for (p = strtok_r(buf, "\n", &save); p != NULL;
	    p = strtok_r(NULL, "\n", &save))
		line[k++ % ERR_LINES] = p;
	for (i = k > ERR_LINES ? k - ERR_LINES : 0; i < k; i++)
		if (failed)
			log_err("ansible-inventory", "%s", line[i % ERR_LINES]);
		else
			log_info("ansible-inventory", "%s",
			    line[i % ERR_LINES]);
}

/*
 * Run ansible-inventory --list on path, the new text of file.
 * Returns 0 with *out (its JSON, to be freed), or the exit status to
 * end with (logged, with the end of what it said).
 */
static int
run_inventory(const char *file, const char *path, char **out)
{
	char	 prog[4096], cfg[4096], src[4096];
	char	 opt_i[] = "-i", opt_list[] = "--list";
	char	*argv[] = { prog, opt_i, src, opt_list, NULL };
	FILE	*errf;
	int	 rc, status;

	if (proc_find("ansible-inventory", prog, sizeof(prog)) == -1) {
		log_err("ansible-inventory", "not found in PATH: run make "
		    "deps, or install ansible-core");
		return MKP_EXIT_FAIL;
	}
	snprintf(src, sizeof(src), "%s", path);
	if (empty_cfg(cfg, sizeof(cfg)) == -1)
		return MKP_EXIT_FAIL;
	ansible_env(cfg);
	if ((errf = tmpfile()) == NULL) {
		log_errno("tmpfile", "ansible-inventory's stderr");
		unlink(cfg);
		return MKP_EXIT_FAIL;
	}
	log_info(file, "checking the new text: %s -i %s --list", prog,
	    path);
	rc = capture_both(argv, out, errf, &status);
	unlink(cfg);
	if (rc == 0 && status != 0) {
		show_stderr(errf, 1);
		log_err(file, "ansible-inventory cannot read the new text "
		    "(exit %d; its line numbers are the new text's): "
		    "nothing written", status);
		free(*out);
		rc = -1;
	} else if (rc == 0)
		show_stderr(errf, 0);
	fclose(errf);
	return rc == 0 ? 0 : MKP_EXIT_FAIL;
}

/*
 * Return 1 when the group grp of a --list answer has host among its
 * own hosts.
 */
static int
lists(yajl_val grp, const char *host)
{
	const char	*name;
	yajl_val	 h = json_at(grp, "hosts");
	size_t		 i;

	if (h == NULL || !YAJL_IS_ARRAY(h))
		return 0;
	for (i = 0; i < h->u.array.len; i++)
		if ((name = YAJL_GET_STRING(h->u.array.values[i])) != NULL &&
		    strcmp(name, host) == 0)
			return 1;
	return 0;
}

/*
 * Check the groups of the --list answer v: HOST must be in GROUP and
 * in no other group, or in none once removed.  A host listed where the
 * text walk did not see it was written in a form it cannot read.
 * Returns 0, or the exit status to end with (logged).
 */
static int
check_groups(const struct opts *o, yajl_val v)
{
	const char	*g;
	size_t		 i;
	int		 found = 0;

	for (i = 0; YAJL_IS_OBJECT(v) && i < v->u.object.len; i++) {
		g = v->u.object.keys[i];
		if (strcmp(g, "_meta") == 0 ||
		    !lists(v->u.object.values[i], o->host))
			continue;
		if (!o->remove && strcmp(g, o->group) == 0) {
			found = 1;
			continue;
		}
		log_err(o->file, "ansible-inventory %slists %s in group %s, "
		    "written in a form mkp-inventory cannot edit (flow "
		    "style, alias, host pattern): edit it by hand",
		    o->remove ? "still " : "", o->host, g);
		return MKP_EXIT_USAGE;
	}
	if (!o->remove && !found) {
		log_err(o->file, "ansible-inventory does not list %s in "
		    "group %s after the edit: nothing written", o->host,
		    o->group);
		return MKP_EXIT_FAIL;
	}
	return 0;
}

/*
 * Check that ansible-inventory reads HOST's variable key as want, a
 * string (an integer when num is set).  Returns 0, or -1 (logged with
 * what it read).
 */
static int
check_var(const struct opts *o, yajl_val v, const char *key,
    const char *want, int num)
{
	const char	*got;
	char		 path[256];
	yajl_val	 x;

	snprintf(path, sizeof(path), "_meta.hostvars.%s.%s", o->host,
	    key);
	x = json_at(v, path);
	if (x == NULL || !(num ? YAJL_IS_INTEGER(x) : YAJL_IS_STRING(x))) {
		log_err(o->file, "ansible-inventory reads %s of %s as %s, "
		    "not as the %s written: nothing written", key, o->host,
		    x ? json_type_name(x) : "missing",
		    num ? "integer" : "string");
		return -1;
	}
	got = num ? x->u.number.r : YAJL_GET_STRING(x);
	if (strcmp(got, want) == 0)
		return 0;
	log_err(o->file, "ansible-inventory reads %s of %s as \"%s\", not "
	    "\"%s\": does host_vars/%s set it?  nothing written", key,
	    o->host, got, want, o->host);
	return -1;
}

/*
 * Check that ansible-inventory reads HOST's variables as written:
 * proof that the quoting held and that nothing overrides them.
 * Returns 0, or MKP_EXIT_FAIL (logged).
 */
static int
check_vars(const struct opts *o, yajl_val v)
{
	const char	*const vars[][2] = {
		{ "ansible_host", o->addr }, { "ansible_user", o->user },
		{ "server_role", o->role }, { "domain_suffix", o->domain },
		{ "ansible_ssh_common_args", o->sshargs },
	};
	char		 port[32];
	size_t		 i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (vars[i][1] != NULL &&
		    check_var(o, v, vars[i][0], vars[i][1], 0) == -1)
			return MKP_EXIT_FAIL;
	snprintf(port, sizeof(port), "%lld", o->portnum);
	if (check_var(o, v, "ansible_port", port, 1) == -1)
		return MKP_EXIT_FAIL;
	return 0;
}

/*
 * Check ansible-inventory's --list answer out.  Returns 0, or the exit
 * status to end with (logged).
 */
static int
check_list(const struct opts *o, const char *out)
{
	struct json_err	 err;
	char		 path[256];
	yajl_val	 v;
	int		 rc;

	if ((v = json_parse(out, strlen(out), &err)) == NULL) {
		log_err("ansible-inventory", "--list: not JSON: %s",
		    err.msg);
		return MKP_EXIT_FAIL;
	}
	rc = check_groups(o, v);
	snprintf(path, sizeof(path), "_meta.hostvars.%s", o->host);
	if (rc == 0 && o->remove && json_at(v, path) != NULL) {
		log_err(o->file, "ansible-inventory still has variables "
		    "of %s: nothing written", o->host);
		rc = MKP_EXIT_FAIL;
	} else if (rc == 0 && !o->remove)
		rc = check_vars(o, v);
	json_free(v);
	return rc;
}

/*
 * Have ansible-inventory read the new text from a file beside the
 * inventory (so that its group_vars/ and host_vars/ count too), named
 * .yml so that the YAML plugin takes it, and hidden so that a
 * directory source skips it.  Returns 0 when it reads as meant, or
 * the exit status to end with (logged).
 */
static int
validate(const struct doc *d, const struct opts *o, const struct buf *b)
{
	char		 dir[4096], tmp[4096], *out;
	const char	*base = strrchr(d->path, '/');
	int		 fd, n, rc;

	dir_of(d->path, dir, sizeof(dir));
	n = snprintf(tmp, sizeof(tmp), "%s/.%s.mkp-XXXXXX.yml", dir,
	    base != NULL ? base + 1 : d->path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		log_err(d->path, "path too long");
		return MKP_EXIT_FAIL;
	}
	if ((fd = mkstemps(tmp, 4)) == -1) {
		log_errno(tmp, "mkstemps");
		return MKP_EXIT_FAIL;
	}
	close(fd);
	if (util_write_atomic(tmp, b->s, b->len, d->mode) == -1) {
		unlink(tmp);
		return MKP_EXIT_FAIL;
	}
	rc = run_inventory(d->path, tmp, &out);
	unlink(tmp);
	if (rc == 0) {
		rc = check_list(o, out);
		free(out);
	}
	return rc;
}

/*
 * Write the stamp: which host, where, and whether this run changed the
 * file.  Returns 0, or -1 (logged).
 */
static int
write_stamp(const struct opts *o, const char *group, int changed)
{
	struct json_w	 w;
	char		 when[32];

	util_utc_now(when, sizeof(when));
	if (jw_init(&w) == -1)
		return -1;
	jw_obj_open(&w);
	jw_kv_str(&w, "host", o->host);
	jw_key(&w, "group");
	group != NULL ? jw_str(&w, group) : jw_null(&w);
	jw_kv_str(&w, "file", o->file);
	jw_key(&w, "ansible_host");
	o->remove ? jw_null(&w) : jw_str(&w, o->addr);
	jw_kv_str(&w, "action", o->remove ? "remove" : "upsert");
	jw_kv_str(&w, "updated_at", when);
	jw_kv_bool(&w, "changed", changed);
	jw_obj_close(&w);
	return jw_write_file(&w, o->stamp, 0600);
}

/*
 * Finish the run with the new text b: nothing when it is the old one,
 * the diff with -n, else check it with ansible-inventory and put it
 * in place.  Returns the exit status.
 */
static int
commit(const struct doc *d, const struct opts *o, const struct edit *ed,
    const struct buf *b)
{
	int	rc;

	if (b->len == d->len && memcmp(b->s, d->text, d->len) == 0) {
		if (o->dry)
			printf("plan: %s: %s: already as wanted\n", o->host,
			    d->path);
		log_info(d->path, "%s already as wanted", o->host);
		return MKP_EXIT_UNCHANGED;
	}
	if (o->dry) {
		printf("plan: %s: %s would change so:\n", o->host, d->path);
		return print_diff(d, ed) == 0 ? MKP_EXIT_OK : MKP_EXIT_FAIL;
	}
	if ((rc = validate(d, o, b)) != 0)
		return rc;
	if (util_write_atomic(d->path, b->s, b->len, d->mode) == -1)
		return MKP_EXIT_FAIL;
	log_info(d->path, "%s %s", o->host, o->remove ? "removed" :
	    "written");
	return MKP_EXIT_OK;
}

/*
 * Read, plan, check and write, holding the directory's lock.  Returns
 * the exit status.
 */
static int
run(const struct opts *o)
{
	struct doc	 d = { 0 };
	struct scan	 s = { 0 };
	struct edit	 ed = { 0 };
	struct buf	 b = { 0 };
	size_t		 i;
	int		 fd, rc;

	if ((fd = lock_dir(o->file)) == -1)
		return MKP_EXIT_FAIL;
	s.o = o;
	if ((rc = doc_load(&d, o->file)) == 0 &&
	    (rc = doc_split(&d)) == 0 && (rc = walk_root(&d, &s)) == 0)
		rc = o->remove ? plan_remove(&d, &s, &ed) :
		    plan_upsert(&d, &s, &ed);
	if (rc == 0 && (rc = apply(&d, &ed, &b)) == 0)
		rc = commit(&d, o, &ed, &b);
	if ((rc == MKP_EXIT_OK || rc == MKP_EXIT_UNCHANGED) && !o->dry &&
	    o->stamp != NULL && write_stamp(o, ed.group,
	    rc == MKP_EXIT_OK) == -1)
		rc = MKP_EXIT_FAIL;
	for (i = 0; i < ed.n; i++)
		free(ed.sp[i].text);
	free(b.s);
	free(d.lines);
	free(d.text);
	close(fd);
	return rc;
}

/*
 * Parse the command line, run the helper, and exit with the status of
 * the contract in mkprov.h.
 */
int
main(int argc, char *argv[])
{
	struct opts	 o = { 0 };
	int		 rc;

	log_init(argv[0]);
	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc;
	rc = run(&o);
	free(o.sshargs);
	return rc;
}
