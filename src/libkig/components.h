/* Where kig's upstream components come from. This is the one place that knows: every other part of kig
 * asks here for a path, so a user-supplied k3s or a different Kubernetes build changes only this file.
 *
 * Resolution order for each component:
 *   1. the environment variable named in the table (e.g. KIG_KUBE_APISERVER=/opt/k8s/kube-apiserver);
 *   2. for Kubernetes server binaries, $KIG_K8S_BIN_DIR, else /var/cache/kig/kubernetes-1.20.2/bin
 *      (filled by scripts/build-kubernetes.sh);
 *   3. PATH (and the usual sbin directories).
 * kig's own programs (kig-trace, kig-runtime, ...) are looked for, after the environment, beside the running
 * kig (installed side by side, or in the build tree: build/src/kig/kig -> build/src/kig-trace/kig-trace),
 * then in kig's libexec directory, then in PATH. */
#pragma once

#include <stdbool.h>

enum component {
    COMPONENT_ETCD,
    COMPONENT_KUBE_APISERVER,
    COMPONENT_KUBE_CONTROLLER_MANAGER,
    COMPONENT_KUBE_SCHEDULER,
    COMPONENT_KUBELET,
    COMPONENT_KUBE_PROXY,
    COMPONENT_KUBECTL,
    COMPONENT_CONTAINERD,
    COMPONENT_CONTAINERD_SHIM_RUNC_V2,
    COMPONENT_RUNC,
    COMPONENT_CRUN,
    COMPONENT_RUNSC,
    COMPONENT_IPTABLES,
    COMPONENT_KIG_TRACE,
    COMPONENT_KIG_RUNTIME,
    COMPONENT_KIG_CNI,
    COMPONENT_KIG_CGROUPFS,
    COMPONENT_KIG_PAUSE,
    COMPONENT_KIG_PROXY,
    COMPONENT_KIG_SWITCH,
    COMPONENT_KIG_SHIM,
    COMPONENT_KIG_MOUNT,
    COMPONENT_KIG_DU,
    _COMPONENT_MAX,
};

#define KIG_K8S_VERSION        "1.20.2"
#define KIG_DEFAULT_K8S_BINDIR "/var/cache/kig/kubernetes-" KIG_K8S_VERSION "/bin"

struct component_info {
    const char *name;    /* the program's file name */
    const char *env;     /* environment override */
    bool kubernetes;     /* built by scripts/build-kubernetes.sh */
    const char *package; /* Debian package that ships it, for the fix hint */
    bool kig_own;        /* built with kig */
};

const struct component_info *component_info(enum component c);

/* Absolute path of the component, or NULL when it cannot be found. */
char *component_path(enum component c);

/* One line telling the user how to get the component (for "missing dependency" errors). */
const char *component_fix_hint(enum component c);

/* Resolves the component or logs "<name> not found: <fix>" and returns -ENOENT. */
int component_require(enum component c, char **ret_path);
