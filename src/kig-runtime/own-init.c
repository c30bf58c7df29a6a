#include "own-init.h"

#include "cgroups.h"
#include "container.h"
#include "exec-process.h"
#include "fileutil.h"
#include "log.h"
#include "oci-seccomp.h"
#include "process-child.h"
#include "runtime-exec.h"
#include "spec-rewrite.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

bool own_init_enabled(bool pod_sandbox)
{
    const char *name = pod_sandbox ? "KIG_SANDBOX_INIT" : "KIG_CONTAINER_INIT";
    const char *v = getenv(name);
    if (!v || !*v || strcmp(v, "kig") == 0)
        return true;
    if (strcmp(v, "runtime") != 0)
        log_warn("%s='%s' is neither kig nor runtime: the runtime runs the container's init", name, v);
    return false;
}

char *own_init_fifo(const char *root, const char *id)
{
    _cleanup_free_ char *dir = container_state_dir(root, id);
    return dir ? path_join(dir, "exec.fifo") : NULL;
}

/* ---- cgroups ---- */

/* Calls fn on each cgroup directory from the hierarchy's first level down to dir (the hierarchy's mount point
 * followed by an absolute cgroup path), top first; stops at the first error. */
static int each_level(const char *hierarchy, const char *dir, int (*fn)(char *level, void *userdata),
                      void *userdata)
{
    _cleanup_free_ char *p = strdup(dir);
    if (!p)
        return -ENOMEM;
    for (char *s = p + strlen(hierarchy) + 1;; s++) {
        if (*s != '/' && *s)
            continue;
        char saved = *s;
        *s = '\0';
        int r = fn(p, userdata);
        if (r < 0 || !saved)
            return r;
        *s = saved;
    }
}

/* A missing level is created and recorded in the array `created` (parents come first). */
static int make_level(char *level, void *created)
{
    if (mkdir(level, 0755) == 0)
        return json_array_append_new(created, json_string(level)) < 0 ? -ENOMEM : 0;
    return errno == EEXIST ? 0 : -errno;
}

/* cgroup v1's cpuset refuses a process in a cgroup whose cpus or mems are empty, which a new one's are: they
 * are copied from the parent, top down, as runc and crun do. */
static int fill_cpuset_level(char *level, void *userdata)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    (void)userdata;
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        _cleanup_free_ char *mine = path_join(level, files[i]), *value = NULL, *parent_value = NULL;
        char *slash = strrchr(level, '/');
        *slash = '\0';
        _cleanup_free_ char *parents = path_join(level, files[i]);
        *slash = '/';
        if (!mine || !parents)
            return -ENOMEM;
        if (read_line(mine, &value) < 0 || *value)
            continue;
        int r = read_line(parents, &parent_value);
        if (r < 0 || (r = write_file_once(mine, parent_value)) < 0)
            return r;
    }
    return 0;
}

static int write_value(const char *dir, const char *file, const char *value)
{
    _cleanup_free_ char *path = path_join(dir, file);
    if (!path)
        return -ENOMEM;
    int r = write_file_once(path, value);
    if (r < 0)
        return log_error_errno(r, "cannot write %s to %s: %m", value, path);
    return 0;
}

static bool get_int(const json_t *res, const char *key, const char *sub, json_int_t *ret)
{
    const json_t *v = json_object_get(json_object_get(res, key), sub);
    if (!json_is_integer(v))
        return false;
    *ret = json_integer_value(v);
    return true;
}

/* runc's conversion of cgroup v1 CPU shares (2..262144) to a cgroup2 weight (1..10000). */
static json_int_t shares_to_weight(json_int_t shares)
{
    return shares <= 0 ? 100 : 1 + ((shares - 2) * 9999) / 262142;
}

/* A limit of -1 (or 0 for pids) is none. */
static void limit_text(json_int_t v, const char *none, char *buf, size_t size)
{
    if (v < 0)
        snprintf(buf, size, "%s", none);
    else
        snprintf(buf, size, "%" PRId64, (int64_t)v);
}

/* Writes resources.KEY.SUB to FILE when it is set and not 0. A negative value means no limit: written as
 * `none`, or skipped when none is NULL (a value that has no such meaning). Returns 0 or -errno (logged). */
