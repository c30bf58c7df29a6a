/* kig-proxy's command line: defaults, every value form, and one-line errors for bad values. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int parse(struct proxy_options *o, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"kig-proxy";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    optind = 0; /* a full getopt reset between parses */
    return proxy_options_parse(argc, argv, o);
}

static const char *ntop(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
    return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void test_defaults(void **state)
{
    struct proxy_options o;
    char ip[INET_ADDRSTRLEN];
    assert_int_equal(parse(&o, (const char *const[]){"--kubeconfig", "/k", NULL}), 0);
    assert_string_equal(o.kubeconfig, "/k");
    assert_string_equal(ntop(o.service_cidr, ip), "10.96.0.0");
    assert_int_equal(o.service_prefixlen, 12);
    assert_true(o.dns);
    assert_string_equal(ntop(o.dns_address, ip), "10.96.0.10");
    assert_int_equal(o.dns_port, 53);
    assert_string_equal(o.cluster_domain, "cluster.local");
    assert_string_equal(ntop(o.node_port_address, ip), "0.0.0.0");
    assert_true(o.healthz);
    assert_int_equal(ntohs(o.healthz_address.sin_port), 10256);
    assert_int_equal(o.udp_timeout_s, 30);
    assert_false(o.keep_addresses);
    assert_int_equal(o.kubernetes_endpoint.sin_port, 0);
}

static void test_values(void **state)
{
    struct proxy_options o;
    char ip[INET_ADDRSTRLEN];
    assert_int_equal(parse(&o, (const char *const[]){"--kubeconfig", "/k", "--service-cidr", "10.32.0.0/16",
                                                     "--dns-address", "none", "--healthz-address", "none",
                                                     "--node-port-address", "10.200.0.1", "--udp-timeout",
                                                     "5", "--keep-addresses", "-v", "--kubernetes-endpoint",
                                                     "127.0.0.1:6443", NULL}),
                     0);
    assert_string_equal(ntop(o.service_cidr, ip), "10.32.0.0");
    assert_int_equal(o.service_prefixlen, 16);
    assert_false(o.dns);
    assert_false(o.healthz);
    assert_string_equal(ntop(o.node_port_address, ip), "10.200.0.1");
    assert_int_equal(o.udp_timeout_s, 5);
    assert_true(o.keep_addresses);
    assert_true(o.verbose);
    assert_int_equal(ntohs(o.kubernetes_endpoint.sin_port), 6443);
    assert_int_equal(o.kubernetes_endpoint.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
}

static void test_errors(void **state)
{
    struct proxy_options o;
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    assert_int_equal(parse(&o, (const char *const[]){NULL}), -EINVAL); /* no --kubeconfig */
    assert_int_equal(
        parse(&o, (const char *const[]){"--kubeconfig", "/k", "--service-cidr", "10.96.0.0", NULL}), -EINVAL);
    assert_int_equal(
        parse(&o, (const char *const[]){"--kubeconfig", "/k", "--service-cidr", "10.96.0.0/33", NULL}),
        -EINVAL);
    assert_int_equal(parse(&o, (const char *const[]){"--kubeconfig", "/k", "--dns-port", "0", NULL}),
                     -EINVAL);
    assert_int_equal(parse(&o, (const char *const[]){"--kubeconfig", "/k", "--udp-timeout", "-1", NULL}),
                     -EINVAL);
    assert_int_equal(parse(&o, (const char *const[]){"--kubeconfig", "/k", "--bogus", NULL}), -EINVAL);
    assert_int_equal(
        parse(&o, (const char *const[]){"--kubeconfig", "/k", "--kubernetes-endpoint", "127.0.0.1", NULL}),
        -EINVAL);
    assert_int_equal(parse(&o, (const char *const[]){"--kubeconfig", NULL}), -EINVAL);
    assert_int_equal(parse(&o, (const char *const[]){"--kubeconfig", "/k", "extra", NULL}), -EINVAL);
    fclose(stderr);
    stderr = saved;
}

static void test_parsers(void **state)
{
    struct in_addr net;
    uint8_t len;
    struct sockaddr_in sa;
    assert_int_equal(parse_cidr4("0.0.0.0/0", &net, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(parse_cidr4("10.96.0.0/", &net, &len), -EINVAL);
    assert_int_equal(parse_cidr4("10.96.0/12", &net, &len), -EINVAL);
    assert_int_equal(parse_addr_port4("127.0.0.1:10256", &sa), 0);
    assert_int_equal(ntohs(sa.sin_port), 10256);
    assert_int_equal(parse_addr_port4("127.0.0.1:", &sa), -EINVAL);
    assert_int_equal(parse_addr_port4("127.0.0.1:65536", &sa), -EINVAL);
    assert_int_equal(parse_addr_port4("localhost:80", &sa), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
