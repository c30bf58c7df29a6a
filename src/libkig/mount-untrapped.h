/* mount(2) calls that kig-trace's seccomp filter lets through without a stop.
 *
 * In containerd's traced tree every mount(2) stops in kig-trace (about 7 ms a call inside gVisor's ptrace
 * platform), which fixes what runc, crun and containerd ask of the kernel: /proc/self/fd/N targets, flags
 * gVisor refuses. kig-runtime asks nothing that needs fixing: it resolves its paths itself and drops the
 * flags the sandbox refuses, from a probe of the kernel itself. It marks its calls with MS_MGC_VAL, the
 * magic number mount(2) required before Linux 2.4, which Linux and gVisor still strip from the flags, and
 * the filter passes a call carrying it.
 *
 * The magic occupies the flags' upper 16 bits (MS_MGC_MSK), so a call that needs a flag there (MS_SHARED,
 * MS_PRIVATE, MS_SLAVE, MS_UNBINDABLE, MS_RELATIME, MS_STRICTATIME, MS_LAZYTIME ...) cannot carry it and
 * is trapped as before. Header-only: kig-runtime, kig-trace's filter and tests share the constants. */
#pragma once

#include <stdbool.h>
#include <sys/mount.h>

#ifndef MS_MGC_VAL
#define MS_MGC_VAL 0xc0ed0000UL
#endif
#ifndef MS_MGC_MSK
#define MS_MGC_MSK 0xffff0000UL
#endif

/* The flags values the filter passes: the magic with any of the lower 16 bits. */
#define MOUNT_UNTRAPPED_FIRST ((unsigned long)MS_MGC_VAL)
#define MOUNT_UNTRAPPED_LAST  ((unsigned long)MS_MGC_VAL | 0xffffUL)

/* Whether flags can carry the magic (nothing set in its bits). */
static inline bool mount_flags_can_skip_trap(unsigned long flags)
{
    return (flags & MS_MGC_MSK) == 0;
}

/* mount(2), marked to pass kig-trace without a stop when its flags allow (otherwise a plain mount). Same
 * return and errno as mount(2). */
static inline int mount_untrapped(const char *source, const char *target, const char *type,
                                  unsigned long flags, const void *data)
{
    return mount(source, target, type, mount_flags_can_skip_trap(flags) ? flags | MS_MGC_VAL : flags, data);
}
