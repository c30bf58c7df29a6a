/* Endpoint selection: round robin, sessionAffinity ClientIP with its timeout, backends changing under
 * both, and reading backends out of Services and Endpoints. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "balancer.h"
#include "service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static struct backend be(const char *ip, uint16_t port)
{
    struct backend b = {.port = port};
    assert_int_equal(inet_pton(AF_INET, ip, &b.ip), 1);
    return b;
}

static struct in_addr ip4(const char *s)
{
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a;
}

static int index_of(const struct backend *list, size_t n, const struct backend *b)
{
    for (size_t i = 0; i < n; i++)
        if (backend_compare(&list[i], b) == 0)
            return (int)i;
    return -1;
}

static void test_round_robin(void **state)
{
    struct balancer b;
    balancer_init(&b);
    struct backend got;
    assert_int_equal(balancer_pick(&b, ip4("10.0.0.1"), 0, &got), -EHOSTUNREACH);
    const struct backend list[] = {be("10.244.0.2", 80), be("10.244.0.3", 80), be("10.244.0.4", 80)};
    assert_int_equal(balancer_set_backends(&b, list, 3), 0);
    int counts[3] = {0};
    for (int i = 0; i < 30; i++) {
        assert_int_equal(balancer_pick(&b, ip4("10.0.0.1"), i, &got), 0);
        int idx = index_of(list, 3, &got);
        assert_true(idx >= 0);
        /* Strict rotation, not just an even spread. */
        assert_int_equal(idx, i % 3);
        counts[idx]++;
    }
    assert_int_equal(counts[0], 10);
    assert_int_equal(counts[1], 10);
    assert_int_equal(counts[2], 10);
    assert_int_equal(b.n_entries, 0); /* no affinity: nothing remembered */
    balancer_done(&b);
}

static void test_affinity_sticks_and_expires(void **state)
{
    struct balancer b;
    balancer_init(&b);
    balancer_set_affinity(&b, true, 10);
    const struct backend list[] = {be("10.244.0.2", 80), be("10.244.0.3", 80), be("10.244.0.4", 80)};
    assert_int_equal(balancer_set_backends(&b, list, 3), 0);
    struct backend first, got;
    assert_int_equal(balancer_pick(&b, ip4("10.0.0.1"), 1000, &first), 0);
    for (int i = 1; i <= 20; i++) {
        /* Each use refreshes the entry: 9 s apart never expires a 10 s affinity. */
        assert_int_equal(balancer_pick(&b, ip4("10.0.0.1"), 1000 + i * 9000, &got), 0);
        assert_int_equal(backend_compare(&got, &first), 0);
    }
    /* Another client is balanced independently (and goes on round robin). */
    struct backend other;
    assert_int_equal(balancer_pick(&b, ip4("10.0.0.2"), 1000, &other), 0);
    assert_int_not_equal(backend_compare(&other, &first), 0);
    /* Entries idle past the timeout are swept; one used within it stays. */
    int64_t later = 1000 + 20 * 9000 + 9999;
    balancer_expire(&b, later);
    assert_int_equal(b.n_entries, 1); /* 10.0.0.2 expired, 10.0.0.1 just inside */
    balancer_expire(&b, later + 20 * 9000);
    assert_int_equal(b.n_entries, 0);
    balancer_done(&b);
}

static void test_affinity_expired_entry_repicked(void **state)
{
    struct balancer b;
    balancer_init(&b);
    balancer_set_affinity(&b, true, 1);
    const struct backend list[] = {be("10.244.0.2", 80), be("10.244.0.3", 80)};
    assert_int_equal(balancer_set_backends(&b, list, 2), 0);
    struct backend a, c;
    assert_int_equal(balancer_pick(&b, ip4("10.0.0.1"), 0, &a), 0);
    /* 1.5 s later (past the 1 s timeout, before any sweep): round robin moves on. */
    assert_int_equal(balancer_pick(&b, ip4("10.0.0.1"), 1500, &c), 0);
    assert_int_not_equal(backend_compare(&a, &c), 0);
    balancer_done(&b);
}

