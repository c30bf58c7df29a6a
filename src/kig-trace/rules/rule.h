/* A rule fixes one family of syscalls that gVisor lacks or gets wrong. It names the syscalls the seccomp
 * filter must trap (with optional argument conditions), and hooks that run at the seccomp stop (enter)
 * and at the syscall-exit stop (exit). Only enabled rules' syscalls stop the tracee. */
#pragma once

#include "options.h"
#include "tracee.h"

#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>

enum rule_id {
    RULE_REDIRECT,
    RULE_NETNS_PIN, /* before mount and statfs: it answers some of their calls itself */
    RULE_MOUNT,
    RULE_STATFS,
    RULE_FCHOWN_PIPE,
    RULE_IOCTL_NET,
    RULE_SUBREAPER,
    RULE_UNAME,
    RULE_NETNS_ENTER,
    RULE_COUNT,
};

enum trap_action {
    TRAP_PASS,         /* nothing to do: no exit stop for this rule */
    TRAP_FOLLOW,       /* run the call, then this rule's exit hook */
    TRAP_SKIP,         /* do not run the call: trap_set_result() holds the answer */
    TRAP_NEED_SCRATCH, /* scratch_put said -EAGAIN: map the scratch area, then enter again */
};

enum exit_action {
    EXIT_DONE,    /* resume the thread with trap->regs */
    EXIT_RESTART, /* run the call again from its seccomp stop (enter hooks run again) */
    EXIT_PARK,    /* keep the thread stopped; the rule resumes it later (event_complete_parked) */
};

#define RULE_MAX_CONDS 3
/* libseccomp's SCMP_An() leave datum_b to the compiler, which clang's -Wmissing-field-initializers flags. */
#define RULE_ARG_EQ(index, value)                                                                            \
    {                                                                                                        \
        .arg = (index), .op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)(value), .datum_b = 0                    \
    }

struct rule_syscall {
    int nr;
    unsigned n_conds;
    struct scmp_arg_cmp conds[RULE_MAX_CONDS];
};

struct rule {
    enum rule_id id;
    const char *name;
    const char *summary;
    const struct rule_syscall *syscalls;
    size_t n_syscalls;
    /* All hooks are optional. init returns 0 or a negative errno after logging the cause. */
    int (*init)(const struct trace_options *opts);
    enum trap_action (*enter)(struct trap *t);
    enum exit_action (*exit)(struct trap *t);
    /* A tracee thread or process was seen: at its first stop (parent_tid 0) or at its parent's fork event
     * (tid from PTRACE_GETEVENTMSG: in gVisor a pid of the tracee's namespace, so check before trusting). */
    void (*tracee_new)(pid_t tid, pid_t parent_tid);
    /* A tracee thread or process ended; status as waitpid gave it. */
    void (*tracee_died)(pid_t tid, int status);
};

extern const struct rule rule_redirect, rule_netns_pin, rule_mount, rule_statfs, rule_fchown_pipe,
    rule_ioctl_net, rule_subreaper, rule_uname, rule_netns_enter;
extern const struct rule *const all_rules[RULE_COUNT];

const struct rule *rule_by_name(const char *name);

/* What Linux's simple_statfs answers for a pseudo filesystem with that magic (procfs, cgroupfs, nsfs). */
struct statfs;
void rule_fill_statfs(long magic, struct statfs *st);

/* netns-pin: whether path names a network-namespace link under /proc (exported for unit tests). */
bool netns_pin_is_ns_link(const char *path);
/* The netns directories (/run/netns, /var/run/netns and --netns-dir; shared by netns-pin and netns-enter)
 * and whether path is a pin in one of them. */
void netns_dirs_init(const struct trace_options *opts);
bool netns_dir_holds(const char *path);

/* Used by rules that keep threads parked (subreaper): resumes a parked thread with its trap->regs. */
void event_complete_parked(struct trap *t);
