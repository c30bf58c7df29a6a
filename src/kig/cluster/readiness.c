#include "readiness.h"

#include "macro.h"
#include "pki-setup.h"

#include "node-setup.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PROBE_TIMEOUT_MS 2000
#define BODY_MAX         (256u << 10)

int readiness_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

struct body {
    char *data;
    size_t len;
};

static size_t body_append(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > BODY_MAX)
        return 0; /* a health endpoint never says this much: fail the transfer */
    char *grown = realloc(b->data, b->len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + b->len, ptr, n);
    b->len += n;
    grown[b->len] = '\0';
    b->data = grown;
    return n;
}

static int curl_error_to_errno(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        return -EPROTO;
    default:
        return -EIO;
    }
}

/* A component that is ready is probed every 3 s for as long as it runs. With a new handle each time, every
 * probe was a TCP connect and a TLS handshake on both sides (measured inside gVisor: the supervisor alone
 * used 3-4% of a CPU on an idle node). One handle per URL and client certificate keeps the connection and
 * its TLS session; a handle whose transfer failed is dropped, so the next probe starts afresh. */
#define HANDLE_CACHE_SIZE 16

static struct cached_handle {
    char *key;
    CURL *curl;
} handles[HANDLE_CACHE_SIZE];
static unsigned next_eviction;

static char *handle_key(const struct tls_files *tls, const char *url)
{
    char *key = NULL;
    if (asprintf(&key, "%s\n%s", url, tls && tls->cert_file ? tls->cert_file : "") < 0)
        return NULL;
    return key;
}

static void drop_handle(struct cached_handle *h)
{
    curl_easy_cleanup(h->curl);
    free(h->key);
    *h = (struct cached_handle){0};
}

/* The cached handle for KEY, or a new one put in the cache (taking KEY). NULL on ENOMEM. */
static struct cached_handle *handle_for(char *key)
{
    struct cached_handle *free_slot = NULL;
    for (size_t i = 0; i < HANDLE_CACHE_SIZE; i++) {
        if (handles[i].key && strcmp(handles[i].key, key) == 0) {
            free(key);
            return &handles[i];
        }
        if (!handles[i].key && !free_slot)
            free_slot = &handles[i];
    }
    if (!free_slot) {
        free_slot = &handles[next_eviction++ % HANDLE_CACHE_SIZE];
        drop_handle(free_slot);
    }
    free_slot->curl = curl_easy_init();
    if (!free_slot->curl) {
        free(key);
        return NULL;
    }
    free_slot->key = key;
    return free_slot;
}

/* A kept connection must not leak into the components the supervisor starts after it. */
static int socket_cloexec(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
    (void)clientp;
    (void)purpose;
    return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? CURL_SOCKOPT_ERROR : CURL_SOCKOPT_OK;
}

void readiness_done(void)
{
    for (size_t i = 0; i < HANDLE_CACHE_SIZE; i++)
        if (handles[i].key)
            drop_handle(&handles[i]);
    curl_global_cleanup();
}

int http_request(const struct tls_files *tls, const char *url, const char *json_body, int timeout_ms,
                 long *ret_status, char **ret_body)
{
    char *key = handle_key(tls, url);
    struct cached_handle *h = key ? handle_for(key) : NULL;
    if (!h)
        return -ENOMEM;
    CURL *curl = h->curl;
    struct body body = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SOCKOPTFUNCTION, socket_cloexec);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*"); /* a user's https_proxy must not see cluster traffic */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    struct curl_slist *headers = NULL;
    if (json_body) {
        headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (!headers) {
            drop_handle(h);
            return -ENOMEM;
        }
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body);
    }
    if (tls && tls->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, tls->ca_file);
    else {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (tls && tls->cert_file) {
        curl_easy_setopt(curl, CURLOPT_SSLCERT, tls->cert_file);
        curl_easy_setopt(curl, CURLOPT_SSLKEY, tls->key_file);
    }
    CURLcode c = curl_easy_perform(curl);
    long status = 0;
    if (c == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    /* The buffers are ours: the handle must not keep pointers to them, and a cached handle's next use is
     * a GET again. */
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, NULL);
    if (json_body) {
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        curl_slist_free_all(headers);
    }
    if (c != CURLE_OK) {
        drop_handle(h);
        free(body.data);
        return curl_error_to_errno(c);
    }
    *ret_status = status;
    if (ret_body)
        *ret_body = body.data ? body.data : strdup("");
    else
        free(body.data);
    return ret_body && !*ret_body ? -ENOMEM : 0;
}

