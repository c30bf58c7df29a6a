/* The config.json rewriter: unchanged on a full host, each rule tied to its feature elsewhere. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "spec-rewrite.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* What containerd 1.6's CRI plugin gives runc for a pod's app container (trimmed), joining the sandbox's
 * namespaces by path. */
static const char *const cri_container =
    "{\"ociVersion\":\"1.0.2-dev\","
    " \"process\":{\"user\":{\"uid\":0,\"gid\":0,\"additionalGids\":[10]},\"args\":[\"sh\"],"
    "  \"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
    "  \"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_NET_RAW\",\"CAP_KILL\"],"
    "   "
    "\"effective\":[\"CAP_CHOWN\",\"CAP_NET_RAW\",\"CAP_KILL\"],\"permitted\":[\"CAP_CHOWN\",\"CAP_NET_RAW\","
    "\"CAP_KILL\"]},"
    "  \"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024},"
    "   {\"type\":\"RLIMIT_RTPRIO\",\"hard\":0,\"soft\":0}],"
    "  \"noNewPrivileges\":true,\"oomScoreAdj\":-998,\"apparmorProfile\":\"cri-containerd.apparmor.d\"},"
    " \"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"pod\","
    " \"mounts\":["
    "  {\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\",\"options\":[\"nosuid\",\"noexec\","
    "\"nodev\"]},"
    "  "
    "{\"destination\":\"/"
    "dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\","
    "\"mode=755\",\"size=65536k\"]},"
    "  "
    "{\"destination\":\"/dev/"
    "pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\","
    "\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
    "  {\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\",\"options\":[\"nosuid\","
    "\"noexec\",\"nodev\",\"relatime\",\"ro\"]},"
    "  "
    "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/var/lib/hosts\",\"options\":[\"rbind\","
    "\"rprivate\",\"ro\"]},"
    "  {\"destination\":\"/etc/resolv.conf\",\"type\":\"bind\",\"source\":\"/var/lib/resolv\",\"options\":["
    "\"rbind\",\"rslave\",\"rw\"]}],"
    " \"linux\":{"
    "  \"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}],\"memory\":{\"limit\":1000000},"
    "   \"cpu\":{\"shares\":2,\"cpus\":\"0-1\"},\"hugepageLimits\":[],\"blockIO\":{\"weight\":10}},"
    "  \"cgroupsPath\":\"/k8s.io/c1\","
    "  \"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\",\"path\":\"/proc/42/ns/ipc\"},"
    "   {\"type\":\"uts\",\"path\":\"/proc/42/ns/uts\"},{\"type\":\"mount\"},"
    "   {\"type\":\"network\",\"path\":\"/proc/42/ns/net\"}],"
    "  "
    "\"sysctl\":{\"net.ipv4.ip_unprivileged_port_start\":\"0\",\"kernel.shmmax\":\"1\",\"vm.swappiness\":"
    "\"0\"},"
    "  \"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229}],"
    "  \"maskedPaths\":[\"/proc/kcore\",\"/sys/firmware\"],\"readonlyPaths\":[\"/proc/sys\",\"/proc/bus\"]}}";

/* gVisor 20221219 as kig-runtime's probe measured it. */
static void gvisor_features(struct runtime_features *f)
{
    runtime_features_init_host(f);
    f->setns = f->mount_namespace = f->mount_via_proc_fd = f->bind_remount = f->devpts = false;
    f->mount_flags_rejected =
        MOUNT_FLAG_REC | MOUNT_FLAG_SLAVE | MOUNT_FLAG_UNBINDABLE | MOUNT_FLAG_STRICTATIME;
    f->cgroup_controllers = 1u << CGROUP_CPU | 1u << CGROUP_CPUACCT | 1u << CGROUP_CPUSET |
                            1u << CGROUP_MEMORY | 1u << CGROUP_PIDS;
    f->capabilities &= ~(UINT64_C(1) << capability_from_name("CAP_NET_RAW"));
    f->session_keyring = f->oom_score_adj_nul = f->proc_self_setgroups = f->apparmor = f->selinux = false;
    f->ambient_capabilities = false;
    f->rlimits = (1u << 10) - 1; /* RLIMIT_CPU .. RLIMIT_AS */
}

