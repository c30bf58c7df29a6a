/* The /proc/sys entries that kubelet, kube-proxy, containerd, runc/crun and the CNI plugins read or write,
 * with the value kig gives each one when the sandbox lacks it. */
#pragma once

#include "sandbox-features.h"

#include <stddef.h>

enum sysctl_flag {
    /* One of kubelet's six tunables (setupKernelTunables): kubelet fails when the file is missing, and
     * when it cannot write the value it wants. kig gives it kubelet's value, so kubelet has nothing to
     * write and protectKernelDefaults can stay on. */
    SYSCTL_KUBELET = 1u << 0,
    /* Under net/: on Linux a missing one means a module is not loaded, so kig provides it only on gVisor. */
    SYSCTL_NET = 1u << 1,
    /* Read-only on Linux (0444): kig's file is read-only too. */
    SYSCTL_READ_ONLY = 1u << 2,
};

enum sysctl_value_source {
    SYSCTL_VALUE_STATIC,       /* the table's value */
    SYSCTL_VALUE_CAP_LAST_CAP, /* the highest bit of CapBnd */
    SYSCTL_VALUE_OSRELEASE,    /* uname -r */
    SYSCTL_VALUE_BOOT_ID,      /* a random UUID made when the features were probed */
};

struct sysctl_spec {
    const char *path; /* relative to /proc/sys */
    const char *value;
    enum sysctl_value_source source;
    unsigned flags;
    const char *who; /* who needs it, for `kig vkernel plan` and docs/vkernel.md */
};

extern const struct sysctl_spec sysctl_table[];
extern const size_t sysctl_table_size;

const struct sysctl_spec *sysctl_spec_find(const char *path);

/* The content kig writes for the entry on this machine, with a trailing newline. Returns 0, -ENODATA when
 * the value cannot be derived (cap_last_cap unknown), or -ENOMEM. */
int sysctl_spec_content(const struct sysctl_spec *s, const struct sandbox_features *f, char **ret);

/* True when the existing value equals the table's (ignoring surrounding whitespace, and tabs vs spaces). */
bool sysctl_value_equal(const char *a, const char *b);
