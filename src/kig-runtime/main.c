/* kig-runtime: an OCI runtime for containerd (io.containerd.runc.v2, BinaryName) that speaks runc's
 * command line, rewrites each container's config.json for what the sandbox can do, and runs crun or runc
 * on the result; it performs itself what they cannot do here (mounts without a mount namespace, exec
 * without setns, a delete that leaves no mount behind). See docs/runtime.md. */
#include "cli.h"
#include "kig-config.h"
#include "log.h"
#include "oci-log.h"
#include "runtime-exec.h"

#include <string.h>

struct command {
    const char *name;
    int (*fn)(const struct global_options *g, int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"create", cmd_create, "create a container from a bundle (rewritten for this sandbox)"},
    {"start", cmd_start, "start a created container"},
    {"state", cmd_state, "print a container's state as JSON"},
    {"kill", cmd_kill, "send a signal to a container's init (--all: to all its processes)"},
    {"delete", cmd_delete, "delete a container and every mount it left"},
    {"exec", cmd_exec, "run a process in a running container"},
    {"ps", cmd_passthrough, "list a container's processes"},
    {"pause", cmd_passthrough, "pause a container (needs the freezer cgroup)"},
    {"resume", cmd_passthrough, "resume a paused container"},
    {"update", cmd_passthrough, "update a container's resource limits"},
    {"events", cmd_passthrough, "show a container's events"},
    {"list", cmd_passthrough, "list the containers the runtime knows"},
    {"features", cmd_passthrough, "print the runtime's features"},
    {"spec", cmd_passthrough, "write a template config.json"},
    {"checkpoint", cmd_passthrough, "checkpoint a container (runc with criu)"},
    {"restore", cmd_passthrough, "restore a container (runc with criu)"},
    {"run", cmd_passthrough, "(not supported: use create and start)"},
    {"probe", cmd_probe, "print what this sandbox lets a runtime do, as JSON (KIG_FEATURES_FILE format)"},
    {"rewrite", cmd_rewrite, "print how a config.json would be rewritten here: rewrite [--host] FILE"},
};

static void print_help(FILE *out)
{
    fprintf(out,
            "usage: kig-runtime [GLOBAL OPTIONS] COMMAND [OPTIONS] ...\n\n"
            "An OCI runtime with runc's command line for kig: rewrites config.json for what the sandbox can\n"
            "do and runs crun (or runc) on it. See docs/runtime.md.\n\ncommands:\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nglobal options:\n"
                 "  --root DIR          state directory (default " KIG_RUNTIME_DEFAULT_ROOT ")\n"
                 "  --log FILE          write messages to FILE instead of stderr\n"
                 "  --log-format FMT    text or json (runc's format)\n"
                 "  --systemd-cgroup    use systemd cgroups (passed to the runtime)\n"
                 "  --debug             more messages\n"
                 "  --criu PATH, --rootless VALUE   passed to runc\n"
                 "  -v, --version       print the version\n\n"
                 "environment: KIG_OCI_RUNTIME (crun, runc or a path), KIG_FEATURES_FILE, KIG_TRACE,\n"
                 "KIG_TRACE_ARGS\n");
}

static int print_version(const struct global_options *g)
{
    printf("kig-runtime version %s\nspec: 1.0.2-dev\n", KIG_VERSION);
    struct oci_runtime rt;
    if (oci_runtime_select(g, &rt) == 0) {
        printf("runtime: %s (%s)\n", oci_runtime_kind_name(rt.kind), rt.path);
        oci_runtime_done(&rt);
    }
    return 0;
}

enum {
    G_ROOT,
    G_LOG,
    G_LOG_FORMAT,
    G_CRIU,
    G_ROOTLESS,
    G_DEBUG,
    G_SYSTEMD_CGROUP,
    G_HELP,
    G_VERSION,
    _G_MAX,
};

static const struct cli_option global_options[_G_MAX] = {
    [G_ROOT] = {"root", 0, true},
    [G_LOG] = {"log", 0, true},
    [G_LOG_FORMAT] = {"log-format", 0, true},
    [G_CRIU] = {"criu", 0, true},
    [G_ROOTLESS] = {"rootless", 0, true},
    [G_DEBUG] = {"debug", 0, false},
    [G_SYSTEMD_CGROUP] = {"systemd-cgroup", 0, false},
    [G_HELP] = {"help", 'h', false},
    [G_VERSION] = {"version", 'v', false},
};

int main(int argc, char **argv)
{
    log_init("kig-runtime");
    const char *v[_G_MAX] = {NULL};
    int first = cli_parse("kig-runtime", global_options, _G_MAX, argc, argv, v, -1, NULL, NULL);
    if (first < 0)
        return 1;
    struct global_options g = {
        .root = v[G_ROOT] && *v[G_ROOT] ? v[G_ROOT] : KIG_RUNTIME_DEFAULT_ROOT,
        .log_path = v[G_LOG],
        .log_format = v[G_LOG_FORMAT],
        .criu = v[G_CRIU],
        .rootless = v[G_ROOTLESS],
        .debug = cli_true(v[G_DEBUG]),
        .systemd_cgroup = cli_true(v[G_SYSTEMD_CGROUP]),
    };
    enum oci_log_format format = OCI_LOG_TEXT;
    if (g.log_format && oci_log_format_from_string(g.log_format, &format) < 0) {
        log_error("unknown --log-format '%s': use text or json", g.log_format);
        return 1;
    }
    if (g.debug)
        log_set_level(LOG_LEVEL_DEBUG);
    /* The stdio of create and exec belongs to the container's process; other commands' output is the shim's.
     */
    if (first < argc && strcmp(argv[first], "create") != 0 && strcmp(argv[first], "exec") != 0)
        oci_log_errors_to_stderr(true);
    /* A log file that cannot be opened leaves messages on stderr, where they are still seen. */
    (void)oci_log_open(g.log_path, format);
    if (cli_true(v[G_HELP])) {
        print_help(stdout);
        return 0;
    }
    if (cli_true(v[G_VERSION]))
        return print_version(&g);
    if (first >= argc) {
        print_help(stderr);
        return 1;
    }
    if (g.root[0] != '/') {
        log_error("--root must be an absolute path, not '%s'", g.root);
        return 1;
    }
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(argv[first], commands[i].name) == 0)
            return commands[i].fn(&g, argc - first, argv + first);
    log_error("unknown command '%s'; run 'kig-runtime --help' for the list", argv[first]);
    return 1;
}
