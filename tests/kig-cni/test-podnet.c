/* Config fields of the veth and tap strategies, from the document containerd passes on stdin. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "podnet.h"
#include "podns.h"

#include <string.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* Parses a config and then its strategy fields; returns the latter's result. */
static int parse(const char *doc, struct podnet_config *pc, struct cni_error *err)
{
    struct cni_config c;
    assert_int_equal(cni_config_parse(doc, strlen(doc), &c, err), 0);
    int r = podnet_config_parse(&c, pc, err);
    cni_config_done(&c);
    return r;
}

static void test_defaults(void **state)
{
    struct podnet_config pc;
    struct cni_error err = {0};
    assert_int_equal(
        parse("{\"cniVersion\":\"1.0.0\",\"name\":\"kig\",\"type\":\"kig-cni\",\"strategy\":\"tap\","
              "\"podCIDR\":\"10.244.0.0/24\"}",
              &pc, &err),
        0);
    assert_string_equal(pc.pod_cidr, "10.244.0.0/24");
    assert_int_equal(pc.range.gateway, IP(10, 244, 0, 1));
    assert_string_equal(pc.data_dir, "/var/lib/cni/networks/kig");
    assert_string_equal(pc.switch_dir, PODNS_DEFAULT_DIR);
    assert_int_equal(pc.pod_prefix_len, 0);
}

static void test_explicit(void **state)
{
    struct podnet_config pc;
    struct cni_error err = {0};
    assert_int_equal(
        parse("{\"cniVersion\":\"0.4.0\",\"name\":\"kig\",\"type\":\"kig-cni\",\"strategy\":\"tap\","
              "\"podCIDR\":\"10.1.0.0/16\",\"dataDir\":\"/tmp/ipam\",\"switchDir\":\"/run/sw\","
              "\"podPrefixLength\":8,\"unknownField\":[1,2]}",
              &pc, &err),
        0);
    assert_string_equal(pc.data_dir, "/tmp/ipam");
    assert_string_equal(pc.switch_dir, "/run/sw");
    assert_int_equal(pc.pod_prefix_len, 8);
    assert_int_equal(pc.range.last, IP(10, 1, 255, 254));
}

static void expect_error(const char *fields, int code, const char *needle)
{
    char doc[512];
    snprintf(doc, sizeof(doc),
             "{\"cniVersion\":\"1.0.0\",\"name\":\"kig\",\"type\":\"kig-cni\",\"strategy\":\"tap\"%s}",
             fields);
    struct podnet_config pc;
    struct cni_error err = {0};
    assert_true(parse(doc, &pc, &err) < 0);
    assert_int_equal(err.code, code);
    if (!strstr(err.details, needle))
        fail_msg("'%s' not in '%s'", needle, err.details);
}

static void test_errors(void **state)
{
    expect_error("", CNI_ERR_INVALID_CONFIG, "\"podCIDR\" is required");
    expect_error(",\"podCIDR\":\"10.0.0.0\"", CNI_ERR_INVALID_CONFIG, "not an IPv4 CIDR");
    expect_error(",\"podCIDR\":\"10.0.0.0/31\"", CNI_ERR_INVALID_CONFIG, "not an IPv4 CIDR");
    expect_error(",\"podCIDR\":24", CNI_ERR_INVALID_CONFIG, "\"podCIDR\" must be a non-empty string");
    expect_error(",\"podCIDR\":\"10.0.0.0/24\",\"dataDir\":\"relative\"", CNI_ERR_INVALID_CONFIG,
                 "must be an absolute path");
    expect_error(",\"podCIDR\":\"10.0.0.0/24\",\"switchDir\":\"\"", CNI_ERR_INVALID_CONFIG, "non-empty");
    expect_error(",\"podCIDR\":\"10.0.0.0/24\",\"podPrefixLength\":33", CNI_ERR_INVALID_CONFIG, "0 to 32");
    expect_error(",\"podCIDR\":\"10.0.0.0/24\",\"podPrefixLength\":\"0\"", CNI_ERR_INVALID_CONFIG, "0 to 32");
    expect_error(",\"podCIDR\":\"10.0.0.0/24\",\"podPrefixLength\":25", CNI_ERR_INVALID_CONFIG,
                 "does not cover the pod CIDR");
}

static void test_network_name_as_directory(void **state)
{
    const char *doc = "{\"cniVersion\":\"1.0.0\",\"name\":\"../x\",\"type\":\"kig-cni\",\"strategy\":\"tap\","
                      "\"podCIDR\":\"10.0.0.0/24\"}";
    struct podnet_config pc;
    struct cni_error err = {0};
    assert_true(parse(doc, &pc, &err) < 0);
    assert_non_null(strstr(err.details, "set \"dataDir\""));
}

static void test_result(void **state)
{
    struct podnet_config pc;
    struct cni_error err = {0};
    assert_int_equal(
        parse("{\"cniVersion\":\"1.0.0\",\"name\":\"kig\",\"type\":\"kig-cni\",\"strategy\":\"tap\","
              "\"podCIDR\":\"10.244.0.0/24\"}",
              &pc, &err),
        0);
    struct cni_config c;
    const char *doc = "{\"cniVersion\":\"1.0.0\",\"name\":\"kig\",\"type\":\"kig-cni\"}";
    assert_int_equal(cni_config_parse(doc, strlen(doc), &c, &err), 0);
    struct cni_env env = {
        .command = CNI_ADD, .container_id = "c", .ifname = "eth0", .netns = "/var/run/netns/x"};
    char *s = podnet_result(&env, &c, &pc, IP(10, 244, 0, 5), 0);
    assert_non_null(strstr(s, "\"address\":\"10.244.0.5/0\""));
    assert_non_null(strstr(s, "\"gateway\":\"10.244.0.1\""));
    assert_non_null(strstr(s, "\"sandbox\":\"/var/run/netns/x\""));
    free(s);
    cni_config_done(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults), cmocka_unit_test(test_explicit),
        cmocka_unit_test(test_errors),   cmocka_unit_test(test_network_name_as_directory),
        cmocka_unit_test(test_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
