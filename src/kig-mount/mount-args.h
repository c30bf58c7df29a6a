/* The part of mount(8)'s command line kig-mount takes over: what kubelet runs (k8s.io/mount-utils):
 * `mount [-t TYPE] [-o OPTIONS] SOURCE TARGET`, options also as several -o. Anything else is mount(8)'s. */
#pragma once

#include <stddef.h>

#define MOUNT_ARGS_MAX_OPTIONS 4096

struct mount_args {
    const char *type;   /* NULL: none given */
    const char *source; /* points into argv */
    const char *target;
    char options[MOUNT_ARGS_MAX_OPTIONS]; /* the -o values joined by ","; "" when none */
};

/* Parses argv (argv[0] is the program). Returns 0; -EOPNOTSUPP when the command line is not of that form
 * (another flag, not exactly two operands: the real mount(8) takes it); -E2BIG when the options are longer
 * than MOUNT_ARGS_MAX_OPTIONS. */
int mount_args_parse(int argc, char *const *argv, struct mount_args *ret);
