/* /proc/sys: the entries of sysctl-table.c that the sandbox lacks (or has read-only with a value kubelet
 * would have to change) are provided, everything else is left as it is.
 *
 * Files cannot be created in /proc/sys, so a directory that needs new entries is either
 *   shadowed: the real directory is bind-mounted aside (<run-dir>/vkernel/proc-sys/kernel), a tmpfs is
 *     mounted over it, every real entry is bind-mounted back into the tmpfs (so hostname, yama, shm*, the
 *     vm knobs... stay the kernel's own, live, with their own permissions) and the missing entries are
 *     written as plain files that keep what is written to them; or
 *   redirected: the missing entries are files under <run-dir>/vkernel/sysctl and kig-trace's redirect rule
 *     sends the paths there. Only traced processes see them.
 * kernel/ and vm/ are shadowed when the sandbox can mount a tmpfs over them (gVisor can). net/ is never
 * shadowed: its files are the netstack's live knobs (ip_forward must reach the netstack for kig's
 * networking), gVisor's net/ has no per-netns view to preserve through a copy, and the missing parts are
 * whole directories (net/bridge, net/netfilter, net/ipv4/conf, net/ipv6) that one redirect each covers. */
#include "plan.h"
#include "sysctl-table.h"

#include "fileutil.h"
#include "macro.h"

#include <stdio.h>
#include <string.h>

enum need {
    NEED_NOTHING,
    NEED_CREATE, /* missing */
    NEED_SHADOW, /* present, read-only, with a value kubelet would try to change */
};

struct sysctl_planner {
    struct vkernel_plan *p;
    const struct sandbox_features *f;
    const struct vkernel_options *o;
    enum need need[64];
    char *vkernel_dir;  /* <run-dir>/vkernel */
    char *lower_dir;    /* <run-dir>/vkernel/proc-sys */
    char *redirect_dir; /* <run-dir>/vkernel/sysctl */
};

static void planner_done(struct sysctl_planner *s)
{
    free(s->vkernel_dir);
    free(s->lower_dir);
    free(s->redirect_dir);
}

static bool path_is_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* The first component of path: "kernel" for "kernel/keys/root_maxkeys". */
static void top_dir(const char *path, char *buf, size_t size)
{
    snprintf(buf, size, "%.*s", (int)strcspn(path, "/"), path);
}

static int mkdir_once(struct vkernel_plan *p, const char *path, unsigned mode, const char *why)
{
    if (vkernel_plan_find(p, VK_ACTION_MKDIR, path))
        return 0;
    return plan_mkdir(p, path, mode, why);
}

static int ensure_vkernel_dir(struct sysctl_planner *s)
{
    return mkdir_once(s->p, s->vkernel_dir, 0755, "kig's virtual-kernel files");
}

static bool top_needs_anything(const struct sysctl_planner *s, const char *top)
{
    for (size_t i = 0; i < sysctl_table_size; i++)
        if (s->need[i] != NEED_NOTHING && path_is_under(sysctl_table[i].path, top))
            return true;
    return false;
}

static bool dir_needs_anything(const struct sysctl_planner *s, const char *dir)
{
    return top_needs_anything(s, dir);
}

static int write_spec(struct sysctl_planner *s, const struct sysctl_spec *spec, const char *where)
{
    _cleanup_free_ char *content = NULL;
    int r = sysctl_spec_content(spec, s->f, &content);
    if (r < 0)
        return r;
    return plan_write_file(s->p, where, content, (spec->flags & SYSCTL_READ_ONLY) ? 0444 : 0644, spec->who);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The entries the sandbox has directly under dir, sorted (so plans are stable). */
static int children_of(const struct sandbox_features *f, const char *dir, const char ***ret, size_t *ret_n)
{
    size_t n = 0;
    const char **v = calloc(f->n_sysctl + 1, sizeof(char *));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < f->n_sysctl; i++) {
        const char *path = f->sysctl[i].path;
        if (path_is_under(path, dir) && !strchr(path + strlen(dir) + 1, '/'))
            v[n++] = path;
    }
    qsort(v, n, sizeof(char *), compare_strings);
    *ret = v;
    *ret_n = n;
    return 0;
}

static int fill_shadow_dir(struct sysctl_planner *s, const char *dir, const char *lower_top, const char *top);

/* Puts one real entry back into the tmpfs: a placeholder bind-mounted over by the real file or directory. */
static int bind_real_entry(struct sysctl_planner *s, const struct sysctl_entry_features *e,
                           const char *lower_top, const char *top)
{
    _cleanup_free_ char *target = path_join(VKERNEL_PROC_SYS, e->path);
    _cleanup_free_ char *source = path_join(lower_top, e->path + strlen(top));
    if (!target || !source)
        return -ENOMEM;
    int r = e->is_dir ? plan_mkdir(s->p, target, 0555, "placeholder for the real directory")
                      : plan_write_file(s->p, target, "", 0444, "placeholder for the real file");
    if (r < 0)
        return r;
    return plan_mount(s->p, "bind", source, target, NULL, "the kernel's own entry, kept live");
}

