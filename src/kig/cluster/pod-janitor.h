/* What a pod leaves behind when containerd gives up deleting it.
 *
 * containerd gives the delete of an exited task 10 s, shim included, and cancels it when they pass. It then
 * removes the task's bundle and forgets the task whatever was left unfinished: a runc-v2 shim whose Shutdown
 * never came lives on with no client, and a container whose `kig-runtime delete` was killed halfway keeps its
 * mounts and cgroup. Nothing in Kubernetes asks again; on 2 loaded CPUs in gVisor, deleting fifteen pods at
 * once did both (docs/pods.md).
 *
 * The janitor finds them by what containerd keeps on disk, the task bundles (STATE/io.containerd.runtime.v2.
 * task/NAMESPACE/ID, each with the address of its shim), and finishes the job: `kig-runtime delete --force`
 * for a container kig-runtime still records (RUNTIME_ROOT/NAMESPACE/kig/ID) that has no bundle, SIGKILL for
 * a shim daemon that no bundle names. A leftover is acted on only when two sweeps in a row found it, so a
 * task being created or deleted while a sweep looks is left alone. No program is started unless something
 * was left. */
#pragma once

#include "strv.h"

#include <stdbool.h>
#include <sys/types.h>

typedef void (*pod_janitor_report_fn)(const char *fmt, ...) _printf_(1, 2);

struct pod_janitor {
    char *task_dir;           /* containerd's STATE/io.containerd.runtime.v2.task */
    char *runtime_root;       /* kig-runtime's root above the namespaces (containerd's runtime Root option) */
    char *containerd_socket;  /* containerd's address, from which each shim's socket is derived */
    char *shim_path;          /* containerd-shim-runc-v2, the real one (kig-shim only starts it) */
    struct strv runtime_argv; /* the prefix that runs kig-runtime: [kig-trace ARGS --] kig-runtime */
    struct strv suspects;     /* what the previous sweep found: "container NS ID", "shim PID STARTTIME" */
    pod_janitor_report_fn report;
};

/* RUNTIME_ARGV: how to run kig-runtime, as containerd's tree runs it (copied). Returns 0 or -ENOMEM. */
int pod_janitor_init(struct pod_janitor *j, const char *containerd_state, const char *containerd_socket,
                     const char *runtime_root, const char *shim_path, const char *const *runtime_argv,
                     pod_janitor_report_fn report);
void pod_janitor_done(struct pod_janitor *j);

/* One sweep. Returns how many leftovers it removed (each reported), or -errno. Does nothing while containerd
 * has no task directory. */
int pod_janitor_sweep(struct pod_janitor *j);
