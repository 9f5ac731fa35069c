/*
 * hcloud.h: the parts of the Hetzner Cloud API mkprov uses, with one
 * parse function per response type.
 */
#ifndef HCLOUD_H
#define HCLOUD_H

#include <stddef.h>

#include "http.h"
#include "json.h"
#include "util.h"

/* The label that marks a server mkprov created for a host. */
#define HCLOUD_HOST_LABEL	"mkprov/host"

struct hcloud {
	struct http_client	*http;
	const char		*api;	/* https://api.hetzner.cloud/v1 */
	int			 exit;	/* status for the last failure */
	/* Every request ends by it too, when not NULL (a phase's). */
	const struct deadline	*deadline;
	/* The last error the API answered, for hcloud_report. */
	char			 url[512];
	long			 status;
	char			 code[64];
	char			 message[256];
};

struct hcloud_server {
	long long	 id;
	char		 name[64];
	char		 status[32];
	char		 ipv4[64];	/* "" when it has none */
	char		 ipv6[64];	/* a /64 network, or "" */
	char		 type[64];
	char		 location[64];
	char		 image[64];	/* "" for none */
	char		 host_label[64]; /* HCLOUD_HOST_LABEL, or "" */
	char		 created[40];
};

struct hcloud_action {
	long long	 id;
	char		 command[64];
	char		 status[16];	/* running, success, error */
	int		 progress;
	char		 error[256];	/* "code: message" on error */
};

struct hcloud_key {
	long long	 id;
	char		 name[128];
	char		 blob[1024];	/* the base64 part of the key */
};

int	 hcloud_call(struct hcloud *, const char *method, const char *path,
	    const char *body, int want, yajl_val *out);
int	 hcloud_call_secret(struct hcloud *, const char *method,
	    const char *path, const char *body, int want, yajl_val *out);
void	 hcloud_report(const struct hcloud *);
int	 hcloud_server(yajl_val, const char *path, struct hcloud_server *);
int	 hcloud_find_server(struct hcloud *, const char *name,
	    struct hcloud_server *);
int	 hcloud_get_server(struct hcloud *, long long id,
	    struct hcloud_server *);
int	 hcloud_action(yajl_val, const char *path, struct hcloud_action *);
int	 hcloud_wait_action(struct hcloud *, long long id,
	    const struct deadline *);
int	 hcloud_keys(struct hcloud *, struct hcloud_key **, size_t *);
int	 hcloud_key_blob(const char *pubkey, char *blob, size_t sz);

#endif
