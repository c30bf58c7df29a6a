#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "component-table.h"
#include "macro.h"
#include "node-setup.h"
#include "readiness.h"
#include "strv.h"

#include <string.h>

static struct data_dir dir = {
    .root = "/d",
    .pki = "/d/pki",
    .kubeconfigs = "/d/kubeconfig",
    .etcd = "/d/etcd",
    .logs = "/d/logs",
    .run = "/d/run",
};

static struct cluster_config config(const char *advertise)
{
    struct cluster_config c = {
        .dir = &dir, .name = "dev", .mode = CLUSTER_MODE_CONTROL_PLANE_ONLY, .etcd_peer_port = 2380};
    snprintf(c.advertise_address, sizeof(c.advertise_address), "%s", advertise);
    c.ports[CC_ETCD] = 2379;
    c.ports[CC_KUBE_APISERVER] = 7443;
    c.ports[CC_KUBE_CONTROLLER_MANAGER] = 10257;
    c.ports[CC_KUBE_SCHEDULER] = 10259;
    return c;
}

static void build(enum cluster_component id, const struct cluster_config *c, struct strv *args)
{
    assert_int_equal(component_spec_get(id)->build_args(c, args), 0);
    assert_non_null(args->v);
    assert_null(args->v[args->n]);
}

static void assert_has(const struct strv *args, const char *flag)
{
    if (!strv_contains(args, flag))
        fail_msg("missing %s", flag);
}

static void assert_lacks_prefix(const struct strv *args, const char *prefix)
{
    for (size_t i = 0; i < args->n; i++)
        if (strncmp(args->v[i], prefix, strlen(prefix)) == 0)
            fail_msg("unexpected %s", args->v[i]);
}

static void test_etcd(void **state)
{
    struct cluster_config c = config("127.0.0.1");
    _cleanup_(strv_done) struct strv a = {0};
    build(CC_ETCD, &c, &a);
    assert_has(&a, "--name=dev");
    assert_has(&a, "--data-dir=/d/etcd");
    assert_has(&a, "--listen-client-urls=https://127.0.0.1:2379");
    assert_has(&a, "--client-cert-auth=true");
    assert_has(&a, "--trusted-ca-file=/d/pki/etcd-ca.crt");
    assert_has(&a, "--cert-file=/d/pki/etcd-server.crt");
    assert_has(&a, "--peer-client-cert-auth=true");
    assert_has(&a, "--initial-cluster=dev=https://127.0.0.1:2380");
}

static void test_apiserver_is_secure(void **state)
{
    struct cluster_config c = config("10.1.2.3");
    _cleanup_(strv_done) struct strv a = {0};
    build(CC_KUBE_APISERVER, &c, &a);
    assert_has(&a, "--secure-port=7443");
    assert_has(&a, "--bind-address=127.0.0.1");
    assert_has(&a, "--insecure-port=0");
    assert_has(&a, "--anonymous-auth=false");
    assert_has(&a, "--authorization-mode=Node,RBAC");
    assert_has(&a, "--client-ca-file=/d/pki/ca.crt");
    assert_has(&a, "--etcd-servers=https://127.0.0.1:2379");
    assert_has(&a, "--etcd-cafile=/d/pki/etcd-ca.crt");
    assert_has(&a, "--etcd-certfile=/d/pki/apiserver-etcd-client.crt");
    assert_has(&a, "--service-cluster-ip-range=10.96.0.0/12");
    assert_has(&a, "--service-account-key-file=/d/pki/sa.pub");
    assert_has(&a, "--service-account-signing-key-file=/d/pki/sa.key");
    assert_has(&a, "--advertise-address=10.1.2.3");
    assert_lacks_prefix(&a, "--endpoint-reconciler-type");
}

static void test_apiserver_loopback_advertise(void **state)
{
    struct cluster_config c = config("127.0.0.1");
    _cleanup_(strv_done) struct strv a = {0};
    build(CC_KUBE_APISERVER, &c, &a);
    assert_has(&a, "--advertise-address=127.0.0.1");
    assert_has(&a, "--endpoint-reconciler-type=none");
}

static void test_controller_manager(void **state)
{
    struct cluster_config c = config("127.0.0.1");
    _cleanup_(strv_done) struct strv a = {0};
    build(CC_KUBE_CONTROLLER_MANAGER, &c, &a);
    assert_has(&a, "--kubeconfig=/d/kubeconfig/controller-manager.kubeconfig");
    assert_has(&a, "--use-service-account-credentials=true");
    assert_has(&a, "--root-ca-file=/d/pki/ca.crt");
    assert_has(&a, "--service-account-private-key-file=/d/pki/sa.key");
    assert_has(&a, "--cluster-signing-cert-file=/d/pki/ca.crt");
    assert_has(&a, "--cluster-signing-key-file=/d/pki/ca.key");
    assert_has(&a, "--secure-port=10257");
    assert_has(&a, "--bind-address=127.0.0.1");
    assert_has(&a, "--port=0");
    assert_has(&a, "--cluster-name=dev");
    assert_has(&a, "--tls-cert-file=/d/pki/controller-manager-server.crt");
    assert_has(&a, "--tls-private-key-file=/d/pki/controller-manager-server.key");
    assert_has(&a, "--kube-api-qps=100");
}

static void test_scheduler(void **state)
{
    struct cluster_config c = config("127.0.0.1");
    _cleanup_(strv_done) struct strv a = {0};
    build(CC_KUBE_SCHEDULER, &c, &a);
    assert_has(&a, "--kubeconfig=/d/kubeconfig/scheduler.kubeconfig");
    assert_has(&a, "--tls-cert-file=/d/pki/scheduler-server.crt");
    assert_has(&a, "--tls-private-key-file=/d/pki/scheduler-server.key");
    assert_has(&a, "--secure-port=10259");
    assert_has(&a, "--port=0");
    assert_has(&a, "--bind-address=127.0.0.1");
}

