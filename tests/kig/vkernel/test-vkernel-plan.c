/* The planner, fed with the presets: what gVisor 20221219 needs, that a full Linux host needs nothing, and
 * that the plan follows the features of an imagined later gVisor. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "plan.h"

#include "macro.h"

#include <string.h>

#define RUN "/run/kig"

static enum vk_augment augment_mode = VK_AUGMENT_AUTO;

static struct vkernel_plan *plan_for(const char *preset, bool no_fuse, struct sandbox_features *f_out)
{
    struct sandbox_features f;
    assert_int_equal(vkernel_features_preset(preset, &f), 0);
    struct vkernel_options o = {.run_dir = RUN, .no_fuse = no_fuse, .augment = augment_mode};
    struct vkernel_plan *p = NULL;
    assert_int_equal(vkernel_plan(&f, &o, &p), 0);
    assert_non_null(p);
    if (f_out)
        *f_out = f;
    else
        sandbox_features_done(&f);
    return p;
}

static const struct vk_action *find(const struct vkernel_plan *p, enum vk_action_type t, const char *path)
{
    return vkernel_plan_find(p, t, path);
}

static size_t index_of(const struct vkernel_plan *p, const struct vk_action *a)
{
    assert_non_null(a);
    return (size_t)(a - p->actions);
}

static void assert_file(const struct vkernel_plan *p, const char *path, const char *content, unsigned mode)
{
    const struct vk_action *a = find(p, VK_ACTION_WRITE_FILE, path);
    if (!a)
        fail_msg("no write-file for %s", path);
    assert_string_equal(a->content, content);
    assert_int_equal(a->mode, mode);
}

static const struct vk_action *find_mount(const struct vkernel_plan *p, const char *fstype, const char *path)
{
    for (size_t i = 0; i < p->n_actions; i++)
        if (p->actions[i].type == VK_ACTION_MOUNT && strcmp(p->actions[i].path, path) == 0 &&
            strcmp(p->actions[i].fstype, fstype) == 0)
            return &p->actions[i];
    return NULL;
}

static bool has_arg(const struct vk_action *a, const char *flag, const char *value)
{
    for (size_t i = 0; i + 1 < a->n_args; i++)
        if (strcmp(a->args[i], flag) == 0 && strcmp(a->args[i + 1], value) == 0)
            return true;
    return false;
}

/* Every action's parent directory exists before it: made earlier by the plan, or a system directory. */
static void assert_parents_first(const struct vkernel_plan *p)
{
    for (size_t i = 0; i < p->n_actions; i++) {
        const struct vk_action *a = &p->actions[i];
        if (a->type == VK_ACTION_START_CGROUPFS || strncmp(a->path, RUN "/", strlen(RUN) + 1) != 0)
            continue;
        char parent[4096];
        snprintf(parent, sizeof(parent), "%s", a->path);
        *strrchr(parent, '/') = '\0';
        if (strcmp(parent, RUN) == 0)
            continue;
        const struct vk_action *mk = find(p, VK_ACTION_MKDIR, parent);
        if (!mk) {
            /* Inside a bind mount of a real directory: fine when the mount comes first. */
            bool in_mount = false;
            for (size_t j = 0; j < i; j++)
                in_mount =
                    in_mount || (p->actions[j].type == VK_ACTION_MOUNT &&
                                 strncmp(a->path, p->actions[j].path, strlen(p->actions[j].path)) == 0);
            if (!in_mount)
                fail_msg("%s is made before its parent", a->path);
            continue;
        }
        assert_true(index_of(p, mk) < i);
    }
}