static int fill_shadow_dir(struct sysctl_planner *s, const char *dir, const char *lower_top, const char *top)
{
    const char **children;
    size_t n;
    int r = children_of(s->f, dir, &children, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n && r >= 0; i++) {
        const struct sysctl_entry_features *e = sandbox_features_sysctl(s->f, children[i]);
        const struct sysctl_spec *spec = sysctl_spec_find(e->path);
        size_t idx = spec ? (size_t)(spec - sysctl_table) : 0;
        if (e->is_dir && dir_needs_anything(s, e->path)) {
            _cleanup_free_ char *target = path_join(VKERNEL_PROC_SYS, e->path);
            r = target ? plan_mkdir(s->p, target, 0555, "holds entries kig adds") : -ENOMEM;
            if (r >= 0)
                r = fill_shadow_dir(s, e->path, lower_top, top);
        } else if (!e->is_dir && spec && s->need[idx] == NEED_SHADOW) {
            _cleanup_free_ char *target = path_join(VKERNEL_PROC_SYS, e->path);
            r = target ? write_spec(s, spec, target) : -ENOMEM;
        } else {
            r = bind_real_entry(s, e, lower_top, top);
        }
    }
    free(children);
    if (r < 0)
        return r;

    /* Missing entries under dir: files directly in it, and missing subdirectories (each made once). */
    for (size_t i = 0; i < sysctl_table_size; i++) {
        const struct sysctl_spec *spec = &sysctl_table[i];
        if (s->need[i] != NEED_CREATE || !path_is_under(spec->path, dir))
            continue;
        const char *rest = spec->path + strlen(dir) + 1;
        const char *slash = strchr(rest, '/');
        if (!slash) {
            _cleanup_free_ char *target = path_join(VKERNEL_PROC_SYS, spec->path);
            r = target ? write_spec(s, spec, target) : -ENOMEM;
            if (r < 0)
                return r;
            continue;
        }
        char sub[256];
        snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(slash - rest), rest);
        if (sandbox_features_sysctl(s->f, sub))
            continue; /* an existing directory: handled above */
        _cleanup_free_ char *target = path_join(VKERNEL_PROC_SYS, sub);
        if (!target)
            return -ENOMEM;
        if (vkernel_plan_find(s->p, VK_ACTION_MKDIR, target))
            continue;
        r = plan_mkdir(s->p, target, 0555, "a directory the kernel lacks");
        if (r >= 0)
            r = fill_shadow_dir(s, sub, lower_top, top);
        if (r < 0)
            return r;
    }
    return 0;
}

static int plan_shadow_top(struct sysctl_planner *s, const char *top)
{
    _cleanup_free_ char *lower_top = path_join(s->lower_dir, top);
    _cleanup_free_ char *real = path_join(VKERNEL_PROC_SYS, top);
    if (!lower_top || !real)
        return -ENOMEM;
    char why[160];
    int r = ensure_vkernel_dir(s);
    if (r >= 0)
        r = mkdir_once(s->p, s->lower_dir, 0755, "the real /proc/sys directories, set aside");
    if (r >= 0)
        r = plan_mkdir(s->p, lower_top, 0755, "the real directory, set aside");
    if (r >= 0)
        r = plan_mount(s->p, "bind", real, lower_top, NULL,
                       "keeps the real entries reachable under the tmpfs");
    snprintf(why, sizeof(why), "/proc/sys/%s lacks entries and cannot hold new files: a tmpfs holds them",
             top);
    if (r >= 0)
        r = plan_mount(s->p, "tmpfs", "kig-sysctl", real, "mode=0555", why);
    if (r >= 0)
        r = fill_shadow_dir(s, top, lower_top, top);
    return r;
}

/* The highest ancestor of path (or path itself) that the sandbox lacks; NULL when path exists. */
static int missing_root(const struct sandbox_features *f, const char *path, char *buf, size_t size)
{
    for (const char *p = path;; p++) {
        if (*p == '/' || *p == '\0') {
            snprintf(buf, size, "%.*s", (int)(p - path), path);
            if (!sandbox_features_sysctl(f, buf))
                return 1;
        }
        if (*p == '\0')
            return 0;
    }
}

