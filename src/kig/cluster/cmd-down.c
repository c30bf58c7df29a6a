/* `kig down [--purge]`: stops the cluster in order and waits until every process is gone; --purge then
 * deletes the data dir. */
#include "cli.h"
#include "cluster-cli.h"
#include "datadir.h"
#include "fileutil.h"
#include "log.h"
#include "macro.h"
#include "node-setup.h"
#include "progress.h"
#include "state.h"
#include "supervisor-ctl.h"

#include <signal.h>
#include <time.h>

struct down_options {
    const char *data_dir;
    long timeout_s;
    bool purge;
};

static int parse_options(int argc, char **argv, struct down_options *o)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"purge", no_argument, NULL, 'P'},
        {"timeout", required_argument, NULL, 't'},
        {},
    };
    *o = (struct down_options){.timeout_s = SUPERVISOR_STOP_TIMEOUT_MS / 1000};
    int c;
    while ((c = cli_getopt(argc, argv, "down", "", options)) != -1) {
        switch (c) {
        case 'd':
            o->data_dir = optarg;
            break;
        case 'P':
            o->purge = true;
            break;
        case 't':
            if (cli_parse_int(optarg, 1, 86400, &o->timeout_s) < 0)
                return cli_usage_error("down", "invalid --timeout '%s': give seconds (1-86400)", optarg);
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error("down", "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* Components still alive after their supervisor is gone can only be left by a supervisor that was
 * killed before its children noticed: kill them, matching pid and executable so that a recycled pid is
 * never hit. Returns how many there were. */
static int kill_leftovers(const struct data_dir *d)
{
    _cleanup_(cluster_state_done) struct cluster_state s = {0};
    if (cluster_state_load(d->state_json, &s) < 0)
        return 0;
    int n = 0;
    for (size_t i = 0; i < s.n_components; i++) {
        const struct component_state *c = &s.components[i];
        if (!process_is(c->pid, c->path))
            continue;
        log_warn("%s (pid %d) outlived its supervisor: killing it", c->name, (int)c->pid);
        kill(-c->pid, SIGKILL);
        kill(c->pid, SIGKILL);
        for (int wait = 0; wait < 100 && process_is(c->pid, c->path); wait++) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
        n++;
    }
    return n;
}

static int stop_cluster(const struct down_options *o, const struct data_dir *d, const char *name)
{
    pid_t pid = 0;
    int r = supervisor_running(d, &pid);
    if (r < 0) {
        log_error_errno(r, "cannot check whether the cluster runs (%s): %m", d->supervisor_lock);
        return 1;
    }
    if (r == 0) {
        int leftovers = kill_leftovers(d);
        /* A killed supervisor leaves the node's mounts and virtual kernel: undo them now. */
        if (node_setup_cleanup(d) < 0) {
            log_error("the node's mounts could not all be removed: see the lines above, then run 'kig down' "
                      "again");
            return 1;
        }
        if (leftovers || !o->purge)
            printf("cluster '%s' is not running%s\n", name,
                   leftovers ? " (killed processes it had left behind)" : "");
        return 0;
    }
    int64_t t0 = monotonic_ms();
    fprintf(stderr, "kig down: stopping cluster '%s' (supervisor pid %d)\n", name, (int)pid);
    r = supervisor_stop(d, pid, (int)o->timeout_s * 1000);
    if (r < 0) {
        log_error_errno(r, "the cluster did not stop (%m): see %s/kig.log", d->logs);
        return 1;
    }
    kill_leftovers(d);
    if (node_setup_cleanup(d) < 0) {
        log_error(
            "the node's mounts could not all be removed: see the lines above, then run 'kig down' again");
        return 1;
    }
    printf("cluster '%s' stopped (%.1fs)\n", name, (double)(monotonic_ms() - t0) / 1000.0);
    return 0;
}

int cmd_down(int argc, char **argv)
{
    struct down_options o;
    int r = parse_options(argc, argv, &o);
    if (r != 0)
        return r;
    _cleanup_(data_dir_done) struct data_dir d = {0};
    if (data_dir_init(&d, o.data_dir) < 0)
        return 1;
    if (!is_dir(d.root)) {
        printf("no cluster in %s: nothing to stop\n", d.root);
        return 0;
    }
    /* A damaged cluster.json must not prevent stopping or purging: the name is only for messages. */
    struct cluster_identity id;
    char why[256];
    const char *name =
        cluster_identity_load(d.cluster_json, &id, why, sizeof(why)) == 0 ? id.name : "(unnamed)";
    r = stop_cluster(&o, &d, name);
    if (r != 0 || !o.purge)
        return r;
    if (data_dir_purge(&d) < 0)
        return 1;
    printf("deleted data dir %s\n", d.root);
    return 0;
}