static void test_backend_removed(void **state)
{
    struct balancer b;
    balancer_init(&b);
    balancer_set_affinity(&b, true, 100);
    const struct backend list[] = {be("10.244.0.2", 80), be("10.244.0.3", 80), be("10.244.0.4", 80)};
    assert_int_equal(balancer_set_backends(&b, list, 3), 0);
    struct backend stuck;
    assert_int_equal(balancer_pick(&b, ip4("10.0.0.1"), 0, &stuck), 0);
    assert_int_equal(index_of(list, 3, &stuck), 0);
    /* The client's backend leaves: its affinity goes with it, and no pick returns it again. */
    const struct backend rest[] = {list[1], list[2]};
    assert_int_equal(balancer_set_backends(&b, rest, 2), 0);
    assert_false(balancer_has_backend(&b, &list[0]));
    assert_true(balancer_has_backend(&b, &list[1]));
    for (int i = 0; i < 10; i++) {
        struct backend got;
        assert_int_equal(balancer_pick(&b, ip4("10.0.0.1"), i, &got), 0);
        assert_true(index_of(rest, 2, &got) >= 0);
    }
    assert_int_equal(balancer_set_backends(&b, NULL, 0), 0);
    struct backend got;
    assert_int_equal(balancer_pick(&b, ip4("10.0.0.1"), 0, &got), -EHOSTUNREACH);
    balancer_done(&b);
}

static void test_affinity_off_forgets(void **state)
{
    struct balancer b;
    balancer_init(&b);
    balancer_set_affinity(&b, true, 100);
    const struct backend list[] = {be("10.244.0.2", 80), be("10.244.0.3", 80)};
    assert_int_equal(balancer_set_backends(&b, list, 2), 0);
    struct backend got;
    assert_int_equal(balancer_pick(&b, ip4("10.0.0.1"), 0, &got), 0);
    assert_int_equal(b.n_entries, 1);
    balancer_set_affinity(&b, false, 0);
    assert_int_equal(b.n_entries, 0);
    balancer_done(&b);
}

static void test_failure_moves_on(void **state)
{
    struct balancer b;
    balancer_init(&b);
    balancer_set_affinity(&b, true, 100);
    const struct backend list[] = {be("10.244.0.2", 80), be("10.244.0.3", 80), be("10.244.0.4", 80)};
    assert_int_equal(balancer_set_backends(&b, list, 3), 0);
    struct backend first, next, again;
    assert_int_equal(balancer_pick(&b, ip4("10.0.0.1"), 0, &first), 0);
    assert_int_equal(balancer_pick_after_failure(&b, ip4("10.0.0.1"), &first, 1, &next), 0);
    assert_int_not_equal(backend_compare(&first, &next), 0);
    /* The client now sticks to the backend that worked. */
    assert_int_equal(balancer_pick(&b, ip4("10.0.0.1"), 2, &again), 0);
    assert_int_equal(backend_compare(&again, &next), 0);
    /* With a single backend there is nothing else to try: the same one comes back. */
    assert_int_equal(balancer_set_backends(&b, &list[2], 1), 0);
    assert_int_equal(balancer_pick_after_failure(&b, ip4("10.0.0.9"), &list[2], 3, &next), 0);
    assert_int_equal(backend_compare(&next, &list[2]), 0);
    balancer_done(&b);
}

static void test_many_clients_bounded(void **state)
{
    struct balancer b;
    balancer_init(&b);
    balancer_set_affinity(&b, true, 1000);
    const struct backend list[] = {be("10.244.0.2", 80), be("10.244.0.3", 80)};
    assert_int_equal(balancer_set_backends(&b, list, 2), 0);
    for (uint32_t i = 0; i < BALANCER_MAX_AFFINITY_ENTRIES + 100; i++) {
        struct in_addr client = {.s_addr = htonl(0x0a000000u + i)};
        struct backend got;
        assert_int_equal(balancer_pick(&b, client, i, &got), 0);
    }
    assert_int_equal(b.n_entries, BALANCER_MAX_AFFINITY_ENTRIES);
    balancer_done(&b);
}

/* ---- Service and Endpoints objects ---- */

