/* Progress of a long operation (`kig up`), step by step with elapsed times. On a terminal the steps still
 * running share one live line that is redrawn in place; on a pipe or file every step start and end is a
 * plain line of its own, so logs stay readable. */
#pragma once

#include "macro.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PROGRESS_MAX_STEPS 32

struct progress_step {
    char name[64];
    int64_t started_ms;
    bool active;
};

struct progress {
    FILE *out;
    bool live;   /* a terminal: redraw one status line */
    int columns; /* the terminal's width: a longer live line would wrap and defeat the redraw */
    bool line_drawn;
    int64_t t0_ms;
    size_t n_steps;
    struct progress_step steps[PROGRESS_MAX_STEPS];
};

/* live: -1 decides from isatty(out), 0 forces plain lines, 1 forces the live line. */
void progress_init(struct progress *p, FILE *out, int live);

/* Starts a step; returns its id (or -1 when the table is full: the step is then only printed). */
int progress_begin(struct progress *p, const char *fmt, ...) _printf_(2, 3);
/* Ends a step with a result line ("etcd ready"); the step's duration is appended. */
void progress_done(struct progress *p, int id, const char *fmt, ...) _printf_(3, 4);
/* Ends a step as failed. */
void progress_fail(struct progress *p, int id, const char *fmt, ...) _printf_(3, 4);
/* A line that is no step (a note, a warning). */
void progress_note(struct progress *p, const char *fmt, ...) _printf_(2, 3);
/* Redraws the live line (no-op on a pipe). Call it a few times a second. */
void progress_tick(struct progress *p);
/* Erases the live line, e.g. before printing something else. */
void progress_clear(struct progress *p);

/* Milliseconds since progress_init. */
int64_t progress_elapsed_ms(const struct progress *p);

int64_t monotonic_ms(void);
