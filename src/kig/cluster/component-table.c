#include "component-table.h"

#include "macro.h"
#include "node-setup.h"

#include <string.h>

/* The scheduler starts as soon as the apiserver answers, so that its start-up (seconds in gVisor) overlaps
 * the apiserver's post-start hooks; it waits for the apiserver on its own. The controller-manager waits for
 * a ready apiserver: it gives the apiserver only 10 s to become healthy and exits otherwise, and in gVisor
 * the RBAC bootstrap hook alone can take longer than that. */
static const struct component_spec table[_CC_MAX] = {
    [CC_ETCD] = {CC_ETCD, "etcd", NULL, COMPONENT_ETCD, CLUSTER_MODE_CONTROL_PLANE_ONLY | CLUSTER_MODE_FULL,
                 CC_ETCD, GATE_NONE, PROBE_ETCD_HEALTH, 2379, true, flags_etcd, false, NULL, NULL, false},
    [CC_KUBE_APISERVER] = {CC_KUBE_APISERVER, "kube-apiserver", "apiserver", COMPONENT_KUBE_APISERVER,
                           CLUSTER_MODE_CONTROL_PLANE_ONLY | CLUSTER_MODE_FULL, CC_ETCD, GATE_READY,
                           PROBE_APISERVER_READYZ, 0, true, flags_kube_apiserver, false, NULL, NULL, false},
    [CC_KUBE_CONTROLLER_MANAGER] = {CC_KUBE_CONTROLLER_MANAGER, "kube-controller-manager",
                                    "controller-manager", COMPONENT_KUBE_CONTROLLER_MANAGER,
                                    CLUSTER_MODE_CONTROL_PLANE_ONLY | CLUSTER_MODE_FULL, CC_KUBE_APISERVER,
                                    GATE_READY, PROBE_HEALTHZ, 10257, false, flags_kube_controller_manager,
                                    false, NULL, NULL, false},
    [CC_KUBE_SCHEDULER] = {CC_KUBE_SCHEDULER, "kube-scheduler", "scheduler", COMPONENT_KUBE_SCHEDULER,
                           CLUSTER_MODE_CONTROL_PLANE_ONLY | CLUSTER_MODE_FULL, CC_KUBE_APISERVER,
                           GATE_RESPONDING, PROBE_HEALTHZ, 10259, false, flags_kube_scheduler, false, NULL,
                           NULL, false},
    /* The pod switch (tap strategy): the pods' shims, runtimes and containers are born in its netns
     * holders, so it runs under kig-trace like containerd. */
    [CC_KIG_SWITCH] = {CC_KIG_SWITCH, "kig-switch", "switch", COMPONENT_KIG_SWITCH, CLUSTER_MODE_FULL,
                       CC_KIG_SWITCH, GATE_NONE, PROBE_UNIX_SOCKET, 0, true, flags_kig_switch, .traced = true,
                       .socket = KIG_NODE_SWITCH_DIR "/switch.sock", .wanted = wanted_kig_switch},
    /* containerd starts with etcd (it needs nothing of the control plane); kubelet once containerd answers,
     * and it waits for the apiserver on its own. */
    [CC_CONTAINERD] = {CC_CONTAINERD, "containerd", NULL, COMPONENT_CONTAINERD, CLUSTER_MODE_FULL,
                       CC_CONTAINERD, GATE_NONE, PROBE_UNIX_SOCKET, 0, true, flags_containerd, .traced = true,
                       .socket = KIG_NODE_CONTAINERD_SOCKET},
    [CC_KUBELET] = {CC_KUBELET, "kubelet", NULL, COMPONENT_KUBELET, CLUSTER_MODE_FULL, CC_CONTAINERD,
                    GATE_READY, PROBE_KUBELET_HEALTHZ, 10250, true, flags_kubelet, false, NULL, NULL,
                    .kig_mount = true},
    /* kig's service proxy and cluster DNS: a client of the apiserver, which it waits for on its own. */
    [CC_KIG_PROXY] = {CC_KIG_PROXY, "kig-proxy", "proxy", COMPONENT_KIG_PROXY, CLUSTER_MODE_FULL,
                      CC_KUBE_APISERVER, GATE_RESPONDING, PROBE_PLAIN_HEALTHZ, 10256, false, flags_kig_proxy,
                      false, NULL, NULL, false},
};

const struct component_spec *component_table(size_t *ret_n)
{
    *ret_n = ARRAY_SIZE(table);
    return table;
}

const struct component_spec *component_spec_get(enum cluster_component id)
{
    return (unsigned)id < ARRAY_SIZE(table) ? &table[id] : NULL;
}

const struct component_spec *component_spec_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(table); i++)
        if (strcmp(table[i].name, name) == 0 || (table[i].alias && strcmp(table[i].alias, name) == 0))
            return &table[i];
    return NULL;
}
