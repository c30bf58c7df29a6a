/* `create`: read the bundle's config.json, rewrite it for the sandbox, make the mounts the runtime cannot,
 * and run the real runtime's create on the result. */
#include "cli.h"
#include "container.h"
#include "fileutil.h"
#include "log.h"
#include "own-init.h"
#include "process-child.h"
#include "rootfs-mounts.h"
#include "runtime-exec.h"
#include "sandbox-features.h"
#include "spec-rewrite.h"
#include "state.h"

#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

enum {
    OPT_BUNDLE,
    OPT_CONSOLE_SOCKET,
    OPT_PID_FILE,
    OPT_NO_PIVOT,
    OPT_NO_NEW_KEYRING,
    OPT_PRESERVE_FDS,
    OPT_DETACH,
    _OPT_MAX,
};

static const struct cli_option create_options[_OPT_MAX] = {
    [OPT_BUNDLE] = {"bundle", 'b', true},
    [OPT_CONSOLE_SOCKET] = {"console-socket", 0, true},
    [OPT_PID_FILE] = {"pid-file", 0, true},
    [OPT_NO_PIVOT] = {"no-pivot", 0, false},
    [OPT_NO_NEW_KEYRING] = {"no-new-keyring", 0, false},
    [OPT_PRESERVE_FDS] = {"preserve-fds", 0, true},
    [OPT_DETACH] = {"detach", 'd', false},
};

struct create_request {
    const char *id;
    char *bundle; /* absolute */
    const char *values[_OPT_MAX];
};

static int load_config(const char *bundle, json_t **ret)
{
    _cleanup_free_ char *path = path_join(bundle, "config.json");
    if (!path)
        return log_error_errno(ENOMEM, "out of memory");
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_file(path, &text, &len, 0);
    if (r < 0)
        return log_error_errno(r, "cannot read %s: %m; is --bundle the bundle directory?", path);
    json_error_t err;
    json_t *j = json_loadb(text, len, 0, &err);
    if (!j)
        return log_error_errno(EINVAL, "%s is not valid JSON: %s at line %d column %d", path, err.text,
                               err.line, err.column);
    if (!json_is_object(j)) {
        json_decref(j);
        return log_error_errno(EINVAL, "%s is not a JSON object", path);
    }
    *ret = j;
    return 0;
}

/* The absolute, symlink-free rootfs of a config, checked to be a directory. */
static int resolve_rootfs(const json_t *config, const char *bundle, char **ret)
{
    const char *root = json_string_value(json_object_get(json_object_get(config, "root"), "path"));
    if (!root || !*root)
        return log_error_errno(EINVAL, "%s/config.json has no root.path: set it to the rootfs directory",
                               bundle);
    _cleanup_free_ char *joined = root[0] == '/' ? strdup(root) : path_join(bundle, root);
    if (!joined)
        return log_error_errno(ENOMEM, "out of memory");
    char real[PATH_MAX];
    if (!realpath(joined, real) || !is_dir(real))
        return log_error_errno(errno ? errno : ENOTDIR,
                               "rootfs %s does not exist or is not a directory (%m): "
                               "check root.path in %s/config.json",
                               joined, bundle);
    *ret = strdup(real);
    return *ret ? 0 : log_error_errno(ENOMEM, "out of memory");
}

static bool config_has_namespace(const json_t *config, const char *type)
{
    size_t i;
    const json_t *n;
    json_array_foreach(json_object_get(json_object_get(config, "linux"), "namespaces"), i, n)
    {
        const char *t = json_string_value(json_object_get(n, "type"));
        if (t && strcmp(t, type) == 0)
            return true;
    }
    return false;
}

