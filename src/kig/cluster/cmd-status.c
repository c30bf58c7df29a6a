/* `kig status [--json]`: each component's pid, state, restarts, uptime and readiness. Exit 0 when the
 * cluster is up and every component ready, 3 when it runs but something is not ready, 1 when it is not
 * running. */
#include "cli.h"
#include "cluster-cli.h"
#include "datadir.h"
#include "identity.h"
#include "log.h"
#include "macro.h"
#include "pki-setup.h"
#include "state.h"
#include "supervisor-ctl.h"

#include <jansson.h>
#include <string.h>
#include <time.h>

#define EXIT_NOT_RUNNING 1
#define EXIT_NOT_READY   3

static double now_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void format_duration(double seconds, char *buf, size_t size)
{
    long s = seconds > 0 ? (long)seconds : 0;
    if (s < 60)
        snprintf(buf, size, "%lds", s);
    else if (s < 3600)
        snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, size, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    else
        snprintf(buf, size, "%ldd%02ldh", s / 86400, (s % 86400) / 3600);
}

/* A state.json left by a supervisor that is gone describes nothing that runs. */
static void mark_stopped(struct cluster_state *s)
{
    s->phase = PHASE_STOPPED;
    for (size_t i = 0; i < s->n_components; i++) {
        s->components[i].pid = 0;
        s->components[i].state = RUN_STOPPED;
        s->components[i].ready = false;
    }
}

static bool all_ready(const struct cluster_state *s)
{
    if (s->n_components == 0)
        return false;
    for (size_t i = 0; i < s->n_components; i++)
        if (!s->components[i].ready)
            return false;
    return true;
}

static void print_table(const struct cluster_identity *id, const struct data_dir *d,
                        const struct cluster_state *s, bool running)
{
    char server[128], up[32];
    pki_setup_server_url(id->port, server, sizeof(server));
    double now = now_wall();
    if (!running) {
        printf("cluster '%s' (%s) is not running (data dir %s): start it with 'kig up%s'\n", id->name,
               cluster_mode_to_string(id->mode), d->root,
               id->mode == CLUSTER_MODE_CONTROL_PLANE_ONLY ? " --control-plane-only" : "");
        return;
    }
    format_duration(now - s->started_at, up, sizeof(up));
    printf("cluster '%s' (%s) %s for %s: API %s, data dir %s\n", id->name, cluster_mode_to_string(id->mode),
           supervisor_phase_to_string(s->phase), up, server, d->root);
    printf("%-24s %-7s %-9s %-6s %-8s %-8s %s\n", "COMPONENT", "PID", "STATE", "READY", "RESTARTS", "UPTIME",
           "LAST EXIT");
    for (size_t i = 0; i < s->n_components; i++) {
        const struct component_state *c = &s->components[i];
        char uptime[32] = "-", pid[16] = "-";
        if (c->pid > 0) {
            format_duration(now - c->started_at, uptime, sizeof(uptime));
            snprintf(pid, sizeof(pid), "%d", (int)c->pid);
        }
        printf("%-24s %-7s %-9s %-6s %-8u %-8s %s\n", c->name, pid, run_state_to_string(c->state),
               c->ready ? "yes" : "no", c->restarts, uptime, c->last_exit ? c->last_exit : "-");
    }
}

static json_t *component_json(const struct component_state *c, double now)
{
    return json_pack("{s:s, s:i, s:s, s:b, s:I, s:i, s:f, s:s?, s:s?}", "name", c->name, "pid", (int)c->pid,
                     "state", run_state_to_string(c->state), "ready", c->ready, "restarts",
                     (json_int_t)c->restarts, "port", c->port, "uptimeSeconds",
                     c->pid > 0 ? now - c->started_at : 0.0, "lastExit", c->last_exit, "log", c->log);
}

static int print_json(const struct cluster_identity *id, const struct data_dir *d,
                      const struct cluster_state *s, bool running)
{
    char server[128];
    pki_setup_server_url(id->port, server, sizeof(server));
    double now = now_wall();
    json_t *list = json_array();
    for (size_t i = 0; list && i < s->n_components; i++)
        if (json_array_append_new(list, component_json(&s->components[i], now)) < 0) {
            json_decref(list);
            list = NULL;
        }
    if (!list)
        return log_error_errno(ENOMEM, "out of memory");
    json_t *root =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:{s:i, s:s, s:f}, s:o}", "cluster", id->name, "uid",
                  id->uid, "mode", cluster_mode_to_string(id->mode), "dataDir", d->root, "server", server,
                  "running", running, "ready", running && all_ready(s), "supervisor", "pid",
                  running ? (int)s->supervisor_pid : 0, "phase", supervisor_phase_to_string(s->phase),
                  "uptimeSeconds", running ? now - s->started_at : 0.0, "components", list);
    if (!root)
        return log_error_errno(ENOMEM, "out of memory");
    _cleanup_free_ char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        return log_error_errno(ENOMEM, "out of memory");
    printf("%s\n", text);
    return 0;
}

int cmd_status(int argc, char **argv)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {},
    };
    const char *data_dir = NULL;
    bool json = false;
    int c;
    while ((c = cli_getopt(argc, argv, "status", "", options)) != -1) {
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'j':
            json = true;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error("status", "unexpected argument '%s'", argv[optind]);

    _cleanup_(data_dir_done) struct data_dir d = {0};
    struct cluster_identity id;
    if (data_dir_init(&d, data_dir) < 0 || cluster_cli_load(&d, &id) < 0)
        return EXIT_NOT_RUNNING;
    pid_t pid = 0;
    int r = supervisor_running(&d, &pid);
    if (r < 0) {
        log_error_errno(r, "cannot check whether the cluster runs (%s): %m", d.supervisor_lock);
        return EXIT_NOT_RUNNING;
    }
    bool running = r > 0;
    _cleanup_(cluster_state_done) struct cluster_state s = {0};
    if (cluster_state_load(d.state_json, &s) < 0 || (running && pid > 0 && s.supervisor_pid != pid))
        cluster_state_done(&s); /* missing, damaged, or not yet rewritten by the new supervisor */
    if (!running)
        mark_stopped(&s);
    if (!json)
        print_table(&id, &d, &s, running);
    else if (print_json(&id, &d, &s, running) < 0)
        return 1;
    if (!running)
        return EXIT_NOT_RUNNING;
    return all_ready(&s) ? 0 : EXIT_NOT_READY;
}
