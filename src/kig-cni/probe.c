/* `kig-cni --probe`: which strategies this sandbox supports, measured now. Each probe runs in a child in a
 * throwaway network namespace, so whatever it creates vanishes with the child. kig reads the answer when
 * it writes the CNI config (the "strategy" field). */
#include "rtnl.h"
#include "strategy.h"

#include "macro.h"

#include <fcntl.h>
#include <jansson.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#define DETAIL_MAX 200

typedef int (*probe_fn)(char *detail, size_t size);

static int fail(char *detail, size_t size, int r, const char *what)
{
    snprintf(detail, size, "%s: %s", what, strerror(-r));
    return r;
}

static int probe_veth(char *detail, size_t size)
{
    /* Entering a pod's namespace is what the veth strategy does after creating the pair. */
    _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return fail(detail, size, negative_errno(), "open /proc/self/ns/net");
    if (setns(self, CLONE_NEWNET) < 0)
        return fail(detail, size, negative_errno(), "setns(CLONE_NEWNET)");
    int r = rtnl_veth_create("kigprobe0", "kigprobe1", -1);
    if (r < 0)
        return fail(detail, size, r, "create a veth pair");
    int idx = rtnl_link_index("kigprobe0");
    if (idx < 0)
        return fail(detail, size, idx, "find the veth");
    r = rtnl_addr_add(idx, 0x0a0a0a01, 32, 0);
    if (r == 0)
        r = rtnl_link_set_up(idx);
    if (r < 0)
        return fail(detail, size, r, "configure the veth");
    r = rtnl_route_add(0x0a0a0a02, 32, 0, idx);
    if (r < 0)
        return fail(detail, size, r, "add a route");
    snprintf(detail, size, "veth pair, setns and routes work");
    return 0;
}

static int probe_tap(char *detail, size_t size)
{
    _cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return fail(detail, size, negative_errno(), "open /dev/net/tun");
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "kigprobe0");
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0)
        return fail(detail, size, negative_errno(), "create a TAP");
    int idx = rtnl_link_index("kigprobe0");
    int r = idx < 0 ? idx : rtnl_addr_add(idx, 0x0a0a0a01, 0, 0);
    if (r < 0)
        return fail(detail, size, r, "add an address to the TAP");
    snprintf(detail, size, "TAP with an address in a new network namespace works");
    return 0;
}

/* Runs fn in a child with its own network namespace; the child's detail comes back through a pipe. */
static bool run_probe(probe_fn fn, char *detail, size_t size)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(detail, size, "pipe: %s", strerror(errno));
        return false;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        char d[DETAIL_MAX] = "";
        int r = unshare(CLONE_NEWNET) < 0 ? fail(d, sizeof(d), negative_errno(), "unshare(CLONE_NEWNET)")
                                          : fn(d, sizeof(d));
        (void)!write(p[1], d, strlen(d));
        _exit(r < 0 ? 1 : 0);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        snprintf(detail, size, "fork: %s", strerror(errno));
        return false;
    }
    ssize_t n = read(p[0], detail, size - 1);
    detail[n > 0 ? n : 0] = '\0';
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int cni_probe_print(FILE *out)
{
    char veth_detail[DETAIL_MAX], tap_detail[DETAIL_MAX];
    bool veth = run_probe(probe_veth, veth_detail, sizeof(veth_detail));
    bool tap = run_probe(probe_tap, tap_detail, sizeof(tap_detail));
    const char *recommended = veth ? "veth" : tap ? "tap" : "host";
    json_t *doc = json_pack(
        "{s:{s:{s:b, s:s}, s:{s:b, s:s}, s:{s:b, s:s}}, s:s}", "strategies", "veth", "supported", veth,
        "detail", veth_detail, "tap", "supported", tap, "detail", tap_detail, "host", "supported", true,
        "detail", "pods share the node's network (no isolation, ports clash)", "recommended", recommended);
    _cleanup_free_ char *s = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!s)
        return -ENOMEM;
    fprintf(out, "%s\n", s);
    return 0;
}
