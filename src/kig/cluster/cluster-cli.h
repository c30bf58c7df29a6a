/* What the cluster subcommands (up, down, status, logs, kubeconfig) share: loading an existing cluster
 * with user-facing errors, and small output helpers. */
#pragma once

#include "datadir.h"
#include "identity.h"

#include <stdio.h>

/* Loads cluster.json. Logs one line naming the cause and the fix when the data dir has no cluster
 * (-ENOENT) or its cluster.json is damaged (-EINVAL). */
int cluster_cli_load(const struct data_dir *d, struct cluster_identity *ret);

/* The one-line "damaged data dir" error for a cluster.json that does not validate. */
int cluster_cli_damaged(const struct data_dir *d, const char *why);

/* The one-line error for a cluster.json that cannot be read at all (permissions, I/O). */
int cluster_cli_unreadable(const struct data_dir *d, int err);

/* The last line of a log file that is not one of kig's "==>" markers ("" when none). */
void cluster_cli_last_log_line(const char *path, char *buf, size_t size);

/* "export KUBECONFIG=<admin kubeconfig>" with the path, on out. */
void cluster_cli_print_kubeconfig_hint(FILE *out, const struct data_dir *d);
