/* Applying a plan and undoing it.
 *
 * Every action is recorded in the state file twice: "started" (with what was there before: did the path
 * exist, which mount was on top) before it is done, and "done" after. Teardown walks the actions
 * backwards and undoes each one that was started, tolerating the ones a crash left not done. Nothing that
 * existed before is ever removed, and a mount is unmounted only while it is the one this plan made. */
#include "cgroupfs-daemon.h"
#include "mounts.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>

/* Records what is there before the action runs (only the first time: a resumed action keeps it). */
static int action_prepare(struct vk_action *a)
{
    struct stat st;
    switch (a->type) {
    case VK_ACTION_MKDIR:
        a->existed = lstat(a->path, &st) == 0;
        if (a->existed && !S_ISDIR(st.st_mode))
            return log_error_errno(ENOTDIR, "%s exists and is not a directory; remove it or fix the run dir",
                                   a->path);
        return 0;
    case VK_ACTION_WRITE_FILE:
    case VK_ACTION_SYMLINK:
        a->existed = lstat(a->path, &st) == 0;
        if (a->existed)
            return log_error_errno(
                EEXIST, "%s exists and is not kig's; the plan is stale: run 'kig vkernel plan' again",
                a->path);
        return 0;
    case VK_ACTION_MOUNT: {
        int id = mount_top_id(a->path, NULL, 0);
        if (id < 0)
            return log_error_errno(id, "cannot read /proc/self/mountinfo: %m");
        a->prior_mount_id = id;
        return 0;
    }
    default:
        return 0;
    }
}

static int do_mkdir(struct vk_action *a)
{
    if (mkdir(a->path, a->mode) < 0) {
        if (errno != EEXIST)
            return log_error_errno(errno, "cannot make %s: %m", a->path);
        if (!is_dir(a->path))
            return log_error_errno(ENOTDIR, "%s exists and is not a directory", a->path);
        return 0;
    }
    if (chmod(a->path, a->mode) < 0)
        return log_error_errno(errno, "cannot set the mode of %s: %m", a->path);
    return 0;
}

static int do_write_file(struct vk_action *a)
{
    /* No O_EXCL: a resumed action may find its own half-written file. action_prepare refused foreign ones. */
    _cleanup_close_ int fd = open(a->path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, a->mode);
    if (fd < 0)
        return log_error_errno(errno, "cannot create %s: %m", a->path);
    size_t len = a->content ? strlen(a->content) : 0;
    if (len > 0 && write(fd, a->content, len) != (ssize_t)len)
        return log_error_errno(errno ? errno : EIO, "cannot write %s: %m", a->path);
    if (fchmod(fd, a->mode) < 0)
        return log_error_errno(errno, "cannot set the mode of %s: %m", a->path);
    return 0;
}

static int do_symlink(struct vk_action *a)
{
    if (symlink(a->source, a->path) == 0)
        return 0;
    if (errno == EEXIST) {
        char target[4096];
        ssize_t n = readlink(a->path, target, sizeof(target) - 1);
        if (n >= 0) {
            target[n] = '\0';
            if (strcmp(target, a->source) == 0)
                return 0;
        }
    }
    return log_error_errno(errno, "cannot make the symlink %s -> %s: %m", a->path, a->source);
}

static int do_mount(struct vk_action *a)
{
    int top = mount_top_id(a->path, NULL, 0);
    if (top > 0 && top != a->prior_mount_id) {
        a->mount_id = top; /* a resumed action: the mount was made before the crash */
        return 0;
    }
    int r;
    if (strcmp(a->fstype, "bind") == 0)
        r = mount(a->source, a->path, NULL, MS_BIND, NULL);
    else
        r = mount(a->source, a->path, a->fstype, MS_NOSUID | MS_NODEV | MS_NOEXEC, a->options);
    if (r < 0)
        return log_error_errno(errno, "cannot mount %s on %s%s%s: %m", a->fstype, a->path,
                               a->options ? " -o " : "", a->options ? a->options : "");
    a->mount_id = mount_top_id(a->path, NULL, 0);
    if (a->mount_id <= 0 || a->mount_id == a->prior_mount_id)
        return log_error_errno(EIO, "mounted %s on %s but mountinfo does not show it", a->fstype, a->path);
    return 0;
}

