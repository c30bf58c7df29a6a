#include "rule.h"

#include <string.h>

/* Order matters where rules share a syscall: enter hooks run in this order, exit hooks in reverse (so a
 * path is redirected before statfs looks at the result). */
const struct rule *const all_rules[RULE_COUNT] = {
    [RULE_REDIRECT] = &rule_redirect,
    [RULE_NETNS_PIN] = &rule_netns_pin,
    [RULE_MOUNT] = &rule_mount,
    [RULE_STATFS] = &rule_statfs,
    [RULE_FCHOWN_PIPE] = &rule_fchown_pipe,
    [RULE_IOCTL_NET] = &rule_ioctl_net,
    [RULE_SUBREAPER] = &rule_subreaper,
    [RULE_UNAME] = &rule_uname,
    [RULE_NETNS_ENTER] = &rule_netns_enter,
};

const struct rule *rule_by_name(const char *name)
{
    for (unsigned i = 0; i < RULE_COUNT; i++)
        if (strcmp(all_rules[i]->name, name) == 0)
            return all_rules[i];
    return NULL;
}
