#include "rootfs-mounts.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"
#include "mount-untrapped.h"
#include "mountinfo.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define MAX_SYMLINKS 40

/* ---- resolving paths inside the rootfs ---- */

struct resolver {
    char *cur;       /* the host path resolved so far; "" stands for "/" when the rootfs is "/" */
    size_t root_len; /* cur[0..root_len) is the rootfs and is never left */
    char *rest;      /* what is left to resolve */
    size_t pos;      /* in rest */
};

static int set_rest(struct resolver *s, const char *head, const char *tail)
{
    char *n = NULL;
    if (asprintf(&n, "%s/%s", head, tail) < 0)
        return -ENOMEM;
    free(s->rest);
    s->rest = n;
    s->pos = 0;
    return 0;
}

static int append_component(struct resolver *s, const char *comp)
{
    char *n = NULL;
    if (asprintf(&n, "%s/%s", s->cur, comp) < 0)
        return -ENOMEM;
    free(s->cur);
    s->cur = n;
    return 0;
}

static int create_missing(const char *path, bool last, enum resolve_create create)
{
    if (last && create == RESOLVE_CREATE_FILE) {
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            return negative_errno();
        if (fd >= 0)
            close(fd);
        return 0;
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return negative_errno();
    return 0;
}

static int resolve_step(struct resolver *s, enum resolve_create create, int *links)
{
    const char *p = s->rest + s->pos;
    while (*p == '/')
        p++;
    size_t len = strcspn(p, "/");
    const char *after = p + len;
    s->pos = (size_t)(after - s->rest);
    if (len > NAME_MAX)
        return -ENAMETOOLONG;
    char comp[NAME_MAX + 1];
    memcpy(comp, p, len);
    comp[len] = '\0';
    bool last = after[strspn(after, "/")] == '\0';

    if (strcmp(comp, ".") == 0)
        return 0;
    if (strcmp(comp, "..") == 0) {
        char *slash = strrchr(s->cur, '/');
        if (slash && (size_t)(slash - s->cur) >= s->root_len)
            *slash = '\0';
        return 0;
    }
    _cleanup_free_ char *next = NULL;
    if (asprintf(&next, "%s/%s", s->cur, comp) < 0)
        return -ENOMEM;
    struct stat st;
    if (lstat(next, &st) < 0) {
        if (errno != ENOENT || create == RESOLVE_NO_CREATE)
            return negative_errno();
        int r = create_missing(next, last, create);
        if (r < 0)
            return r;
        return append_component(s, comp);
    }
    if (S_ISLNK(st.st_mode)) {
        if (++*links > MAX_SYMLINKS)
            return -ELOOP;
        char target[PATH_MAX];
        ssize_t n = readlink(next, target, sizeof(target) - 1);
        if (n < 0)
            return negative_errno();
        target[n] = '\0';
        /* An absolute target starts again at the rootfs, as it would inside the container. */
        if (target[0] == '/')
            s->cur[s->root_len] = '\0';
        _cleanup_free_ char *tail = strdup(after);
        return tail ? set_rest(s, target, tail) : -ENOMEM;
    }
    if (!last && !S_ISDIR(st.st_mode))
        return -ENOTDIR;
    return append_component(s, comp);
}

int rootfs_resolve(const char *rootfs, const char *path, enum resolve_create create, char **ret)
{
    struct resolver s = {.cur = strdup(rootfs), .rest = strdup(path)};
    int r = 0;
    if (!s.cur || !s.rest) {
        r = -ENOMEM;
        goto out;
    }
    s.root_len = strlen(s.cur);
    while (s.root_len > 0 && s.cur[s.root_len - 1] == '/')
        s.cur[--s.root_len] = '\0';
    int links = 0;
    while (s.rest[s.pos + strspn(s.rest + s.pos, "/")] != '\0')
        if ((r = resolve_step(&s, create, &links)) < 0)
            goto out;
    if (s.cur[0] == '\0') {
        free(s.cur);
        s.cur = strdup("/");
        if (!s.cur) {
            r = -ENOMEM;
            goto out;
        }
    }
    *ret = TAKE_PTR(s.cur);
out:
    free(s.cur);
    free(s.rest);
    return r;
}

/* ---- mount options ---- */

int mount_options_parse(const json_t *options, unsigned long *ret_flags, char **ret_data)
{
    static const struct {
        const char *name;
        bool clear;
        unsigned long flag;
    } table[] = {
        {"ro", false, MS_RDONLY},
        {"rw", true, MS_RDONLY},
        {"nosuid", false, MS_NOSUID},
        {"suid", true, MS_NOSUID},
        {"nodev", false, MS_NODEV},
        {"dev", true, MS_NODEV},
        {"noexec", false, MS_NOEXEC},
        {"exec", true, MS_NOEXEC},
        {"sync", false, MS_SYNCHRONOUS},
        {"async", true, MS_SYNCHRONOUS},
        {"dirsync", false, MS_DIRSYNC},
        {"mand", false, MS_MANDLOCK},
        {"nomand", true, MS_MANDLOCK},
        {"noatime", false, MS_NOATIME},
        {"atime", true, MS_NOATIME},
        {"nodiratime", false, MS_NODIRATIME},
        {"diratime", true, MS_NODIRATIME},
        {"relatime", false, MS_RELATIME},
        {"norelatime", true, MS_RELATIME},
        {"strictatime", false, MS_STRICTATIME},
        {"nostrictatime", true, MS_STRICTATIME},
        {"bind", false, MS_BIND},
        {"rbind", false, MS_BIND | MS_REC},
    };
    static const char *const ignored[] = {"private", "rprivate",   "shared",      "rshared", "slave",
                                          "rslave",  "unbindable", "runbindable", "remount", "tmpcopyup"};
    unsigned long flags = 0;
    _cleanup_free_ char *data = NULL;
    size_t i;
    const json_t *o;
    json_array_foreach(options, i, o)
    {
        const char *name = json_string_value(o);
        if (!name)
            continue;
        bool known = false;
        for (size_t k = 0; k < ARRAY_SIZE(table) && !known; k++)
            if (strcmp(name, table[k].name) == 0) {
                flags = table[k].clear ? flags & ~table[k].flag : flags | table[k].flag;
                known = true;
            }
        for (size_t k = 0; k < ARRAY_SIZE(ignored) && !known; k++)
            known = strcmp(name, ignored[k]) == 0;
        if (known)
            continue;
        char *n = NULL;
        if (asprintf(&n, "%s%s%s", data ? data : "", data ? "," : "", name) < 0)
            return -ENOMEM;
        free(data);
        data = n;
    }
    *ret_flags = flags;
    *ret_data = TAKE_PTR(data);
    return 0;
}

/* ---- performing the plan ---- */

static int record(json_t *list, const char *path)
{
    return json_array_append_new(list, json_string(path)) < 0 ? log_error_errno(ENOMEM, "out of memory") : 0;
}

static int do_mount(const char *source, const char *target, const char *type, unsigned long flags,
                    const char *data, json_t *mounted)
{
    if (mount_untrapped(source, target, type, flags, data) < 0)
        return log_error_errno(errno, "cannot mount %s (%s) on %s: %m", source, type ? type : "bind", target);
    return record(mounted, target);
}

#define BIND_REMOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int mount_bind(const char *source, const char *target, unsigned long flags, json_t *mounted)
{
    int r = do_mount(source, target, NULL, MS_BIND | (flags & MS_REC), NULL, mounted);
    if (r < 0 || !(flags & BIND_REMOUNT_FLAGS))
        return r;
    /* A bind takes its flags only from a remount. Where that is refused, spec_rewrite already dropped "ro";
     * nosuid/nodev/noexec then stay as the source has them. */
    if (mount_untrapped(NULL, target, NULL, MS_REMOUNT | MS_BIND | (flags & BIND_REMOUNT_FLAGS), NULL) < 0)
        log_debug("remount of %s with its flags refused (%m); left as bound", target);
    return 0;
}

static int resolve_target(const char *rootfs, const char *dest, enum resolve_create create, char **ret)
{
    int r = rootfs_resolve(rootfs, dest, create, ret);
    if (r < 0)
        return log_error_errno(r, "cannot create mount point %s in %s: %m", dest, rootfs);
    return 0;
}

static bool is_hierarchy_dir(const struct mount_entry *e, const char *rootfs)
{
    const char *slash = strrchr(e->mount_point, '/');
    return slash && slash != e->mount_point && strncmp(e->mount_point, "/sys/fs/cgroup/", 15) == 0 &&
           strchr(e->mount_point + 15, '/') == NULL && strcmp(e->root, "/") == 0 &&
           !path_is_below(e->mount_point, rootfs);
}

/* The container's own cgroup directory in one hierarchy, created now (the runtime will find it there) so
 * that it can be bound into the container as the hierarchy's root, as runc does on cgroup v1. */
static int cgroup_source(const char *hierarchy, const char *cgroups_path, json_t *cgroup_dirs, char **ret)
{
    if (!cgroups_path || cgroups_path[0] != '/')
        return (*ret = strdup(hierarchy)) ? 0 : -ENOMEM;
    _cleanup_free_ char *dir = path_join(hierarchy, cgroups_path);
    if (!dir)
        return -ENOMEM;
    if (!is_dir(dir)) {
        int r = mkdir_p(dir, 0755);
        if (r < 0)
            return log_error_errno(r, "cannot create cgroup %s: %m", dir);
        if ((r = record(cgroup_dirs, dir)) < 0)
            return r;
    }
    *ret = TAKE_PTR(dir);
    return 0;
}

static int mount_cgroup(const char *rootfs, const char *dest, unsigned long flags, const char *cgroups_path,
                        json_t *mounted, json_t *cgroup_dirs)
{
    _cleanup_free_ char *target = NULL;
    int r = resolve_target(rootfs, dest, RESOLVE_CREATE_DIR, &target);
    if (r < 0)
        return r;
    struct mount_table t;
    if ((r = mount_table_read(&t)) < 0)
        return log_error_errno(r, "cannot read /proc/self/mountinfo: %m");
    for (size_t i = 0; i < t.n && r >= 0; i++)
        if (strcmp(t.entries[i].fstype, "cgroup2") == 0 &&
            strcmp(t.entries[i].mount_point, "/sys/fs/cgroup") == 0) {
            _cleanup_free_ char *src = NULL;
            if ((r = cgroup_source(t.entries[i].mount_point, cgroups_path, cgroup_dirs, &src)) >= 0)
                r = mount_bind(src, target, flags, mounted);
            mount_table_free(&t);
            return r;
        }
    r = do_mount("cgroup", target, "tmpfs", flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC), "mode=755", mounted);
    for (size_t i = 0; i < t.n && r >= 0; i++) {
        const struct mount_entry *e = &t.entries[i];
        if (strcmp(e->fstype, "cgroup") != 0 || !is_hierarchy_dir(e, rootfs))
            continue;
        _cleanup_free_ char *sub = path_join(target, strrchr(e->mount_point, '/') + 1), *src = NULL;
        if (!sub) {
            r = -ENOMEM;
            break;
        }
        if (is_dir(sub))
            continue; /* a hierarchy mounted twice */
        if (mkdir(sub, 0755) < 0) {
            r = log_error_errno(errno, "cannot create %s: %m", sub);
            break;
        }
        if ((r = cgroup_source(e->mount_point, cgroups_path, cgroup_dirs, &src)) >= 0)
            r = do_mount(src, sub, NULL, MS_BIND, NULL, mounted);
    }
    mount_table_free(&t);
    return r;
}

