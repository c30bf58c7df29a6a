#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "doctor-report.h"
#include "fileutil.h"
#include "kig-config.h"
#include "macro.h"

#include <string.h>

static struct doctor_report *sample(void)
{
    struct doctor_report *r = doctor_report_new("4.4.0", true);
    assert_non_null(r);
    assert_int_equal(doctor_report_add(r, "setns.net", "ns", DOCTOR_MISSING, "EOPNOTSUPP", "kig CNI"), 0);
    assert_int_equal(doctor_report_add(r, "cgroup.v1.memory", "cgroup", DOCTOR_PRESENT,
                                       "mounted, magic 0x27e0eb", "native"),
                     0);
    assert_int_equal(doctor_report_add(r, "sysctl.vm.overcommit_memory", "sysctl", DOCTOR_PARTIAL,
                                       "value 0, write: EIO", "x"),
                     0);
    assert_int_equal(doctor_report_add(r, "dev.kmsg", "dev", DOCTOR_ERROR, "EPERM", NULL), 0);
    return r;
}

static void test_status_strings(void **state)
{
    for (int s = 0; s < _DOCTOR_STATUS_MAX; s++)
        assert_int_equal(doctor_status_from_string(doctor_status_to_string((enum doctor_status)s)), s);
    assert_string_equal(doctor_status_to_string(DOCTOR_PRESENT), "present");
    assert_string_equal(doctor_status_to_string(DOCTOR_ERROR), "error");
    assert_null(doctor_status_to_string(_DOCTOR_STATUS_MAX));
    assert_null(doctor_status_to_string((enum doctor_status) - 1));
    assert_int_equal(doctor_status_from_string("Present"), -EINVAL);
    assert_int_equal(doctor_status_from_string(""), -EINVAL);
    assert_int_equal(doctor_status_from_string(NULL), -EINVAL);
}

static void test_new_fills_header(void **state)
{
    _cleanup_doctor_report_ struct doctor_report *r = doctor_report_new("6.1.0", false);
    assert_int_equal(r->schema, DOCTOR_REPORT_SCHEMA);
    assert_string_equal(r->kig_version, KIG_VERSION);
    assert_string_equal(r->uname_release, "6.1.0");
    assert_false(r->in_gvisor);
    assert_int_equal(r->n_probes, 0);
    _cleanup_doctor_report_ struct doctor_report *n = doctor_report_new(NULL, true);
    assert_string_equal(n->uname_release, "");
}

static void test_lookup(void **state)
{
    _cleanup_doctor_report_ struct doctor_report *r = sample();
    assert_true(doctor_report_has(r, "cgroup.v1.memory"));
    assert_false(doctor_report_has(r, "setns.net"));
    assert_false(doctor_report_has(r, "no.such.probe"));
    assert_false(doctor_report_has(NULL, "setns.net"));
    assert_true(doctor_report_lacks(r, "setns.net"));
    assert_true(doctor_report_lacks(r, "sysctl.vm.overcommit_memory"));
    /* "could not tell" and "not run" are neither has() nor lacks() */
    assert_false(doctor_report_lacks(r, "dev.kmsg"));
    assert_false(doctor_report_lacks(r, "no.such.probe"));
    assert_int_equal(doctor_report_status(r, "dev.kmsg"), DOCTOR_ERROR);
    assert_int_equal(doctor_report_status(r, "no.such.probe"), -ENOENT);
    const struct doctor_probe_result *p = doctor_report_find(r, "setns.net");
    assert_non_null(p);
    assert_string_equal(p->category, "ns");
    assert_string_equal(p->evidence, "EOPNOTSUPP");
    assert_string_equal(p->strategy, "kig CNI");
    assert_string_equal(doctor_report_find(r, "dev.kmsg")->strategy, "");
    assert_null(doctor_report_find(r, NULL));
}

static void test_add_rejects(void **state)
{
    _cleanup_doctor_report_ struct doctor_report *r = sample();
    assert_int_equal(doctor_report_add(r, "setns.net", "ns", DOCTOR_PRESENT, "", ""), -EINVAL);
    assert_int_equal(doctor_report_add(r, "", "ns", DOCTOR_PRESENT, "", ""), -EINVAL);
    assert_int_equal(doctor_report_add(r, NULL, "ns", DOCTOR_PRESENT, "", ""), -EINVAL);
    assert_int_equal(doctor_report_add(r, "x", "ns", _DOCTOR_STATUS_MAX, "", ""), -EINVAL);
    assert_int_equal(r->n_probes, 4);
}

