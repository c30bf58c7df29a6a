/* What kig-shim needs to know of an OCI bundle's config.json to decide where the shim must run. */
#pragma once

#include "podns.h"

#include <stdbool.h>
#include <stddef.h>

struct shim_bundle {
    char sandbox_id[PODNS_MAX_ID + 1]; /* io.kubernetes.cri.sandbox-id; "" when absent */
    bool own_network; /* linux.namespaces has a "network" entry (the CRI gives one to every container of a
                         pod, host-network pods too: only a sandbox's own entry tells) */
    bool is_sandbox;  /* io.kubernetes.cri.container-type is "sandbox": the pod's first shim start */
    bool has_group;   /* io.containerd.runc.v2.group is set: it, not the sandbox id, picks the shim */
};

/* Parses config.json's text. Returns 0, or -EINVAL with a one-line reason in why (the text is not a JSON
 * object, or the fields used have the wrong type, or the sandbox id is not a valid pod id). */
int shim_bundle_parse(const char *text, size_t len, struct shim_bundle *ret, char *why, size_t why_size);
