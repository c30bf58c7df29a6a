/* /sys/fs/cgroup laid out as on a cgroup v1 host, when nothing is mounted there (gVisor).
 *
 *   - a tmpfs at /sys/fs/cgroup, and each controller the kernel has mounted at /sys/fs/cgroup/NAME (real
 *     ones first: runc judges the whole layout by the first directory entry it reads);
 *   - the files cAdvisor needs that the kernel's hierarchies lack (cpuacct.usage_percpu, the root's
 *     pids.max, memory.stat...): with FUSE, kig-cgroupfs mounts over the real hierarchy, passes every
 *     call through and adds the missing files with computed values; without FUSE, an overlay adds honest
 *     static ones (no per-CPU figures, no root limit) and symlinks kig's top-level cgroups to a second
 *     mount of the real hierarchy so that directories made there are real cgroups;
 *   - the controllers the kernel lacks (devices, freezer, ...): with FUSE, emulated by kig-cgroupfs (a new
 *     directory is complete before mkdir returns; membership, device rules and freezing behave as on
 *     Linux, see docs/vkernel.md); without FUSE, a tmpfs pre-populated for the root and kig's own top-level
 *     cgroups, plus a kig-trace request to populate directories made later.
 * A host that already has cgroups mounted (v1, v2 or hybrid) is left alone. */
#include "cgroup-files.h"
#include "plan.h"

#include "fileutil.h"
#include "macro.h"

#include <stdio.h>
#include <string.h>

struct cgroup_planner {
    struct vkernel_plan *p;
    const struct sandbox_features *f;
    const struct vkernel_options *o;
    bool use_fuse;
    char *vkernel_dir;
    char **emulate, **augment, **mountpoints;
    size_t n_emulate, n_augment, n_mountpoints;
    /* Files of kig-cgroupfs's augment mounts bound into overlays once it serves: source, target pairs. */
    char **binds;
    size_t n_binds;
};

static void planner_done(struct cgroup_planner *s)
{
    free(s->vkernel_dir);
    vk_strv_free(s->emulate);
    vk_strv_free(s->augment);
    vk_strv_free(s->mountpoints);
    vk_strv_free(s->binds);
}

static char *controller_path(enum cgroup_controller c)
{
    return path_join(VKERNEL_CGROUP_ROOT, cgroup_controller_name(c));
}

static int mkdir_once(struct vkernel_plan *p, const char *path, unsigned mode, const char *why)
{
    if (vkernel_plan_find(p, VK_ACTION_MKDIR, path))
        return 0;
    return plan_mkdir(p, path, mode, why);
}

static bool controller_has_gap(const struct sandbox_features *f, enum cgroup_controller c)
{
    for (int g = 0; g < _CGROUP_GAP_MAX; g++)
        if (f->cgroup_gap[g] && cgroup_gap_controller(g) == c)
            return true;
    return false;
}

static int magic_rule(struct cgroup_planner *s, const char *mountpoint, const char *what)
{
    char why[200];
    snprintf(why, sizeof(why),
             "%s is %s: statfs there must say CGROUP_SUPER_MAGIC (runc's mount-point and file checks)",
             mountpoint, what);
    return plan_trace(s->p, "cgroup-magic", mountpoint, why);
}

/* Writes the files an emulated directory has, with their initial content, into dir. */
static int write_emulated_files(struct cgroup_planner *s, enum cgroup_controller c, const char *dir,
                                bool is_root)
{
    for (size_t i = 0; i < cgroup_file_table_size; i++) {
        const struct cgroup_file_spec *spec = &cgroup_file_table[i];
        if (!cgroup_file_applies(spec, c, is_root))
            continue;
        _cleanup_free_ char *path = path_join(dir, spec->name);
        _cleanup_free_ char *content = NULL;
        if (!path ||
            asprintf(&content, "%s%s", spec->initial ? spec->initial : "", spec->initial ? "\n" : "") < 0)
            return -ENOMEM;
        int r =
            plan_write_file(s->p, path, content, cgroup_file_mode(spec), "a file of the emulated hierarchy");
        if (r < 0)
            return r;
    }
    return 0;
}

/* Without FUSE: a tmpfs with the root's files, kig's top-level cgroups made in advance, and a template
 * that kig-trace copies into directories made later. */
