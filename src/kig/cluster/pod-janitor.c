#include "pod-janitor.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"
#include "shim-address.h"
#include "spawn.h"
#include "supervisor-ctl.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TASK_SUBDIR "io.containerd.runtime.v2.task"
/* A delete that needs longer than this is stuck; the next sweeps try again. */
#define DELETE_TIMEOUT_MS (60 * 1000)

static void closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

/* The next entry of D other than "." and "..", NULL at the end. */
static struct dirent *next_entry(DIR *d)
{
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            return e;
    return NULL;
}

int pod_janitor_init(struct pod_janitor *j, const char *containerd_state, const char *containerd_socket,
                     const char *runtime_root, const char *shim_path, const char *const *runtime_argv,
                     pod_janitor_report_fn report)
{
    *j = (struct pod_janitor){.report = report};
    j->task_dir = path_join(containerd_state, TASK_SUBDIR);
    j->containerd_socket = strdup(containerd_socket);
    j->runtime_root = strdup(runtime_root);
    j->shim_path = realpath(shim_path, NULL);
    if (!j->shim_path)
        j->shim_path = strdup(shim_path);
    if (!j->task_dir || !j->containerd_socket || !j->runtime_root || !j->shim_path) {
        pod_janitor_done(j);
        return -ENOMEM;
    }
    for (const char *const *a = runtime_argv; *a; a++)
        if (strv_push(&j->runtime_argv, *a) < 0) {
            pod_janitor_done(j);
            return -ENOMEM;
        }
    return 0;
}

void pod_janitor_done(struct pod_janitor *j)
{
    free(j->task_dir);
    free(j->containerd_socket);
    free(j->runtime_root);
    free(j->shim_path);
    strv_done(&j->runtime_argv);
    strv_done(&j->suspects);
    *j = (struct pod_janitor){0};
}

static bool bundle_exists(const struct pod_janitor *j, const char *ns, const char *id)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s/%s", j->task_dir, ns, id);
    return n > 0 && (size_t)n < sizeof(path) && is_dir(path);
}