/* Remembers which inode the action made, so teardown never removes something else that a path names
 * by then (e.g. the real /proc/sys file once kig's tmpfs over it is gone). */
static int record_inode(struct vk_action *a, int r)
{
    struct stat st;
    if (r < 0 || a->existed)
        return r;
    if (lstat(a->path, &st) < 0)
        return log_error_errno(errno, "cannot stat %s after making it: %m", a->path);
    a->dev = (unsigned long long)st.st_dev;
    a->ino = (unsigned long long)st.st_ino;
    return 0;
}

static int action_do(struct vk_action *a, const char *run_dir)
{
    switch (a->type) {
    case VK_ACTION_MKDIR:
        return record_inode(a, do_mkdir(a));
    case VK_ACTION_WRITE_FILE:
        return record_inode(a, do_write_file(a));
    case VK_ACTION_SYMLINK:
        return record_inode(a, do_symlink(a));
    case VK_ACTION_MOUNT:
        return do_mount(a);
    case VK_ACTION_START_CGROUPFS:
        return cgroupfs_start(a, run_dir);
    default:
        return log_error_errno(EINVAL, "unknown action type %d", (int)a->type);
    }
}

/* Unmounts path if the topmost mount there is the one the action made. */
static int undo_mount(struct vk_action *a)
{
    char fstype[64];
    int top = mount_top_id(a->path, fstype, sizeof(fstype));
    if (top < 0)
        return log_error_errno(top, "cannot read /proc/self/mountinfo: %m");
    bool ours = a->mount_id > 0 ? top == a->mount_id : (top > 0 && top != a->prior_mount_id);
    if (!ours) {
        if (a->mount_id > 0 && top != a->prior_mount_id && top > 0)
            return log_error_errno(EBUSY, "something is mounted over %s (mount %d, %s); unmount it first",
                                   a->path, top, fstype);
        return 0; /* not mounted (any more): nothing to undo */
    }
    if (umount2(a->path, 0) < 0) {
        if (errno != EBUSY)
            return log_error_errno(errno, "cannot unmount %s: %m", a->path);
        /* Busy: detach it now; it goes away when its last user does. */
        log_warn("%s is busy; detaching it", a->path);
        if (umount2(a->path, MNT_DETACH) < 0)
            return log_error_errno(errno, "cannot unmount %s: %m", a->path);
    }
    return 0;
}

/* Whether path is still what the action made. An action that crashed before recording its inode made,
 * at most, a fresh entry that nobody else knows about: it is taken as ours. */
static bool still_ours(const struct vk_action *a)
{
    struct stat st;
    if (a->existed || lstat(a->path, &st) < 0)
        return false;
    if (a->ino == 0)
        return a->status == VK_STARTED;
    return (unsigned long long)st.st_dev == a->dev && (unsigned long long)st.st_ino == a->ino;
}

static int action_undo(struct vk_action *a)
{
    switch (a->type) {
    case VK_ACTION_MKDIR:
        if (!still_ours(a))
            return 0;
        if (a->disposable) {
            /* rm_rf stays on this filesystem: a mount inside would make the rmdir below fail, loudly. */
            int r = rm_rf(a->path);
            if (r < 0 && r != -EBUSY)
                return log_error_errno(r, "cannot remove %s: %m", a->path);
            return 0;
        }
        if (rmdir(a->path) == 0 || errno == ENOENT)
            return 0;
        return log_error_errno(errno, "cannot remove %s: %m", a->path);
    case VK_ACTION_WRITE_FILE:
    case VK_ACTION_SYMLINK:
        if (!still_ours(a) || unlink(a->path) == 0 || errno == ENOENT)
            return 0;
        return log_error_errno(errno, "cannot remove %s: %m", a->path);
    case VK_ACTION_MOUNT:
        return undo_mount(a);
    case VK_ACTION_START_CGROUPFS:
        return cgroupfs_stop(a);
    default:
        return 0;
    }
}

