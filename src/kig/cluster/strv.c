#include "strv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int strv_take(struct strv *s, char *value)
{
    char **n = realloc(s->v, (s->n + 2) * sizeof(char *));
    if (!n) {
        free(value);
        return -ENOMEM;
    }
    s->v = n;
    s->v[s->n++] = value;
    s->v[s->n] = NULL;
    return 0;
}

int strv_push(struct strv *s, const char *value)
{
    char *copy = strdup(value);
    return copy ? strv_take(s, copy) : -ENOMEM;
}

int strv_pushf(struct strv *s, const char *fmt, ...)
{
    char *value;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&value, fmt, ap);
    va_end(ap);
    return r < 0 ? -ENOMEM : strv_take(s, value);
}

bool strv_contains(const struct strv *s, const char *value)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], value) == 0)
            return true;
    return false;
}

const char *const *strv_argv(const struct strv *s)
{
    static const char *const empty[] = {NULL};
    return s->v ? (const char *const *)s->v : empty;
}

void strv_done(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}
