/* Network config fields of the strategies that give pods their own addresses (veth, tap):
 *   "podCIDR": "10.244.0.0/24"     required; the node takes the first address (the pods' gateway)
 *   "dataDir": "/var/lib/cni/..."  address store (default /var/lib/cni/networks/<network name>)
 *   "switchDir": "/run/kig/switch" tap: kig-switch's control socket and the holders' sockets
 *   "podPrefixLength": 0           tap: prefix length of the pod's address; every destination inside it is
 *                                  on link, i.e. ARPed for and routed by kig-switch (gVisor cannot add
 *                                  routes), so it must cover everything pods reach: 0 does
 */
#pragma once

#include "cni.h"
#include "ipam.h"

#include <limits.h>

struct podnet_config {
    char pod_cidr[32];
    struct ipam_range range;
    char data_dir[PATH_MAX];
    char switch_dir[PATH_MAX];
    unsigned pod_prefix_len;
};

int podnet_config_parse(const struct cni_config *c, struct podnet_config *ret, struct cni_error *err);

/* The success document for addr/prefix_len with the node as gateway; NULL on ENOMEM. */
char *podnet_result(const struct cni_env *env, const struct cni_config *c, const struct podnet_config *pc,
                    uint32_t addr, unsigned prefix_len);
