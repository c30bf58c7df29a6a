/* kig: Kubernetes in gVisor. Dispatches to one subcommand per file (cmd-*.c). */
#include "cli.h"
#include "kig-config.h"
#include "log.h"

#include <string.h>

const struct kig_command kig_commands[] = {
    {"doctor", "probe the kernel interfaces Kubernetes needs and show how kig will provide each", cmd_doctor,
     "usage: kig doctor [--json] [--only PROBE]... [-v]\n       kig doctor --list [--json] [--only PROBE]...\n\n"
     "Probes, at run time, every kernel interface that kubelet, containerd, runc/crun, CNI and kube-proxy\n"
     "use, and prints for each: present/missing/partial, the evidence, and the strategy kig will use.\n"
     "Probes leave no mount, file or process behind.\n\n"
     "  --json         print a machine-readable document (schema: docs/doctor.md)\n"
     "  --only PROBE   run only this probe: an id, a category or an id prefix such as cgroup.v1\n"
     "                 (repeatable; see 'kig doctor --list')\n"
     "  --list         list the probe names and exit\n"
     "  -v, --verbose  log each probe as it runs\n"},
    {"version", "print kig's version", cmd_version, "usage: kig version\n"},
};
const size_t kig_n_commands = sizeof(kig_commands) / sizeof(kig_commands[0]);

int cmd_version(int argc, char **argv)
{
    if (argc > 1)
        return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
    printf("kig %s\n", KIG_VERSION);
    return 0;
}

static void print_main_help(FILE *out)
{
    fprintf(out, "kig: Kubernetes in gVisor\n\nusage: kig COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < kig_n_commands; i++)
        fprintf(out, "  %-12s %s\n", kig_commands[i].name, kig_commands[i].summary);
    fprintf(out, "\n'kig COMMAND --help' describes a command.\n");
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    log_init("kig");
    if (argc < 2) {
        print_main_help(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_main_help(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0)
        return cmd_version(1, argv + 1);
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            print_main_help(stdout);
            return 0;
        }
        const struct kig_command *cmd = kig_find_command(argv[2]);
        if (!cmd)
            return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
        cli_print_help(cmd, stdout);
        return 0;
    }
    if (name[0] == '-')
        return cli_usage_error(NULL, "unknown option '%s' (options go after the command)", name);
    const struct kig_command *cmd = kig_find_command(name);
    if (!cmd)
        return cli_usage_error(NULL, "unknown command '%s'", name);
    if (wants_help(argc - 1, argv + 1)) {
        cli_print_help(cmd, stdout);
        return 0;
    }
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "kig %s", cmd->name);
    log_init(prefix);
    optind = 1;
    return cmd->run(argc - 1, argv + 1);
}
