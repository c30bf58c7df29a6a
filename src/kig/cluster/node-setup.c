#include "node-setup.h"

#include "components.h"
#include "fileutil.h"
#include "kubeconfig.h"
#include "log.h"
#include "macro.h"
#include "netinfo.h"
#include "node/node-config.h"
#include "pki-setup.h"
#include "spawn.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SUBPROCESS_TIMEOUT_MS 120000
/* A marker: kig put the fallback node address on lo (and must take it away again). */
#define NODE_IP_MARKER "node-ip-added"

int node_setup_init(struct node_setup *n, const struct data_dir *d, const char *node_name)
{
    *n = (struct node_setup){0};
    snprintf(n->node_name, sizeof(n->node_name), "%s", node_name);
    n->root = path_join(d->root, "node");
    n->vkernel_run_dir = path_join(d->run, "vkernel");
    if (!n->root || !n->vkernel_run_dir)
        return -ENOMEM;
    n->containerd_root = path_join(n->root, "containerd/root");
    n->containerd_state = path_join(n->root, "containerd/state");
    n->containerd_socket = path_join(d->root, KIG_NODE_CONTAINERD_SOCKET);
    n->containerd_config = path_join(n->root, "config/containerd.toml");
    n->kubelet_root = path_join(n->root, "kubelet");
    n->kubelet_config = path_join(n->root, "config/kubelet.json");
    n->kubelet_kubeconfig = path_join(n->root, "config/kubelet.kubeconfig");
    n->proxy_kubeconfig = path_join(n->root, "config/kig-proxy.kubeconfig");
    n->cni_bin = path_join(n->root, "cni/bin");
    n->cni_conf = path_join(n->root, "cni/conf");
    n->runtime_root = path_join(n->root, "runtime");
    n->switch_dir = path_join(d->root, KIG_NODE_SWITCH_DIR);
    n->cni_ipam_dir = path_join(n->root, "cni/ipam");
    n->shim_dir = path_join(n->root, "shim");
    n->kubelet_path_dir = path_join(n->root, "kubelet-path");
    if (!n->switch_dir || !n->cni_ipam_dir || !n->shim_dir || !n->kubelet_path_dir)
        return -ENOMEM;
    if (!n->containerd_root || !n->containerd_state || !n->containerd_socket || !n->containerd_config ||
        !n->kubelet_root || !n->kubelet_config || !n->kubelet_kubeconfig || !n->proxy_kubeconfig ||
        !n->cni_bin || !n->cni_conf || !n->runtime_root)
        return -ENOMEM;
    return 0;
}

void node_setup_done(struct node_setup *n)
{
    char **paths[] = {&n->root,
                      &n->containerd_root,
                      &n->containerd_state,
                      &n->containerd_socket,
                      &n->containerd_config,
                      &n->kubelet_root,
                      &n->kubelet_config,
                      &n->kubelet_kubeconfig,
                      &n->proxy_kubeconfig,
                      &n->cni_bin,
                      &n->cni_conf,
                      &n->runtime_root,
                      &n->switch_dir,
                      &n->cni_ipam_dir,
                      &n->shim_dir,
                      &n->real_shim,
                      &n->kubelet_path_dir,
                      &n->vkernel_run_dir,
                      &n->trace_path};
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        free(*paths[i]);
        *paths[i] = NULL;
    }
    strv_done(&n->trace_args);
}

/* ---- mounts ---- */

static bool is_mount_point(const char *path)
{
    struct stat st, parent;
    _cleanup_free_ char *up = path_join(path, "..");
    if (!up || stat(path, &st) < 0 || stat(up, &parent) < 0)
        return false;
    return st.st_dev != parent.st_dev;
}

/* Every mount point at or below root, from /proc/self/mountinfo, deepest (longest) last. */
static int mounts_below(const char *root, struct strv *ret)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return negative_errno();
    size_t root_len = strlen(root);
    char line[8192];
    while (fgets(line, sizeof(line), f)) {
        char mount_point[PATH_MAX];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mount_point) != 1)
            continue;
        if (strncmp(mount_point, root, root_len) != 0 ||
            (mount_point[root_len] != '\0' && mount_point[root_len] != '/'))
            continue;
        int r = strv_push(ret, mount_point);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Unmounts everything at or below root, deepest first (containers' rootfs and volumes included). Lazy: a
 * busy mount is detached, not kept. */
static int unmount_below(const char *root)
{
    _cleanup_(strv_done) struct strv mounts = {0};
    int r = mounts_below(root, &mounts);
    if (r < 0)
        return log_error_errno(r, "cannot read /proc/self/mountinfo: %m");
    int failed = 0;
    /* mountinfo lists in mount order: undoing in reverse takes children before their parents. */
    for (size_t i = mounts.n; i-- > 0;)
        if (umount2(mounts.v[i], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
            log_warn("cannot unmount %s: %m", mounts.v[i]);
            failed = -errno;
        }
    return failed;
}

static int mount_tmpfs(const char *path, const char *options)
{
    int r = mkdir_p(path, 0755);
    if (r < 0)
        return log_error_errno(r, "cannot create %s: %m", path);
    if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, options) < 0)
        return log_error_errno(negative_errno(), "cannot mount a tmpfs on %s: %m", path);
    return 0;
}