static int plan_emulate_tmpfs(struct cgroup_planner *s, enum cgroup_controller c, const char *mountpoint)
{
    const char *name = cgroup_controller_name(c);
    char source[64], why[200];
    snprintf(source, sizeof(source), "kig-cgroup-%s", name);
    snprintf(why, sizeof(why), "the kernel has no %s controller and FUSE is not available: a static stand-in",
             name);
    int r = plan_mount(s->p, "tmpfs", source, mountpoint, "mode=0755", why);
    if (r >= 0)
        r = write_emulated_files(s, c, mountpoint, true);
    for (const char *const *parent = s->o->cgroup_parents; r >= 0 && *parent; parent++) {
        _cleanup_free_ char *dir = path_join(mountpoint, *parent);
        r = dir ? plan_mkdir(s->p, dir, 0755, "a top-level cgroup kig's stack uses, made in advance")
                : -ENOMEM;
        if (r >= 0)
            r = write_emulated_files(s, c, dir, false);
    }
    if (r < 0)
        return r;

    _cleanup_free_ char *templates = path_join(s->vkernel_dir, "cgroup-template");
    _cleanup_free_ char *tmpl = templates ? path_join(templates, name) : NULL;
    _cleanup_free_ char *arg = NULL;
    if (!tmpl || asprintf(&arg, "%s=%s", mountpoint, tmpl) < 0)
        return -ENOMEM;
    r = mkdir_once(s->p, templates, 0755, "files copied into new directories of emulated hierarchies");
    if (r >= 0)
        r = plan_mkdir(s->p, tmpl, 0755, "the files of a new directory");
    if (r >= 0)
        r = write_emulated_files(s, c, tmpl, false);
    if (r >= 0)
        r = plan_trace(
            s->p, "cgroup-populate", arg,
            "directories made in a static stand-in hierarchy must get its files before mkdir returns");
    if (r >= 0)
        r = magic_rule(s, mountpoint, "a tmpfs stand-in");
    if (r >= 0)
        r = plan_note(s->p,
                      "%s: static stand-in without FUSE: writes are kept but cgroup.procs only remembers the "
                      "last pid written, and device rules are not evaluated (runc's devices check fails; "
                      "crun ignores controllers /proc/self/cgroup does not list)",
                      mountpoint);
    return r;
}

/* Static content for a gap, when it is honest without computing anything; NULL when it is not. */
static const char *static_gap_content(enum cgroup_gap g)
{
    switch (g) {
    case CGROUP_GAP_CPUACCT_USAGE_PERCPU:
        return ""; /* no per-CPU accounting: no figures, rather than invented ones */
    case CGROUP_GAP_PIDS_MAX:
        return "max\n"; /* the root cgroup has no limit */
    default:
        return NULL;
    }
}

/* Files whose values must be computed (memory.stat...): kig-cgroupfs augments the second mount of the
 * real hierarchy at <base>/<name>.aug, and each file is bound from there onto a placeholder in the
 * overlay's root. Only the root gets them this way; the directories under kig's top-level cgroups are the
 * kernel's own (see plan_gaps for serving every directory). */
static int plan_computed_files(struct cgroup_planner *s, enum cgroup_controller c, const char *mountpoint,
                               const char *base, const char *real, const char *upper)
{
    const char *name = cgroup_controller_name(c);
    char aug[160], arg[400];
    snprintf(aug, sizeof(aug), "%s/%s.aug", base, name);
    snprintf(arg, sizeof(arg), "%s=%s:%s", name, aug, real);
    int r = plan_mkdir(s->p, aug, 0755, "kig-cgroupfs's view of the real hierarchy, with computed files");
    if (r >= 0)
        r = vk_strv_push(&s->augment, &s->n_augment, arg);
    if (r >= 0)
        r = vk_strv_push(&s->mountpoints, &s->n_mountpoints, aug);
    for (int g = 0; g < _CGROUP_GAP_MAX && r >= 0; g++) {
        if (!s->f->cgroup_gap[g] || cgroup_gap_controller(g) != c || static_gap_content(g))
            continue;
        _cleanup_free_ char *placeholder = path_join(upper, cgroup_gap_file(g));
        _cleanup_free_ char *source = path_join(aug, cgroup_gap_file(g));
        _cleanup_free_ char *target = path_join(mountpoint, cgroup_gap_file(g));
        if (!placeholder || !source || !target)
            return -ENOMEM;
        r = plan_write_file(s->p, placeholder, "", 0444, "placeholder for a file kig-cgroupfs computes");
        if (r >= 0)
            r = vk_strv_push(&s->binds, &s->n_binds, source);
        if (r >= 0)
            r = vk_strv_push(&s->binds, &s->n_binds, target);
    }
    return r;
}

