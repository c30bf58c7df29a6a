/* The process of an `exec`, parsed from its OCI JSON form (runc exec --process FILE, or the container's own
 * process with the command-line overrides). */
#pragma once

#include "sandbox-features.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

enum cap_set {
    CAP_SET_BOUNDING,
    CAP_SET_EFFECTIVE,
    CAP_SET_INHERITABLE,
    CAP_SET_PERMITTED,
    CAP_SET_AMBIENT,
    _CAP_SET_MAX
};

struct exec_rlimit {
    int resource;
    struct rlimit limit;
};

struct exec_process {
    char **args; /* NULL-terminated */
    char **env;  /* NULL-terminated "KEY=VALUE" */
    char *cwd;
    uid_t uid;
    gid_t gid;
    gid_t *additional_gids;
    size_t n_additional_gids;
    bool has_umask;
    mode_t umask;
    bool terminal;
    unsigned short console_rows, console_cols;
    bool has_capabilities;
    uint64_t capabilities[_CAP_SET_MAX];
    struct exec_rlimit rlimits[N_RLIMITS];
    size_t n_rlimits;
    bool no_new_privileges;
    bool has_oom_score_adj;
    int oom_score_adj;
};

/* Parses a process object. Returns 0, or -EINVAL with a one-line reason in error. */
int exec_process_parse(const json_t *process, struct exec_process *ret, char *error, size_t error_size);
void exec_process_done(struct exec_process *p);

/* The value of NAME in a "KEY=VALUE" list, or NULL. */
const char *exec_process_getenv(const struct exec_process *p, const char *name);
