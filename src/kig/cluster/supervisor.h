/* The supervisor (`kig __supervise`): starts the cluster's components in table order as their gates open,
 * restarts one that dies with back-off, probes their readiness, keeps run/state.json current, and on
 * SIGTERM/SIGINT stops them in reverse order (SIGTERM, then SIGKILL after a grace period). */
#pragma once

#include "datadir.h"

#include <sys/types.h>

#define SUPERVISOR_GRACE_MS 10000

struct supervisor_options {
    const struct data_dir *dir;
    pid_t attached_to; /* stop when this process dies (kig up --foreground); 0: detached */
};

/* Runs until stopped; returns the process exit code. */
int supervisor_run(const struct supervisor_options *o);
