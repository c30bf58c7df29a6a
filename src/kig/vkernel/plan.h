/* kig's virtual-kernel layer: "mount what you can, trap what you must".
 *
 *   vkernel_plan(features, options)  -> a list of actions (mkdir, write a file, symlink, mount, start
 *                                       kig-cgroupfs) plus the kig-trace rules the caller must enable for
 *                                       what mounts cannot give; a pure function of its inputs.
 *   vkernel_apply(plan, run_dir)     -> performs the actions in order, recording each one in
 *                                       <run-dir>/vkernel.json before and after doing it.
 *   vkernel_teardown(run_dir)        -> undoes, in reverse order, exactly the actions the state file says
 *                                       were started, from any process (`kig down`), after a crash too.
 *
 * Apply is idempotent: over an applied state it does nothing; over a half-applied one (a crash) it
 * finishes the recorded plan. A failed apply undoes what it did before returning. See docs/vkernel.md. */
#pragma once

#include "sandbox-features.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define VKERNEL_STATE_SCHEMA 1
#define VKERNEL_STATE_FILE   "vkernel.json"
#define VKERNEL_SUBDIR       "vkernel" /* <run-dir>/vkernel: kig's files (redirect targets, overlay layers) */

#define VKERNEL_PROC_SYS    "/proc/sys"
#define VKERNEL_CGROUP_ROOT "/sys/fs/cgroup"
#define VKERNEL_DEV_KMSG    "/dev/kmsg"

enum vk_action_type {
    VK_ACTION_MKDIR,          /* path, mode */
    VK_ACTION_WRITE_FILE,     /* path, content, mode: a new file */
    VK_ACTION_SYMLINK,        /* path -> source */
    VK_ACTION_MOUNT,          /* fstype ("tmpfs", "cgroup", "overlay", "bind"), source, path, options */
    VK_ACTION_START_CGROUPFS, /* kig-cgroupfs with args; it mounts FUSE at each of mountpoints */
    _VK_ACTION_TYPE_MAX,
};

enum vk_action_status {
    VK_PENDING, /* not started */
    VK_STARTED, /* recorded before doing it: a crash may have left it done, half done or not done */
    VK_DONE,
};

struct vk_action {
    enum vk_action_type type;
    char *path;    /* the target */
    char *source;  /* mount source, bind source, symlink target */
    char *fstype;  /* MOUNT */
    char *options; /* MOUNT data */
    char *content; /* WRITE_FILE */
    unsigned mode; /* MKDIR, WRITE_FILE */
    char **args;   /* START_CGROUPFS: arguments after the program name */
    size_t n_args;
    char **mountpoints; /* START_CGROUPFS: where it mounts (unmounted on teardown) */
    size_t n_mountpoints;
    char *why;       /* who needs it: one line, shown by `kig vkernel plan` */
    bool disposable; /* MKDIR: whatever ends up inside is kig's too (overlay layers): removed with it */

    /* What apply recorded (part of the state file, not of a fresh plan). */
    enum vk_action_status status;
    bool existed; /* MKDIR/WRITE_FILE/SYMLINK: the path existed before (never removed on teardown) */
    unsigned long long dev, ino; /* MKDIR/WRITE_FILE/SYMLINK: what was made, so teardown removes only that */
    int prior_mount_id; /* MOUNT: the topmost mount at path before (0: none); ours is any newer one */
    int mount_id;       /* MOUNT: the mount this action made */
    pid_t pid;          /* START_CGROUPFS */
    unsigned long long pid_start_time; /* /proc/PID/stat field 22, so a reused pid is never killed */
};

/* A rule kig-trace must enable for what mounts cannot give. */
struct vk_trace_rule {
    char *rule; /* kig-trace's rule name: "redirect", "statfs", "cgroup-magic", "cgroup-populate" */
    char *arg;  /* the rule's argument ("FROM=TO", a path), or NULL */
    char *why;
};

struct vkernel_plan {
    struct vk_action *actions;
    size_t n_actions, allocated_actions;
    struct vk_trace_rule *trace;
    size_t n_trace, allocated_trace;
    char **notes; /* what kig could not provide, one line each */
    size_t n_notes, allocated_notes;
    /* State file only: /proc/stat's btime when it was applied. A state file from an earlier boot (or an
     * earlier sandbox over the same run dir) describes mounts that no longer exist. */
    unsigned long long boot_time;
};

/* How the files missing in real hierarchies are added (plan-cgroup.c). */
enum vk_augment {
    VK_AUGMENT_AUTO,    /* overlay when possible, else kig-cgroupfs */
    VK_AUGMENT_FUSE,    /* kig-cgroupfs over the real hierarchy: computed values everywhere */
    VK_AUGMENT_OVERLAY, /* static honest files in the root, kernel-only paths */
};

