#include "progress.h"

#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void progress_init(struct progress *p, FILE *out, int live)
{
    *p = (struct progress){.out = out, .t0_ms = monotonic_ms()};
    p->live = live < 0 ? isatty(fileno(out)) : live > 0;
    struct winsize ws;
    p->columns = ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;
}

int64_t progress_elapsed_ms(const struct progress *p)
{
    return monotonic_ms() - p->t0_ms;
}

static double seconds(int64_t ms)
{
    return (double)ms / 1000.0;
}

void progress_clear(struct progress *p)
{
    if (p->live && p->line_drawn) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
    }
    p->line_drawn = false;
}

/* "[ 12.3s] text" as a permanent line. */
static void print_line(struct progress *p, const char *mark, const char *text)
{
    progress_clear(p);
    fprintf(p->out, "[%6.1fs] %s%s\n", seconds(progress_elapsed_ms(p)), mark, text);
    fflush(p->out);
    progress_tick(p);
}

int progress_begin(struct progress *p, const char *fmt, ...)
{
    char name[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    if (!p->live)
        print_line(p, "", name);
    if (p->n_steps >= PROGRESS_MAX_STEPS)
        return -1;
    struct progress_step *s = &p->steps[p->n_steps];
    memcpy(s->name, name, sizeof(name));
    s->started_ms = monotonic_ms();
    s->active = true;
    progress_tick(p);
    return (int)p->n_steps++;
}

static void end_step(struct progress *p, int id, const char *mark, const char *fmt, va_list ap)
    _printf_(4, 0);
static void end_step(struct progress *p, int id, const char *mark, const char *fmt, va_list ap)
{
    char text[512], line[600];
    vsnprintf(text, sizeof(text), fmt, ap);
    if (id >= 0 && (size_t)id < p->n_steps && p->steps[id].active) {
        p->steps[id].active = false;
        snprintf(line, sizeof(line), "%s (%.1fs)", text, seconds(monotonic_ms() - p->steps[id].started_ms));
    } else
        snprintf(line, sizeof(line), "%s", text);
    print_line(p, mark, line);
}

void progress_done(struct progress *p, int id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    end_step(p, id, p->live ? "\u2713 " : "", fmt, ap);
    va_end(ap);
}

void progress_fail(struct progress *p, int id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    end_step(p, id, p->live ? "\u2717 " : "failed: ", fmt, ap);
    va_end(ap);
}

void progress_note(struct progress *p, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    print_line(p, "", text);
}

void progress_tick(struct progress *p)
{
    if (!p->live)
        return;
    char line[256];
    size_t len = 0;
    int64_t now = monotonic_ms();
    for (size_t i = 0; i < p->n_steps && len < sizeof(line) - 1; i++) {
        if (!p->steps[i].active)
            continue;
        int n = snprintf(line + len, sizeof(line) - len, "%s%s %.1fs", len ? ", " : "", p->steps[i].name,
                         seconds(now - p->steps[i].started_ms));
        if (n < 0)
            break;
        len += (size_t)n;
    }
    if (len == 0) {
        progress_clear(p);
        return;
    }
    /* "[ 123.4s] … " takes 13 columns; keep one spare so the cursor never wraps. */
    size_t room = (size_t)p->columns > 14 ? (size_t)p->columns - 14 : 1;
    if (len > room)
        len = room;
    if (len >= sizeof(line))
        len = sizeof(line) - 1;
    line[len] = '\0';
    fprintf(p->out, "\r\033[K[%6.1fs] \u2026 %s", seconds(now - p->t0_ms), line);
    fflush(p->out);
    p->line_drawn = true;
}
