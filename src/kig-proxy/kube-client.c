#include "kube-client.h"

#include "log.h"
#include "macro.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>

struct kube_client {
    struct loop *loop;
    CURLM *multi;
    struct loop_timer timer;
    char *server;
    char *ca_pem, *cert_pem, *key_pem;
    struct curl_slist *headers; /* Authorization for token users */
    bool insecure;
};

/* One socket curl asked us to watch. */
struct curl_sock {
    struct loop_io io;
    struct kube_client *kc;
};

static void check_done(struct kube_client *kc)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(kc->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode code = msg->data.result;
        struct kube_request *req = NULL;
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&req);
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(kc->multi, easy);
        curl_easy_cleanup(easy);
        req->easy = NULL;
        int result = 0;
        if (req->aborted)
            result = -ECANCELED;
        else if (code == CURLE_OPERATION_TIMEDOUT)
            result = -ETIMEDOUT;
        else if (code != CURLE_OK) {
            log_warn("apiserver request failed: %s", curl_easy_strerror(code));
            result = -ECONNABORTED;
        }
        req->on_done(req, result, status);
    }
}

static void on_socket_event(struct loop_io *io, uint32_t events)
{
    struct curl_sock *cs = (struct curl_sock *)io;
    struct kube_client *kc = cs->kc;
    int flags = 0, running;
    if (events & (EPOLLIN | EPOLLHUP))
        flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (events & EPOLLERR)
        flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(kc->multi, io->fd, flags, &running);
    check_done(kc);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct kube_client *kc = userp;
    struct curl_sock *cs = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (cs) {
            loop_io_remove(kc->loop, &cs->io, false);
            curl_multi_assign(kc->multi, s, NULL);
            if (loop_defer_free(kc->loop, cs, free) < 0)
                log_warn("cannot defer freeing a socket record: leaking it");
        }
        return 0;
    }
    uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (!cs) {
        cs = calloc(1, sizeof(*cs));
        if (!cs)
            return -1;
        cs->io = (struct loop_io){.fd = s, .dispatch = on_socket_event};
        cs->kc = kc;
        if (loop_io_add(kc->loop, &cs->io, events) < 0) {
            free(cs);
            return -1;
        }
        curl_multi_assign(kc->multi, s, cs);
        return 0;
    }
    return loop_io_mod(kc->loop, &cs->io, events) < 0 ? -1 : 0;
}

static void on_timer(struct loop_timer *t)
{
    struct kube_client *kc = (struct kube_client *)((char *)t - offsetof(struct kube_client, timer));
    int running;
    curl_multi_socket_action(kc->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(kc);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct kube_client *kc = userp;
    if (timeout_ms < 0)
        loop_timer_disarm(kc->loop, &kc->timer);
    else
        loop_timer_arm(kc->loop, &kc->timer, loop_now_ms() + timeout_ms);
    return 0;
}

static char *strdup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static int setup_auth(struct kube_client *kc, const struct kubeconfig_creds *creds)
{
    bool oom = false;
    kc->server = strdup_or_null(creds->server, &oom);
    kc->ca_pem = strdup_or_null(creds->ca_pem, &oom);
    kc->cert_pem = strdup_or_null(creds->client_cert_pem, &oom);
    kc->key_pem = strdup_or_null(creds->client_key_pem, &oom);
    kc->insecure = creds->insecure_skip_tls_verify;
    if (oom || !kc->server)
        return -ENOMEM;
    /* The server URL is joined with paths that start with '/'. */
    size_t n = strlen(kc->server);
    while (n > 0 && kc->server[n - 1] == '/')
        kc->server[--n] = '\0';
    if (creds->token) {
        _cleanup_free_ char *header = NULL;
        if (asprintf(&header, "Authorization: Bearer %s", creds->token) < 0)
            return -ENOMEM;
        kc->headers = curl_slist_append(NULL, header);
        OPENSSL_cleanse(header, strlen(header));
        if (!kc->headers)
            return -ENOMEM;
    }
    return 0;
}

int kube_client_new(struct loop *l, const struct kubeconfig_creds *creds, struct kube_client **ret)
{
    static bool curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return log_error_errno(EIO, "cannot initialize libcurl");
        curl_ready = true;
    }
    struct kube_client *kc = calloc(1, sizeof(*kc));
    if (!kc)
        return -ENOMEM;
    kc->loop = l;
    kc->timer.fire = on_timer;
    kc->multi = curl_multi_init();
    int r = kc->multi ? setup_auth(kc, creds) : -ENOMEM;
    if (r < 0) {
        kube_client_free(kc);
        return log_error_errno(r, "cannot set up the API client: %m");
    }
    curl_multi_setopt(kc->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(kc->multi, CURLMOPT_SOCKETDATA, kc);
    curl_multi_setopt(kc->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(kc->multi, CURLMOPT_TIMERDATA, kc);
    *ret = kc;
    return 0;
}

static void erase_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void kube_client_free(struct kube_client *kc)
{
    if (!kc)
        return;
    loop_timer_disarm(kc->loop, &kc->timer);
    if (kc->multi)
        curl_multi_cleanup(kc->multi);
    free(kc->server);
    free(kc->ca_pem);
    free(kc->cert_pem);
    erase_free(kc->key_pem);
    curl_slist_free_all(kc->headers);
    free(kc);
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct kube_request *req = userp;
    size_t len = size * nmemb;
    if (!req->on_data(req, data, len)) {
        req->aborted = true;
        return 0;
    }
    return len;
}

static void set_blob(CURL *easy, CURLoption opt, const char *pem)
{
    struct curl_blob blob = {.data = (void *)pem, .len = strlen(pem), .flags = CURL_BLOB_COPY};
    curl_easy_setopt(easy, opt, &blob);
}

static void configure_tls(struct kube_client *kc, CURL *easy)
{
    if (kc->ca_pem)
        set_blob(easy, CURLOPT_CAINFO_BLOB, kc->ca_pem);
    if (kc->cert_pem && kc->key_pem) {
        set_blob(easy, CURLOPT_SSLCERT_BLOB, kc->cert_pem);
        curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
        set_blob(easy, CURLOPT_SSLKEY_BLOB, kc->key_pem);
        curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (kc->insecure) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

int kube_request_start(struct kube_client *kc, struct kube_request *req, const char *path, long timeout_s)
{
    _cleanup_free_ char *url = NULL;
    if (req->easy)
        return -EBUSY;
    if (asprintf(&url, "%s%s", kc->server, path) < 0)
        return -ENOMEM;
    CURL *easy = curl_easy_init();
    if (!easy)
        return -ENOMEM;
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, req);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_NOPROXY, "*"); /* a user's https_proxy must not see cluster traffic */
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "kig-proxy");
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    if (kc->headers)
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, kc->headers);
    configure_tls(kc, easy);
    req->client = kc;
    req->aborted = false;
    req->easy = easy;
    if (curl_multi_add_handle(kc->multi, easy) != CURLM_OK) {
        curl_easy_cleanup(easy);
        req->easy = NULL;
        return -ENOMEM;
    }
    return 0;
}

void kube_request_cancel(struct kube_request *req)
{
    if (!req->easy)
        return;
    curl_multi_remove_handle(req->client->multi, req->easy);
    curl_easy_cleanup(req->easy);
    req->easy = NULL;
}

bool kube_request_running(const struct kube_request *req)
{
    return req->easy != NULL;
}

long kube_request_status(const struct kube_request *req)
{
    long status = 0;
    if (req->easy)
        curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}
