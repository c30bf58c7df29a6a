#include "runtime-exec.h"

#include "components.h"
#include "fileutil.h"
#include "log.h"
#include "spawn.h"
#include "words.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

const char *oci_runtime_kind_name(enum oci_runtime_kind kind)
{
    return kind == OCI_RUNTIME_RUNC ? "runc" : "crun";
}

static enum oci_runtime_kind kind_of_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strstr(base, "runc") ? OCI_RUNTIME_RUNC : OCI_RUNTIME_CRUN;
}

int oci_runtime_at(const struct global_options *g, const char *path, enum oci_runtime_kind kind,
                   struct oci_runtime *ret)
{
    *ret = (struct oci_runtime){
        .kind = kind, .path = strdup(path), .root = path_join(g->root, oci_runtime_kind_name(kind))};
    if (!ret->path || !ret->root) {
        oci_runtime_done(ret);
        return log_error_errno(ENOMEM, "out of memory");
    }
    return 0;
}

int oci_runtime_select(const struct global_options *g, struct oci_runtime *ret)
{
    const char *want = getenv("KIG_OCI_RUNTIME");
    _cleanup_free_ char *path = NULL;
    if (want && *want) {
        if (strcmp(want, "crun") == 0 || strcmp(want, "runc") == 0) {
            enum component c = strcmp(want, "crun") == 0 ? COMPONENT_CRUN : COMPONENT_RUNC;
            int r = component_require(c, &path);
            if (r < 0)
                return r;
        } else {
            path = find_executable(want);
            if (!path)
                return log_error_errno(ENOENT,
                                       "KIG_OCI_RUNTIME=%s is not an executable; set it to crun, runc "
                                       "or a runtime's path",
                                       want);
        }
        return oci_runtime_at(g, path, kind_of_path(path), ret);
    }
    path = component_path(COMPONENT_CRUN);
    if (path)
        return oci_runtime_at(g, path, OCI_RUNTIME_CRUN, ret);
    path = component_path(COMPONENT_RUNC);
    if (path)
        return oci_runtime_at(g, path, OCI_RUNTIME_RUNC, ret);
    return log_error_errno(ENOENT, "no OCI runtime found: run 'apt-get install crun' (or runc), or set "
                                   "KIG_OCI_RUNTIME");
}

void oci_runtime_done(struct oci_runtime *rt)
{
    free(rt->path);
    free(rt->root);
    rt->path = rt->root = NULL;
}

void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

struct argv_builder {
    char **v;
    size_t n, cap;
    bool failed;
};

static void push(struct argv_builder *b, const char *s)
{
    if (b->failed)
        return;
    if (b->n + 2 > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 32;
        char **nv = realloc(b->v, ncap * sizeof(*nv));
        if (!nv) {
            b->failed = true;
            return;
        }
        b->v = nv;
        b->cap = ncap;
    }
    b->v[b->n] = strdup(s);
    if (!b->v[b->n]) {
        b->failed = true;
        return;
    }
    b->v[++b->n] = NULL;
}

static int push_word(const char *word, void *builder)
{
    push(builder, word);
    return 0;
}

static void push_trace_prefix(struct argv_builder *b)
{
    const char *trace = getenv("KIG_TRACE");
    if (!trace || !*trace)
        return;
    push(b, trace);
    if (split_words(getenv("KIG_TRACE_ARGS"), push_word, b) < 0)
        b->failed = true;
    push(b, "--");
}

char **oci_runtime_argv(const struct oci_runtime *rt, const struct global_options *g, bool with_log,
                        const char *const *args, size_t n_args)
{
    struct argv_builder b = {0};
    push_trace_prefix(&b);
    push(&b, rt->path);
    push(&b, "--root");
    push(&b, rt->root);
    if (with_log && g->log_path) {
        push(&b, "--log");
        push(&b, g->log_path);
        if (g->log_format) {
            push(&b, "--log-format");
            push(&b, g->log_format);
        }
    }
    if (g->debug)
        push(&b, "--debug");
    if (g->systemd_cgroup)
        push(&b, "--systemd-cgroup");
    /* crun has no --criu, and parses --rootless as --root. */
    if (rt->kind == OCI_RUNTIME_RUNC && g->criu) {
        push(&b, "--criu");
        push(&b, g->criu);
    }
    if (rt->kind == OCI_RUNTIME_RUNC && g->rootless) {
        _cleanup_free_ char *opt = NULL;
        if (asprintf(&opt, "--rootless=%s", g->rootless) < 0)
            b.failed = true;
        else
            push(&b, opt);
    }
    for (size_t i = 0; i < n_args; i++)
        push(&b, args[i]);
    if (b.failed || !b.v) {
        strv_free(b.v);
        return NULL;
    }
    return b.v;
}

