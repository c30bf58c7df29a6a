#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fileutil.h"
#include "identity.h"
#include "macro.h"

#include <stdio.h>
#include <string.h>

static void test_names(void **state)
{
    assert_true(cluster_name_valid("kig"));
    assert_true(cluster_name_valid("a"));
    assert_true(cluster_name_valid("dev-2"));
    assert_false(cluster_name_valid(""));
    assert_false(cluster_name_valid("-kig"));
    assert_false(cluster_name_valid("kig-"));
    assert_false(cluster_name_valid("Kig"));
    assert_false(cluster_name_valid("k.i.g"));
    assert_false(cluster_name_valid("k/g"));
    char long_name[CLUSTER_NAME_MAX + 2];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_false(cluster_name_valid(long_name));
    long_name[CLUSTER_NAME_MAX] = '\0';
    assert_true(cluster_name_valid(long_name));
}

static void test_new_format_parse(void **state)
{
    struct cluster_identity a, b;
    char why[256];
    assert_int_equal(cluster_identity_new("dev", CLUSTER_MODE_CONTROL_PLANE_ONLY, 7443, &a), 0);
    assert_int_equal(strlen(a.uid), 36);
    assert_int_equal(a.uid[14], '4'); /* UUID version 4 */
    _cleanup_free_ char *text = cluster_identity_format(&a);
    assert_non_null(text);
    assert_int_equal(cluster_identity_parse(text, strlen(text), &b, why, sizeof(why)), 0);
    assert_string_equal(b.name, "dev");
    assert_string_equal(b.uid, a.uid);
    assert_string_equal(b.created, a.created);
    assert_int_equal(b.mode, CLUSTER_MODE_CONTROL_PLANE_ONLY);
    assert_int_equal(b.port, 7443);
    assert_string_equal(b.kig_version, a.kig_version);
}

static void test_uids_differ(void **state)
{
    struct cluster_identity a, b;
    assert_int_equal(cluster_identity_new("kig", CLUSTER_MODE_FULL, 6443, &a), 0);
    assert_int_equal(cluster_identity_new("kig", CLUSTER_MODE_FULL, 6443, &b), 0);
    assert_string_not_equal(a.uid, b.uid);
}

static void test_new_rejects_bad_input(void **state)
{
    struct cluster_identity a;
    assert_int_equal(cluster_identity_new("Bad", CLUSTER_MODE_FULL, 6443, &a), -EINVAL);
    assert_int_equal(cluster_identity_new("kig", CLUSTER_MODE_FULL, 0, &a), -EINVAL);
    assert_int_equal(cluster_identity_new("kig", CLUSTER_MODE_FULL, 65536, &a), -EINVAL);
}

#define tmpl                                                                                                 \
    "{\"format\":1,\"name\":\"%s\",\"uid\":\"%s\",\"created\":\"%s\",\"mode\":\"%s\",\"port\":%s,"           \
    "\"kigVersion\":\"%s\"}"
#define VALID_UID "0b8f5c3e-2d1a-4c6b-9e7f-123456789abc"

static void expect_invalid(const char *text, const char *reason_part)
{
    struct cluster_identity id;
    char why[256] = "";
    int r = cluster_identity_parse(text, strlen(text), &id, why, sizeof(why));
    if (r != -EINVAL)
        fail_msg("accepted (%d): %s", r, text);
    if (!strstr(why, reason_part))
        fail_msg("reason '%s' does not mention '%s'", why, reason_part);
}

static void test_rejects_invalid(void **state)
{
    expect_invalid("", "not valid JSON");
    expect_invalid("{", "not valid JSON");
    expect_invalid("[1]", "not a JSON object");
    expect_invalid("{\"format\":2}", "format");
    expect_invalid("{\"format\":1}", "\"name\" is missing");
    expect_invalid("{\"format\":1,\"name\":7}", "\"name\" is not a string");
    char text[1024];
    snprintf(text, sizeof(text), tmpl, "Bad Name", VALID_UID, "2026-01-02T03:04:05Z", "full", "6443", "0.1");
    expect_invalid(text, "name");
    snprintf(text, sizeof(text), tmpl, "kig", "not-a-uuid", "2026-01-02T03:04:05Z", "full", "6443", "0.1");
    expect_invalid(text, "uid");
    snprintf(text, sizeof(text), tmpl, "kig", VALID_UID, "yesterday", "full", "6443", "0.1");
    expect_invalid(text, "created");
    snprintf(text, sizeof(text), tmpl, "kig", VALID_UID, "2026-01-02T03:04:05Z", "bogus", "6443", "0.1");
    expect_invalid(text, "mode");
    snprintf(text, sizeof(text), tmpl, "kig", VALID_UID, "2026-01-02T03:04:05Z", "full", "0", "0.1");
    expect_invalid(text, "port");
    snprintf(text, sizeof(text), tmpl, "kig", VALID_UID, "2026-01-02T03:04:05Z", "full", "\"6443\"", "0.1");
    expect_invalid(text, "port");
    snprintf(text, sizeof(text), tmpl, "kig", VALID_UID, "2026-01-02T03:04:05Z", "full", "6443", "");
    expect_invalid(text, "kigVersion");
    /* A NUL inside a string must not truncate it into something valid. */
    snprintf(text, sizeof(text), tmpl, "kig\\u0000x", VALID_UID, "2026-01-02T03:04:05Z", "full", "6443",
             "0.1");
    expect_invalid(text, "NUL");
    /* The valid form of the same template, with an unknown key a newer kig might add. */
    snprintf(text, sizeof(text), tmpl, "kig", VALID_UID, "2026-01-02T03:04:05Z", "full", "6443", "0.1");
    text[strlen(text) - 1] = '\0';
    strcat(text, ",\"future\":true}");
    struct cluster_identity id;
    char why[256];
    assert_int_equal(cluster_identity_parse(text, strlen(text), &id, why, sizeof(why)), 0);
    assert_int_equal(id.mode, CLUSTER_MODE_FULL);
}

static void test_load_save(void **state)
{
    char dir[] = "/tmp/kig-test-identity-XXXXXX";
    assert_non_null(mkdtemp(dir));
    _cleanup_free_ char *path = path_join(dir, "cluster.json");
    struct cluster_identity a, b;
    char why[256];
    assert_int_equal(cluster_identity_load(path, &b, why, sizeof(why)), -ENOENT);
    assert_int_equal(cluster_identity_new("kig", CLUSTER_MODE_CONTROL_PLANE_ONLY, 6443, &a), 0);
    assert_int_equal(cluster_identity_save(path, &a), 0);
    assert_int_equal(cluster_identity_load(path, &b, why, sizeof(why)), 0);
    assert_string_equal(a.uid, b.uid);
    assert_int_equal(write_file_atomic(path, "garbage", 7, 0644), 0);
    assert_int_equal(cluster_identity_load(path, &b, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "JSON"));
    assert_int_equal(rm_rf(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),           cmocka_unit_test(test_new_format_parse),
        cmocka_unit_test(test_uids_differ),     cmocka_unit_test(test_new_rejects_bad_input),
        cmocka_unit_test(test_rejects_invalid), cmocka_unit_test(test_load_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