static void test_gvisor_sysctl(void **state)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *p = plan_for("gvisor-20221219", false, NULL);

    /* kernel/ and vm/ are shadowed: the real directory set aside, then a tmpfs. */
    const struct vk_action *lower = find_mount(p, "bind", RUN "/vkernel/proc-sys/kernel");
    const struct vk_action *tmpfs = find_mount(p, "tmpfs", "/proc/sys/kernel");
    assert_non_null(lower);
    assert_non_null(tmpfs);
    assert_string_equal(lower->source, "/proc/sys/kernel");
    assert_true(index_of(p, lower) < index_of(p, tmpfs));
    assert_non_null(find_mount(p, "tmpfs", "/proc/sys/vm"));

    /* kubelet's six tunables with kubelet's values, writable. */
    assert_file(p, "/proc/sys/vm/overcommit_memory", "1\n", 0644);
    assert_file(p, "/proc/sys/vm/panic_on_oom", "0\n", 0644);
    assert_file(p, "/proc/sys/kernel/panic", "10\n", 0644);
    assert_file(p, "/proc/sys/kernel/panic_on_oops", "1\n", 0644);
    assert_file(p, "/proc/sys/kernel/keys/root_maxkeys", "1000000\n", 0644);
    assert_file(p, "/proc/sys/kernel/keys/root_maxbytes", "25000000\n", 0644);
    assert_non_null(find(p, VK_ACTION_MKDIR, "/proc/sys/kernel/keys"));
    /* crun's cap_last_cap: CapBnd's highest bit, read-only as on Linux. */
    assert_file(p, "/proc/sys/kernel/cap_last_cap", "37\n", 0444);
    assert_file(p, "/proc/sys/kernel/pid_max", "4194304\n", 0644);
    assert_file(p, "/proc/sys/kernel/osrelease", "4.4.0\n", 0444);

    /* The real entries come back live, bound from the set-aside directory. */
    const struct vk_action *hostname = find_mount(p, "bind", "/proc/sys/kernel/hostname");
    assert_non_null(hostname);
    assert_string_equal(hostname->source, RUN "/vkernel/proc-sys/kernel/hostname");
    assert_non_null(find(p, VK_ACTION_WRITE_FILE, "/proc/sys/kernel/hostname")); /* its placeholder */
    assert_non_null(find_mount(p, "bind", "/proc/sys/kernel/yama"));
    assert_non_null(find_mount(p, "bind", "/proc/sys/vm/max_map_count"));
    /* overcommit_memory exists read-only with "0": shadowed by kig's file, not bound. */
    assert_null(find_mount(p, "bind", "/proc/sys/vm/overcommit_memory"));

    /* net/ stays real; what it lacks is redirected, whole directories at a time. */
    assert_null(find_mount(p, "tmpfs", "/proc/sys/net"));
    assert_non_null(
        vkernel_plan_find_trace(p, "redirect", "/proc/sys/net/bridge=" RUN "/vkernel/sysctl/net/bridge"));
    assert_non_null(vkernel_plan_find_trace(p, "redirect",
                                            "/proc/sys/net/netfilter=" RUN "/vkernel/sysctl/net/netfilter"));
    assert_non_null(vkernel_plan_find_trace(p, "redirect",
                                            "/proc/sys/net/ipv4/conf=" RUN "/vkernel/sysctl/net/ipv4/conf"));
    assert_non_null(
        vkernel_plan_find_trace(p, "redirect", "/proc/sys/net/ipv6=" RUN "/vkernel/sysctl/net/ipv6"));
    assert_file(p, RUN "/vkernel/sysctl/net/bridge/bridge-nf-call-iptables", "1\n", 0644);
    assert_file(p, RUN "/vkernel/sysctl/net/ipv4/conf/all/route_localnet", "0\n", 0644);
    /* ip_forward exists and is writable: the netstack's own knob, untouched. */
    for (size_t i = 0; i < p->n_trace; i++)
        assert_null(strstr(p->trace[i].arg ? p->trace[i].arg : "", "ip_forward"));

    assert_parents_first(p);
}

