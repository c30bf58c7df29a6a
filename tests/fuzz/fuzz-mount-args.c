/* Fuzzes kig-mount's reading of its command line (outside input: kubelet builds it from pod specs' paths).
 * The input's NUL-separated pieces are argv[1..]. Beyond "no crash, no undefined behaviour": an accepted
 * command line has two non-empty operands taken from argv, and options that fit their buffer. */
#include "../../src/kig-mount/mount-args.c"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *argv[64] = {"mount"};
    int argc = 1;
    for (char *p = copy; argc < 63 && p <= copy + size; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
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
