/* The mount table (/proc/self/mountinfo), parsed. kig-runtime reads it to find cgroup hierarchies and to
 * sweep the mounts a container left under its rootfs (every mount is sandbox-wide where mount namespaces
 * do not isolate). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct mount_entry {
    char *root;        /* the mounted directory inside its filesystem */
    char *mount_point; /* unescaped (\040 and friends decoded) */
    char *fstype;
    char *source;
    char *super_options; /* "rw,cpu" for a cgroup v1 hierarchy */
};

struct mount_table {
    struct mount_entry *entries;
    size_t n;
};

/* Parses mountinfo text. Malformed lines are skipped. Returns 0 or -ENOMEM. */
int mount_table_parse(const char *text, struct mount_table *ret);
/* Reads and parses /proc/self/mountinfo. */
int mount_table_read(struct mount_table *ret);
void mount_table_free(struct mount_table *t);

/* True when path is below dir (strictly: dir itself is not below dir). Both absolute, no trailing slash
 * except for "/". */
bool path_is_below(const char *path, const char *dir);

/* True when the comma-separated option list holds option exactly. */
bool option_list_has(const char *list, const char *option);