/* gVisor with kig-trace's mount rule: mounts on /proc/self/fd/N reach their target. */
static void traced_gvisor_features(struct runtime_features *f)
{
    gvisor_features(f);
    f->mount_via_proc_fd = true;
}

static json_t *load(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j)
        fail_msg("test JSON: %s at %d:%d", err.text, err.line, err.column);
    return j;
}

static bool rewrites_mention(const struct spec_rewrite *rw, const char *needle)
{
    size_t i;
    json_t *l;
    json_array_foreach(rw->rewrites, i, l)
    {
        if (strstr(json_string_value(l), needle))
            return true;
    }
    return false;
}

static json_t *path(json_t *j, const char *a, const char *b)
{
    json_t *x = json_object_get(j, a);
    return b ? json_object_get(x, b) : x;
}

static bool array_has_string(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

static const json_t *find_mount(const json_t *mounts, const char *dest)
{
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0)
            return m;
    }
    return NULL;
}

static void test_host_changes_nothing(void **state)
{
    static const char *const configs[] = {
        NULL, /* cri_container */
        "{\"ociVersion\":\"1.0.0\"}",
        "{\"process\":{\"args\":[\"true\"]},\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}",
    };
    struct runtime_features f;
    runtime_features_init_host(&f);
    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
        for (int rt = OCI_RUNTIME_CRUN; rt <= OCI_RUNTIME_RUNC; rt++) {
            json_t *in = load(configs[i] ? configs[i] : cri_container);
            struct spec_rewrite rw;
            assert_int_equal(spec_rewrite(in, &f, (enum oci_runtime_kind)rt, &rw), 0);
            assert_true(json_equal(in, rw.config));
            assert_int_equal(json_array_size(rw.rewrites), 0);
            assert_null(rw.kig_mounts);
            assert_false(rw.no_new_keyring);
            assert_false(rw.forbid_no_pivot);
            spec_rewrite_done(&rw);
            json_decref(in);
        }
}

static void test_gvisor_namespaces(void **state)
{
    struct runtime_features f;
    gvisor_features(&f);
    json_t *in = load(cri_container);
    struct spec_rewrite rw;
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_RUNC, &rw), 0);
    /* Only the UTS namespace stays, as a new one (it could not be joined): see test_own_uts. */
    json_t *ns = path(rw.config, "linux", "namespaces");
    assert_int_equal(json_array_size(ns), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ns, 0), "type")), "uts");
    assert_null(json_object_get(json_array_get(ns, 0), "path"));
    assert_true(rewrites_mention(&rw, "cannot join the network namespace at /proc/42/ns/net"));
    assert_true(rewrites_mention(&rw, "mount namespaces do not isolate here"));
    assert_true(rw.forbid_no_pivot); /* runc would MS_MOVE the rootfs without a mount namespace */
    assert_string_equal(json_string_value(json_object_get(rw.config, "hostname")), "pod");
    json_t *sysctl = path(rw.config, "linux", "sysctl");
    assert_null(json_object_get(sysctl, "net.ipv4.ip_unprivileged_port_start"));
    assert_null(json_object_get(sysctl, "kernel.shmmax"));
    assert_non_null(json_object_get(sysctl, "vm.swappiness"));
    /* The input is not touched. */
    assert_int_equal(json_array_size(path(in, "linux", "namespaces")), 5);
    spec_rewrite_done(&rw);
    json_decref(in);
}

/* Without setns a container cannot join its pod's UTS namespace: it gets a new one, and the pod's hostname
 * from the file the CRI mounts at /etc/hostname (which create.c reads). */
