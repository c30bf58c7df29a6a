/* File and path helpers. All return 0 or a negative errno; none of them log. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads a whole file (up to max bytes; 0 means 64 MiB) into a NUL-terminated buffer. */
int read_file(const char *path, char **ret, size_t *ret_len, size_t max);
/* Reads the first line of a file, without its newline. */
int read_line(const char *path, char **ret);
/* Writes all of data to fd, retrying short writes and EINTR. */
int write_all(int fd, const void *data, size_t len);
/* Writes data to path through a temporary file and rename, so readers see old or new, never half. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Writes data to an existing file in one write(2) (for /proc, /sys and cgroup files). */
int write_file_once(const char *path, const char *data);
/* mkdir -p; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode);
/* Returns a newly allocated "a/b", with exactly one slash between them; NULL on ENOMEM. */
char *path_join(const char *a, const char *b);
bool path_exists(const char *path);
bool is_dir(const char *path);
/* Looks a program up in PATH (or takes it as is when it holds a slash); NULL if not found/executable. */
char *find_executable(const char *name);
/* Removes a directory tree, never crossing into another mount. Missing paths are not an error. */
int rm_rf(const char *path);
