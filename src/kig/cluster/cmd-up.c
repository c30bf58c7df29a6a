/* `kig up --control-plane-only`: prepares the data dir (identity, PKI, kubeconfigs), starts the detached
 * supervisor and shows progress until the cluster is usable, then leaves it running (or, with
 * --foreground, stays attached until SIGINT/SIGTERM). Every check that can fail on bad input runs before
 * anything is written. */
#include "cli.h"
#include "cluster-cli.h"
#include "component-table.h"
#include "datadir.h"
#include "fileutil.h"
#include "identity.h"
#include "image-ref.h"
#include "log.h"
#include "macro.h"
#include "netinfo.h"
#include "node-setup.h"
#include "pki-setup.h"
#include "progress.h"
#include "readiness.h"
#include "registry-hosts.h"
#include "spawn.h"
#include "state.h"
#include "supervisor-ctl.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_S       180
#define MAX_INSECURE_REGISTRIES 16
/* A component that died this often without ever becoming ready is misconfigured, not slow. */
#define FAIL_FAST_RESTARTS 4
#define POLL_INTERVAL_MS   100

struct up_options {
    const char *data_dir;
    const char *name;
    long port; /* 0: the cluster's own, or the default */
    long timeout_s;
    bool control_plane_only;
    bool foreground;
    const char *oci_runtime; /* NULL: kig-runtime's choice (crun when installed) */
    const char *pod_network; /* NULL or "auto": what `kig-cni --probe` recommends */
    const char *insecure_registries[MAX_INSECURE_REGISTRIES]; /* HOST[:PORT] serving plain HTTP */
    size_t n_insecure_registries;
};

static volatile sig_atomic_t interrupted_by;

static void on_interrupt(int sig)
{
    interrupted_by = sig;
}