static int mount_one(const json_t *m, const char *rootfs, const char *bundle, const char *cgroups_path,
                     json_t *mounted, json_t *cgroup_dirs)
{
    const char *dest = json_string_value(json_object_get(m, "destination"));
    const char *type = json_string_value(json_object_get(m, "type"));
    const char *source = json_string_value(json_object_get(m, "source"));
    if (!dest)
        return log_error_errno(EINVAL, "config.json: a mount has no destination");
    unsigned long flags;
    _cleanup_free_ char *data = NULL;
    const json_t *options = json_object_get(m, "options");
    if (mount_options_parse(json_is_array(options) ? options : NULL, &flags, &data) < 0)
        return log_error_errno(ENOMEM, "out of memory");
    if (type && strcmp(type, "cgroup") == 0)
        return mount_cgroup(rootfs, dest, flags, cgroups_path, mounted, cgroup_dirs);

    _cleanup_free_ char *target = NULL;
    int r;
    if ((flags & MS_BIND) || (type && strcmp(type, "bind") == 0)) {
        if (!source)
            return log_error_errno(EINVAL, "config.json: the bind mount on %s has no source", dest);
        _cleanup_free_ char *src = source[0] == '/' ? strdup(source) : path_join(bundle, source);
        if (!src)
            return log_error_errno(ENOMEM, "out of memory");
        struct stat st;
        if (stat(src, &st) < 0)
            return log_error_errno(errno, "bind mount source %s for %s: %m", src, dest);
        if ((r = resolve_target(rootfs, dest, S_ISDIR(st.st_mode) ? RESOLVE_CREATE_DIR : RESOLVE_CREATE_FILE,
                                &target)) < 0)
            return r;
        return mount_bind(src, target, flags, mounted);
    }
    if ((r = resolve_target(rootfs, dest, RESOLVE_CREATE_DIR, &target)) < 0)
        return r;
    return do_mount(source ? source : (type ? type : "none"), target, type, flags, data, mounted);
}