static int make_dirs(const struct node_setup *n)
{
    const char *dirs[] = {n->containerd_root, n->containerd_state, n->cni_bin,
                          n->cni_conf,        n->cni_ipam_dir,     n->runtime_root,
                          n->switch_dir,      n->shim_dir,         n->kubelet_path_dir};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        int r = mkdir_p(dirs[i], 0755);
        if (r < 0)
            return log_error_errno(r, "cannot create %s: %m", dirs[i]);
    }
    _cleanup_free_ char *config = path_join(n->root, "config");
    int r = config ? mkdir_p(config, 0700) : -ENOMEM;
    if (r < 0)
        return log_error_errno(r, "cannot create %s/config: %m", n->root);
    return 0;
}

/* kubelet v1.20 writes pod logs to /var/log/pods and links them from /var/log/containers whatever its root
 * dir is. In a sandbox over a shared filesystem those are shared with every other node on the machine, and
 * a kubelet deletes the log directories of pods it does not know: each node binds its own directories (on
 * its tmpfs) over them. Ours are told apart from anything else mounted there by their device. */
static const char *const pod_log_dirs[] = {"/var/log/pods", "/var/log/containers"};

static void mount_pod_logs(const struct node_setup *n)
{
    for (size_t i = 0; i < ARRAY_SIZE(pod_log_dirs); i++) {
        const char *dst = pod_log_dirs[i];
        _cleanup_free_ char *src = path_join(n->root, dst + strlen("/var/"));
        int r = src ? mkdir_p(src, 0755) : -ENOMEM;
        if (r >= 0)
            r = mkdir_p(dst, 0755);
        if (r >= 0 && is_mount_point(dst))
            log_warn("%s is a mount point already (another kig node in this sandbox?): this node's logs hide "
                     "it until 'kig down'",
                     dst);
        if (r >= 0 && mount(src, dst, NULL, MS_BIND, NULL) < 0)
            r = negative_errno();
        if (r < 0)
            log_warn("cannot give this node its own %s (%s): pod logs are shared with other nodes on this "
                     "filesystem",
                     dst, strerror(-r));
    }
}

static void unmount_pod_logs(const char *root)
{
    struct stat root_st, st;
    if (!is_mount_point(root) || stat(root, &root_st) < 0)
        return;
    for (size_t i = 0; i < ARRAY_SIZE(pod_log_dirs); i++)
        for (int depth = 0; depth < 8; depth++) {
            if (stat(pod_log_dirs[i], &st) < 0 || st.st_dev != root_st.st_dev ||
                !is_mount_point(pod_log_dirs[i]))
                break;
            if (umount2(pod_log_dirs[i], MNT_DETACH) < 0) {
                log_warn("cannot unmount %s: %m", pod_log_dirs[i]);
                break;
            }
        }
}

/* Every mount of the node: its log binds outside root first, then everything at or below root. */
static int unmount_node_dirs(const char *root)
{
    unmount_pod_logs(root);
    return unmount_below(root);
}

static int mount_node_dirs(const struct node_setup *n)
{
    int r = mount_tmpfs(n->root, "mode=0755");
    if (r < 0)
        return r;
    /* kubelet makes its root dir rshared (MS_SHARED|MS_REC), which gVisor refuses; a mount point that is
     * already shared passes kubelet's check, and plain MS_SHARED works. */
    if ((r = mount_tmpfs(n->kubelet_root, "mode=0750")) < 0)
        return r;
    if (mount(NULL, n->kubelet_root, NULL, MS_SHARED, NULL) < 0)
        log_warn("cannot make %s shared (%m): kubelet may refuse its root dir", n->kubelet_root);
    if ((r = make_dirs(n)) < 0)
        return r;
    mount_pod_logs(n);
    return 0;
}

/* ---- the virtual kernel ---- */

