/* kig-runtime's own record of a container, in ROOT/kig/ID/:
 *   state.json   what later commands need (below)
 *   config.json  the config given to the runtime (rewritten, with an absolute root.path), in bundle/
 *   rewrites     one line per relaxation made for this sandbox (also logged once, at create)
 * The real runtime keeps its own state beside it, in ROOT/crun or ROOT/runc. */
#pragma once

#include "spec-rewrite.h"

#include <jansson.h>
#include <stdbool.h>

struct container_state {
    char *id;
    char *bundle;       /* the bundle given to create */
    char *rootfs;       /* absolute, symlinks resolved */
    char *runtime_path; /* the runtime that created it: later commands use the same */
    enum oci_runtime_kind runtime;
    char *config_path;  /* the config.json the runtime was given */
    bool kig_exec;      /* exec is done by kig-runtime (setns missing), not by the runtime */
    bool shares_mounts; /* no mount namespace of its own: its mounts are the sandbox's, delete sweeps them */
    int init_pid;       /* the container's init, as the runtime reported it after create */
    unsigned long long
        init_start_time; /* its start time (/proc/PID/stat field 22): tells it from a reused pid */
    bool kig_init;   /* kig-runtime runs the init itself, no runtime knows the container (own-init.h) */
    char *created;   /* when it was created (RFC 3339, UTC), for `state`; NULL in older records */
    json_t *mounted; /* array of paths kig-runtime mounted, in mount order */
    json_t *cgroup_dirs; /* array of cgroup directories kig-runtime created */
};

/* ROOT/kig/ID, newly allocated; NULL on ENOMEM. */
char *container_state_dir(const char *root, const char *id);

int container_state_save(const char *root, const struct container_state *s);
/* Returns -ENOENT when kig-runtime has no record of the container. */
int container_state_load(const char *root, const char *id, struct container_state *ret);
int container_state_remove(const char *root, const char *id);
void container_state_done(struct container_state *s);
