/* A growable NULL-terminated vector of strings: argv for the components, SAN lists for certificates. */
#pragma once

#include "macro.h"

#include <stdbool.h>
#include <stddef.h>

struct strv {
    char **v; /* NULL-terminated once anything was pushed; NULL before */
    size_t n;
};

/* Appends a copy of s. Returns 0 or -ENOMEM. */
int strv_push(struct strv *s, const char *value);
/* Appends a formatted string. */
int strv_pushf(struct strv *s, const char *fmt, ...) _printf_(2, 3);
bool strv_contains(const struct strv *s, const char *value);
/* The vector as a const argv (never NULL: an empty vector gives an empty list). */
const char *const *strv_argv(const struct strv *s);
void strv_done(struct strv *s);
