/* The FUSE operations: path-based (libfuse's high-level API), dispatched to the emulated hierarchy or
 * to the real one underneath with the augmenting files added. */
#include "cgroupfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

pthread_mutex_t cgroupfs_lock = PTHREAD_MUTEX_INITIALIZER;

struct handle {
    int fd;        /* a real file (augmented mounts), else -1 */
    char *content; /* what a read returns: made at open */
    size_t len;
    int file;      /* emulated: file index; augmented: gap, or -1 for a real file */
    char *path;    /* emulated: looked up again at each write (the directory may be gone) */
    char *rel_dir; /* augmented */
    bool procs;    /* a real cgroup.procs or tasks: "0" means the writer */
};

static struct cgroupfs_mount *current_mount(void)
{
    return fuse_get_context()->private_data;
}

static void lock(void)
{
    pthread_mutex_lock(&cgroupfs_lock);
}

static void unlock(void)
{
    pthread_mutex_unlock(&cgroupfs_lock);
}

/* "/a/b" -> "a/b"; "/" -> "." */
static const char *rel_path(const char *path)
{
    while (*path == '/')
        path++;
    return *path ? path : ".";
}

/* Splits a relative path into its directory ("." at the top) and last name. */
static void split(const char *rel, char *dir, size_t size, const char **name)
{
    const char *slash = strrchr(rel, '/');
    if (!slash) {
        snprintf(dir, size, ".");
        *name = rel;
    } else {
        snprintf(dir, size, "%.*s", (int)(slash - rel), rel);
        *name = slash + 1;
    }
}

static void fill_file_stat(struct stat *st, unsigned mode, time_t t)
{
    memset(st, 0, sizeof(*st));
    st->st_mode = S_IFREG | mode;
    st->st_nlink = 1;
    st->st_size = CGROUPFS_FILE_SIZE;
    st->st_blksize = 4096;
    st->st_atime = st->st_mtime = st->st_ctime = t;
}

static int emu_getattr(struct cgroupfs_mount *m, const char *path, struct stat *st)
{
    struct cg_node *n;
    int file;
    int r = hier_lookup(m->hier, path, &n, &file);
    if (r < 0)
        return r;
    if (file >= 0) {
        fill_file_stat(st, hier_file_mode(m->hier, file), n->created);
        return 0;
    }
    memset(st, 0, sizeof(*st));
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2 + n->n_children;
    st->st_blksize = 4096;
    st->st_atime = st->st_mtime = st->st_ctime = n->created;
    return 0;
}

