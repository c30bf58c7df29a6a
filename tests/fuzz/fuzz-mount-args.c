/* Fuzzes kig-mount's reading of its command line (outside input: kubelet builds it from pod specs' paths).
 * The input's NUL-separated pieces are argv[1..]. Beyond "no crash, no undefined behaviour": an accepted
 * command line has two non-empty operands taken from argv, and options that fit their buffer. */
#include "../../src/kig-mount/mount-args.c"

#include "fuzz-argv.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[FUZZ_ARGV_MAX] = {"mount"};
    char *copy;
    int argc = fuzz_argv(data, size, argv, 1, &copy);
    if (argc < 0)
        return 0;
    struct mount_args a;
    int r = mount_args_parse(argc, argv, &a);
    if (r == 0) {
        assert(a.source && *a.source && a.target && *a.target);
        assert(strlen(a.options) < sizeof(a.options));
    } else {
        assert(r == -EOPNOTSUPP || r == -E2BIG);
    }
    free(copy);
    return 0;
}