static int write_resource(const char *dir, const char *file, const json_t *res, const char *key,
                          const char *sub, const char *none)
{
    json_int_t x;
    char v[64];
    if (!get_int(res, key, sub, &x) || x == 0 || (x < 0 && !none))
        return 0;
    limit_text(x, none, v, sizeof(v));
    return write_value(dir, file, v);
}

static int write_v1(const struct cgroup_membership *m, const char *dir, const json_t *res)
{
    int r = 0;
    if (cgroup_membership_has(m, "cpu") &&
        ((r = write_resource(dir, "cpu.shares", res, "cpu", "shares", NULL)) < 0 ||
         (r = write_resource(dir, "cpu.cfs_period_us", res, "cpu", "period", NULL)) < 0 ||
         (r = write_resource(dir, "cpu.cfs_quota_us", res, "cpu", "quota", "-1")) < 0))
        return r;
    if (cgroup_membership_has(m, "memory") &&
        ((r = write_resource(dir, "memory.limit_in_bytes", res, "memory", "limit", "-1")) < 0 ||
         (r = write_resource(dir, "memory.soft_limit_in_bytes", res, "memory", "reservation", "-1")) < 0))
        return r;
    if (cgroup_membership_has(m, "pids"))
        return write_resource(dir, "pids.max", res, "pids", "limit", "max");
    return 0;
}

static int write_v2(const char *dir, const json_t *res)
{
    char v[64];
    json_int_t x, period = 100000;
    int r = 0;
    if (get_int(res, "cpu", "shares", &x) && x > 0 &&
        (snprintf(v, sizeof(v), "%" PRId64, (int64_t)shares_to_weight(x)),
         (r = write_value(dir, "cpu.weight", v)) < 0))
        return r;
    bool has_period = get_int(res, "cpu", "period", &period) && period > 0;
    if (get_int(res, "cpu", "quota", &x) && x != 0) {
        if (x < 0)
            snprintf(v, sizeof(v), "max %" PRId64, (int64_t)(has_period ? period : 100000));
        else
            snprintf(v, sizeof(v), "%" PRId64 " %" PRId64, (int64_t)x,
                     (int64_t)(has_period ? period : 100000));
        if ((r = write_value(dir, "cpu.max", v)) < 0)
            return r;
    }
    if ((r = write_resource(dir, "memory.max", res, "memory", "limit", "max")) < 0 ||
        (r = write_resource(dir, "memory.low", res, "memory", "reservation", "max")) < 0)
        return r;
    return write_resource(dir, "pids.max", res, "pids", "limit", "max");
}

/* The container's cgroup in every hierarchy this process belongs to, resources written; its cgroup.procs
 * files in *ret_files. */
static int setup_cgroups(const json_t *linux_, json_t *created, char ***ret_files)
{
    const char *path = json_string_value(json_object_get(linux_, "cgroupsPath"));
    const json_t *res = json_object_get(linux_, "resources");
    struct cgroup_memberships m;
    int r = cgroup_memberships_of(0, NULL, &m);
    if (r < 0)
        return r;
    for (size_t i = 0; i < m.n && r >= 0; i++) {
        _cleanup_free_ char *dir = cgroup_dir(&m.items[i], path);
        if (!dir) {
            r = log_error_errno(ENOMEM, "out of memory");
            break;
        }
        if ((r = each_level(m.items[i].hierarchy, dir, make_level, created)) < 0) {
            r = log_error_errno(r, "cannot create cgroup %s: %m", dir);
            break;
        }
        if (cgroup_membership_has(&m.items[i], "cpuset") &&
            (r = each_level(m.items[i].hierarchy, dir, fill_cpuset_level, NULL)) < 0) {
            r = log_error_errno(r, "cannot fill cpuset.cpus and cpuset.mems of %s: %m", dir);
            break;
        }
        r = m.items[i].controllers[0] ? write_v1(&m.items[i], dir, res) : write_v2(dir, res);
    }
    if (r >= 0 && !(*ret_files = cgroup_procs_files(&m, path)))
        r = log_error_errno(ENOMEM, "out of memory");
    cgroup_memberships_free(&m);
    return r;
}

/* ---- the init ---- */

