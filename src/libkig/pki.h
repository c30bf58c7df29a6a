/* The cluster's PKI, made with OpenSSL's libcrypto (no shelling out).
 *
 * Layout of a PKI directory (e.g. <data-dir>/pki):
 *   ca.crt ca.key                   cluster CA (signs serving and client certs)
 *   front-proxy-ca.crt/.key         front-proxy CA (aggregation layer)
 *   sa.key sa.pub                   service-account signing key pair
 *   <name>.crt <name>.key           leaf certs: apiserver, apiserver-kubelet-client, admin,
 *                                   controller-manager, scheduler, front-proxy-client, kubelet, ...
 *
 * New CA and leaf keys are ECDSA P-256, which every Go program of the Kubernetes 1.20 era, etcd 3.4, kubectl,
 * OpenSSL and curl accept, and which is far cheaper to generate than RSA; the service-account key pair is
 * RSA 2048, since RS256 is the one JWT algorithm every OIDC relying party must support. Private keys are
 * PKCS#8 PEM "PRIVATE KEY", public keys PKIX PEM "PUBLIC KEY". Existing keys of either type are reused
 * (older kig made every key RSA 2048): an RSA CA signs new P-256 leaves.
 *
 * Every key and cert file is written 0600 through write_file_atomic, the key before its cert. Files that
 * exist are reused after verification; nothing is ever regenerated silently: a damaged, mismatched or
 * expired file is an error naming the file and the fix, never an overwrite. The one half-written state a
 * crash can leave (a key without its cert, since the key is written first) is completed on the next run by
 * issuing the cert for that key: nothing is overwritten and the key was never used. The reverse (a cert
 * without its key) cannot be completed and is an error.
 *
 * Every function here logs its errors (with the file and the cause) and returns 0 or a negative errno:
 *   -EINVAL       a file is not valid PEM, a key does not match its cert, a cert is not signed by the CA,
 *                 is not a CA, lacks a requested SAN, usage or subject; or the request itself is invalid
 *   -EKEYEXPIRED  a cert (or the CA) is expired or not yet valid
 *   -ENOKEY       a cert (or public key) exists but its private key does not
 *   -ENOENT       the CA a leaf should be signed by does not exist
 *   other         I/O errors from reading or writing the files */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum pki_usage {
    PKI_SERVER = 1 << 0, /* extendedKeyUsage serverAuth */
    PKI_CLIENT = 1 << 1, /* extendedKeyUsage clientAuth */
};

struct pki_cert_request {
    const char *name;                 /* file stem: <dir>/<name>.crt and .key */
    const char *common_name;          /* CN (the Kubernetes user name for client certs) */
    const char *const *organizations; /* O= entries (Kubernetes groups), NULL-terminated, may be NULL */
    const char *const *dns_names;     /* subjectAltName DNS entries, NULL-terminated, may be NULL */
    const char *const *ip_addresses;  /* subjectAltName IP entries (v4 or v6), NULL-terminated, may be NULL */
    unsigned usage;                   /* PKI_SERVER | PKI_CLIENT, at least one */
    int valid_days;                   /* 0: 365; never past the CA's own notAfter */
};

/* Creates <dir>/<name>.crt/.key as a self-signed CA (P-256, valid 10 years) unless both exist and are a
 * valid matching CA pair. Creates dir (0700) if needed. Returns 0 (created or reused), negative errno
 * otherwise. */
int pki_ensure_ca(const char *dir, const char *name, const char *common_name);

/* Creates <dir>/<req->name>.crt/.key signed by <dir>/<ca_name>.crt/.key unless both exist, match, are
 * signed by that CA, not expired, and carry the requested subject (CN, O), usages and every requested SAN.
 * An existing cert that lacks a requested SAN is an error, not a silent reissue. */
int pki_ensure_cert(const char *dir, const char *ca_name, const struct pki_cert_request *req);

/* Creates <dir>/<name>.key (private, PEM) and <dir>/<name>.pub (public, PEM), RSA 2048 for RS256 tokens,
 * unless both exist and match (a .key without its .pub gets its .pub derived from it). */
int pki_ensure_keypair(const char *dir, const char *name);

/* Issues a client cert in memory (for `kig kubeconfig --user NAME --group G`): PEM strings, caller frees.
 * valid_days 0 means 365. Nothing is written. */
int pki_issue_client_cert(const char *dir, const char *ca_name, const char *common_name,
                          const char *const *organizations, int valid_days, char **ret_cert_pem,
                          char **ret_key_pem);

/* Reads a PEM file and checks it is a certificate whose notAfter is in the future (and notBefore in the
 * past). Logs the cause: -EINVAL (not a certificate), -EKEYEXPIRED, or the read error. */
int pki_check_cert_file(const char *path);