static int plan_redirect_spec(struct sysctl_planner *s, size_t idx)
{
    const struct sysctl_spec *spec = &sysctl_table[idx];
    char root[256];
    if (s->need[idx] == NEED_SHADOW || !missing_root(s->f, spec->path, root, sizeof(root)))
        snprintf(root, sizeof(root), "%s", spec->path);

    int r = ensure_vkernel_dir(s);
    if (r >= 0)
        r = mkdir_once(s->p, s->redirect_dir, 0755, "sysctl files served through kig-trace's redirect rule");
    /* Every directory between the redirect dir and the file. */
    for (const char *p = spec->path; r >= 0 && (p = strchr(p, '/')); p++) {
        char sub[256];
        snprintf(sub, sizeof(sub), "%.*s", (int)(p - spec->path), spec->path);
        _cleanup_free_ char *d = path_join(s->redirect_dir, sub);
        r = d ? mkdir_once(s->p, d, 0755, "sysctl directory served through kig-trace") : -ENOMEM;
    }
    if (r < 0)
        return r;
    _cleanup_free_ char *file = path_join(s->redirect_dir, spec->path);
    _cleanup_free_ char *from = path_join(VKERNEL_PROC_SYS, root);
    _cleanup_free_ char *to = path_join(s->redirect_dir, root);
    _cleanup_free_ char *arg = NULL;
    if (!file || !from || !to || asprintf(&arg, "%s=%s", from, to) < 0)
        return -ENOMEM;
    r = write_spec(s, spec, file);
    if (r < 0)
        return r;
    char why[200];
    snprintf(why, sizeof(why), "%s is missing and /proc/sys cannot hold new files", from);
    return plan_trace(s->p, "redirect", arg, why);
}

static enum need spec_need(const struct sysctl_spec *spec, const struct sandbox_features *f)
{
    if ((spec->flags & SYSCTL_NET) && !f->is_gvisor)
        return NEED_NOTHING;
    const struct sysctl_entry_features *e = sandbox_features_sysctl(f, spec->path);
    if (!e)
        return NEED_CREATE;
    if ((spec->flags & SYSCTL_KUBELET) && !e->writable && !sysctl_value_equal(e->value, spec->value))
        return NEED_SHADOW;
    return NEED_NOTHING;
}

static bool can_shadow(const struct sandbox_features *f, const char *top)
{
    if (strcmp(top, "net") == 0)
        return false;
    /* A tmpfs can only cover a directory that exists. */
    return f->proc_sys_tmpfs_mountable && f->tmpfs && f->bind_mount_file && sandbox_features_sysctl(f, top);
}

int plan_sysctl(struct vkernel_plan *p, const struct sandbox_features *f, const struct vkernel_options *o)
{
    _cleanup_(planner_done) struct sysctl_planner s = {.p = p, .f = f, .o = o};
    if (sysctl_table_size > ARRAY_SIZE(s.need))
        return -E2BIG;
    s.vkernel_dir = path_join(o->run_dir, VKERNEL_SUBDIR);
    s.lower_dir = s.vkernel_dir ? path_join(s.vkernel_dir, "proc-sys") : NULL;
    s.redirect_dir = s.vkernel_dir ? path_join(s.vkernel_dir, "sysctl") : NULL;
    if (!s.lower_dir || !s.redirect_dir)
        return -ENOMEM;

    for (size_t i = 0; i < sysctl_table_size; i++) {
        s.need[i] = spec_need(&sysctl_table[i], f);
        _cleanup_free_ char *content = NULL;
        if (s.need[i] != NEED_NOTHING && sysctl_spec_content(&sysctl_table[i], f, &content) == -ENODATA) {
            int r = plan_note(p, "/proc/sys/%s is missing and its value cannot be derived here",
                              sysctl_table[i].path);
            if (r < 0)
                return r;
            s.need[i] = NEED_NOTHING;
        }
    }

    /* One strategy per top-level directory, in table order. */
    char done[8][32];
    size_t n_done = 0;
    for (size_t i = 0; i < sysctl_table_size; i++) {
        if (s.need[i] == NEED_NOTHING)
            continue;
        char top[32];
        top_dir(sysctl_table[i].path, top, sizeof(top));
        bool seen = false;
        for (size_t j = 0; j < n_done; j++)
            seen = seen || strcmp(done[j], top) == 0;
        if (seen)
            continue;
        if (n_done < ARRAY_SIZE(done))
            snprintf(done[n_done++], sizeof(done[0]), "%s", top);

        int r = 0;
        if (can_shadow(f, top)) {
            r = plan_shadow_top(&s, top);
        } else {
            for (size_t j = i; j < sysctl_table_size && r >= 0; j++)
                if (s.need[j] != NEED_NOTHING && path_is_under(sysctl_table[j].path, top))
                    r = plan_redirect_spec(&s, j);
        }
        if (r < 0)
            return r;
    }
    return 0;
}
