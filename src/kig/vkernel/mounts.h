/* Just enough of /proc/self/mountinfo to tell whose mount sits on a path. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The id of the topmost mount exactly at path (resolved with realpath when it exists): 0 when no mount
 * has path as its mount point, a negative errno when mountinfo cannot be read. If fstype is not NULL it
 * receives the mount's filesystem type. */
int mount_top_id(const char *path, char *fstype, size_t fstype_size);

/* Whether the mount with this id is mounted exactly at path (anywhere in a stack of mounts there). */
bool mount_id_at(int id, const char *path);

/* Unescapes mountinfo's octal escapes (\040 for a space...) in place. */
void mountinfo_unescape(char *s);
