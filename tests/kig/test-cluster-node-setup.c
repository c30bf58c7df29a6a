/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "node-setup.h"

#include <jansson.h>
#include <string.h>

static char *joined(const struct strv *v)
{
    static char buf[1024];
    buf[0] = '\0';
    for (size_t i = 0; i < v->n; i++) {
        strcat(buf, i ? " " : "");
        strcat(buf, v->v[i]);
    }
    return buf;
}

/* The arguments containerd's tracer gets from a plan's trace_args (JSON), joined by spaces. */
static void assert_trace_args(const char *plan_json, const char *expected)
{
    json_error_t err;
    json_t *plan = json_loads(plan_json, 0, &err);
    assert_non_null(plan);
    struct strv out = {0};
    assert_int_equal(node_trace_args_from_plan(&out, plan), 0);
    assert_string_equal(joined(&out), expected);
    strv_done(&out);
    json_decref(plan);
}

/* The path redirects of the plan (rule and arguments, wherever they appear) never reach containerd's
 * tracer; every other rule and argument does, in order. */
static void test_redirects_are_left_out(void **state)
{
    (void)state;
    assert_trace_args("[\"--rule\", \"redirect\", \"--rule\", \"statfs\","
                      " \"--redirect\", \"/proc/sys/net/bridge=/run/kig/v/net/bridge\","
                      " \"--redirect\", \"/proc/sys/net/ipv6=/run/kig/v/net/ipv6\","
                      " \"--uname-release\", \"5.10.0\", \"--rule\", \"subreaper\"]",
                      "--rule statfs --uname-release 5.10.0 --rule subreaper");
}

static void test_plan_without_redirects_is_unchanged(void **state)
{
    (void)state;
    assert_trace_args("[\"--rule\", \"statfs\", \"--rule\", \"mount\"]", "--rule statfs --rule mount");
    assert_trace_args("[]", "");
}

/* A trailing "--rule" or "--redirect" without its argument is passed on: kig-trace's own option parser
 * then names the mistake, instead of it vanishing here. */
static void test_dangling_option_is_kept(void **state)
{
    (void)state;
    assert_trace_args("[\"--rule\", \"statfs\", \"--redirect\"]", "--rule statfs --redirect");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirects_are_left_out),
        cmocka_unit_test(test_plan_without_redirects_is_unchanged),
        cmocka_unit_test(test_dangling_option_is_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
