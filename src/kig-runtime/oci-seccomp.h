/* An OCI linux.seccomp profile as a libseccomp filter, for the processes kig-runtime execs itself: they must
 * run under the same profile as the container's init, which the runtime gave it. */
#pragma once

#include <jansson.h>
#include <seccomp.h>
#include <stddef.h>

/* Compiles the profile. Syscalls this libseccomp does not know on this architecture are skipped, as runc
 * does. Returns 0 with *ret set (NULL when profile is NULL or null: no filter), or -EINVAL with a one-line
 * reason in error, or -ENOMEM. Release with seccomp_release(). */
int oci_seccomp_compile(const json_t *profile, scmp_filter_ctx *ret, char *error, size_t error_size);
