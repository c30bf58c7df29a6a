#include "sysctl-table.h"

#include "macro.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define KUBELET_WHO "kubelet (setupKernelTunables: a missing file is fatal)"

const struct sysctl_spec sysctl_table[] = {
    /* kubelet's six tunables, with the values kubelet sets (pkg/util/sysctl). */
    {"vm/overcommit_memory", "1", SYSCTL_VALUE_STATIC, SYSCTL_KUBELET, KUBELET_WHO},
    {"vm/panic_on_oom", "0", SYSCTL_VALUE_STATIC, SYSCTL_KUBELET, KUBELET_WHO},
    {"kernel/panic", "10", SYSCTL_VALUE_STATIC, SYSCTL_KUBELET, KUBELET_WHO},
    {"kernel/panic_on_oops", "1", SYSCTL_VALUE_STATIC, SYSCTL_KUBELET, KUBELET_WHO},
    {"kernel/keys/root_maxkeys", "1000000", SYSCTL_VALUE_STATIC, SYSCTL_KUBELET, KUBELET_WHO},
    {"kernel/keys/root_maxbytes", "25000000", SYSCTL_VALUE_STATIC, SYSCTL_KUBELET, KUBELET_WHO},
    /* Linux's defaults for the rest of kernel/keys, so the directory looks like Linux's. */
    {"kernel/keys/maxkeys", "200", SYSCTL_VALUE_STATIC, 0, "keyctl users (Linux default)"},
    {"kernel/keys/maxbytes", "20000", SYSCTL_VALUE_STATIC, 0, "keyctl users (Linux default)"},
    {"kernel/cap_last_cap", NULL, SYSCTL_VALUE_CAP_LAST_CAP, SYSCTL_READ_ONLY,
     "crun and runc (size of the capability sets)"},
    {"kernel/pid_max", "4194304", SYSCTL_VALUE_STATIC, 0, "kubelet (PID stats and pid.available eviction)"},
    {"kernel/osrelease", NULL, SYSCTL_VALUE_OSRELEASE, SYSCTL_READ_ONLY,
     "kube-proxy (ipvs), kernel version checks"},
    {"kernel/ostype", "Linux", SYSCTL_VALUE_STATIC, SYSCTL_READ_ONLY, "kernel version checks"},
    {"kernel/random/boot_id", NULL, SYSCTL_VALUE_BOOT_ID, SYSCTL_READ_ONLY, "cAdvisor (the node's bootID)"},
    {"kernel/overflowuid", "65534", SYSCTL_VALUE_STATIC, 0, "runc and crun (user namespaces)"},
    {"kernel/overflowgid", "65534", SYSCTL_VALUE_STATIC, 0, "runc and crun (user namespaces)"},
    /* net/: gVisor's netstack has ip_forward and ip_local_port_range; the rest are knobs of Linux modules
     * it does not have. Their files take writes and keep them; they change nothing in the netstack. */
    {"net/ipv4/ip_forward", "0", SYSCTL_VALUE_STATIC, SYSCTL_NET, "kig networking, CNI ptp/bridge"},
    {"net/ipv4/ip_local_port_range", "32768\t60999", SYSCTL_VALUE_STATIC, SYSCTL_NET, "kube-proxy, kubelet"},
    {"net/ipv4/conf/all/forwarding", "0", SYSCTL_VALUE_STATIC, SYSCTL_NET, "CNI plugins"},
    {"net/ipv4/conf/default/forwarding", "0", SYSCTL_VALUE_STATIC, SYSCTL_NET, "CNI plugins"},
    {"net/ipv4/conf/lo/forwarding", "0", SYSCTL_VALUE_STATIC, SYSCTL_NET, "CNI plugins"},
    {"net/ipv4/conf/all/route_localnet", "0", SYSCTL_VALUE_STATIC, SYSCTL_NET,
     "kube-proxy (iptables), portmap"},
    {"net/ipv4/conf/default/route_localnet", "0", SYSCTL_VALUE_STATIC, SYSCTL_NET, "portmap"},
    {"net/ipv4/conf/lo/route_localnet", "0", SYSCTL_VALUE_STATIC, SYSCTL_NET, "portmap"},
    {"net/ipv4/conf/all/rp_filter", "0", SYSCTL_VALUE_STATIC, SYSCTL_NET, "CNI plugins, kube-proxy checks"},
    {"net/ipv4/conf/default/rp_filter", "0", SYSCTL_VALUE_STATIC, SYSCTL_NET, "CNI plugins"},
    {"net/ipv4/conf/all/arp_ignore", "0", SYSCTL_VALUE_STATIC, SYSCTL_NET, "kube-proxy (ipvs)"},
    {"net/ipv4/conf/all/arp_announce", "0", SYSCTL_VALUE_STATIC, SYSCTL_NET, "kube-proxy (ipvs)"},
    {"net/ipv6/conf/all/forwarding", "0", SYSCTL_VALUE_STATIC, SYSCTL_NET, "CNI plugins, kube-proxy"},
    {"net/ipv6/conf/default/forwarding", "0", SYSCTL_VALUE_STATIC, SYSCTL_NET, "runc/CNI checks"},
    {"net/ipv6/conf/default/dad_transmits", "1", SYSCTL_VALUE_STATIC, SYSCTL_NET, "CNI plugins"},
    {"net/bridge/bridge-nf-call-iptables", "1", SYSCTL_VALUE_STATIC, SYSCTL_NET,
     "kubelet, kube-proxy checks"},
    {"net/bridge/bridge-nf-call-ip6tables", "1", SYSCTL_VALUE_STATIC, SYSCTL_NET,
     "kubelet, kube-proxy checks"},
    {"net/netfilter/nf_conntrack_max", "131072", SYSCTL_VALUE_STATIC, SYSCTL_NET, "kube-proxy (conntrack)"},
    {"net/netfilter/nf_conntrack_tcp_timeout_established", "432000", SYSCTL_VALUE_STATIC, SYSCTL_NET,
     "kube-proxy (conntrack)"},
    {"net/netfilter/nf_conntrack_tcp_timeout_close_wait", "3600", SYSCTL_VALUE_STATIC, SYSCTL_NET,
     "kube-proxy (conntrack)"},
};
const size_t sysctl_table_size = ARRAY_SIZE(sysctl_table);

