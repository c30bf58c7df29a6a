/* The KubeletConfiguration (kubelet.config.k8s.io/v1beta1) kig gives kubelet v1.20. JSON is valid YAML, so
 * kubelet reads it as is. Each setting that departs from kubelet's defaults says why: most answer an error
 * kubelet meets inside gVisor (docs/node.md has the list). */
#include "node-config.h"

#include "macro.h"

#include <jansson.h>

static json_t *eviction_thresholds(void)
{
    /* A sandbox's disks are small and shared with the user's work: evict on real exhaustion only, so pods
     * are not evicted because the user's checkout filled 90% of the disk. */
    return json_pack("{s:s, s:s, s:s, s:s}", "memory.available", "50Mi", "nodefs.available", "1%",
                     "nodefs.inodesFree", "1%", "imagefs.available", "1%");
}

int kubelet_config_render(const struct kubelet_options *o, char **ret)
{
    if (!o->node_ip || !o->client_ca_file || !o->tls_cert_file || !o->tls_key_file || !o->cluster_domain)
        return -EINVAL;
    json_t *doc = json_pack(
        "{s:s, s:s,"
        " s:{s:{s:b}, s:{s:b, s:s}, s:{s:s}},"
        " s:{s:s},"
        " s:s, s:i, s:i, s:s, s:i,"
        " s:s, s:s,"
        " s:s, s:s, s:b, s:o,"
        " s:b, s:b, s:b, s:b,"
        " s:i, s:i, s:s, s:o, s:o,"
        " s:s, s:s, s:i, s:{s:b, s:b},"
        " s:s, s:s}",
        "apiVersion", "kubelet.config.k8s.io/v1beta1", "kind", "KubeletConfiguration",
        /* The apiserver reaches kubelet with its client cert; nobody else may. */
        "authentication", "anonymous", "enabled", 0, "webhook", "enabled", 1, "cacheTTL", "2m", "x509",
        "clientCAFile", o->client_ca_file, "authorization", "mode", "Webhook",
        /* Serve the kubelet API only on the node address. */
        "address", o->node_ip, "port", 10250, "readOnlyPort", 0, "healthzBindAddress", "127.0.0.1",
        "healthzPort", 10248, "tlsCertFile", o->tls_cert_file, "tlsPrivateKeyFile", o->tls_key_file,
        /* Cgroups are laid out by kig with cgroupfs paths; there is no systemd in a sandbox. */
        "cgroupDriver", "cgroupfs", "cgroupRoot", o->cgroup_root ? o->cgroup_root : "/",
        /* cAdvisor cannot read complete stats for the QoS hierarchy on sandboxes that lack memory.stat and
         * friends; without cgroupsPerQOS, node allocatable cannot be enforced either. */
        "cgroupsPerQOS", o->cgroups_per_qos, "enforceNodeAllocatable",
        o->cgroups_per_qos ? json_pack("[s]", "pods") : json_array(),
        /* gVisor's sysctls differ from what kubelet would "protect"; its iptables has no nft backend. */
        "protectKernelDefaults", 0, "makeIPTablesUtilChains", 0, "failSwapOn", 0, "serializeImagePulls", 0,
        "imageGCHighThresholdPercent", 90, "imageGCLowThresholdPercent", 80, "clusterDomain",
        o->cluster_domain, "evictionHard", eviction_thresholds(), "clusterDNS",
        o->cluster_dns ? json_pack("[s]", o->cluster_dns) : json_array(), "hairpinMode", "none", "resolvConf",
        o->resolv_conf ? o->resolv_conf : "/etc/resolv.conf", "maxPods", o->max_pods > 0 ? o->max_pods : 110,
        /* CSIMigration (beta, on) holds the node NotReady until kubelet has written its CSINode object,
         * which it first tries before the node is registered and then retries after 3.2 s and 19 s; on a
         * new cluster that kept the first pod waiting up to half a minute. It migrates in-tree cloud
         * volume plugins, of which kig has none, and CSI drivers register without it. */
        "featureGates", "LocalStorageCapacityIsolation", o->local_storage_capacity_isolation, "CSIMigration",
        0,
        /* A node registers NotReady when kubelet's first runtime check has not finished (it usually has
         * not when the apiserver is already up), and kubelet 1.20 only looks again at its next status
         * update: 10 s by default, all of it added to the first pod's start (kubelets from 1.22 poll
         * fast until Ready). Each update reads the node from the apiserver's cache; the report
         * frequency is kept at its default, or setting the update frequency would make it 2 s too and
         * write the node to etcd every 2 s. */
        "nodeStatusUpdateFrequency", "2s", "nodeStatusReportFrequency", "5m");
    if (!doc)
        return -ENOMEM;
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}
