/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "macro.h"
#include "node-config.h"

#include <jansson.h>
#include <string.h>

static const struct containerd_options containerd_defaults = {
    .root = "/run/kig/containerd/root",
    .state = "/run/kig/containerd/state",
    .socket = "/run/kig/containerd/containerd.sock",
    .snapshotter = "native",
    .runtime_binary = "/usr/libexec/kig/kig-runtime",
    .runtime_root = "/run/kig/runtime",
    .sandbox_image = "localhost/kig/pause:3.2",
    .cni_bin_dir = "/run/kig/cni/bin",
    .cni_conf_dir = "/run/kig/cni/net.d",
    .restrict_oom_score_adj = true,
};

static void test_toml_quote(void **state)
{
    _cleanup_free_ char *a = toml_quote("plain/path");
    _cleanup_free_ char *b = toml_quote("a\"b\\c\nd\x01");
    assert_string_equal(a, "\"plain/path\"");
    assert_string_equal(b, "\"a\\\"b\\\\c\\nd\\u0001\"");
}

static void test_containerd_config(void **state)
{
    _cleanup_free_ char *doc = NULL;
    assert_int_equal(containerd_config_render(&containerd_defaults, &doc), 0);
    assert_non_null(strstr(doc, "version = 2\n"));
    assert_non_null(strstr(doc, "root = \"/run/kig/containerd/root\"\n"));
    assert_non_null(strstr(doc, "  snapshotter = \"native\"\n"));
    assert_non_null(strstr(doc, "  BinaryName = \"/usr/libexec/kig/kig-runtime\"\n"));
    assert_non_null(strstr(doc, "  sandbox_image = \"localhost/kig/pause:3.2\"\n"));
    /* The CRI plugin refuses a 4.4 kernel unless both are off. */
    assert_non_null(strstr(doc, "  enable_unprivileged_ports = false\n"));
    assert_non_null(strstr(doc, "  enable_unprivileged_icmp = false\n"));
    assert_non_null(strstr(doc, "  restrict_oom_score_adj = true\n"));
    assert_non_null(strstr(doc, "  disable_cgroup = false\n"));
    /* Table headers are dotted keys in one pair of brackets (containerd rejects "[a.\"b\"].c]"). */
    assert_non_null(strstr(doc, "\n[plugins.\"io.containerd.grpc.v1.cri\"]\n"));
    assert_non_null(
        strstr(doc, "\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kig.options]\n"));
    assert_null(strstr(doc, "\"]."));
    assert_null(strstr(doc, "config_path"));
    /* The opt plugin would create /opt/containerd on the user's machine and put its lib dir (and the
     * current directory) before every library lookup of the programs containerd starts. */
    const char *disabled = strstr(doc, "\ndisabled_plugins = [");
    assert_non_null(disabled);
    const char *opt = strstr(disabled, "\"io.containerd.internal.v1.opt\"");
    assert_non_null(opt);
    assert_true(opt < strchr(disabled + 1, '\n')); /* on that line, not in a later table */
}

static void test_containerd_config_registry_hosts(void **state)
{
    struct containerd_options o = containerd_defaults;
    o.registry_config_dir = "/data/node/containerd/certs.d";
    _cleanup_free_ char *doc = NULL;
    assert_int_equal(containerd_config_render(&o, &doc), 0);
    assert_non_null(strstr(doc, "\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
                                "  config_path = \"/data/node/containerd/certs.d\"\n"));
    /* The table comes after the CRI's own keys: a key after it would belong to it. */
    assert_non_null(strstr(doc, "  max_conf_num = 1\n\n[plugins"));
}

static void test_containerd_config_escapes_and_requires(void **state)
{
    struct containerd_options o = containerd_defaults;
    o.root = "/data dir/\"quoted\"";
    _cleanup_free_ char *doc = NULL;
    assert_int_equal(containerd_config_render(&o, &doc), 0);
    assert_non_null(strstr(doc, "root = \"/data dir/\\\"quoted\\\"\"\n"));
    o.socket = NULL;
    char *none = NULL;
    assert_int_equal(containerd_config_render(&o, &none), -EINVAL);
    assert_null(none);
}

static void test_kubelet_config(void **state)
{
    struct kubelet_options o = {
        .node_ip = "10.200.0.1",
        .client_ca_file = "/d/pki/ca.crt",
        .tls_cert_file = "/d/pki/kubelet.crt",
        .tls_key_file = "/d/pki/kubelet.key",
        .cluster_dns = "10.96.0.10",
        .cluster_domain = "cluster.local",
    };
    _cleanup_free_ char *doc = NULL;
    assert_int_equal(kubelet_config_render(&o, &doc), 0);
    json_error_t e;
    json_t *d = json_loads(doc, 0, &e);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "KubeletConfiguration");
    assert_false(json_is_true(json_object_get(d, "cgroupsPerQOS")));
    assert_int_equal(json_array_size(json_object_get(d, "enforceNodeAllocatable")), 0);
    assert_false(json_is_true(json_object_get(d, "protectKernelDefaults")));
    assert_false(json_is_true(json_object_get(d, "makeIPTablesUtilChains")));
    assert_false(json_is_true(
        json_object_get(json_object_get(json_object_get(d, "authentication"), "anonymous"), "enabled")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "authorization"), "mode")),
                        "Webhook");
    assert_int_equal(json_integer_value(json_object_get(d, "readOnlyPort")), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "clusterDNS"), 0)), "10.96.0.10");
    assert_false(
        json_is_true(json_object_get(json_object_get(d, "featureGates"), "LocalStorageCapacityIsolation")));
    assert_true(json_is_false(json_object_get(json_object_get(d, "featureGates"), "CSIMigration")));
    assert_string_equal(json_string_value(json_object_get(d, "nodeStatusUpdateFrequency")), "2s");
    assert_string_equal(json_string_value(json_object_get(d, "nodeStatusReportFrequency")), "5m");
    json_decref(d);

    o.cgroups_per_qos = true;
    _cleanup_free_ char *qos = NULL;
    assert_int_equal(kubelet_config_render(&o, &qos), 0);
    d = json_loads(qos, 0, &e);
    assert_true(json_is_true(json_object_get(d, "cgroupsPerQOS")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "enforceNodeAllocatable"), 0)),
                        "pods");
    json_decref(d);

    o.tls_cert_file = NULL;
    char *none = NULL;
    assert_int_equal(kubelet_config_render(&o, &none), -EINVAL);
}

static void test_cni_conflist(void **state)
{
    struct cni_options o = {
        .network_name = "kig", .plugin_type = "kig-cni", .strategy = "host", .node_ip = "10.200.0.1"};
    _cleanup_free_ char *doc = NULL;
    assert_int_equal(cni_conflist_render(&o, &doc), 0);
    json_t *d = json_loads(doc, 0, NULL);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "cniVersion")), "1.0.0");
    json_t *p = json_array_get(json_object_get(d, "plugins"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "type")), "kig-cni");
    assert_string_equal(json_string_value(json_object_get(p, "nodeIP")), "10.200.0.1");
    assert_null(json_object_get(p, "podCIDR"));
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toml_quote),
        cmocka_unit_test(test_containerd_config),
        cmocka_unit_test(test_containerd_config_escapes_and_requires),
        cmocka_unit_test(test_containerd_config_registry_hosts),
        cmocka_unit_test(test_kubelet_config),
        cmocka_unit_test(test_cni_conflist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