static void test_add_grows(void **state)
{
    _cleanup_doctor_report_ struct doctor_report *r = doctor_report_new("4.4.0", true);
    char id[32];
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof(id), "probe.%d", i);
        assert_int_equal(doctor_report_add(r, id, "c", (enum doctor_status)(i % 4), "e", "s"), 0);
    }
    assert_int_equal(r->n_probes, 300);
    assert_int_equal(doctor_report_status(r, "probe.299"), 299 % 4);
}

static void test_strings_are_sanitized(void **state)
{
    _cleanup_doctor_report_ struct doctor_report *r = doctor_report_new("4.4.0", true);
    /* a tab from ip_local_port_range, an escape sequence, invalid UTF-8, valid UTF-8 */
    assert_int_equal(doctor_report_add(r, "a", "c", DOCTOR_PRESENT, "32768\t60999\n", "x\033[31m"), 0);
    assert_int_equal(doctor_report_add(r, "b", "c", DOCTOR_PRESENT, "bad \xff\xc0\xaf end", "caf\xc3\xa9"),
                     0);
    assert_string_equal(doctor_report_find(r, "a")->evidence, "32768 60999 ");
    assert_string_equal(doctor_report_find(r, "a")->strategy, "x [31m");
    assert_string_equal(doctor_report_find(r, "b")->evidence, "bad ??? end");
    assert_string_equal(doctor_report_find(r, "b")->strategy, "caf\xc3\xa9");
    /* and it all serializes */
    _cleanup_free_ char *s = NULL;
    assert_int_equal(doctor_report_to_string(r, &s), 0);
}

static void assert_same(const struct doctor_report *a, const struct doctor_report *b)
{
    assert_int_equal(a->schema, b->schema);
    assert_string_equal(a->kig_version, b->kig_version);
    assert_string_equal(a->uname_release, b->uname_release);
    assert_int_equal(a->in_gvisor, b->in_gvisor);
    assert_int_equal(a->n_probes, b->n_probes);
    for (size_t i = 0; i < a->n_probes; i++) {
        assert_string_equal(a->probes[i].id, b->probes[i].id);
        assert_string_equal(a->probes[i].category, b->probes[i].category);
        assert_int_equal(a->probes[i].status, b->probes[i].status);
        assert_string_equal(a->probes[i].evidence, b->probes[i].evidence);
        assert_string_equal(a->probes[i].strategy, b->probes[i].strategy);
    }
}

static void test_json_roundtrip(void **state)
{
    _cleanup_doctor_report_ struct doctor_report *r = sample();
    _cleanup_free_ char *s = NULL;
    assert_int_equal(doctor_report_to_string(r, &s), 0);
    assert_true(s[strlen(s) - 1] == '\n');
    _cleanup_doctor_report_ struct doctor_report *back = NULL;
    assert_int_equal(doctor_report_from_string(s, strlen(s), &back), 0);
    assert_same(r, back);
}

static void test_json_shape(void **state)
{
    _cleanup_doctor_report_ struct doctor_report *r = sample();
    json_t *j;
    assert_int_equal(doctor_report_to_json(r, &j), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "schema")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "kig_version")), KIG_VERSION);
    assert_string_equal(json_string_value(json_object_get(j, "uname_release")), "4.4.0");
    assert_true(json_is_true(json_object_get(j, "in_gvisor")));
    json_t *probes = json_object_get(j, "probes");
    assert_int_equal(json_array_size(probes), 4);
    json_t *first = json_array_get(probes, 0);
    assert_int_equal(json_object_size(first), 5);
    assert_string_equal(json_string_value(json_object_get(first, "id")), "setns.net");
    assert_string_equal(json_string_value(json_object_get(first, "status")), "missing");
    json_decref(j);
}

static int parse(const char *text)
{
    struct doctor_report *r = NULL;
    int k = doctor_report_from_string(text, strlen(text), &r);
    if (k == 0)
        assert_non_null(r);
    doctor_report_free(r);
    return k;
}

#define HEADER "\"schema\":1,\"kig_version\":\"0.1.0\",\"uname_release\":\"4.4.0\",\"in_gvisor\":true"
#define PROBE(id, st)                                                                                        \
    "{\"id\":\"" id "\",\"category\":\"c\",\"status\":\"" st "\",\"evidence\":\"e\",\"strategy\":\"s\"}"

