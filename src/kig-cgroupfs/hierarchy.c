/* The tree and the files of an emulated hierarchy. */
#include "hierarchy.h"
#include "procinfo.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HUGETLB_NO_LIMIT "9223372036854771712" /* what Linux shows for an unlimited hugetlb cgroup */

static const struct {
    const char *name;
    enum efile_kind kind;
} kinds[] = {
    {"cgroup.procs", EF_PROCS},
    {"tasks", EF_TASKS},
    {"cgroup.clone_children", EF_BOOL},
    {"notify_on_release", EF_BOOL},
    {"release_agent", EF_VALUE},
    {"cgroup.sane_behavior", EF_VALUE},
    {"devices.allow", EF_DEVICES_ALLOW},
    {"devices.deny", EF_DEVICES_DENY},
    {"devices.list", EF_DEVICES_LIST},
    {"freezer.state", EF_FREEZER_STATE},
    {"freezer.self_freezing", EF_FREEZER_SELF},
    {"freezer.parent_freezing", EF_FREEZER_PARENT},
    {"blkio.weight", EF_WEIGHT},
    {"blkio.leaf_weight", EF_WEIGHT},
    {"blkio.reset_stats", EF_RESET},
    {"net_cls.classid", EF_CLASSID},
    {"net_prio.prioidx", EF_PRIOIDX},
    {"net_prio.ifpriomap", EF_IFPRIOMAP},
};

static enum efile_kind kind_of(const char *name)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kinds[i].name, name) == 0)
            return kinds[i].kind;
    size_t len = strlen(name);
    if (len > 7 && strcmp(name + len - 7, "_device") == 0)
        return EF_DEVMAP;
    return EF_VALUE;
}

static int add_file(struct hierarchy *h, const char *name, enum efile_kind kind, unsigned flags,
                    const char *initial)
{
    struct efile *nv = realloc(h->files, (h->n_files + 1) * sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    h->files = nv;
    struct efile *f = &h->files[h->n_files++];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    snprintf(f->initial, sizeof(f->initial), "%s", initial ? initial : "");
    f->kind = kind;
    f->flags = flags;
    return 0;
}

static int add_hugetlb_files(struct hierarchy *h, const char *size)
{
    static const struct {
        const char *suffix;
        enum efile_kind kind;
        const char *initial;
    } files[] = {
        {"limit_in_bytes", EF_LIMIT, HUGETLB_NO_LIMIT},
        {"usage_in_bytes", EF_COUNTER, "0"},
        {"max_usage_in_bytes", EF_COUNTER, "0"},
        {"failcnt", EF_COUNTER, "0"},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char name[96];
        snprintf(name, sizeof(name), "hugetlb.%s.%s", size, files[i].suffix);
        int r = add_file(h, name, files[i].kind, 0, files[i].initial);
        if (r < 0)
            return r;
    }
    return 0;
}

static void node_free(struct cg_node *n, size_t n_files)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n_children; i++)
        node_free(n->children[i], n_files);
    free(n->children);
    for (size_t i = 0; n->values && i < n_files; i++)
        free(n->values[i]);
    free(n->values);
    dev_cgroup_done(&n->dev);
    free(n->name);
    free(n);
}

/* A new directory: its parent's inheritable values (notify_on_release, devices rules), the rest initial. */
static struct cg_node *node_new(struct hierarchy *h, struct cg_node *parent, const char *name)
{
    struct cg_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->name = strdup(name);
    n->values = calloc(h->n_files + 1, sizeof(char *));
    n->parent = parent;
    n->id = ++h->next_id;
    n->created = time(NULL);
    int r = n->name && n->values ? 0 : -ENOMEM;
    if (r == 0 && parent)
        r = dev_cgroup_copy(&n->dev, &parent->dev);
    else if (r == 0)
        dev_cgroup_init_root(&n->dev);
    for (size_t i = 0; r == 0 && parent && i < h->n_files; i++)
        if ((h->files[i].flags & CGROUP_FILE_INHERIT) && parent->values[i] &&
            !(n->values[i] = strdup(parent->values[i])))
            r = -ENOMEM;
    if (r < 0) {
        node_free(n, h->n_files);
        return NULL;
    }
    return n;
}

