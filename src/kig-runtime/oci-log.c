#include "oci-log.h"

#include "log.h"
#include "macro.h"

#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct log_sink {
    int fd;
    enum oci_log_format format;
    bool errors_to_stderr;
    char line[4096];
    size_t len;
};

static struct log_sink sink = {.fd = -1};
static bool errors_to_stderr;

void oci_log_errors_to_stderr(bool on)
{
    errors_to_stderr = on;
    sink.errors_to_stderr = on;
}

int oci_log_format_from_string(const char *s, enum oci_log_format *ret)
{
    if (strcmp(s, "text") == 0)
        *ret = OCI_LOG_TEXT;
    else if (strcmp(s, "json") == 0)
        *ret = OCI_LOG_JSON;
    else
        return -EINVAL;
    return 0;
}

static void format_time(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
}

char *oci_log_format_line(enum oci_log_format format, const char *level, const char *msg)
{
    char when[64];
    format_time(when, sizeof(when));
    if (format == OCI_LOG_JSON) {
        json_t *j = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", when);
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        return s;
    }
    json_t *quoted = json_string(msg);
    char *q = quoted ? json_dumps(quoted, JSON_ENCODE_ANY) : NULL;
    json_decref(quoted);
    char *s = NULL;
    if (q && asprintf(&s, "time=\"%s\" level=%s msg=%s", when, level, q) < 0)
        s = NULL;
    free(q);
    return s;
}

/* libkig writes "kig-runtime: error: message\n": take the level from the prefix. */
static void emit(struct log_sink *s, const char *line)
{
    static const struct {
        const char *prefix;
        const char *level;
    } levels[] = {{"error: ", "error"}, {"warning: ", "warning"}, {"debug: ", "debug"}};
    const char *msg = line;
    const char *colon = strstr(line, ": ");
    if (colon)
        msg = colon + 2;
    const char *level = "info";
    for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
        if (strncmp(msg, levels[i].prefix, strlen(levels[i].prefix)) == 0) {
            level = levels[i].level;
            msg += strlen(levels[i].prefix);
            break;
        }
    _cleanup_free_ char *out = oci_log_format_line(s->format, level, msg);
    char *buf;
    /* One write per line with O_APPEND: lines of the runtime, which shares the file, do not interleave. */
    if (out && asprintf(&buf, "%s\n", out) >= 0) {
        (void)!write(s->fd, buf, strlen(buf));
        free(buf);
    }
    /* runc prints a fatal error on stderr as well, and go-runc puts that output into the error it returns:
     * the shim looks there for "container not running" (kill) and "does not exist" (delete). */
    if (s->errors_to_stderr && strcmp(level, "error") == 0 && asprintf(&buf, "%s\n", msg) >= 0) {
        (void)!write(STDERR_FILENO, buf, strlen(buf));
        free(buf);
    }
}

static ssize_t sink_write(void *cookie, const char *data, size_t size)
{
    struct log_sink *s = cookie;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n' || s->len == sizeof(s->line) - 1) {
            s->line[s->len] = '\0';
            emit(s, s->line);
            s->len = 0;
            if (data[i] == '\n')
                continue;
        }
        s->line[s->len++] = data[i];
    }
    return (ssize_t)size;
}

int oci_log_open(const char *path, enum oci_log_format format)
{
    if (!path || !*path)
        return 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return log_error_errno(errno, "cannot open log file %s: %m", path);
    static const cookie_io_functions_t io = {.write = sink_write};
    sink = (struct log_sink){.fd = fd, .format = format, .errors_to_stderr = errors_to_stderr};
    FILE *f = fopencookie(&sink, "w", io);
    if (!f) {
        close(fd);
        sink.fd = -1;
        return -ENOMEM;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    log_set_stream(f);
    return 0;
}
