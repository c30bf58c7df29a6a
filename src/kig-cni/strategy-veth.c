/* The veth strategy, for sandboxes with veth pairs and setns (a Linux host; gVisor from 2024-06): one veth
 * pair per pod, routed point to point like the CNI ptp plugin, without a bridge or promiscuous mode.
 *   node side  "kig<hash>": the gateway address /32, a route to the pod's /32
 *   pod side   CNI_IFNAME:  the pod's address /32, a link route to the gateway, the default route via it
 * The node forwards between pods (kig-cni turns ip_forward on). Addresses come from the shared IPAM. */
#include "podnet.h"
#include "rtnl.h"
#include "strategy.h"

#include "fileutil.h"
#include "macro.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>

/* The node-side name: stable for a (container, ifname) so DEL finds it without any state. */
static void host_ifname(const struct cni_env *env, char buf[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = env->container_id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    h = (h ^ '/') * 16777619u;
    for (const char *p = env->ifname; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    snprintf(buf, 16, "kig%08x", h);
}

static int configure_pod_side(const struct cni_env *env, const struct podnet_config *pc, uint32_t addr,
                              const char **what)
{
    int lo = rtnl_link_index("lo");
    int r = lo < 0 ? lo : rtnl_link_set_up(lo);
    if (r < 0)
        return *what = "bring lo up", r;
    int idx = rtnl_link_index(env->ifname);
    if (idx < 0)
        return *what = "find the pod's interface", idx;
    r = rtnl_addr_add(idx, addr, 32, 0);
    if (r < 0)
        return *what = "add the pod's address", r;
    r = rtnl_link_set_up(idx);
    if (r < 0)
        return *what = "bring the pod's interface up", r;
    r = rtnl_route_add(pc->range.gateway, 32, 0, idx);
    if (r < 0)
        return *what = "add the route to the gateway", r;
    r = rtnl_route_add(0, 0, pc->range.gateway, idx);
    if (r < 0)
        return *what = "add the default route", r;
    return 0;
}

/* Runs configure_pod_side inside the pod's namespace and comes back. kig-cni is single-threaded, so
 * switching the process's only thread is safe. */
static int in_pod_namespace(const struct cni_env *env, const struct podnet_config *pc, uint32_t addr,
                            struct cni_error *err)
{
    _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    _cleanup_close_ int pod = open(env->netns, O_RDONLY | O_CLOEXEC);
    if (self < 0 || pod < 0)
        return cni_set_error(err, CNI_ERR_IO, "cannot open a network namespace", "%s: %s",
                             self < 0 ? "/proc/self/ns/net" : env->netns, strerror(errno));
    if (setns(pod, CLONE_NEWNET) < 0)
        return cni_set_error(err, CNI_ERR_INTERNAL, "cannot enter the pod's network namespace",
                             "setns %s: %s; this sandbox needs the tap strategy", env->netns,
                             strerror(errno));
    const char *what = "";
    int r = configure_pod_side(env, pc, addr, &what);
    if (setns(self, CLONE_NEWNET) < 0)
        return cni_set_error(err, CNI_ERR_INTERNAL, "cannot return to the node's network namespace", "%s",
                             strerror(errno));
    if (r < 0)
        return cni_set_error(err, CNI_ERR_INTERNAL, "cannot configure the pod's interface", "%s: %s", what,
                             strerror(-r));
    return 0;
}

static int create_pair(const struct cni_env *env, const struct podnet_config *pc, uint32_t addr,
                       const char *host, struct cni_error *err)
{
    _cleanup_close_ int pod = open(env->netns, O_RDONLY | O_CLOEXEC);
    if (pod < 0)
        return cni_set_error(err, CNI_ERR_IO, "cannot open the pod's network namespace", "%s: %s", env->netns,
                             strerror(errno));
    int r = rtnl_veth_create(host, env->ifname, pod);
    if (r < 0)
        return cni_set_error(err, CNI_ERR_INTERNAL, "cannot create a veth pair", "%s: %s", host,
                             strerror(-r));
    const char *what = NULL;
    int idx = rtnl_link_index(host);
    if (idx < 0)
        what = "find", r = idx;
    else if ((r = rtnl_addr_add(idx, pc->range.gateway, 32, 0)) < 0)
        what = "add the gateway address to";
    else if ((r = rtnl_link_set_up(idx)) < 0)
        what = "bring up";
    else if ((r = rtnl_route_add(addr, 32, 0, idx)) < 0)
        what = "route the pod through";
    if (what)
        return cni_set_error(err, CNI_ERR_INTERNAL, "cannot configure the node side of the veth", "%s %s: %s",
                             what, host, strerror(-r));
    /* Pods reach each other through the node. */
    r = write_file_once("/proc/sys/net/ipv4/ip_forward", "1");
    if (r < 0)
        return cni_set_error(err, CNI_ERR_INTERNAL, "cannot enable IPv4 forwarding",
                             "/proc/sys/net/ipv4/ip_forward: %s", strerror(-r));
    return in_pod_namespace(env, pc, addr, err);
}

static int veth_add(const struct cni_env *env, const struct cni_config *config, char **ret_result,
                    struct cni_error *err)
{
    struct podnet_config pc;
    int r = podnet_config_parse(config, &pc, err);
    if (r < 0)
        return r;
    uint32_t addr;
    r = ipam_allocate(pc.data_dir, &pc.range, env->container_id, env->ifname, &addr);
    if (r == -ENOSPC)
        return cni_set_error(err, CNI_ERR_TRY_AGAIN, "no free pod address",
                             "every address of %s is taken (store %s)", pc.pod_cidr, pc.data_dir);
    if (r < 0)
        return cni_set_error(err, CNI_ERR_IO, "cannot allocate a pod address", "%s: %s", pc.data_dir,
                             strerror(-r));
    char host[16];
    host_ifname(env, host);
    /* A second ADD must not undo the first: leave an existing pair (and its address) alone. */
    if (rtnl_link_index(host) >= 0)
        return cni_set_error(err, CNI_ERR_INTERNAL, "the pod's veth already exists",
                             "%s is wired to %s/%s already; DEL the pod first", host, env->container_id,
                             env->ifname);
    r = create_pair(env, &pc, addr, host, err);
    if (r < 0) {
        (void)rtnl_link_delete(host); /* takes the pod side with it */
        (void)ipam_release(pc.data_dir, env->container_id, env->ifname);
        return r;
    }
    *ret_result = podnet_result(env, config, &pc, addr, 32);
    if (!*ret_result)
        return cni_set_error(err, CNI_ERR_INTERNAL, "out of memory", "while writing the result");
    return 0;
}

static int veth_del(const struct cni_env *env, const struct cni_config *config, struct cni_error *err)
{
    struct podnet_config pc;
    int r = podnet_config_parse(config, &pc, err);
    if (r < 0)
        return r;
    char host[16];
    host_ifname(env, host);
    r = rtnl_link_delete(host);
    if (r < 0 && r != -ENODEV)
        return cni_set_error(err, CNI_ERR_INTERNAL, "cannot delete the pod's veth", "%s: %s", host,
                             strerror(-r));
    r = ipam_release(pc.data_dir, env->container_id, env->ifname);
    if (r < 0)
        return cni_set_error(err, CNI_ERR_IO, "cannot free the pod address", "%s: %s", pc.data_dir,
                             strerror(-r));
    return 0;
}

static int veth_check(const struct cni_env *env, const struct cni_config *config, struct cni_error *err)
{
    struct podnet_config pc;
    int r = podnet_config_parse(config, &pc, err);
    if (r < 0)
        return r;
    uint32_t addr;
    if (ipam_lookup(pc.data_dir, env->container_id, env->ifname, &addr) < 0)
        return cni_set_error(err, CNI_ERR_UNKNOWN_CONTAINER, "pod has no address",
                             "no address of %s belongs to %s/%s", pc.pod_cidr, env->container_id,
                             env->ifname);
    char host[16];
    host_ifname(env, host);
    if (rtnl_link_index(host) < 0)
        return cni_set_error(err, CNI_ERR_INTERNAL, "the pod's veth is gone", "%s does not exist", host);
    return 0;
}

const struct cni_strategy cni_strategy_veth = {
    .name = "veth",
    .add = veth_add,
    .del = veth_del,
    .check = veth_check,
};
