#include "mountinfo.h"

#include "fileutil.h"
#include "macro.h"

#include <stdlib.h>
#include <string.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
    char *o = s;
    for (char *i = s; *i;) {
        if (i[0] == '\\' && i[1] >= '0' && i[1] <= '3' && i[2] >= '0' && i[2] <= '7' && i[3] >= '0' &&
            i[3] <= '7') {
            *o++ = (char)(((i[1] - '0') << 6) | ((i[2] - '0') << 3) | (i[3] - '0'));
            i += 4;
        } else
            *o++ = *i++;
    }
    *o = '\0';
}

/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue" */
static int parse_line(char *line, struct mount_entry *e)
{
    char *save = NULL;
    char *f[5];
    for (int i = 0; i < 5; i++) {
        f[i] = strtok_r(i == 0 ? line : NULL, " ", &save);
        if (!f[i])
            return -EINVAL;
    }
    /* optional fields, up to the "-" separator */
    char *tok;
    while ((tok = strtok_r(NULL, " ", &save)) && strcmp(tok, "-") != 0)
        ;
    if (!tok)
        return -EINVAL;
    char *fstype = strtok_r(NULL, " ", &save);
    char *source = strtok_r(NULL, " ", &save);
    char *super = strtok_r(NULL, " ", &save);
    if (!fstype)
        return -EINVAL;
    unescape_octal(f[4]);
    *e = (struct mount_entry){
        .id = atoi(f[0]),
        .parent_id = atoi(f[1]),
        .mountpoint = strdup(f[4]),
        .fstype = strdup(fstype),
        .source = strdup(source ? source : ""),
        .super_options = strdup(super ? super : ""),
    };
    if (!e->mountpoint || !e->fstype || !e->source || !e->super_options)
        return -ENOMEM;
    return 0;
}

static void entry_done(struct mount_entry *e)
{
    free(e->mountpoint);
    free(e->fstype);
    free(e->source);
    free(e->super_options);
}

int mount_table_read(struct mount_table *t)
{
    *t = (struct mount_table){0};
    _cleanup_free_ char *data = NULL;
    int r = read_file("/proc/self/mountinfo", &data, NULL, 0);
    if (r < 0)
        return r;
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct mount_entry *n = realloc(t->entries, (t->n + 1) * sizeof(*n));
        if (!n) {
            mount_table_done(t);
            return -ENOMEM;
        }
        t->entries = n;
        struct mount_entry e = {0};
        r = parse_line(line, &e);
        if (r == -ENOMEM) {
            entry_done(&e);
            mount_table_done(t);
            return r;
        }
        if (r < 0)
            continue;
        t->entries[t->n++] = e;
    }
    return 0;
}

void mount_table_done(struct mount_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        entry_done(&t->entries[i]);
    free(t->entries);
    *t = (struct mount_table){0};
}

const struct mount_entry *mount_table_find(const struct mount_table *t, const char *mountpoint)
{
    for (size_t i = t->n; i > 0; i--)
        if (strcmp(t->entries[i - 1].mountpoint, mountpoint) == 0)
            return &t->entries[i - 1];
    return NULL;
}

const struct mount_entry *mount_table_find_id(const struct mount_table *t, int id)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->entries[i].id == id)
            return &t->entries[i];
    return NULL;
}

bool mount_entry_has_option(const struct mount_entry *e, const char *option)
{
    size_t n = strlen(option);
    for (const char *p = e->super_options; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, option, n) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}
