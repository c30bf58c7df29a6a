/* The kig command line: the subcommand table and helpers every subcommand uses for its flags. */
#pragma once

#include <getopt.h>
#include <stdio.h>

#define EXIT_USAGE 2

struct kig_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name; returns the exit code */
    const char *usage;                 /* full --help text after the "usage:" line */
};

/* Every subcommand, in the order `kig --help` lists them. */
extern const struct kig_command kig_commands[];
extern const size_t kig_n_commands;

const struct kig_command *kig_find_command(const char *name);

/* Prints "usage: kig NAME ..." and the command's help text. */
void cli_print_help(const struct kig_command *cmd, FILE *out);

/* Wraps getopt_long so that a bad flag gives one clear line instead of getopt's own wording.
 * Returns the option character, -1 at the end, or '?' after printing the error (caller returns EXIT_USAGE).
 * The optstring must not begin with ':' or '+'; this adds both. */
int cli_getopt(int argc, char **argv, const char *cmd, const char *optstring, const struct option *longopts);

/* "kig CMD: error: <message>; see 'kig CMD --help'" on stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a decimal integer in [min,max]; returns 0 or -EINVAL/-ERANGE. */
int cli_parse_int(const char *s, long min, long max, long *ret);

/* Subcommand entry points. */
int cmd_doctor(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_kubeconfig(int argc, char **argv);
int cmd_supervise(int argc, char **argv);
int cmd_vkernel(int argc, char **argv);
int cmd_image(int argc, char **argv);
