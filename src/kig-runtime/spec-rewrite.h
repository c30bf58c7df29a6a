/* Rewriting an OCI config.json for what the sandbox can do.
 *
 * A pure function: config JSON and the sandbox's features in, a new config JSON, the list of what was
 * relaxed (one human-readable line each, logged once per container) and the mounts kig-runtime must make
 * itself out. It changes only what the features say cannot work: with runtime_features_init_host() the
 * config comes back equal to the input and the list is empty. The rules, each tied to one feature, are
 * documented in docs/runtime.md. */
#pragma once

#include "sandbox-features.h"

#include <jansson.h>
#include <stdbool.h>

enum oci_runtime_kind {
    OCI_RUNTIME_CRUN,
    OCI_RUNTIME_RUNC,
};

struct spec_rewrite {
    json_t *config;   /* the rewritten config (a deep copy of the input) */
    json_t *rewrites; /* array of strings: what changed and why */
    /* NULL, or what kig-runtime sets up itself before the runtime runs, because the runtime's way of mounting
     * (through /proc/self/fd/N) does not reach its target here and there is no mount namespace to protect:
     *   {"mounts": [OCI mount objects], "maskedPaths": [...], "readonlyPaths": [...],
     *    "devices": [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3}, ...], "rootReadonly": bool}
     */
    json_t *kig_mounts;
    bool no_new_keyring;  /* run the runtime with --no-new-keyring */
    bool forbid_no_pivot; /* drop --no-pivot: runc would MS_MOVE the rootfs in the sandbox's own namespace */
    /* When the container's UTS namespace (at a path: the pod's) became a new one of its own: the source of
     * its /etc/hostname mount, whose first line is the pod's hostname, for the caller to set as "hostname"
     * (the rewriter reads no file). "" otherwise. */
    char hostname_file[4096];
    char error[256]; /* why the config was refused (-EINVAL) */
};

/* Returns 0, -EINVAL for a config this cannot make sense of (ret->error says which field, in one line), or
 * -ENOMEM. On success the caller owns ret's members: release them with spec_rewrite_done(). */
int spec_rewrite(const json_t *config, const struct runtime_features *features, enum oci_runtime_kind runtime,
                 struct spec_rewrite *ret);
void spec_rewrite_done(struct spec_rewrite *r);

/* The process rules alone (capabilities, rlimits, oomScoreAdj, LSM labels), applied in place to the process
 * object of an `exec`. Appends to rewrites; returns 0, -EINVAL (error filled) or -ENOMEM. */
int spec_rewrite_process(json_t *process, const struct runtime_features *features, json_t *rewrites,
                         char *error, size_t error_size);

/* containerd's CRI marks the pod's sandbox (pause) container with this annotation ("sandbox"). */
#define CRI_CONTAINER_TYPE "io.kubernetes.cri.container-type"
bool spec_is_pod_sandbox(const json_t *config);

/* The namespace a sysctl belongs to ("network", "ipc", "uts"), or NULL for a sandbox-wide one. */
const char *sysctl_namespace(const char *key);