static int write_rewritten_bundle(const struct global_options *g, const char *id, json_t *config,
                                  const char *rootfs, const json_t *rewrites, char **ret_bundle)
{
    _cleanup_free_ char *dir = container_state_dir(g->root, id);
    _cleanup_free_ char *bundle = dir ? path_join(dir, "bundle") : NULL;
    _cleanup_free_ char *config_path = bundle ? path_join(bundle, "config.json") : NULL;
    _cleanup_free_ char *rewrites_path = dir ? path_join(dir, "rewrites") : NULL;
    if (!config_path || !rewrites_path)
        return log_error_errno(ENOMEM, "out of memory");
    int r = mkdir_p(bundle, 0700);
    if (r < 0)
        return log_error_errno(r, "cannot create %s: %m", bundle);
    /* The runtime runs in the original bundle directory (relative mount sources stay valid), but reads this
     * config: its root.path must not depend on where the config lives. */
    json_object_set_new(json_object_get(config, "root"), "path", json_string(rootfs));
    _cleanup_free_ char *text = json_dumps(config, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text)
        return log_error_errno(ENOMEM, "out of memory");
    if ((r = write_file_atomic(config_path, text, strlen(text), 0600)) < 0)
        return log_error_errno(r, "cannot write %s: %m", config_path);

    size_t i;
    const json_t *line;
    _cleanup_free_ char *all = strdup("");
    json_array_foreach(rewrites, i, line)
    {
        char *n = NULL;
        if (!all || asprintf(&n, "%s%s\n", all, json_string_value(line)) < 0)
            return log_error_errno(ENOMEM, "out of memory");
        free(all);
        all = n;
    }
    if (!all || (r = write_file_atomic(rewrites_path, all, strlen(all), 0644)) < 0)
        return log_error_errno(r < 0 ? r : -ENOMEM, "cannot write %s: %m", rewrites_path);
    *ret_bundle = TAKE_PTR(bundle);
    return 0;
}

static void log_rewrites(const char *id, const json_t *rewrites)
{
    size_t i;
    const json_t *line;
    json_array_foreach(rewrites, i, line)
        log_info("container %s: relaxed for this sandbox: %s", id, json_string_value(line));
}

/* A container given a UTS namespace of its own instead of its pod's (spec_rewrite) gets the pod's hostname,
 * which the CRI wrote to the file it mounts at /etc/hostname. Without it the container keeps the sandbox's
 * name, as it did before: worth a warning, not a failure. */
static void set_pod_hostname(struct spec_rewrite *rw)
{
    if (!rw->hostname_file[0])
        return;
    _cleanup_free_ char *name = NULL;
    int r = read_line(rw->hostname_file, &name);
    size_t len = r < 0 ? 0 : strlen(name);
    if (len == 0 || len > 64 || strchr(name, '/')) {
        log_warn("the pod's hostname file %s is unreadable or not a hostname (%s): the container keeps the "
                 "sandbox's hostname",
                 rw->hostname_file, r < 0 ? strerror(-r) : "bad content");
        return;
    }
    if (json_object_set_new(rw->config, "hostname", json_string(name)) < 0)
        log_warn("cannot set the hostname \"%s\" (not UTF-8?): the container keeps the sandbox's", name);
}

/* The runtime's create command line, from ours and what the rewrite asks for. */
static size_t build_create_args(const struct create_request *q, const struct spec_rewrite *rw,
                                const char *bundle, const char **args)
{
    size_t n = 0;
    args[n++] = "create";
    args[n++] = "--bundle";
    args[n++] = bundle;
    if (q->values[OPT_PID_FILE]) {
        args[n++] = "--pid-file";
        args[n++] = q->values[OPT_PID_FILE];
    }
    if (q->values[OPT_CONSOLE_SOCKET]) {
        args[n++] = "--console-socket";
        args[n++] = q->values[OPT_CONSOLE_SOCKET];
    }
    if (cli_true(q->values[OPT_NO_PIVOT]) && !rw->forbid_no_pivot)
        args[n++] = "--no-pivot";
    if (cli_true(q->values[OPT_NO_NEW_KEYRING]) || rw->no_new_keyring)
        args[n++] = "--no-new-keyring";
    if (q->values[OPT_PRESERVE_FDS]) {
        args[n++] = "--preserve-fds";
        args[n++] = q->values[OPT_PRESERVE_FDS];
    }
    args[n++] = q->id;
    return n;
}

/* Remembers which process is the container's init, to tell later whether it still runs. */
static void record_init(const struct global_options *g, const struct oci_runtime *rt, const char *pid_file,
                        struct container_state *s)
{
    /* The pid file the runtime just wrote spares a `runtime state` (each process start costs in gVisor). */
    _cleanup_free_ char *line = NULL;
    if (pid_file && read_line(pid_file, &line) == 0)
        s->init_pid = atoi(line);
    else {
        _cleanup_json_ json_t *state = NULL;
        if (oci_runtime_state(rt, g, s->id, &state) < 0)
            return;
        s->init_pid = (int)json_integer_value(json_object_get(state, "pid"));
    }
    char st;
    if (process_stat(s->init_pid, &st, &s->init_start_time) == 0)
        (void)container_state_save(g->root, s);
}

