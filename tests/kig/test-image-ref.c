/* Image names as Kubernetes and containerd's CRI normalize them (image-ref.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image-ref.h"

#include <errno.h>
#include <string.h>

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_normalize(void **state)
{
    static const char *cases[][2] = {
        {"busybox", "docker.io/library/busybox:latest"},
        {"busybox:1.36", "docker.io/library/busybox:1.36"},
        {"library/busybox", "docker.io/library/busybox:latest"},
        {"user/app:v1", "docker.io/user/app:v1"},
        {"docker.io/busybox", "docker.io/library/busybox:latest"},
        {"index.docker.io/library/busybox:1", "docker.io/library/busybox:1"},
        {"localhost/kig/busybox:latest", "localhost/kig/busybox:latest"},
        {"localhost/app", "localhost/app:latest"},
        {"localhost:5000/kig/busybox:test", "localhost:5000/kig/busybox:test"},
        {"127.0.0.1:5000/kig/busybox:test", "127.0.0.1:5000/kig/busybox:test"},
        {"Example.com/a/b/c", "Example.com/a/b/c:latest"},
        {"example.com/a/b@sha256:" HEX64, "example.com/a/b@sha256:" HEX64},
        {"example.com/a:tag@sha256:" HEX64, "example.com/a@sha256:" HEX64},
        {"a_b__c-d--e/g.h", "docker.io/a_b__c-d--e/g.h:latest"},
        {"localhost:5000", "docker.io/library/localhost:5000"},
        {"app:V1.0_rc-1", "docker.io/library/app:V1.0_rc-1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[IMAGE_REF_MAX], why[256] = "";
        int r = image_ref_normalize(cases[i][0], out, sizeof(out), why, sizeof(why));
        if (r != 0)
            fail_msg("%s: %s", cases[i][0], why);
        assert_string_equal(out, cases[i][1]);
        assert_true(image_ref_is_normalized(cases[i][1]));
    }
    assert_false(image_ref_is_normalized("busybox"));
    assert_false(image_ref_is_normalized("localhost/app"));
}

static void test_normalize_refuses(void **state)
{
    static const char *cases[][2] = {
        {"", "the name is empty"},
        {"Busybox", "the repository 'Busybox' must be lowercase"},
        {"app:", "invalid tag '' (letters, digits, '_', '.', '-'; at most 128)"},
        {"app:-x", "invalid tag '-x' (letters, digits, '_', '.', '-'; at most 128)"},
        {"app@sha256:abc", "invalid digest 'sha256:abc' (expected sha256:<64 hex digits>)"},
        {"app@", "invalid digest '' (expected sha256:<64 hex digits>)"},
        {"example.com/", "the name has no repository"},
        {"a//b", NULL},
        {"-a", NULL},
        {"a-", NULL},
        {"a..b", NULL},
        {"a___b", NULL},
        {"a b", NULL},
        {"exa_mple.com/a", NULL},
        {"host:port/a", "invalid registry host 'host:port'"},
        {"-host.com/a", "invalid registry host '-host.com'"},
        {HEX64, "a 64-character hex string is an image id, not a name"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[IMAGE_REF_MAX], why[256] = "";
        if (image_ref_normalize(cases[i][0], out, sizeof(out), why, sizeof(why)) != -EINVAL)
            fail_msg("'%s' was accepted as '%s'", cases[i][0], out);
        assert_true(why[0] != '\0');
        if (cases[i][1])
            assert_string_equal(why, cases[i][1]);
    }
    /* too long: the name part is at most 255 characters */
    char long_name[300];
    memset(long_name, 'a', 260);
    long_name[260] = '\0';
    char out[IMAGE_REF_MAX], why[256];
    assert_int_equal(image_ref_normalize(long_name, out, sizeof(out), why, sizeof(why)), -EINVAL);
    /* a tag of 129 characters */
    char long_tag[200] = "app:";
    memset(long_tag + 4, 't', 129);
    long_tag[133] = '\0';
    assert_int_equal(image_ref_normalize(long_tag, out, sizeof(out), why, sizeof(why)), -EINVAL);
    /* an output buffer that is too small */
    assert_int_equal(image_ref_normalize("busybox", out, 10, why, sizeof(why)), -EINVAL);
    /* no why buffer */
    assert_int_equal(image_ref_normalize("", out, sizeof(out), NULL, 0), -EINVAL);
}

static void test_repository(void **state)
{
    static const char *cases[][2] = {
        {"docker.io/library/busybox:latest", "docker.io/library/busybox"},
        {"localhost:5000/a:b", "localhost:5000/a"},
        {"localhost:5000/a", "localhost:5000/a"},
        {"example.com/a@sha256:" HEX64, "example.com/a"},
        {"a", "a"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[IMAGE_REF_MAX];
        image_ref_repository(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
    }
}

static void test_full_and_hosts(void **state)
{
    assert_true(image_ref_is_full("example.com/app:1"));
    assert_true(image_ref_is_full("app:1"));
    assert_true(image_ref_is_full("app@sha256:" HEX64));
    assert_false(image_ref_is_full("latest"));
    assert_false(image_ref_is_full("v1.0"));

    assert_true(image_ref_valid_registry_host("localhost:5000"));
    assert_true(image_ref_valid_registry_host("127.0.0.1:5000"));
    assert_true(image_ref_valid_registry_host("registry.example.com"));
    assert_true(image_ref_valid_registry_host("my-registry"));
    assert_false(image_ref_valid_registry_host(""));
    assert_false(image_ref_valid_registry_host("a b"));
    assert_false(image_ref_valid_registry_host("host:"));
    assert_false(image_ref_valid_registry_host("host:http"));
    assert_false(image_ref_valid_registry_host("-x.com"));
    assert_false(image_ref_valid_registry_host("a/b"));
    assert_false(image_ref_valid_registry_host("a\"b"));
    assert_false(image_ref_valid_registry_host("x..y"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_normalize_refuses),
        cmocka_unit_test(test_repository),
        cmocka_unit_test(test_full_and_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