static void test_own_uts(void **state)
{
    struct runtime_features f;
    gvisor_features(&f);
    json_t *in = load("{\"linux\":{\"namespaces\":[{\"type\":\"uts\",\"path\":\"/proc/42/ns/uts\"}]},"
                      "\"mounts\":[{\"destination\":\"/etc/hosts\",\"source\":\"/s/hosts\"},"
                      "{\"destination\":\"/etc/hostname\",\"source\":\"/s/sb1/hostname\"}]}");
    struct spec_rewrite rw;
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    json_t *ns = path(rw.config, "linux", "namespaces");
    assert_int_equal(json_array_size(ns), 1);
    assert_null(json_object_get(json_array_get(ns, 0), "path"));
    assert_string_equal(rw.hostname_file, "/s/sb1/hostname");
    assert_true(rewrites_mention(&rw, "uts namespace at /proc/42/ns/uts replaced by a new one with the pod's "
                                      "hostname (from /s/sb1/hostname)"));
    spec_rewrite_done(&rw);
    json_decref(in);

    /* No /etc/hostname mount: a new namespace all the same, no file to read. */
    in = load("{\"linux\":{\"namespaces\":[{\"type\":\"uts\",\"path\":\"/proc/42/ns/uts\"}]}}");
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    assert_string_equal(rw.hostname_file, "");
    assert_true(rewrites_mention(&rw, "keeps the sandbox's hostname"));
    spec_rewrite_done(&rw);
    json_decref(in);

    /* A sandbox that cannot make UTS namespaces: removed, and the hostname with it, as before. */
    f.uts_namespace = false;
    in = load(cri_container);
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    assert_int_equal(json_array_size(path(rw.config, "linux", "namespaces")), 0);
    assert_null(json_object_get(rw.config, "hostname"));
    assert_true(rewrites_mention(&rw, "hostname \"pod\" not set"));
    assert_string_equal(rw.hostname_file, "");
    spec_rewrite_done(&rw);
    json_decref(in);

    /* With setns the pod's namespace is joined: nothing changes. */
    runtime_features_init_host(&f);
    in = load("{\"linux\":{\"namespaces\":[{\"type\":\"uts\",\"path\":\"/proc/42/ns/uts\"}]}}");
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    assert_true(json_equal(in, rw.config));
    spec_rewrite_done(&rw);
    json_decref(in);
}

static void test_gvisor_process(void **state)
{
    struct runtime_features f;
    gvisor_features(&f);
    json_t *in = load(cri_container);
    struct spec_rewrite rw;
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_RUNC, &rw), 0);
    json_t *caps = path(rw.config, "process", "capabilities");
    assert_false(array_has_string(json_object_get(caps, "bounding"), "CAP_NET_RAW"));
    assert_false(array_has_string(json_object_get(caps, "permitted"), "CAP_NET_RAW"));
    assert_true(array_has_string(json_object_get(caps, "effective"), "CAP_KILL"));
    assert_true(rewrites_mention(&rw, "CAP_NET_RAW dropped"));
    /* runc writes "-998\0", which gVisor refuses. */
    assert_null(path(rw.config, "process", "oomScoreAdj"));
    json_t *rlimits = path(rw.config, "process", "rlimits");
    assert_int_equal(json_array_size(rlimits), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rlimits, 0), "type")),
                        "RLIMIT_NOFILE");
    assert_null(path(rw.config, "process", "apparmorProfile"));
    assert_true(rw.no_new_keyring);
    spec_rewrite_done(&rw);

    /* crun writes oom_score_adj without the NUL: kept. */
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    assert_int_equal(json_integer_value(path(rw.config, "process", "oomScoreAdj")), -998);
    assert_string_equal(json_string_value(path(rw.config, "annotations", "run.oci.keep_original_groups")),
                        "0");
    spec_rewrite_done(&rw);
    json_decref(in);
}