/* An overlay over the real hierarchy adds static files; kig's top-level cgroups are symlinks to a second
 * mount of the same hierarchy, so that what runc or crun makes under them is a real cgroup. This is the
 * default even with FUSE: it keeps crun's path on the kernel's own filesystem (see plan_gaps). */
static int plan_gap_overlay(struct cgroup_planner *s, enum cgroup_controller c, const char *mountpoint)
{
    const char *name = cgroup_controller_name(c);
    bool any_static = false, any_computed = false;
    for (int g = 0; g < _CGROUP_GAP_MAX; g++) {
        if (!s->f->cgroup_gap[g] || cgroup_gap_controller(g) != c)
            continue;
        if (static_gap_content(g))
            any_static = true;
        else if (s->use_fuse)
            any_computed = true;
        else {
            int r = plan_note(s->p,
                              "%s/%s is missing and, without FUSE, has no honest static value: cAdvisor "
                              "reports no breakdown for it",
                              mountpoint, cgroup_gap_file(g));
            if (r < 0)
                return r;
        }
    }
    if (!any_static && !any_computed)
        return 0;

    /* Everything lives in kig's tmpfs at /sys/fs/cgroup (gone with it), under .kig: the second mount's
     * paths stay under /sys/fs/cgroup, where kig-trace's statfs rule answers for cgroup files, and the
     * overlay's layers are on a tmpfs whatever the run dir's filesystem. gVisor lists a tmpfs in creation
     * order, so the real controllers made before stay the first entries runc reads. */
    char base[64], real[128], upper[128], work[128];
    snprintf(base, sizeof(base), "%s/.kig", VKERNEL_CGROUP_ROOT);
    snprintf(real, sizeof(real), "%s/%s", base, name);
    snprintf(upper, sizeof(upper), "%s/%s.upper", base, name);
    snprintf(work, sizeof(work), "%s/%s.work", base, name);
    _cleanup_free_ char *options = NULL;
    if (asprintf(&options, "lowerdir=%s,upperdir=%s,workdir=%s", mountpoint, upper, work) < 0)
        return -ENOMEM;
    int r = mkdir_once(s->p, base, 0755, "second mounts and overlay layers of real hierarchies");
    if (r >= 0)
        r = plan_mkdir(s->p, real, 0755, "a second mount of the real hierarchy");
    if (r >= 0)
        r = plan_mkdir(s->p, upper, 0755, "the overlay's upper layer");
    if (r >= 0)
        s->p->actions[s->p->n_actions - 1].disposable = true; /* what is written through the overlay */
    if (r >= 0)
        r = plan_mkdir(s->p, work, 0755, "the overlay's work directory");
    if (r >= 0)
        s->p->actions[s->p->n_actions - 1].disposable = true; /* overlayfs's own work/ inside */
    if (r >= 0)
        r = plan_mount(s->p, "cgroup", name, real, name, "the real hierarchy, reachable past the overlay");
    for (const char *const *parent = s->o->cgroup_parents; r >= 0 && *parent; parent++) {
        _cleanup_free_ char *dir = path_join(real, *parent);
        _cleanup_free_ char *link = path_join(upper, *parent);
        r = dir && link ? plan_mkdir(s->p, dir, 0755, "a top-level cgroup kig's stack uses (real)") : -ENOMEM;
        if (r >= 0)
            r = plan_symlink(s->p, link, dir,
                             "directories made in an overlay are not cgroups: go to the real one");
    }
    for (int g = 0; g < _CGROUP_GAP_MAX && r >= 0; g++) {
        if (!s->f->cgroup_gap[g] || cgroup_gap_controller(g) != c || !static_gap_content(g))
            continue;
        _cleanup_free_ char *file = path_join(upper, cgroup_gap_file(g));
        r = file ? plan_write_file(s->p, file, static_gap_content(g), 0444,
                                   "cAdvisor drops the root cgroup's stats when this file is missing")
                 : -ENOMEM;
    }
    if (r >= 0 && any_computed)
        r = plan_computed_files(s, c, mountpoint, base, real, upper);
    char source[64];
    snprintf(source, sizeof(source), "kig-cgroup-%s", name);
    /* runc's mount-point check fails on the overlay's statfs and falls back to mountinfo, which lists
     * the real hierarchy underneath: no trace rule needed for the overlay itself. */
    if (r >= 0)
        r = plan_mount(s->p, "overlay", source, mountpoint, options, "adds the files cAdvisor needs");
    return r;
}

