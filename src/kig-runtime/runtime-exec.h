/* Running the real OCI runtime (crun preferred, runc as fallback), optionally under kig-trace.
 *
 *   KIG_OCI_RUNTIME   "crun", "runc" or a path (its kind is taken from the file name); default: crun when
 *                     installed, else runc (paths from src/libkig/components.h: KIG_CRUN, KIG_RUNC, PATH)
 *   KIG_TRACE         path of kig-trace: every runtime invocation becomes
 *                     `$KIG_TRACE $KIG_TRACE_ARGS -- RUNTIME ARGS...`
 *   KIG_TRACE_ARGS    extra kig-trace options, split on white space
 *
 * The runtime keeps its own state in ROOT/crun or ROOT/runc, beside kig-runtime's ROOT/kig. */
#pragma once

#include "cli.h"
#include "macro.h"
#include "spec-rewrite.h"

#include <jansson.h>

struct oci_runtime {
    enum oci_runtime_kind kind;
    char *path;
    char *root;
};

const char *oci_runtime_kind_name(enum oci_runtime_kind kind);

/* Chooses the runtime from KIG_OCI_RUNTIME or what is installed. Logs and returns -ENOENT if none. */
int oci_runtime_select(const struct global_options *g, struct oci_runtime *ret);
/* The runtime at path (as recorded for an existing container). */
int oci_runtime_at(const struct global_options *g, const char *path, enum oci_runtime_kind kind,
                   struct oci_runtime *ret);
void oci_runtime_done(struct oci_runtime *rt);

/* A NULL-terminated argv running the runtime with the global options and args. with_log passes --log and
 * --log-format, so the runtime's errors reach the shim; internal queries leave them out. Returns NULL on
 * ENOMEM. Free with strv_free(). */
char **oci_runtime_argv(const struct oci_runtime *rt, const struct global_options *g, bool with_log,
                        const char *const *args, size_t n_args);
void strv_free(char **v);

/* Runs the runtime with our stdio (and any inherited fds) in cwd (NULL: ours) and waits. Returns 0 with its
 * exit code, or a negative errno when it could not be started. */
int oci_runtime_run(const struct oci_runtime *rt, const struct global_options *g, const char *const *args,
                    size_t n_args, const char *cwd, int *ret_exit_code);
/* Replaces this process with the runtime. Returns only on failure (-errno, logged). */
int oci_runtime_exec(const struct oci_runtime *rt, const struct global_options *g, const char *const *args,
                     size_t n_args);

/* A memfd (close-on-exec) holding a copy of the file at path, sealed against any change: what crun and
 * runc check /proc/self/exe for before they skip copying themselves. Returns the fd or -errno. */
int oci_runtime_sealed_copy(const char *path);

/* `runtime state ID`, parsed. Returns -ENOENT when the runtime does not know the container. */
int oci_runtime_state(const struct oci_runtime *rt, const struct global_options *g, const char *id,
                      json_t **ret);
