/* netns-enter's pure parts: the per-thread "in pod P" table, a pin's pod address from kig-switch's
 * state.json, and what a connect becomes for a thread inside a pod. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "netns-enter.h"
#include "options.h"
#include "rule.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static struct in_addr ip(const char *s)
{
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a;
}

static void test_table(void **state)
{
    (void)state;
    struct in_addr got;
    assert_false(netns_enter_get(100, &got));
    assert_int_equal(netns_enter_set(100, ip("10.244.0.5")), 0);
    assert_true(netns_enter_get(100, &got));
    assert_int_equal(got.s_addr, ip("10.244.0.5").s_addr);
    assert_false(netns_enter_get(101, NULL));
    /* from one pod straight into another: one entry, the new pod */
    assert_int_equal(netns_enter_set(100, ip("10.244.0.6")), 0);
    assert_true(netns_enter_get(100, &got));
    assert_int_equal(got.s_addr, ip("10.244.0.6").s_addr);
    assert_true(netns_enter_clear(100));
    assert_false(netns_enter_clear(100));
    assert_false(netns_enter_get(100, NULL));

    /* full: the next thread is refused, a freed slot is reused */
    for (pid_t tid = 1; tid <= NETNS_ENTER_MAX_THREADS; tid++)
        assert_int_equal(netns_enter_set(tid, ip("10.244.0.7")), 0);
    assert_int_equal(netns_enter_set(NETNS_ENTER_MAX_THREADS + 1, ip("10.244.0.7")), -ENOSPC);
    assert_int_equal(netns_enter_set(3, ip("10.244.0.8")), 0); /* already in: still fine */
    assert_true(netns_enter_clear(7));
    assert_int_equal(netns_enter_set(NETNS_ENTER_MAX_THREADS + 1, ip("10.244.0.9")), 0);
    assert_true(netns_enter_get(NETNS_ENTER_MAX_THREADS + 1, &got));
    assert_int_equal(got.s_addr, ip("10.244.0.9").s_addr);
    for (pid_t tid = 1; tid <= NETNS_ENTER_MAX_THREADS + 1; tid++)
        netns_enter_clear(tid);
}

static const char state_json[] =
    "{\"version\": 1, \"pods\": ["
    " {\"id\": \"a\", \"ifname\": \"eth0\", \"netns\": \"/d/state/io.containerd.grpc.v1.cri/netns/cni-1111\","
    "  \"address\": \"10.244.0.2/0\", \"holderPid\": 10, \"dead\": false},"
    " {\"id\": \"b\", \"ifname\": \"eth0\", \"netns\": \"/var/run/netns/cni-2222\","
    "  \"address\": \"10.244.0.3/0\", \"holderPid\": 11, \"dead\": false},"
    " {\"id\": \"c\", \"ifname\": \"eth0\", \"netns\": \"/var/run/netns/cni-3333\","
    "  \"address\": \"10.244.0.4/0\", \"holderPid\": 12, \"dead\": true},"
    " {\"id\": \"d\", \"ifname\": \"eth0\", \"netns\": \"/x/plain\", \"address\": \"10.244.0.5/24\"}"
    "]}";

