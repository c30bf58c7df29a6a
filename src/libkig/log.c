#include "log.h"

#include <stdarg.h>
#include <string.h>

static const char *program = "kig";
static enum log_level max_level = LOG_LEVEL_INFO;
static FILE *stream;

void log_init(const char *program_name)
{
    const char *slash = strrchr(program_name, '/');
    program = slash ? slash + 1 : program_name;
}

void log_set_level(enum log_level level)
{
    max_level = level;
}

enum log_level log_get_level(void)
{
    return max_level;
}

void log_set_stream(FILE *s)
{
    stream = s;
}

static const char *level_prefix(enum log_level level)
{
    switch (level) {
    case LOG_LEVEL_ERROR:
        return "error: ";
    case LOG_LEVEL_WARN:
        return "warning: ";
    case LOG_LEVEL_DEBUG:
        return "debug: ";
    case LOG_LEVEL_INFO:
        break;
    }
    return "";
}

_printf_(3, 0) static void log_va(enum log_level level, int err, const char *fmt, va_list ap)
{
    if (level > max_level)
        return;
    int saved = errno;
    FILE *out = stream ? stream : stderr;
    char msg[2048];
    /* glibc expands %m from errno: make it name the error we were given, not whatever errno holds. */
    errno = err;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(out, "%s: %s%s\n", program, level_prefix(level), msg);
    fflush(out);
    errno = saved;
}

void log_full(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_va(level, errno, fmt, ap);
    va_end(ap);
}

int log_full_errno(enum log_level level, int err, const char *fmt, ...)
{
    if (err < 0)
        err = -err;
    if (err == 0)
        err = EIO;
    va_list ap;
    va_start(ap, fmt);
    log_va(level, err, fmt, ap);
    va_end(ap);
    return -err;
}
