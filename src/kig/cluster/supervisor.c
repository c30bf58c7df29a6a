#include "supervisor.h"

#include "backoff.h"
#include "component-table.h"
#include "fileutil.h"
#include "identity.h"
#include "log.h"
#include "macro.h"
#include "netinfo.h"
#include "node-setup.h"
#include "pki-setup.h"
#include "pod-janitor.h"
#include "progress.h"
#include "readiness.h"
#include "state.h"
#include "words.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

#include "spawn.h"

#define PROBE_INTERVAL_STARTING_MS 200
#define PROBE_INTERVAL_READY_MS    3000
#define LOOP_MAX_WAIT_MS           1000
/* How often the pod janitor looks for what containerd left (pod-janitor.h); it acts on the second look. */
#define JANITOR_INTERVAL_MS 30000
/* A ready component is declared not ready only after this many failed probes in a row: on a loaded
 * machine a single probe can time out while the component is fine. */
#define PROBE_FAILURE_THRESHOLD 3

struct supervised {
    const struct component_spec *spec;
    struct strv argv;
    struct strv env; /* empty: the supervisor's own environment */
    char *path;
    char *log_path;
    pid_t pid;
    enum run_state state;
    bool ready;
    bool responding;
    bool ever_ready;
    unsigned restarts;
    unsigned failures;
    unsigned probe_failures;
    int64_t started_ms;
    double started_at;
    int64_t restart_at_ms;
    int64_t next_probe_ms;
    char *last_exit;
    char *trace_pid_file; /* traced components: where kig-trace writes the tracer's pid */
};

struct supervisor {
    const struct data_dir *dir;
    struct cluster_identity id;
    struct cluster_config cfg;
    char server[128];
    struct supervised comps[_CC_MAX];
    size_t n;
    int signal_fd;
    int lock_fd;
    enum supervisor_phase phase;
    double started_at;
    bool dirty;
    bool stop_requested;
    struct node_setup node;
    bool node_prepared;
    struct pod_janitor janitor;
    bool janitor_on;
    int64_t next_sweep_ms;
};

static double wall_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void format_timestamp(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* The supervisor's own log (logs/kig.log) gets timestamps: it is read long after the fact. */
static void sv_log(const char *fmt, ...) _printf_(1, 2);
static void sv_log(const char *fmt, ...)
{
    char when[40], msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    format_timestamp(when, sizeof(when));
    fprintf(stderr, "%s %s\n", when, msg);
    fflush(stderr);
}

/* A marker in a component's own log, so `kig logs` shows where each run begins and ends. */
static void component_log_marker(const struct supervised *c, const char *fmt, ...) _printf_(2, 3);
static void component_log_marker(const struct supervised *c, const char *fmt, ...)
{
    char when[40], msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    format_timestamp(when, sizeof(when));
    _cleanup_fclose_ FILE *f = fopen(c->log_path, "ae");
    if (f)
        fprintf(f, "==> %s kig: %s\n", when, msg);
}

static void describe_exit(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, size, "ended with wait status 0x%x", (unsigned)status);
}

/* ---- state.json ---- */

static void save_state(struct supervisor *sv)
{
    struct cluster_state s = {
        .cluster = sv->id.name,
        .mode = (char *)cluster_mode_to_string(sv->id.mode),
        .server = sv->server,
        .supervisor_pid = getpid(),
        .phase = sv->phase,
        .started_at = sv->started_at,
        .n_components = sv->n,
    };
    for (size_t i = 0; i < sv->n; i++) {
        const struct supervised *c = &sv->comps[i];
        s.components[i] = (struct component_state){
            .name = (char *)c->spec->name,
            .path = c->path,
            .log = c->log_path,
            .last_exit = c->last_exit,
            .pid = c->pid,
            .state = c->state,
            .ready = c->ready,
            .restarts = c->restarts,
            .port = sv->cfg.ports[c->spec->id],
            .started_at = c->pid > 0 ? c->started_at : 0,
        };
    }
    /* The strings above are borrowed: s is not freed. */
    int r = cluster_state_save(sv->dir->state_json, &s);
    if (r < 0)
        sv_log("cannot write %s: %s", sv->dir->state_json, strerror(-r));
    else
        sv->dirty = false;
}