int http_get(const struct tls_files *tls, const char *url, int timeout_ms, long *ret_status, char **ret_body)
{
    return http_request(tls, url, NULL, timeout_ms, ret_status, ret_body);
}

/* Paths of the cluster's TLS files, built once per call. */
struct tls_paths {
    char ca[4096], cert[4096], key[4096];
};

static void tls_paths_init(struct tls_paths *p, const struct data_dir *d, const char *ca, const char *client)
{
    snprintf(p->ca, sizeof(p->ca), "%s/%s.crt", d->pki, ca);
    snprintf(p->cert, sizeof(p->cert), "%s/%s.crt", d->pki, client);
    snprintf(p->key, sizeof(p->key), "%s/%s.key", d->pki, client);
}

static enum probe_result probe_url(const struct tls_files *tls, const char *url, const char *ok_body)
{
    long status;
    _cleanup_free_ char *body = NULL;
    if (http_get(tls, url, PROBE_TIMEOUT_MS, &status, &body) < 0)
        return PROBE_DOWN;
    return status == 200 && strstr(body, ok_body) ? PROBE_OK : PROBE_RESPONDING;
}

/* containerd serves gRPC on its socket once every plugin is loaded. */
static int connect_unix(const struct sockaddr_un *sa, int type)
{
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return negative_errno();
    int r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ? negative_errno() : 0;
    close(fd);
    return r;
}

/* A stream socket (containerd's gRPC) or a seqpacket one (kig-switch's control socket). */
static enum probe_result probe_unix_socket(const struct data_dir *d, const char *socket_path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!socket_path || (size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", d->root, socket_path) >=
                            sizeof(sa.sun_path))
        return PROBE_DOWN;
    int r = connect_unix(&sa, SOCK_STREAM);
    if (r == -EPROTOTYPE)
        r = connect_unix(&sa, SOCK_SEQPACKET);
    return r == 0 ? PROBE_OK : PROBE_DOWN;
}

enum probe_result readiness_probe(const struct data_dir *d, const struct component_spec *spec, int port)
{
    struct tls_paths p;
    char url[256];
    switch (spec->probe) {
    case PROBE_ETCD_HEALTH: {
        tls_paths_init(&p, d, "etcd-ca", "apiserver-etcd-client");
        struct tls_files tls = {p.ca, p.cert, p.key};
        snprintf(url, sizeof(url), "https://%s:%d/health", KIG_BIND_ADDRESS, port);
        return probe_url(&tls, url, "\"health\":\"true\"");
    }
    case PROBE_APISERVER_READYZ: {
        tls_paths_init(&p, d, "ca", "admin");
        struct tls_files tls = {p.ca, p.cert, p.key};
        snprintf(url, sizeof(url), "https://%s:%d/readyz", KIG_BIND_ADDRESS, port);
        return probe_url(&tls, url, "ok");
    }
    case PROBE_HEALTHZ:
        snprintf(url, sizeof(url), "https://%s:%d/healthz", KIG_BIND_ADDRESS, port);
        return probe_url(NULL, url, "ok");
    case PROBE_KUBELET_HEALTHZ:
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", KIG_KUBELET_HEALTHZ_PORT);
        return probe_url(NULL, url, "ok");
    case PROBE_PLAIN_HEALTHZ:
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
        return probe_url(NULL, url, "ok");
    case PROBE_UNIX_SOCKET:
        return probe_unix_socket(d, spec->socket);
    }
    return PROBE_DOWN;
}

