/* kig-cgroupfs: the FUSE server of kig's cgroup layout (docs/vkernel.md).
 *
 *   kig-cgroupfs [--emulate NAME=MOUNTPOINT]... [--augment NAME=MOUNTPOINT[:LOWER]]...
 *                [--pidfile PATH] [--log PATH] [--ready-fd FD]
 *
 * --emulate serves a controller the kernel lacks; --augment is mounted over the kernel's own hierarchy
 * already mounted at MOUNTPOINT (or at LOWER, then served at the empty MOUNTPOINT), passing everything
 * through and adding the files it lacks. One thread per
 * mount. It writes one byte to --ready-fd once every mount is in place, and runs until SIGTERM; `kig
 * vkernel teardown` unmounts the mount points before stopping it. */
#include "cgroupfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_MOUNTS 16

static FILE *log_file;

void cgroupfs_log(const char *fmt, ...)
{
    FILE *out = log_file ? log_file : stderr;
    char stamp[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm))
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    fprintf(out, "%s kig-cgroupfs[%d]: %s\n", stamp, (int)getpid(), message);
    fflush(out);
}

struct options {
    struct cgroupfs_mount mounts[MAX_MOUNTS];
    size_t n_mounts;
    const char *pidfile;
    const char *log;
    int ready_fd;
};

static int add_mount(struct options *o, const char *spec, bool emulated)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq[1] != '/') {
        fprintf(stderr, "kig-cgroupfs: error: '%s' is not NAME=/MOUNTPOINT\n", spec);
        return -EINVAL;
    }
    char name[32];
    snprintf(name, sizeof(name), "%.*s", (int)(eq - spec), spec);
    int c = cgroup_controller_from_name(name);
    if (c < 0) {
        fprintf(stderr, "kig-cgroupfs: error: unknown controller '%s'\n", name);
        return -EINVAL;
    }
    if (emulated && !cgroup_controller_emulatable(c)) {
        fprintf(stderr, "kig-cgroupfs: error: %s cannot be emulated (only a kernel has its figures)\n", name);
        return -EINVAL;
    }
    if (o->n_mounts == MAX_MOUNTS) {
        fprintf(stderr, "kig-cgroupfs: error: more than %d mounts\n", MAX_MOUNTS);
        return -E2BIG;
    }
    struct cgroupfs_mount *m = &o->mounts[o->n_mounts++];
    memset(m, 0, sizeof(*m));
    m->emulated = emulated;
    m->controller = c;
    m->aug.lowerfd = -1;
    m->mountpoint = strdup(eq + 1);
    if (!m->mountpoint)
        return -ENOMEM;
    char *colon = strchr(m->mountpoint, ':');
    if (colon) {
        /* NAME=MOUNTPOINT:LOWER: serve the real hierarchy mounted at LOWER on an empty MOUNTPOINT. */
        *colon = '\0';
        if (emulated || colon[1] != '/') {
            fprintf(stderr, "kig-cgroupfs: error: '%s': only --augment takes NAME=MOUNTPOINT:/LOWER\n", spec);
            return -EINVAL;
        }
        m->lower = colon + 1;
    }
    return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"emulate", required_argument, NULL, 'e'},
        {"augment", required_argument, NULL, 'a'},
        {"pidfile", required_argument, NULL, 'p'},
        {"log", required_argument, NULL, 'l'},
        {"ready-fd", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    o->ready_fd = -1;
    int c, r;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
        case 'a':
            r = add_mount(o, optarg, c == 'e');
            if (r < 0)
                return r;
            break;
        case 'p':
            o->pidfile = optarg;
            break;
        case 'l':
            o->log = optarg;
            break;
        case 'r':
            o->ready_fd = atoi(optarg);
            break;
        case 'h':
            printf(
                "usage: kig-cgroupfs [--emulate NAME=MOUNTPOINT]... [--augment NAME=MOUNTPOINT[:LOWER]]...\n"
                "                    [--pidfile PATH] [--log PATH] [--ready-fd FD]\n");
            exit(0);
        default:
            return -EINVAL;
        }
    }
    if (optind < argc || o->n_mounts == 0) {
        fprintf(stderr,
                "kig-cgroupfs: error: give at least one --emulate or --augment, and no other argument\n");
        return -EINVAL;
    }
    return 0;
}