static int plan_cgroupfs_daemon(struct cgroup_planner *s)
{
    if (s->n_emulate == 0 && s->n_augment == 0)
        return 0;
    struct vk_action *a = plan_add(s->p, VK_ACTION_START_CGROUPFS, s->o->cgroupfs,
                                   "emulates the missing controllers and adds the files cAdvisor needs");
    if (!a)
        return -ENOMEM;
    _cleanup_free_ char *pidfile = path_join(s->vkernel_dir, "cgroupfs.pid");
    _cleanup_free_ char *logfile = path_join(s->vkernel_dir, "cgroupfs.log");
    if (!pidfile || !logfile)
        return -ENOMEM;
    int r = vk_strv_push(&a->args, &a->n_args, "--pidfile");
    if (r >= 0)
        r = vk_strv_push(&a->args, &a->n_args, pidfile);
    if (r >= 0)
        r = vk_strv_push(&a->args, &a->n_args, "--log");
    if (r >= 0)
        r = vk_strv_push(&a->args, &a->n_args, logfile);
    for (size_t i = 0; i < s->n_emulate && r >= 0; i++) {
        r = vk_strv_push(&a->args, &a->n_args, "--emulate");
        if (r >= 0)
            r = vk_strv_push(&a->args, &a->n_args, s->emulate[i]);
    }
    for (size_t i = 0; i < s->n_augment && r >= 0; i++) {
        r = vk_strv_push(&a->args, &a->n_args, "--augment");
        if (r >= 0)
            r = vk_strv_push(&a->args, &a->n_args, s->augment[i]);
    }
    for (size_t i = 0; i < s->n_mountpoints && r >= 0; i++)
        r = vk_strv_push(&a->mountpoints, &a->n_mountpoints, s->mountpoints[i]);
    return r;
}

static int plan_computed_binds(struct cgroup_planner *s)
{
    for (size_t i = 0; i + 1 < s->n_binds; i += 2) {
        int r = plan_mount(s->p, "bind", s->binds[i], s->binds[i + 1], NULL,
                           "computed by kig-cgroupfs (cAdvisor reads it; the kernel lacks it)");
        if (r < 0)
            return r;
    }
    return 0;
}

static int add_fuse_mount(struct cgroup_planner *s, char ***list, size_t *n, enum cgroup_controller c,
                          const char *mountpoint)
{
    _cleanup_free_ char *arg = NULL;
    if (asprintf(&arg, "%s=%s", cgroup_controller_name(c), mountpoint) < 0)
        return -ENOMEM;
    int r = vk_strv_push(list, n, arg);
    if (r >= 0)
        r = vk_strv_push(&s->mountpoints, &s->n_mountpoints, mountpoint);
    return r;
}

static int plan_real_controllers(struct cgroup_planner *s)
{
    for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++) {
        if (!s->f->controller[c].mountable)
            continue;
        _cleanup_free_ char *mountpoint = controller_path(c);
        if (!mountpoint)
            return -ENOMEM;
        const char *name = cgroup_controller_name(c);
        int r = plan_mkdir(s->p, mountpoint, 0755, "mount point of a real controller");
        if (r >= 0)
            r = plan_mount(s->p, "cgroup", name, mountpoint, name, "a controller the kernel has");
        if (r < 0)
            return r;
    }
    return 0;
}

/* The files cAdvisor needs, by overlay (default) or by kig-cgroupfs (--augment fuse). kig-cgroupfs serves
 * them in every directory with computed values (per-container CPU and memory figures), but crun then
 * meets gVisor 20221219's FUSE statx bug (STATX_TYPE alone gives mode 0, so its mkdir -p says "not a
 * directory") until kig-trace corrects that call: the plan asks for the "fuse-statx" rule. */
