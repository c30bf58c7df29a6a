#include "devices.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dev_cgroup_init_root(struct dev_cgroup *d)
{
    *d = (struct dev_cgroup){.allow_default = true};
}

void dev_cgroup_done(struct dev_cgroup *d)
{
    free(d->ex);
    *d = (struct dev_cgroup){0};
}

int dev_cgroup_copy(struct dev_cgroup *dst, const struct dev_cgroup *src)
{
    *dst = (struct dev_cgroup){.allow_default = src->allow_default};
    if (src->n_ex == 0)
        return 0;
    dst->ex = malloc(src->n_ex * sizeof(*dst->ex));
    if (!dst->ex)
        return -ENOMEM;
    memcpy(dst->ex, src->ex, src->n_ex * sizeof(*dst->ex));
    dst->n_ex = src->n_ex;
    return 0;
}

static int parse_number(const char **p, long *ret)
{
    if (**p == '*') {
        (*p)++;
        *ret = DEV_ANY;
        return 0;
    }
    if (!isdigit((unsigned char)**p))
        return -EINVAL;
    char *end;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (errno || v < 0 || v > 0xfffff)
        return -EINVAL;
    *p = end;
    *ret = v;
    return 0;
}

/* "TYPE MAJOR:MINOR ACCESS" (Linux's parser: type a/b/c; for "a" the rest is ignored). */
static int parse_rule(const char *rule, struct dev_exception *ex, bool *all)
{
    const char *p = rule;
    *all = false;
    *ex = (struct dev_exception){0};
    switch (*p) {
    case 'a':
        *all = true;
        return 0;
    case 'b':
    case 'c':
        ex->type = *p++;
        break;
    default:
        return -EINVAL;
    }
    if (*p++ != ' ')
        return -EINVAL;
    if (parse_number(&p, &ex->major) < 0 || *p++ != ':' || parse_number(&p, &ex->minor) < 0)
        return -EINVAL;
    if (*p++ != ' ')
        return -EINVAL;
    for (; *p && *p != '\n'; p++) {
        switch (*p) {
        case 'r':
            ex->access |= DEV_ACC_READ;
            break;
        case 'w':
            ex->access |= DEV_ACC_WRITE;
            break;
        case 'm':
            ex->access |= DEV_ACC_MKNOD;
            break;
        default:
            return -EINVAL;
        }
    }
    if (ex->access == 0 || (p[0] == '\n' && p[1] != '\0'))
        return -EINVAL;
    return 0;
}

static bool same_device(const struct dev_exception *a, const struct dev_exception *b)
{
    return a->type == b->type && a->major == b->major && a->minor == b->minor;
}

/* match_exception: some exception covers ex entirely (type, numbers, and every access bit). */
static bool covered(const struct dev_cgroup *d, const struct dev_exception *ex)
{
    for (size_t i = 0; i < d->n_ex; i++) {
        const struct dev_exception *e = &d->ex[i];
        if (e->type != ex->type)
            continue;
        if (e->major != DEV_ANY && e->major != ex->major)
            continue;
        if (e->minor != DEV_ANY && e->minor != ex->minor)
            continue;
        if (ex->access & ~e->access)
            continue;
        return true;
    }
    return false;
}

/* match_exception_partial: some exception overlaps ex (numbers may be "*" on either side). */
static bool overlaps(const struct dev_cgroup *d, const struct dev_exception *ex)
{
    for (size_t i = 0; i < d->n_ex; i++) {
        const struct dev_exception *e = &d->ex[i];
        if (e->type != ex->type)
            continue;
        if (e->major != DEV_ANY && ex->major != DEV_ANY && e->major != ex->major)
            continue;
        if (e->minor != DEV_ANY && ex->minor != DEV_ANY && e->minor != ex->minor)
            continue;
        if (!(ex->access & e->access))
            continue;
        return true;
    }
    return false;
}

/* verify_new_ex: may a child with behaviour child_allow add this exception given its parent? */
static bool parent_permits(const struct dev_cgroup *parent, const struct dev_exception *ex, bool child_allow)
{
    if (!parent)
        return true;
    if (parent->allow_default) {
        if (child_allow)
            return true;
        return !overlaps(parent, ex);
    }
    return covered(parent, ex);
}

static int exception_add(struct dev_cgroup *d, const struct dev_exception *ex)
{
    for (size_t i = 0; i < d->n_ex; i++)
        if (same_device(&d->ex[i], ex)) {
            d->ex[i].access |= ex->access;
            return 0;
        }
    struct dev_exception *n = realloc(d->ex, (d->n_ex + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    d->ex = n;
    d->ex[d->n_ex++] = *ex;
    return 0;
}

static void exception_remove(struct dev_cgroup *d, const struct dev_exception *ex)
{
    size_t out = 0;
    for (size_t i = 0; i < d->n_ex; i++) {
        struct dev_exception e = d->ex[i];
        if (same_device(&e, ex))
            e.access &= ~ex->access;
        if (e.access)
            d->ex[out++] = e;
    }
    d->n_ex = out;
}

int dev_cgroup_write(struct dev_cgroup *d, const struct dev_cgroup *parent, bool has_children, bool allow,
                     const char *rule)
{
    struct dev_exception ex;
    bool all;
    int r = parse_rule(rule, &ex, &all);
    if (r < 0)
        return r;
    if (all) {
        if (has_children)
            return -EINVAL;
        if (allow && parent && !parent->allow_default)
            return -EPERM;
        free(d->ex);
        d->ex = NULL;
        d->n_ex = 0;
        d->allow_default = allow;
        /* Linux then re-copies the parent's exceptions when it denies by default; an allow-all parent
         * has none worth copying for an allow-all child. */
        if (allow && parent && parent->n_ex > 0)
            return dev_cgroup_copy(d, parent);
        return 0;
    }
    if (allow) {
        if (d->allow_default) {
            /* parent_allows_removal: a child may not lift what its parent denies. */
            if (parent && overlaps(parent, &ex))
                return -EPERM;
            exception_remove(d, &ex);
            return 0;
        }
        if (!parent_permits(parent, &ex, d->allow_default))
            return -EPERM;
        return exception_add(d, &ex);
    }
    if (d->allow_default)
        return exception_add(d, &ex);
    exception_remove(d, &ex);
    return 0;
}

static void format_number(char *buf, size_t size, long v)
{
    if (v == DEV_ANY)
        snprintf(buf, size, "*");
    else
        snprintf(buf, size, "%ld", v);
}

char *dev_cgroup_list(const struct dev_cgroup *d)
{
    if (d->allow_default)
        return strdup("a *:* rwm\n");
    size_t cap = 32 * d->n_ex + 1;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < d->n_ex; i++) {
        const struct dev_exception *e = &d->ex[i];
        char major[16], minor[16], access[4];
        size_t n = 0;
        format_number(major, sizeof(major), e->major);
        format_number(minor, sizeof(minor), e->minor);
        if (e->access & DEV_ACC_READ)
            access[n++] = 'r';
        if (e->access & DEV_ACC_WRITE)
            access[n++] = 'w';
        if (e->access & DEV_ACC_MKNOD)
            access[n++] = 'm';
        access[n] = '\0';
        len += (size_t)snprintf(out + len, cap - len, "%c %s:%s %s\n", e->type, major, minor, access);
    }
    return out;
}
