/* Reading kubeconfigs: what a kig component needs to talk to the apiserver (server URL, CA, client
 * certificate and key, or a bearer token). kig writes JSON kubeconfigs (kubeconfig.h) and so does every
 * tool that round-trips them through kubectl's --output json, so only JSON is accepted; a YAML file is
 * rejected with a message saying so. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct kubeconfig_creds {
    char *server;          /* e.g. "https://127.0.0.1:6443" */
    char *ca_pem;          /* NULL: no CA given (verification then uses the system store) */
    char *client_cert_pem; /* NULL when the user authenticates otherwise */
    char *client_key_pem;  /* erased before it is freed */
    char *token;           /* bearer token, NULL if none */
    bool insecure_skip_tls_verify;
};

/* Parses a JSON kubeconfig held in memory. context NULL means current-context. Relative file paths
 * (certificate-authority, client-certificate, client-key, tokenFile) are resolved against base_dir (NULL: the
 * current directory). On failure returns -EINVAL (or the errno of a referenced file) and, when error is not
 * NULL, a newly allocated one-line reason in *error. Logs nothing. */
int kubeconfig_parse(const char *text, size_t len, const char *base_dir, const char *context,
                     struct kubeconfig_creds *ret, char **error);

/* Reads and parses the kubeconfig at path; logs the reason on failure, naming the file. */
int kubeconfig_read(const char *path, const char *context, struct kubeconfig_creds *ret);

void kubeconfig_creds_done(struct kubeconfig_creds *c);