static void test_gvisor_cgroup_fuse(void **state)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *p = plan_for("gvisor-20221219", false, NULL);

    const struct vk_action *root = find_mount(p, "tmpfs", "/sys/fs/cgroup");
    assert_non_null(root);
    static const char *const real[] = {"cpu", "cpuacct", "cpuset", "memory", "pids"};
    size_t last_real = 0;
    for (size_t i = 0; i < ARRAY_SIZE(real); i++) {
        char path[64];
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", real[i]);
        const struct vk_action *m = find_mount(p, "cgroup", path);
        assert_non_null(m);
        assert_string_equal(m->options, real[i]);
        assert_true(index_of(p, m) > index_of(p, root));
        last_real = index_of(p, m) > last_real ? index_of(p, m) : last_real;
    }
    /* The first entry runc reads in /sys/fs/cgroup is a real hierarchy. */
    assert_string_equal(p->actions[index_of(p, root) + 1].path, "/sys/fs/cgroup/cpu");
    assert_null(find_mount(p, "cgroup", "/sys/fs/cgroup/devices"));

    const struct vk_action *d = NULL;
    for (size_t i = 0; i < p->n_actions; i++)
        if (p->actions[i].type == VK_ACTION_START_CGROUPFS)
            d = &p->actions[i];
    assert_non_null(d);
    assert_true(index_of(p, d) > last_real);
    assert_true(has_arg(d, "--emulate", "devices=/sys/fs/cgroup/devices"));
    assert_true(has_arg(d, "--emulate", "freezer=/sys/fs/cgroup/freezer"));
    assert_true(has_arg(d, "--emulate", "perf_event=/sys/fs/cgroup/perf_event"));
    /* cAdvisor's files come from overlays by default (crun's path stays on the kernel's filesystem);
     * the ones that need computing are kig-cgroupfs's, bound into the overlay's root. */
    assert_false(has_arg(d, "--augment", "cpuacct=/sys/fs/cgroup/cpuacct"));
    assert_true(has_arg(d, "--augment", "memory=/sys/fs/cgroup/.kig/memory.aug:/sys/fs/cgroup/.kig/memory"));
    assert_int_equal(d->n_mountpoints, 8);
    assert_non_null(find_mount(p, "overlay", "/sys/fs/cgroup/cpuacct"));
    assert_non_null(find_mount(p, "overlay", "/sys/fs/cgroup/pids"));
    const struct vk_action *ovl = find_mount(p, "overlay", "/sys/fs/cgroup/memory");
    const struct vk_action *stat = find_mount(p, "bind", "/sys/fs/cgroup/memory/memory.stat");
    assert_non_null(ovl);
    assert_non_null(stat);
    assert_string_equal(stat->source, "/sys/fs/cgroup/.kig/memory.aug/memory.stat");
    assert_true(index_of(p, stat) > index_of(p, d));
    assert_true(index_of(p, ovl) < index_of(p, d));
    assert_non_null(find_mount(p, "bind", "/sys/fs/cgroup/memory/memory.max_usage_in_bytes"));
    assert_non_null(find(p, VK_ACTION_WRITE_FILE, "/sys/fs/cgroup/.kig/memory.upper/memory.failcnt"));
    assert_non_null(find(p, VK_ACTION_MKDIR, "/sys/fs/cgroup/devices"));

    /* What mounts cannot give: statfs answers (kig-cgroupfs says ENOSYS like gVisor, which the statfs
     * rule turns into CGROUP_SUPER_MAGIC: no rule beyond that one). */
    assert_non_null(vkernel_plan_find_trace(p, "statfs", NULL));
    for (size_t i = 0; i < p->n_trace; i++)
        assert_string_not_equal(p->trace[i].rule, "cgroup-magic");
    assert_null(vkernel_plan_find_trace(p, "cgroup-populate",
                                        "/sys/fs/cgroup/devices=" RUN "/vkernel/cgroup-template/devices"));
}

