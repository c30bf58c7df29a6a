/* kig doctor: runs the probes and prints a table, or the JSON report the rest of kig reads. */
#include "cli.h"
#include "doctor-report.h"
#include "fileutil.h"
#include "log.h"
#include "mountinfo.h"
#include "probe.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

struct doctor_options {
    bool json;
    bool list;
    bool verbose;
    const char **only;
    size_t n_only;
};

static void doctor_options_done(struct doctor_options *o)
{
    free(o->only);
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

static int parse_args(int argc, char **argv, struct doctor_options *o)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"only", required_argument, NULL, 'o'},
        {"list", no_argument, NULL, 'l'},
        {"verbose", no_argument, NULL, 'v'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = cli_getopt(argc, argv, "doctor", "v", longopts)) != -1) {
        switch (c) {
        case 'j':
            o->json = true;
            break;
        case 'l':
            o->list = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'o': {
            const char **n = realloc(o->only, (o->n_only + 1) * sizeof(*n));
            if (!n)
                return log_error_errno(ENOMEM, "out of memory");
            o->only = n;
            o->only[o->n_only++] = optarg;
            break;
        }
        default:
            return -EINVAL;
        }
    }
    if (optind < argc) {
        cli_usage_error("doctor", "unexpected argument '%s'", argv[optind]);
        return -EINVAL;
    }
    return 0;
}

static bool selected(const struct doctor_options *o, const struct probe *p)
{
    if (o->n_only == 0)
        return true;
    for (size_t i = 0; i < o->n_only; i++)
        if (probe_matches(p, o->only[i]))
            return true;
    return false;
}

/* Every --only must name at least one probe: a typo must not silently run nothing. */
static int check_only(const struct doctor_options *o)
{
    for (size_t i = 0; i < o->n_only; i++) {
        bool any = false;
        for (size_t k = 0; k < probe_count() && !any; k++)
            any = probe_matches(probe_get(k), o->only[i]);
        if (!any) {
            cli_usage_error("doctor", "unknown probe '%s' (kig doctor --list shows them)", o->only[i]);
            return -EINVAL;
        }
    }
    return 0;
}

static int list_json(const struct doctor_options *o)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < probe_count(); i++) {
        const struct probe *p = probe_get(i);
        if (selected(o, p))
            json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "id", p->id, "category", p->category,
                                               "summary", p->summary, "fallback", p->fallback));
    }
    char *s = a ? json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(a);
    if (!s)
        return log_error_errno(ENOMEM, "out of memory");
    printf("%s\n", s);
    free(s);
    return 0;
}

