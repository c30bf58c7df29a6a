#include "strategy.h"

#include <string.h>

static const struct cni_strategy *const strategies[] = {
    &cni_strategy_host,
    &cni_strategy_loopback,
    &cni_strategy_veth,
    &cni_strategy_tap,
};

const struct cni_strategy *cni_strategy_find(const char *name)
{
    for (size_t i = 0; i < sizeof(strategies) / sizeof(strategies[0]); i++)
        if (strcmp(strategies[i]->name, name) == 0)
            return strategies[i];
    return NULL;
}