struct hierarchy *hier_new(enum cgroup_controller c, const char *const *hugetlb_sizes)
{
    struct hierarchy *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->controller = c;
    int r = 0;
    for (size_t i = 0; i < cgroup_file_table_size && r == 0; i++) {
        const struct cgroup_file_spec *s = &cgroup_file_table[i];
        if (s->controller >= 0 && s->controller != (int)c)
            continue;
        r = add_file(h, s->name, kind_of(s->name), s->flags, s->initial);
    }
    for (const char *const *size = hugetlb_sizes; r == 0 && c == CGROUP_HUGETLB && size && *size; size++)
        r = add_hugetlb_files(h, *size);
    if (r == 0)
        h->root = node_new(h, NULL, "");
    if (r < 0 || !h->root) {
        hier_free(h);
        return NULL;
    }
    return h;
}

void hier_free(struct hierarchy *h)
{
    if (!h)
        return;
    node_free(h->root, h->n_files);
    free(h->files);
    free(h->members);
    free(h);
}

bool hier_file_present(const struct hierarchy *h, const struct cg_node *n, int i)
{
    if (i < 0 || (size_t)i >= h->n_files)
        return false;
    bool is_root = n->parent == NULL;
    unsigned flags = h->files[i].flags;
    return !(is_root && (flags & CGROUP_FILE_NOT_ROOT)) && !(!is_root && (flags & CGROUP_FILE_ROOT_ONLY));
}

unsigned hier_file_mode(const struct hierarchy *h, int i)
{
    unsigned flags = h->files[i].flags;
    if (h->files[i].kind == EF_PRIOIDX || h->files[i].kind == EF_DEVICES_LIST ||
        (flags & CGROUP_FILE_READ_ONLY))
        return 0444;
    if (flags & CGROUP_FILE_WRITE_ONLY)
        return 0200;
    return 0644;
}

static struct cg_node *child_named(const struct cg_node *n, const char *name, size_t len)
{
    for (size_t i = 0; i < n->n_children; i++)
        if (strlen(n->children[i]->name) == len && strncmp(n->children[i]->name, name, len) == 0)
            return n->children[i];
    return NULL;
}

static int file_named(const struct hierarchy *h, const struct cg_node *n, const char *name, size_t len)
{
    for (size_t i = 0; i < h->n_files; i++)
        if (strlen(h->files[i].name) == len && strncmp(h->files[i].name, name, len) == 0)
            return hier_file_present(h, n, (int)i) ? (int)i : -1;
    return -1;
}

int hier_lookup(struct hierarchy *h, const char *path, struct cg_node **node, int *file)
{
    struct cg_node *n = h->root;
    const char *p = path;
    while (*p == '/')
        p++;
    while (*p) {
        size_t len = strcspn(p, "/");
        struct cg_node *child = child_named(n, p, len);
        if (!child) {
            /* A file: only as the last component. */
            int f = file_named(h, n, p, len);
            if (f < 0 || p[len] != '\0')
                return -ENOENT;
            *node = n;
            *file = f;
            return 0;
        }
        n = child;
        p += len;
        while (*p == '/')
            p++;
    }
    *node = n;
    *file = -1;
    return 0;
}

/* Splits "/a/b/c" into the parent directory node and the last name. */
static int lookup_parent(struct hierarchy *h, const char *path, struct cg_node **parent, const char **name)
{
    const char *slash = strrchr(path, '/');
    const char *last = slash ? slash + 1 : path;
    if (!*last || strcmp(last, ".") == 0 || strcmp(last, "..") == 0)
        return -EINVAL;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%.*s", (int)(last - path), path);
    int file;
    int r = hier_lookup(h, dir, parent, &file);
    if (r < 0)
        return r;
    if (file >= 0)
        return -ENOTDIR;
    *name = last;
    return 0;
}

