#include "options.h"

#include "log.h"
#include "rules/rule.h"

#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: kig-trace [OPTIONS] -- PROGRAM [ARGS...]\n"
    "\n"
    "Runs PROGRAM and all its descendants under ptrace with a seccomp filter that stops them only on the\n"
    "syscalls the enabled rules fix. Exits with PROGRAM's status (a signal is raised again).\n"
    "\n"
    "  --rule NAME            enable a rule (repeatable, or comma-separated); see --list-rules\n"
    "  --redirect FROM=TO     serve paths under FROM from TO (implies --rule redirect)\n"
    "  --uname-release R      report R as the kernel release (implies --rule uname)\n"
    "  --netns-dir DIR        a directory where network namespaces are pinned, besides /run/netns and\n"
    "                         /var/run/netns (implies --rule netns-pin; up to 4)\n"
    "  --switch-dir DIR       kig-switch's directory, whose state.json gives each pod's address for\n"
    "                         netns-enter (implies --rule netns-enter; default $KIG_SWITCH_DIR, else\n"
    "                         /run/kig/switch)\n"
    "  --log FILE             append the tracer's messages to FILE instead of stderr\n"
    "  --ready-fd N           write the tracer's pid and a newline to fd N once PROGRAM is traced, close it\n"
    "  --pid-file FILE        write the tracer's pid to FILE once PROGRAM is traced\n"
    "  --stats                print stop counters when PROGRAM exits\n"
    "  --force-emulation      emulate even what the kernel supports (testing on a full kernel)\n"
    "  --trap-marked-mounts   stop also the mounts kig-runtime marks as needing no fix (MS_MGC_VAL in\n"
    "                         the flags), which pass without a stop by default: to see them, or to\n"
    "                         measure what passing them saves\n"
    "  -v, --verbose          log every rewritten syscall\n"
    "  --list-rules           list the rules and exit\n"
    "  -h, --help             show this help\n";

enum {
    OPT_RULE = 0x100,
    OPT_REDIRECT,
    OPT_UNAME_RELEASE,
    OPT_NETNS_DIR,
    OPT_SWITCH_DIR,
    OPT_LOG,
    OPT_READY_FD,
    OPT_PID_FILE,
    OPT_STATS,
    OPT_FORCE_EMULATION,
    OPT_TRAP_MARKED_MOUNTS,
    OPT_LIST_RULES,
};

static const struct option longopts[] = {
    {"rule", required_argument, NULL, OPT_RULE},
    {"redirect", required_argument, NULL, OPT_REDIRECT},
    {"uname-release", required_argument, NULL, OPT_UNAME_RELEASE},
    {"netns-dir", required_argument, NULL, OPT_NETNS_DIR},
    {"switch-dir", required_argument, NULL, OPT_SWITCH_DIR},
    {"log", required_argument, NULL, OPT_LOG},
    {"ready-fd", required_argument, NULL, OPT_READY_FD},
    {"pid-file", required_argument, NULL, OPT_PID_FILE},
    {"stats", no_argument, NULL, OPT_STATS},
    {"force-emulation", no_argument, NULL, OPT_FORCE_EMULATION},
    {"trap-marked-mounts", no_argument, NULL, OPT_TRAP_MARKED_MOUNTS},
    {"list-rules", no_argument, NULL, OPT_LIST_RULES},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {},
};

static int usage_error(const char *fmt, ...) _printf_(1, 2);
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kig-trace: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "; see 'kig-trace --help'\n");
    va_end(ap);
    return -EINVAL;
}