static int list_probes(const struct doctor_options *o)
{
    if (o->json)
        return list_json(o);
    int w = 5;
    for (size_t i = 0; i < probe_count(); i++)
        if (selected(o, probe_get(i)) && (int)strlen(probe_get(i)->id) > w)
            w = (int)strlen(probe_get(i)->id);
    printf("%-*s  %s\n", w, "PROBE", "CHECKS");
    for (size_t i = 0; i < probe_count(); i++) {
        const struct probe *p = probe_get(i);
        if (selected(o, p))
            printf("%-*s  %s\n", w, p->id, p->summary);
    }
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Nothing may stay mounted in the scratch directory before it is removed (rm_rf does not cross mounts). */
static void unmount_below(const char *dir)
{
    struct mount_table t;
    if (mount_table_read(&t) < 0)
        return;
    size_t n = strlen(dir);
    for (size_t i = t.n; i > 0; i--) {
        const char *mp = t.entries[i - 1].mountpoint;
        if (strncmp(mp, dir, n) == 0 && (mp[n] == '/' || mp[n] == '\0')) {
            log_warn("unmounting %s left by a probe", mp);
            umount2(mp, MNT_DETACH);
        }
    }
    mount_table_done(&t);
}

static int make_workdir(char *buf, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, size, "%s/kig-doctor.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(buf))
        return log_error_errno(
            errno, "cannot create a scratch directory %s: %m (set TMPDIR to a writable one)", buf);
    return 0;
}

static int run_probes(const struct doctor_options *o, struct doctor_report *report)
{
    char workdir[256];
    int r = make_workdir(workdir, sizeof(workdir));
    if (r < 0)
        return r;
    struct probe_context ctx = {.workdir = workdir, .in_gvisor = report->in_gvisor};
    int64_t start = now_ms();
    for (size_t i = 0; i < probe_count() && !interrupted; i++) {
        const struct probe *p = probe_get(i);
        if (!selected(o, p))
            continue;
        struct probe_result res;
        int64_t t0 = now_ms();
        probe_run(p, &ctx, &res);
        log_debug("%s: %s, %s (%lld ms)", p->id, doctor_status_to_string(res.status), res.evidence,
                  (long long)(now_ms() - t0));
        r = doctor_report_add(report, p->id, p->category, res.status, res.evidence, probe_strategy(p, &res));
        if (r < 0)
            break;
    }
    log_debug("%zu probes in %lld ms", report->n_probes, (long long)(now_ms() - start));
    unmount_below(workdir);
    int k = rm_rf(workdir);
    if (k < 0)
        log_warn_errno(k, "cannot remove %s: %m", workdir);
    if (r < 0)
        return log_error_errno(r, "cannot record a probe result: %m");
    if (interrupted)
        return log_error_errno(EINTR, "interrupted by signal %d; nothing was left behind", (int)interrupted);
    return 0;
}

static const char *status_colour(enum doctor_status s)
{
    switch (s) {
    case DOCTOR_PRESENT:
        return "\033[32m";
    case DOCTOR_MISSING:
        return "\033[31m";
    case DOCTOR_PARTIAL:
        return "\033[33m";
    default:
        return "\033[35m";
    }
}

static bool want_colour(void)
{
    const char *term = getenv("TERM");
    return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !(term && strcmp(term, "dumb") == 0);
}

/* On a terminal the evidence column is cut to fit; in a pipe (or with -v) it is never cut, so a script
 * reading the table loses nothing. */
static int evidence_width(const struct doctor_report *r, bool tty, bool verbose)
{
    int w = 8;
    for (size_t i = 0; i < r->n_probes; i++)
        if ((int)strlen(r->probes[i].evidence) > w)
            w = (int)strlen(r->probes[i].evidence);
    if (tty && !verbose && w > 48)
        w = 48;
    return w;
}

static void print_table(const struct doctor_report *r, bool verbose)
{
    bool tty = isatty(STDOUT_FILENO);
    bool colour = want_colour();
    int idw = 5, ew = evidence_width(r, tty, verbose);
    for (size_t i = 0; i < r->n_probes; i++)
        if ((int)strlen(r->probes[i].id) > idw)
            idw = (int)strlen(r->probes[i].id);
    printf("%-*s  %-7s  %-*s  %s\n", idw, "PROBE", "STATUS", ew, "EVIDENCE", "STRATEGY");
    size_t counts[_DOCTOR_STATUS_MAX] = {0};
    for (size_t i = 0; i < r->n_probes; i++) {
        const struct doctor_probe_result *p = &r->probes[i];
        counts[p->status]++;
        const char *st = doctor_status_to_string(p->status);
        printf("%-*s  %s%s%s%*s  ", idw, p->id, colour ? status_colour(p->status) : "", st,
               colour ? "\033[0m" : "", (int)(7 - strlen(st)), "");
        if ((int)strlen(p->evidence) > ew)
            printf("%.*s...  ", ew - 3, p->evidence);
        else
            printf("%-*s  ", ew, p->evidence);
        printf("%s\n", p->strategy);
    }
    printf("\n%zu probes: %zu present, %zu partial, %zu missing, %zu error. %s (uname %s).\n", r->n_probes,
           counts[DOCTOR_PRESENT], counts[DOCTOR_PARTIAL], counts[DOCTOR_MISSING], counts[DOCTOR_ERROR],
           r->in_gvisor ? "Inside gVisor" : "Not inside gVisor", r->uname_release);
}

static int print_json(const struct doctor_report *r)
{
    _cleanup_free_ char *s = NULL;
    int k = doctor_report_to_string(r, &s);
    if (k < 0)
        return log_error_errno(k, "cannot serialize the report: %m");
    fputs(s, stdout);
    return 0;
}

static void install_signal_handlers(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int cmd_doctor(int argc, char **argv)
{
    _cleanup_(doctor_options_done) struct doctor_options o = {0};
    int r = parse_args(argc, argv, &o);
    if (r == 0)
        r = check_only(&o);
    if (r < 0)
        return r == -EINVAL ? EXIT_USAGE : 1;
    if (o.verbose)
        log_set_level(LOG_LEVEL_DEBUG);
    if (o.list)
        return list_probes(&o) < 0 ? 1 : 0;

    struct utsname u;
    if (uname(&u) < 0)
        snprintf(u.release, sizeof(u.release), "unknown");
    char gvisor_evidence[PROBE_EVIDENCE_MAX];
    bool in_gvisor = detect_gvisor(gvisor_evidence, sizeof(gvisor_evidence));
    log_debug("%s", gvisor_evidence);
    _cleanup_doctor_report_ struct doctor_report *report = doctor_report_new(u.release, in_gvisor);
    if (!report) {
        log_error("out of memory");
        return 1;
    }
    install_signal_handlers();
    r = run_probes(&o, report);
    if (r < 0)
        return interrupted ? 128 + (int)interrupted : 1;
    if (o.json)
        r = print_json(report);
    else
        print_table(report, o.verbose);
    if (fflush(stdout) != 0 || r < 0)
        return 1;
    return 0;
}