static void test_gvisor_cgroup_without_fuse(void **state)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *p = plan_for("gvisor-20221219", true, NULL);
    for (size_t i = 0; i < p->n_actions; i++)
        assert_int_not_equal(p->actions[i].type, VK_ACTION_START_CGROUPFS);

    /* Emulated controllers: a tmpfs stand-in, complete at the root and for kig's own cgroups. */
    assert_non_null(find_mount(p, "tmpfs", "/sys/fs/cgroup/devices"));
    assert_file(p, "/sys/fs/cgroup/devices/devices.list", "a *:* rwm\n", 0444);
    assert_file(p, "/sys/fs/cgroup/devices/cgroup.procs", "", 0644);
    assert_non_null(find(p, VK_ACTION_MKDIR, "/sys/fs/cgroup/devices/k8s.io"));
    assert_file(p, "/sys/fs/cgroup/devices/k8s.io/devices.allow", "", 0200);
    assert_null(find(p, VK_ACTION_WRITE_FILE, "/sys/fs/cgroup/devices/k8s.io/release_agent"));
    assert_file(p, "/sys/fs/cgroup/freezer/k8s.io/freezer.state", "THAWED\n", 0644);
    assert_null(find(p, VK_ACTION_WRITE_FILE, "/sys/fs/cgroup/freezer/freezer.state"));
    assert_non_null(vkernel_plan_find_trace(
        p, "cgroup-populate", "/sys/fs/cgroup/devices=" RUN "/vkernel/cgroup-template/devices"));
    assert_non_null(vkernel_plan_find_trace(p, "cgroup-magic", "/sys/fs/cgroup/devices"));
    assert_file(p, RUN "/vkernel/cgroup-template/devices/devices.list", "a *:* rwm\n", 0444);

    /* cAdvisor's files: an overlay with honest static ones; k8s.io leads to the real hierarchy. */
    const struct vk_action *ovl = find_mount(p, "overlay", "/sys/fs/cgroup/cpuacct");
    assert_non_null(ovl);
    assert_non_null(strstr(ovl->options, "lowerdir=/sys/fs/cgroup/cpuacct,"));
    assert_file(p, "/sys/fs/cgroup/.kig/cpuacct.upper/cpuacct.usage_percpu", "", 0444);
    assert_file(p, "/sys/fs/cgroup/.kig/pids.upper/pids.max", "max\n", 0444);
    const struct vk_action *link = find(p, VK_ACTION_SYMLINK, "/sys/fs/cgroup/.kig/cpuacct.upper/k8s.io");
    assert_non_null(link);
    assert_string_equal(link->source, "/sys/fs/cgroup/.kig/cpuacct/k8s.io");
    assert_non_null(find_mount(p, "cgroup", "/sys/fs/cgroup/.kig/cpuacct"));
    assert_non_null(find(p, VK_ACTION_MKDIR, "/sys/fs/cgroup/.kig/cpuacct/k8s.io"));
    assert_true(index_of(p, find_mount(p, "cgroup", "/sys/fs/cgroup/cpuacct")) < index_of(p, ovl));
    /* No honest static memory.stat: said so, not invented. */
    assert_null(find_mount(p, "overlay", "/sys/fs/cgroup/memory"));
    assert_null(vkernel_plan_find_trace(p, "cgroup-magic", "/sys/fs/cgroup/cpuacct"));
    bool noted = false;
    for (size_t i = 0; i < p->n_notes; i++)
        noted = noted || strstr(p->notes[i], "memory.stat");
    assert_true(noted);
    assert_parents_first(p);
}

static void test_gvisor_cgroup_augment_fuse(void **state)
{
    augment_mode = VK_AUGMENT_FUSE;
    _cleanup_vkernel_plan_ struct vkernel_plan *p = plan_for("gvisor-20221219", false, NULL);
    augment_mode = VK_AUGMENT_AUTO;
    const struct vk_action *d = NULL;
    for (size_t i = 0; i < p->n_actions; i++)
        if (p->actions[i].type == VK_ACTION_START_CGROUPFS)
            d = &p->actions[i];
    assert_non_null(d);
    assert_true(has_arg(d, "--augment", "cpuacct=/sys/fs/cgroup/cpuacct"));
    assert_true(has_arg(d, "--augment", "memory=/sys/fs/cgroup/memory"));
    assert_true(has_arg(d, "--augment", "pids=/sys/fs/cgroup/pids"));
    assert_false(has_arg(d, "--augment", "cpu=/sys/fs/cgroup/cpu"));
    assert_int_equal(d->n_mountpoints, 10);
    assert_null(find_mount(p, "overlay", "/sys/fs/cgroup/cpuacct"));
    /* crun needs gVisor's FUSE statx answer corrected on these. */
    assert_non_null(vkernel_plan_find_trace(p, "fuse-statx", NULL));
}