/* ---- start and exit ---- */

static bool gate_open(const struct supervisor *sv, const struct supervised *c)
{
    const struct supervised *after = NULL;
    for (size_t i = 0; i < sv->n; i++)
        if (sv->comps[i].spec->id == c->spec->after)
            after = &sv->comps[i];
    switch (c->spec->gate) {
    case GATE_NONE:
        return true;
    case GATE_READY:
        return !after || after->ready;
    case GATE_RESPONDING:
        return !after || after->ready || after->responding;
    }
    return true;
}

static void schedule_restart(struct supervisor *sv, struct supervised *c, const char *why)
{
    int64_t now = monotonic_ms();
    int64_t uptime = c->started_ms ? now - c->started_ms : 0;
    c->failures = backoff_record_exit(&backoff_default, c->failures, uptime);
    int64_t delay = backoff_delay_ms(&backoff_default, c->failures);
    c->restart_at_ms = now + delay;
    c->state = RUN_BACKOFF;
    free(c->last_exit);
    c->last_exit = strdup(why);
    sv_log("%s %s after %.1f s; restarting in %.1f s", c->spec->name, why, (double)uptime / 1000.0,
           (double)delay / 1000.0);
    component_log_marker(c, "%s %s; restarting in %.1f s", c->spec->name, why, (double)delay / 1000.0);
    sv->dirty = true;
}

static void start_component(struct supervisor *sv, struct supervised *c)
{
    bool restart = c->state == RUN_BACKOFF;
    _cleanup_close_ int log_fd =
        open(c->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (log_fd < 0) {
        char why[256];
        snprintf(why, sizeof(why), "could not start: cannot open %s: %s", c->log_path, strerror(errno));
        c->started_ms = 0;
        schedule_restart(sv, c, why);
        return;
    }
    component_log_marker(c, "starting %s", c->path);
    struct spawn_options o = {
        .argv = strv_argv(&c->argv),
        .envp = c->env.n ? strv_argv(&c->env) : NULL,
        .stdin_fd = SPAWN_DEVNULL,
        .stdout_fd = log_fd,
        .stderr_fd = log_fd,
        .new_session = true,     /* its own process group: stopped as a whole, never by a terminal's ^C */
        .die_with_parent = true, /* a killed supervisor must not leave a cluster nobody supervises */
    };
    pid_t pid;
    int r = spawn_process(&o, &pid);
    if (restart)
        c->restarts++;
    if (r < 0) {
        char why[256];
        snprintf(why, sizeof(why), "could not start: %s", strerror(-r));
        c->started_ms = 0;
        schedule_restart(sv, c, why);
        return;
    }
    c->pid = pid;
    c->state = RUN_RUNNING;
    c->ready = c->responding = false;
    c->probe_failures = 0;
    c->started_ms = monotonic_ms();
    c->started_at = wall_time();
    c->next_probe_ms = c->started_ms + 100;
    sv_log("started %s (pid %d)%s", c->spec->name, (int)pid, restart ? " again" : "");
    sv->dirty = true;
}

static struct supervised *find_by_pid(struct supervisor *sv, pid_t pid)
{
    for (size_t i = 0; i < sv->n; i++)
        if (sv->comps[i].pid == pid)
            return &sv->comps[i];
    return NULL;
}

static void handle_exit(struct supervisor *sv, pid_t pid, int status)
{
    struct supervised *c = find_by_pid(sv, pid);
    if (!c)
        return;
    char why[512];
    describe_exit(status, why, sizeof(why));
    c->pid = 0;
    c->ready = c->responding = false;
    sv->dirty = true;
    if (c->state == RUN_STOPPING || sv->phase == PHASE_STOPPING) {
        c->state = RUN_STOPPED;
        sv_log("%s stopped (%s)", c->spec->name, why);
        component_log_marker(c, "%s stopped (%s)", c->spec->name, why);
        return;
    }
    /* kig-trace's front exits 125 when the tracer died: every trapped syscall of the tree would have
     * failed, so kig-trace killed it. Said once, loudly, with where to look. */
    if (c->trace_pid_file && WIFEXITED(status) && WEXITSTATUS(status) == 125) {
        snprintf(why, sizeof(why),
                 "lost its syscall supervisor (kig-trace exited 125; see %s/kig-trace-%s.log)", sv->dir->logs,
                 c->spec->name);
        sv_log("%s: kig-trace, the syscall supervisor of %s and its containers, died or failed",
               c->spec->name, c->spec->name);
    }
    schedule_restart(sv, c, why);
}

static void reap_children(struct supervisor *sv)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        handle_exit(sv, pid, status);
}