/* The hostname of the container's own UTS namespace, or NULL when it has none. */
static const char *uts_hostname(const json_t *config)
{
    return json_array_size(json_object_get(json_object_get(config, "linux"), "namespaces"))
               ? json_string_value(json_object_get(config, "hostname"))
               : NULL;
}

/* A new exec fifo, opened for reading without blocking (crun's side of it, exec-fifo.h), at or above fd
 * `above` so that it cannot sit among the fds the process keeps. */
static int open_fifo(const char *path, int above)
{
    (void)unlink(path);
    if (mkfifo(path, 0600) < 0)
        return log_error_errno(errno, "cannot create the exec fifo %s: %m", path);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return log_error_errno(errno, "cannot open the exec fifo %s: %m", path);
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, above);
    if (moved < 0)
        return log_error_errno(errno, "cannot move the exec fifo's fd: %m");
    return moved;
}

static void now_rfc3339(char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
}

int own_init_create(const char *root, const json_t *config, int preserve_fds, struct container_state *s)
{
    char error[256] = "";
    _cleanup_(exec_process_done) struct exec_process p = {0};
    int r = exec_process_parse(json_object_get(config, "process"), &p, error, sizeof(error));
    if (r < 0)
        return r == -EINVAL ? log_error_errno(r, "config.json: %s", error) : log_error_errno(r, "%m");
    scmp_filter_ctx seccomp = NULL;
    const json_t *linux_ = json_object_get(config, "linux");
    r = oci_seccomp_compile(json_object_get(linux_, "seccomp"), &seccomp, error, sizeof(error));
    if (r < 0)
        return r == -EINVAL ? log_error_errno(r, "config.json: %s", error)
                            : log_error_errno(r, "cannot build the seccomp filter: %m");
    char **cgroup_files = NULL;
    _cleanup_free_ char *fifo = own_init_fifo(root, s->id);
    int fifo_fd = -1;
    if (!fifo) {
        r = log_error_errno(ENOMEM, "out of memory");
        goto out;
    }
    if ((r = setup_cgroups(linux_, s->cgroup_dirs, &cgroup_files)) < 0 ||
        (r = fifo_fd = open_fifo(fifo, 3 + preserve_fds)) < 0)
        goto out;
    struct process_child child = {.p = &p,
                                  .rootfs = s->rootfs,
                                  .cgroup_files = cgroup_files,
                                  .pty_slave = -1,
                                  .preserve_fds = preserve_fds,
                                  .seccomp = seccomp,
                                  .hostname = uts_hostname(config),
                                  .start_fd = fifo_fd};
    char msg[1024];
    pid_t pid = process_child_start(&child, msg, sizeof(msg));
    if (pid < 0) {
        r = pid == -EIO ? log_error_errno(EIO, "cannot start the container's init: %s", msg)
                        : log_error_errno((int)-pid, "cannot start the container's init: %m");
        goto out;
    }
    char st, created[64];
    s->init_pid = pid;
    if ((r = process_stat(pid, &st, &s->init_start_time)) < 0) {
        r = log_error_errno(r, "the container's init %d is gone: %m", (int)pid);
        goto out;
    }
    now_rfc3339(created, sizeof(created));
    free(s->created);
    if (!(s->created = strdup(created)))
        r = log_error_errno(ENOMEM, "out of memory");
out:
    strv_free(cgroup_files);
    if (seccomp)
        seccomp_release(seccomp);
    if (fifo_fd >= 0)
        close(fifo_fd);
    return r;
}

json_t *own_init_state(const char *root, const struct container_state *s, int init_alive)
{
    _cleanup_free_ char *fifo = own_init_fifo(root, s->id);
    const char *status = init_alive != 1 ? "stopped" : fifo && path_exists(fifo) ? "created" : "running";
    _cleanup_json_ json_t *config = json_load_file(s->config_path, 0, NULL);
    json_t *annotations = json_object_get(config, "annotations");
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:O?}", "ociVersion", "1.0.2", "id", s->id,
                     "pid", init_alive == 1 ? s->init_pid : 0, "status", status, "bundle", s->bundle,
                     "rootfs", s->rootfs, "created", s->created ? s->created : "1970-01-01T00:00:00Z",
                     "owner", "", "annotations", annotations);
}
