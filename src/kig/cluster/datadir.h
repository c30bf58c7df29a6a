/* The data dir: where one cluster keeps everything (identity, PKI, kubeconfigs, etcd, logs, run state).
 *
 *   <root>/cluster.json             identity (identity.h)
 *   <root>/pki/                     certificates and keys (pki-setup.h)
 *   <root>/kubeconfig/<user>.kubeconfig
 *   <root>/etcd/                    etcd's data
 *   <root>/logs/<component>.log     one log per component, kig.log for the supervisor
 *   <root>/run/                     supervisor.lock, supervisor.pid, state.json, up.lock */
#pragma once

#include <stdbool.h>

#define KIG_DEFAULT_DATA_DIR "/var/lib/kig"
#define KIG_DATA_DIR_ENV     "KIG_DATA_DIR"

struct data_dir {
    char *root; /* absolute */
    char *cluster_json;
    char *pki;
    char *kubeconfigs;
    char *etcd;
    char *logs;
    char *run;
    char *state_json;
    char *supervisor_lock;
    char *supervisor_pid;
    char *up_lock;
};

/* Resolves the data dir from the --data-dir value (may be NULL), else $KIG_DATA_DIR, else the default,
 * made absolute. Logs and returns a negative errno on failure. */
int data_dir_init(struct data_dir *d, const char *flag_value);
void data_dir_done(struct data_dir *d);

/* Newly allocated paths inside the data dir (NULL on ENOMEM). */
char *data_dir_log(const struct data_dir *d, const char *component);
char *data_dir_kubeconfig(const struct data_dir *d, const char *user);
char *data_dir_pki_file(const struct data_dir *d, const char *file);

/* Creates the data dir and the directories kig writes to, and checks they are writable. Logs one line
 * naming the cause and the fix on failure. */
int data_dir_create(const struct data_dir *d);

/* True when the directory holds cluster data (a PKI or etcd data) other than cluster.json. */
bool data_dir_has_cluster_data(const struct data_dir *d);

/* Deletes the data dir, refusing (with a logged one-line error) when it holds anything kig did not create,
 * so that a mistyped --data-dir never costs the user a directory. A missing directory is fine. */
int data_dir_purge(const struct data_dir *d);
