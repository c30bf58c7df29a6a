/* Fuzzes kig-du's match of its command line (outside input: kubelet builds it from pod and volume paths).
 * The input's NUL-separated pieces are argv[0..]. Beyond "no crash, no undefined behaviour": an accepted
 * command line has exactly the argv shape of kubelet's du or find and a non-empty PATH taken from argv that
 * no GNU program would read as an option or an expression. */
#include "../../src/kig-du/du-args.c"

#include "fuzz-argv.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[FUZZ_ARGV_MAX];
    char *copy;
    int argc = fuzz_argv(data, size, argv, 0, &copy);
    if (argc < 0)
        return 0;
    const char *path = NULL;
    enum du_command c = du_args_match(argc, argv, &path);
    if (c == DU_COMMAND_DU) {
        assert(argc == 9 && path == argv[8] && strcmp(du_args_program_name(argv[0]), "nice") == 0);
        assert(strcmp(argv[3], "du") == 0 && strcmp(argv[7], "1") == 0);
    } else if (c == DU_COMMAND_FIND) {
        assert(argc == 5 && path == argv[1] && strcmp(du_args_program_name(argv[0]), "find") == 0);
        assert(strcmp(argv[4], ".") == 0);
    } else {
        assert(c == DU_COMMAND_OTHER && path == NULL);
    }
    if (c != DU_COMMAND_OTHER)
        assert(*path && *path != '-' && !strchr("()!,", *path));
    free(copy);
    return 0;
}