static int plan_gaps(struct cgroup_planner *s)
{
    for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++) {
        if (!s->f->controller[c].mountable || !controller_has_gap(s->f, c))
            continue;
        _cleanup_free_ char *mountpoint = controller_path(c);
        if (!mountpoint)
            return -ENOMEM;
        int r;
        bool overlay = s->f->overlay && s->f->cgroup_mount_twice;
        bool fuse = s->use_fuse &&
                    (s->o->augment == VK_AUGMENT_FUSE || (s->o->augment == VK_AUGMENT_AUTO && !overlay));
        if (fuse) {
            r = add_fuse_mount(s, &s->augment, &s->n_augment, c, mountpoint);
            if (r >= 0)
                r = plan_trace(s->p, "fuse-statx", NULL,
                               "gVisor answers statx(STATX_TYPE) on FUSE files with mode 0: crun's mkdir -p "
                               "check of cgroup directories fails on kig-cgroupfs's augmented hierarchies");
        } else if (overlay && s->o->augment != VK_AUGMENT_FUSE) {
            r = plan_gap_overlay(s, c, mountpoint);
        } else {
            r = plan_note(s->p, "%s lacks files cAdvisor reads and neither FUSE nor overlay can add them",
                          mountpoint);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static int plan_emulated(struct cgroup_planner *s)
{
    for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++) {
        if (s->f->controller[c].mountable || !cgroup_controller_emulatable(c))
            continue;
        _cleanup_free_ char *mountpoint = controller_path(c);
        if (!mountpoint)
            return -ENOMEM;
        int r = plan_mkdir(s->p, mountpoint, 0755, "mount point of an emulated controller");
        if (r >= 0 && s->use_fuse) {
            r = add_fuse_mount(s, &s->emulate, &s->n_emulate, c, mountpoint);
        } else if (r >= 0) {
            r = plan_emulate_tmpfs(s, c, mountpoint);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static bool any_v1_mountable(const struct sandbox_features *f)
{
    for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
        if (f->controller[c].mountable)
            return true;
    return false;
}

int plan_cgroup(struct vkernel_plan *p, const struct sandbox_features *f, const struct vkernel_options *o)
{
    if (f->cgroup_layout != CGROUP_LAYOUT_EMPTY)
        return 0; /* the host's own layout, whatever it is */
    if (!f->tmpfs)
        return plan_note(p, "/sys/fs/cgroup: tmpfs mounts fail here, kig cannot lay out cgroups");
    if (!any_v1_mountable(f)) {
        if (f->cgroup2_mountable)
            return plan_mount(p, "cgroup2", "cgroup2", VKERNEL_CGROUP_ROOT, NULL,
                              "the kernel offers cgroup v2 only: mounted where kubelet looks");
        return plan_note(p, "/sys/fs/cgroup: the kernel offers no cgroup controller; kubelet will not start");
    }

    _cleanup_(planner_done) struct cgroup_planner s = {
        .p = p, .f = f, .o = o, .use_fuse = f->fuse && !o->no_fuse};
    s.vkernel_dir = path_join(o->run_dir, VKERNEL_SUBDIR);
    if (!s.vkernel_dir)
        return -ENOMEM;
    int r = plan_mount(p, "tmpfs", "kig-cgroup", VKERNEL_CGROUP_ROOT, "mode=0755",
                       "the cgroup v1 layout kubelet, runc and cAdvisor expect");
    if (r >= 0)
        r = mkdir_once(p, s.vkernel_dir, 0755, "kig's virtual-kernel files");
    if (r >= 0)
        r = plan_real_controllers(&s);
    if (r >= 0)
        r = plan_gaps(&s);
    if (r >= 0)
        r = plan_emulated(&s);
    if (r >= 0)
        r = plan_cgroupfs_daemon(&s);
    if (r >= 0)
        r = plan_computed_binds(&s);
    /* runc checks every cgroup file (and the mount points) for CGROUP_SUPER_MAGIC. gVisor answers ENOSYS
     * for files of its own hierarchies, and kig-cgroupfs answers ENOSYS for everything it serves: the
     * statfs rule turns that ENOSYS into the magic for paths under /sys/fs/cgroup. */
    if (r >= 0 && !f->cgroup_file_statfs)
        r = plan_trace(p, "statfs", NULL,
                       "fstatfs on cgroup files gives ENOSYS; runc checks each one for CGROUP_SUPER_MAGIC");
    if (r >= 0 && s.n_mountpoints > 0)
        r = plan_trace(p, "statfs", NULL,
                       "kig-cgroupfs answers statfs with ENOSYS; runc checks its directories and files for "
                       "CGROUP_SUPER_MAGIC");
    return r;
}
