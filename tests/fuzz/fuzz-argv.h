/* The command-line fuzz targets' argv: the input's NUL-separated pieces after the fixed first elements. */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ARGV_MAX 64

/* argv has FUZZ_ARGV_MAX slots, its first n_fixed already set. Returns argc (argv[argc] is NULL) and in
 * *ret_copy the NUL-terminated copy of data the pieces point into (the caller frees it), or -1 without
 * memory. */
static inline int fuzz_argv(const uint8_t *data, size_t size, char **argv, int n_fixed, char **ret_copy)
{
    char *copy = malloc(size + 1);
    if (!copy)
        return -1;
    memcpy(copy, data, size);
    copy[size] = '\0';
    int argc = n_fixed;
    for (char *p = copy; argc < FUZZ_ARGV_MAX - 1 && p <= copy + size; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    *ret_copy = copy;
    return argc;
}
