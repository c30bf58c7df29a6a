/* kig-mount: the mount(8) kubelet finds first in its PATH (<node>/kubelet-path/mount, docs/pods.md).
 *
 * kubelet mounts its volumes by running `mount`: tmpfs for Secrets and memory emptyDirs, and for every
 * subPath a bind of the volume's sub-directory followed by a bind remount. gVisor 20221219 refuses bind
 * remounts, so every subPath failed and its bind was left behind at each of kubelet's retries. kig-mount
 * does what mount(8) does, through util-linux's own libmount in-process (no second program start per
 * volume), and lets a bind remount that would change nothing succeed when the sandbox refuses it
 * (bind-remount.h). Where the sandbox can remount, the syscall's answer stands. Command lines of another
 * form go to the real mount(8). */
#include "bind-remount.h"
#include "fileutil.h"
#include "macro.h"
#include "mount-args.h"

#include <errno.h>
#include <libmount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The first mount(8) in PATH that is not this program (found there under that name). */
static char *find_real_mount(void)
{
    const char *path = getenv("PATH");
    _cleanup_free_ char *dirs = strdup(path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
    if (!dirs)
        return NULL;
    char *save = NULL;
    for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        _cleanup_free_ char *candidate = path_join(dir, "mount");
        if (candidate && access(candidate, X_OK) == 0 && !same_file(candidate, "/proc/self/exe"))
            return TAKE_PTR(candidate);
    }
    return NULL;
}

static _noreturn_ void exec_real_mount(char **argv)
{
    _cleanup_free_ char *real = find_real_mount();
    if (!real) {
        fprintf(stderr,
                "kig-mount: no mount(8) in PATH besides kig-mount itself: install util-linux's mount\n");
        exit(1);
    }
    argv[0] = real;
    execv(real, argv);
    fprintf(stderr, "kig-mount: cannot run %s: %s\n", real, strerror(errno));
    exit(1);
}

/* mountinfo's per-mount options of the topmost mount on TARGET; NULL when it is no mount point. */
static char *current_vfs_options(const char *target)
{
    struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
    if (!tb)
        return NULL;
    struct libmnt_fs *fs = mnt_table_find_target(tb, target, MNT_ITER_BACKWARD);
    const char *options = fs ? mnt_fs_get_vfs_options(fs) : NULL;
    char *copy = options ? strdup(options) : NULL;
    mnt_unref_table(tb);
    return copy;
}

static bool refused_bind_remount(struct libmnt_context *cxt, const struct mount_args *a)
{
    return bind_remount_requested(a->options) && mnt_context_syscall_called(cxt) &&
           mnt_context_get_syscall_errno(cxt) == EINVAL;
}

static bool refused_remount_changes_nothing(struct libmnt_context *cxt, const struct mount_args *a)
{
    if (!refused_bind_remount(cxt, a))
        return false;
    _cleanup_free_ char *current = current_vfs_options(a->target);
    return current && bind_remount_changes_nothing(a->options, current);
}

static int do_mount(const struct mount_args *a)
{
    struct libmnt_context *cxt = mnt_new_context();
    if (!cxt) {
        fprintf(stderr, "kig-mount: out of memory\n");
        return MNT_EX_SYSERR;
    }
    int rc = mnt_context_set_source(cxt, a->source);
    if (rc == 0)
        rc = mnt_context_set_target(cxt, a->target);
    if (rc == 0 && a->type)
        rc = mnt_context_set_fstype(cxt, a->type);
    if (rc == 0 && a->options[0])
        rc = mnt_context_set_options(cxt, a->options);
    if (rc == 0)
        rc = mnt_context_mount(cxt);
    int status = MNT_EX_SUCCESS;
    if (rc != 0 || mnt_context_get_status(cxt) != 1) {
        if (refused_remount_changes_nothing(cxt, a)) {
            mnt_free_context(cxt);
            return MNT_EX_SUCCESS;
        }
        char message[1024] = "";
        status = mnt_context_get_excode(cxt, rc, message, sizeof(message));
        if (refused_bind_remount(cxt, a))
            fprintf(stderr,
                    "mount: %s: this sandbox refuses bind remounts (EINVAL) and this one would change the "
                    "mount's options (%s): a read-only or nosuid/nodev/noexec bind cannot be made here\n",
                    a->target, a->options);
        else
            fprintf(stderr, "mount: %s: %s\n", a->target, message[0] ? message : "mount failed");
    }
    mnt_free_context(cxt);
    return status;
}

int main(int argc, char **argv)
{
    struct mount_args a;
    if (mount_args_parse(argc, argv, &a) < 0)
        exec_real_mount(argv);
    return do_mount(&a);
}
