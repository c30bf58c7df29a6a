/* JSON kubeconfigs, rendered with jansson. */
#include "kubeconfig.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"
#include "pki.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* jansson ships json_decrefp for exactly this. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* Clears a string that may hold a private key before freeing it. */
static void erase_freep(char **p)
{
    if (*p) {
        OPENSSL_cleanse(*p, strlen(*p));
        free(*p);
    }
}
#define _cleanup_erase_ _cleanup_(erase_freep)

/* Standard base64 without line breaks, as kubeconfig's *-data fields expect. */
static char *base64_encode(const char *data)
{
    size_t len = strlen(data);
    if (len > (size_t)INT32_MAX / 2)
        return NULL;
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
    return out;
}

/* Adds key: base64(value) to obj; the encoded copy is erased after jansson has taken its own. */
static int set_base64(json_t *obj, const char *key, const char *value)
{
    _cleanup_erase_ char *encoded = base64_encode(value);
    if (!encoded || json_object_set_new(obj, key, json_string(encoded)) < 0)
        return -ENOMEM;
    return 0;
}

static json_t *named(const char *name, const char *field, json_t *value)
{
    if (!value)
        return NULL;
    return json_pack("{s:s, s:o}", "name", name, field, value);
}

static json_t *render_cluster(const struct kubeconfig_spec *spec)
{
    _cleanup_json_ json_t *cluster = json_pack("{s:s}", "server", spec->server);
    if (!cluster || set_base64(cluster, "certificate-authority-data", spec->ca_pem) < 0)
        return NULL;
    return named(spec->cluster_name, "cluster", TAKE_PTR(cluster));
}

static json_t *render_user(const struct kubeconfig_spec *spec)
{
    _cleanup_json_ json_t *user = json_object();
    if (!user || set_base64(user, "client-certificate-data", spec->client_cert_pem) < 0 ||
        set_base64(user, "client-key-data", spec->client_key_pem) < 0)
        return NULL;
    return named(spec->user_name, "user", TAKE_PTR(user));
}

static bool spec_complete(const struct kubeconfig_spec *spec)
{
    return spec && spec->cluster_name && *spec->cluster_name && spec->server && *spec->server &&
           spec->ca_pem && *spec->ca_pem && spec->user_name && *spec->user_name && spec->client_cert_pem &&
           *spec->client_cert_pem && spec->client_key_pem && *spec->client_key_pem;
}

char *kubeconfig_render(const struct kubeconfig_spec *spec)
{
    if (!spec_complete(spec)) {
        errno = EINVAL;
        return NULL;
    }
    _cleanup_free_ char *context_name = NULL;
    if (asprintf(&context_name, "%s@%s", spec->user_name, spec->cluster_name) < 0) {
        errno = ENOMEM;
        return NULL;
    }
    json_t *cluster = render_cluster(spec), *user = render_user(spec);
    json_t *context = json_pack("{s:s, s:{s:s, s:s}}", "name", context_name, "context", "cluster",
                                spec->cluster_name, "user", spec->user_name);
    /* "o" steals the references, even when packing fails. */
    _cleanup_json_ json_t *doc = json_pack(
        "{s:s, s:s, s:[o*], s:[o*], s:[o*], s:s, s:{}}", "apiVersion", "v1", "kind", "Config", "clusters",
        cluster, "users", user, "contexts", context, "current-context", context_name, "preferences");
    if (!doc || !cluster || !user || !context) {
        errno = ENOMEM;
        return NULL;
    }
    char *text = json_dumps(doc, JSON_INDENT(2));
    if (!text) {
        errno = ENOMEM;
        return NULL;
    }
    return text;
}

int kubeconfig_write(const char *path, const struct kubeconfig_spec *spec)
{
    _cleanup_erase_ char *text = kubeconfig_render(spec);
    if (!text)
        return log_error_errno(errno, "cannot render kubeconfig %s: %m", path);
    _cleanup_erase_ char *with_newline = NULL;
    if (asprintf(&with_newline, "%s\n", text) < 0)
        return log_error_errno(ENOMEM, "cannot render kubeconfig %s: %m", path);
    int r = write_file_atomic(path, with_newline, strlen(with_newline), 0600);
    if (r < 0)
        return log_error_errno(r, "cannot write %s: %m", path);
    return 0;
}

static int read_pki_file(const char *pki_dir, const char *name, const char *ext, bool is_cert, char **ret)
{
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s/%s.%s", pki_dir, name, ext) < 0)
        return -ENOMEM;
    int r = is_cert ? pki_check_cert_file(path) : 0;
    if (r < 0)
        return r;
    r = read_file(path, ret, NULL, 1u << 20);
    if (r < 0)
        return log_error_errno(r, "cannot read %s: %m", path);
    return 0;
}

int kubeconfig_write_from_pki(const char *path, const char *pki_dir, const char *cert_name,
                              const char *cluster_name, const char *server)
{
    _cleanup_free_ char *ca = NULL, *cert = NULL;
    _cleanup_erase_ char *key = NULL;
    int r;
    if ((r = read_pki_file(pki_dir, "ca", "crt", true, &ca)) < 0 ||
        (r = read_pki_file(pki_dir, cert_name, "crt", true, &cert)) < 0 ||
        (r = read_pki_file(pki_dir, cert_name, "key", false, &key)) < 0)
        return r;
    const struct kubeconfig_spec spec = {
        .cluster_name = cluster_name,
        .server = server,
        .ca_pem = ca,
        .user_name = cert_name,
        .client_cert_pem = cert,
        .client_key_pem = key,
    };
    return kubeconfig_write(path, &spec);
}