static const char service_json[] =
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
    "\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.20\",\"sessionAffinity\":\"ClientIP\","
    "\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":60}},"
    "\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080,\"nodePort\":30080},"
    "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"},{\"name\":\"bad\",\"port\":70000},"
    "{\"name\":\"sctp\",\"port\":9,\"protocol\":\"SCTP\"}]}}";

static const char endpoints_json[] =
    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"subsets\":["
    "{\"addresses\":[{\"ip\":\"10.244.0.4\"},{\"ip\":\"10.244.0.2\",\"hostname\":\"web-0\"}],"
    "\"notReadyAddresses\":[{\"ip\":\"10.244.0.9\"}],"
    "\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"},{\"name\":\"dns\",\"port\":5353,"
    "\"protocol\":\"UDP\"}]},"
    "{\"addresses\":[{\"ip\":\"10.244.0.3\"},{\"ip\":\"fd00::1\"},{\"ip\":\"10.244.0.4\"}],"
    "\"ports\":[{\"name\":\"http\",\"port\":8080}]},"
    "{\"addresses\":[{\"ip\":\"10.244.0.7\"}],\"ports\":[{\"name\":\"metrics\",\"port\":9100}]}]}";

static void test_service_parse(void **state)
{
    json_t *obj = json_loads(service_json, 0, NULL);
    assert_non_null(obj);
    struct service s;
    assert_int_equal(service_from_json(obj, &s), 0);
    assert_string_equal(s.namespace_, "default");
    assert_int_equal(s.type, SERVICE_NODE_PORT);
    assert_true(s.has_cluster_ip);
    assert_false(s.headless);
    assert_true(s.affinity_client_ip);
    assert_int_equal(s.affinity_timeout_s, 60);
    assert_int_equal(s.n_ports, 3); /* the out-of-range port is skipped */
    assert_string_equal(s.ports[0].name, "http");
    assert_int_equal(s.ports[0].port, 80);
    assert_int_equal(s.ports[0].node_port, 30080);
    assert_int_equal(s.ports[1].protocol, IPPROTO_UDP);
    assert_int_equal(s.ports[2].protocol, IPPROTO_SCTP);
    service_done(&s);
    json_decref(obj);

    obj = json_loads("{\"metadata\":{\"name\":\"db\",\"namespace\":\"x\"},\"spec\":{\"clusterIP\":\"None\"}}",
                     0, NULL);
    assert_int_equal(service_from_json(obj, &s), 0);
    assert_true(s.headless);
    assert_false(s.has_cluster_ip);
    assert_false(s.affinity_client_ip);
    service_done(&s);
    json_decref(obj);

    obj = json_loads("{\"metadata\":{\"name\":\"db\"},\"spec\":{}}", 0, NULL);
    assert_int_equal(service_from_json(obj, &s), -EINVAL);
    json_decref(obj);
}

static void test_endpoints_backends(void **state)
{
    json_t *ep = json_loads(endpoints_json, 0, NULL);
    assert_non_null(ep);
    struct backend *list;
    size_t n;
    /* Ready IPv4 addresses of subsets with the port, sorted, without the duplicate 10.244.0.4. */
    assert_int_equal(endpoints_backends(ep, "http", IPPROTO_TCP, &list, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(backend_compare(&list[0], &(struct backend){ip4("10.244.0.2"), 8080}), 0);
    assert_int_equal(backend_compare(&list[1], &(struct backend){ip4("10.244.0.3"), 8080}), 0);
    assert_int_equal(backend_compare(&list[2], &(struct backend){ip4("10.244.0.4"), 8080}), 0);
    free(list);
    assert_int_equal(endpoints_backends(ep, "dns", IPPROTO_UDP, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].port, 5353);
    free(list);
    /* Name and protocol must both match. */
    assert_int_equal(endpoints_backends(ep, "dns", IPPROTO_TCP, &list, &n), 0);
    assert_int_equal(n, 0);
    assert_null(list);
    assert_int_equal(endpoints_backends(NULL, "http", IPPROTO_TCP, &list, &n), 0);
    assert_int_equal(n, 0);
    json_decref(ep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_affinity_sticks_and_expires),
        cmocka_unit_test(test_affinity_expired_entry_repicked),
        cmocka_unit_test(test_backend_removed),
        cmocka_unit_test(test_affinity_off_forgets),
        cmocka_unit_test(test_failure_moves_on),
        cmocka_unit_test(test_many_clients_bounded),
        cmocka_unit_test(test_service_parse),
        cmocka_unit_test(test_endpoints_backends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
