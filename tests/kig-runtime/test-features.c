/* The sandbox features: names, the flat JSON form and `kig doctor --json` reports. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "kig-config.h"
#include "sandbox-features.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static void test_names(void **state)
{
    assert_int_equal(capability_from_name("CAP_NET_RAW"), 13);
    assert_string_equal(capability_name(21), "CAP_SYS_ADMIN");
    assert_int_equal(capability_from_name("CAP_NOPE"), -EINVAL);
    assert_null(capability_name(N_CAPABILITIES));
    assert_int_equal(rlimit_type_from_name("RLIMIT_NOFILE"), 7);
    assert_string_equal(rlimit_type_name(15), "RLIMIT_RTTIME");
    assert_int_equal(cgroup_controller_from_name("devices"), CGROUP_DEVICES);
    assert_string_equal(cgroup_controller_name(CGROUP_UNIFIED), "unified");
    assert_int_equal(cgroup_controller_from_name(NULL), -EINVAL);
}

static void test_flat_json_roundtrip(void **state)
{
    struct runtime_features a, b;
    runtime_features_init_host(&a);
    a.setns = false;
    a.mount_flags_rejected = MOUNT_FLAG_REC | MOUNT_FLAG_STRICTATIME;
    a.cgroup_controllers = 1u << CGROUP_CPU | 1u << CGROUP_PIDS;
    a.capabilities = UINT64_C(1) << 13 | 1;
    a.oom_score_adj_min = 7;
    a.rlimits = 1u << 7;
    a.selinux = false;
    json_t *j = runtime_features_to_json(&a);
    assert_non_null(j);
    runtime_features_init_host(&b);
    assert_int_equal(runtime_features_from_json(j, &b), 0);
    json_t *k = runtime_features_to_json(&b);
    assert_true(json_equal(j, k));
    assert_false(b.setns);
    assert_int_equal(b.mount_flags_rejected, a.mount_flags_rejected);
    assert_int_equal(b.cgroup_controllers, a.cgroup_controllers);
    assert_int_equal(b.capabilities, a.capabilities);
    assert_int_equal(b.oom_score_adj_min, 7);
    assert_int_equal(b.rlimits, a.rlimits);
    assert_false(b.selinux);
    json_decref(k);
    json_decref(j);
}

static void test_flat_json_partial_and_bad(void **state)
{
    struct runtime_features f, host;
    runtime_features_init_host(&f);
    runtime_features_init_host(&host);
    json_t *j = json_loads(
        "{\"devpts\": false, \"unknown_key\": 3, \"capabilities\": [\"CAP_KILL\", \"CAP_NEW\"]}", 0, NULL);
    assert_int_equal(runtime_features_from_json(j, &f), 0);
    assert_false(f.devpts);
    assert_true(f.setns); /* absent keys keep their value */
    assert_int_equal(f.capabilities, UINT64_C(1) << 5);
    json_decref(j);
    static const char *const bad[] = {"{\"setns\": 1}", "{\"rlimits\": \"RLIMIT_CPU\"}",
                                      "{\"capabilities\": [1]}", "{\"oom_score_adj_min\": 5000}", "[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        assert_int_equal(runtime_features_from_json(j, &f), -EINVAL);
        json_decref(j);
    }
}

