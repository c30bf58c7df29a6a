/* gVisor 20221219 refuses every bind remount (mount(2) MS_BIND|MS_REMOUNT: EINVAL). kubelet follows each
 * bind mount with one (k8s.io/mount-utils: `mount -o bind` then `mount -o bind,remount` with the same
 * options), most often asking for nothing the fresh bind does not already have: that remount can succeed
 * without the syscall. One that would change a flag still fails. */
#pragma once

#include <stdbool.h>

/* Whether the options (mount(8) syntax) ask for a bind remount ("bind" or "rbind", and "remount"). */
bool bind_remount_requested(const char *options);

/* Whether a bind remount with REQUESTED options (mount(8) syntax) leaves a mount whose VFS options are
 * CURRENT (mountinfo's per-mount field, e.g. "rw,nosuid,relatime") as it is: the same ro/nosuid/nodev/
 * noexec, and the same access-time mode when the request names one. Unknown options count as a change. */
bool bind_remount_changes_nothing(const char *requested, const char *current);