static void test_gvisor_resources(void **state)
{
    struct runtime_features f;
    gvisor_features(&f);
    json_t *in = load(cri_container);
    struct spec_rewrite rw;
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    json_t *res = path(rw.config, "linux", "resources");
    assert_null(json_object_get(res, "devices"));
    assert_null(json_object_get(res, "blockIO"));
    assert_non_null(json_object_get(res, "memory"));
    assert_non_null(json_object_get(json_object_get(res, "cpu"), "cpus"));
    /* An empty list asks for nothing: left alone, not logged. */
    assert_non_null(json_object_get(res, "hugepageLimits"));
    assert_false(rewrites_mention(&rw, "hugepageLimits"));
    assert_true(rewrites_mention(&rw, "device access is not restricted"));
    spec_rewrite_done(&rw);
    json_decref(in);
}

static void test_gvisor_mounts_move_to_kig(void **state)
{
    struct runtime_features f;
    gvisor_features(&f);
    json_t *in = load(cri_container);
    struct spec_rewrite rw;
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    assert_int_equal(json_array_size(json_object_get(rw.config, "mounts")), 0);
    assert_non_null(rw.kig_mounts);
    const json_t *mounts = json_object_get(rw.kig_mounts, "mounts");
    assert_int_equal(json_array_size(mounts), 6);
    const json_t *pts = find_mount(mounts, "/dev/pts");
    assert_string_equal(json_string_value(json_object_get(pts, "type")), "bind");
    assert_string_equal(json_string_value(json_object_get(pts, "source")), "/dev/pts");
    assert_false(array_has_string(json_object_get(find_mount(mounts, "/dev"), "options"), "strictatime"));
    const json_t *hosts = json_object_get(find_mount(mounts, "/etc/hosts"), "options");
    assert_true(array_has_string(hosts, "bind"));
    assert_false(array_has_string(hosts, "rbind"));
    assert_false(array_has_string(hosts, "ro"));
    assert_true(array_has_string(hosts, "private")); /* rprivate -> private: only MS_REC is refused */
    const json_t *resolv = json_object_get(find_mount(mounts, "/etc/resolv.conf"), "options");
    assert_false(array_has_string(resolv, "rslave"));
    assert_false(array_has_string(resolv, "slave"));
    assert_true(rewrites_mention(&rw, "rslave dropped (the sandbox rejects MS_REC and MS_SLAVE)"));
    assert_false(array_has_string(json_object_get(find_mount(mounts, "/sys/fs/cgroup"), "options"), "ro"));
    /* Masks kig-runtime applies itself; read-only paths it cannot. */
    assert_int_equal(json_array_size(json_object_get(rw.kig_mounts, "maskedPaths")), 2);
    assert_null(path(rw.config, "linux", "maskedPaths"));
    assert_null(path(rw.config, "linux", "readonlyPaths"));
    assert_true(rewrites_mention(&rw, "linux.readonlyPaths (2) not applied"));
    /* The devices a fresh /dev gets, plus the spec's own; none left for the runtime's mknod. */
    const json_t *devices = json_object_get(rw.kig_mounts, "devices");
    assert_int_equal(json_array_size(devices), 7);
    assert_null(path(rw.config, "linux", "devices"));
    assert_false(json_is_true(path(rw.config, "root", "readonly")));
    assert_true(rewrites_mention(&rw, "root filesystem left read-write"));
    spec_rewrite_done(&rw);
    json_decref(in);
}

/* One missing feature at a time: only its rule fires. */
/* Where mounts on /proc/self/fd/N work (kig-trace's mount rule), the runtime mounts; runc's validator then
 * refuses masked or read-only paths without a mount namespace, crun applies them. */
static void test_masks_without_mount_namespace(void **state)
{
    struct runtime_features f;
    traced_gvisor_features(&f);
    json_t *in = load(cri_container);
    struct spec_rewrite rw;
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_RUNC, &rw), 0);
    assert_null(rw.kig_mounts);
    assert_null(path(rw.config, "linux", "maskedPaths"));
    assert_null(path(rw.config, "linux", "readonlyPaths"));
    assert_true(rewrites_mention(&rw, "linux.maskedPaths (2) not applied: runc refuses them"));
    spec_rewrite_done(&rw);
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    assert_int_equal(json_array_size(path(rw.config, "linux", "maskedPaths")), 2);
    spec_rewrite_done(&rw);
    json_decref(in);
}

