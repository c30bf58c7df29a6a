/* containerd's CRI runs a "loopback" CNI plugin for every pod before the pod network. The stock plugin
 * enters the pod's network namespace to bring lo up, which needs setns; gVisor's new network namespaces
 * already have lo up, and under the host strategy pods share the node's lo. So where setns is missing, kig
 * installs kig-cni under the name "loopback" and this strategy answers for lo without entering anything. */
#include "strategy.h"

#include <stdlib.h>

static int loopback_add(const struct cni_env *env, const struct cni_config *config, char **ret_result,
                        struct cni_error *err)
{
    *ret_result = cni_result_document(config->cni_version, "lo", env->netns, "127.0.0.1/8", NULL);
    if (!*ret_result)
        return cni_set_error(err, CNI_ERR_INTERNAL, "out of memory", "while writing the result");
    return 0;
}

static int loopback_del(const struct cni_env *env, const struct cni_config *config, struct cni_error *err)
{
    return 0;
}

static int loopback_check(const struct cni_env *env, const struct cni_config *config, struct cni_error *err)
{
    return 0;
}

const struct cni_strategy cni_strategy_loopback = {
    .name = "loopback",
    .add = loopback_add,
    .del = loopback_del,
    .check = loopback_check,
};
