/* How a pod is wired to the network. The strategy is chosen by kig (from `kig doctor`) and written into the
 * CNI config as "strategy". */
#pragma once

#include "cni.h"

#include <stdio.h>

struct cni_strategy {
    const char *name;
    /* On success *ret_result is the result document (caller frees). */
    int (*add)(const struct cni_env *env, const struct cni_config *config, char **ret_result,
               struct cni_error *err);
    /* Must succeed when called twice, or for a pod it never saw (the spec requires an idempotent DEL). */
    int (*del)(const struct cni_env *env, const struct cni_config *config, struct cni_error *err);
    int (*check)(const struct cni_env *env, const struct cni_config *config, struct cni_error *err);
};

const struct cni_strategy *cni_strategy_find(const char *name);

extern const struct cni_strategy cni_strategy_host;
extern const struct cni_strategy cni_strategy_loopback;
extern const struct cni_strategy cni_strategy_veth;
extern const struct cni_strategy cni_strategy_tap;

/* `kig-cni --probe`: prints which strategies this sandbox supports, as JSON (probe.c). */
int cni_probe_print(FILE *out);