static void install_interrupt_handlers(void)
{
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int parse_options(int argc, char **argv, struct up_options *o)
{
    static const struct option options[] = {
        {"control-plane-only", no_argument, NULL, 'c'},
        {"foreground", no_argument, NULL, 'f'},
        {"data-dir", required_argument, NULL, 'd'},
        {"name", required_argument, NULL, 'n'},
        {"port", required_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"oci-runtime", required_argument, NULL, 'R'},
        {"pod-network", required_argument, NULL, 'N'},
        {"insecure-registry", required_argument, NULL, 'I'},
        {},
    };
    *o = (struct up_options){.timeout_s = DEFAULT_TIMEOUT_S};
    int c;
    while ((c = cli_getopt(argc, argv, "up", "v", options)) != -1) {
        switch (c) {
        case 'c':
            o->control_plane_only = true;
            break;
        case 'f':
            o->foreground = true;
            break;
        case 'd':
            o->data_dir = optarg;
            break;
        case 'n':
            if (!cluster_name_valid(optarg))
                return cli_usage_error("up",
                                       "invalid --name '%s': use lowercase letters, digits and '-' "
                                       "(at most %d, starting and ending with a letter or digit)",
                                       optarg, CLUSTER_NAME_MAX);
            o->name = optarg;
            break;
        case 'p':
            if (cli_parse_int(optarg, 1, 65535, &o->port) < 0)
                return cli_usage_error("up", "invalid --port '%s': give a TCP port number (1-65535)", optarg);
            break;
        case 't':
            if (cli_parse_int(optarg, 1, 86400, &o->timeout_s) < 0)
                return cli_usage_error("up", "invalid --timeout '%s': give seconds (1-86400)", optarg);
            break;
        case 'v':
            log_set_level(LOG_LEVEL_DEBUG);
            break;
        case 'R':
            if (strcmp(optarg, "crun") != 0 && strcmp(optarg, "runc") != 0)
                return cli_usage_error("up", "invalid --oci-runtime '%s': use crun or runc", optarg);
            o->oci_runtime = optarg;
            break;
        case 'N':
            if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "veth") != 0 && strcmp(optarg, "tap") != 0 &&
                strcmp(optarg, "host") != 0)
                return cli_usage_error("up", "invalid --pod-network '%s': use auto, veth, tap or host",
                                       optarg);
            o->pod_network = optarg;
            break;
        case 'I':
            if (!image_ref_valid_registry_host(optarg))
                return cli_usage_error("up", "invalid --insecure-registry '%s': give HOST or HOST:PORT",
                                       optarg);
            if (o->n_insecure_registries == MAX_INSECURE_REGISTRIES)
                return cli_usage_error("up", "too many --insecure-registry options (at most %d)",
                                       MAX_INSECURE_REGISTRIES);
            o->insecure_registries[o->n_insecure_registries++] = optarg;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error("up", "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* ---- checks before anything is written ---- */

/* The data dir's identity: loaded (existing cluster) or to be created (fresh). */
static int check_identity(const struct up_options *o, const struct data_dir *d, struct cluster_identity *id,
                          bool *fresh)
{
    char why[256];
    if (path_exists(d->root) && !is_dir(d->root))
        return log_error_errno(
            ENOTDIR, "data dir %s exists but is not a directory: choose another with --data-dir", d->root);
    int r = cluster_identity_load(d->cluster_json, id, why, sizeof(why));
    if (r == -ENOENT) {
        if (data_dir_has_cluster_data(d))
            return log_error_errno(EINVAL,
                                   "data dir %s is damaged: it holds cluster data (pki/ or etcd/) but no "
                                   "cluster.json; restore cluster.json, or start over with 'kig down --purge "
                                   "--data-dir %s'",
                                   d->root, d->root);
        *fresh = true;
        return 0;
    }
    if (r == -EINVAL) {
        char what[300];
        snprintf(what, sizeof(what), "invalid (%s)", why);
        return cluster_cli_damaged(d, what);
    }
    if (r < 0)
        return cluster_cli_unreadable(d, r);
    *fresh = false;
    if (o->name && strcmp(o->name, id->name) != 0)
        return log_error_errno(EEXIST,
                               "data dir %s belongs to cluster '%s', not '%s': use --name %s, or another "
                               "--data-dir for a new cluster",
                               d->root, id->name, o->name, id->name);
    enum cluster_mode wanted = o->control_plane_only ? CLUSTER_MODE_CONTROL_PLANE_ONLY : CLUSTER_MODE_FULL;
    if (id->mode != wanted)
        return log_error_errno(EINVAL,
                               "data dir %s holds a %s cluster: run 'kig up%s', or use another --data-dir "
                               "for a %s cluster",
                               d->root, cluster_mode_to_string(id->mode),
                               id->mode == CLUSTER_MODE_CONTROL_PLANE_ONLY ? " --control-plane-only" : "",
                               cluster_mode_to_string(wanted));
    return 0;
}

static int check_binaries(enum cluster_mode mode)
{
    /* The node's own helpers, which the component table does not list: kig-trace wraps containerd,
     * containerd runs kig-shim (which runs the runc-v2 shim), kig-runtime (which runs crun or runc) and
     * kig-cni; kubelet runs kig-mount as its mount(8) and kig-du as its nice(1) and find(1). */
    static const enum component node_helpers[] = {
        COMPONENT_KIG_TRACE, COMPONENT_KIG_RUNTIME, COMPONENT_KIG_CNI, COMPONENT_CONTAINERD_SHIM_RUNC_V2,
        COMPONENT_KIG_SHIM,  COMPONENT_KIG_MOUNT,   COMPONENT_KIG_DU};
    if (mode & CLUSTER_MODE_FULL)
        for (size_t i = 0; i < ARRAY_SIZE(node_helpers); i++) {
            _cleanup_free_ char *path = NULL;
            int r = component_require(node_helpers[i], &path);
            if (r < 0)
                return r;
        }
    size_t n;
    const struct component_spec *table = component_table(&n);
    for (size_t i = 0; i < n; i++) {
        if (!(table[i].modes & mode))
            continue;
        _cleanup_free_ char *path = NULL;
        int r = component_require(table[i].binary, &path);
        if (r < 0)
            return r;
    }
    return 0;
}

static int check_port(int port)
{
    int r = netinfo_port_probe(KIG_BIND_ADDRESS, port);
    if (r == -EADDRINUSE)
        return log_error_errno(r,
                               "port %d on %s is already in use: stop what listens there, or choose "
                               "another API port with --port",
                               port, KIG_BIND_ADDRESS);
    if (r < 0)
        return log_error_errno(r, "cannot listen on %s:%d (%m): choose another API port with --port",
                               KIG_BIND_ADDRESS, port);
    return 0;
}

/* Serialises concurrent `kig up`s on one data dir (the supervisor lock only exists once one runs). */
static int take_up_lock(const struct data_dir *d)
{
    int fd = open(d->up_lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0)
        return log_error_errno(negative_errno(), "cannot open %s: %m", d->up_lock);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int r = negative_errno();
        close(fd);
        if (r == -EWOULDBLOCK)
            return log_error_errno(EBUSY,
                                   "another 'kig up' is starting the cluster in %s: wait for it, or "
                                   "stop it with 'kig down'",
                                   d->root);
        return log_error_errno(r, "cannot lock %s: %m", d->up_lock);
    }
    return fd;
}

/* `kig up` on a running cluster: 0 after saying so, 1 when it is in fact being stopped. */
static int say_already_up(const struct data_dir *d, const struct cluster_identity *id)
{
    _cleanup_(cluster_state_done) struct cluster_state s = {0};
    if (cluster_state_load(d->state_json, &s) == 0 && s.phase == PHASE_STOPPING) {
        log_error("cluster '%s' is being stopped ('kig down' in progress): run 'kig up' again once it has "
                  "stopped",
                  id->name);
        return 1;
    }
    char server[128];
    pki_setup_server_url(id->port, server, sizeof(server));
    printf("cluster '%s' is already up: API %s (data dir %s)\n", id->name, server, d->root);
    cluster_cli_print_kubeconfig_hint(stdout, d);
    return 0;
}

/* ---- creating what is missing ---- */

static int write_identity(const struct data_dir *d, const struct cluster_identity *id)
{
    int r = cluster_identity_save(d->cluster_json, id);
    if (r < 0)
        return log_error_errno(r, "cannot write %s: %m", d->cluster_json);
    return 0;
}

static int prepare_data_dir(const struct up_options *o, const struct data_dir *d, struct cluster_identity *id,
                            bool fresh, struct progress *p)
{
    int r;
    if (fresh) {
        r = cluster_identity_new(o->name ? o->name : KIG_DEFAULT_CLUSTER_NAME,
                                 o->control_plane_only ? CLUSTER_MODE_CONTROL_PLANE_ONLY : CLUSTER_MODE_FULL,
                                 o->port ? (int)o->port : KIG_DEFAULT_API_PORT, id);
        if (r < 0)
            return log_error_errno(r, "cannot create the cluster identity: %m");
        if ((r = write_identity(d, id)) < 0)
            return r;
    } else if (o->port && o->port != id->port) {
        progress_note(p, "API port changes from %d to %ld", id->port, o->port);
        id->port = (int)o->port;
        if ((r = write_identity(d, id)) < 0)
            return r;
    }
    /* pki/ appears in one rename once complete: with no pki/ and no etcd data, no client can trust
     * anything yet, so creating the PKI now (after an interrupted first `kig up`) loses nothing. */
    bool fresh_pki = !path_exists(d->pki) && !data_dir_has_cluster_data(d);
    /* No step line before the work: a damaged PKI must read as the one line that names the file. */
    int64_t t0 = monotonic_ms();
    if ((r = pki_setup(d, fresh_pki)) < 0 || (r = pki_setup_controller_serving(d)) < 0)
        return r;
    if (id->mode & CLUSTER_MODE_FULL) {
        char node_ip[64];
        if ((r = node_setup_node_ip(node_ip, sizeof(node_ip))) < 0)
            return log_error_errno(r, "cannot find the node's address: %m");
        if ((r = pki_setup_node(d, id->name, node_ip)) < 0)
            return r;
    }
    char server[128];
    pki_setup_server_url(id->port, server, sizeof(server));
    if ((r = pki_setup_kubeconfigs(d, id->name, server)) < 0)
        return r;
    progress_note(p, "certificates %s in %s (%.1fs)", fresh_pki ? "created" : "verified", d->pki,
                  (double)(monotonic_ms() - t0) / 1000.0);
    return 0;
}

/* ---- waiting for readiness ---- */

struct waiter {
    const struct up_options *o;
    const struct data_dir *d;
    const struct cluster_identity *id;
    struct progress *p;
    pid_t supervisor;
    int supervisor_step;
    int component_step[STATE_MAX_COMPONENTS];
    bool component_done[STATE_MAX_COMPONENTS];
    int check_step;
    size_t checks_done;
    bool check_object_made;   /* the current check's object (if any) was created or found */
    char still_starting[256]; /* components not ready yet, for the closing note */
};

/* 1 when the supervisor (our child) has exited, with a message; 0 while it runs. */
static int supervisor_exited(struct waiter *w)
{
    int status;
    if (waitpid(w->supervisor, &status, WNOHANG) != w->supervisor)
        return 0;
    _cleanup_free_ char *log_path = data_dir_log(w->d, "kig");
    char last[512];
    cluster_cli_last_log_line(log_path, last, sizeof(last));
    progress_clear(w->p);
    log_error("the supervisor exited (status %d)%s%s; see %s", wait_status_to_exit_code(status),
              last[0] ? ": " : "", last, log_path ? log_path : "logs/kig.log");
    w->supervisor = 0;
    return 1;
}

/* Follows the supervisor's state.json: one step per component, from started to ready. Returns 1 when
 * every awaited component has been ready, 0 while waiting, -1 when one keeps failing. */
static int follow_components(struct waiter *w)
{
    _cleanup_(cluster_state_done) struct cluster_state s = {0};
    if (cluster_state_load(w->d->state_json, &s) < 0 || s.supervisor_pid != w->supervisor)
        return 0; /* not written yet, or a stale one from an earlier run */
    if (w->supervisor_step >= 0) {
        progress_done(w->p, w->supervisor_step, "supervisor running (pid %d, log %s/kig.log)",
                      (int)s.supervisor_pid, w->d->logs);
        w->supervisor_step = -1;
    }
    bool all_ready = s.n_components > 0;
    for (size_t i = 0; i < s.n_components; i++) {
        const struct component_state *c = &s.components[i];
        if (c->state == RUN_RUNNING && w->component_step[i] < 0 && !w->component_done[i])
            w->component_step[i] = progress_begin(w->p, "starting %s", c->name);
        if (c->ready && !w->component_done[i]) {
            progress_done(w->p, w->component_step[i], "%s ready (pid %d)", c->name, (int)c->pid);
            w->component_done[i] = true;
            w->component_step[i] = -1;
        }
        if (!w->component_done[i] && c->restarts >= FAIL_FAST_RESTARTS) {
            char last[512];
            cluster_cli_last_log_line(c->log, last, sizeof(last));
            progress_fail(w->p, w->component_step[i], "%s", c->name);
            log_error("%s keeps failing (%s, %u restarts)%s%s; see %s", c->name,
                      c->last_exit ? c->last_exit : "no exit status", c->restarts, last[0] ? ": " : "", last,
                      c->log ? c->log : "its log");
            return -1;
        }
        const struct component_spec *spec = component_spec_find(c->name);
        if (spec && spec->awaited)
            all_ready = all_ready && w->component_done[i];
    }
    snprintf(w->still_starting, sizeof(w->still_starting), "%s", "");
    for (size_t i = 0; i < s.n_components; i++)
        if (!w->component_done[i]) {
            size_t len = strlen(w->still_starting);
            snprintf(w->still_starting + len, sizeof(w->still_starting) - len, "%s%s", len ? ", " : "",
                     s.components[i].name);
        }
    return all_ready ? 1 : 0;
}

/* Runs the cluster-level checks in order. Returns 1 when all passed. */
static int follow_cluster_checks(struct waiter *w)
{
    size_t n;
    const struct cluster_check *checks = readiness_cluster_checks(w->id->mode, &n);
    while (w->checks_done < n) {
        const struct cluster_check *check = &checks[w->checks_done];
        if (w->check_step < 0)
            w->check_step = progress_begin(w->p, "waiting for the %s", check->what);
        /* Tried again on the next round when the apiserver did not take it; if it never does, the
         * cluster's controllers create it in their own time. */
        if (!w->check_object_made)
            w->check_object_made = readiness_cluster_check_start(w->d, w->id->port, check) == 0;
        if (readiness_cluster_check(w->d, w->id->port, check) <= 0)
            return 0;
        progress_done(w->p, w->check_step, "%s", check->done);
        w->check_step = -1;
        w->check_object_made = false;
        w->checks_done++;
    }
    return 1;
}

enum wait_result { WAIT_READY, WAIT_FAILED, WAIT_INTERRUPTED };

static enum wait_result wait_until_ready(struct waiter *w)
{
    int64_t deadline = monotonic_ms() + w->o->timeout_s * 1000;
    bool components_ready = false;
    for (;;) {
        if (interrupted_by)
            return WAIT_INTERRUPTED;
        if (supervisor_exited(w))
            return WAIT_FAILED;
        /* Followed to the end: components that are not awaited still get their progress lines. */
        int r = follow_components(w);
        if (r < 0)
            return WAIT_FAILED;
        components_ready = components_ready || r > 0;
        if (components_ready && follow_cluster_checks(w) > 0)
            return WAIT_READY;
        if (monotonic_ms() >= deadline) {
            progress_clear(w->p);
            log_error("the cluster is not ready after %ld s: see the logs in %s, or allow more time with "
                      "--timeout",
                      w->o->timeout_s, w->d->logs);
            return WAIT_FAILED;
        }
        progress_tick(w->p);
        sleep_ms(POLL_INTERVAL_MS);
    }
}

static int stop_started(struct waiter *w, const char *why)
{
    if (w->supervisor <= 0)
        return 0;
    int step = progress_begin(w->p, "%s: stopping what was started", why);
    int r = supervisor_stop(w->d, w->supervisor, SUPERVISOR_STOP_TIMEOUT_MS);
    if (r < 0)
        progress_fail(w->p, step, "stopping");
    else
        progress_done(w->p, step, "stopped");
    return r;
}

static int interrupted_exit_code(void)
{
    return 128 + (interrupted_by ? (int)interrupted_by : SIGINT);
}

static void print_ready(const struct waiter *w)
{
    char server[128];
    pki_setup_server_url(w->id->port, server, sizeof(server));
    if (w->still_starting[0])
        progress_note(w->p, "still starting: %s ('kig status' shows them)", w->still_starting);
    progress_clear(w->p);
    printf("cluster '%s' is up: API %s (ready in %.1fs)\n", w->id->name, server,
           (double)progress_elapsed_ms(w->p) / 1000.0);
    cluster_cli_print_kubeconfig_hint(stdout, w->d);
    fflush(stdout);
}

/* --foreground: stay until a signal asks to stop, or the supervisor ends on its own. */
static int stay_attached(struct waiter *w)
{
    fprintf(stderr, "kig up: running in the foreground; Ctrl-C (SIGINT) or SIGTERM stops the cluster\n");
    while (!interrupted_by) {
        if (supervisor_exited(w))
            return 1;
        sleep_ms(200);
    }
    return stop_started(w, "stop requested") < 0 ? 1 : 0;
}

static int start_and_wait(const struct up_options *o, const struct data_dir *d,
                          const struct cluster_identity *id, struct progress *p)
{
    struct waiter w = {.o = o, .d = d, .id = id, .p = p, .check_step = -1};
    for (size_t i = 0; i < STATE_MAX_COMPONENTS; i++)
        w.component_step[i] = -1;
    w.supervisor_step = progress_begin(p, "starting the supervisor");
    if (supervisor_spawn(d, o->foreground, &w.supervisor) < 0)
        return 1;
    switch (wait_until_ready(&w)) {
    case WAIT_READY:
        break;
    case WAIT_INTERRUPTED:
        stop_started(&w, "interrupted");
        return interrupted_exit_code();
    case WAIT_FAILED:
        stop_started(&w, "start failed");
        return 1;
    }
    print_ready(&w);
    return o->foreground ? stay_attached(&w) : 0;
}

/* The node's choices travel to the supervisor, containerd and kig-runtime through the environment they
 * inherit: KIG_OCI_RUNTIME (src/kig-runtime/runtime-exec.h) and KIG_POD_NETWORK (node-setup.c). */
static int apply_node_choices(const struct up_options *o, enum cluster_mode mode)
{
    if (!(mode & CLUSTER_MODE_FULL)) {
        if (o->oci_runtime || o->pod_network || o->n_insecure_registries)
            log_warn("--oci-runtime, --pod-network and --insecure-registry concern the node: ignored with "
                     "--control-plane-only");
        return 0;
    }
    if (o->oci_runtime) {
        _cleanup_free_ char *path = NULL;
        int r =
            component_require(strcmp(o->oci_runtime, "runc") == 0 ? COMPONENT_RUNC : COMPONENT_CRUN, &path);
        if (r < 0)
            return r;
        if (setenv("KIG_OCI_RUNTIME", o->oci_runtime, 1) < 0)
            return log_error_errno(negative_errno(), "cannot set KIG_OCI_RUNTIME: %m");
    }
    if (o->pod_network &&
        setenv("KIG_POD_NETWORK", strcmp(o->pod_network, "auto") == 0 ? "" : o->pod_network, 1) < 0)
        return log_error_errno(negative_errno(), "cannot set KIG_POD_NETWORK: %m");
    return 0;
}

/* containerd reads <run>/registries/HOST/hosts.toml (node-setup.c points its registry config_path there):
 * this start's --insecure-registry list replaces the previous one's. */
static int write_registry_hosts(const struct up_options *o, const struct data_dir *d)
{
    _cleanup_free_ char *dir = path_join(d->run, KIG_REGISTRY_HOSTS_DIR);
    if (!dir)
        return log_error_errno(ENOMEM, "out of memory");
    int r = rm_rf(dir);
    if (r < 0 && r != -ENOENT)
        return log_error_errno(r, "cannot remove the old registry configuration %s: %m", dir);
    for (size_t i = 0; i < o->n_insecure_registries; i++)
        if ((r = registry_hosts_write(dir, o->insecure_registries[i])) < 0)
            return log_error_errno(r, "cannot write %s/%s/hosts.toml: %m", dir, o->insecure_registries[i]);
    return 0;
}

static int run_up(const struct up_options *o, const struct data_dir *d)
{
    struct cluster_identity id;
    bool fresh;
    int r;
    if (check_identity(o, d, &id, &fresh) < 0)
        return 1;
    if (!fresh && (r = supervisor_running(d, NULL)) != 0) {
        if (r < 0) {
            log_error_errno(r, "cannot check whether the cluster runs (%s): %m", d->supervisor_lock);
            return 1;
        }
        return say_already_up(d, &id);
    }
    int port = o->port ? (int)o->port : fresh ? KIG_DEFAULT_API_PORT : id.port;
    enum cluster_mode mode = o->control_plane_only ? CLUSTER_MODE_CONTROL_PLANE_ONLY : CLUSTER_MODE_FULL;
    if (mode == CLUSTER_MODE_FULL && geteuid() != 0) {
        log_error("the node needs root (it mounts its directories and the virtual kernel): run 'kig up' as "
                  "root, or use --control-plane-only");
        return 1;
    }
    if (check_binaries(mode) < 0 || check_port(port) < 0 || apply_node_choices(o, mode) < 0 ||
        data_dir_create(d) < 0)
        return 1;
    _cleanup_close_ int up_lock = take_up_lock(d);
    if (up_lock < 0)
        return 1;
    /* Another kig up may have created or started the cluster since we looked: look again, locked. */
    if (check_identity(o, d, &id, &fresh) < 0)
        return 1;
    if (!fresh && supervisor_running(d, NULL) > 0)
        return say_already_up(d, &id);
    if ((mode & CLUSTER_MODE_FULL) && write_registry_hosts(o, d) < 0)
        return 1;
    if (readiness_init() < 0) {
        log_error("cannot initialise libcurl");
        return 1;
    }
    struct progress p;
    progress_init(&p, stderr, -1);
    install_interrupt_handlers();
    if (prepare_data_dir(o, d, &id, fresh, &p) < 0)
        return 1;
    if (interrupted_by)
        return interrupted_exit_code();
    return start_and_wait(o, d, &id, &p);
}

int cmd_up(int argc, char **argv)
{
    struct up_options o;
    int r = parse_options(argc, argv, &o);
    if (r != 0)
        return r;
    _cleanup_(data_dir_done) struct data_dir d = {0};
    if (data_dir_init(&d, o.data_dir) < 0)
        return 1;
    r = run_up(&o, &d);
    readiness_done();
    return r;
}
