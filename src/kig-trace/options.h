/* Command line of kig-trace. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define MAX_REDIRECTS         64
#define MAX_NETNS_DIR_OPTIONS 4

struct redirect {
    char from[4096];
    char to[4096];
};

struct trace_options {
    unsigned rules; /* bit per enum rule_id */
    struct redirect *redirects;
    size_t n_redirects;
    const char *uname_release;
    const char *netns_dirs[MAX_NETNS_DIR_OPTIONS]; /* besides /run/netns and /var/run/netns */
    size_t n_netns_dirs;
    const char *switch_dir; /* netns-enter: kig-switch's state directory, or NULL */
    const char *log_path;
    const char *pid_file;
    int ready_fd;
    int verbosity;
    bool stats;
    bool force_emulation;    /* emulate even what the kernel supports (tests on a full kernel) */
    bool trap_marked_mounts; /* stop mounts marked with MS_MGC_VAL too (mount-untrapped.h) */
    char **argv;             /* PROGRAM ARGS..., NULL-terminated */
};

/* Parses argv into opts. Returns 0, 1 when --help/--list-rules was answered, or a negative errno after
 * printing the cause. */
int options_parse(int argc, char **argv, struct trace_options *opts);
void options_free(struct trace_options *opts);