static void test_pod_address(void **state)
{
    (void)state;
    struct in_addr a;
    assert_int_equal(
        netns_enter_pod_address(state_json, "/d/state/io.containerd.grpc.v1.cri/netns/cni-1111", &a), 0);
    assert_int_equal(a.s_addr, ip("10.244.0.2").s_addr);
    /* the same pin through another spelling of its directory */
    assert_int_equal(netns_enter_pod_address(state_json, "/run/netns/cni-2222", &a), 0);
    assert_int_equal(a.s_addr, ip("10.244.0.3").s_addr);
    /* only containerd's cni-<uuid> names match by name alone */
    assert_int_equal(netns_enter_pod_address(state_json, "/y/plain", &a), -ENOENT);
    assert_int_equal(netns_enter_pod_address(state_json, "/x/plain", &a), 0);
    assert_int_equal(a.s_addr, ip("10.244.0.5").s_addr);
    assert_int_equal(netns_enter_pod_address(state_json, "/var/run/netns/cni-3333", &a), -EHOSTDOWN);
    assert_int_equal(netns_enter_pod_address(state_json, "/var/run/netns/cni-9999", &a), -ENOENT);
    assert_int_equal(netns_enter_pod_address("{\"pods\": [", "/var/run/netns/cni-1111", &a), -EINVAL);
    assert_int_equal(netns_enter_pod_address("{}", "/var/run/netns/cni-1111", &a), -ENOENT);
    assert_int_equal(netns_enter_pod_address(
                         "{\"pods\": [{\"netns\": \"/n/cni-1\", \"address\": \"bogus\"}]}", "/n/cni-1", &a),
                     -EINVAL);
}

static void test_connect(void **state)
{
    (void)state;
    struct in_addr pod = ip("10.244.0.7");
    struct sockaddr_in out,
        in = {.sin_family = AF_INET, .sin_port = htons(8080), .sin_addr = ip("127.0.0.1")};
    assert_int_equal(netns_enter_connect(&in, sizeof(in), pod, &out), NETNS_CONNECT_REWRITE);
    assert_int_equal(out.sin_family, AF_INET);
    assert_int_equal(ntohs(out.sin_port), 8080);
    assert_int_equal(out.sin_addr.s_addr, pod.s_addr);
    in.sin_addr = ip("127.1.2.3"); /* all of 127/8 is loopback */
    assert_int_equal(netns_enter_connect(&in, sizeof(in), pod, &out), NETNS_CONNECT_REWRITE);
    in.sin_addr = ip("10.96.0.10"); /* elsewhere: the node's view is the pod's */
    assert_int_equal(netns_enter_connect(&in, sizeof(in), pod, &out), NETNS_CONNECT_PASS);
    assert_int_equal(netns_enter_connect(&in, 1, pod, &out), NETNS_CONNECT_PASS);
    in.sin_addr = ip("127.0.0.1");
    assert_int_equal(netns_enter_connect(&in, sizeof(in) - 1, pod, &out), NETNS_CONNECT_PASS);

    struct sockaddr_in6 in6 = {
        .sin6_family = AF_INET6, .sin6_port = htons(8080), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    assert_int_equal(netns_enter_connect(&in6, sizeof(in6), pod, &out), NETNS_CONNECT_REFUSE);
    assert_int_equal(inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr), 1);
    assert_int_equal(netns_enter_connect(&in6, sizeof(in6), pod, &out), NETNS_CONNECT_REFUSE);
    assert_int_equal(inet_pton(AF_INET6, "fd00::1", &in6.sin6_addr), 1);
    assert_int_equal(netns_enter_connect(&in6, sizeof(in6), pod, &out), NETNS_CONNECT_PASS);

    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_int_equal(netns_enter_connect(&un, sizeof(un), pod, &out), NETNS_CONNECT_PASS);
}

static void test_netns_dirs(void **state)
{
    (void)state;
    struct trace_options opts = {.netns_dirs = {"/d/state/io.containerd.grpc.v1.cri/netns"},
                                 .n_netns_dirs = 1};
    netns_dirs_init(&opts);
    assert_true(netns_dir_holds("/d/state/io.containerd.grpc.v1.cri/netns/cni-1111"));
    assert_true(netns_dir_holds("/var/run/netns/cni-1"));
    assert_true(netns_dir_holds("/run/netns/cni-1"));
    assert_false(netns_dir_holds("/run/netns"));
    assert_false(netns_dir_holds("/proc/1/task/1/ns/net"));
    assert_false(netns_dir_holds("/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_pod_address),
        cmocka_unit_test(test_connect),
        cmocka_unit_test(test_netns_dirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