int oci_runtime_sealed_copy(const char *path)
{
    _cleanup_close_ int src = open(path, O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return negative_errno();
    _cleanup_close_ int fd = memfd_create("kig-runtime-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return negative_errno();
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = read(src, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return negative_errno();
        if (n == 0)
            break;
        int r = write_all(fd, buf, (size_t)n);
        if (r < 0)
            return r;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        return negative_errno();
    return TAKE_FD(fd);
}

/* crun and runc re-execute themselves from a sealed memfd unless they already run from one (or from a
 * read-only file system, which gVisor 20221219's statfs never reports): the guard against CVE-2019-5736,
 * a container overwriting the runtime's binary. Each re-exec is a whole second program start, and under
 * gVisor's ptrace platform a start costs 0.1-0.5 s. kig-runtime hands them that sealed copy itself, which
 * keeps the guard and saves the start. Under KIG_TRACE the path goes to kig-trace, so no copy then; and
 * when a copy cannot be made, the runtime makes its own. */
static int runtime_exec_fd(const struct oci_runtime *rt)
{
    const char *trace = getenv("KIG_TRACE");
    if (trace && *trace)
        return -EOPNOTSUPP;
    int fd = oci_runtime_sealed_copy(rt->path);
    if (fd < 0)
        log_debug_errno(fd, "no sealed copy of %s (%m): it will make its own", rt->path);
    return fd;
}

int oci_runtime_run(const struct oci_runtime *rt, const struct global_options *g, const char *const *args,
                    size_t n_args, const char *cwd, int *ret_exit_code)
{
    char **argv = oci_runtime_argv(rt, g, true, args, n_args);
    if (!argv)
        return log_error_errno(ENOMEM, "out of memory");
    struct spawn_options o = {
        .argv = (const char *const *)argv,
        .cwd = cwd,
        .stdin_fd = SPAWN_INHERIT,
        .stdout_fd = SPAWN_INHERIT,
        .stderr_fd = SPAWN_INHERIT,
        .die_with_parent = true,
    };
    _cleanup_close_ int exec_fd = runtime_exec_fd(rt);
    o.exec_from_fd = exec_fd >= 0;
    o.exec_fd = exec_fd;
    pid_t pid;
    int r = spawn_process(&o, &pid);
    if (r < 0) {
        log_error_errno(r, "cannot run %s: %m", argv[0]);
        strv_free(argv);
        return r;
    }
    strv_free(argv);
    int status;
    r = wait_pid_timeout(pid, -1, &status);
    if (r < 0)
        return log_error_errno(r, "waiting for %s: %m", rt->path);
    *ret_exit_code = wait_status_to_exit_code(status);
    return 0;
}

int oci_runtime_exec(const struct oci_runtime *rt, const struct global_options *g, const char *const *args,
                     size_t n_args)
{
    char **argv = oci_runtime_argv(rt, g, true, args, n_args);
    if (!argv)
        return log_error_errno(ENOMEM, "out of memory");
    fflush(NULL);
    _cleanup_close_ int exec_fd = runtime_exec_fd(rt);
    if (exec_fd >= 0)
        fexecve(exec_fd, argv, environ);
    execv(argv[0], argv);
    int r = log_error_errno(errno, "cannot run %s: %m", argv[0]);
    strv_free(argv);
    return r;
}

int oci_runtime_state(const struct oci_runtime *rt, const struct global_options *g, const char *id,
                      json_t **ret)
{
    const char *args[] = {"state", id};
    char **argv = oci_runtime_argv(rt, g, false, args, ARRAY_SIZE(args));
    if (!argv)
        return log_error_errno(ENOMEM, "out of memory");
    _cleanup_free_ char *out = NULL, *err = NULL;
    int status;
    int r = run_capture((const char *const *)argv, &out, &err, 30000, &status);
    strv_free(argv);
    if (r < 0)
        return log_error_errno(r, "cannot run %s state: %m", rt->path);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* crun: "error opening file `.../status`: No such file or directory"; runc: "container does not
         * exist". Anything else is a real failure. */
        if (strstr(err, "No such file") || strstr(err, "does not exist") || strstr(err, "not exist"))
            return -ENOENT;
        err[strcspn(err, "\n")] = '\0';
        return log_error_errno(EIO, "%s state %s failed: %s", rt->path, id, err);
    }
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        return log_error_errno(EIO, "%s state %s printed no JSON object", rt->path, id);
    }
    *ret = j;
    return 0;
}
