/* The components kig runs, as data: the supervisor starts them in table order, each once its gate is
 * open, and stops them in reverse order. Adding a component (containerd, kubelet, kube-proxy for the full
 * node mode) is a row here plus a flag builder. */
#pragma once

#include "components.h"
#include "datadir.h"
#include "identity.h"
#include "strv.h"

struct node_setup;

enum cluster_component {
    CC_ETCD,
    CC_KUBE_APISERVER,
    CC_KUBE_CONTROLLER_MANAGER,
    CC_KUBE_SCHEDULER,
    CC_KIG_SWITCH, /* full mode only, from here on; the pod switch, under the tap strategy only */
    CC_CONTAINERD,
    CC_KUBELET,
    CC_KIG_PROXY, /* Services and cluster DNS without kube-proxy (docs/services.md) */
    _CC_MAX,
};

/* How the supervisor decides a component is ready (readiness.h). */
enum probe_kind {
    PROBE_ETCD_HEALTH,      /* GET /health with the etcd client cert: {"health":"true"} */
    PROBE_APISERVER_READYZ, /* GET /readyz with the admin cert: 200 "ok" */
    PROBE_HEALTHZ,          /* GET /healthz on a self-signed loopback port: 200 "ok" */
    PROBE_UNIX_SOCKET, /* the spec's socket (containerd's gRPC, kig-switch's control) accepts a connection */
    PROBE_KUBELET_HEALTHZ, /* GET http://127.0.0.1:10248/healthz: 200 "ok" */
    PROBE_PLAIN_HEALTHZ,   /* GET http://127.0.0.1:<port>/healthz: 200 "ok" */
};

/* When a component may start, relative to the one it follows. */
enum start_gate {
    GATE_NONE,       /* at once */
    GATE_READY,      /* once `after` is ready */
    GATE_RESPONDING, /* once `after` answers HTTP at all: its clients retry until it is ready */
};

/* Everything a flag builder needs; filled by the supervisor. */
struct cluster_config {
    const struct data_dir *dir;
    const char *name;
    enum cluster_mode mode;
    char advertise_address[64];
    int ports[_CC_MAX]; /* each component's main (client/secure) port */
    int etcd_peer_port;
    const struct node_setup *node; /* full mode: paths and the node's address (node-setup.h) */
};

struct component_spec {
    enum cluster_component id;
    const char *name; /* process, log file and `kig logs` name */
    const char *alias;
    enum component binary;
    unsigned modes; /* enum cluster_mode bits */
    enum cluster_component after;
    enum start_gate gate;
    enum probe_kind probe;
    int preferred_port;
    /* `kig up` waits for it to be ready. The others are started and watched too, and `kig status`
     * shows them, but the cluster is usable without them at that moment (the cluster checks cover what
     * matters: the default service account proves the controller-manager works on a new cluster). */
    bool awaited;
    /* Appends the component's arguments (not argv[0]). Returns 0 or -ENOMEM. */
    int (*build_args)(const struct cluster_config *cfg, struct strv *args);
    /* Runs under kig-trace with the node's trace arguments (full mode), so that it and everything it
     * starts (shims, runtimes, containers) get the fixes mounts cannot give. */
    bool traced;
    /* PROBE_UNIX_SOCKET: the socket, relative to the data dir. */
    const char *socket;
    /* NULL: always (in its modes); else whether this node needs it. */
    bool (*wanted)(const struct cluster_config *cfg);
    /* Finds kig-mount as mount(8) and kig-du as nice(1) and find(1) first in its PATH (the node's
     * kubelet-path directory). */
    bool kig_mount;
};

const struct component_spec *component_table(size_t *ret_n);
const struct component_spec *component_spec_get(enum cluster_component id);
/* By name or alias ("apiserver", "controller-manager", "scheduler"); NULL if unknown. */
const struct component_spec *component_spec_find(const char *name);

/* Flag builders (flags.c). */
int flags_etcd(const struct cluster_config *cfg, struct strv *args);
int flags_kube_apiserver(const struct cluster_config *cfg, struct strv *args);
int flags_kube_controller_manager(const struct cluster_config *cfg, struct strv *args);
int flags_kube_scheduler(const struct cluster_config *cfg, struct strv *args);
int flags_containerd(const struct cluster_config *cfg, struct strv *args);
int flags_kubelet(const struct cluster_config *cfg, struct strv *args);
int flags_kig_proxy(const struct cluster_config *cfg, struct strv *args);
int flags_kig_switch(const struct cluster_config *cfg, struct strv *args);
bool wanted_kig_switch(const struct cluster_config *cfg);
