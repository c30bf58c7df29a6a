/* run/state.json: what the supervisor is doing, for `kig status`, `kig up` (progress) and `kig down`.
 * Only the supervisor writes it, always atomically, whenever something changes.
 *
 *   {"format": 1, "cluster": "kig", "mode": "control-plane-only", "server": "https://127.0.0.1:6443",
 *    "supervisor": {"pid": 10, "phase": "running", "startedAt": 1700000000.5},
 *    "components": [{"name": "etcd", "pid": 11, "state": "running", "ready": true, "restarts": 0,
 *                    "port": 2379, "startedAt": 1700000000.6, "path": "/usr/bin/etcd",
 *                    "log": "/var/lib/kig/logs/etcd.log", "lastExit": "killed by signal 9"}, ...]} */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CLUSTER_STATE_FORMAT 1
#define STATE_MAX_COMPONENTS 16

enum supervisor_phase { PHASE_STARTING, PHASE_RUNNING, PHASE_STOPPING, PHASE_STOPPED, _PHASE_MAX };

enum run_state {
    RUN_WAITING,  /* not started yet: its gate is closed */
    RUN_RUNNING,  /* process alive */
    RUN_BACKOFF,  /* died; restarts after the back-off delay */
    RUN_STOPPING, /* asked to stop */
    RUN_STOPPED,
    _RUN_STATE_MAX,
};

struct component_state {
    char *name;
    char *path;      /* executable */
    char *log;       /* log file */
    char *last_exit; /* "exited with status 1", "killed by signal 9", or NULL */
    pid_t pid;       /* 0 when no process */
    enum run_state state;
    bool ready;
    unsigned restarts;
    int port;
    double started_at; /* Unix time the current process started, 0 when none */
};

struct cluster_state {
    char *cluster;
    char *mode;
    char *server;
    pid_t supervisor_pid;
    enum supervisor_phase phase;
    double started_at;
    size_t n_components;
    struct component_state components[STATE_MAX_COMPONENTS];
};

const char *supervisor_phase_to_string(enum supervisor_phase p);
const char *run_state_to_string(enum run_state s);

void cluster_state_done(struct cluster_state *s);
/* Sets *dst to a copy of src (NULL allowed), freeing the old value. Returns 0 or -ENOMEM. */
int cluster_state_set_string(char **dst, const char *src);

/* Parses and validates a state.json document; -EINVAL when invalid, -ENOMEM. */
int cluster_state_parse(const char *text, size_t len, struct cluster_state *ret);
/* The state as JSON (caller frees), NULL on ENOMEM. */
char *cluster_state_format(const struct cluster_state *s);

int cluster_state_load(const char *path, struct cluster_state *ret);
int cluster_state_save(const char *path, const struct cluster_state *s);

/* The component named name, or NULL. */
const struct component_state *cluster_state_find(const struct cluster_state *s, const char *name);