/* runc makes its mounts itself even where kig-runtime would make crun's: its init binds the rootfs onto
 * itself first, which without MS_REC would hide mounts made below it beforehand. */
static void test_runc_keeps_its_mounts(void **state)
{
    (void)state;
    struct runtime_features f;
    gvisor_features(&f);
    json_t *in = load(cri_container);
    struct spec_rewrite rw;
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_RUNC, &rw), 0);
    assert_null(rw.kig_mounts);
    assert_int_equal(json_array_size(json_object_get(rw.config, "mounts")), 6);
    assert_false(rewrites_mention(&rw, "made by kig-runtime"));
    spec_rewrite_done(&rw);
    json_decref(in);
}

/* The pod's sandbox (pause) container keeps only /dev and /proc where it would share the node's mount table,
 * for both runtimes, traced or not; app containers keep theirs, and so does a sandbox that has mount
 * namespaces. */
static void test_sandbox_without_mounts(void **state)
{
    (void)state;
    json_t *in = load(cri_container);
    json_object_set_new(in, "annotations", json_pack("{s:s}", "io.kubernetes.cri.container-type", "sandbox"));
    struct runtime_features f;
    struct spec_rewrite rw;
    for (int traced = 0; traced <= 1; traced++)
        for (int rt = OCI_RUNTIME_CRUN; rt <= OCI_RUNTIME_RUNC; rt++) {
            traced ? traced_gvisor_features(&f) : gvisor_features(&f);
            assert_int_equal(spec_rewrite(in, &f, (enum oci_runtime_kind)rt, &rw), 0);
            /* /dev (the runtime makes its device nodes there) and /proc (runc's init reads it) */
            json_t *left = traced || rt == OCI_RUNTIME_RUNC ? json_object_get(rw.config, "mounts")
                                                            : path(rw.kig_mounts, "mounts", NULL);
            assert_int_equal(json_array_size(left), 2);
            assert_string_equal(json_string_value(path(json_array_get(left, 0), "destination", NULL)),
                                "/proc");
            assert_string_equal(json_string_value(path(json_array_get(left, 1), "destination", NULL)),
                                "/dev");
            assert_null(path(rw.config, "linux", "maskedPaths"));
            assert_null(path(rw.config, "linux", "readonlyPaths"));
            assert_true(rewrites_mention(&rw, "pod sandbox container: 4 of its 6 mounts"));
            spec_rewrite_done(&rw);
        }

    runtime_features_init_host(&f);
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    assert_int_equal(json_array_size(json_object_get(rw.config, "mounts")), 6);
    assert_false(rewrites_mention(&rw, "pod sandbox container"));
    spec_rewrite_done(&rw);

    json_object_set_new(in, "annotations",
                        json_pack("{s:s}", "io.kubernetes.cri.container-type", "container"));
    traced_gvisor_features(&f);
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    assert_int_equal(json_array_size(json_object_get(rw.config, "mounts")), 6);
    assert_false(rewrites_mention(&rw, "pod sandbox container"));
    spec_rewrite_done(&rw);
    json_decref(in);
}

/* runc sets a bind's flags with a bind remount, which gVisor rejects: they go, for runc only, and the
 * /dev/pts bind that replaces devpts is a bind like any other. crun passes them with the bind. */
