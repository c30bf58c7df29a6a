/* JSON kubeconfigs, read with jansson: current-context -> context -> cluster and user. */
#include "kubeconfig-read.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"

#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <string.h>

#define _cleanup_json_ _cleanup_(json_decrefp)

/* Certificates, keys and tokens are small; a bigger file is a mistake, not a credential. */
#define CREDENTIAL_MAX (1u << 20)

static void erase_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void kubeconfig_creds_done(struct kubeconfig_creds *c)
{
    free(c->server);
    free(c->ca_pem);
    free(c->client_cert_pem);
    erase_free(c->client_key_pem);
    erase_free(c->token);
    *c = (struct kubeconfig_creds){0};
}

static int fail(char **error, int err, const char *fmt, ...) _printf_(3, 4);
static int fail(char **error, int err, const char *fmt, ...)
{
    if (error && !*error) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(error, fmt, ap) < 0)
            *error = NULL;
        va_end(ap);
    }
    return err;
}

/* Decodes base64 (line breaks allowed) into a NUL-terminated string. */
static int base64_decode_string(const char *in, char **ret)
{
    size_t len = strlen(in);
    if (len > INT_MAX / 2)
        return -EINVAL;
    _cleanup_free_ char *out = malloc(len / 4 * 3 + 4);
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    if (!out || !ctx) {
        EVP_ENCODE_CTX_free(ctx);
        return -ENOMEM;
    }
    int n = 0, tail = 0;
    EVP_DecodeInit(ctx);
    int r = EVP_DecodeUpdate(ctx, (unsigned char *)out, &n, (const unsigned char *)in, (int)len);
    if (r >= 0)
        r = EVP_DecodeFinal(ctx, (unsigned char *)out + n, &tail);
    EVP_ENCODE_CTX_free(ctx);
    if (r < 0)
        return -EINVAL;
    out[n + tail] = '\0';
    if (strlen(out) != (size_t)(n + tail))
        return -EINVAL; /* a NUL inside would silently cut a PEM short */
    *ret = TAKE_PTR(out);
    return 0;
}

static json_t *find_named(json_t *list, const char *name, const char *field)
{
    size_t i;
    json_t *entry;
    json_array_foreach(list, i, entry)
    {
        const char *n = json_string_value(json_object_get(entry, "name"));
        if (n && strcmp(n, name) == 0) {
            json_t *v = json_object_get(entry, field);
            return json_is_object(v) ? v : NULL;
        }
    }
    return NULL;
}

static int read_referenced_file(const char *base_dir, const char *path, char **ret)
{
    _cleanup_free_ char *full = NULL;
    if (path[0] != '/' && base_dir) {
        full = path_join(base_dir, path);
        if (!full)
            return -ENOMEM;
    }
    return read_file(full ? full : path, ret, NULL, CREDENTIAL_MAX);
}

/* One credential: "<field>-data" (base64) wins over "<field>" (a file path), as in client-go. */
static int credential(json_t *obj, const char *field, const char *base_dir, char **ret, char **error)
{
    char data_key[64];
    snprintf(data_key, sizeof(data_key), "%s-data", field);
    const char *data = json_string_value(json_object_get(obj, data_key));
    if (data && *data) {
        int r = base64_decode_string(data, ret);
        if (r < 0)
            return fail(error, r, "%s is not valid base64", data_key);
        return 0;
    }
    const char *path = json_string_value(json_object_get(obj, field));
    if (path && *path) {
        int r = read_referenced_file(base_dir, path, ret);
        if (r < 0)
            return fail(error, r, "cannot read %s %s: %s", field, path, strerror(-r));
        return 0;
    }
    *ret = NULL;
    return 0;
}

static int read_token(json_t *user, const char *base_dir, char **ret, char **error)
{
    const char *token = json_string_value(json_object_get(user, "token"));
    if (token && *token) {
        *ret = strdup(token);
        return *ret ? 0 : -ENOMEM;
    }
    const char *path = json_string_value(json_object_get(user, "tokenFile"));
    *ret = NULL;
    if (!path || !*path)
        return 0;
    int r = read_referenced_file(base_dir, path, ret);
    if (r < 0)
        return fail(error, r, "cannot read tokenFile %s: %s", path, strerror(-r));
    (*ret)[strcspn(*ret, "\r\n")] = '\0';
    return 0;
}

