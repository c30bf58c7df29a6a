/* Kubeconfig files that kig writes for its components and its users. kubectl and every Kubernetes
 * component accept JSON kubeconfigs, so they are written with jansson (certificates embedded as base64). */
#pragma once

struct kubeconfig_spec {
    const char *cluster_name; /* e.g. "kig" */
    const char *server;       /* e.g. "https://127.0.0.1:6443" */
    const char *ca_pem;       /* the cluster CA, PEM */
    const char *user_name;    /* e.g. "admin"; the context is named "<user_name>@<cluster_name>" */
    const char *client_cert_pem;
    const char *client_key_pem;
};

/* Renders the spec as a kubeconfig JSON document (caller frees). Every field is required. Returns NULL
 * with errno set (EINVAL for a missing field, ENOMEM) and logs nothing. */
char *kubeconfig_render(const struct kubeconfig_spec *spec);

/* Writes the kubeconfig to path, 0600, atomically. Returns 0 or a negative errno, logged with the path. */
int kubeconfig_write(const char *path, const struct kubeconfig_spec *spec);

/* Convenience: builds a kubeconfig from PEM files in a PKI dir: <pki>/ca.crt, <pki>/<cert_name>.crt/.key
 * (the user is named cert_name). The certs must be valid (see pki_check_cert_file). Returns 0 or a
 * negative errno, logged with the file concerned. */
int kubeconfig_write_from_pki(const char *path, const char *pki_dir, const char *cert_name,
                              const char *cluster_name, const char *server);
