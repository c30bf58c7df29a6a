#include "cgroups.h"

#include "fileutil.h"
#include "log.h"
#include "mountinfo.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Where the hierarchy carrying controllers is mounted (the sandbox's own mount of its root, not a
 * container's view under rootfs); NULL when none is. */
static const char *hierarchy_mount(const struct mount_table *t, const char *controllers, const char *rootfs)
{
    bool v2 = controllers[0] == '\0';
    /* "cpu,cpuacct": the hierarchy carrying the first one carries them all. */
    char first[64];
    snprintf(first, sizeof(first), "%.*s", (int)strcspn(controllers, ","), controllers);
    for (size_t i = 0; i < t->n; i++) {
        const struct mount_entry *e = &t->entries[i];
        if ((rootfs && path_is_below(e->mount_point, rootfs)) || strcmp(e->root, "/") != 0)
            continue;
        if (v2 ? strcmp(e->fstype, "cgroup2") == 0
               : strcmp(e->fstype, "cgroup") == 0 && option_list_has(e->super_options, first))
            return e->mount_point;
    }
    return NULL;
}

static int add(struct cgroup_memberships *m, const char *controllers, const char *hierarchy, const char *path)
{
    struct cgroup_membership *items = realloc(m->items, (m->n + 1) * sizeof(*items));
    if (!items)
        return -ENOMEM;
    m->items = items;
    struct cgroup_membership *c = &items[m->n];
    *c = (struct cgroup_membership){strdup(controllers), strdup(hierarchy), strdup(path)};
    m->n++;
    return c->controllers && c->hierarchy && c->path ? 0 : -ENOMEM;
}

int cgroup_memberships_of(pid_t pid, const char *rootfs, struct cgroup_memberships *ret)
{
    *ret = (struct cgroup_memberships){0};
    char file[64];
    if (pid > 0)
        snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
    else
        snprintf(file, sizeof(file), "/proc/self/cgroup");
    _cleanup_free_ char *text = NULL;
    int r = read_file(file, &text, NULL, 0);
    if (r < 0)
        return log_error_errno(r, "cannot read %s: %m", file);
    struct mount_table t;
    if ((r = mount_table_read(&t)) < 0)
        return log_error_errno(r, "cannot read /proc/self/mountinfo: %m");
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && r >= 0; line = strtok_r(NULL, "\n", &save)) {
        /* "4:memory:/default/c1", or "0::/c1" on cgroup v2 */
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || c2[1] != '/')
            continue;
        *c2 = '\0';
        const char *hierarchy = hierarchy_mount(&t, c1 + 1, rootfs);
        if (hierarchy)
            r = add(ret, c1 + 1, hierarchy, c2 + 1);
        else
            log_debug("no hierarchy mounted for cgroup controllers '%s'", c1 + 1);
    }
    mount_table_free(&t);
    if (r < 0) {
        cgroup_memberships_free(ret);
        return log_error_errno(r, "out of memory");
    }
    return 0;
}

void cgroup_memberships_free(struct cgroup_memberships *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->items[i].controllers);
        free(m->items[i].hierarchy);
        free(m->items[i].path);
    }
    free(m->items);
    *m = (struct cgroup_memberships){0};
}

char *cgroup_dir(const struct cgroup_membership *m, const char *path)
{
    char *dir = NULL;
    if (asprintf(&dir, "%s%s", m->hierarchy, strcmp(path, "/") == 0 ? "" : path) < 0)
        return NULL;
    return dir;
}

int cgroup_membership_has(const struct cgroup_membership *m, const char *controller)
{
    return m->controllers[0] && option_list_has(m->controllers, controller);
}

char **cgroup_procs_files(const struct cgroup_memberships *m, const char *path)
{
    char **files = calloc(m->n + 1, sizeof(*files));
    for (size_t i = 0; files && i < m->n; i++) {
        _cleanup_free_ char *dir = cgroup_dir(&m->items[i], path ? path : m->items[i].path);
        if (!dir || !(files[i] = path_join(dir, "cgroup.procs"))) {
            for (size_t k = 0; k < i; k++)
                free(files[k]);
            free(files);
            return NULL;
        }
    }
    return files;
}
