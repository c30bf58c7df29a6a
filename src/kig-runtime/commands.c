/* The commands that mostly hand over to the real runtime: start (done here when it is only the release of
 * the init, exec-fifo.h), state, kill and the pass-through ones, plus kig-runtime's own `probe` and
 * `rewrite`. */
#include "cgroups.h"
#include "cli.h"
#include "container.h"
#include "exec-fifo.h"
#include "fileutil.h"
#include "log.h"
#include "mountinfo.h"
#include "own-init.h"
#include "sandbox-features.h"
#include "spec-rewrite.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The single container id of a command that takes only that. */
static const char *only_id(const char *command, int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        log_error("%s: expected exactly one container id; usage: kig-runtime %s ID", command, command);
        return NULL;
    }
    return container_id_check(argv[1]) ? argv[1] : NULL;
}

static int exec_runtime(const struct global_options *g, const struct oci_runtime *rt, int argc, char **argv)
{
    oci_runtime_exec(rt, g, (const char *const *)argv, (size_t)argc);
    return 1;
}

static int init_alive(void *userdata)
{
    return container_init_alive(userdata) == 1;
}

/* Whether kig-runtime may release the init itself (exec-fifo.h): a container it created whose init it
 * knows to be waiting, and nothing the runtime's start does besides: crun's poststart hooks, or the
 * systemd notify socket both runtimes forward. Anything else (an unknown container, one started already,
 * a dead init) goes to the runtime, whose errors containerd knows. */
static bool start_without_runtime(const struct container *c)
{
    if (!c->has_state || container_init_alive(c) != 1 || getenv("NOTIFY_SOCKET"))
        return false;
    /* An unreadable config (-EIO) counts as having hooks: the runtime decides, and says what is wrong. */
    return c->rt.kind == OCI_RUNTIME_RUNC ||
           (c->rt.kind == OCI_RUNTIME_CRUN && container_hook_count(c, "poststart") == 0);
}

/* A container whose init kig-runtime runs (own-init.h): its init waits on crun's kind of fifo. */
static int start_kig_init(const struct global_options *g, struct container *c)
{
    _cleanup_free_ char *fifo = own_init_fifo(g->root, c->state.id);
    if (!fifo) {
        log_error("out of memory");
        return 1;
    }
    if (container_init_alive(c) != 1) {
        log_error("cannot start container %s: its init has exited", c->state.id);
        return 1;
    }
    int r = exec_fifo_release(OCI_RUNTIME_CRUN, fifo, NULL, NULL);
    if (r == -ENOENT) {
        log_error("cannot start container %s: it is running already", c->state.id);
        return 1;
    }
    if (r < 0) {
        log_error_errno(r, "cannot start container %s through %s: %m", c->state.id, fifo);
        return 1;
    }
    return 0;
}

int cmd_start(const struct global_options *g, int argc, char **argv)
{
    const char *id = only_id("start", argc, argv);
    if (!id)
        return 1;
    _cleanup_(container_close) struct container c = {0};
    if (container_open(g, id, &c) < 0)
        return 1;
    if (c.has_state && c.state.kig_init)
        return start_kig_init(g, &c);
    if (start_without_runtime(&c)) {
        _cleanup_free_ char *fifo = NULL;
        if (asprintf(&fifo, "%s/%s/exec.fifo", c.rt.root, id) < 0) {
            log_error("out of memory");
            return 1;
        }
        int r = exec_fifo_release(c.rt.kind, fifo, init_alive, &c);
        if (r == 0) {
            log_debug("container %s: started through %s", id, fifo);
            return 0;
        }
        log_debug("container %s: cannot release its init through %s (%s); asking %s", id, fifo, strerror(-r),
                  oci_runtime_kind_name(c.rt.kind));
    }
    return exec_runtime(g, &c.rt, argc, argv);
}