struct vkernel_options {
    const char *run_dir; /* absolute; kig's files go to <run-dir>/vkernel */
    bool no_fuse;        /* do not use kig-cgroupfs even if FUSE works (fallbacks only) */
    enum vk_augment augment;
    const char *cgroupfs; /* the kig-cgroupfs program (NULL: "kig-cgroupfs", resolved at apply) */
    /* Top-level cgroup names kig's stack creates (containerd's "k8s.io", kubelet's "kubepods"): in the
     * fallbacks without FUSE these are prepared in advance. NULL: {"k8s.io", "kubepods", NULL}. */
    const char *const *cgroup_parents;
};

void vkernel_plan_free(struct vkernel_plan *p);
static inline void vkernel_plan_freep(struct vkernel_plan **p)
{
    vkernel_plan_free(*p);
}
#define _cleanup_vkernel_plan_ __attribute__((cleanup(vkernel_plan_freep)))

/* Computes the plan. Returns 0 or -ENOMEM / -EINVAL (run_dir not absolute). */
int vkernel_plan(const struct sandbox_features *f, const struct vkernel_options *o,
                 struct vkernel_plan **ret);

/* Building blocks (plan.c), used by the per-concern planners and the tests. All return 0 or -ENOMEM. */
struct vkernel_plan *vkernel_plan_new(void);
struct vk_action *plan_add(struct vkernel_plan *p, enum vk_action_type type, const char *path,
                           const char *why);
int plan_mkdir(struct vkernel_plan *p, const char *path, unsigned mode, const char *why);
int plan_write_file(struct vkernel_plan *p, const char *path, const char *content, unsigned mode,
                    const char *why);
int plan_symlink(struct vkernel_plan *p, const char *path, const char *target, const char *why);
int plan_mount(struct vkernel_plan *p, const char *fstype, const char *source, const char *path,
               const char *options, const char *why);
int plan_trace(struct vkernel_plan *p, const char *rule, const char *arg, const char *why);
int plan_note(struct vkernel_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a copy of string s to a string array. */
int vk_strv_push(char ***v, size_t *n, const char *s);

/* The per-concern planners (plan-sysctl.c, plan-cgroup.c, plan-dev.c). */
int plan_sysctl(struct vkernel_plan *p, const struct sandbox_features *f, const struct vkernel_options *o);
int plan_cgroup(struct vkernel_plan *p, const struct sandbox_features *f, const struct vkernel_options *o);
int plan_dev(struct vkernel_plan *p, const struct sandbox_features *f, const struct vkernel_options *o);

/* Looks an action up by type and path (NULL: not in the plan); for tests and status. */
const struct vk_action *vkernel_plan_find(const struct vkernel_plan *p, enum vk_action_type type,
                                          const char *path);
const struct vk_trace_rule *vkernel_plan_find_trace(const struct vkernel_plan *p, const char *rule,
                                                    const char *arg);

/* kig-trace's command-line arguments for the plan's trace rules, NULL-terminated, e.g.
 * {"--rule", "statfs", "--redirect", "/proc/sys/net/bridge=/run/kig/vkernel/sysctl/net/bridge", NULL}. */
int vkernel_plan_trace_argv(const struct vkernel_plan *p, char ***ret, size_t *ret_n);
void vk_strv_free(char **v);

/* "mkdir", "write-file", ...; NULL out of range. */
const char *vk_action_type_name(enum vk_action_type t);
int vk_action_type_from_name(const char *s);
const char *vk_action_status_name(enum vk_action_status s);

/* JSON (plan-json.c). with_status adds what apply recorded (the state file's form). */
int vkernel_plan_to_json(const struct vkernel_plan *p, bool with_status, json_t **ret);
/* Parses a plan (any input is safe): -EBADMSG when it is not one. */
int vkernel_plan_from_json(const json_t *j, struct vkernel_plan **ret);
/* Prints the plan for people, one action per line. */
void vkernel_plan_print(const struct vkernel_plan *p, FILE *out);

/* Apply and teardown (apply.c). */
int vkernel_apply(const struct vkernel_plan *plan, const char *run_dir);
int vkernel_teardown(const char *run_dir);

/* The state file (state.c). */
char *vkernel_state_path(const char *run_dir);
/* Loads <run-dir>/vkernel.json: 0 and the plan with its recorded statuses, -ENOENT when nothing is applied,
 * -EBADMSG for a damaged file. */
int vkernel_state_load(const char *run_dir, struct vkernel_plan **ret);
int vkernel_state_save(const char *run_dir, const struct vkernel_plan *p);
int vkernel_state_remove(const char *run_dir);