static void test_gvisor_dev_kmsg(void **state)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *p = plan_for("gvisor-20221219", false, NULL);
    const struct vk_action *file = find(p, VK_ACTION_WRITE_FILE, "/dev/kmsg");
    const struct vk_action *bind = find_mount(p, "bind", "/dev/kmsg");
    assert_non_null(file);
    assert_non_null(bind);
    assert_string_equal(bind->source, "/dev/null");
    assert_true(index_of(p, file) < index_of(p, bind));
}

static void test_linux_host_is_left_alone(void **state)
{
    static const char *const presets[] = {"linux-host", "linux-host-v1"};
    for (size_t i = 0; i < ARRAY_SIZE(presets); i++) {
        _cleanup_vkernel_plan_ struct vkernel_plan *p = plan_for(presets[i], false, NULL);
        assert_int_equal(p->n_actions, 0);
        assert_int_equal(p->n_trace, 0);
        assert_int_equal(p->n_notes, 0);
    }
}

static void test_newer_gvisor_adapts(void **state)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *p = plan_for("gvisor-newer", false, NULL);
    /* cap_last_cap exists: the kernel's own, bound back, not kig's. */
    assert_non_null(find_mount(p, "bind", "/proc/sys/kernel/cap_last_cap"));
    const struct vk_action *cap = find(p, VK_ACTION_WRITE_FILE, "/proc/sys/kernel/cap_last_cap");
    assert_non_null(cap);
    assert_string_equal(cap->content, ""); /* only the placeholder of the bind */
    /* kubelet's tunables are still missing there. */
    assert_file(p, "/proc/sys/kernel/panic", "10\n", 0644);

    /* devices is real now: mounted, not emulated. */
    assert_non_null(find_mount(p, "cgroup", "/sys/fs/cgroup/devices"));
    const struct vk_action *d = NULL;
    for (size_t i = 0; i < p->n_actions; i++)
        if (p->actions[i].type == VK_ACTION_START_CGROUPFS)
            d = &p->actions[i];
    assert_non_null(d);
    assert_false(has_arg(d, "--emulate", "devices=/sys/fs/cgroup/devices"));
    assert_true(has_arg(d, "--emulate", "freezer=/sys/fs/cgroup/freezer"));
    /* Only the pids root still lacks a file cAdvisor reads. */
    assert_non_null(find_mount(p, "overlay", "/sys/fs/cgroup/pids"));
    assert_null(find_mount(p, "overlay", "/sys/fs/cgroup/cpuacct"));
    assert_null(find_mount(p, "overlay", "/sys/fs/cgroup/memory"));
    /* statfs on the kernel's cgroup files works there, but kig-cgroupfs's mounts still need the rule. */
    const struct vk_trace_rule *statfs = vkernel_plan_find_trace(p, "statfs", NULL);
    assert_non_null(statfs);
    assert_non_null(strstr(statfs->why, "kig-cgroupfs"));
}