/* ---- the loop ---- */

static void start_due(struct supervisor *sv, int64_t now)
{
    for (size_t i = 0; i < sv->n; i++) {
        struct supervised *c = &sv->comps[i];
        if ((c->state == RUN_WAITING && gate_open(sv, c)) ||
            (c->state == RUN_BACKOFF && now >= c->restart_at_ms))
            start_component(sv, c);
    }
}

/* Once a traced component is ready, kig-trace has written its pid file: the node's teardown kills every
 * tracer ever started (node-setup.h). */
static void record_tracer(struct supervisor *sv, const struct supervised *c)
{
    int r = node_setup_record_tracer(sv->dir->run, c->trace_pid_file);
    if (r < 0)
        sv_log("cannot record %s's tracer (%s): 'kig down' may leave its containers", c->spec->name,
               strerror(-r));
}

/* Before kubelet (gated on containerd's readiness) can ask for a pod sandbox. */
static void load_pause_image(struct supervisor *sv)
{
    int64_t t0 = monotonic_ms();
    if (node_setup_load_pause_image(&sv->node) == 0)
        sv_log("pause image %s loaded into containerd (%.1f s)", KIG_PAUSE_IMAGE,
               (double)(monotonic_ms() - t0) / 1000.0);
    else
        sv_log("pods cannot start: the pause image is not in containerd (see the line above)");
}

static void probe_due(struct supervisor *sv)
{
    for (size_t i = 0; i < sv->n; i++) {
        struct supervised *c = &sv->comps[i];
        if (c->state != RUN_RUNNING || monotonic_ms() < c->next_probe_ms)
            continue;
        enum probe_result r = readiness_probe(sv->dir, c->spec, sv->cfg.ports[c->spec->id]);
        c->probe_failures = r == PROBE_OK ? 0 : c->probe_failures + 1;
        bool ready = r == PROBE_OK || (c->ready && c->probe_failures < PROBE_FAILURE_THRESHOLD);
        c->responding = r != PROBE_DOWN;
        if (ready != c->ready) {
            c->ready = ready;
            sv->dirty = true;
            if (ready) {
                c->ever_ready = true;
                if (c->trace_pid_file)
                    record_tracer(sv, c);
                if (c->spec->id == CC_CONTAINERD)
                    load_pause_image(sv);
                sv_log("%s is ready (%.1f s after start)", c->spec->name,
                       (double)(monotonic_ms() - c->started_ms) / 1000.0);
            } else
                sv_log("%s is no longer ready", c->spec->name);
        }
        /* A ready component that failed a probe is looked at again soon, to confirm or clear it. */
        c->next_probe_ms = monotonic_ms() + (ready && c->probe_failures == 0 ? PROBE_INTERVAL_READY_MS
                                                                             : PROBE_INTERVAL_STARTING_MS);
    }
}