static int self_exe(char *buf, size_t size)
{
    ssize_t len = readlink("/proc/self/exe", buf, size - 1);
    if (len < 0)
        return log_error_errno(negative_errno(), "cannot find kig's own executable: %m");
    buf[len] = '\0';
    return 0;
}

/* Runs argv to completion. 0 when it exited 0; else a negative errno (-EIO: it failed) with the first line of
 * its stderr, or a stand-in, in why. */
static int run_checked(const char *const *argv, char **ret_out, int timeout_ms, char *why, size_t why_size)
{
    _cleanup_free_ char *err = NULL;
    int status;
    int r = run_capture(argv, ret_out, &err, timeout_ms, &status);
    if (r < 0) {
        snprintf(why, why_size, "cannot run %s: %s", argv[0], strerror(-r));
        return r;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    size_t len = err ? strcspn(err, "\n") : 0;
    if (len > 0)
        snprintf(why, why_size, "%.*s", (int)len, err);
    else
        snprintf(why, why_size, "exit status %d, no message", wait_status_to_exit_code(status));
    return -EIO;
}

/* The plan's kig-trace arguments, except its path redirects. A redirect rule stops every open, stat,
 * access and readlink of every traced process (the shims, the runtime, and every process of every pod)
 * to compare its path: measured inside gVisor 20221219, a pod started 1.6 times slower with it and
 * `python3 -c 1` in a pod took 11 s instead of 0.3 s. Nothing kig traces reads the redirected files (net/
 * sysctls gVisor lacks; kubelet, their reader, runs untraced), so they stay for `kig-trace` users. */
int node_trace_args_from_plan(struct strv *out, const json_t *args)
{
    size_t n_args = json_array_size(args), dropped = 0;
    for (size_t i = 0; i < n_args; i++) {
        const char *a = json_string_value(json_array_get(args, i));
        const char *next = i + 1 < n_args ? json_string_value(json_array_get(args, i + 1)) : NULL;
        if (!a)
            continue;
        if (next &&
            ((strcmp(a, "--rule") == 0 && strcmp(next, "redirect") == 0) || strcmp(a, "--redirect") == 0)) {
            dropped += strcmp(a, "--redirect") == 0;
            i++;
            continue;
        }
        if (strv_push(out, a) < 0)
            return log_error_errno(ENOMEM, "out of memory");
    }
    if (dropped > 0)
        log_debug("%zu path redirects of the virtual kernel are not applied to containerd's tree", dropped);
    return 0;
}

/* `kig vkernel apply --json` in a child process (a crash there must not take the supervisor along), and
 * the kig-trace arguments its plan asks for. */
static int vkernel_apply(struct node_setup *n)
{
    char self[PATH_MAX];
    int r = self_exe(self, sizeof(self));
    if (r < 0)
        return r;
    const char *argv[] = {self, "vkernel", "apply", "--run-dir", n->vkernel_run_dir, "--json", NULL};
    _cleanup_free_ char *out = NULL;
    char why[512];
    r = run_checked(argv, &out, SUBPROCESS_TIMEOUT_MS, why, sizeof(why));
    if (r < 0)
        return log_error_errno(r, "the virtual kernel could not be set up: %s", why);
    json_error_t jerr;
    json_t *doc = json_loads(out, 0, &jerr);
    json_t *args = doc ? json_object_get(doc, "trace_args") : NULL;
    if (!json_is_array(args)) {
        json_decref(doc);
        return log_error_errno(EPROTO, "kig vkernel apply --json printed no trace_args");
    }
    r = node_trace_args_from_plan(&n->trace_args, args);
    json_decref(doc);
    return r;
}

static int vkernel_teardown(const char *run_dir)
{
    _cleanup_free_ char *state = path_join(run_dir, "vkernel.json");
    if (!state || !path_exists(state))
        return 0;
    char self[PATH_MAX];
    int r = self_exe(self, sizeof(self));
    if (r < 0)
        return r;
    const char *argv[] = {self, "vkernel", "teardown", "--run-dir", run_dir, NULL};
    char why[512];
    r = run_checked(argv, NULL, SUBPROCESS_TIMEOUT_MS, why, sizeof(why));
    if (r < 0)
        return log_error_errno(r, "kig vkernel teardown --run-dir %s failed: %s", run_dir, why);
    return 0;
}

/* ---- what containerd's process tree needs from kig-trace ---- */

/* gVisor 20221219 gives PR_SET_CHILD_SUBREAPER to PID 1 only; containerd-shim needs it. */
static bool subreaper_missing(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return true;
    if (pid == 0)
        _exit(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : 1);
    int status;
    return waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

/* gVisor refuses fchown on a pipe (EPERM); the shim does it to the container's stdio. */
static bool fchown_pipe_refused(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return false;
    bool refused = fchown(p[0], geteuid(), getegid()) < 0;
    close(p[0]);
    close(p[1]);
    return refused;
}

/* The flags runc and crun use for their mounts (MS_REC with a bind, MS_SLAVE) are EINVAL in gVisor
 * 20221219: tried on a scratch tmpfs. */
static bool mount_flags_refused(const char *scratch_parent)
{
    _cleanup_free_ char *dir = path_join(scratch_parent, ".mount-probe");
    if (!dir || mkdir_p(dir, 0700) < 0)
        return false;
    bool refused = false;
    if (mount("tmpfs", dir, "tmpfs", 0, "size=64k") == 0) {
        refused = mount(NULL, dir, NULL, MS_SLAVE | MS_REC, NULL) < 0 && errno == EINVAL;
        umount2(dir, MNT_DETACH);
    }
    rmdir(dir);
    return refused;
}

/* containerd's overlayfs snapshotter needs overlay mounts with an upper layer on the node's tmpfs; else
 * the native snapshotter (full copies) always works. Tried, not guessed: newer gVisor releases and hosts
 * differ. */
static bool overlay_works(const char *scratch_parent)
{
    _cleanup_free_ char *dir = path_join(scratch_parent, ".overlay-probe");
    if (!dir)
        return false;
    char lower[PATH_MAX], upper[PATH_MAX], work[PATH_MAX], merged[PATH_MAX], opts[4 * PATH_MAX];
    snprintf(lower, sizeof(lower), "%s/lower", dir);
    snprintf(upper, sizeof(upper), "%s/upper", dir);
    snprintf(work, sizeof(work), "%s/work", dir);
    snprintf(merged, sizeof(merged), "%s/merged", dir);
    bool works = false;
    if (mkdir_p(lower, 0755) == 0 && mkdir_p(upper, 0755) == 0 && mkdir_p(work, 0755) == 0 &&
        mkdir_p(merged, 0755) == 0) {
        snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
        if (mount("overlay", merged, "overlay", 0, opts) == 0) {
            _cleanup_free_ char *file = path_join(merged, "probe");
            works = file && write_file_atomic(file, "x", 1, 0644) == 0;
            umount2(merged, MNT_DETACH);
        }
    }
    (void)rm_rf(dir);
    return works;
}

/* containerd pins a pod's network namespace by bind-mounting /proc/PID/task/TID/ns/net onto a file and
 * checks the pin with statfs == NSFS_MAGIC. gVisor 20221219 mounts the symlink instead, which can then be
 * neither opened nor statfs'ed: tried on a scratch file with this thread's own namespace. */
static bool netns_pin_broken(const char *scratch_parent)
{
    _cleanup_free_ char *pin = path_join(scratch_parent, ".netns-pin-probe");
    if (!pin)
        return false;
    _cleanup_close_ int created = open(pin, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (created < 0)
        return false;
    char link[64];
    snprintf(link, sizeof(link), "/proc/%d/task/%d/ns/net", (int)getpid(), (int)gettid());
    bool broken = true;
    if (mount(link, pin, "none", MS_BIND, NULL) == 0) {
        _cleanup_close_ int fd = open(pin, O_RDONLY | O_CLOEXEC);
        struct statfs st;
        broken = fd < 0 || fstatfs(fd, &st) < 0 || st.f_type != NSFS_MAGIC;
        umount2(pin, MNT_DETACH);
    }
    (void)unlink(pin);
    return broken;
}

static bool has_rule(const struct strv *args, const char *rule)
{
    for (size_t i = 0; i + 1 < args->n; i++)
        if (strcmp(args->v[i], "--rule") == 0 && strcmp(args->v[i + 1], rule) == 0)
            return true;
    return false;
}

static int add_rule(struct node_setup *n, const char *rule)
{
    if (has_rule(&n->trace_args, rule))
        return 0;
    return strv_push(&n->trace_args, "--rule") < 0 || strv_push(&n->trace_args, rule) < 0 ? -ENOMEM : 0;
}

static int plan_trace_rules(struct node_setup *n)
{
    int r = 0;
    if (subreaper_missing())
        r = add_rule(n, "subreaper");
    if (r == 0 && fchown_pipe_refused())
        r = add_rule(n, "fchown-pipe");
    if (r == 0 && mount_flags_refused(n->root))
        r = add_rule(n, "mount");
    if (r == 0 && strcmp(n->pod_network, "host") != 0 && netns_pin_broken(n->root)) {
        /* containerd_state/<CRI plugin id>/netns: netns_mounts_under_state_dir in containerd.toml */
        _cleanup_free_ char *netns_dir = path_join(n->containerd_state, "io.containerd.grpc.v1.cri/netns");
        r = netns_dir ? strv_push(&n->trace_args, "--netns-dir") : -ENOMEM;
        if (r >= 0)
            r = strv_push(&n->trace_args, netns_dir);
    }
    if (r < 0)
        return log_error_errno(r, "out of memory");
    return component_require(COMPONENT_KIG_TRACE, &n->trace_path);
}

/* ---- pod networking ---- */

static bool known_pod_network(const char *s)
{
    return strcmp(s, "veth") == 0 || strcmp(s, "tap") == 0 || strcmp(s, "host") == 0;
}

/* KIG_POD_NETWORK when set, else what `kig-cni --probe` recommends after trying each strategy in a
 * throwaway namespace (docs/networking.md). */
static int choose_pod_network(struct node_setup *n)
{
    const char *forced = getenv("KIG_POD_NETWORK");
    if (forced && *forced) {
        if (!known_pod_network(forced))
            return log_error_errno(EINVAL, "KIG_POD_NETWORK='%s' is not a pod network: use veth, tap or host",
                                   forced);
        snprintf(n->pod_network, sizeof(n->pod_network), "%s", forced);
        return 0;
    }
    _cleanup_free_ char *cni = NULL, *out = NULL;
    int r = component_require(COMPONENT_KIG_CNI, &cni);
    if (r < 0)
        return r;
    const char *argv[] = {cni, "--probe", NULL};
    char why[512];
    if ((r = run_checked(argv, &out, SUBPROCESS_TIMEOUT_MS, why, sizeof(why))) < 0)
        return log_error_errno(r, "kig-cni --probe failed: %s", why);
    json_t *doc = json_loads(out, 0, NULL);
    const char *recommended = json_string_value(json_object_get(doc, "recommended"));
    if (recommended && known_pod_network(recommended))
        snprintf(n->pod_network, sizeof(n->pod_network), "%s", recommended);
    json_decref(doc);
    if (!n->pod_network[0])
        return log_error_errno(EPROTO, "kig-cni --probe recommended no pod network: %s", out);
    if (strcmp(n->pod_network, "host") == 0)
        log_warn("pods share the node's network: this sandbox offers neither veth nor TAP devices in a new "
                 "network namespace, so two pods cannot listen on the same port");
    return 0;
}

/* ---- the node address ---- */

/* Whether some interface, lo included (netinfo_addresses() skips it), has the IPv4 address. */
static bool address_present(const char *ip)
{
    struct ifaddrs *list;
    if (getifaddrs(&list) < 0)
        return false;
    bool found = false;
    for (struct ifaddrs *a = list; a && !found; a = a->ifa_next) {
        char buf[INET_ADDRSTRLEN];
        if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET &&
            inet_ntop(AF_INET, &((struct sockaddr_in *)a->ifa_addr)->sin_addr, buf, sizeof(buf)))
            found = strcmp(buf, ip) == 0;
    }
    freeifaddrs(list);
    return found;
}

static int run_ip(const char *verb, const char *address)
{
    _cleanup_free_ char *ip = find_executable("ip");
    if (!ip)
        return log_error_errno(ENOENT, "the 'ip' command is missing: run 'apt-get install iproute2'");
    const char *argv[] = {ip, "-4", "addr", verb, address, "dev", "lo", NULL};
    char why[512];
    int r = run_checked(argv, NULL, 10000, why, sizeof(why));
    if (r < 0)
        return log_error_errno(r, "'ip addr %s %s dev lo' failed: %s", verb, address, why);
    return 0;
}

int node_setup_node_ip(char *buf, size_t size)
{
    int r = netinfo_advertise_address(buf, size);
    if (r < 0)
        return r;
    if (strncmp(buf, "127.", 4) == 0)
        snprintf(buf, size, "%s", KIG_NODE_FALLBACK_IP);
    return 0;
}

static int ensure_node_ip(struct node_setup *n, const struct data_dir *d)
{
    int r = node_setup_node_ip(n->node_ip, sizeof(n->node_ip));
    if (r < 0)
        return log_error_errno(r, "cannot find the node's address: %m");
    if (strcmp(n->node_ip, KIG_NODE_FALLBACK_IP) != 0 || address_present(n->node_ip))
        return 0;
    /* kubelet refuses a loopback node address, and a sandbox without network has nothing else. */
    if ((r = run_ip("add", KIG_NODE_FALLBACK_IP "/32")) < 0)
        return r;
    n->node_ip_added = true;
    _cleanup_free_ char *marker = path_join(d->run, NODE_IP_MARKER);
    if (marker)
        (void)write_file_atomic(marker, "", 0, 0644);
    return 0;
}

/* ---- configuration files ---- */

/* rendered: the renderer's return value; doc: its document (taken). */
static int write_config(const char *path, const char *what, int rendered, char *text)
{
    _cleanup_free_ char *doc = text;
    if (rendered < 0 || !doc)
        return log_error_errno(rendered < 0 ? rendered : EINVAL, "cannot render the %s: %m", what);
    int r = write_file_atomic(path, doc, strlen(doc), 0600);
    if (r < 0)
        return log_error_errno(r, "cannot write %s: %m", path);
    return 0;
}

/* DIR/NAME -> TARGET, replacing whatever link a previous start left there. */
static int replace_symlink(const char *dir, const char *name, const char *target)
{
    _cleanup_free_ char *link = path_join(dir, name);
    if (!link)
        return log_error_errno(ENOMEM, "out of memory");
    (void)unlink(link);
    if (symlink(target, link) < 0)
        return log_error_errno(negative_errno(), "cannot create %s: %m", link);
    return 0;
}

static int link_cni_plugin(const struct node_setup *n)
{
    _cleanup_free_ char *plugin = NULL;
    int r = component_require(COMPONENT_KIG_CNI, &plugin);
    if (r < 0)
        return r;
    /* containerd's CRI always runs the "loopback" plugin too; kig-cni stands in for it by that name. */
    const char *names[] = {"kig-cni", "loopback"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if ((r = replace_symlink(n->cni_bin, names[i], plugin)) < 0)
            return r;
    return 0;
}

/* tap: containerd must run kig-shim where it runs containerd-shim-runc-v2 (see src/kig-shim/main.c): a link
 * by that name in <node>/shim, which the supervisor puts first in containerd's PATH, and the real shim's
 * path in KIG_CONTAINERD_SHIM. */
static int link_shim(struct node_setup *n)
{
    _cleanup_free_ char *shim = NULL, *real = NULL;
    int r = component_require(COMPONENT_KIG_SHIM, &shim);
    if (r < 0 || (r = component_require(COMPONENT_CONTAINERD_SHIM_RUNC_V2, &real)) < 0 ||
        (r = replace_symlink(n->shim_dir, "containerd-shim-runc-v2", shim)) < 0)
        return r;
    n->real_shim = TAKE_PTR(real);
    return 0;
}

/* kubelet runs mount(8) for its volumes; <node>/kubelet-path/mount -> kig-mount, first in kubelet's PATH (the
 * supervisor puts it there), makes subPath mounts work where the sandbox refuses bind remounts. */
static int link_kubelet_mount(const struct node_setup *n)
{
    _cleanup_free_ char *wrapper = NULL;
    int r = component_require(COMPONENT_KIG_MOUNT, &wrapper);
    return r < 0 ? r : replace_symlink(n->kubelet_path_dir, "mount", wrapper);
}

/* kubelet measures every container's log directory every 10 s and every pod volume every minute with
 * `nice -n 19 du -x -s -B 1 PATH` and `find PATH -xdev -printf .`: three program starts, dear inside gVisor.
 * <node>/kubelet-path/nice and find -> kig-du answer those two command lines in one start of a small static
 * program, with GNU's output, and run the real nice or find for any other (src/kig-du/main.c). */
static int link_kubelet_du(const struct node_setup *n)
{
    _cleanup_free_ char *kig_du = NULL;
    int r = component_require(COMPONENT_KIG_DU, &kig_du);
    if (r < 0 || (r = replace_symlink(n->kubelet_path_dir, "nice", kig_du)) < 0)
        return r;
    return replace_symlink(n->kubelet_path_dir, "find", kig_du);
}

static int write_configs(struct node_setup *n, const struct data_dir *d, const char *cluster_name,
                         const char *server)
{
    _cleanup_free_ char *runtime = NULL;
    bool tap = strcmp(n->pod_network, "tap") == 0;
    int r = component_require(COMPONENT_KIG_RUNTIME, &runtime);
    if (r < 0 || (r = link_cni_plugin(n)) < 0 || (tap && (r = link_shim(n)) < 0) ||
        (r = link_kubelet_mount(n)) < 0 || (r = link_kubelet_du(n)) < 0)
        return r;
    char *text = NULL;
    _cleanup_free_ char *registries = path_join(d->run, KIG_REGISTRY_HOSTS_DIR);
    if (!registries)
        return log_error_errno(ENOMEM, "out of memory");
    const struct containerd_options co = {
        .root = n->containerd_root,
        .state = n->containerd_state,
        .socket = n->containerd_socket,
        .snapshotter = overlay_works(n->root) ? "overlayfs" : "native",
        .runtime_binary = runtime,
        .runtime_root = n->runtime_root,
        .sandbox_image = KIG_PAUSE_IMAGE,
        .cni_bin_dir = n->cni_bin,
        .cni_conf_dir = n->cni_conf,
        .registry_config_dir = registries,
        .restrict_oom_score_adj = true,
    };
    r = containerd_config_render(&co, &text);
    if ((r = write_config(n->containerd_config, "containerd configuration", r, text)) < 0)
        return r;
    _cleanup_free_ char *ca = data_dir_pki_file(d, "ca.crt"),
                        *crt = data_dir_pki_file(d, "kubelet-server.crt"),
                        *key = data_dir_pki_file(d, "kubelet-server.key");
    if (!ca || !crt || !key)
        return log_error_errno(ENOMEM, "out of memory");
    const struct kubelet_options ko = {
        .node_ip = n->node_ip,
        .client_ca_file = ca,
        .tls_cert_file = crt,
        .tls_key_file = key,
        .cluster_domain = KIG_CLUSTER_DOMAIN,
        .cluster_dns = KIG_CLUSTER_DNS_IP, /* kig-proxy answers there */
        .cgroups_per_qos = false, /* cAdvisor's /kubepods stats are incomplete here (docs/vkernel.md) */
        /* On: it is also what makes kubelet's cAdvisor collect disk usage (DiskUsageMetrics) for a CRI
         * runtime, without which it logs "cannot find filesystem info" for the image fs every 10 s. Its
         * known trouble, cAdvisor ignoring 9p, does not arise: the node's directories are on tmpfs. */
        .local_storage_capacity_isolation = true,
    };
    text = NULL;
    r = kubelet_config_render(&ko, &text);
    if ((r = write_config(n->kubelet_config, "kubelet configuration", r, text)) < 0)
        return r;
    _cleanup_free_ char *conflist = path_join(n->cni_conf, "10-kig.conflist");
    if (!conflist)
        return log_error_errno(ENOMEM, "out of memory");
    bool own_network = strcmp(n->pod_network, "host") != 0;
    const struct cni_options cni = {
        .network_name = "kig",
        .plugin_type = "kig-cni",
        .strategy = n->pod_network,
        .node_ip = n->node_ip,
        .pod_cidr = own_network ? KIG_POD_CIDR : NULL,
        .data_dir = own_network ? n->cni_ipam_dir : NULL,
        .switch_dir = tap ? n->switch_dir : NULL,
    };
    text = NULL;
    r = cni_conflist_render(&cni, &text);
    if ((r = write_config(conflist, "CNI configuration", r, text)) < 0)
        return r;
    r = kubeconfig_write_from_pki(n->kubelet_kubeconfig, d->pki, "kubelet", cluster_name, server);
    if (r < 0)
        return r;
    return kubeconfig_write_from_pki(n->proxy_kubeconfig, d->pki, "kube-proxy", cluster_name, server);
}

/* ---- the pod sandbox image ---- */

/* kig-pause.oci.tar beside kig-pause (built with it), or KIG_PAUSE_IMAGE_ARCHIVE. */
static char *pause_image_archive(void)
{
    const char *forced = getenv("KIG_PAUSE_IMAGE_ARCHIVE");
    if (forced && *forced)
        return strdup(forced);
    _cleanup_free_ char *pause = component_path(COMPONENT_KIG_PAUSE);
    if (!pause)
        return NULL;
    char *slash = strrchr(pause, '/');
    if (slash)
        *slash = '\0';
    return path_join(pause, "kig-pause.oci.tar");
}

int node_setup_load_pause_image(const struct node_setup *n)
{
    _cleanup_free_ char *archive = pause_image_archive(), *ctr = find_executable("ctr");
    if (!archive || !path_exists(archive))
        return log_error_errno(
            ENOENT,
            "the pause image archive %s is missing: pods cannot start until " KIG_PAUSE_IMAGE
            " is in containerd (build kig with meson, which makes it, or load one with "
            "'kig image load')",
            archive ? archive : "kig-pause.oci.tar");
    if (!ctr)
        return log_error_errno(ENOENT, "ctr is missing: run 'apt-get install containerd'");
    const char *argv[] = {ctr, "-a", n->containerd_socket, "-n", "k8s.io", "images", "import", archive, NULL};
    char why[512];
    int r = run_checked(argv, NULL, SUBPROCESS_TIMEOUT_MS, why, sizeof(why));
    if (r < 0)
        return log_error_errno(r, "cannot load the pause image %s into containerd: %s", archive, why);
    return 0;
}

/* ---- the tracers ---- */

/* Every kig-trace that traced containerd lives until its last tracee is gone: the shims and containers of a
 * containerd that was restarted keep theirs (running pods survive). So each tracer's pid is recorded, and
 * taking the node down kills them all: PTRACE_O_EXITKILL then kills every process they trace. */
#define TRACERS_FILE "tracers"

int node_setup_record_tracer(const char *run_dir, const char *pid_file)
{
    _cleanup_free_ char *line = NULL, *path = path_join(run_dir, TRACERS_FILE);
    if (!path)
        return -ENOMEM;
    int r = read_line(pid_file, &line);
    if (r < 0)
        return r;
    _cleanup_fclose_ FILE *f = fopen(path, "ae");
    if (!f)
        return negative_errno();
    fprintf(f, "%s\n", line);
    return fflush(f) == 0 ? 0 : negative_errno();
}

static void kill_tracers(const char *run_dir)
{
    _cleanup_free_ char *path = path_join(run_dir, TRACERS_FILE);
    _cleanup_fclose_ FILE *f = path ? fopen(path, "re") : NULL;
    if (!f)
        return;
    pid_t pids[256];
    size_t n = 0;
    int pid;
    while (n < ARRAY_SIZE(pids) && fscanf(f, "%d", &pid) == 1)
        if (pid > 1 && process_has_comm(pid, "kig-trace") && kill(pid, SIGKILL) == 0)
            pids[n++] = pid;
    /* Their tracees die with them; wait a little so that the unmounts that follow find them gone. */
    for (int round = 0; round < 100; round++) {
        bool alive = false;
        for (size_t i = 0; i < n && !alive; i++)
            alive = process_has_comm(pids[i], "kig-trace");
        if (!alive)
            break;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    (void)unlink(path);
}

/* ---- prepare and undo ---- */

int node_setup_prepare(struct node_setup *n, const struct data_dir *d, const char *cluster_name,
                       const char *server)
{
    int r;
    /* What a killed supervisor left (containers' mounts, a half-torn-down node) goes first. */
    if (is_mount_point(n->root))
        (void)unmount_node_dirs(n->root);
    if ((r = mount_node_dirs(n)) < 0 || (r = vkernel_apply(n)) < 0 || (r = choose_pod_network(n)) < 0 ||
        (r = plan_trace_rules(n)) < 0 || (r = ensure_node_ip(n, d)) < 0 ||
        (r = write_configs(n, d, cluster_name, server)) < 0) {
        node_setup_teardown(n);
        return r;
    }
    return 0;
}

static int remove_node_ip(const char *run_dir, bool added)
{
    _cleanup_free_ char *marker = path_join(run_dir, NODE_IP_MARKER);
    if (!added && !(marker && path_exists(marker)))
        return 0;
    int r = address_present(KIG_NODE_FALLBACK_IP) ? run_ip("del", KIG_NODE_FALLBACK_IP "/32") : 0;
    if (r == 0 && marker)
        (void)unlink(marker);
    return r;
}

static int teardown_paths(const char *root, const char *vkernel_run_dir, const char *run_dir, bool ip_added)
{
    int r = 0, k;
    kill_tracers(run_dir);
    if ((k = unmount_node_dirs(root)) < 0)
        r = k;
    if ((k = vkernel_teardown(vkernel_run_dir)) < 0)
        r = k;
    if ((k = remove_node_ip(run_dir, ip_added)) < 0)
        r = k;
    return r;
}

int node_setup_teardown(struct node_setup *n)
{
    _cleanup_free_ char *run_dir = strdup(n->vkernel_run_dir);
    if (!run_dir)
        return -ENOMEM;
    char *slash = strrchr(run_dir, '/');
    if (slash)
        *slash = '\0';
    int r = teardown_paths(n->root, n->vkernel_run_dir, run_dir, n->node_ip_added);
    n->node_ip_added = false;
    return r;
}

int node_setup_cleanup(const struct data_dir *d)
{
    _cleanup_free_ char *root = path_join(d->root, "node"), *vk = path_join(d->run, "vkernel");
    if (!root || !vk)
        return -ENOMEM;
    return teardown_paths(root, vk, d->run, false);
}
