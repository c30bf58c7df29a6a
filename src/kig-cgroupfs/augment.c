#include "augment.h"
#include "procinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void augment_init(struct augment *a, enum cgroup_controller c, int lowerfd)
{
    *a = (struct augment){.controller = c, .lowerfd = lowerfd};
}

void augment_done(struct augment *a)
{
    for (size_t i = 0; i < a->n_maxes; i++)
        free(a->maxes[i].rel);
    free(a->maxes);
    a->maxes = NULL;
    a->n_maxes = 0;
}

static void join(char *buf, size_t size, const char *rel_dir, const char *name)
{
    if (strcmp(rel_dir, ".") == 0)
        snprintf(buf, size, "%s", name);
    else
        snprintf(buf, size, "%s/%s", rel_dir, name);
}

bool augment_serves(const struct augment *a, const char *rel_dir, int gap)
{
    if (gap < 0 || gap >= _CGROUP_GAP_MAX || cgroup_gap_controller(gap) != a->controller)
        return false;
    struct stat st;
    if (fstatat(a->lowerfd, rel_dir, &st, 0) < 0 || !S_ISDIR(st.st_mode))
        return false;
    char path[4096];
    join(path, sizeof(path), rel_dir, cgroup_gap_file(gap));
    return fstatat(a->lowerfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

int augment_virtual(const struct augment *a, const char *rel_dir, const char *name)
{
    for (int g = 0; g < _CGROUP_GAP_MAX; g++)
        if (strcmp(cgroup_gap_file(g), name) == 0)
            return augment_serves(a, rel_dir, g) ? g : -1;
    return -1;
}

unsigned augment_mode(int gap)
{
    switch (gap) {
    case CGROUP_GAP_MEMORY_MAX_USAGE:
    case CGROUP_GAP_MEMORY_FAILCNT:
    case CGROUP_GAP_MEMORY_USE_HIERARCHY:
        return 0644;
    default:
        return 0444;
    }
}

int augment_read_real(const struct augment *a, const char *rel_dir, const char *name, char **ret)
{
    char path[4096];
    join(path, sizeof(path), rel_dir, name);
    int fd = openat(a->lowerfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    int r = buf ? 0 : -ENOMEM;
    while (r == 0) {
        if (len == cap) {
            char *n = cap < (16u << 20) ? realloc(buf, cap * 2 + 1) : NULL;
            if (!n) {
                r = -ENOMEM;
                break;
            }
            buf = n;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
        } else if (got == 0) {
            break;
        } else {
            len += (size_t)got;
        }
    }
    close(fd);
    if (r < 0) {
        free(buf);
        return r;
    }
    buf[len] = '\0';
    *ret = buf;
    return 0;
}

static int read_real_u64(const struct augment *a, const char *rel_dir, const char *name,
                         unsigned long long *ret)
{
    char *text;
    int r = augment_read_real(a, rel_dir, name, &text);
    if (r < 0)
        return r;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    r = errno || end == text ? -EIO : 0;
    free(text);
    if (r == 0)
        *ret = v;
    return r;
}

struct out {
    char *data;
    size_t len, cap;
    bool failed;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        o->failed = true;
        return;
    }
    if (o->len + (size_t)n + 1 > o->cap) {
        size_t cap = (o->cap + (size_t)n + 1) * 2;
        char *d = realloc(o->data, cap);
        if (!d) {
            o->failed = true;
            return;
        }
        o->data = d;
        o->cap = cap;
    }
    memcpy(o->data + o->len, line, (size_t)n + 1);
    o->len += (size_t)n;
}

static int out_finish(struct out *o, char **ret)
{
    if (!o->data && !o->failed)
        out_printf(o, "%s", "");
    if (o->failed) {
        free(o->data);
        return -ENOMEM;
    }
    *ret = o->data;
    return 0;
}

/* The sum of VmRSS over the members of rel_dir, and over its whole subtree when recursive. */
static unsigned long long rss_of(const struct augment *a, const char *rel_dir, bool recursive, int depth)
{
    unsigned long long sum = 0;
    char *procs;
    if (augment_read_real(a, rel_dir, "cgroup.procs", &procs) == 0) {
        for (char *p = procs; *p;) {
            long pid = strtol(p, &p, 10);
            if (pid > 0)
                sum += proc_rss_bytes((pid_t)pid);
            while (*p == '\n' || *p == ' ')
                p++;
            if (*p && (*p < '0' || *p > '9'))
                break;
        }
        free(procs);
    }
    if (!recursive || depth > 32)
        return sum;
    int fd = openat(a->lowerfd, rel_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return sum;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char child[4096];
        join(child, sizeof(child), rel_dir, de->d_name);
        struct stat st;
        if (fstatat(a->lowerfd, child, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            sum += rss_of(a, child, true, depth + 1);
    }
    closedir(d);
    return sum;
}

/* The smallest memory.limit_in_bytes from rel_dir up to the root. */
static unsigned long long hierarchical_limit(const struct augment *a, const char *rel_dir)
{
    unsigned long long limit = UINT64_MAX;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", rel_dir);
    for (;;) {
        unsigned long long v;
        if (read_real_u64(a, dir, "memory.limit_in_bytes", &v) == 0 && v < limit)
            limit = v;
        if (strcmp(dir, ".") == 0)
            break;
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof(dir), ".");
    }
    return limit;
}

static const struct {
    const char *stat;
    const char *meminfo;
} root_fields[] = {
    {"cache", "Cached"},
    {"rss", "AnonPages"},
    {"rss_huge", "AnonHugePages"},
    {"shmem", "Shmem"},
    {"mapped_file", "Mapped"},
    {"dirty", "Dirty"},
    {"writeback", "Writeback"},
    {"inactive_anon", "Inactive(anon)"},
    {"active_anon", "Active(anon)"},
    {"inactive_file", "Inactive(file)"},
    {"active_file", "Active(file)"},
    {"unevictable", "Unevictable"},
};

static int memory_stat(const struct augment *a, const char *rel_dir, char **ret)
{
    struct out o = {0};
    unsigned long long limit = hierarchical_limit(a, rel_dir);
    if (strcmp(rel_dir, ".") == 0) {
        /* The root cgroup holds every process of the sandbox: the sandbox's own figures are its figures. */
        unsigned long long values[sizeof(root_fields) / sizeof(root_fields[0])];
        bool have[sizeof(root_fields) / sizeof(root_fields[0])];
        for (size_t i = 0; i < sizeof(root_fields) / sizeof(root_fields[0]); i++) {
            have[i] = proc_meminfo(root_fields[i].meminfo, &values[i]) == 0;
            if (have[i])
                out_printf(&o, "%s %llu\n", root_fields[i].stat, values[i]);
        }
        out_printf(&o, "hierarchical_memory_limit %llu\n", limit);
        for (size_t i = 0; i < sizeof(root_fields) / sizeof(root_fields[0]); i++)
            if (have[i])
                out_printf(&o, "total_%s %llu\n", root_fields[i].stat, values[i]);
    } else {
        out_printf(&o, "rss %llu\n", rss_of(a, rel_dir, false, 0));
        out_printf(&o, "hierarchical_memory_limit %llu\n", limit);
        out_printf(&o, "total_rss %llu\n", rss_of(a, rel_dir, true, 0));
    }
    return out_finish(&o, ret);
}

static struct max_usage *max_entry(struct augment *a, const char *rel_dir)
{
    for (size_t i = 0; i < a->n_maxes; i++)
        if (strcmp(a->maxes[i].rel, rel_dir) == 0)
            return &a->maxes[i];
    struct max_usage *n = realloc(a->maxes, (a->n_maxes + 1) * sizeof(*n));
    if (!n)
        return NULL;
    a->maxes = n;
    char *rel = strdup(rel_dir);
    if (!rel)
        return NULL;
    a->maxes[a->n_maxes] = (struct max_usage){.rel = rel};
    return &a->maxes[a->n_maxes++];
}

int augment_read(struct augment *a, const char *rel_dir, int gap, char **ret)
{
    struct out o = {0};
    switch (gap) {
    case CGROUP_GAP_CPUACCT_USAGE_PERCPU:
        out_printf(&o, "\n");
        break;
    case CGROUP_GAP_PIDS_MAX:
        out_printf(&o, "max\n");
        break;
    case CGROUP_GAP_MEMORY_STAT:
        return memory_stat(a, rel_dir, ret);
    case CGROUP_GAP_MEMORY_MAX_USAGE: {
        unsigned long long usage = 0;
        int r = read_real_u64(a, rel_dir, "memory.usage_in_bytes", &usage);
        if (r < 0)
            return r;
        struct max_usage *m = max_entry(a, rel_dir);
        if (!m)
            return -ENOMEM;
        if (usage > m->max)
            m->max = usage;
        out_printf(&o, "%llu\n", m->max);
        break;
    }
    case CGROUP_GAP_MEMORY_FAILCNT:
        out_printf(&o, "0\n");
        break;
    case CGROUP_GAP_MEMORY_USE_HIERARCHY:
        out_printf(&o, "1\n");
        break;
    default:
        return -ENOENT;
    }
    return out_finish(&o, ret);
}

static bool is_zero(const char *data, size_t len)
{
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
        len--;
    return len == 1 && data[0] == '0';
}

int augment_write(struct augment *a, const char *rel_dir, int gap, const char *data, size_t len)
{
    switch (gap) {
    case CGROUP_GAP_MEMORY_MAX_USAGE: {
        if (!is_zero(data, len))
            return -EINVAL;
        unsigned long long usage = 0;
        int r = read_real_u64(a, rel_dir, "memory.usage_in_bytes", &usage);
        if (r < 0)
            return r;
        struct max_usage *m = max_entry(a, rel_dir);
        if (!m)
            return -ENOMEM;
        m->max = usage; /* as Linux: the maximum restarts from the current usage */
        return 0;
    }
    case CGROUP_GAP_MEMORY_FAILCNT:
        return is_zero(data, len) ? 0 : -EINVAL;
    case CGROUP_GAP_MEMORY_USE_HIERARCHY:
        while (len > 0 && data[len - 1] == '\n')
            len--;
        return len == 1 && data[0] == '1' ? 0 : -EINVAL;
    default:
        return -EACCES;
    }
}