static int add_rules(struct trace_options *opts, const char *list)
{
    char buf[256];
    if (strlen(list) >= sizeof(buf))
        return usage_error("--rule '%s' is too long", list);
    strcpy(buf, list);
    char *save = NULL;
    for (char *name = strtok_r(buf, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        const struct rule *rule = rule_by_name(name);
        if (!rule)
            return usage_error("unknown rule '%s' (kig-trace --list-rules names them)", name);
        opts->rules |= 1u << rule->id;
    }
    return 0;
}

static int add_redirect(struct trace_options *opts, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return usage_error("--redirect '%s' is not FROM=TO", arg);
    if (opts->n_redirects >= MAX_REDIRECTS)
        return usage_error("more than %d redirects", MAX_REDIRECTS);
    size_t from_len = (size_t)(eq - arg);
    if (from_len >= sizeof(opts->redirects->from) || strlen(eq + 1) >= sizeof(opts->redirects->to))
        return usage_error("--redirect '%s': path too long", arg);
    if (!opts->redirects) {
        opts->redirects = calloc(MAX_REDIRECTS, sizeof(*opts->redirects));
        if (!opts->redirects)
            return log_error_errno(ENOMEM, "out of memory");
    }
    struct redirect *rd = &opts->redirects[opts->n_redirects++];
    memcpy(rd->from, arg, from_len);
    rd->from[from_len] = '\0';
    strcpy(rd->to, eq + 1);
    opts->rules |= 1u << RULE_REDIRECT;
    return 0;
}

static void list_rules(void)
{
    for (unsigned i = 0; i < RULE_COUNT; i++)
        printf("%-12s %s\n", all_rules[i]->name, all_rules[i]->summary);
}

int options_parse(int argc, char **argv, struct trace_options *opts)
{
    *opts = (struct trace_options){.ready_fd = -1};
    int c, r;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_RULE:
            if ((r = add_rules(opts, optarg)) < 0)
                return r;
            break;
        case OPT_REDIRECT:
            if ((r = add_redirect(opts, optarg)) < 0)
                return r;
            break;
        case OPT_UNAME_RELEASE:
            opts->uname_release = optarg;
            opts->rules |= 1u << RULE_UNAME;
            break;
        case OPT_NETNS_DIR:
            if (opts->n_netns_dirs >= MAX_NETNS_DIR_OPTIONS)
                return usage_error("more than %d --netns-dir options", MAX_NETNS_DIR_OPTIONS);
            if (optarg[0] != '/')
                return usage_error("--netns-dir '%s' is not an absolute path", optarg);
            opts->netns_dirs[opts->n_netns_dirs++] = optarg;
            opts->rules |= 1u << RULE_NETNS_PIN;
            break;
        case OPT_SWITCH_DIR:
            if (optarg[0] != '/')
                return usage_error("--switch-dir '%s' is not an absolute path", optarg);
            opts->switch_dir = optarg;
            opts->rules |= 1u << RULE_NETNS_ENTER;
            break;
        case OPT_LOG:
            opts->log_path = optarg;
            break;
        case OPT_READY_FD: {
            char *end;
            errno = 0;
            long fd = strtol(optarg, &end, 10);
            if (errno || *end || fd < 0 || fd > INT_MAX)
                return usage_error("--ready-fd '%s' is not a file descriptor number", optarg);
            if (fcntl((int)fd, F_GETFD) < 0)
                return usage_error("--ready-fd %s is not open", optarg);
            opts->ready_fd = (int)fd;
            break;
        }
        case OPT_PID_FILE:
            opts->pid_file = optarg;
            break;
        case OPT_STATS:
            opts->stats = true;
            break;
        case OPT_FORCE_EMULATION:
            opts->force_emulation = true;
            break;
        case OPT_TRAP_MARKED_MOUNTS:
            opts->trap_marked_mounts = true;
            break;
        case OPT_LIST_RULES:
            list_rules();
            return 1;
        case 'v':
            opts->verbosity++;
            break;
        case 'h':
            fputs(usage, stdout);
            return 1;
        default:
            return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error("%s", "no PROGRAM given (kig-trace [OPTIONS] -- PROGRAM [ARGS...])");
    opts->argv = argv + optind;
    return 0;
}

void options_free(struct trace_options *opts)
{
    free(opts->redirects);
    opts->redirects = NULL;
}
