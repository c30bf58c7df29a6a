#include "path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int path_normalize(const char *path, char *out, size_t size)
{
    if (!path || path[0] != '/')
        return -EINVAL;
    if (size < 2)
        return -ENAMETOOLONG;
    size_t len = 0;
    out[len++] = '/';
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        if (n == 1 && p[0] == '.') {
            /* nothing */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            /* Drop the last component; ".." of "/" is "/". */
            while (len > 1 && out[len - 1] != '/')
                len--;
            if (len > 1)
                len--;
        } else {
            size_t need = (len > 1 ? 1 : 0) + n;
            if (len + need + 1 > size)
                return -ENAMETOOLONG;
            if (len > 1)
                out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
        }
        p = end;
    }
    out[len] = '\0';
    return (int)len;
}

int path_resolve(const char *base, const char *path, char *out, size_t size)
{
    if (!path)
        return -EINVAL;
    if (path[0] == '/')
        return path_normalize(path, out, size);
    if (!base || base[0] != '/')
        return -EINVAL;
    char joined[PATH_MAX * 2];
    int n = snprintf(joined, sizeof(joined), "%s/%s", base, path);
    if (n < 0 || (size_t)n >= sizeof(joined))
        return -ENAMETOOLONG;
    return path_normalize(joined, out, size);
}

const char *path_under(const char *path, const char *prefix)
{
    if (strcmp(prefix, "/") == 0)
        return path[0] == '/' ? path : NULL;
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0)
        return NULL;
    if (path[n] == '\0' || path[n] == '/')
        return path + n;
    return NULL;
}

int path_replace_prefix(const char *to, const char *rest, char *out, size_t size)
{
    /* "/" + "/x" must give "/x", not "//x". */
    if (strcmp(to, "/") == 0 && rest[0] == '/')
        to = "";
    int n = snprintf(out, size, "%s%s", to, rest);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    if (n == 0) {
        if (size < 2)
            return -ENAMETOOLONG;
        strcpy(out, "/");
        n = 1;
    }
    return n;
}

int path_proc_self_fd(const char *path)
{
    const char *rest = path_under(path, "/proc/self/fd");
    if (!rest)
        rest = path_under(path, "/proc/thread-self/fd");
    if (!rest || rest[0] != '/' || rest[1] < '0' || rest[1] > '9')
        return -1;
    char *end;
    errno = 0;
    long fd = strtol(rest + 1, &end, 10);
    if (errno != 0 || *end != '\0' || fd < 0 || fd > INT_MAX)
        return -1;
    return (int)fd;
}
