/* The last-resort strategy: every pod shares the node's network. Used where the sandbox can neither create
 * veth pairs nor give pods their own namespace; pods then see each other's ports, so two pods binding the
 * same port clash (kig warns about this when it picks the strategy). The result carries the node's address
 * so kubelet reports a pod IP. */
#include "strategy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

static int node_address(const struct cni_config *config, char *buf, size_t size, struct cni_error *err)
{
    struct in_addr a;
    if (!config->node_ip)
        return cni_set_error(err, CNI_ERR_INVALID_CONFIG, "missing field in network config",
                             "\"nodeIP\" is required by the host strategy");
    if (inet_pton(AF_INET, config->node_ip, &a) != 1)
        return cni_set_error(err, CNI_ERR_INVALID_CONFIG, "invalid nodeIP",
                             "\"nodeIP\": \"%s\" is not an IPv4 address", config->node_ip);
    snprintf(buf, size, "%s/32", config->node_ip);
    return 0;
}

static int host_add(const struct cni_env *env, const struct cni_config *config, char **ret_result,
                    struct cni_error *err)
{
    char address[64];
    int r = node_address(config, address, sizeof(address), err);
    if (r < 0)
        return r;
    *ret_result = cni_result_document(config->cni_version, env->ifname, env->netns, address, NULL);
    if (!*ret_result)
        return cni_set_error(err, CNI_ERR_INTERNAL, "out of memory", "while writing the result");
    return 0;
}

static int host_del(const struct cni_env *env, const struct cni_config *config, struct cni_error *err)
{
    /* Nothing was created for the pod, so there is nothing to undo. */
    return 0;
}

static int host_check(const struct cni_env *env, const struct cni_config *config, struct cni_error *err)
{
    char address[64];
    return node_address(config, address, sizeof(address), err);
}

const struct cni_strategy cni_strategy_host = {
    .name = "host",
    .add = host_add,
    .del = host_del,
    .check = host_check,
};