int hier_mkdir(struct hierarchy *h, const char *path)
{
    struct cg_node *parent;
    const char *name;
    int r = lookup_parent(h, path, &parent, &name);
    if (r < 0)
        return r;
    if (strlen(name) > 255)
        return -ENAMETOOLONG;
    if (child_named(parent, name, strlen(name)) || file_named(h, parent, name, strlen(name)) >= 0)
        return -EEXIST;
    struct cg_node **nv = realloc(parent->children, (parent->n_children + 1) * sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    parent->children = nv;
    struct cg_node *n = node_new(h, parent, name);
    if (!n)
        return -ENOMEM;
    parent->children[parent->n_children++] = n;
    return 0;
}

static void detach_child(struct cg_node *parent, struct cg_node *n)
{
    for (size_t i = 0; i < parent->n_children; i++)
        if (parent->children[i] == n) {
            parent->children[i] = parent->children[--parent->n_children];
            return;
        }
}

int hier_rmdir(struct hierarchy *h, const char *path)
{
    struct cg_node *n;
    int file;
    int r = hier_lookup(h, path, &n, &file);
    if (r < 0)
        return r;
    if (file >= 0)
        return -ENOTDIR;
    if (!n->parent)
        return -EBUSY;
    if (n->n_children > 0)
        return -EBUSY;
    r = hier_refresh(h);
    if (r < 0)
        return r;
    pid_t *pids;
    size_t count = hier_members(h, n, false, &pids);
    free(pids);
    if (!pids)
        return -ENOMEM;
    if (count > 0)
        return -EBUSY;
    hier_forget_node(h, n);
    detach_child(n->parent, n);
    node_free(n, h->n_files);
    return 0;
}

int hier_rename(struct hierarchy *h, const char *from, const char *to)
{
    struct cg_node *n, *from_parent, *to_parent;
    const char *from_name, *to_name;
    int file;
    int r = hier_lookup(h, from, &n, &file);
    if (r < 0)
        return r;
    if (file >= 0 || !n->parent)
        return -EPERM;
    r = lookup_parent(h, from, &from_parent, &from_name);
    if (r == 0)
        r = lookup_parent(h, to, &to_parent, &to_name);
    if (r < 0)
        return r;
    if (from_parent != to_parent)
        return -EIO; /* what cgroup v1 answers for a move between parents */
    if (child_named(to_parent, to_name, strlen(to_name)) ||
        file_named(h, to_parent, to_name, strlen(to_name)) >= 0)
        return -EEXIST;
    char *name = strdup(to_name);
    if (!name)
        return -ENOMEM;
    free(n->name);
    n->name = name;
    return 0;
}

/* Appends to a growing string. */
struct buf {
    char *data;
    size_t len, cap;
    bool failed;
};

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->cap + (size_t)(n > 0 ? n : 0) + 1) * 2;
        char *d = realloc(b->data, cap);
        if (n < 0 || !d) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static int buf_finish(struct buf *b, char **ret)
{
    if (!b->data && !b->failed)
        buf_printf(b, "%s", "");
    if (b->failed) {
        free(b->data);
        return -ENOMEM;
    }
    *ret = b->data;
    return 0;
}

static const char *value_of(const struct hierarchy *h, const struct cg_node *n, int file)
{
    return n->values[file] ? n->values[file] : h->files[file].initial;
}

static int read_members(struct hierarchy *h, struct cg_node *n, bool threads, char **ret)
{
    int r = hier_refresh(h);
    if (r < 0)
        return r;
    pid_t *pids;
    size_t count = hier_members(h, n, false, &pids);
    if (!pids)
        return -ENOMEM;
    struct buf b = {0};
    for (size_t i = 0; i < count; i++) {
        pid_t *tasks = NULL;
        int m = threads ? proc_list_tasks(pids[i], &tasks) : -1;
        if (m <= 0)
            buf_printf(&b, "%d\n", (int)pids[i]);
        for (int j = 0; j < m; j++)
            buf_printf(&b, "%d\n", (int)tasks[j]);
        free(tasks);
    }
    free(pids);
    return buf_finish(&b, ret);
}

static int read_ifpriomap(const struct hierarchy *h, const struct cg_node *n, int file, char **ret)
{
    char **names;
    int count = proc_net_interfaces(&names);
    if (count < 0)
        return count;
    const char *map = value_of(h, n, file);
    struct buf b = {0};
    for (int i = 0; i < count; i++) {
        long prio = 0;
        size_t len = strlen(names[i]);
        for (const char *line = map; *line;
             line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line))
            if (strncmp(line, names[i], len) == 0 && line[len] == ' ')
                prio = strtol(line + len + 1, NULL, 10);
        buf_printf(&b, "%s %ld\n", names[i], prio);
    }
    proc_free_names(names, (size_t)count);
    return buf_finish(&b, ret);
}