static const char *const default_namespace[] = {"/api/v1/namespaces/default", NULL};
static const char *const default_sa[] = {"/api/v1/namespaces/default/serviceaccounts/default", NULL};
/* What the controller-manager's service-account controller would create. */
static const char default_sa_object[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"default\"}}";
static const char *const priority_classes[] = {
    "/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical",
    "/apis/scheduling.k8s.io/v1/priorityclasses/system-cluster-critical", NULL};

static const char *const nodes[] = {"/api/v1/nodes", NULL};

bool readiness_service_account_has_token(const char *body)
{
    json_t *doc = json_loads(body, 0, NULL);
    bool has = json_array_size(json_object_get(doc, "secrets")) > 0;
    json_decref(doc);
    return has;
}

bool readiness_node_list_has_ready(const char *body)
{
    json_t *doc = json_loads(body, 0, NULL);
    json_t *items = json_object_get(doc, "items");
    bool ready = false;
    size_t i, j;
    json_t *node, *cond;
    json_array_foreach(items, i, node)
    {
        json_t *conditions = json_object_get(json_object_get(node, "status"), "conditions");
        json_array_foreach(conditions, j, cond)
        {
            const char *type = json_string_value(json_object_get(cond, "type"));
            const char *status = json_string_value(json_object_get(cond, "status"));
            if (type && status && strcmp(type, "Ready") == 0 && strcmp(status, "True") == 0)
                ready = true;
        }
    }
    json_decref(doc);
    return ready;
}

static const struct cluster_check checks[] = {
    {"default namespace", "the default namespace exists", default_namespace, NULL, NULL, NULL},
    {"system priority classes", "the system priority classes exist", priority_classes, NULL, NULL, NULL},
    /* A pod that mounts its service account token is refused until the account has a token secret (the
     * controller-manager's tokens controller makes it), so the check waits for that, not the account
     * alone. kig creates the account as soon as the check starts: the service-account controller starts
     * among the controller-manager's last, seconds after the tokens controller. */
    {"default service account", "the default service account has its token", default_sa,
     readiness_service_account_has_token, "/api/v1/namespaces/default/serviceaccounts", default_sa_object},
    /* full mode only, from here on */
    {"node to be Ready", "the node is Ready", nodes, readiness_node_list_has_ready, NULL, NULL},
};
#define N_CONTROL_PLANE_CHECKS 3

const struct cluster_check *readiness_cluster_checks(unsigned mode, size_t *ret_n)
{
    *ret_n = mode & CLUSTER_MODE_FULL ? ARRAY_SIZE(checks) : N_CONTROL_PLANE_CHECKS;
    return checks;
}

/* An API request with the admin cert: GET, or POST when json_body is set. */
static int api_request(const struct data_dir *d, int api_port, const char *path, const char *json_body,
                       long *ret_status, char **ret_body)
{
    struct tls_paths p;
    tls_paths_init(&p, d, "ca", "admin");
    struct tls_files tls = {p.ca, p.cert, p.key};
    char url[512];
    snprintf(url, sizeof(url), "https://%s:%d%s", KIG_BIND_ADDRESS, api_port, path);
    return http_request(&tls, url, json_body, PROBE_TIMEOUT_MS, ret_status, ret_body);
}

int readiness_api_get(const struct data_dir *d, int api_port, const char *path, long *ret_status,
                      char **ret_body)
{
    return api_request(d, api_port, path, NULL, ret_status, ret_body);
}

int readiness_api_post(const struct data_dir *d, int api_port, const char *path, const char *json_body,
                       long *ret_status)
{
    return api_request(d, api_port, path, json_body, ret_status, NULL);
}

int readiness_cluster_check_start(const struct data_dir *d, int api_port, const struct cluster_check *check)
{
    if (!check->create_path)
        return 0;
    long status;
    int r = readiness_api_post(d, api_port, check->create_path, check->create_object, &status);
    if (r < 0)
        return r;
    /* 409: it exists already (made by its controller, or a cluster that was up before). */
    return status == 201 || status == 409 ? 0 : -EPROTO;
}

int readiness_cluster_check(const struct data_dir *d, int api_port, const struct cluster_check *check)
{
    for (const char *const *path = check->api_paths; *path; path++) {
        long status;
        _cleanup_free_ char *body = NULL;
        int r = readiness_api_get(d, api_port, *path, &status, check->accept ? &body : NULL);
        if (r < 0)
            return r;
        if (status != 200 || (check->accept && !check->accept(body)))
            return 0;
    }
    return 1;
}
