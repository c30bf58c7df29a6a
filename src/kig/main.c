/* kig: Kubernetes in gVisor. Dispatches to one subcommand per file (cmd-*.c). */
#include "cli.h"
#include "kig-config.h"
#include "log.h"

#include <string.h>

const struct kig_command kig_commands[] = {
    {"doctor", "probe the kernel interfaces Kubernetes needs and show how kig will provide each", cmd_doctor,
     "usage: kig doctor [--json] [--only PROBE]... [-v]\n       kig doctor --list [--json] [--only "
     "PROBE]...\n\n"
     "Probes, at run time, every kernel interface that kubelet, containerd, runc/crun, CNI and kube-proxy\n"
     "use, and prints for each: present/missing/partial, the evidence, and the strategy kig will use.\n"
     "Probes leave no mount, file or process behind.\n\n"
     "  --json         print a machine-readable document (schema: docs/doctor.md)\n"
     "  --only PROBE   run only this probe: an id, a category or an id prefix such as cgroup.v1\n"
     "                 (repeatable; see 'kig doctor --list')\n"
     "  --list         list the probe names and exit\n"
     "  -v, --verbose  log each probe as it runs\n"},
    {"up", "start a Kubernetes cluster: the node (containerd, kubelet, kig-proxy) and its control plane",
     cmd_up,
     "usage: kig up [--control-plane-only] [--data-dir DIR] [--name NAME] [--port PORT] [--timeout SECS]\n"
     "              [--foreground] [--oci-runtime crun|runc] [--pod-network auto|veth|tap|host]\n"
     "              [--insecure-registry HOST[:PORT]]...\n\n"
     "Creates the cluster on first use (identity, certificates, kubeconfigs in the data dir), starts a\n"
     "supervisor that runs and restarts the components, waits until the API is ready (and, for a node, "
     "until\n"
     "it is Ready) and prints the admin kubeconfig's path. A second 'kig up' after 'kig down' reuses the "
     "data\n"
     "dir. See docs/control-plane.md and docs/node.md.\n\n"
     "  --control-plane-only  etcd, apiserver, controller-manager and scheduler only (no node; no root "
     "needed)\n"
     "  --data-dir DIR        where the cluster lives (default $KIG_DATA_DIR, else /var/lib/kig)\n"
     "  --name NAME           cluster (and node) name for a new data dir (default kig); must match an "
     "existing one\n"
     "  --port PORT           API port on 127.0.0.1 (default 6443, or the cluster's own)\n"
     "  --timeout SECS        how long to wait for readiness before giving up and stopping (default 180)\n"
     "  --foreground          stay attached; SIGINT/SIGTERM stop the cluster in order\n"
     "  --oci-runtime NAME    the OCI runtime kig-runtime runs containers with: crun (default when\n"
     "                        installed) or runc\n"
     "  --pod-network NAME    how pods get their network (docs/networking.md): auto (default: what the\n"
     "                        sandbox offers, veth, else tap), veth, tap, or host (pods share the node's\n"
     "                        network: ports clash)\n"
     "  --insecure-registry HOST[:PORT]\n"
     "                        pull from this registry over plain HTTP (repeatable; loopback registries\n"
     "                        need nothing: docs/images.md)\n"
     "  -v, --verbose         more detail\n"},
    {"down", "stop the cluster (--purge: and delete its data dir)", cmd_down,
     "usage: kig down [--data-dir DIR] [--purge] [--timeout SECS]\n\n"
     "Stops the components in the reverse of their start order (SIGTERM, then SIGKILL after a grace "
     "period),\n"
     "waits until every process is gone and, for a node, removes its mounts, virtual kernel and address.\n"
     "The data dir is kept unless --purge is given.\n\n"
     "  --data-dir DIR   the cluster's data dir (default $KIG_DATA_DIR, else /var/lib/kig)\n"
     "  --purge          delete the data dir after stopping (refused if it holds files kig did not create)\n"
     "  --timeout SECS   how long to wait for the orderly stop before killing (default 90)\n"},
    {"status", "show the cluster's components: pid, state, readiness, restarts, uptime", cmd_status,
     "usage: kig status [--data-dir DIR] [--json]\n\n"
     "Exit status: 0 when the cluster is up and every component ready, 3 when it runs but a component is\n"
     "not ready, 1 when it is not running.\n\n"
     "  --data-dir DIR   the cluster's data dir (default $KIG_DATA_DIR, else /var/lib/kig)\n"
     "  --json           machine-readable output (see docs/control-plane.md)\n"},
    {"logs", "print (or follow) a component's log", cmd_logs,
     "usage: kig logs COMPONENT [--data-dir DIR] [-f] [-n LINES]\n\n"
     "COMPONENT is etcd, kube-apiserver, kube-controller-manager, kube-scheduler (or apiserver,\n"
     "controller-manager, scheduler), containerd, kubelet, kig-proxy, or kig for the supervisor's own "
     "log.\n\n"
     "  -f, --follow        keep printing new lines until the cluster's supervisor stops\n"
     "  -n, --tail LINES    start with the last LINES lines only\n"
     "  --data-dir DIR      the cluster's data dir (default $KIG_DATA_DIR, else /var/lib/kig)\n"},
    {"kubeconfig", "print the admin kubeconfig, merge it into ~/.kube/config, or mint one for a user",
     cmd_kubeconfig,
     "usage: kig kubeconfig [--data-dir DIR] [--merge] [--user NAME [--group GROUP]... [--days N]]\n\n"
     "Without options, prints the admin kubeconfig (group system:masters). With --user, issues a new client\n"
     "certificate for NAME in the given groups, signed by the cluster CA, and prints a kubeconfig for it\n"
     "(the user has no rights until RBAC grants some).\n\n"
     "  --merge          add the cluster, user and context to ~/.kube/config instead of printing (kubectl)\n"
     "  --user NAME      the Kubernetes user name (certificate CN)\n"
     "  --group GROUP    a Kubernetes group (certificate O); repeatable\n"
     "  --days N         validity of the new certificate (default 365)\n"
     "  --data-dir DIR   the cluster's data dir (default $KIG_DATA_DIR, else /var/lib/kig)\n"},
    {"image", "load images from archives (docker save, OCI layouts) into the node, and list them", cmd_image,
     "usage: kig image load [--data-dir DIR] [--name NAME] FILE.tar...\n"
     "       kig image list [--data-dir DIR] [--all] [-q]\n\n"
     "Puts images into the node's containerd, where kubelet finds them without a registry\n"
     "(docs/images.md): pods then run them with imagePullPolicy IfNotPresent or Never. 'load' takes\n"
     "docker archives (docker save) and OCI image layouts in a tar (skopeo copy ... oci-archive:,\n"
     "Docker 25's docker save), checks each, imports it with containerd's ctr and prints the names\n"
     "loaded. The cluster must be up ('kig up').\n\n"
     "  --name NAME      load: name the archive's image (one without a name, or another name); a short name\n"
     "                   is completed as Kubernetes does (app:1 -> docker.io/library/app:1)\n"
     "  --all            list: also the CRI's own references (image ids, repo digests)\n"
     "  -q, --quiet      list: names only\n"
     "  --data-dir DIR   the cluster's data dir (default $KIG_DATA_DIR, else /var/lib/kig)\n"},
    {"version", "print kig's version", cmd_version, "usage: kig version\n"},
    {"vkernel", "(internal) the virtual kernel: plan, apply, tear down or check what kig mounts", cmd_vkernel,
     "usage: kig vkernel plan|apply|teardown|status [--run-dir DIR] [--json]\n\n"
     "The mounts that give kubelet, containerd and runc/crun what gVisor lacks (docs/vkernel.md):\n"
     "/proc/sys entries, a cgroup v1 layout, /dev/kmsg; and the kig-trace rules for the rest.\n\n"
     "  plan       probe this sandbox and print the actions and kig-trace arguments (changes nothing)\n"
     "  apply      probe, plan and apply (recorded in DIR/vkernel.json); again: nothing more is done\n"
     "  teardown   undo exactly what apply recorded, from any process\n"
     "  status     whether what was applied is still in place (exit 3 when not)\n\n"
     "  --run-dir DIR   where the state and kig's files live (default /run/kig)\n"
     "  --json          machine-readable output (plan and apply include \"trace_args\")\n"
     "  --no-fuse       plan/apply: use the fallbacks, not kig-cgroupfs\n"
     "  --augment HOW   plan/apply: add the files cAdvisor needs with an overlay (default) or with\n"
     "                  kig-cgroupfs (fuse: computed in every cgroup; needs kig-trace's fuse-statx rule)\n"
     "  --preset NAME   plan: a named feature set instead of a probe (gvisor-20221219, gvisor-newer,\n"
     "                  linux-host, linux-host-v1)\n"
     "  -v, --verbose   log more\n"},
    {"__supervise", "(internal) the supervisor process that 'kig up' starts", cmd_supervise,
     "usage: kig __supervise --data-dir DIR [--attached PID]\n"},
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
        if (kig_commands[i].name[0] != '_') /* internal commands */
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
