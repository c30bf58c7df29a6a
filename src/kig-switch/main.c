/* kig-switch: the userspace switch that gives pods their own network where the sandbox has no veth or
 * bridge (gVisor before 2024-06). See docs/networking.md. */
#include "holder.h"
#include "kswitch.h"
#include "log.h"
#include "spawn.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static const char usage[] =
    "usage: kig-switch --pod-cidr CIDR [OPTIONS]\n"
    "       kig-switch ctl [--dir DIR] JSON\n"
    "       kig-switch exec [--dir DIR] POD-ID CMD [ARGS...]\n\n"
    "Runs the pod switch: every pod gets a network namespace with a TAP (made by a per-pod netns holder on\n"
    "CNI ADD), and the switch forwards IPv4 between pods, the node and, with --nat, the outside.\n\n"
    "  --dir DIR            state, control socket and holder sockets (default " PODNS_DEFAULT_DIR ")\n"
    "  --pod-cidr CIDR      the pods' addresses, at most a /16 (e.g. 10.244.0.0/24)\n"
    "  --node-address A/LEN the node's address on its TAP, the pods' gateway (default: first address of\n"
    "                       the pod CIDR, with its prefix length)\n"
    "  --node-ifname NAME   the node's TAP (default kig0)\n"
    "  --no-node            no TAP in the node's namespace\n"
    "  --node-route CIDR    more destinations that belong to the node: its node IP, the service CIDR\n"
    "                       (repeatable)\n"
    "  --nat                pods reach every other address through a userspace NAT (libslirp) that uses\n"
    "                       this process's sockets\n"
    "  -v, --verbose        log every dropped frame and holder request\n";

static int parse_cidr_or_die(const char *s, struct route4 *r, const char *what)
{
    if (route4_parse(s, r) < 0) {
        log_error("%s: '%s' is not A.B.C.D/LEN", what, s);
        return -EINVAL;
    }
    return 0;
}

static int cmd_ctl(int argc, char **argv)
{
    const char *dir = PODNS_DEFAULT_DIR;
    int i = 1;
    if (argc > 2 && strcmp(argv[1], "--dir") == 0) {
        dir = argv[2];
        i = 3;
    }
    if (i != argc - 1) {
        fputs("usage: kig-switch ctl [--dir DIR] JSON\n", stderr);
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/switch.sock", dir) >= (int)sizeof(sa.sun_path))
        return log_error_errno(-ENAMETOOLONG, "%s is too long", dir), 1;
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return log_error_errno(errno, "cannot reach kig-switch at %s: %m (is it running?)", sa.sun_path), 1;
    if (send(fd, argv[i], strlen(argv[i]), 0) < 0)
        return log_error_errno(errno, "send: %m"), 1;
    static char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return log_error_errno(n < 0 ? errno : EPIPE, "no answer from kig-switch: %m"), 1;
    buf[n] = '\0';
    puts(buf);
    return strstr(buf, "\"ok\":true") ? 0 : 1;
}

/* Runs a command in a pod's network namespace through its holder, with our stdio; exits with its code. */
static int cmd_exec(int argc, char **argv)
{
    const char *dir = PODNS_DEFAULT_DIR;
    int i = 1;
    if (argc > 2 && strcmp(argv[1], "--dir") == 0) {
        dir = argv[2];
        i = 3;
    }
    if (argc - i < 2) {
        fputs("usage: kig-switch exec [--dir DIR] POD-ID CMD [ARGS...]\n", stderr);
        return 2;
    }
    struct podns_spawn_options o = {
        .argv = (const char *const *)argv + i + 1, .stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2};
    int status = 0;
    int r = podns_run(dir, argv[i], &o, &status);
    if (r < 0)
        return log_error_errno(r, "cannot run %s in pod %s: %m", argv[i + 1], argv[i]), 125;
    return wait_status_to_exit_code(status);
}

int main(int argc, char **argv)
{
    log_init("kig-switch");
    if (argc > 1 && strcmp(argv[1], "holder") == 0) {
        log_init("kig-podns");
        return holder_main(argc - 1, argv + 1);
    }
    if (argc > 1 && strcmp(argv[1], "ctl") == 0)
        return cmd_ctl(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "exec") == 0)
        return cmd_exec(argc - 1, argv + 1);

    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"pod-cidr", required_argument, NULL, 'p'},
        {"node-address", required_argument, NULL, 'a'},
        {"node-ifname", required_argument, NULL, 'n'},
        {"no-node", no_argument, NULL, 'N'},
        {"node-route", required_argument, NULL, 'r'},
        {"nat", no_argument, NULL, 'x'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct switch_options o = {.dir = PODNS_DEFAULT_DIR, .node_ifname = "kig0"};
    const char *pod_cidr = NULL, *node_address = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.dir = optarg;
            break;
        case 'p':
            pod_cidr = optarg;
            break;
        case 'a':
            node_address = optarg;
            break;
        case 'n':
            o.node_ifname = optarg;
            break;
        case 'N':
            o.node_ifname = NULL;
            break;
        case 'r':
            if (o.n_node_routes == ARRAY_SIZE(o.node_routes)) {
                log_error("at most %zu --node-route", ARRAY_SIZE(o.node_routes));
                return 2;
            }
            if (parse_cidr_or_die(optarg, &o.node_routes[o.n_node_routes++], "--node-route") < 0)
                return 2;
            break;
        case 'x':
            o.nat = true;
            break;
        case 'v':
            o.verbose = true;
            log_set_level(LOG_LEVEL_DEBUG);
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind != argc || !pod_cidr) {
        log_error("--pod-cidr is required; see 'kig-switch --help'");
        return 2;
    }
    if (parse_cidr_or_die(pod_cidr, &o.pods, "--pod-cidr") < 0)
        return 2;
    if (node_address) {
        struct route4 r;
        char ip[32];
        struct in_addr in;
        const char *slash = strchr(node_address, '/');
        snprintf(ip, sizeof(ip), "%.*s", slash ? (int)(slash - node_address) : 0, node_address);
        if (!slash || parse_cidr_or_die(node_address, &r, "--node-address") < 0 ||
            inet_pton(AF_INET, ip, &in) != 1)
            return 2;
        o.node_address = ntohl(in.s_addr);
        o.node_prefix_len = route4_prefix_len(&r);
    } else {
        o.node_address = o.pods.net + 1;
        o.node_prefix_len = route4_prefix_len(&o.pods);
    }
    if (!route4_contains(&o.pods, o.node_address)) {
        log_error("--node-address must be inside the pod CIDR (it is the pods' gateway)");
        return 2;
    }
    return switch_run(&o) < 0 ? 1 : 0;
}