static int parse_cluster(json_t *cluster, const char *base_dir, struct kubeconfig_creds *c, char **error)
{
    const char *server = json_string_value(json_object_get(cluster, "server"));
    if (!server || !*server)
        return fail(error, -EINVAL, "the cluster has no server");
    c->server = strdup(server);
    if (!c->server)
        return -ENOMEM;
    c->insecure_skip_tls_verify = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
    return credential(cluster, "certificate-authority", base_dir, &c->ca_pem, error);
}

static int parse_user(json_t *user, const char *base_dir, struct kubeconfig_creds *c, char **error)
{
    int r = credential(user, "client-certificate", base_dir, &c->client_cert_pem, error);
    if (r < 0)
        return r;
    r = credential(user, "client-key", base_dir, &c->client_key_pem, error);
    if (r < 0)
        return r;
    if (!c->client_cert_pem != !c->client_key_pem)
        return fail(error, -EINVAL, "the user has a client certificate or a client key but not both");
    r = read_token(user, base_dir, &c->token, error);
    if (r < 0)
        return r;
    return 0;
}

static int parse_doc(json_t *doc, const char *base_dir, const char *context, struct kubeconfig_creds *c,
                     char **error)
{
    if (!context || !*context)
        context = json_string_value(json_object_get(doc, "current-context"));
    if (!context || !*context)
        return fail(error, -EINVAL, "no context given and no current-context set");
    json_t *ctx = find_named(json_object_get(doc, "contexts"), context, "context");
    if (!ctx)
        return fail(error, -EINVAL, "context '%s' not found", context);
    const char *cluster_name = json_string_value(json_object_get(ctx, "cluster"));
    const char *user_name = json_string_value(json_object_get(ctx, "user"));
    json_t *cluster =
        cluster_name ? find_named(json_object_get(doc, "clusters"), cluster_name, "cluster") : NULL;
    if (!cluster)
        return fail(error, -EINVAL, "cluster '%s' of context '%s' not found",
                    cluster_name ? cluster_name : "", context);
    int r = parse_cluster(cluster, base_dir, c, error);
    if (r < 0)
        return r;
    if (!user_name || !*user_name)
        return 0; /* anonymous */
    json_t *user = find_named(json_object_get(doc, "users"), user_name, "user");
    if (!user)
        return fail(error, -EINVAL, "user '%s' of context '%s' not found", user_name, context);
    return parse_user(user, base_dir, c, error);
}

int kubeconfig_parse(const char *text, size_t len, const char *base_dir, const char *context,
                     struct kubeconfig_creds *ret, char **error)
{
    json_error_t jerr;
    _cleanup_json_ json_t *doc = json_loadb(text, len, 0, &jerr);
    if (!doc) {
        size_t skip = strspn(text, " \t\r\n");
        if (skip < len && text[skip] != '{')
            return fail(error, -EINVAL,
                        "not a JSON kubeconfig (YAML is not read here): write it with "
                        "'kubectl config view --raw -o json'");
        return fail(error, -EINVAL, "invalid JSON at line %d: %s", jerr.line, jerr.text);
    }
    if (!json_is_object(doc))
        return fail(error, -EINVAL, "not a kubeconfig: the document is not a JSON object");
    struct kubeconfig_creds c = {0};
    int r = parse_doc(doc, base_dir, context, &c, error);
    if (r < 0) {
        kubeconfig_creds_done(&c);
        return r;
    }
    *ret = c;
    return 0;
}

int kubeconfig_read(const char *path, const char *context, struct kubeconfig_creds *ret)
{
    _cleanup_free_ char *text = NULL, *dir = strdup(path), *error = NULL;
    size_t len;
    if (!dir)
        return log_error_errno(ENOMEM, "cannot read kubeconfig %s: %m", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    int r = read_file(path, &text, &len, CREDENTIAL_MAX * 4);
    if (r < 0)
        return log_error_errno(r, "cannot read kubeconfig %s: %m", path);
    r = kubeconfig_parse(text, len, slash ? dir : NULL, context, ret, &error);
    OPENSSL_cleanse(text, len);
    if (r < 0)
        return log_error_errno(r, "kubeconfig %s: %s", path, error ? error : strerror(-r));
    return 0;
}
