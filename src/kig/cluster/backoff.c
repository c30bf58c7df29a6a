#include "backoff.h"

#include <limits.h>

const struct backoff_policy backoff_default = {
    .initial_ms = 500,
    .max_ms = 30000,
    .reset_after_ms = 60000,
};

unsigned backoff_record_exit(const struct backoff_policy *p, unsigned failures, int64_t uptime_ms)
{
    if (uptime_ms >= p->reset_after_ms)
        return 1;
    return failures == UINT_MAX ? failures : failures + 1;
}

int64_t backoff_delay_ms(const struct backoff_policy *p, unsigned failures)
{
    if (failures == 0)
        return 0;
    int64_t delay = p->initial_ms;
    for (unsigned i = 1; i < failures && delay < p->max_ms; i++)
        delay *= 2;
    return delay < p->max_ms ? delay : p->max_ms;
}