static void test_runc_bind_flags(void **state)
{
    struct runtime_features f;
    traced_gvisor_features(&f);
    json_t *in = load(cri_container);
    struct spec_rewrite rw;
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_RUNC, &rw), 0);
    const json_t *pts = find_mount(json_object_get(rw.config, "mounts"), "/dev/pts");
    assert_non_null(pts);
    assert_string_equal(json_string_value(json_object_get(pts, "type")), "bind");
    const json_t *options = json_object_get(pts, "options");
    assert_int_equal(json_array_size(options), 1);
    assert_true(array_has_string(options, "bind"));
    assert_true(rewrites_mention(&rw, "mount /dev/pts: nosuid dropped (runc applies it to a bind"));
    /* runc binds each cgroup v1 hierarchy and remounts it with the flags. */
    const json_t *cg = find_mount(json_object_get(rw.config, "mounts"), "/sys/fs/cgroup");
    assert_int_equal(json_array_size(json_object_get(cg, "options")), 0);
    /* Not a bind: runc mounts it with its flags at once. */
    const json_t *proc = find_mount(json_object_get(rw.config, "mounts"), "/proc");
    assert_int_equal(json_array_size(json_object_get(proc, "options")), 3);
    spec_rewrite_done(&rw);

    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    pts = find_mount(json_object_get(rw.config, "mounts"), "/dev/pts");
    assert_true(array_has_string(json_object_get(pts, "options"), "nosuid"));
    assert_true(array_has_string(json_object_get(pts, "options"), "noexec"));
    spec_rewrite_done(&rw);

    f.bind_remount = true;
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_RUNC, &rw), 0);
    pts = find_mount(json_object_get(rw.config, "mounts"), "/dev/pts");
    assert_true(array_has_string(json_object_get(pts, "options"), "nosuid"));
    spec_rewrite_done(&rw);
    json_decref(in);
}

static void test_single_features(void **state)
{
    static const struct {
        size_t offset;
        const char *mentions;
    } cases[] = {
        {offsetof(struct runtime_features, session_keyring), "--no-new-keyring"},
        {offsetof(struct runtime_features, devpts), "devpts at /dev/pts replaced"},
        {offsetof(struct runtime_features, apparmor), "apparmorProfile"},
        {offsetof(struct runtime_features, proc_self_setgroups), "keep_original_groups"},
    };
    json_t *in = load(cri_container);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct runtime_features f;
        runtime_features_init_host(&f);
        *(bool *)((char *)&f + cases[i].offset) = false;
        struct spec_rewrite rw;
        assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
        assert_int_equal(json_array_size(rw.rewrites), 1);
        assert_true(rewrites_mention(&rw, cases[i].mentions));
        assert_null(rw.kig_mounts);
        spec_rewrite_done(&rw);
    }
    struct runtime_features f;
    runtime_features_init_host(&f);
    f.cgroup_controllers &= ~(1u << CGROUP_DEVICES);
    struct spec_rewrite rw;
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    assert_int_equal(json_array_size(rw.rewrites), 1);
    assert_null(json_object_get(path(rw.config, "linux", "resources"), "devices"));
    spec_rewrite_done(&rw);

    /* Without CAP_SYS_RESOURCE a lower oom_score_adj is refused: raised to what can be set. */
    runtime_features_init_host(&f);
    f.oom_score_adj_min = 0;
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    assert_int_equal(json_integer_value(path(rw.config, "process", "oomScoreAdj")), 0);
    assert_int_equal(json_array_size(rw.rewrites), 1);
    spec_rewrite_done(&rw);

    /* setns present but mounts not isolated: only the mount namespace goes; mounts stay with the runtime
     * when it can mount through /proc/self/fd. */
    runtime_features_init_host(&f);
    f.mount_namespace = false;
    assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), 0);
    assert_int_equal(json_array_size(path(rw.config, "linux", "namespaces")), 4);
    assert_null(rw.kig_mounts);
    assert_int_equal(json_array_size(json_object_get(rw.config, "mounts")), 6);
    spec_rewrite_done(&rw);
    json_decref(in);
}

