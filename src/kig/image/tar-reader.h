/* A reader for the table of contents of a tar archive (POSIX ustar and pax, GNU long names, old v7):
 * names, types, sizes and where each member's data begins, without extracting anything. Image archives
 * come from outside (docker save, skopeo, build scripts), so every field is checked: a corrupt header,
 * a bad checksum or a member running past the end of the file is an error with a reason, never a crash.
 *
 * The archive is read through a callback so that the same code walks a file (pread) and, in the unit
 * tests and the fuzz target, a buffer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAR_BLOCK    512
#define TAR_NAME_MAX 4096

struct tar_source {
    /* Reads up to len bytes at off; returns the number read (short only at the end) or a negative errno. */
    int64_t (*read_at)(void *ctx, uint64_t off, void *buf, size_t len);
    void *ctx;
    uint64_t size; /* the archive's length in bytes */
};

enum tar_type {
    TAR_FILE,
    TAR_DIR,
    TAR_SYMLINK,
    TAR_HARDLINK,
    TAR_OTHER, /* devices, fifos, ... */
};

struct tar_entry {
    char name[TAR_NAME_MAX];     /* as stored (pax path, GNU long name, or prefix/name) */
    char clean[TAR_NAME_MAX];    /* name cleaned like Go's path.Clean: what containerd's importer compares */
    char linkname[TAR_NAME_MAX]; /* symlinks and hard links */
    enum tar_type type;
    uint64_t size;        /* data bytes (0 for links and directories) */
    uint64_t data_offset; /* where the data begins in the archive */
};

/* Called for each member; return 0 to go on, > 0 to stop (tar_walk returns it), < 0 to fail with it. */
typedef int (*tar_visit_fn)(const struct tar_entry *e, void *userdata);

/* Walks the archive. Returns 0 at its end (or the visitor's positive value), -EBADMSG with a short reason
 * in why when the input is not a tar archive or is damaged, or the source's or the visitor's error. */
int tar_walk(const struct tar_source *src, tar_visit_fn visit, void *userdata, char *why, size_t why_size);

/* path.Clean of Go (lexical: "./a//b/../c" -> "a/c", "" -> "."), into out. Truncates to out_size. */
void tar_path_clean(const char *path, char *out, size_t out_size);

/* A source over a memory buffer (ctx points at a struct tar_memory). */
struct tar_memory {
    const uint8_t *data;
    size_t size;
};
void tar_source_memory(struct tar_source *src, struct tar_memory *mem, const void *data, size_t size);

/* A source over an open file descriptor (ctx holds the fd); size from fstat. */
int tar_source_fd(struct tar_source *src, int *fd);

/* Reads a member's whole data (at most max bytes, else -EFBIG) into a NUL-terminated buffer. */
int tar_read_member(const struct tar_source *src, const struct tar_entry *e, size_t max, char **ret);
