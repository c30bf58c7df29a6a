#include "mountinfo.h"

#include "fileutil.h"
#include "macro.h"

#include <stdlib.h>
#include <string.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
            s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
            out[o++] = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
            i += 3;
        } else
            out[o++] = s[i];
    }
    out[o] = '\0';
    return out;
}

static void entry_free(struct mount_entry *e)
{
    free(e->root);
    free(e->mount_point);
    free(e->fstype);
    free(e->source);
    free(e->super_options);
}

/* Splits one line into its space-separated fields; empty fields (gVisor writes two spaces where the
 * optional fields are empty) are dropped. Returns the number of fields. */
static size_t split_fields(const char *line, size_t len, const char **starts, size_t *lens, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len && n < max) {
        while (i < len && line[i] == ' ')
            i++;
        if (i >= len)
            break;
        size_t start = i;
        while (i < len && line[i] != ' ')
            i++;
        starts[n] = line + start;
        lens[n] = i - start;
        n++;
    }
    return n;
}

static int parse_line(const char *line, size_t len, struct mount_entry *e)
{
    const char *f[64];
    size_t l[64];
    size_t n = split_fields(line, len, f, l, ARRAY_SIZE(f));
    /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS */
    size_t dash = 0;
    for (size_t i = 6; i < n; i++)
        if (l[i] == 1 && f[i][0] == '-') {
            dash = i;
            break;
        }
    if (n < 6 || dash == 0 || dash + 2 >= n)
        return -EINVAL;
    *e = (struct mount_entry){
        .root = unescape(f[3], l[3]),
        .mount_point = unescape(f[4], l[4]),
        .fstype = unescape(f[dash + 1], l[dash + 1]),
        .source = unescape(f[dash + 2], l[dash + 2]),
        .super_options = dash + 3 < n ? unescape(f[dash + 3], l[dash + 3]) : strdup(""),
    };
    if (!e->root || !e->mount_point || !e->fstype || !e->source || !e->super_options) {
        entry_free(e);
        return -ENOMEM;
    }
    return 0;
}

int mount_table_parse(const char *text, struct mount_table *ret)
{
    struct mount_table t = {0};
    size_t cap = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        struct mount_entry e;
        int r = parse_line(p, len, &e);
        if (r == -ENOMEM) {
            mount_table_free(&t);
            return r;
        }
        if (r == 0) {
            if (t.n == cap) {
                size_t ncap = cap ? cap * 2 : 32;
                struct mount_entry *ne = realloc(t.entries, ncap * sizeof(*ne));
                if (!ne) {
                    entry_free(&e);
                    mount_table_free(&t);
                    return -ENOMEM;
                }
                t.entries = ne;
                cap = ncap;
            }
            t.entries[t.n++] = e;
        }
        p += len;
        if (*p == '\n')
            p++;
    }
    *ret = t;
    return 0;
}

int mount_table_read(struct mount_table *ret)
{
    _cleanup_free_ char *text = NULL;
    int r = read_file("/proc/self/mountinfo", &text, NULL, 0);
    if (r < 0)
        return r;
    return mount_table_parse(text, ret);
}

void mount_table_free(struct mount_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        entry_free(&t->entries[i]);
    free(t->entries);
    *t = (struct mount_table){0};
}

bool path_is_below(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return path[0] == '/' && path[1] != '\0';
    return strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1] != '\0';
}

bool option_list_has(const char *list, const char *option)
{
    size_t n = strlen(option);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, option, n) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}