static int mask_path(const char *rootfs, const char *path, json_t *mounted)
{
    _cleanup_free_ char *target = NULL;
    int r = rootfs_resolve(rootfs, path, RESOLVE_NO_CREATE, &target);
    if (r == -ENOENT || r == -ENOTDIR)
        return 0;
    if (r < 0)
        return log_error_errno(r, "cannot resolve masked path %s: %m", path);
    struct stat st;
    if (stat(target, &st) < 0)
        return 0;
    if (S_ISDIR(st.st_mode))
        return do_mount("tmpfs", target, "tmpfs", MS_RDONLY, "mode=755", mounted);
    return do_mount("/dev/null", target, NULL, MS_BIND, NULL, mounted);
}

static int readonly_path(const char *rootfs, const char *path, json_t *mounted)
{
    _cleanup_free_ char *target = NULL;
    int r = rootfs_resolve(rootfs, path, RESOLVE_NO_CREATE, &target);
    if (r == -ENOENT || r == -ENOTDIR)
        return 0;
    if (r < 0)
        return log_error_errno(r, "cannot resolve read-only path %s: %m", path);
    if ((r = do_mount(target, target, NULL, MS_BIND, NULL, mounted)) < 0)
        return r;
    if (mount_untrapped(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
        return log_error_errno(errno, "cannot make %s read-only: %m", target);
    return 0;
}

/* The sandbox's own device node, bound in; mknod where the sandbox has none (often refused: logged). */
static int provide_device(const char *rootfs, const json_t *d, json_t *mounted)
{
    const char *path = json_string_value(json_object_get(d, "path"));
    const char *type = json_string_value(json_object_get(d, "type"));
    if (!path || !type)
        return 0;
    _cleanup_free_ char *target = NULL;
    int r = resolve_target(rootfs, path, RESOLVE_CREATE_FILE, &target);
    if (r < 0)
        return r;
    struct stat st;
    if (stat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
        return do_mount(path, target, NULL, MS_BIND, NULL, mounted);
    mode_t kind = type[0] == 'b' ? S_IFBLK : type[0] == 'p' ? S_IFIFO : S_IFCHR;
    dev_t dev = makedev((unsigned)json_integer_value(json_object_get(d, "major")),
                        (unsigned)json_integer_value(json_object_get(d, "minor")));
    (void)unlink(target);
    if (mknod(target, kind | 0666, dev) < 0)
        log_warn("device %s not provided: the sandbox has none and refuses mknod (%m)", path);
    return 0;
}

static int apply_paths(const json_t *plan, const char *key, const char *rootfs, json_t *mounted,
                       int (*fn)(const char *, const char *, json_t *))
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(plan, key), i, p)
    {
        if (!json_is_string(p))
            continue;
        int r = fn(rootfs, json_string_value(p), mounted);
        if (r < 0)
            return r;
    }
    return 0;
}

int rootfs_mounts_apply(const json_t *plan, const char *rootfs, const char *bundle, const char *cgroups_path,
                        json_t *mounted, json_t *cgroup_dirs)
{
    bool root_ro = json_is_true(json_object_get(plan, "rootReadonly"));
    int r;
    /* The rootfs becomes a mount of its own first, so that it can be made read-only last. */
    if (root_ro && (r = do_mount(rootfs, rootfs, NULL, MS_BIND, NULL, mounted)) < 0)
        return r;
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(plan, "mounts"), i, m)
    {
        if ((r = mount_one(m, rootfs, bundle, cgroups_path, mounted, cgroup_dirs)) < 0)
            return r;
    }
    json_array_foreach(json_object_get(plan, "devices"), i, m)
    {
        if ((r = provide_device(rootfs, m, mounted)) < 0)
            return r;
    }
    if ((r = apply_paths(plan, "maskedPaths", rootfs, mounted, mask_path)) < 0 ||
        (r = apply_paths(plan, "readonlyPaths", rootfs, mounted, readonly_path)) < 0)
        return r;
    if (root_ro && mount_untrapped(NULL, rootfs, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
        return log_error_errno(errno, "cannot make the rootfs %s read-only: %m", rootfs);
    return 0;
}

static bool unmount_one(const char *path)
{
    if (umount2(path, MNT_DETACH) == 0 || errno == EINVAL || errno == ENOENT)
        return true;
    log_warn("cannot unmount %s: %m", path);
    return false;
}

unsigned rootfs_mounts_undo(const json_t *mounted)
{
    unsigned failed = 0;
    for (size_t i = json_array_size(mounted); i > 0; i--) {
        const char *p = json_string_value(json_array_get(mounted, i - 1));
        if (p && !unmount_one(p))
            failed++;
    }
    return failed;
}

struct below {
    const char *path;
    size_t order;
};

static int deepest_first(const void *a, const void *b)
{
    const struct below *x = a, *y = b;
    size_t lx = strlen(x->path), ly = strlen(y->path);
    if (lx != ly)
        return lx > ly ? -1 : 1;
    return x->order > y->order ? -1 : x->order < y->order ? 1 : 0;
}

/* One pass over a mount table: returns the mounts removed (>= 0) and sets *ret_missed to the listed mount
 * points that were no longer mount points (hidden under a mount made on a parent later: a new table shows
 * them once the parent is gone), or -EBUSY. */
static int unmount_below_pass(const struct mount_table *t, const char *dir, size_t *ret_missed)
{
    _cleanup_free_ struct below *list = calloc(t->n ? t->n : 1, sizeof(*list));
    if (!list)
        return log_error_errno(ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (path_is_below(t->entries[i].mount_point, dir))
            list[n++] = (struct below){t->entries[i].mount_point, i};
    qsort(list, n, sizeof(*list), deepest_first);
    int removed = 0;
    size_t stuck = 0, missed = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(list[i].path, list[i - 1].path) == 0)
            continue; /* stacked on one path: the loop below took them all */
        /* Until the path is no mount point: mounts stacked on it go one by one, without another read of
         * the mount table (slow in gVisor when many containers run). */
        int here = 0;
        while (here < 64 && umount2(list[i].path, MNT_DETACH) == 0)
            here++;
        if (here == 0 && (errno == EINVAL || errno == ENOENT))
            missed++;
        else if (here == 0)
            stuck++;
        removed += here;
    }
    *ret_missed = missed;
    if (stuck)
        return log_error_errno(EBUSY, "%zu mounts under %s cannot be unmounted", stuck, dir);
    return removed;
}

int unmount_below_from(const struct mount_table *table, const char *dir)
{
    int removed = 0;
    for (int pass = 0; pass < 16; pass++) {
        struct mount_table t = {0};
        int r = 0;
        if (pass > 0 || !table) {
            if ((r = mount_table_read(&t)) < 0)
                return log_error_errno(r, "cannot read /proc/self/mountinfo: %m");
        }
        size_t missed = 0;
        r = unmount_below_pass(pass > 0 || !table ? &t : table, dir, &missed);
        mount_table_free(&t);
        if (r < 0)
            return r;
        removed += r;
        if (missed == 0 || r == 0)
            break;
    }
    return removed;
}

int unmount_below(const char *dir)
{
    return unmount_below_from(NULL, dir);
}
