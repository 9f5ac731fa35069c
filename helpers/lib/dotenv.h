/*
 * dotenv.h: .env files as Docker Compose reads them.
 *
 * mkprov writes every secret it exports as KEY="value" with the value
 * escaped so that Compose reads back exactly the bytes Infisical holds,
 * whatever they contain: quotes, backslashes, "$", spaces, newlines.
 * The parser reads the same syntax back (and the other forms Compose
 * accepts: unquoted, single-quoted, "export" prefixes, comments), so a
 * test can prove the round trip and the helpers can read their tokens
 * from the file the secrets phase wrote.
 */
#ifndef DOTENV_H
#define DOTENV_H

#include <stddef.h>

struct dotenv_var {
	char	*key;
	char	*val;
};

struct dotenv {
	struct dotenv_var	*vars;
	size_t			 n;
};

struct dotenv_buf {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

int	 dotenv_valid_key(const char *);
int	 dotenv_append(struct dotenv_buf *, const char *key,
	    const char *val);
void	 dotenv_buf_free(struct dotenv_buf *);
int	 dotenv_parse(const char *buf, size_t len, struct dotenv *,
	    char *err, size_t errsz);
int	 dotenv_load(const char *path, struct dotenv *);
const char *dotenv_get(const struct dotenv *, const char *key);
int	 dotenv_set(struct dotenv *, const char *key, const char *val);
void	 dotenv_free(struct dotenv *);

#endif