static void test_from_json_accepts(void **state)
{
    assert_int_equal(parse("{" HEADER ",\"probes\":[]}"), 0);
    assert_int_equal(parse("{" HEADER ",\"probes\":[" PROBE("a", "present") "," PROBE("b", "error") "]}"), 0);
    /* readers ignore keys they do not know: additions do not bump the schema */
    assert_int_equal(parse("{" HEADER ",\"future\":{\"x\":1},\"probes\":[{\"id\":\"a\",\"category\":\"c\","
                           "\"status\":\"missing\",\"evidence\":\"e\",\"strategy\":\"s\",\"extra\":[1]}]}"),
                     0);
}

static void test_from_json_rejects(void **state)
{
    assert_int_equal(parse(""), -EBADMSG);
    assert_int_equal(parse("null"), -EBADMSG);
    assert_int_equal(parse("[]"), -EBADMSG);
    assert_int_equal(parse("{\"schema\":1}"), -EBADMSG);
    assert_int_equal(parse("{\"schema\":\"1\"," HEADER ",\"probes\":[]}"), -EBADMSG);
    assert_int_equal(
        parse("{\"schema\":2,\"kig_version\":\"0.1.0\",\"uname_release\":\"4.4.0\",\"in_gvisor\":"
              "true,\"probes\":[]}"),
        -EPROTONOSUPPORT);
    assert_int_equal(
        parse("{\"schema\":1,\"kig_version\":\"0.1.0\",\"uname_release\":\"4.4.0\",\"in_gvisor\":"
              "1,\"probes\":[]}"),
        -EBADMSG);
    assert_int_equal(parse("{" HEADER ",\"probes\":{}}"), -EBADMSG);
    assert_int_equal(parse("{" HEADER ",\"probes\":[1]}"), -EBADMSG);
    assert_int_equal(parse("{" HEADER ",\"probes\":[" PROBE("a", "absent") "]}"), -EBADMSG);
    assert_int_equal(parse("{" HEADER ",\"probes\":[" PROBE("", "present") "]}"), -EBADMSG);
    assert_int_equal(parse("{" HEADER ",\"probes\":[" PROBE("a", "present") "," PROBE("a", "missing") "]}"),
                     -EBADMSG);
    assert_int_equal(parse("{" HEADER ",\"probes\":[{\"id\":\"a\",\"category\":\"c\",\"status\":\"present\","
                           "\"evidence\":\"e\"}]}"),
                     -EBADMSG);
    assert_int_equal(parse("{" HEADER ",\"probes\":[{\"id\":\"a\",\"category\":\"c\",\"status\":\"present\","
                           "\"evidence\":null,\"strategy\":\"s\"}]}"),
                     -EBADMSG);
    /* duplicate keys are ambiguous */
    assert_int_equal(parse("{" HEADER ",\"in_gvisor\":false,\"probes\":[]}"), -EBADMSG);
    /* trailing garbage */
    assert_int_equal(parse("{" HEADER ",\"probes\":[]} x"), -EBADMSG);
}

static void test_from_json_nul_in_id(void **state)
{
    static const char text[] = "{" HEADER ",\"probes\":[{\"id\":\"a\\u0000b\",\"category\":\"c\",\"status\":"
                               "\"present\",\"evidence\":\"e\",\"strategy\":\"s\"}]}";
    json_t *j = json_loads(text, JSON_ALLOW_NUL, NULL);
    assert_non_null(j);
    struct doctor_report *r = NULL;
    assert_int_equal(doctor_report_from_json(j, &r), -EBADMSG);
    assert_null(r);
    json_decref(j);
}

static void test_load_file(void **state)
{
    char dir[] = "/tmp/kig-test-doctor-XXXXXX";
    assert_non_null(mkdtemp(dir));
    _cleanup_free_ char *path = path_join(dir, "doctor.json");
    _cleanup_doctor_report_ struct doctor_report *r = sample();
    _cleanup_free_ char *s = NULL;
    assert_int_equal(doctor_report_to_string(r, &s), 0);
    assert_int_equal(write_file_atomic(path, s, strlen(s), 0644), 0);
    _cleanup_doctor_report_ struct doctor_report *back = NULL;
    assert_int_equal(doctor_report_load(path, &back), 0);
    assert_same(r, back);
    struct doctor_report *none = NULL;
    _cleanup_free_ char *missing = path_join(dir, "missing.json");
    assert_int_equal(doctor_report_load(missing, &none), -ENOENT);
    assert_int_equal(rm_rf(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_new_fills_header),
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_add_rejects),
        cmocka_unit_test(test_add_grows),
        cmocka_unit_test(test_strings_are_sanitized),
        cmocka_unit_test(test_json_roundtrip),
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_from_json_accepts),
        cmocka_unit_test(test_from_json_rejects),
        cmocka_unit_test(test_from_json_nul_in_id),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
