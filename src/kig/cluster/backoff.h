/* Restart back-off for supervised components: a component that keeps dying is restarted after 0.5 s,
 * 1 s, 2 s, ... up to a ceiling; one that ran for a while before dying counts as healthy again, so a crash
 * after hours is retried at once rather than after the ceiling. */
#pragma once

#include <stdint.h>

struct backoff_policy {
    int64_t initial_ms;     /* delay after the first failure */
    int64_t max_ms;         /* ceiling */
    int64_t reset_after_ms; /* a run at least this long resets the failure count */
};

extern const struct backoff_policy backoff_default;

/* Consecutive failures after a run of uptime_ms ended, given the count before it. */
unsigned backoff_record_exit(const struct backoff_policy *p, unsigned failures, int64_t uptime_ms);

/* Delay before the next start, given the consecutive failures so far (0: start now). */
int64_t backoff_delay_ms(const struct backoff_policy *p, unsigned failures);
