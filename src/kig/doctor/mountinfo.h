/* A parsed /proc/self/mountinfo, for probes that must know what is mounted where. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct mount_entry {
    int id;
    int parent_id;
    char *mountpoint; /* unescaped */
    char *fstype;
    char *source;
    char *super_options;
};

struct mount_table {
    struct mount_entry *entries;
    size_t n;
};

/* Reads /proc/self/mountinfo. Returns 0 or -errno. */
int mount_table_read(struct mount_table *t);
void mount_table_done(struct mount_table *t);
/* The topmost mount on exactly this path, or NULL. */
const struct mount_entry *mount_table_find(const struct mount_table *t, const char *mountpoint);
/* The mount with this id, or NULL. */
const struct mount_entry *mount_table_find_id(const struct mount_table *t, int id);
/* True when the comma-separated super options hold the option exactly. */
bool mount_entry_has_option(const struct mount_entry *e, const char *option);
