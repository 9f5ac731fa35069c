/*
 * json.h: JSON trees (yajl) with typed lookups by path, and a small
 * generator for request bodies.
 *
 * A path is a dotted list of object keys with [N] for array elements:
 * "server.public_net.ipv4.ip", "servers[0].id".  A failed lookup fills
 * a struct json_err whose text names the path and what was found:
 * "server.public_net.ipv4.ip: expected string, got null".
 */
#ifndef JSON_H
#define JSON_H

#include <sys/types.h>

#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

struct json_err {
	char	msg[256];
};

yajl_val json_parse(const char *buf, size_t len, struct json_err *);
void	 json_free(yajl_val);

yajl_val json_at(yajl_val, const char *path);
const char *json_type_name(yajl_val);

int	 json_str(yajl_val, const char *path, const char **out,
	    struct json_err *);
int	 json_str_or_null(yajl_val, const char *path, const char **out,
	    struct json_err *);
int	 json_int(yajl_val, const char *path, long long *out,
	    struct json_err *);
int	 json_int_or_null(yajl_val, const char *path, long long *out,
	    int *isnull, struct json_err *);
int	 json_bool(yajl_val, const char *path, int *out, struct json_err *);
int	 json_obj(yajl_val, const char *path, yajl_val *out,
	    struct json_err *);
int	 json_arr(yajl_val, const char *path, yajl_val *out, size_t *n,
	    struct json_err *);

/*
 * The generator: calls record the first error and later ones do
 * nothing, so a body is built without checking every call; jw_finish
 * reports whether all went well.
 */
struct json_w {
	yajl_gen g;
	int	 err;
};

int	 jw_init(struct json_w *);
void	 jw_obj_open(struct json_w *);
void	 jw_obj_close(struct json_w *);
void	 jw_arr_open(struct json_w *);
void	 jw_arr_close(struct json_w *);
void	 jw_key(struct json_w *, const char *);
void	 jw_str(struct json_w *, const char *);
void	 jw_int(struct json_w *, long long);
void	 jw_bool(struct json_w *, int);
void	 jw_null(struct json_w *);
void	 jw_kv_str(struct json_w *, const char *key, const char *val);
void	 jw_kv_int(struct json_w *, const char *key, long long val);
void	 jw_kv_bool(struct json_w *, const char *key, int val);
int	 jw_finish(struct json_w *, char **out, size_t *len);
void	 jw_free(struct json_w *);
int	 jw_write_file(struct json_w *, const char *path, mode_t mode);

#endif