static void test_redirect_when_proc_sys_cannot_be_shadowed(void **state)
{
    struct sandbox_features f;
    assert_int_equal(vkernel_features_preset("gvisor-20221219", &f), 0);
    f.proc_sys_tmpfs_mountable = false;
    struct vkernel_options o = {.run_dir = RUN};
    _cleanup_vkernel_plan_ struct vkernel_plan *p = NULL;
    assert_int_equal(vkernel_plan(&f, &o, &p), 0);
    sandbox_features_done(&f);
    assert_null(find_mount(p, "tmpfs", "/proc/sys/kernel"));
    assert_non_null(
        vkernel_plan_find_trace(p, "redirect", "/proc/sys/kernel/panic=" RUN "/vkernel/sysctl/kernel/panic"));
    assert_non_null(
        vkernel_plan_find_trace(p, "redirect", "/proc/sys/kernel/keys=" RUN "/vkernel/sysctl/kernel/keys"));
    /* A read-only kubelet tunable with the wrong value is redirected file by file. */
    assert_non_null(vkernel_plan_find_trace(
        p, "redirect", "/proc/sys/vm/overcommit_memory=" RUN "/vkernel/sysctl/vm/overcommit_memory"));
    assert_file(p, RUN "/vkernel/sysctl/vm/overcommit_memory", "1\n", 0644);
    assert_parents_first(p);
}

static void test_missing_net_on_linux_is_left_alone(void **state)
{
    struct sandbox_features f;
    assert_int_equal(vkernel_features_preset("linux-host", &f), 0);
    /* net/bridge and net/netfilter are absent in the preset (modules not loaded). */
    assert_null(sandbox_features_sysctl(&f, "net/bridge"));
    struct vkernel_options o = {.run_dir = RUN};
    _cleanup_vkernel_plan_ struct vkernel_plan *p = NULL;
    assert_int_equal(vkernel_plan(&f, &o, &p), 0);
    assert_int_equal(p->n_trace, 0);
    /* The same machine judged as gVisor gets them. */
    f.is_gvisor = true;
    _cleanup_vkernel_plan_ struct vkernel_plan *q = NULL;
    assert_int_equal(vkernel_plan(&f, &o, &q), 0);
    assert_non_null(
        vkernel_plan_find_trace(q, "redirect", "/proc/sys/net/bridge=" RUN "/vkernel/sysctl/net/bridge"));
    sandbox_features_done(&f);
}

static void test_trace_argv(void **state)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *p = plan_for("gvisor-20221219", false, NULL);
    char **argv = NULL;
    size_t n = 0;
    assert_int_equal(vkernel_plan_trace_argv(p, &argv, &n), 0);
    assert_null(argv[n]);
    bool redirect = false, rule_statfs = false, magic = false;
    for (size_t i = 0; i + 1 < n; i++) {
        redirect =
            redirect || (strcmp(argv[i], "--redirect") == 0 &&
                         strcmp(argv[i + 1], "/proc/sys/net/bridge=" RUN "/vkernel/sysctl/net/bridge") == 0);
        rule_statfs = rule_statfs || (strcmp(argv[i], "--rule") == 0 && strcmp(argv[i + 1], "statfs") == 0);
        magic = magic || strcmp(argv[i], "--cgroup-magic") == 0;
    }
    assert_true(redirect);
    assert_true(rule_statfs);
    assert_false(magic);
    vk_strv_free(argv);

    _cleanup_vkernel_plan_ struct vkernel_plan *empty = plan_for("linux-host", false, NULL);
    assert_int_equal(vkernel_plan_trace_argv(empty, &argv, &n), 0);
    assert_int_equal(n, 0);
    assert_null(argv[0]);
    vk_strv_free(argv);
}

static void test_json_roundtrip(void **state)
{
    static const char *const presets[] = {"gvisor-20221219", "gvisor-newer"};
    for (size_t k = 0; k < ARRAY_SIZE(presets); k++)
        for (int no_fuse = 0; no_fuse <= 1; no_fuse++) {
            _cleanup_vkernel_plan_ struct vkernel_plan *p = plan_for(presets[k], no_fuse, NULL);
            p->actions[0].status = VK_DONE;
            p->actions[0].existed = true;
            p->boot_time = 1234;
            json_t *j, *j2;
            assert_int_equal(vkernel_plan_to_json(p, true, &j), 0);
            _cleanup_vkernel_plan_ struct vkernel_plan *q = NULL;
            assert_int_equal(vkernel_plan_from_json(j, &q), 0);
            assert_int_equal(q->n_actions, p->n_actions);
            assert_int_equal(q->n_trace, p->n_trace);
            assert_int_equal(q->actions[0].status, VK_DONE);
            assert_true(q->actions[0].existed);
            assert_int_equal(q->boot_time, 1234);
            assert_int_equal(vkernel_plan_to_json(q, true, &j2), 0);
            assert_true(json_equal(j, j2));
            json_decref(j);
            json_decref(j2);
        }
}

