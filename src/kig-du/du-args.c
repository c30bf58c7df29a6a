#include "du-args.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

const char *du_args_program_name(const char *argv0)
{
    if (!argv0)
        return "";
    const char *slash = strrchr(argv0, '/');
    return slash ? slash + 1 : argv0;
}

static bool argv_is(char *const *argv, const char *const *expected, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (expected[i] && strcmp(argv[i], expected[i]) != 0)
            return false;
    return true;
}

/* A PATH both programs take as a file operand and nothing else: not empty (du and find report it), not
 * an option ("-x", "--", "-"), and not what find could read as the start of an expression ("(", "!", ")",
 * ","). The rest goes to the real program, so these need not be modelled. */
static bool plain_operand(const char *path)
{
    return path[0] != '\0' && !strchr("-()!,", path[0]);
}

enum du_command du_args_match(int argc, char *const *argv, const char **ret_path)
{
    static const char *const nice_du[] = {"nice", "-n", "19", "du", "-x", "-s", "-B", "1", NULL};
    static const char *const find[] = {"find", NULL, "-xdev", "-printf", "."};
    if (argc < 1 || !argv || !argv[0])
        return DU_COMMAND_OTHER;
    const char *name = du_args_program_name(argv[0]);
    if (strcmp(name, "nice") == 0 && argc == 9 && argv_is(argv + 1, nice_du + 1, 7) &&
        plain_operand(argv[8])) {
        *ret_path = argv[8];
        return DU_COMMAND_DU;
    }
    if (strcmp(name, "find") == 0 && argc == 5 && argv_is(argv + 1, find + 1, 4) && plain_operand(argv[1])) {
        *ret_path = argv[1];
        return DU_COMMAND_FIND;
    }
    return DU_COMMAND_OTHER;
}
