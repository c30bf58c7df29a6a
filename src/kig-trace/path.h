/* Lexical path handling for tracee paths: no filesystem access, no allocation, fixed-size buffers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Writes the normalized form of an absolute path (no "//", ".", ".."; no trailing slash except for "/").
 * Returns its length, -EINVAL if path is not absolute, -ENAMETOOLONG if it does not fit in size. */
int path_normalize(const char *path, char *out, size_t size);
/* Resolves path against base (an absolute directory) unless path is absolute, then normalizes. */
int path_resolve(const char *base, const char *path, char *out, size_t size);
/* If path (normalized) equals prefix or lies under it, returns the rest ("" or "/..."); else NULL. */
const char *path_under(const char *path, const char *prefix);
/* Writes to + rest into out. Returns the length or -ENAMETOOLONG. */
int path_replace_prefix(const char *to, const char *rest, char *out, size_t size);
/* Parses "/proc/self/fd/N" and "/proc/thread-self/fd/N" (after normalization). Returns N or -1. */
int path_proc_self_fd(const char *path);
