#include "bind-remount.h"

#include <libmount.h>
#include <stdlib.h>
#include <sys/mount.h>

#define ATIME_FLAGS (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)
/* What a bind remount may set on a mount, besides access times. */
#define MOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
/* What only says which operation it is. */
#define OPERATION_FLAGS (MS_BIND | MS_REC | MS_REMOUNT | MS_SILENT)

static bool has_option(const char *options, const char *name)
{
    char *value = NULL;
    size_t value_size = 0;
    return mnt_optstr_get_option(options, name, &value, &value_size) == 0;
}

bool bind_remount_requested(const char *options)
{
    return has_option(options, "remount") && (has_option(options, "bind") || has_option(options, "rbind"));
}

static bool vfs_flags(const char *options, unsigned long *ret)
{
    *ret = 0;
    return mnt_optstr_get_flags(options, ret, mnt_get_builtin_optmap(MNT_LINUX_MAP)) == 0;
}

/* Everything in the options is a known per-mount option ("defaults" and "rw" are, and set no flag). */
static bool only_known_options(const char *options)
{
    char *user = NULL, *vfs = NULL, *fs = NULL;
    if (mnt_split_optstr(options, &user, &vfs, &fs, 0, 0) != 0)
        return false;
    bool known = !user && !fs;
    free(user);
    free(vfs);
    free(fs);
    return known;
}

bool bind_remount_changes_nothing(const char *requested, const char *current)
{
    unsigned long want, have;
    if (!requested || !current || !only_known_options(requested) || !vfs_flags(requested, &want) ||
        !vfs_flags(current, &have))
        return false;
    want &= ~OPERATION_FLAGS;
    if ((want & MOUNT_FLAGS) != (have & MOUNT_FLAGS))
        return false;
    return !(want & ATIME_FLAGS) || (want & ATIME_FLAGS) == (have & ATIME_FLAGS);
}
