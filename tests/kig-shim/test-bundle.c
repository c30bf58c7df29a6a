/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "bundle.h"

#include <errno.h>
#include <string.h>

static int parse(const char *text, struct shim_bundle *b, char *why)
{
    return shim_bundle_parse(text, strlen(text), b, why, 256);
}

/* A pod's sandbox container as containerd's CRI writes it: its own network namespace (a path), the id. */
static void test_pod_with_network(void **state)
{
    struct shim_bundle b;
    char why[256];
    assert_int_equal(parse("{\"annotations\":{\"io.kubernetes.cri.sandbox-id\":\"abc123\","
                           "\"io.kubernetes.cri.container-type\":\"sandbox\"},"
                           "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\","
                           "\"path\":\"/run/netns/cni-1\"},{\"type\":\"mount\"}]}}",
                           &b, why),
                     0);
    assert_string_equal(b.sandbox_id, "abc123");
    assert_true(b.own_network);
    assert_true(b.is_sandbox);
}

static void test_host_network_and_plain_containers(void **state)
{
    struct shim_bundle b;
    char why[256];
    assert_int_equal(parse("{\"annotations\":{\"io.kubernetes.cri.sandbox-id\":\"abc\"},"
                           "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"}]}}",
                           &b, why),
                     0);
    assert_false(b.own_network);
    assert_false(b.is_sandbox);
    assert_int_equal(parse("{\"ociVersion\":\"1.0.2\"}", &b, why), 0); /* not from the CRI: no sandbox */
    assert_string_equal(b.sandbox_id, "");
    assert_false(b.own_network);
    assert_int_equal(parse("{\"annotations\":null,\"linux\":null}", &b, why), 0);
}

/* containerd's runc-v2 shim picks its group by io.containerd.runc.v2.group before the sandbox id. */
static void test_shim_group_annotation(void **state)
{
    (void)state;
    struct shim_bundle b;
    char why[256];
    assert_int_equal(parse("{\"annotations\":{\"io.kubernetes.cri.sandbox-id\":\"abc\","
                           "\"io.containerd.runc.v2.group\":\"other\"}}",
                           &b, why),
                     0);
    assert_true(b.has_group);
    assert_string_equal(b.sandbox_id, "abc");
    assert_int_equal(parse("{\"annotations\":{\"io.kubernetes.cri.sandbox-id\":\"abc\"}}", &b, why), 0);
    assert_false(b.has_group);
}

static void test_malformed(void **state)
{
    struct shim_bundle b;
    char why[256];
    assert_int_equal(parse("not json", &b, why), -EINVAL);
    assert_non_null(strstr(why, "not JSON"));
    assert_int_equal(parse("[]", &b, why), -EINVAL);
    assert_int_equal(parse("{\"annotations\":[]}", &b, why), -EINVAL);
    assert_int_equal(parse("{\"annotations\":{\"io.kubernetes.cri.sandbox-id\":\"../../etc\"}}", &b, why),
                     -EINVAL);
    assert_int_equal(parse("{\"annotations\":{\"io.kubernetes.cri.sandbox-id\":7}}", &b, why), -EINVAL);
    assert_int_equal(parse("{\"linux\":{\"namespaces\":{}}}", &b, why), -EINVAL);
    assert_int_equal(parse("{\"linux\":{\"namespaces\":[{\"path\":\"/x\"}]}}", &b, why), -EINVAL);
    assert_int_equal(parse("{\"linux\":{\"namespaces\":[\"network\"]}}", &b, why), -EINVAL);
    assert_int_equal(parse("{\"a\":1,\"a\":2}", &b, why), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod_with_network),
        cmocka_unit_test(test_host_network_and_plain_containers),
        cmocka_unit_test(test_shim_group_annotation),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