static void test_malformed(void **state)
{
    static const struct {
        const char *json;
        const char *error;
    } cases[] = {
        {"[]", "not a JSON object"},
        {"{\"linux\":[]}", "linux has the wrong type"},
        {"{\"linux\":{\"namespaces\":{}}}", "linux.namespaces has the wrong type"},
        {"{\"linux\":{\"namespaces\":[{\"path\":\"/x\"}]}}", "needs a \"type\" string"},
        {"{\"linux\":{\"namespaces\":[{\"type\":\"net\",\"path\":3}]}}", "path has the wrong type"},
        {"{\"mounts\":[{\"type\":\"tmpfs\"}]}", "mounts[0] needs a \"destination\""},
        {"{\"mounts\":[{\"destination\":\"/x\",\"options\":[1]}]}", "non-string"},
        {"{\"process\":{\"capabilities\":{\"bounding\":[7]}}}", "non-string"},
        {"{\"process\":{\"oomScoreAdj\":\"x\"}}", "oomScoreAdj has the wrong type"},
        {"{\"process\":{\"rlimits\":[{}]}}", "rlimits[0] needs a \"type\""},
        {"{\"root\":{\"readonly\":\"yes\"}}", "root.readonly has the wrong type"},
    };
    struct runtime_features f;
    gvisor_features(&f);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *in = load(cases[i].json);
        struct spec_rewrite rw;
        assert_int_equal(spec_rewrite(in, &f, OCI_RUNTIME_CRUN, &rw), -EINVAL);
        if (!strstr(rw.error, cases[i].error))
            fail_msg("case %zu: '%s' does not mention '%s'", i, rw.error, cases[i].error);
        assert_null(strchr(rw.error, '\n'));
        assert_null(rw.config);
        assert_null(rw.rewrites);
        json_decref(in);
    }
}

static void test_process_rules_alone(void **state)
{
    struct runtime_features f;
    gvisor_features(&f);
    f.oom_score_adj_min = -500;
    json_t *p = load("{\"args\":[\"sh\"],\"oomScoreAdj\":-998,"
                     "\"capabilities\":{\"bounding\":[\"CAP_NET_RAW\"],\"ambient\":[\"CAP_KILL\"]},"
                     "\"rlimits\":[{\"type\":\"RLIMIT_NICE\",\"hard\":1,\"soft\":1}]}");
    json_t *rewrites = json_array();
    char error[128] = "";
    assert_int_equal(spec_rewrite_process(p, &f, rewrites, error, sizeof(error)), 0);
    assert_int_equal(json_integer_value(json_object_get(p, "oomScoreAdj")), -500);
    assert_int_equal(json_array_size(json_object_get(json_object_get(p, "capabilities"), "bounding")), 0);
    assert_int_equal(json_array_size(json_object_get(p, "rlimits")), 0);
    assert_null(json_object_get(json_object_get(p, "capabilities"), "ambient"));
    assert_int_equal(json_array_size(rewrites), 4);
    json_decref(rewrites);
    json_decref(p);
}

static void test_sysctl_namespace(void **state)
{
    assert_string_equal(sysctl_namespace("net.core.somaxconn"), "network");
    assert_string_equal(sysctl_namespace("kernel.msgmax"), "ipc");
    assert_string_equal(sysctl_namespace("fs.mqueue.queues_max"), "ipc");
    assert_string_equal(sysctl_namespace("kernel.hostname"), "uts");
    assert_null(sysctl_namespace("vm.overcommit_memory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_changes_nothing),
        cmocka_unit_test(test_gvisor_namespaces),
        cmocka_unit_test(test_own_uts),
        cmocka_unit_test(test_gvisor_process),
        cmocka_unit_test(test_gvisor_resources),
        cmocka_unit_test(test_gvisor_mounts_move_to_kig),
        cmocka_unit_test(test_masks_without_mount_namespace),
        cmocka_unit_test(test_runc_bind_flags),
        cmocka_unit_test(test_runc_keeps_its_mounts),
        cmocka_unit_test(test_sandbox_without_mounts),
        cmocka_unit_test(test_single_features),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_process_rules_alone),
        cmocka_unit_test(test_sysctl_namespace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