/* Serializes apply and teardown between kig processes. The lock lives on the run dir itself, so it
 * leaves no file behind. */
static int lock_run_dir(const char *run_dir)
{
    int fd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return log_error_errno(errno, "cannot open the run dir %s: %m", run_dir);
    if (flock(fd, LOCK_EX) < 0 && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) {
        int r = log_error_errno(errno, "cannot lock the run dir %s: %m", run_dir);
        close(fd);
        return r;
    }
    return fd;
}

static bool same_plan(const struct vkernel_plan *a, const struct vkernel_plan *b)
{
    json_t *ja = NULL, *jb = NULL;
    bool same = vkernel_plan_to_json(a, false, &ja) == 0 && vkernel_plan_to_json(b, false, &jb) == 0 &&
                json_equal(ja, jb);
    json_decref(ja);
    json_decref(jb);
    return same;
}

static int copy_plan(const struct vkernel_plan *p, struct vkernel_plan **ret)
{
    json_t *j;
    int r = vkernel_plan_to_json(p, false, &j);
    if (r < 0)
        return r;
    r = vkernel_plan_from_json(j, ret);
    json_decref(j);
    return r;
}

static int teardown_locked(const char *run_dir);

/* /proc/stat's btime: when this kernel (or gVisor sandbox) started; 0 if unknown. */
static unsigned long long boot_time(void)
{
    _cleanup_free_ char *stat = NULL;
    if (read_file("/proc/stat", &stat, NULL, 0) < 0)
        return 0;
    const char *p = strstr(stat, "\nbtime ");
    return p ? strtoull(p + strlen("\nbtime "), NULL, 10) : 0;
}

static bool state_is_stale(const struct vkernel_plan *state)
{
    unsigned long long now = boot_time();
    return state->boot_time != 0 && now != 0 && state->boot_time != now;
}

/* A state file from an earlier boot: its mounts and its server are gone with that boot, and so is
 * everything it made outside the run dir (tmpfs, sysfs, procfs). What it left is kig's own files under
 * <run-dir>/vkernel, removed here by path, in reverse order. */
static int clear_stale_state(const char *run_dir, const struct vkernel_plan *state)
{
    _cleanup_free_ char *own = path_join(run_dir, VKERNEL_SUBDIR);
    if (!own)
        return -ENOMEM;
    size_t n = strlen(own);
    log_warn("%s/" VKERNEL_STATE_FILE " is from an earlier boot; clearing what it left in %s", run_dir, own);
    for (size_t i = state->n_actions; i > 0; i--) {
        const struct vk_action *a = &state->actions[i - 1];
        if (a->status == VK_PENDING || a->existed || strncmp(a->path, own, n) != 0 ||
            (a->path[n] != '/' && a->path[n] != '\0'))
            continue;
        if (a->type == VK_ACTION_MKDIR)
            (void)rmdir(a->path);
        else if (a->type == VK_ACTION_WRITE_FILE || a->type == VK_ACTION_SYMLINK)
            (void)unlink(a->path);
    }
    for (size_t i = 0; i < state->n_actions; i++)
        if (state->actions[i].type == VK_ACTION_START_CGROUPFS) {
            /* Its pid file and log (the process itself died with the old boot). */
            for (size_t k = 0; k + 1 < state->actions[i].n_args; k++)
                if (strcmp(state->actions[i].args[k], "--pidfile") == 0 ||
                    strcmp(state->actions[i].args[k], "--log") == 0)
                    (void)unlink(state->actions[i].args[k + 1]);
        }
    (void)rmdir(own);
    return vkernel_state_remove(run_dir);
}

