/* kig's CNI plugin: the CNI 1.0 protocol (environment, stdin config, result and error documents) kept apart
 * from the strategies that actually wire a pod to the network. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

/* CNI spec error codes (SPEC.md "Error"). */
enum cni_error_code {
    CNI_ERR_INCOMPATIBLE_VERSION = 1,
    CNI_ERR_UNSUPPORTED_FIELD = 2,
    CNI_ERR_UNKNOWN_CONTAINER = 3,
    CNI_ERR_INVALID_ENV = 4,
    CNI_ERR_IO = 5,
    CNI_ERR_DECODE = 6,
    CNI_ERR_INVALID_CONFIG = 7,
    CNI_ERR_TRY_AGAIN = 11,
    CNI_ERR_INTERNAL = 999,
};

enum cni_command { CNI_ADD, CNI_DEL, CNI_CHECK, CNI_VERSION };

struct cni_env {
    enum cni_command command;
    const char *container_id;
    const char *netns;
    const char *ifname;
    const char *args;
    const char *path;
};

/* What the plugin reads from stdin. Unknown fields are ignored, as the spec asks. */
struct cni_config {
    char *cni_version;
    char *name;
    char *type;
    char *strategy; /* "host" today; "veth" and "tap" come with pod networking */
    char *node_ip;  /* the address pods share under the host strategy, e.g. "10.200.0.1" */
    json_t *prev_result;
    json_t *raw; /* the whole document, for strategy-specific fields (podCIDR, dataDir, ...) */
};

struct cni_error {
    int code;
    char msg[256];
    char details[512];
};

/* The versions this plugin speaks, newest last. */
extern const char *const cni_supported_versions[];

bool cni_version_supported(const char *version);

/* Reads CNI_* variables (through getenv_fn so tests and fuzzers can feed their own). */
int cni_env_parse(const char *(*getenv_fn)(const char *), struct cni_env *ret, struct cni_error *err);

/* Parses and validates the network configuration document from stdin. */
int cni_config_parse(const char *data, size_t len, struct cni_config *ret, struct cni_error *err);
void cni_config_done(struct cni_config *c);

/* Documents written to stdout. Each returns a newly allocated string, or NULL on ENOMEM. */
char *cni_version_document(const char *cni_version);
char *cni_error_document(const char *cni_version, const struct cni_error *err);

/* A success result for one IPv4 address ("a.b.c.d/len"), formatted for the requested cniVersion
 * (0.3.x/0.4.0 tag each IP with "version"; 1.0.0 does not). */
char *cni_result_document(const char *cni_version, const char *ifname, const char *netns, const char *address,
                          const char *gateway);

int cni_set_error(struct cni_error *err, int code, const char *msg, const char *details_fmt, ...)
    __attribute__((format(printf, 4, 5)));