/* The shim addresses every bundle names (BUNDLE/address, written by the shim's start). */
static int bundle_shim_addresses(const struct pod_janitor *j, struct strv *ret)
{
    _cleanup_closedir_ DIR *top = opendir(j->task_dir);
    if (!top)
        return errno == ENOENT ? 0 : -errno;
    for (struct dirent *ns; (ns = next_entry(top));) {
        _cleanup_free_ char *ns_dir = path_join(j->task_dir, ns->d_name);
        if (!ns_dir)
            return -ENOMEM;
        _cleanup_closedir_ DIR *d = opendir(ns_dir);
        for (struct dirent *e; d && (e = next_entry(d));) {
            char path[PATH_MAX];
            _cleanup_free_ char *address = NULL;
            int n = snprintf(path, sizeof(path), "%s/%s/address", ns_dir, e->d_name);
            if (n > 0 && (size_t)n < sizeof(path) && read_line(path, &address) == 0 &&
                !strv_contains(ret, address) && strv_push(ret, address) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* Whether KEY was found by the previous sweep; it is recorded for the next one either way. */
static bool seen_before(const struct pod_janitor *j, struct strv *found, const char *key)
{
    (void)strv_push(found, key);
    return strv_contains(&j->suspects, key);
}

static int delete_container(struct pod_janitor *j, const char *ns, const char *id)
{
    _cleanup_free_ char *root = path_join(j->runtime_root, ns);
    _cleanup_(strv_done) struct strv argv = {0};
    if (!root)
        return -ENOMEM;
    for (size_t i = 0; i < j->runtime_argv.n; i++)
        if (strv_push(&argv, j->runtime_argv.v[i]) < 0)
            return -ENOMEM;
    if (strv_push(&argv, "--root") < 0 || strv_push(&argv, root) < 0 || strv_push(&argv, "delete") < 0 ||
        strv_push(&argv, "--force") < 0 || strv_push(&argv, id) < 0)
        return -ENOMEM;
    _cleanup_free_ char *err = NULL;
    int status;
    int r = run_capture(strv_argv(&argv), NULL, &err, DELETE_TIMEOUT_MS, &status);
    if (r < 0) {
        j->report("pod janitor: cannot run %s to delete container %s: %s", argv.v[0], id, strerror(-r));
        return r;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        size_t len = err ? strcspn(err, "\n") : 0;
        j->report(
            "pod janitor: deleting container %s, which containerd no longer knows, failed (exit %d): %.*s",
            id, wait_status_to_exit_code(status), (int)len, len ? err : "no message");
        return -EIO;
    }
    j->report("pod janitor: deleted container %s (namespace %s): containerd had forgotten its task, but its "
              "mounts and cgroup were still there",
              id, ns);
    return 1;
}

/* Containers kig-runtime records (RUNTIME_ROOT/NS/kig/ID) without a bundle. */
static int sweep_containers(struct pod_janitor *j, struct strv *found)
{
    _cleanup_closedir_ DIR *top = opendir(j->runtime_root);
    if (!top)
        return errno == ENOENT ? 0 : -errno;
    int removed = 0;
    for (struct dirent *ns; (ns = next_entry(top));) {
        char dir[PATH_MAX];
        int n = snprintf(dir, sizeof(dir), "%s/%s/kig", j->runtime_root, ns->d_name);
        if (n < 0 || (size_t)n >= sizeof(dir))
            continue;
        _cleanup_closedir_ DIR *d = opendir(dir);
        for (struct dirent *e; d && (e = next_entry(d));) {
            if (bundle_exists(j, ns->d_name, e->d_name))
                continue;
            _cleanup_free_ char *key = NULL;
            if (asprintf(&key, "container %s %s", ns->d_name, e->d_name) < 0)
                return -ENOMEM;
            if (seen_before(j, found, key) && delete_container(j, ns->d_name, e->d_name) > 0)
                removed++;
        }
    }
    return removed;
}

/* Field 22 of /proc/PID/stat: with the pid, names one process for good. 0 when it is gone. */
static unsigned long long start_time_of(pid_t pid)
{
    char path[64];
    _cleanup_free_ char *stat = NULL;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (read_file(path, &stat, NULL, 0) < 0)
        return 0;
    const char *p = strrchr(stat, ')');
    /* After ") ": state is field 3; the start time is 19 fields further. */
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* A shim daemon's flags (containerd-shim-runc-v2 -namespace NS -id ID -address ADDR [-debug]). False for
 * anything else, including the short-lived `start` and `delete` runs, which name an action. */
static bool shim_daemon_flags(pid_t pid, char **ret_ns, char **ret_id, char **ret_address)
{
    char path[64];
    _cleanup_free_ char *cmdline = NULL;
    size_t len;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    if (read_file(path, &cmdline, &len, 64 * 1024) < 0 || len == 0)
        return false;
    const char *ns = NULL, *id = NULL, *address = NULL;
    const char *arg = cmdline + strlen(cmdline) + 1, *end = cmdline + len;
    while (arg < end) {
        const char *next = arg + strlen(arg) + 1;
        if (arg[0] != '-')
            return false; /* an action */
        const char *name = arg + 1 + (arg[1] == '-');
        const char **want = strcmp(name, "namespace") == 0 ? &ns
                            : strcmp(name, "id") == 0      ? &id
                            : strcmp(name, "address") == 0 ? &address
                                                           : NULL;
        bool takes_value = want || strcmp(name, "publish-binary") == 0 || strcmp(name, "bundle") == 0 ||
                           strcmp(name, "socket") == 0;
        if (takes_value) {
            if (next >= end)
                return false;
            if (want)
                *want = next;
            next += strlen(next) + 1;
        }
        arg = next;
    }
    if (!ns || !id || !address)
        return false;
    *ret_ns = strdup(ns);
    *ret_id = strdup(id);
    *ret_address = strdup(address);
    return *ret_ns && *ret_id && *ret_address;
}

/* Shim daemons of this containerd whose socket no bundle names. */
static int sweep_shims(struct pod_janitor *j, const struct strv *addresses, struct strv *found)
{
    _cleanup_closedir_ DIR *proc = opendir("/proc");
    if (!proc)
        return -errno;
    int removed = 0;
    for (struct dirent *e; (e = next_entry(proc));) {
        char *endp;
        long pid = strtol(e->d_name, &endp, 10);
        if (*endp || pid <= 1 || !process_is((pid_t)pid, j->shim_path))
            continue;
        _cleanup_free_ char *ns = NULL, *id = NULL, *containerd = NULL, *key = NULL;
        char address[256];
        if (!shim_daemon_flags((pid_t)pid, &ns, &id, &containerd) ||
            strcmp(containerd, j->containerd_socket) != 0 ||
            shim_socket_address(containerd, ns, id, address, sizeof(address)) < 0 ||
            strv_contains(addresses, address))
            continue;
        unsigned long long started = start_time_of((pid_t)pid);
        if (started == 0 || asprintf(&key, "shim %ld %llu", pid, started) < 0)
            continue;
        if (!seen_before(j, found, key))
            continue;
        if (kill((pid_t)pid, SIGKILL) == 0) {
            j->report(
                "pod janitor: killed the shim of pod sandbox %s (pid %ld): containerd had forgotten every "
                "task it served, but it was still running",
                id, pid);
            removed++;
        }
    }
    return removed;
}

int pod_janitor_sweep(struct pod_janitor *j)
{
    _cleanup_(strv_done) struct strv addresses = {0}, found = {0};
    /* Without containerd's task directory every record would look forgotten: judge nothing then. */
    if (!is_dir(j->task_dir))
        return 0;
    int removed = sweep_containers(j, &found);
    if (removed < 0)
        return removed;
    /* Read after the containers: a shim whose last container was just deleted above is then seen too. */
    int r = bundle_shim_addresses(j, &addresses);
    if (r < 0)
        return r;
    r = sweep_shims(j, &addresses, &found);
    if (r < 0)
        return r;
    strv_done(&j->suspects);
    j->suspects = found;
    found = (struct strv){0};
    return removed + r;
}
