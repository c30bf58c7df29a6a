/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "cni.h"
#include "macro.h"

#include <jansson.h>
#include <string.h>

static const char *fake_env[][2] = {
    {"CNI_COMMAND", "ADD"},
    {"CNI_CONTAINERID", "abc"},
    {"CNI_NETNS", "/var/run/netns/x"},
    {"CNI_IFNAME", "eth0"},
};
static const char *override_name, *override_value;

static const char *fake_getenv(const char *name)
{
    if (override_name && strcmp(name, override_name) == 0)
        return override_value;
    for (size_t i = 0; i < ARRAY_SIZE(fake_env); i++)
        if (strcmp(fake_env[i][0], name) == 0)
            return fake_env[i][1];
    return NULL;
}

static void test_env(void **state)
{
    struct cni_env env;
    struct cni_error err = {0};
    override_name = NULL;
    assert_int_equal(cni_env_parse(fake_getenv, &env, &err), 0);
    assert_int_equal(env.command, CNI_ADD);
    assert_string_equal(env.ifname, "eth0");

    override_name = "CNI_COMMAND", override_value = "FROB";
    assert_int_equal(cni_env_parse(fake_getenv, &env, &err), -EINVAL);
    assert_int_equal(err.code, CNI_ERR_INVALID_ENV);

    override_name = "CNI_NETNS", override_value = "";
    assert_int_equal(cni_env_parse(fake_getenv, &env, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "CNI_NETNS"));
    override_name = NULL;
}

static void test_config_ok(void **state)
{
    const char *doc =
        "{\"cniVersion\":\"1.0.0\",\"name\":\"kig\",\"type\":\"kig-cni\",\"nodeIP\":\"10.200.0.1\","
        "\"unknown\":[1,2]}";
    struct cni_config c;
    struct cni_error err = {0};
    assert_int_equal(cni_config_parse(doc, strlen(doc), &c, &err), 0);
    assert_string_equal(c.name, "kig");
    assert_string_equal(c.strategy, "host"); /* the default */
    assert_string_equal(c.node_ip, "10.200.0.1");
    cni_config_done(&c);
}

static void expect_config_error(const char *doc, int code, const char *needle)
{
    struct cni_config c;
    struct cni_error err = {0};
    assert_int_equal(cni_config_parse(doc, strlen(doc), &c, &err), -EINVAL);
    assert_int_equal(err.code, code);
    assert_non_null(strstr(err.details, needle));
}

static void test_config_errors(void **state)
{
    expect_config_error("{", CNI_ERR_DECODE, "line");
    expect_config_error("[]", CNI_ERR_DECODE, "not an object");
    expect_config_error("{\"name\":\"a\",\"type\":\"b\"}", CNI_ERR_INVALID_CONFIG, "cniVersion");
    expect_config_error("{\"cniVersion\":1,\"name\":\"a\",\"type\":\"b\"}", CNI_ERR_INVALID_CONFIG, "string");
    expect_config_error("{\"cniVersion\":\"0.2.0\",\"name\":\"a\",\"type\":\"b\"}",
                        CNI_ERR_INCOMPATIBLE_VERSION, "0.2.0");
    expect_config_error("{\"cniVersion\":\"1.0.0\",\"name\":\"a\",\"type\":\"b\",\"prevResult\":3}",
                        CNI_ERR_INVALID_CONFIG, "prevResult");
    expect_config_error("{\"cniVersion\":\"1.0.0\",\"cniVersion\":\"1.0.0\",\"name\":\"a\",\"type\":\"b\"}",
                        CNI_ERR_DECODE, "duplicate");
}

static void test_result_versions(void **state)
{
    _cleanup_free_ char *v1 = cni_result_document("1.0.0", "eth0", "/ns", "10.200.0.1/32", NULL);
    json_t *d = json_loads(v1, 0, NULL);
    assert_non_null(d);
    json_t *ip = json_array_get(json_object_get(d, "ips"), 0);
    assert_string_equal(json_string_value(json_object_get(ip, "address")), "10.200.0.1/32");
    assert_null(json_object_get(ip, "version"));
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(d, "interfaces"), 0), "name")),
        "eth0");
    json_decref(d);

    _cleanup_free_ char *v04 = cni_result_document("0.4.0", "eth0", "/ns", "10.200.0.1/32", "10.200.0.254");
    d = json_loads(v04, 0, NULL);
    ip = json_array_get(json_object_get(d, "ips"), 0);
    assert_string_equal(json_string_value(json_object_get(ip, "version")), "4");
    assert_string_equal(json_string_value(json_object_get(ip, "gateway")), "10.200.0.254");
    json_decref(d);
}

static void test_error_and_version_documents(void **state)
{
    struct cni_error err;
    cni_set_error(&err, CNI_ERR_INVALID_CONFIG, "bad", "detail %d", 7);
    _cleanup_free_ char *e = cni_error_document("1.0.0", &err);
    assert_string_equal(e, "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"bad\",\"details\":\"detail 7\"}");
    _cleanup_free_ char *v = cni_version_document(NULL);
    assert_non_null(strstr(v, "\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_config_ok),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_result_versions),
        cmocka_unit_test(test_error_and_version_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
