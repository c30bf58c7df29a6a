/* Probes of `kig doctor`: each checks one kernel interface at run time and says how kig will provide it.
 *
 * A probe is a row in a table (one table per concern: probe-sysctl.c, probe-cgroup.c, ...). It runs either in
 * kig's own process (read-only checks) or in a forked child that is killed after a timeout, so a probe that
 * hangs or crashes costs one "error" row and nothing else. Probes must leave nothing behind: no mount, file,
 * process, network namespace or iptables rule. */
#pragma once

#include "doctor-report.h"
#include "macro.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PROBE_EVIDENCE_MAX 240
#define PROBE_STRATEGY_MAX 200

struct probe_result {
    enum doctor_status status;
    char evidence[PROBE_EVIDENCE_MAX];
    char strategy[PROBE_STRATEGY_MAX]; /* empty: "native" when present, else the probe's fallback */
};

struct probe_context {
    const char *workdir; /* a private scratch directory, removed after the run */
    bool in_gvisor;
};

enum probe_isolation {
    /* Read-only (or write-the-same-value) checks in kig's own process. */
    PROBE_INLINE,
    /* A forked child in its own process group, killed after a timeout. */
    PROBE_CHILD,
    /* A child in a private mount namespace (unshare + MS_PRIVATE on /), so that on Linux no mount can reach
     * the host. gVisor 20221219 ignores CLONE_NEWNS, so there every mount is sandbox-wide: such probes
     * unmount what they mount, and the runner sweeps up after a probe that was killed halfway. */
    PROBE_CHILD_MOUNTNS,
    /* A child in a new network namespace: links, addresses and iptables rules vanish with it. */
    PROBE_CHILD_NETNS,
};

struct probe;
struct probe_context;
typedef void (*probe_fn)(const struct probe *p, const struct probe_context *ctx, struct probe_result *res);

struct probe {
    const char *id;       /* stable dotted name: the key in the JSON report */
    const char *category; /* "system", "sysctl", "cgroup", "mount", "ns", "process", "trace", "net", ... */
    const char *summary;  /* what is checked and who needs it (kig doctor --list, docs/doctor.md) */
    const char *fallback; /* the strategy when the interface is missing, partial or unknown */
    enum probe_isolation isolation;
    probe_fn run;
    const char *arg;     /* probe-specific: a sysctl path, a controller name, ... */
    unsigned long flags; /* probe-specific: a CLONE_* or MS_* flag, ... */
    int timeout_ms;      /* 0: the default */
    /* fnmatch pattern of a mount point outside the scratch directory that the probe mounts on: where mounts
     * do not isolate, the runner sweeps up a mount left there by a killed probe */
    const char *mounts_at;
};

struct probe_table {
    const struct probe *probes;
    size_t n;
};

#define PROBE_TABLE(name, array) const struct probe_table name = {array, ARRAY_SIZE(array)}

extern const struct probe_table probe_table_system;
extern const struct probe_table probe_table_sysctl;
extern const struct probe_table probe_table_cgroup;
extern const struct probe_table probe_table_mount;
extern const struct probe_table probe_table_ns;
extern const struct probe_table probe_table_process;
extern const struct probe_table probe_table_trace;
extern const struct probe_table probe_table_net;
extern const struct probe_table probe_table_iptables;

/* The registry: every probe, in report order. */
size_t probe_count(void);
const struct probe *probe_get(size_t i);
const struct probe *probe_find(const char *id);
/* Whether --only PATTERN selects p: PATTERN is an exact id (that probe alone), a category, or an id prefix
 * ending at a dot ("sysctl", "cgroup.v1", "iptables.nat." for the nat probes). */
bool probe_matches(const struct probe *p, const char *pattern);

/* Runs one probe with the isolation it asks for and fills res (never fails: trouble becomes "error"). */
void probe_run(const struct probe *p, const struct probe_context *ctx, struct probe_result *res);
/* The strategy to report: the probe's own choice, else "native" when present, else the fallback. */
const char *probe_strategy(const struct probe *p, const struct probe_result *res);

/* Result helpers. probe_set_errno formats "<context>: ENAME" ("ENAME" alone when fmt is NULL). */
void probe_set(struct probe_result *res, enum doctor_status status, const char *fmt, ...) _printf_(3, 4);
void probe_set_errno(struct probe_result *res, enum doctor_status status, int err, const char *fmt, ...)
    _printf_(4, 5);
void probe_set_strategy(struct probe_result *res, const char *fmt, ...) _printf_(2, 3);
/* Status for a refused operation: EPERM/EACCES when not privileged means "could not tell". */
enum doctor_status probe_status_for_errno(int err);

/* "EINVAL" for an errno value (either sign); "errno 4242" for unknown ones. Returns a static buffer for
 * unknown values only. */
const char *errno_name(int err);

/* Runs fn(arg) in a forked child (own process group, killed with its group after timeout_ms) and returns
 * its result: fn returns 0 or -errno, which travels back as the exit code. Returns -ETIMEDOUT, or -ECHILD if
 * the child died from a signal. Use for steps that may hang or must not affect the caller (setns, seccomp).
 */
int probe_fork_call(int (*fn)(void *arg), void *arg, int timeout_ms);

/* Kills pid's process group and pid, then reaps pid (its wait status in *status when not NULL). Call it
 * while pid is unreaped, so that its group id cannot belong to anyone else. */
void probe_kill_and_reap(pid_t pid, int *status);

/* Fault injection for tests/runsc/test-doctor.sh, called by probes right after they mount something:
 * KIG_DOCTOR_FAULT=hang-after-mount hangs there, so the test can check that the runner's timeout and mount
 * sweep leave nothing behind. */
void probe_fault_after_mount(void);

/* Makes a directory for one probe under the scratch directory: <workdir>/<name>. Returns 0 or -errno. */
int probe_scratch_dir(const struct probe_context *ctx, const char *name, char *buf, size_t size);

/* "tmpfs", "9p", "cgroup", ... for a statfs f_type; "unknown" otherwise. */
const char *fs_magic_name(unsigned long magic);

/* Signals that identify gVisor (see docs/doctor.md); fills evidence with the ones seen. */
bool detect_gvisor(char *evidence, size_t size);
