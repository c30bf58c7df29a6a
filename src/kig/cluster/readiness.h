/* Health and readiness checks over HTTPS with libcurl, authenticated with the cluster's own client certs. */
#pragma once

#include "component-table.h"
#include "datadir.h"

#include <stdbool.h>

enum probe_result {
    PROBE_DOWN,       /* no connection / TLS failure */
    PROBE_RESPONDING, /* answered, but not healthy yet */
    PROBE_OK,
};

/* Client TLS material; a NULL ca_file skips server verification (only for loopback health endpoints of
 * components that serve a self-signed in-memory cert). */
struct tls_files {
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
};

/* Must be called once before any other function here (curl_global_init). */
int readiness_init(void);
/* Closes the connections probes keep open (one per URL and client certificate), then curl_global_cleanup. */
void readiness_done(void);

/* GET url, or POST json_body to it when that is not NULL. Returns 0 with the HTTP status (and the body,
 * if ret_body) or a negative errno when there was no HTTP answer (-ECONNREFUSED, -ETIMEDOUT, -EPROTO for
 * TLS trouble). */
int http_request(const struct tls_files *tls, const char *url, const char *json_body, int timeout_ms,
                 long *ret_status, char **ret_body);
int http_get(const struct tls_files *tls, const char *url, int timeout_ms, long *ret_status, char **ret_body);

/* Probes a component the way its table row says. */
enum probe_result readiness_probe(const struct data_dir *d, const struct component_spec *spec, int port);

/* Cluster-level conditions that `kig up` waits for once the apiserver is ready. */
struct cluster_check {
    const char *what;
    const char *done;             /* "the default namespace exists" */
    const char *const *api_paths; /* all must answer 200 */
    /* When set, the body of each answer must satisfy it too. */
    bool (*accept)(const char *body);
    /* When set, the object (JSON) kig creates at create_path when the check starts, unless it exists:
     * one that the cluster's own controllers would create later. */
    const char *create_path;
    const char *create_object;
};
/* The checks for a cluster of the given mode (enum cluster_mode), in order. */
const struct cluster_check *readiness_cluster_checks(unsigned mode, size_t *ret_n);

/* A ServiceAccount that lists a token secret. */
bool readiness_service_account_has_token(const char *body);

/* A NodeList in which some node has the condition Ready=True. */
bool readiness_node_list_has_ready(const char *body);

/* 1 when every path of check answers 200, 0 when not yet, negative errno when the apiserver did not
 * answer at all. */
int readiness_cluster_check(const struct data_dir *d, int api_port, const struct cluster_check *check);

/* Creates check's object, if it has one: 0 when it was created or existed, negative errno when the apiserver
 * did not answer, -EPROTO when it refused. */
int readiness_cluster_check_start(const struct data_dir *d, int api_port, const struct cluster_check *check);

/* POST a JSON object to an API path with the admin cert. */
int readiness_api_post(const struct data_dir *d, int api_port, const char *path, const char *json_body,
                       long *ret_status);

/* GET an API path with the admin cert (for status and tests of access). */
int readiness_api_get(const struct data_dir *d, int api_port, const char *path, long *ret_status,
                      char **ret_body);
