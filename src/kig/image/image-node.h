/* The node whose containerd `kig image` talks to: the data dir's cluster must be a full one (not
 * --control-plane-only), its supervisor running and containerd answering on its socket. Each failure is
 * one logged line naming the cause and the fix. */
#pragma once

#include "datadir.h"

#include <stddef.h>

/* The CRI's namespace: images anywhere else are invisible to kubelet. */
#define KIG_IMAGE_NAMESPACE "k8s.io"

struct image_node {
    struct data_dir dir;
    char *socket;         /* containerd's socket */
    char *config;         /* the containerd.toml kig rendered */
    char snapshotter[64]; /* the CRI's snapshotter ("" when the config does not say) */
    char *ctr;            /* containerd's client */
};

/* Resolves the data dir (--data-dir value, may be NULL) and checks the node. Returns 0 or a negative
 * errno after logging. */
int image_node_open(struct image_node *n, const char *data_dir_flag);
void image_node_done(struct image_node *n);

/* The CRI's snapshotter from a containerd.toml (version 2) as kig renders it: the `snapshotter` key of the
 * [plugins."io.containerd.grpc.v1.cri".containerd] table. 0, or -ENOENT when it is not set. */
int image_node_config_snapshotter(const char *toml, char *out, size_t out_size);