static void test_doctor_report(void **state)
{
    struct runtime_features f;
    runtime_features_init_host(&f);
    json_t *j = json_loads("{\"schema\": 1, \"probes\": ["
                           " {\"id\": \"setns.net\", \"status\": \"missing\"},"
                           " {\"id\": \"setns.mnt\", \"status\": \"present\"},"
                           " {\"id\": \"ns.mnt.isolation\", \"status\": \"missing\"},"
                           " {\"id\": \"mount.proc_fd\", \"status\": \"error\"},"
                           " {\"id\": \"mount.ms_rec\", \"status\": \"missing\"},"
                           " {\"id\": \"mount.ms_strictatime\", \"status\": \"partial\"},"
                           " {\"id\": \"cgroup.v1.devices\", \"status\": \"missing\"},"
                           " {\"id\": \"cgroup.v1.memory\", \"status\": \"present\"},"
                           " {\"id\": \"caps.net_raw\", \"status\": \"missing\"},"
                           " {\"id\": \"process.keyring\", \"status\": \"missing\"},"
                           " {\"id\": \"sysctl.kernel.panic\", \"status\": \"missing\"}]}",
                           0, NULL);
    assert_int_equal(runtime_features_from_json(j, &f), 0);
    assert_false(f.setns); /* one namespace that cannot be joined is enough */
    assert_false(f.mount_namespace);
    assert_false(f.mount_via_proc_fd);
    assert_true(f.bind_remount); /* not in the report: unchanged */
    assert_int_equal(f.mount_flags_rejected, MOUNT_FLAG_REC | MOUNT_FLAG_STRICTATIME);
    assert_false(runtime_features_has_controller(&f, CGROUP_DEVICES));
    assert_true(runtime_features_has_controller(&f, CGROUP_MEMORY));
    assert_false(f.capabilities & (UINT64_C(1) << 13));
    assert_false(f.session_keyring);
    json_decref(j);
    j = json_loads("{\"schema\": 1, \"probes\": [{\"id\": 3}]}", 0, NULL);
    assert_int_equal(runtime_features_from_json(j, &f), -EINVAL);
    json_decref(j);
}

static void test_probe_is_sane(void **state)
{
    /* Whatever this machine is, the probe must not crash and must see our own capabilities. */
    char dir[] = "/tmp/kig-features-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct runtime_features f;
    runtime_features_probe(&f, dir);
    assert_true(f.oom_score_adj_min >= -1000 && f.oom_score_adj_min <= 1000);
    if (geteuid() == 0)
        assert_true(f.capabilities & (UINT64_C(1) << 21)); /* root has CAP_SYS_ADMIN */
    assert_int_equal(rmdir(dir), 0);                       /* the probe left nothing in it */
}

/* The kernel's facts come from the cache a probe of this version wrote; other versions' caches are ignored.
 */
static void test_probe_cache(void **state)
{
    char dir[] = "/tmp/kig-features-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cache[64];
    snprintf(cache, sizeof(cache), "%s/cache.json", dir);
    struct runtime_features probed, f;
    runtime_features_probe_cached(&probed, dir, cache);
    json_t *j = json_load_file(cache, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "kigVersion")), KIG_VERSION);
    assert_true(json_is_boolean(json_object_get(j, "setns")));

    /* A cache says the opposite of the probe: its answer is the one used, for the kernel's facts only. */
    json_object_set_new(j, "devpts", json_boolean(!probed.devpts));
    json_object_set_new(j, "setns", json_boolean(!probed.setns));
    json_object_set_new(j, "oom_score_adj_min", json_integer(probed.oom_score_adj_min + 1));
    assert_int_equal(json_dump_file(j, cache, 0), 0);
    runtime_features_probe_cached(&f, dir, cache);
    assert_int_equal(f.devpts, !probed.devpts);
    assert_int_equal(f.setns, !probed.setns);
    assert_int_equal(f.oom_score_adj_min, probed.oom_score_adj_min); /* measured every time */
    assert_int_equal(f.capabilities, probed.capabilities);

    /* Another version's cache is probed over and rewritten. */
    json_object_set_new(j, "kigVersion", json_string("0.0.0-other"));
    assert_int_equal(json_dump_file(j, cache, 0), 0);
    runtime_features_probe_cached(&f, dir, cache);
    assert_int_equal(f.devpts, probed.devpts);
    assert_int_equal(f.setns, probed.setns);
    json_decref(j);
    j = json_load_file(cache, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "kigVersion")), KIG_VERSION);
    json_decref(j);
    assert_int_equal(unlink(cache), 0);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_flat_json_roundtrip),
        cmocka_unit_test(test_flat_json_partial_and_bad),
        cmocka_unit_test(test_doctor_report),
        cmocka_unit_test(test_probe_is_sane),
        cmocka_unit_test(test_probe_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
