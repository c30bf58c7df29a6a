/* kig-runtime's command line: runc's global flags and subcommands, as containerd-shim and go-runc use them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define KIG_RUNTIME_DEFAULT_ROOT "/run/kig-runtime"

struct global_options {
    const char *root; /* --root: kig-runtime's state; the real runtime's lives in ROOT/crun or ROOT/runc */
    const char *log_path;   /* --log */
    const char *log_format; /* --log-format: "text" or "json" */
    const char *criu;       /* --criu (runc only) */
    const char *rootless;   /* --rootless VALUE (runc only) */
    bool debug;             /* --debug */
    bool systemd_cgroup;    /* --systemd-cgroup */
};

struct cli_option {
    const char *name; /* long name: accepted as --name, -name, --name=VALUE */
    char short_name;  /* 0: none */
    bool has_arg;     /* false: a boolean flag (also --name=true/false) */
};

/* Parses the options at the front of argv[1..] (argv[0] is the command). values[i] receives option i's
 * argument ("true"/"false" for booleans) or stays NULL. Returns the index of the first positional
 * argument, or -EINVAL after logging the cause. A repeated option keeps its last value, except that
 * `repeat` (when not NULL) collects every value of the options whose index is repeat_index. */
int cli_parse(const char *command, const struct cli_option *options, size_t n_options, int argc, char **argv,
              const char **values, int repeat_index, const char ***repeat, size_t *n_repeat);

bool cli_true(const char *value);

/* Commands: argv[0] is the command name. Each returns the process exit code. */
int cmd_create(const struct global_options *g, int argc, char **argv);
int cmd_start(const struct global_options *g, int argc, char **argv);
int cmd_state(const struct global_options *g, int argc, char **argv);
int cmd_kill(const struct global_options *g, int argc, char **argv);
int cmd_delete(const struct global_options *g, int argc, char **argv);
int cmd_exec(const struct global_options *g, int argc, char **argv);
int cmd_passthrough(const struct global_options *g, int argc, char **argv);
int cmd_probe(const struct global_options *g, int argc, char **argv);
int cmd_rewrite(const struct global_options *g, int argc, char **argv);

/* Container ids become path names: runc's rule, [A-Za-z0-9_+.-]+, and not "." or "..". */
bool container_id_valid(const char *id);
/* Logs the error and returns false when the id is not valid. */
bool container_id_check(const char *id);