static int apply_locked(const struct vkernel_plan *plan, const char *run_dir)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *state = NULL;
    int r = vkernel_state_load(run_dir, &state);
    if (r == -EBADMSG)
        return log_error_errno(
            r, "%s/" VKERNEL_STATE_FILE " is damaged; undo by hand what it lists, then remove it", run_dir);
    if (r < 0 && r != -ENOENT)
        return log_error_errno(r, "cannot read %s/" VKERNEL_STATE_FILE ": %m", run_dir);
    if (state && state_is_stale(state)) {
        r = clear_stale_state(run_dir, state);
        if (r < 0)
            return log_error_errno(r, "cannot clear the stale state in %s: %m", run_dir);
        vkernel_plan_free(state);
        state = NULL;
    }
    if (state && plan && !same_plan(state, plan))
        return log_error_errno(
            EEXIST,
            "a different virtual-kernel layout is applied in %s; run 'kig vkernel teardown "
            "--run-dir %s' first",
            run_dir, run_dir);
    if (!state) {
        if (!plan)
            return log_error_errno(ENOENT, "nothing is applied in %s and no plan was given", run_dir);
        r = copy_plan(plan, &state);
        if (r < 0)
            return log_error_errno(r, "cannot copy the plan: %m");
        state->boot_time = boot_time();
        r = vkernel_state_save(run_dir, state);
        if (r < 0)
            return log_error_errno(r, "cannot write %s/" VKERNEL_STATE_FILE ": %m", run_dir);
    }

    for (size_t i = 0; i < state->n_actions; i++) {
        struct vk_action *a = &state->actions[i];
        if (a->status == VK_DONE)
            continue;
        if (a->status == VK_PENDING) {
            r = action_prepare(a);
            if (r >= 0) {
                a->status = VK_STARTED;
                r = vkernel_state_save(run_dir, state);
                if (r < 0)
                    log_error_errno(r, "cannot record progress in %s: %m", run_dir);
            }
        }
        if (r >= 0)
            r = action_do(a, run_dir);
        if (r >= 0) {
            a->status = VK_DONE;
            r = vkernel_state_save(run_dir, state);
            if (r < 0)
                log_error_errno(r, "cannot record progress in %s: %m", run_dir);
        }
        if (r < 0) {
            /* Leave nothing half applied: undo what was done (the state file says what). */
            int k = vkernel_state_save(run_dir, state);
            if (k >= 0 && teardown_locked(run_dir) < 0)
                log_error(
                    "some of the layout could not be undone; 'kig vkernel teardown --run-dir %s' retries",
                    run_dir);
            return r;
        }
    }
    return 0;
}

int vkernel_apply(const struct vkernel_plan *plan, const char *run_dir)
{
    int r = mkdir_p(run_dir, 0755);
    if (r < 0)
        return log_error_errno(r, "cannot make the run dir %s: %m", run_dir);
    int lock = lock_run_dir(run_dir);
    if (lock < 0)
        return lock;
    r = apply_locked(plan, run_dir);
    close(lock);
    return r;
}

static int teardown_locked(const char *run_dir)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *state = NULL;
    int r = vkernel_state_load(run_dir, &state);
    if (r == -ENOENT)
        return 0; /* nothing applied */
    if (r < 0)
        return log_error_errno(r, "cannot read %s/" VKERNEL_STATE_FILE ": %m", run_dir);
    if (state_is_stale(state))
        return clear_stale_state(run_dir, state);

    int failed = 0;
    for (size_t i = state->n_actions; i > 0; i--) {
        struct vk_action *a = &state->actions[i - 1];
        if (a->status == VK_PENDING)
            continue;
        log_debug("undoing %s %s", vk_action_type_name(a->type), a->path);
        r = action_undo(a);
        if (r < 0) {
            /* Keep going: the rest may still come off, and the state file keeps what did not. */
            failed = failed ? failed : r;
            continue;
        }
        a->status = VK_PENDING;
        r = vkernel_state_save(run_dir, state);
        if (r < 0)
            return log_error_errno(r, "cannot record progress in %s: %m", run_dir);
    }
    if (failed < 0)
        return failed;
    r = vkernel_state_remove(run_dir);
    if (r < 0)
        return log_error_errno(r, "cannot remove %s/" VKERNEL_STATE_FILE ": %m", run_dir);
    return 0;
}

int vkernel_teardown(const char *run_dir)
{
    if (!is_dir(run_dir))
        return 0;
    int lock = lock_run_dir(run_dir);
    if (lock < 0)
        return lock;
    int r = teardown_locked(run_dir);
    close(lock);
    return r;
}