static void update_phase(struct supervisor *sv)
{
    if (sv->phase != PHASE_STARTING)
        return;
    for (size_t i = 0; i < sv->n; i++)
        if (!sv->comps[i].ever_ready)
            return;
    sv->phase = PHASE_RUNNING;
    sv->dirty = true;
    sv_log("every component is ready");
}

static int next_wait_ms(const struct supervisor *sv)
{
    int64_t now = monotonic_ms(), next = now + LOOP_MAX_WAIT_MS;
    for (size_t i = 0; i < sv->n; i++) {
        const struct supervised *c = &sv->comps[i];
        if (c->state == RUN_BACKOFF && c->restart_at_ms < next)
            next = c->restart_at_ms;
        if (c->state == RUN_RUNNING && c->next_probe_ms < next)
            next = c->next_probe_ms;
    }
    if (sv->janitor_on && sv->next_sweep_ms < next)
        next = sv->next_sweep_ms;
    return next <= now ? 0 : (int)(next - now);
}

static void handle_signals(struct supervisor *sv)
{
    struct signalfd_siginfo si;
    while (read(sv->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            if (!sv->stop_requested)
                sv_log("received %s: stopping", strsignal((int)si.ssi_signo));
            sv->stop_requested = true;
        }
    }
    reap_children(sv);
}

/* The janitor only looks once containerd is ready: before that, its task directory may not say yet what
 * runs. */
static void sweep_due(struct supervisor *sv)
{
    if (!sv->janitor_on || monotonic_ms() < sv->next_sweep_ms)
        return;
    sv->next_sweep_ms = monotonic_ms() + JANITOR_INTERVAL_MS;
    for (size_t i = 0; i < sv->n; i++)
        if (sv->comps[i].spec->id == CC_CONTAINERD && !sv->comps[i].ready)
            return;
    int r = pod_janitor_sweep(&sv->janitor);
    if (r < 0)
        sv_log("pod janitor: cannot look for what containerd left: %s", strerror(-r));
}

static void run_loop(struct supervisor *sv)
{
    while (!sv->stop_requested) {
        /* Probing first: a gate that a probe opens lets its component start in this same round. */
        probe_due(sv);
        start_due(sv, monotonic_ms());
        update_phase(sv);
        sweep_due(sv);
        if (sv->dirty)
            save_state(sv);
        struct pollfd pfd = {.fd = sv->signal_fd, .events = POLLIN};
        if (poll(&pfd, 1, next_wait_ms(sv)) < 0 && errno != EINTR) {
            sv_log("poll failed: %s; stopping", strerror(errno));
            sv->stop_requested = true;
        }
        handle_signals(sv);
    }
}

/* ---- ordered shutdown ---- */

