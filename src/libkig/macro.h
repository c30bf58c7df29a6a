/* Small language helpers shared by every kig program: cleanup attributes and array sizes.
 * Cleanup attributes keep error paths short: a function returns from anywhere and what it owns is freed. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_     __attribute__((noreturn))

static inline void freep(void *p)
{
    free(*(void **)p);
}

static inline void closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

static inline void fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand ownership out of a cleanup variable: the variable is reset so its cleanup does nothing. */
#define TAKE_PTR(p)                                                                                          \
    ({                                                                                                       \
        __typeof__(p) _tmp = (p);                                                                            \
        (p) = NULL;                                                                                          \
        _tmp;                                                                                                \
    })
#define TAKE_FD(fd)                                                                                          \
    ({                                                                                                       \
        int _tmp = (fd);                                                                                     \
        (fd) = -1;                                                                                           \
        _tmp;                                                                                                \
    })

/* Negative errno from the last libc failure, never 0 (a failing call that forgot errno still fails). */
static inline int negative_errno(void)
{
    return errno > 0 ? -errno : -EIO;
}