static void test_json_rejects_garbage(void **state)
{
    static const char *const docs[] = {
        "[]",
        "{}",
        "{\"actions\": 3}",
        "{\"actions\": [{\"type\": \"explode\", \"path\": \"/x\"}]}",
        "{\"actions\": [{\"type\": \"mkdir\"}]}",
        "{\"actions\": [{\"type\": \"mount\", \"path\": \"/x\"}]}",
        "{\"actions\": [{\"type\": \"mkdir\", \"path\": \"/x\", \"mode\": -1}]}",
        "{\"actions\": [{\"type\": \"mkdir\", \"path\": \"/x\", \"status\": \"maybe\"}]}",
        "{\"actions\": [{\"type\": \"start-cgroupfs\", \"path\": \"/x\", \"args\": [1]}]}",
        "{\"actions\": [], \"trace\": [{\"arg\": \"x\"}]}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
        json_t *j = json_loads(docs[i], 0, NULL);
        assert_non_null(j);
        struct vkernel_plan *p = NULL;
        assert_int_equal(vkernel_plan_from_json(j, &p), -EBADMSG);
        assert_null(p);
        json_decref(j);
    }
}

static void test_relative_run_dir_is_refused(void **state)
{
    struct sandbox_features f;
    assert_int_equal(vkernel_features_preset("gvisor-20221219", &f), 0);
    struct vkernel_options o = {.run_dir = "run/kig"};
    struct vkernel_plan *p = NULL;
    assert_int_equal(vkernel_plan(&f, &o, &p), -EINVAL);
    assert_int_equal(vkernel_features_preset("no-such-machine", &f), -ENOENT);
    sandbox_features_done(&f);
}

static void test_unknown_cap_last_cap_is_noted(void **state)
{
    struct sandbox_features f;
    assert_int_equal(vkernel_features_preset("gvisor-20221219", &f), 0);
    f.cap_last_cap = -1;
    struct vkernel_options o = {.run_dir = RUN};
    _cleanup_vkernel_plan_ struct vkernel_plan *p = NULL;
    assert_int_equal(vkernel_plan(&f, &o, &p), 0);
    sandbox_features_done(&f);
    assert_null(find(p, VK_ACTION_WRITE_FILE, "/proc/sys/kernel/cap_last_cap"));
    bool noted = false;
    for (size_t i = 0; i < p->n_notes; i++)
        noted = noted || strstr(p->notes[i], "cap_last_cap");
    assert_true(noted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gvisor_sysctl),
        cmocka_unit_test(test_gvisor_cgroup_fuse),
        cmocka_unit_test(test_gvisor_cgroup_without_fuse),
        cmocka_unit_test(test_gvisor_cgroup_augment_fuse),
        cmocka_unit_test(test_gvisor_dev_kmsg),
        cmocka_unit_test(test_linux_host_is_left_alone),
        cmocka_unit_test(test_newer_gvisor_adapts),
        cmocka_unit_test(test_redirect_when_proc_sys_cannot_be_shadowed),
        cmocka_unit_test(test_missing_net_on_linux_is_left_alone),
        cmocka_unit_test(test_trace_argv),
        cmocka_unit_test(test_json_roundtrip),
        cmocka_unit_test(test_json_rejects_garbage),
        cmocka_unit_test(test_relative_run_dir_is_refused),
        cmocka_unit_test(test_unknown_cap_last_cap_is_noted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