static void wait_stopped(struct supervisor *sv, struct supervised *c, int timeout_ms)
{
    int64_t deadline = monotonic_ms() + timeout_ms;
    while (c->pid > 0 && monotonic_ms() < deadline) {
        reap_children(sv);
        if (c->pid > 0) {
            struct pollfd pfd = {.fd = sv->signal_fd, .events = POLLIN};
            (void)poll(&pfd, 1, 50);
            struct signalfd_siginfo si;
            while (read(sv->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                ; /* further stop requests change nothing: the stop is under way */
        }
    }
}

static void stop_component(struct supervisor *sv, struct supervised *c)
{
    if (c->pid <= 0) {
        if (c->state != RUN_STOPPED) {
            c->state = RUN_STOPPED;
            sv->dirty = true;
        }
        return;
    }
    sv_log("stopping %s (pid %d)", c->spec->name, (int)c->pid);
    c->state = RUN_STOPPING;
    c->ready = false;
    save_state(sv);
    kill(-c->pid, SIGTERM);
    kill(c->pid, SIGTERM);
    wait_stopped(sv, c, SUPERVISOR_GRACE_MS);
    if (c->pid > 0) {
        sv_log("%s did not stop within %d s: killing it", c->spec->name, SUPERVISOR_GRACE_MS / 1000);
        kill(-c->pid, SIGKILL);
        kill(c->pid, SIGKILL);
        wait_stopped(sv, c, 5000);
    }
    save_state(sv);
}

static void shutdown_all(struct supervisor *sv)
{
    sv->phase = PHASE_STOPPING;
    save_state(sv);
    for (size_t i = sv->n; i-- > 0;)
        stop_component(sv, &sv->comps[i]);
    if (sv->node_prepared) {
        sv_log("tearing down the node's mounts and virtual kernel");
        if (node_setup_teardown(&sv->node) < 0)
            sv_log("the node's teardown was incomplete: 'kig down' retries it");
        sv->node_prepared = false;
    }
    sv->phase = PHASE_STOPPED;
    save_state(sv);
    sv_log("stopped");
}

/* ---- set-up ---- */

static int take_lock(struct supervisor *sv)
{
    sv->lock_fd = open(sv->dir->supervisor_lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (sv->lock_fd < 0)
        return log_error_errno(negative_errno(), "cannot open %s: %m", sv->dir->supervisor_lock);
    /* A `kig status` holds a shared lock for an instant while it looks: retry briefly. */
    for (int i = 0; i < 40; i++) {
        if (flock(sv->lock_fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK)
            return log_error_errno(negative_errno(), "cannot lock %s: %m", sv->dir->supervisor_lock);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return log_error_errno(EBUSY, "another supervisor already runs this cluster (%s is locked)",
                           sv->dir->supervisor_lock);
}

static int write_pid_file(const struct supervisor *sv)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    int r = write_file_atomic(sv->dir->supervisor_pid, buf, (size_t)n, 0644);
    return r < 0 ? log_error_errno(r, "cannot write %s: %m", sv->dir->supervisor_pid) : 0;
}

static int load_identity(struct supervisor *sv)
{
    char why[256];
    int r = cluster_identity_load(sv->dir->cluster_json, &sv->id, why, sizeof(why));
    if (r == -ENOENT)
        return log_error_errno(r, "%s does not exist: run 'kig up' to create the cluster",
                               sv->dir->cluster_json);
    if (r < 0)
        return log_error_errno(r, "%s is invalid: %s", sv->dir->cluster_json, why);
    return 0;
}

static int pick_ports(struct supervisor *sv)
{
    size_t n;
    const struct component_spec *table = component_table(&n);
    int taken[_CC_MAX + 2] = {0};
    size_t n_taken = 0;
    sv->cfg.ports[CC_KUBE_APISERVER] = sv->id.port;
    taken[n_taken++] = sv->id.port;
    for (size_t i = 0; i < n; i++) {
        if (!(table[i].modes & sv->id.mode) || table[i].id == CC_KUBE_APISERVER)
            continue;
        int r =
            netinfo_port_pick(KIG_BIND_ADDRESS, table[i].preferred_port, taken, &sv->cfg.ports[table[i].id]);
        if (r < 0)
            return log_error_errno(r, "cannot find a free port for %s: %m", table[i].name);
        taken[n_taken++] = sv->cfg.ports[table[i].id];
    }
    int r = netinfo_port_pick(KIG_BIND_ADDRESS, 2380, taken, &sv->cfg.etcd_peer_port);
    if (r < 0)
        return log_error_errno(r, "cannot find a free port for etcd's peer URL: %m");
    return 0;
}

static int push_argv_word(const char *word, void *argv)
{
    return strv_push(argv, word);
}

/* kig-trace [its arguments] --log LOG --pid-file FILE -- PROGRAM ...: the component's process is kig-trace's
 * front, which relays signals and ends with the program's status; the tracer's own messages get their own
 * log, and its pid (the process whose death takes the tree down) is in run/kig-trace-NAME.pid. */
static int push_trace_prefix(struct supervisor *sv, struct supervised *c)
{
    const struct node_setup *n = &sv->node;
    _cleanup_free_ char *trace_log = NULL;
    if (asprintf(&trace_log, "%s/kig-trace-%s.log", sv->dir->logs, c->spec->name) < 0 ||
        asprintf(&c->trace_pid_file, "%s/kig-trace-%s.pid", sv->dir->run, c->spec->name) < 0)
        return log_error_errno(ENOMEM, "out of memory");
    if (strv_push(&c->argv, n->trace_path) < 0)
        return log_error_errno(ENOMEM, "out of memory");
    bool fake_pins = false;
    for (size_t i = 0; i < n->trace_args.n; i++) {
        fake_pins |= strcmp(n->trace_args.v[i], "--netns-dir") == 0;
        if (strv_push(&c->argv, n->trace_args.v[i]) < 0)
            return log_error_errno(ENOMEM, "out of memory");
    }
    /* KIG_NODE_TRACE_ARGS: more kig-trace options, split on white space (-v, --stats, --trap-marked-mounts),
     * to look into the tracer or measure what it costs. */
    if (split_words(getenv("KIG_NODE_TRACE_ARGS"), push_argv_word, &c->argv) < 0)
        return log_error_errno(ENOMEM, "out of memory");
    /* Pins that are plain files cannot be setns()ed into: port-forward needs netns-enter in containerd (only
     * there: the rule stops every IPv4 connect of the traced tree). */
    if (fake_pins && c->spec->id == CC_CONTAINERD &&
        (strv_push(&c->argv, "--rule") < 0 || strv_push(&c->argv, "netns-enter") < 0))
        return log_error_errno(ENOMEM, "out of memory");
    if (strv_push(&c->argv, "--log") < 0 || strv_push(&c->argv, trace_log) < 0 ||
        strv_push(&c->argv, "--pid-file") < 0 || strv_push(&c->argv, c->trace_pid_file) < 0 ||
        strv_push(&c->argv, "--") < 0)
        return log_error_errno(ENOMEM, "out of memory");
    return 0;
}

/* "DIR:" and the supervisor's PATH (or the usual one when it has none); NULL on ENOMEM. */
static char *path_with_dir_first(const char *dir)
{
    const char *path = getenv("PATH");
    char *s = NULL;
    return asprintf(&s, "%s:%s", dir, path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin") < 0 ? NULL : s;
}

/* tap: containerd finds kig-shim first in its PATH under the runc-v2 shim's name; kig-shim finds the real
 * shim and the pods' netns holders through the environment, which containerd passes on. The directory holds
 * nothing else, so no other program found through PATH changes. */
static int export_shim_environment(const struct node_setup *n)
{
    if (!n->real_shim)
        return 0;
    _cleanup_free_ char *new_path = path_with_dir_first(n->shim_dir);
    if (!new_path)
        return log_error_errno(ENOMEM, "out of memory");
    if (setenv("KIG_SWITCH_DIR", n->switch_dir, 1) < 0 ||
        setenv("KIG_CONTAINERD_SHIM", n->real_shim, 1) < 0 || setenv("PATH", new_path, 1) < 0)
        return log_error_errno(negative_errno(), "cannot set the shim's environment: %m");
    return 0;
}

static int prepare_node(struct supervisor *sv)
{
    if (!(sv->id.mode & CLUSTER_MODE_FULL))
        return 0;
    int r = node_setup_init(&sv->node, sv->dir, sv->id.name);
    if (r < 0)
        return log_error_errno(r, "out of memory");
    sv_log("preparing the node: mounts, virtual kernel, node address, configuration");
    if ((r = node_setup_prepare(&sv->node, sv->dir, sv->id.name, sv->server)) < 0)
        return r;
    sv->node_prepared = true;
    sv->cfg.node = &sv->node;
    if ((r = export_shim_environment(&sv->node)) < 0)
        return r;
    sv_log("pod network: %s", sv->node.pod_network);
    sv_log("node %s: address %s, kig-trace arguments:%s%s", sv->node.node_name, sv->node.node_ip,
           sv->node.trace_args.n ? " " : " none",
           sv->node.trace_args.n ? "(see the containerd command line)" : "");
    return 0;
}

/* The supervisor's environment with DIR first in PATH. */
static int environment_with_path_first(const char *dir, struct strv *env)
{
    _cleanup_free_ char *path = path_with_dir_first(dir);
    if (!path || strv_pushf(env, "PATH=%s", path) < 0)
        return log_error_errno(ENOMEM, "out of memory");
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "PATH=", 5) != 0 && strv_push(env, *e) < 0)
            return log_error_errno(ENOMEM, "out of memory");
    return 0;
}

static int prepare_components(struct supervisor *sv)
{
    size_t n;
    const struct component_spec *table = component_table(&n);
    for (size_t i = 0; i < n; i++) {
        if (!(table[i].modes & sv->id.mode) || (table[i].wanted && !table[i].wanted(&sv->cfg)))
            continue;
        struct supervised *c = &sv->comps[sv->n++];
        c->spec = &table[i];
        c->state = RUN_WAITING;
        int r = component_require(table[i].binary, &c->path);
        if (r < 0)
            return r;
        c->log_path = data_dir_log(sv->dir, table[i].name);
        if (!c->log_path)
            return log_error_errno(ENOMEM, "out of memory");
        if (table[i].traced && sv->node_prepared && (r = push_trace_prefix(sv, c)) < 0)
            return r;
        if (strv_push(&c->argv, c->path) < 0 || table[i].build_args(&sv->cfg, &c->argv) < 0)
            return log_error_errno(ENOMEM, "out of memory");
        if (table[i].kig_mount && sv->node_prepared &&
            (r = environment_with_path_first(sv->node.kubelet_path_dir, &c->env)) < 0)
            return r;
    }
    return 0;
}

/* On 2 CPUs, one Go scheduler thread per component. Every Go program (etcd, the apiserver, the
 * controller-manager, the scheduler, kubelet, containerd) otherwise keeps one P per CPU, and its idle Ps spin
 * looking for work: futex and nanosleep calls that gVisor's ptrace platform makes dear. Measured inside
 * gVisor 20221219 with 4 pods (docs/node.md): the node's idle CPU 22% lower, pod start no slower. A user's
 * own GOMAXPROCS wins; the runc-v2 shim sets its own (4) for its daemon. */
#define GO_SINGLE_P_MAX_CPUS 2

static int limit_go_schedulers(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    const char *own = getenv("GOMAXPROCS");
    if ((own && *own) || cpus <= 0 || cpus > GO_SINGLE_P_MAX_CPUS)
        return 0;
    if (setenv("GOMAXPROCS", "1", 1) < 0)
        return log_error_errno(negative_errno(), "cannot set GOMAXPROCS: %m");
    sv_log("GOMAXPROCS=1 for the Go components (%ld CPUs)", cpus);
    return 0;
}

/* kig-runtime for the janitor runs as containerd's tree runs it: under kig-trace with the same rules. */
static int prepare_janitor(struct supervisor *sv)
{
    if (!sv->node_prepared)
        return 0;
    const struct node_setup *n = &sv->node;
    _cleanup_free_ char *shim = n->real_shim ? strdup(n->real_shim) : NULL, *runtime = NULL;
    if (!shim)
        shim = component_path(COMPONENT_CONTAINERD_SHIM_RUNC_V2);
    runtime = component_path(COMPONENT_KIG_RUNTIME);
    if (!shim || !runtime) {
        sv_log("pod janitor: off (%s not found)", shim ? "kig-runtime" : "containerd-shim-runc-v2");
        return 0;
    }
    _cleanup_(strv_done) struct strv argv = {0};
    int r = n->trace_path ? strv_push(&argv, n->trace_path) : 0;
    for (size_t i = 0; r == 0 && n->trace_path && i < n->trace_args.n; i++)
        r = strv_push(&argv, n->trace_args.v[i]);
    if (r == 0 && n->trace_path)
        r = strv_push(&argv, "--");
    if (r == 0)
        r = strv_push(&argv, runtime);
    if (r == 0)
        r = pod_janitor_init(&sv->janitor, n->containerd_state, n->containerd_socket, n->runtime_root, shim,
                             strv_argv(&argv), sv_log);
    if (r < 0)
        return log_error_errno(r, "out of memory");
    sv->janitor_on = true;
    sv->next_sweep_ms = monotonic_ms() + JANITOR_INTERVAL_MS;
    return 0;
}

static int setup_signals(struct supervisor *sv)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return log_error_errno(negative_errno(), "cannot block signals: %m");
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    sv->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sv->signal_fd < 0)
        return log_error_errno(negative_errno(), "cannot create a signalfd: %m");
    return 0;
}

static void supervisor_done(struct supervisor *sv)
{
    for (size_t i = 0; i < sv->n; i++) {
        strv_done(&sv->comps[i].argv);
        strv_done(&sv->comps[i].env);
        free(sv->comps[i].path);
        free(sv->comps[i].log_path);
        free(sv->comps[i].last_exit);
        free(sv->comps[i].trace_pid_file);
    }
    if (sv->signal_fd >= 0)
        close(sv->signal_fd);
    if (sv->lock_fd >= 0)
        close(sv->lock_fd);
    pod_janitor_done(&sv->janitor);
    node_setup_done(&sv->node);
    readiness_done();
}

static int setup(struct supervisor *sv, const struct supervisor_options *o)
{
    int r;
    if ((r = take_lock(sv)) < 0 || (r = write_pid_file(sv)) < 0 || (r = setup_signals(sv)) < 0)
        return r;
    if (o->attached_to > 0) {
        /* kig up --foreground: an orderly stop when it goes away, however it goes. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != o->attached_to)
            sv->stop_requested = true;
    }
    if ((r = readiness_init()) < 0)
        return log_error_errno(r, "cannot initialise libcurl");
    if ((r = load_identity(sv)) < 0)
        return r;
    sv->cfg.dir = sv->dir;
    sv->cfg.name = sv->id.name;
    sv->cfg.mode = sv->id.mode;
    netinfo_advertise_address(sv->cfg.advertise_address, sizeof(sv->cfg.advertise_address));
    pki_setup_server_url(sv->id.port, sv->server, sizeof(sv->server));
    if ((r = pick_ports(sv)) < 0 || (r = limit_go_schedulers()) < 0 || (r = prepare_node(sv)) < 0 ||
        (r = prepare_components(sv)) < 0 || (r = prepare_janitor(sv)) < 0)
        return r;
    return 0;
}

int supervisor_run(const struct supervisor_options *o)
{
    struct supervisor sv = {.dir = o->dir, .signal_fd = -1, .lock_fd = -1, .started_at = wall_time()};
    log_init("kig supervisor");
    sv_log("supervisor %d starting for data dir %s", (int)getpid(), o->dir->root);
    int r = setup(&sv, o);
    if (r < 0) {
        if (sv.node_prepared)
            node_setup_teardown(&sv.node);
        if (sv.lock_fd >= 0 && flock(sv.lock_fd, LOCK_EX | LOCK_NB) == 0)
            unlink(sv.dir->supervisor_pid);
        supervisor_done(&sv);
        return 1;
    }
    sv_log("cluster %s (%s), API %s, advertise address %s", sv.id.name, cluster_mode_to_string(sv.id.mode),
           sv.server, sv.cfg.advertise_address);
    save_state(&sv);
    run_loop(&sv);
    shutdown_all(&sv);
    unlink(sv.dir->supervisor_pid);
    supervisor_done(&sv);
    return 0;
}