int hier_read(struct hierarchy *h, struct cg_node *n, int file, char **ret)
{
    if (file < 0 || (size_t)file >= h->n_files)
        return -EISDIR;
    struct buf b = {0};
    switch (h->files[file].kind) {
    case EF_PROCS:
        return read_members(h, n, false, ret);
    case EF_TASKS:
        return read_members(h, n, true, ret);
    case EF_DEVICES_LIST: {
        char *list = dev_cgroup_list(&n->dev);
        if (!list)
            return -ENOMEM;
        *ret = list;
        return 0;
    }
    case EF_DEVICES_ALLOW:
    case EF_DEVICES_DENY:
    case EF_RESET:
        return -EACCES; /* write-only */
    case EF_FREEZER_STATE:
        buf_printf(&b, "%s\n", hier_freezer_state(h, n));
        break;
    case EF_FREEZER_SELF:
        buf_printf(&b, "%d\n", n->self_freezing ? 1 : 0);
        break;
    case EF_FREEZER_PARENT:
        buf_printf(&b, "%d\n", hier_freezing(n->parent) ? 1 : 0);
        break;
    case EF_PRIOIDX:
        buf_printf(&b, "%u\n", n->id);
        break;
    case EF_IFPRIOMAP:
        return read_ifpriomap(h, n, file, ret);
    case EF_DEVMAP: {
        const char *v = value_of(h, n, file);
        buf_printf(&b, "%s", v); /* already one line per device */
        break;
    }
    default: {
        const char *v = value_of(h, n, file);
        if (*v || h->files[file].kind != EF_VALUE)
            buf_printf(&b, "%s\n", v);
        else
            buf_printf(&b, "%s", "");
        break;
    }
    }
    return buf_finish(&b, ret);
}

/* The written text without its trailing newline(s); -EINVAL when it holds other newlines. */
static int one_line(const char *data, size_t len, char *out, size_t size)
{
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\0'))
        len--;
    if (len >= size || memchr(data, '\n', len) || memchr(data, '\0', len))
        return -EINVAL;
    memcpy(out, data, len);
    out[len] = '\0';
    return 0;
}

static int parse_u64(const char *s, int base, unsigned long long *ret)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!*s || *s == '-')
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    while (isspace((unsigned char)*end))
        end++;
    if (errno || *end)
        return -EINVAL;
    *ret = v;
    return 0;
}

static int set_value(struct cg_node *n, int file, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    free(n->values[file]);
    n->values[file] = copy;
    return 0;
}

/* "MAJ:MIN VALUE": sets the device's line, VALUE 0 removes it. Lines stay sorted by device. */
static int write_devmap(const struct hierarchy *h, struct cg_node *n, int file, const char *line)
{
    unsigned major, minor;
    unsigned long long value;
    char rest[64];
    if (sscanf(line, "%u:%u %63s", &major, &minor, rest) != 3 || parse_u64(rest, 10, &value) < 0)
        return -EINVAL;
    if (h->files[file].kind == EF_DEVMAP && strstr(h->files[file].name, "weight") && value != 0 &&
        (value < 10 || value > 1000))
        return -ERANGE;
    char key[32];
    snprintf(key, sizeof(key), "%u:%u ", major, minor);
    const char *old = value_of(h, n, file);
    struct buf b = {0};
    bool placed = false;
    for (const char *l = old; *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        unsigned lmaj = 0, lmin = 0;
        sscanf(l, "%u:%u", &lmaj, &lmin);
        if (!placed && (lmaj > major || (lmaj == major && lmin >= minor))) {
            if (value != 0)
                buf_printf(&b, "%s%llu\n", key, value);
            placed = true;
            if (lmaj == major && lmin == minor) {
                l = end ? end + 1 : l + len;
                continue;
            }
        }
        buf_printf(&b, "%.*s\n", (int)len, l);
        l = end ? end + 1 : l + len;
    }
    if (!placed && value != 0)
        buf_printf(&b, "%s%llu\n", key, value);
    char *out;
    int r = buf_finish(&b, &out);
    if (r < 0)
        return r;
    free(n->values[file]);
    n->values[file] = out;
    return 0;
}

