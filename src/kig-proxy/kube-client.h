/* HTTPS requests to the Kubernetes API, driven by kig-proxy's event loop through libcurl's multi-socket
 * interface: a LIST and a long-running WATCH per resource share the loop with the proxied connections,
 * without threads. Credentials come from a kubeconfig (client certificate/key and CA passed to curl as
 * in-memory blobs, or a bearer token). */
#pragma once

#include "kubeconfig-read.h"
#include "loop.h"

#include <stdbool.h>
#include <stddef.h>

struct kube_client;

struct kube_request {
    /* Set by the caller. on_data gets the body as it arrives; returning false aborts the transfer (on_done
     * then reports -ECANCELED). on_done is called once, after which the request may be started again. */
    bool (*on_data)(struct kube_request *req, const char *data, size_t len);
    void (*on_done)(struct kube_request *req, int result, long http_status);
    /* Internal. */
    void *easy;
    struct kube_client *client;
    bool aborted;
};

/* Takes a copy of what it needs from creds. */
int kube_client_new(struct loop *l, const struct kubeconfig_creds *creds, struct kube_client **ret);
void kube_client_free(struct kube_client *kc);

/* GETs server + path (path includes the query). timeout_s bounds the whole transfer (0: none). Returns 0
 * or -errno; on_done is called later, never from inside this call. */
int kube_request_start(struct kube_client *kc, struct kube_request *req, const char *path, long timeout_s);
/* Stops a running request without calling on_done. */
void kube_request_cancel(struct kube_request *req);
bool kube_request_running(const struct kube_request *req);
/* The HTTP status of the response being received (0 before the headers). */
long kube_request_status(const struct kube_request *req);
