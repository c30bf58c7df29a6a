#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const struct kig_command *kig_find_command(const char *name)
{
    for (size_t i = 0; i < kig_n_commands; i++)
        if (strcmp(kig_commands[i].name, name) == 0)
            return &kig_commands[i];
    return NULL;
}

void cli_print_help(const struct kig_command *cmd, FILE *out)
{
    fprintf(out, "kig %s: %s\n\n%s", cmd->name, cmd->summary, cmd->usage);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "kig %s: error: %s; see 'kig %s --help'\n", cmd, msg, cmd);
    else
        fprintf(stderr, "kig: error: %s; see 'kig --help'\n", msg);
    return EXIT_USAGE;
}

int cli_getopt(int argc, char **argv, const char *cmd, const char *optstring, const struct option *longopts)
{
    char spec[128];
    snprintf(spec, sizeof(spec), "+:%s", optstring);
    opterr = 0;
    int prev = optind;
    int c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c == '?') {
        const char *arg = prev < argc ? argv[prev] : "";
        if (optopt && (prev >= argc || strncmp(arg, "--", 2) != 0))
            cli_usage_error(cmd, "unknown option '-%c'", optopt);
        else
            cli_usage_error(cmd, "unknown option '%s'", arg);
        return '?';
    }
    if (c == ':') {
        const char *arg = prev < argc ? argv[prev] : "";
        if (strncmp(arg, "--", 2) == 0)
            cli_usage_error(cmd, "option '%s' needs a value", arg);
        else
            cli_usage_error(cmd, "option '-%c' needs a value", optopt);
        return '?';
    }
    return c;
}

int cli_parse_int(const char *s, long min, long max, long *ret)
{
    if (!s || !*s)
        return -EINVAL;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end != '\0')
        return -EINVAL;
    if (errno == ERANGE || v < min || v > max)
        return -ERANGE;
    *ret = v;
    return 0;
}
