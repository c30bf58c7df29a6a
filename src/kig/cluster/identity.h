/* cluster.json: who a data dir belongs to. Written once when the cluster is created; read on every later
 * command to refuse a data dir that belongs to another cluster or is damaged.
 *
 *   {"format": 1, "name": "kig", "uid": "<uuid v4>", "created": "2026-01-02T03:04:05Z",
 *    "mode": "control-plane-only", "port": 6443, "kigVersion": "0.1.0"}
 *
 * Unknown keys are ignored so that a newer kig can add some. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CLUSTER_IDENTITY_FORMAT  1
#define CLUSTER_NAME_MAX         63
#define KIG_DEFAULT_CLUSTER_NAME "kig"
#define KIG_DEFAULT_API_PORT     6443

/* Bits, so a component can list every mode that runs it. */
enum cluster_mode {
    CLUSTER_MODE_CONTROL_PLANE_ONLY = 1 << 0,
    CLUSTER_MODE_FULL = 1 << 1,
};

struct cluster_identity {
    char name[CLUSTER_NAME_MAX + 1];
    char uid[37];
    char created[21]; /* YYYY-MM-DDTHH:MM:SSZ */
    enum cluster_mode mode;
    int port;
    char kig_version[32];
};

/* A DNS-1123 label: it names the kubeconfig cluster and context and the etcd member. */
bool cluster_name_valid(const char *name);
const char *cluster_mode_to_string(enum cluster_mode mode);
int cluster_mode_from_string(const char *s, enum cluster_mode *ret);

/* A new identity with a random uid, created now. */
int cluster_identity_new(const char *name, enum cluster_mode mode, int port, struct cluster_identity *ret);

/* Parses and validates a cluster.json document. On failure returns -EINVAL and a short reason in why. */
int cluster_identity_parse(const char *text, size_t len, struct cluster_identity *ret, char *why,
                           size_t why_size);
/* The identity as a JSON document (caller frees), NULL on ENOMEM. */
char *cluster_identity_format(const struct cluster_identity *id);

/* Reads path: -EINVAL (reason in why) when the content is invalid; another negative errno (e.g. -ENOENT,
 * -EACCES) when the file cannot be read. Does not log. */
int cluster_identity_load(const char *path, struct cluster_identity *ret, char *why, size_t why_size);
/* Writes path atomically (0644). Does not log. */
int cluster_identity_save(const char *path, const struct cluster_identity *id);
