#include "mounts.h"

#include "macro.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mountinfo_unescape(char *s)
{
    char *out = s;
    for (char *in = s; *in;) {
        if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' &&
            in[3] <= '7') {
            *out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
            in += 4;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
}

struct mount_line {
    int id, parent;
    char mountpoint[PATH_MAX];
    char fstype[64];
};

static bool parse_line(char *line, struct mount_line *m)
{
    char mp[PATH_MAX];
    if (sscanf(line, "%d %d %*s %*s %4095s", &m->id, &m->parent, mp) != 3)
        return false;
    const char *sep = strstr(line, " - ");
    if (!sep || sscanf(sep + 3, "%63s", m->fstype) != 1)
        return false;
    mountinfo_unescape(mp);
    snprintf(m->mountpoint, sizeof(m->mountpoint), "%s", mp);
    return true;
}

int mount_top_id(const char *path, char *fstype, size_t fstype_size)
{
    char resolved[PATH_MAX];
    if (!realpath(path, resolved))
        snprintf(resolved, sizeof(resolved), "%s", path);

    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return negative_errno();
    /* Mounts stacked on one point: each is the child of the one below. The top is the one no other mount
     * at that point names as its parent. */
    struct stacked {
        int id, parent;
        char fstype[64];
    } stack[32], top = {0};
    struct mount_line m;
    size_t n = 0;
    char line[8192];
    while (fgets(line, sizeof(line), f)) {
        if (!parse_line(line, &m) || strcmp(m.mountpoint, resolved) != 0)
            continue;
        if (n < ARRAY_SIZE(stack)) {
            stack[n] = (struct stacked){.id = m.id, .parent = m.parent};
            snprintf(stack[n].fstype, sizeof(stack[n].fstype), "%s", m.fstype);
            n++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        bool is_parent = false;
        for (size_t j = 0; j < n; j++)
            is_parent = is_parent || (j != i && stack[j].parent == stack[i].id);
        if (!is_parent)
            top = stack[i];
    }
    if (fstype && fstype_size > 0)
        snprintf(fstype, fstype_size, "%s", top.id ? top.fstype : "");
    return top.id;
}

bool mount_id_at(int id, const char *path)
{
    char resolved[PATH_MAX];
    if (!realpath(path, resolved))
        snprintf(resolved, sizeof(resolved), "%s", path);
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f || id <= 0)
        return false;
    struct mount_line m;
    char line[8192];
    while (fgets(line, sizeof(line), f))
        if (parse_line(line, &m) && m.id == id && strcmp(m.mountpoint, resolved) == 0)
            return true;
    return false;
}