const struct sysctl_spec *sysctl_spec_find(const char *path)
{
    for (size_t i = 0; i < sysctl_table_size; i++)
        if (strcmp(sysctl_table[i].path, path) == 0)
            return &sysctl_table[i];
    return NULL;
}

int sysctl_spec_content(const struct sysctl_spec *s, const struct sandbox_features *f, char **ret)
{
    char buf[64];
    const char *v = s->value;
    switch (s->source) {
    case SYSCTL_VALUE_STATIC:
        break;
    case SYSCTL_VALUE_CAP_LAST_CAP:
        if (f->cap_last_cap < 0)
            return -ENODATA;
        snprintf(buf, sizeof(buf), "%d", f->cap_last_cap);
        v = buf;
        break;
    case SYSCTL_VALUE_OSRELEASE:
        v = f->kernel_release;
        break;
    case SYSCTL_VALUE_BOOT_ID:
        v = f->boot_id;
        break;
    }
    if (!v || !*v)
        return -ENODATA;
    if (asprintf(ret, "%s\n", v) < 0)
        return -ENOMEM;
    return 0;
}

/* Compares word by word: "32768\t60999" equals "32768 60999\n". */
bool sysctl_value_equal(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    for (;;) {
        while (isspace((unsigned char)*a))
            a++;
        while (isspace((unsigned char)*b))
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        while (*a && !isspace((unsigned char)*a) && *a == *b) {
            a++;
            b++;
        }
        bool a_end = !*a || isspace((unsigned char)*a), b_end = !*b || isspace((unsigned char)*b);
        if (!a_end || !b_end)
            return false;
    }
}