/* Every create needs the sandbox's features; the kernel's part is probed once per runtime root. */
static int features_for_create(const struct global_options *g, struct runtime_features *f)
{
    _cleanup_free_ char *scratch = path_join(g->root, "kig");
    _cleanup_free_ char *cache = path_join(g->root, "kig-features.json"); /* beside R/kig/ID: not an id */
    if (!scratch || !cache)
        return log_error_errno(ENOMEM, "out of memory");
    if (mkdir_p(scratch, 0700) < 0)
        runtime_features_probe(f, scratch);
    else
        runtime_features_probe_cached(f, scratch, cache);
    return runtime_features_load_env(f);
}

static void undo_create(const struct global_options *g, struct container_state *s)
{
    if (s->mounted)
        rootfs_mounts_undo(s->mounted);
    /* Without a mount namespace what the runtime mounted before it failed is the sandbox's too, and would
     * keep containerd from unmounting the rootfs ("device or resource busy"). */
    if (s->shares_mounts && s->rootfs)
        (void)unmount_below(s->rootfs);
    /* Deepest first: the list has parents before their children. */
    for (size_t i = json_array_size(s->cgroup_dirs); i > 0; i--)
        (void)rmdir(json_string_value(json_array_get(s->cgroup_dirs, i - 1)));
    container_state_remove(g->root, s->id);
}

/* Whether kig-runtime runs the container's init itself (own-init.h); if so, a line among the rewrites
 * says so. Only where setns is missing, as for its `exec`: with setns the runtime keeps every container,
 * and a full host gets the runtime it asked for, unchanged. */
static int choose_init(struct spec_rewrite *rw, const struct oci_runtime *rt,
                       const struct runtime_features *f, bool *ret)
{
    *ret = false;
    bool sandbox = spec_is_pod_sandbox(rw->config);
    if (f->setns || !own_init_enabled(sandbox))
        return 0;
    char why[256];
    const char *runtime = oci_runtime_kind_name(rt->kind);
    if (!own_init_eligible(rw->config, rw->kig_mounts, why, sizeof(why))) {
        log_debug("the container's init goes to %s: %s", runtime, why);
        return 0;
    }
    _cleanup_free_ char *line = NULL;
    int n = sandbox ? asprintf(&line,
                               "pod sandbox container run by kig-runtime itself, without %s: nothing is left "
                               "for a runtime to do (no namespace, no mount, no hook); no /dev or /proc is "
                               "mounted for it",
                               runtime)
                    : asprintf(&line,
                               "container run by kig-runtime itself, without %s: nothing is left for a "
                               "runtime to do (no namespace to make or join, no hook, the mounts made by "
                               "kig-runtime)",
                               runtime);
    if (n < 0 || json_array_append_new(rw->rewrites, json_string(line)) < 0)
        return log_error_errno(ENOMEM, "out of memory");
    *ret = true;
    return 0;
}

static int create_kig_init(const struct global_options *g, const struct create_request *q,
                           const struct spec_rewrite *rw, struct container_state *s)
{
    const char *preserve = q->values[OPT_PRESERVE_FDS];
    int r = own_init_create(g->root, rw->config, preserve ? atoi(preserve) : 0, s);
    if (r >= 0 && q->values[OPT_PID_FILE])
        r = write_pid_file(q->values[OPT_PID_FILE], s->init_pid);
    if (r >= 0)
        r = container_state_save(g->root, s);
    if (r < 0) {
        if (s->init_pid > 0 && kill(s->init_pid, SIGKILL) == 0)
            (void)waitpid(s->init_pid, NULL, 0); /* out of its cgroups before they are removed */
        undo_create(g, s);
    }
    return r;
}

