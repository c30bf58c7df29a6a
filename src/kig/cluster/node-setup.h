/* The node (full mode): what has to exist before containerd and kubelet start, and goes away after they
 * stop. The supervisor runs it; `kig down` and the next `kig up` use node_setup_cleanup() for what a killed
 * supervisor left behind.
 *
 *   <data>/node/                a tmpfs (cAdvisor ignores 9p roots; nothing here outlives the node)
 *     containerd/{root,state}   containerd's images, snapshots and runtime state; containerd.sock
 *     kubelet/                  kubelet's root dir: its own tmpfs, made shared (kubelet wants rshared)
 *     cni/{bin,conf}            kig-cni (also as "loopback": containerd's CRI always calls it) and its
 * conflist runtime/                  kig-runtime's --root config/                   containerd.toml,
 * kubelet.json, kubelet.kubeconfig <data>/run/vkernel/         `kig vkernel` state (outside the tmpfs:
 * teardown must read it after a crash)
 */
#pragma once

#include "datadir.h"
#include "strv.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The address the node registers with when the sandbox has no network (kubelet refuses loopback ones):
 * kig puts it on lo. */
#define KIG_NODE_FALLBACK_IP "10.200.0.1"
/* containerd's socket, relative to the data dir (the readiness probe connects to it too). */
#define KIG_NODE_CONTAINERD_SOCKET "node/containerd/containerd.sock"
/* kig-switch's directory (control socket switch.sock, holders' pods/<id>.sock), relative to the data dir. */
#define KIG_NODE_SWITCH_DIR "node/switch"
/* The pods' addresses under the veth and tap strategies; the first is the node's (the pods' gateway). */
#define KIG_POD_CIDR "10.244.0.0/24"
/* The pod sandbox image (containerd's sandbox_image), built from kig-pause beside it (kig-pause.oci.tar). */
#define KIG_PAUSE_IMAGE "localhost/kig/pause:3.2"
/* Under the data dir's run/: containerd's registry config_path (HOST[:PORT]/hosts.toml, kig up
 * --insecure-registry). */
#define KIG_REGISTRY_HOSTS_DIR "registries"
/* kubelet's healthz port (plain HTTP on loopback). */
#define KIG_KUBELET_HEALTHZ_PORT 10248

struct node_setup {
    char *root;
    char *containerd_root, *containerd_state, *containerd_socket, *containerd_config;
    char *kubelet_root, *kubelet_config, *kubelet_kubeconfig;
    char *proxy_kubeconfig;
    char *cni_bin, *cni_conf;
    char *runtime_root;
    char *switch_dir, *cni_ipam_dir;
    char *shim_dir;         /* tap: holds containerd-shim-runc-v2 -> kig-shim, first in containerd's PATH */
    char *real_shim;        /* tap: containerd-shim-runc-v2 itself (KIG_CONTAINERD_SHIM for kig-shim) */
    char *kubelet_path_dir; /* first in kubelet's PATH: mount -> kig-mount (src/kig-mount/main.c), nice and
                               find -> kig-du (src/kig-du/main.c) */
    char *vkernel_run_dir;
    /* How pods get their network (docs/networking.md): "veth", "tap" (kig-switch and netns holders, with
     * kig-shim starting each pod's shim in its holder) or "host"; from `kig-cni --probe` or KIG_POD_NETWORK.
     */
    char pod_network[8];
    char node_name[64];
    char node_ip[64];
    bool node_ip_added;     /* kig put node_ip on lo and removes it at teardown */
    char *trace_path;       /* kig-trace */
    struct strv trace_args; /* the vkernel's kig-trace arguments plus the rules containerd's tree needs */
};

/* The address the node registers with: the sandbox's first non-loopback IPv4 address, else
 * KIG_NODE_FALLBACK_IP. */
int node_setup_node_ip(char *buf, size_t size);

/* Paths only; nothing is touched. */
int node_setup_init(struct node_setup *n, const struct data_dir *d, const char *node_name);
void node_setup_done(struct node_setup *n);

/* Mounts, the virtual kernel, the node address and the configuration files. Idempotent over what a crashed
 * run left. Logs one line naming the cause on failure (after undoing what it did). */
int node_setup_prepare(struct node_setup *n, const struct data_dir *d, const char *cluster_name,
                       const char *server);

/* Undoes node_setup_prepare (best effort: every step is tried; failures are logged). */
int node_setup_teardown(struct node_setup *n);

/* Loads the pod sandbox image (KIG_PAUSE_IMAGE, built from kig-pause with kig) into containerd, which must
 * be up: there may be no registry to pull one from. Idempotent. Logs the cause on failure. */
int node_setup_load_pause_image(const struct node_setup *n);

/* Appends the pid kig-trace wrote to pid_file to the node's list of tracers (killed at teardown). */
int node_setup_record_tracer(const char *run_dir, const char *pid_file);

/* For `kig down` without a supervisor: undo what a killed supervisor left in this data dir. */
int node_setup_cleanup(const struct data_dir *d);

/* Appends to OUT the arguments of the vkernel plan's `trace_args` that containerd's tracer gets: all but
 * the path redirects (--rule redirect, --redirect FROM=TO), whose rule would stop every path syscall of
 * every pod. */
int node_trace_args_from_plan(struct strv *out, const json_t *plan_args);