/* The supervisor starts rows in order as their gates open and stops them in reverse: a row may only wait
 * for one that comes before it, or nothing would ever open its gate. */
static void test_table_order(void **state)
{
    size_t n;
    const struct component_spec *t = component_table(&n);
    assert_int_equal(n, _CC_MAX);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t[i].id, (enum cluster_component)i);
        assert_non_null(t[i].build_args);
        assert_true(t[i].modes & CLUSTER_MODE_FULL); /* the full node runs every component */
        /* The node's components come last: the control plane's order must not depend on them. */
        if (t[i].modes & CLUSTER_MODE_CONTROL_PLANE_ONLY)
            assert_true(i <= CC_KUBE_SCHEDULER);
        if (t[i].gate != GATE_NONE)
            assert_true((size_t)t[i].after < i);
    }
    assert_ptr_equal(component_spec_find("apiserver"), &t[CC_KUBE_APISERVER]);
    assert_ptr_equal(component_spec_find("kube-scheduler"), &t[CC_KUBE_SCHEDULER]);
    assert_ptr_equal(component_spec_find("kubelet"), &t[CC_KUBELET]);
    assert_true(t[CC_CONTAINERD].traced);
    assert_false(t[CC_KUBELET].traced);
    assert_null(component_spec_find("kube-proxy"));
}

static void test_node_components(void **state)
{
    struct node_setup n = {
        .containerd_config = "/d/node/config/containerd.toml",
        .containerd_socket = "/d/node/containerd/containerd.sock",
        .kubelet_config = "/d/node/config/kubelet.json",
        .kubelet_kubeconfig = "/d/node/config/kubelet.kubeconfig",
        .kubelet_root = "/d/node/kubelet",
        .node_name = "dev",
        .node_ip = "10.200.0.1",
    };
    struct cluster_config c = config("127.0.0.1");
    c.mode = CLUSTER_MODE_FULL;
    c.node = &n;
    _cleanup_(strv_done) struct strv containerd = {0}, kubelet = {0};
    build(CC_CONTAINERD, &c, &containerd);
    assert_has(&containerd, "--config=/d/node/config/containerd.toml");
    build(CC_KUBELET, &c, &kubelet);
    assert_has(&kubelet, "--config=/d/node/config/kubelet.json");
    assert_has(&kubelet, "--kubeconfig=/d/node/config/kubelet.kubeconfig");
    assert_has(&kubelet, "--container-runtime=remote");
    assert_has(&kubelet, "--container-runtime-endpoint=unix:///d/node/containerd/containerd.sock");
    assert_has(&kubelet, "--node-ip=10.200.0.1");
    assert_has(&kubelet, "--hostname-override=dev");
    assert_has(&kubelet, "--root-dir=/d/node/kubelet");
}

static void test_node_ready_check(void **state)
{
    assert_true(readiness_node_list_has_ready(
        "{\"items\":[{\"status\":{\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":\"False\"},"
        "{\"type\":\"Ready\",\"status\":\"True\"}]}}]}"));
    assert_false(readiness_node_list_has_ready(
        "{\"items\":[{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}]}"));
    assert_false(readiness_node_list_has_ready("{\"items\":[]}"));
    assert_false(readiness_node_list_has_ready("not json"));
    assert_false(readiness_node_list_has_ready("{\"items\":{\"status\":1}}"));
    size_t n_cp, n_full;
    readiness_cluster_checks(CLUSTER_MODE_CONTROL_PLANE_ONLY, &n_cp);
    const struct cluster_check *checks = readiness_cluster_checks(CLUSTER_MODE_FULL, &n_full);
    assert_int_equal(n_full, n_cp + 1);
    assert_non_null(checks[n_full - 1].accept);
}

/* kig creates the default service account early, but waits for its token: a pod is refused before it. */
static void test_service_account_check(void **state)
{
    assert_true(readiness_service_account_has_token(
        "{\"metadata\":{\"name\":\"default\"},\"secrets\":[{\"name\":\"default-token-x\"}]}"));
    assert_false(readiness_service_account_has_token("{\"metadata\":{\"name\":\"default\"}}"));
    assert_false(readiness_service_account_has_token("{\"secrets\":[]}"));
    assert_false(readiness_service_account_has_token("not json"));
    size_t n;
    const struct cluster_check *checks = readiness_cluster_checks(CLUSTER_MODE_CONTROL_PLANE_ONLY, &n);
    const struct cluster_check *sa = NULL;
    for (size_t i = 0; i < n; i++)
        if (checks[i].create_path)
            sa = &checks[i];
    assert_non_null(sa);
    assert_string_equal(sa->create_path, "/api/v1/namespaces/default/serviceaccounts");
    assert_string_equal(sa->api_paths[0], "/api/v1/namespaces/default/serviceaccounts/default");
    assert_ptr_equal(sa->accept, readiness_service_account_has_token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_etcd),
        cmocka_unit_test(test_apiserver_is_secure),
        cmocka_unit_test(test_apiserver_loopback_advertise),
        cmocka_unit_test(test_controller_manager),
        cmocka_unit_test(test_service_account_check),
        cmocka_unit_test(test_scheduler),
        cmocka_unit_test(test_table_order),
        cmocka_unit_test(test_node_components),
        cmocka_unit_test(test_node_ready_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
