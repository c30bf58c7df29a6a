#include "filter.h"

#include "log.h"
#include "mount-untrapped.h"
#include "rules/rule.h"

#include <sys/syscall.h>

/* mount(2) is trapped unless its flags carry MS_MGC_VAL (mount-untrapped.h): kig-runtime's calls, which
 * need no fixing. A rule that traps every mount gets two ranges below and above the marked values. */
static int trap_unmarked_mounts(scmp_filter_ctx ctx)
{
    const struct scmp_arg_cmp below = {.arg = 3, .op = SCMP_CMP_LT, .datum_a = MOUNT_UNTRAPPED_FIRST};
    const struct scmp_arg_cmp above = {.arg = 3, .op = SCMP_CMP_GT, .datum_a = MOUNT_UNTRAPPED_LAST};
    int r = seccomp_rule_add_array(ctx, SCMP_ACT_TRACE(0), SYS_mount, 1, &below);
    return r < 0 ? r : seccomp_rule_add_array(ctx, SCMP_ACT_TRACE(0), SYS_mount, 1, &above);
}

scmp_filter_ctx filter_build(unsigned rules, bool trap_marked_mounts)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        log_error("cannot create a seccomp filter (libseccomp: out of memory)");
        return NULL;
    }
    /* 32-bit and x32 calls are outside what the rules understand: let them run rather than kill. */
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
    if (r < 0)
        goto fail;
    for (unsigned id = 0; id < RULE_COUNT; id++) {
        if (!(rules & (1u << id)))
            continue;
        const struct rule *rule = all_rules[id];
        for (size_t i = 0; i < rule->n_syscalls; i++) {
            const struct rule_syscall *s = &rule->syscalls[i];
            /* One action for all: rules that share a syscall would otherwise conflict in libseccomp. */
            if (s->nr == SYS_mount && s->n_conds == 0 && !trap_marked_mounts)
                r = trap_unmarked_mounts(ctx);
            else
                r = seccomp_rule_add_array(ctx, SCMP_ACT_TRACE(0), s->nr, s->n_conds,
                                           s->n_conds ? s->conds : NULL);
            if (r < 0) {
                log_error_errno(r, "rule %s: cannot trap syscall %d: %m", rule->name, s->nr);
                goto fail;
            }
        }
    }
    return ctx;
fail:
    log_error_errno(r, "cannot build the seccomp filter: %m");
    seccomp_release(ctx);
    return NULL;
}

int filter_load(scmp_filter_ctx ctx)
{
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (r < 0)
        return r;
    r = seccomp_load(ctx);
    if (r != -EACCES)
        return r;
    /* Without CAP_SYS_ADMIN the kernel requires no_new_privs. */
    r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
    if (r < 0)
        return r;
    return seccomp_load(ctx);
}
