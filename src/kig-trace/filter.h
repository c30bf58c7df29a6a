/* The seccomp filter: SECCOMP_RET_TRACE for the syscalls of enabled rules, ALLOW for everything else,
 * so untrapped syscalls run at native speed and never stop the tracee. */
#pragma once

#include <seccomp.h>
#include <stdbool.h>

/* Builds the filter for the rules in the mask (bit per enum rule_id). A mount marked with MS_MGC_VAL
 * (mount-untrapped.h) passes without a stop unless trap_marked_mounts. Returns NULL after logging. */
scmp_filter_ctx filter_build(unsigned rules, bool trap_marked_mounts);
/* Loads it into the calling process (the child, before exec). Uses no_new_privs only when the caller
 * lacks CAP_SYS_ADMIN, so set-uid programs keep working for root. Returns 0 or a negative errno. */
int filter_load(scmp_filter_ctx ctx);