static int do_create(const struct global_options *g, struct create_request *q)
{
    if (container_exists(g, q->id))
        return log_error_errno(EEXIST, "container with id %s already exists", q->id);
    _cleanup_json_ json_t *config = NULL;
    int r = load_config(q->bundle, &config);
    if (r < 0)
        return r;
    _cleanup_free_ char *rootfs = NULL;
    if ((r = resolve_rootfs(config, q->bundle, &rootfs)) < 0)
        return r;
    _cleanup_(oci_runtime_done) struct oci_runtime rt = {0};
    if ((r = oci_runtime_select(g, &rt)) < 0)
        return r;
    struct runtime_features f;
    if ((r = features_for_create(g, &f)) < 0)
        return r;
    _cleanup_(spec_rewrite_done) struct spec_rewrite rw = {0};
    if ((r = spec_rewrite(config, &f, rt.kind, &rw)) < 0)
        return r == -EINVAL ? log_error_errno(r, "%s (in %s)", rw.error, q->bundle)
                            : log_error_errno(r, "cannot rewrite config.json: %m");

    set_pod_hostname(&rw);
    bool kig_init = false;
    if ((r = choose_init(&rw, &rt, &f, &kig_init)) < 0)
        return r;

    _cleanup_(container_state_done) struct container_state s = {
        .id = strdup(q->id),
        .bundle = strdup(q->bundle),
        .rootfs = strdup(rootfs),
        .runtime_path = strdup(rt.path),
        .runtime = rt.kind,
        .kig_exec = !f.setns,
        .kig_init = kig_init,
        .shares_mounts = !config_has_namespace(rw.config, "mount"),
        .mounted = json_array(),
        .cgroup_dirs = json_array(),
    };
    _cleanup_free_ char *bundle = NULL;
    bool changed = json_array_size(rw.rewrites) > 0 || rw.kig_mounts;
    if (changed) {
        if ((r = write_rewritten_bundle(g, q->id, rw.config, rootfs, rw.rewrites, &bundle)) < 0) {
            container_state_remove(g->root, q->id);
            return r;
        }
        log_rewrites(q->id, rw.rewrites);
    } else
        bundle = strdup(q->bundle);
    s.config_path = bundle ? path_join(bundle, "config.json") : NULL;
    if (!s.id || !s.bundle || !s.rootfs || !s.runtime_path || !s.config_path || !s.mounted || !s.cgroup_dirs)
        return log_error_errno(ENOMEM, "out of memory");
    /* Recorded before anything is mounted, so that `delete` can undo a create that dies halfway. */
    if ((r = container_state_save(g->root, &s)) < 0)
        return r;
    /* A pod sandbox's own init mounts nothing: its plan holds only what the runtimes need themselves. */
    if (kig_init && spec_is_pod_sandbox(rw.config))
        return create_kig_init(g, q, &rw, &s);
    if (rw.kig_mounts) {
        const char *cgroups_path =
            json_string_value(json_object_get(json_object_get(rw.config, "linux"), "cgroupsPath"));
        r = rootfs_mounts_apply(rw.kig_mounts, rootfs, q->bundle, cgroups_path, s.mounted, s.cgroup_dirs);
        int saved = container_state_save(g->root, &s);
        if (r < 0 || saved < 0) {
            undo_create(g, &s);
            return r < 0 ? r : saved;
        }
    }
    if (kig_init)
        return create_kig_init(g, q, &rw, &s);
    if ((r = mkdir_p(rt.root, 0700)) < 0) {
        undo_create(g, &s);
        return log_error_errno(r, "cannot create %s: %m", rt.root);
    }
    const char *args[16];
    size_t n = build_create_args(q, &rw, bundle, args);
    int code;
    if ((r = oci_runtime_run(&rt, g, args, n, q->bundle, &code)) < 0 || code != 0) {
        /* The runtime has logged why; a line of ours after it would hide it from the shim. */
        undo_create(g, &s);
        return r < 0 ? r : -ECANCELED;
    }
    record_init(g, &rt, q->values[OPT_PID_FILE], &s);
    return 0;
}

int cmd_create(const struct global_options *g, int argc, char **argv)
{
    struct create_request q = {0};
    int first = cli_parse("create", create_options, _OPT_MAX, argc, argv, q.values, -1, NULL, NULL);
    if (first < 0)
        return 1;
    if (first != argc - 1) {
        log_error("create: expected exactly one container id; usage: kig-runtime create [--bundle DIR] ID");
        return 1;
    }
    q.id = argv[first];
    if (!container_id_check(q.id))
        return 1;
    char cwd[PATH_MAX];
    const char *b = q.values[OPT_BUNDLE];
    if (!b || !*b)
        b = getcwd(cwd, sizeof(cwd)) ? cwd : ".";
    char real[PATH_MAX];
    if (!realpath(b, real)) {
        log_error_errno(errno, "bundle %s: %m", b);
        return 1;
    }
    q.bundle = real;
    return do_create(g, &q) < 0 ? 1 : 0;
}