int cmd_state(const struct global_options *g, int argc, char **argv)
{
    const char *id = only_id("state", argc, argv);
    if (!id)
        return 1;
    _cleanup_(container_close) struct container c = {0};
    _cleanup_json_ json_t *state = NULL;
    if (container_open(g, id, &c) < 0)
        return 1;
    if (c.has_state && c.state.kig_init) {
        if (!(state = own_init_state(g->root, &c.state, container_init_alive(&c)))) {
            log_error("out of memory");
            return 1;
        }
    } else if (container_runtime_state(g, &c, id, &state) < 0)
        return 1;
    /* The runtime was given kig-runtime's rewritten bundle; report the one the caller knows. */
    if (c.has_state)
        json_object_set_new(state, "bundle", json_string(c.state.bundle));
    _cleanup_free_ char *text = json_dumps(state, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) {
        log_error("out of memory");
        return 1;
    }
    printf("%s\n", text);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* `kill --all` of a container whose init is gone signals what is left in its cgroup, as runc does; done here,
 * it costs no process start, and works when the runtime's state is half gone (a delete killed midway). */
static int kill_leftovers(const struct container *c, const char *signal_name)
{
    int sig = signal_from_string(signal_name);
    if (sig < 0) {
        log_error("kill: unknown signal '%s'", signal_name);
        return 1;
    }
    _cleanup_free_ char *path = container_cgroups_path(c);
    struct mount_table t;
    if (path && mount_table_read(&t) == 0) {
        unsigned n = cgroup_signal(&t, path, c->state.rootfs, sig);
        if (n)
            log_debug("container %s: signal %d sent to %u processes left in its cgroup", c->state.id, sig, n);
        mount_table_free(&t);
    }
    return 0;
}

/* The init kig-runtime runs (own-init.h), and with --all whatever else is in its cgroup. */
static int kill_kig_init(const struct container *c, const char *signal_name, bool all)
{
    int sig = signal_from_string(signal_name);
    if (sig < 0) {
        log_error("kill: unknown signal '%s'", signal_name);
        return 1;
    }
    if (all)
        (void)kill_leftovers(c, signal_name);
    if (kill(c->state.init_pid, sig) < 0 && errno != ESRCH) {
        log_error_errno(errno, "cannot signal container %s's init %d: %m", c->state.id, c->state.init_pid);
        return 1;
    }
    return 0;
}

int cmd_kill(const struct global_options *g, int argc, char **argv)
{
    static const struct cli_option options[] = {{"all", 'a', false}};
    const char *values[1] = {NULL};
    int first = cli_parse("kill", options, 1, argc, argv, values, -1, NULL, NULL);
    if (first < 0)
        return 1;
    if (first >= argc || argc - first > 2) {
        log_error("kill: usage: kig-runtime kill [--all] ID [SIGNAL]");
        return 1;
    }
    const char *id = argv[first];
    if (!container_id_check(id))
        return 1;
    _cleanup_(container_close) struct container c = {0};
    if (container_open(g, id, &c) < 0)
        return 1;
    /* containerd recognizes runc's words; crun says something else. With --all, runc signals whatever is
     * left in the cgroup even after the init exited. kig-runtime knows the init it created, which spares
     * asking the runtime (a process start). */
    int alive = container_init_alive(&c);
    if (alive < 0) {
        _cleanup_json_ json_t *state = NULL;
        if (container_runtime_state(g, &c, id, &state) < 0)
            return 1;
        alive = strcmp(container_status(state), "stopped") != 0;
    }
    if (!cli_true(values[0]) && !alive) {
        log_error("container not running");
        return 1;
    }
    const char *signal_name = argc - first == 2 ? argv[first + 1] : "TERM";
    if (!alive && c.has_state)
        return kill_leftovers(&c, signal_name);
    if (c.has_state && c.state.kig_init)
        return kill_kig_init(&c, signal_name, cli_true(values[0]));
    return exec_runtime(g, &c.rt, argc, argv);
}

static int print_json(json_t *j)
{
    _cleanup_free_ char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (!text) {
        log_error("out of memory");
        return 1;
    }
    printf("%s\n", text);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* `ps` of a container whose init kig-runtime runs: the processes of its cgroup (runc prints `ps -ef`'s
 * lines; containerd asks for --format json, an array of pids). The other pass-through commands concern
 * what such a container does not have (a freezer, checkpoints, a runtime's events). */
static int kig_init_command(int argc, char **argv, const struct container_state *s)
{
    if (strcmp(argv[0], "ps") != 0) {
        log_error("%s: container %s has an init kig-runtime runs itself, without a runtime "
                  "(docs/runtime.md); it has no %s",
                  argv[0], s->id, argv[0]);
        return 1;
    }
    bool json = false;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--format=json") == 0 || strcmp(argv[i], "-f=json") == 0 ||
            ((strcmp(argv[i], "--format") == 0 || strcmp(argv[i], "-f") == 0) && i + 1 < argc &&
             strcmp(argv[i + 1], "json") == 0))
            json = true;
    struct container c = {.has_state = true, .state = *s};
    _cleanup_free_ char *path = container_cgroups_path(&c);
    struct cgroup_memberships m;
    _cleanup_json_ json_t *pids = json_array();
    if (!pids || !path || cgroup_memberships_of(0, s->rootfs, &m) < 0) {
        log_error("ps: cannot find container %s's cgroup", s->id);
        return 1;
    }
    _cleanup_free_ char *dir = m.n ? cgroup_dir(&m.items[0], path) : NULL;
    _cleanup_free_ char *procs = dir ? path_join(dir, "cgroup.procs") : NULL, *text = NULL;
    cgroup_memberships_free(&m);
    if (!procs || read_file(procs, &text, NULL, 0) < 0) {
        log_error("ps: cannot read container %s's cgroup.procs", s->id);
        return 1;
    }
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (atoi(line) > 0)
            json_array_append_new(pids, json_integer(atoi(line)));
    if (json)
        return print_json(pids);
    printf("PID\n");
    size_t i;
    json_t *pid;
    json_array_foreach(pids, i, pid) printf("%d\n", (int)json_integer_value(pid));
    return fflush(stdout) == 0 ? 0 : 1;
}

/* Commands kig-runtime has nothing to add to: ps, pause, resume, update, events, list, features, spec,
 * checkpoint, restore. The runtime that created a container named on the command line is used. */
int cmd_passthrough(const struct global_options *g, int argc, char **argv)
{
    if (strcmp(argv[0], "run") == 0) {
        log_error("run is not supported: kig-runtime rewrites specs at create; use create, then start");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' || !container_id_valid(argv[i]))
            continue;
        struct container_state s;
        if (container_state_load(g->root, argv[i], &s) == 0) {
            if (s.kig_init) {
                int code = kig_init_command(argc, argv, &s);
                container_state_done(&s);
                return code;
            }
            struct oci_runtime rt;
            int r = oci_runtime_at(g, s.runtime_path, s.runtime, &rt);
            container_state_done(&s);
            if (r < 0)
                return 1;
            exec_runtime(g, &rt, argc, argv);
            oci_runtime_done(&rt);
            return 1;
        }
    }
    _cleanup_(oci_runtime_done) struct oci_runtime rt = {0};
    if (oci_runtime_select(g, &rt) < 0)
        return 1;
    return exec_runtime(g, &rt, argc, argv);
}

int cmd_probe(const struct global_options *g, int argc, char **argv)
{
    if (argc > 1) {
        log_error("probe: unexpected argument '%s'; usage: kig-runtime probe", argv[1]);
        return 1;
    }
    struct runtime_features f;
    _cleanup_free_ char *scratch = path_join(g->root, "kig");
    if (!scratch)
        return 1;
    runtime_features_probe(&f, scratch);
    if (runtime_features_load_env(&f) < 0)
        return 1;
    _cleanup_json_ json_t *j = runtime_features_to_json(&f);
    return print_json(j);
}

int cmd_rewrite(const struct global_options *g, int argc, char **argv)
{
    enum { OPT_RUNTIME, OPT_HOST, _OPT_MAX };
    static const struct cli_option options[_OPT_MAX] = {{"runtime", 0, true}, {"host", 0, false}};
    const char *values[_OPT_MAX] = {NULL};
    int first = cli_parse("rewrite", options, _OPT_MAX, argc, argv, values, -1, NULL, NULL);
    if (first < 0)
        return 1;
    if (first != argc - 1) {
        log_error("rewrite: usage: kig-runtime rewrite [--runtime crun|runc] [--host] CONFIG.json");
        return 1;
    }
    enum oci_runtime_kind kind = OCI_RUNTIME_CRUN;
    if (values[OPT_RUNTIME] && strcmp(values[OPT_RUNTIME], "runc") == 0)
        kind = OCI_RUNTIME_RUNC;
    else if (values[OPT_RUNTIME] && strcmp(values[OPT_RUNTIME], "crun") != 0) {
        log_error("rewrite: --runtime takes crun or runc, not '%s'", values[OPT_RUNTIME]);
        return 1;
    }
    struct runtime_features f;
    if (cli_true(values[OPT_HOST]))
        runtime_features_init_host(&f);
    else {
        _cleanup_free_ char *scratch = path_join(g->root, "kig");
        if (!scratch)
            return 1;
        runtime_features_probe(&f, scratch);
    }
    if (runtime_features_load_env(&f) < 0)
        return 1;
    json_error_t err;
    _cleanup_json_ json_t *config = json_load_file(argv[first], 0, &err);
    if (!config) {
        log_error("%s: %s at line %d", argv[first], err.text, err.line);
        return 1;
    }
    _cleanup_(spec_rewrite_done) struct spec_rewrite rw = {0};
    int r = spec_rewrite(config, &f, kind, &rw);
    if (r < 0) {
        if (r == -EINVAL)
            log_error("%s", rw.error);
        else
            log_error_errno(r, "rewrite failed: %m");
        return 1;
    }
    _cleanup_json_ json_t *out =
        json_pack("{s:O, s:O, s:O?, s:b, s:b}", "config", rw.config, "rewrites", rw.rewrites, "kigMounts",
                  rw.kig_mounts, "noNewKeyring", rw.no_new_keyring, "forbidNoPivot", rw.forbid_no_pivot);
    return print_json(out);
}
