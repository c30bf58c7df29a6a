/* Configuration files for the node components kig runs in full-node mode: containerd's config.toml, the
 * kubelet's KubeletConfiguration and the CNI network list. Pure renderers: options in, a document out, so
 * what kig writes can be checked without starting anything. What the options say is decided from
 * `kig doctor` (the sandbox's features) by the caller. */
#pragma once

#include <stdbool.h>

struct containerd_options {
    const char *root;        /* persistent state: images, snapshots (keep it off 9p: cAdvisor ignores 9p) */
    const char *state;       /* runtime state */
    const char *socket;      /* the CRI/gRPC socket */
    const char *snapshotter; /* "overlayfs" when overlay mounts work in the sandbox, else "native" */
    const char *runtime_binary; /* kig-runtime, which the runc v2 shim runs instead of runc */
    const char *runtime_root;   /* --root for the runtime's state */
    const char
        *sandbox_image; /* the pause image (kubelet's --pod-infra-container-image is ignored for CRI) */
    const char *cni_bin_dir;
    const char *cni_conf_dir;
    const char *registry_config_dir; /* NULL: none; else <dir>/HOST[:PORT]/hosts.toml configure registries */
    bool disable_cgroup;         /* no usable cgroups at all: let containers run without them */
    bool restrict_oom_score_adj; /* gVisor rejects some oom_score_adj writes */
};

struct kubelet_options {
    const char *node_ip;
    const char *client_ca_file; /* verifies the apiserver's client certs (webhook authn of kubelet API) */
    const char *tls_cert_file;  /* kubelet's serving cert */
    const char *tls_key_file;
    const char *cluster_dns;    /* NULL: none */
    const char *cluster_domain; /* "cluster.local" */
    const char *resolv_conf;    /* NULL: the default */
    const char *cgroup_root;    /* NULL: "/" */
    bool cgroups_per_qos;       /* only where the QoS hierarchy's stats are complete */
    bool local_storage_capacity_isolation;
    int max_pods;
};

struct cni_options {
    const char *network_name; /* "kig" */
    const char *plugin_type;  /* "kig-cni" */
    const char *strategy;     /* "host" | "veth" | "tap" */
    const char *node_ip;
    const char *pod_cidr;   /* NULL under the host strategy */
    const char *data_dir;   /* the address store (NULL: kig-cni's default) */
    const char *switch_dir; /* tap: where kig-switch listens */
};

/* Each returns 0 and a newly allocated document, or -ENOMEM / -EINVAL (a required option missing). */
int containerd_config_render(const struct containerd_options *o, char **ret);
int kubelet_config_render(const struct kubelet_options *o, char **ret);
int cni_conflist_render(const struct cni_options *o, char **ret);

/* TOML basic string with escapes, quotes included; NULL on ENOMEM. */
char *toml_quote(const char *s);