/* "hugepages-2048kB" -> "2MB", as Linux names hugetlb files. */
static size_t hugetlb_sizes(char names[][32], size_t max)
{
    DIR *d = opendir("/sys/kernel/mm/hugepages");
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max) {
        unsigned long kb;
        if (sscanf(de->d_name, "hugepages-%lukB", &kb) != 1)
            continue;
        if (kb >= 1024 * 1024 && kb % (1024 * 1024) == 0)
            snprintf(names[n++], 32, "%luGB", kb / (1024 * 1024));
        else if (kb >= 1024 && kb % 1024 == 0)
            snprintf(names[n++], 32, "%luMB", kb / 1024);
        else
            snprintf(names[n++], 32, "%luKB", kb);
    }
    closedir(d);
    return n;
}

static int prepare(struct cgroupfs_mount *m)
{
    if (m->emulated) {
        char sizes[8][32];
        const char *ptrs[9] = {0};
        size_t n = m->controller == CGROUP_HUGETLB ? hugetlb_sizes(sizes, 8) : 0;
        for (size_t i = 0; i < n; i++)
            ptrs[i] = sizes[i];
        m->hier = hier_new(m->controller, ptrs);
        return m->hier ? 0 : -ENOMEM;
    }
    /* The real hierarchy, reachable after the FUSE mount covers it. */
    const char *lower = m->lower ? m->lower : m->mountpoint;
    int fd = open(lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int r = -errno;
        cgroupfs_log("cannot open %s (the real %s hierarchy): %s", lower,
                     cgroup_controller_name(m->controller), strerror(errno));
        return r;
    }
    augment_init(&m->aug, m->controller, fd);
    return 0;
}

static int mount_one(struct cgroupfs_mount *m)
{
    char opts[128];
    snprintf(opts, sizeof(opts), "allow_other,fsname=kig-cgroup-%s", cgroup_controller_name(m->controller));
    char *argv[] = {"kig-cgroupfs", "-o", opts, NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, argv);
    m->fuse = fuse_new(&args, &cgroupfs_operations, sizeof(cgroupfs_operations), m);
    fuse_opt_free_args(&args);
    if (!m->fuse) {
        cgroupfs_log("cannot set up FUSE for %s", m->mountpoint);
        return -EIO;
    }
    if (fuse_mount(m->fuse, m->mountpoint) < 0) {
        cgroupfs_log("cannot mount FUSE on %s", m->mountpoint);
        fuse_destroy(m->fuse);
        m->fuse = NULL;
        return -EIO;
    }
    return 0;
}

static void *serve(void *arg)
{
    struct cgroupfs_mount *m = arg;
    int r = fuse_loop(m->fuse);
    cgroupfs_log("%s: FUSE loop ended (%d)", m->mountpoint, r);
    return NULL;
}

static void unmount_all(struct options *o)
{
    for (size_t i = 0; i < o->n_mounts; i++)
        if (o->mounts[i].fuse)
            fuse_unmount(o->mounts[i].fuse);
}

static int write_pidfile(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return -errno;
    fprintf(f, "%d\n", (int)getpid());
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        int r = -errno;
        unlink(tmp);
        return r;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    if (parse_options(argc, argv, &o) < 0)
        return 2;
    if (o.log) {
        log_file = fopen(o.log, "ae");
        if (log_file) /* libfuse reports to stderr */
            dup2(fileno(log_file), STDERR_FILENO);
    }
    signal(SIGPIPE, SIG_IGN);

    /* Every thread inherits this mask; the main thread waits for the signals below. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    /* Open every real hierarchy before mounting anything over any of them. */
    for (size_t i = 0; i < o.n_mounts; i++)
        if (prepare(&o.mounts[i]) < 0)
            return 1;
    for (size_t i = 0; i < o.n_mounts; i++)
        if (mount_one(&o.mounts[i]) < 0) {
            unmount_all(&o);
            return 1;
        }
    if (o.pidfile && write_pidfile(o.pidfile) < 0)
        cgroupfs_log("cannot write %s: %s", o.pidfile, strerror(errno));
    for (size_t i = 0; i < o.n_mounts; i++) {
        if (pthread_create(&o.mounts[i].thread, NULL, serve, &o.mounts[i]) != 0) {
            cgroupfs_log("cannot start a thread for %s", o.mounts[i].mountpoint);
            unmount_all(&o);
            return 1;
        }
        o.mounts[i].thread_started = true;
    }
    cgroupfs_log("serving %zu mount points", o.n_mounts);
    if (o.ready_fd >= 0) {
        ssize_t w = write(o.ready_fd, "1", 1);
        (void)w;
        close(o.ready_fd);
    }

    int sig = 0;
    sigwait(&set, &sig);
    cgroupfs_log("signal %d: exiting", sig);
    if (o.pidfile)
        unlink(o.pidfile);
    /* kig unmounts the mount points before stopping this process; nothing here needs flushing. */
    _exit(0);
}
