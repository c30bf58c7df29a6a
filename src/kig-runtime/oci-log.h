/* Where kig-runtime's messages go, in runc's manner.
 *
 * containerd-shim runs the runtime with --log FILE --log-format json and, when a command fails, shows the
 * "msg" of the last {"level":"error"} line of that file. With --log, messages go only to the file: the shim
 * hands the container's stdio pipes to `create`, so anything written to stderr would end up in the
 * container's log. Without --log they go to stderr as plain lines. Either way every libkig log_* call is
 * routed here, so all of kig-runtime's errors reach the shim.
 *
 * Commands whose output the shim reads (kill, delete, state, start...) also print each error on stderr, as
 * runc does: go-runc puts that output into the error it returns, and containerd matches words in it. */
#pragma once

#include <stdbool.h>

enum oci_log_format {
    OCI_LOG_TEXT,
    OCI_LOG_JSON,
};

/* Returns -EINVAL for an unknown format name ("text" and "json" are known). */
int oci_log_format_from_string(const char *s, enum oci_log_format *ret);

/* With --log, also print error messages on stderr (runc's fatal()). Not for create and exec: their stderr
 * is the container's. */
void oci_log_errors_to_stderr(bool on);

/* Sends libkig's log to path (appended; NULL: stderr) in the given format. Returns 0 or -errno (the log then
 * stays on stderr). */
int oci_log_open(const char *path, enum oci_log_format format);

/* Formats one log line as runc does: {"level":"error","msg":"...","time":"2006-01-02T15:04:05.000000000Z"}
 * for json, time="..." level=error msg="..." for text. Returns a new string, NULL on ENOMEM. */
char *oci_log_format_line(enum oci_log_format format, const char *level, const char *msg);