static int aug_getattr(struct cgroupfs_mount *m, const char *path, struct stat *st)
{
    const char *rel = rel_path(path);
    if (strcmp(rel, ".") != 0) {
        char dir[4096];
        const char *name;
        split(rel, dir, sizeof(dir), &name);
        int gap = augment_virtual(&m->aug, dir, name);
        if (gap >= 0) {
            struct stat dst;
            fill_file_stat(st, augment_mode(gap),
                           fstatat(m->aug.lowerfd, dir, &dst, 0) == 0 ? dst.st_mtime : 0);
            return 0;
        }
    }
    if (fstatat(m->aug.lowerfd, rel, st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (S_ISREG(st->st_mode))
        st->st_size = CGROUPFS_FILE_SIZE;
    return 0;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct cgroupfs_mount *m = current_mount();
    lock();
    int r = m->emulated ? emu_getattr(m, path, st) : aug_getattr(m, path, st);
    unlock();
    return r;
}

static int emu_readdir(struct cgroupfs_mount *m, const char *path, void *buf, fuse_fill_dir_t filler)
{
    struct cg_node *n;
    int file;
    int r = hier_lookup(m->hier, path, &n, &file);
    if (r < 0)
        return r;
    if (file >= 0)
        return -ENOTDIR;
    filler(buf, ".", NULL, 0, 0);
    filler(buf, "..", NULL, 0, 0);
    for (size_t i = 0; i < m->hier->n_files; i++)
        if (hier_file_present(m->hier, n, (int)i))
            filler(buf, m->hier->files[i].name, NULL, 0, 0);
    for (size_t i = 0; i < n->n_children; i++)
        filler(buf, n->children[i]->name, NULL, 0, 0);
    return 0;
}

static int aug_readdir(struct cgroupfs_mount *m, const char *path, void *buf, fuse_fill_dir_t filler)
{
    const char *rel = rel_path(path);
    int fd = openat(m->aug.lowerfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int r = -errno;
        close(fd);
        return r;
    }
    struct dirent *de;
    while ((de = readdir(d)))
        filler(buf, de->d_name, NULL, 0, 0);
    closedir(d);
    for (int g = 0; g < _CGROUP_GAP_MAX; g++)
        if (augment_serves(&m->aug, rel, g))
            filler(buf, cgroup_gap_file(g), NULL, 0, 0);
    return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    struct cgroupfs_mount *m = current_mount();
    lock();
    int r = m->emulated ? emu_readdir(m, path, buf, filler) : aug_readdir(m, path, buf, filler);
    unlock();
    return r;
}

static int op_mkdir(const char *path, mode_t mode)
{
    struct cgroupfs_mount *m = current_mount();
    lock();
    int r = m->emulated ? hier_mkdir(m->hier, path)
                        : (mkdirat(m->aug.lowerfd, rel_path(path), mode) < 0 ? -errno : 0);
    unlock();
    return r;
}

static int op_rmdir(const char *path)
{
    struct cgroupfs_mount *m = current_mount();
    lock();
    int r = m->emulated ? hier_rmdir(m->hier, path)
                        : (unlinkat(m->aug.lowerfd, rel_path(path), AT_REMOVEDIR) < 0 ? -errno : 0);
    unlock();
    return r;
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
    if (flags)
        return -EINVAL;
    struct cgroupfs_mount *m = current_mount();
    lock();
    int r = m->emulated
                ? hier_rename(m->hier, from, to)
                : (renameat(m->aug.lowerfd, rel_path(from), m->aug.lowerfd, rel_path(to)) < 0 ? -errno : 0);
    unlock();
    return r;
}

static void handle_free(struct handle *h)
{
    if (!h)
        return;
    if (h->fd >= 0)
        close(h->fd);
    free(h->content);
    free(h->path);
    free(h->rel_dir);
    free(h);
}

/* kernfs refuses to open for reading a file that cannot be read, and for writing one that cannot be
 * written, even for root. */
static int check_access(unsigned mode, int flags)
{
    int acc = flags & O_ACCMODE;
    if ((acc == O_RDONLY || acc == O_RDWR) && !(mode & 0444))
        return -EACCES;
    if ((acc == O_WRONLY || acc == O_RDWR) && !(mode & 0222))
        return -EACCES;
    return 0;
}

static bool wants_read(int flags)
{
    return (flags & O_ACCMODE) != O_WRONLY;
}

static int emu_open(struct cgroupfs_mount *m, const char *path, int flags, struct handle *h)
{
    struct cg_node *n;
    int r = hier_lookup(m->hier, path, &n, &h->file);
    if (r < 0)
        return r;
    if (h->file < 0)
        return -EISDIR;
    r = check_access(hier_file_mode(m->hier, h->file), flags);
    if (r < 0)
        return r;
    h->path = strdup(path);
    if (!h->path)
        return -ENOMEM;
    if (!wants_read(flags))
        return 0;
    r = hier_read(m->hier, n, h->file, &h->content);
    if (r == 0)
        h->len = strlen(h->content);
    return r;
}

static int aug_open(struct cgroupfs_mount *m, const char *path, int flags, struct handle *h)
{
    const char *rel = rel_path(path);
    char dir[4096];
    const char *name;
    split(rel, dir, sizeof(dir), &name);
    h->rel_dir = strdup(dir);
    if (!h->rel_dir)
        return -ENOMEM;
    h->file = augment_virtual(&m->aug, dir, name);
    if (h->file >= 0) {
        int r = check_access(augment_mode(h->file), flags);
        if (r < 0 || !wants_read(flags))
            return r;
        r = augment_read(&m->aug, dir, h->file, &h->content);
        if (r == 0)
            h->len = strlen(h->content);
        return r;
    }
    /* The kernel's file. O_TRUNC and O_CREAT mean nothing to cgroup files: not passed on. */
    h->fd =
        openat(m->aug.lowerfd, rel, (flags & (O_ACCMODE | O_NONBLOCK | O_APPEND)) | O_CLOEXEC | O_NOFOLLOW);
    if (h->fd < 0)
        return -errno;
    h->procs = strcmp(name, "cgroup.procs") == 0 || strcmp(name, "tasks") == 0;
    return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
    struct cgroupfs_mount *m = current_mount();
    struct handle *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->fd = -1;
    lock();
    int r = m->emulated ? emu_open(m, path, fi->flags, h) : aug_open(m, path, fi->flags, h);
    unlock();
    if (r < 0) {
        handle_free(h);
        return r;
    }
    fi->fh = (uint64_t)(uintptr_t)h;
    fi->direct_io = 1; /* contents change between reads: never cache them */
    return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct handle *h = (struct handle *)(uintptr_t)fi->fh;
    if (h->fd >= 0) {
        ssize_t n = pread(h->fd, buf, size, off);
        if (n < 0 && errno == ESPIPE)
            n = read(h->fd, buf, size);
        return n < 0 ? -errno : (int)n;
    }
    if (!h->content)
        return -EACCES;
    if (off < 0 || (size_t)off >= h->len)
        return 0;
    size_t n = h->len - (size_t)off < size ? h->len - (size_t)off : size;
    memcpy(buf, h->content + off, n);
    return (int)n;
}

/* Linux takes "0" in cgroup.procs or tasks as "the writer". The kernel underneath would take it as the
 * FUSE server itself, so it is replaced by the writer's pid. */
static int write_real(struct handle *h, const char *buf, size_t size, pid_t caller)
{
    char pidbuf[32];
    const char *data = buf;
    size_t len = size;
    if (h->procs) {
        size_t l = size;
        while (l > 0 && (buf[l - 1] == '\n' || buf[l - 1] == '\0' || buf[l - 1] == ' '))
            l--;
        if (l == 1 && buf[0] == '0') {
            len = (size_t)snprintf(pidbuf, sizeof(pidbuf), "%d", (int)caller);
            data = pidbuf;
        }
    }
    ssize_t n = write(h->fd, data, len);
    if (n < 0)
        return -errno;
    return (int)size;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct cgroupfs_mount *m = current_mount();
    struct handle *h = (struct handle *)(uintptr_t)fi->fh;
    pid_t caller = fuse_get_context()->pid;
    if (size > INT32_MAX)
        return -EINVAL;
    if (h->fd >= 0)
        return write_real(h, buf, size, caller);
    lock();
    int r;
    if (m->emulated) {
        struct cg_node *n;
        int file;
        r = hier_lookup(m->hier, h->path, &n, &file);
        if (r < 0 || file != h->file)
            r = -ENODEV; /* the directory was removed under the open file */
        else
            r = hier_write(m->hier, n, file, buf, size, caller);
    } else {
        r = augment_write(&m->aug, h->rel_dir, h->file, buf, size);
    }
    unlock();
    return r < 0 ? r : (int)size;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    handle_free((struct handle *)(uintptr_t)fi->fh);
    return 0;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    return 0; /* "> file" truncates first: cgroup files ignore it */
}

/* statfs says "not implemented", as gVisor says for cgroup files: kig-trace's statfs rule then answers
 * CGROUP_SUPER_MAGIC for anything under /sys/fs/cgroup, directories of these mounts included (runc checks
 * both), and no process is told a filesystem type that is not true. */
static int op_statfs(const char *path, struct statvfs *st)
{
    return -ENOSYS;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return -EACCES; /* cgroupfs directories hold only their own files */
}

static int op_unlink(const char *path)
{
    return -EPERM;
}

static int op_link(const char *from, const char *to)
{
    return -EPERM;
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct cgroupfs_mount *m = current_mount();
    if (m->emulated)
        return 0;
    return fchmodat(m->aug.lowerfd, rel_path(path), mode, 0) < 0 ? -errno : 0;
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    struct cgroupfs_mount *m = current_mount();
    if (m->emulated)
        return 0;
    return fchownat(m->aug.lowerfd, rel_path(path), uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    return 0;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    /* File contents always change behind the kernel's back (members, counters): never cached. An emulated
     * hierarchy's names and attributes change only through this mount, which the kernel sees (it drops
     * its entries on mkdir, rmdir, rename): caching them for a second saves most round trips (an open
     * costs a lookup per path component otherwise). An augmented one is the kernel's hierarchy, also
     * changed through other mounts: nothing cached. A missing name is never cached (a directory runc
     * makes must be there at once). */
    struct cgroupfs_mount *m = fuse_get_context()->private_data;
    cfg->entry_timeout = m->emulated ? 1.0 : 0;
    cfg->attr_timeout = m->emulated ? 1.0 : 0;
    cfg->negative_timeout = 0;
    cfg->direct_io = 1;
    cfg->kernel_cache = 0;
    return fuse_get_context()->private_data;
}

const struct fuse_operations cgroupfs_operations = {
    .init = op_init,
    .getattr = op_getattr,
    .readdir = op_readdir,
    .mkdir = op_mkdir,
    .rmdir = op_rmdir,
    .rename = op_rename,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .release = op_release,
    .truncate = op_truncate,
    .statfs = op_statfs,
    .create = op_create,
    .unlink = op_unlink,
    .link = op_link,
    .chmod = op_chmod,
    .chown = op_chown,
    .utimens = op_utimens,
};