static int write_ifpriomap(const struct hierarchy *h, struct cg_node *n, int file, const char *line)
{
    char ifname[64];
    unsigned long prio;
    if (sscanf(line, "%63s %lu", ifname, &prio) != 2 || prio > UINT32_MAX)
        return -EINVAL;
    char **names;
    int count = proc_net_interfaces(&names);
    if (count < 0)
        return count;
    bool known = false;
    for (int i = 0; i < count; i++)
        known = known || strcmp(names[i], ifname) == 0;
    proc_free_names(names, (size_t)count);
    if (!known)
        return -ENODEV;
    /* Rebuild the map with this interface's new value. */
    const char *old = value_of(h, n, file);
    struct buf b = {0};
    size_t len = strlen(ifname);
    for (const char *l = old; *l;) {
        const char *end = strchr(l, '\n');
        size_t llen = end ? (size_t)(end - l) : strlen(l);
        if (!(strncmp(l, ifname, len) == 0 && l[len] == ' '))
            buf_printf(&b, "%.*s\n", (int)llen, l);
        l = end ? end + 1 : l + llen;
    }
    buf_printf(&b, "%s %lu\n", ifname, prio);
    char *out;
    int r = buf_finish(&b, &out);
    if (r < 0)
        return r;
    free(n->values[file]);
    n->values[file] = out;
    return 0;
}

static int write_members(struct hierarchy *h, struct cg_node *n, const char *line, pid_t caller, bool thread)
{
    unsigned long long id;
    if (parse_u64(line, 10, &id) < 0 || id > INT32_MAX)
        return -EINVAL;
    pid_t pid = id == 0 ? caller : (pid_t)id;
    if (thread && id != 0) {
        pid = proc_tgid_of(pid);
        if (pid < 0)
            return -ESRCH;
    }
    struct cg_node *old = NULL;
    int r = hier_move(h, n, pid, &old);
    if (r < 0)
        return r;
    /* Entering a frozen directory freezes; leaving one for a thawed one thaws. */
    if (hier_freezing(n))
        (void)kill(pid, SIGSTOP);
    else if (old && hier_freezing(old))
        (void)kill(pid, SIGCONT);
    return 0;
}

int hier_write(struct hierarchy *h, struct cg_node *n, int file, const char *data, size_t len, pid_t caller)
{
    if (file < 0 || (size_t)file >= h->n_files)
        return -EISDIR;
    char line[4096];
    int r = one_line(data, len, line, sizeof(line));
    enum efile_kind kind = h->files[file].kind;
    if (r < 0 && kind != EF_DEVMAP && kind != EF_VALUE)
        return r;
    if (hier_file_mode(h, file) == 0444)
        return -EACCES;
    unsigned long long v;
    switch (kind) {
    case EF_PROCS:
        return write_members(h, n, line, caller, false);
    case EF_TASKS:
        return write_members(h, n, line, caller, true);
    case EF_BOOL:
        if (strcmp(line, "0") != 0 && strcmp(line, "1") != 0)
            return -EINVAL;
        return set_value(n, file, line);
    case EF_WEIGHT:
        if (parse_u64(line, 10, &v) < 0)
            return -EINVAL;
        if (v < 10 || v > 1000)
            return -ERANGE;
        return set_value(n, file, line);
    case EF_CLASSID: {
        if (parse_u64(line, 0, &v) < 0 || v > UINT32_MAX)
            return -EINVAL;
        char num[16];
        snprintf(num, sizeof(num), "%llu", v);
        return set_value(n, file, num);
    }
    case EF_LIMIT: {
        if (strcmp(line, "-1") == 0)
            return set_value(n, file, HUGETLB_NO_LIMIT);
        if (parse_u64(line, 10, &v) < 0)
            return -EINVAL;
        return set_value(n, file, line);
    }
    case EF_COUNTER:
        if (parse_u64(line, 10, &v) < 0 || v != 0)
            return -EINVAL;
        return 0;
    case EF_RESET:
        return 0;
    case EF_DEVMAP:
        if (r < 0)
            return r;
        return write_devmap(h, n, file, line);
    case EF_IFPRIOMAP:
        return write_ifpriomap(h, n, file, line);
    case EF_DEVICES_ALLOW:
    case EF_DEVICES_DENY:
        return dev_cgroup_write(&n->dev, n->parent ? &n->parent->dev : NULL, n->n_children > 0,
                                kind == EF_DEVICES_ALLOW, line);
    case EF_FREEZER_STATE:
        if (strcmp(line, "FROZEN") == 0)
            n->self_freezing = true;
        else if (strcmp(line, "THAWED") == 0)
            n->self_freezing = false;
        else
            return -EINVAL;
        return hier_freeze_apply(h, n);
    case EF_VALUE:
        if (r < 0)
            return r;
        return set_value(n, file, line);
    default:
        return -EACCES;
    }
}
