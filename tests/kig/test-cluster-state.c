#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fileutil.h"
#include "macro.h"
#include "state.h"

#include <stdio.h>
#include <string.h>

static void fill(struct cluster_state *s)
{
    *s = (struct cluster_state){
        .supervisor_pid = 42, .phase = PHASE_RUNNING, .started_at = 1700000000.25, .n_components = 2};
    s->cluster = strdup("kig");
    s->mode = strdup("control-plane-only");
    s->server = strdup("https://127.0.0.1:6443");
    s->components[0] = (struct component_state){.name = strdup("etcd"),
                                                .path = strdup("/usr/bin/etcd"),
                                                .log = strdup("/d/logs/etcd.log"),
                                                .pid = 43,
                                                .state = RUN_RUNNING,
                                                .ready = true,
                                                .restarts = 2,
                                                .port = 2379,
                                                .started_at = 1700000001.5,
                                                .last_exit = strdup("killed by signal 9 (Killed)")};
    s->components[1] = (struct component_state){.name = strdup("kube-apiserver"), .state = RUN_BACKOFF};
}

static void assert_same(const struct cluster_state *a, const struct cluster_state *b)
{
    assert_string_equal(a->cluster, b->cluster);
    assert_string_equal(a->mode, b->mode);
    assert_string_equal(a->server, b->server);
    assert_int_equal(a->supervisor_pid, b->supervisor_pid);
    assert_int_equal(a->phase, b->phase);
    assert_true(a->started_at == b->started_at);
    assert_int_equal(a->n_components, b->n_components);
    for (size_t i = 0; i < a->n_components; i++) {
        const struct component_state *x = &a->components[i], *y = &b->components[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->pid, y->pid);
        assert_int_equal(x->state, y->state);
        assert_int_equal(x->ready, y->ready);
        assert_int_equal(x->restarts, y->restarts);
        assert_int_equal(x->port, y->port);
        assert_true(x->started_at == y->started_at);
        if (x->path || y->path)
            assert_string_equal(x->path, y->path);
        if (x->last_exit || y->last_exit)
            assert_string_equal(x->last_exit, y->last_exit);
        else
            assert_null(y->last_exit);
    }
}

static void test_round_trip(void **state)
{
    _cleanup_(cluster_state_done) struct cluster_state a = {0}, b = {0};
    fill(&a);
    _cleanup_free_ char *text = cluster_state_format(&a);
    assert_non_null(text);
    assert_int_equal(cluster_state_parse(text, strlen(text), &b), 0);
    assert_same(&a, &b);
}

static void test_file_round_trip(void **state)
{
    char dir[] = "/tmp/kig-test-state-XXXXXX";
    assert_non_null(mkdtemp(dir));
    _cleanup_free_ char *path = path_join(dir, "state.json");
    _cleanup_(cluster_state_done) struct cluster_state a = {0}, b = {0};
    fill(&a);
    assert_int_equal(cluster_state_save(path, &a), 0);
    assert_int_equal(cluster_state_load(path, &b), 0);
    assert_same(&a, &b);
    assert_int_equal(rm_rf(dir), 0);
}

static void test_find(void **state)
{
    _cleanup_(cluster_state_done) struct cluster_state a = {0};
    fill(&a);
    assert_ptr_equal(cluster_state_find(&a, "kube-apiserver"), &a.components[1]);
    assert_null(cluster_state_find(&a, "kubelet"));
}

static void expect_invalid(const char *text)
{
    struct cluster_state s = {0};
    int r = cluster_state_parse(text, strlen(text), &s);
    if (r != -EINVAL)
        fail_msg("accepted (%d): %s", r, text);
}

#define GOOD_SUPERVISOR "\"supervisor\":{\"pid\":1,\"phase\":\"running\",\"startedAt\":1}"
#define GOOD_HEAD       "{\"format\":1,\"cluster\":\"kig\",\"mode\":\"m\",\"server\":\"s\"," GOOD_SUPERVISOR ","
#define GOOD_COMPONENT                                                                                       \
    "{\"name\":\"etcd\",\"pid\":0,\"state\":\"waiting\",\"ready\":false,\"restarts\":0,\"port\":0,"          \
    "\"startedAt\":0}"

static void test_minimal_valid(void **state)
{
    const char *text = GOOD_HEAD "\"components\":[" GOOD_COMPONENT "]}";
    _cleanup_(cluster_state_done) struct cluster_state s = {0};
    assert_int_equal(cluster_state_parse(text, strlen(text), &s), 0);
    assert_int_equal(s.n_components, 1);
    assert_null(s.components[0].path);
}

static void test_rejects_invalid(void **state)
{
    expect_invalid("");
    expect_invalid("[]");
    expect_invalid("{\"format\":1}");
    expect_invalid("{\"format\":2,\"cluster\":\"kig\",\"mode\":\"m\",\"server\":\"s\"," GOOD_SUPERVISOR
                   ",\"components\":[]}");
    expect_invalid(GOOD_HEAD "\"components\":{}}");
    expect_invalid(GOOD_HEAD "\"components\":[" GOOD_COMPONENT "," GOOD_COMPONENT "]}"); /* duplicate name */
    expect_invalid(GOOD_HEAD
                   "\"components\":[{\"name\":\"etcd\",\"pid\":-1,\"state\":\"waiting\",\"ready\":false,"
                   "\"restarts\":0,\"port\":0,\"startedAt\":0}]}");
    expect_invalid(GOOD_HEAD
                   "\"components\":[{\"name\":\"etcd\",\"pid\":0,\"state\":\"dancing\",\"ready\":false,"
                   "\"restarts\":0,\"port\":0,\"startedAt\":0}]}");
    expect_invalid(GOOD_HEAD "\"components\":[{\"name\":\"etcd\",\"pid\":0,\"state\":\"waiting\",\"ready\":1,"
                             "\"restarts\":0,\"port\":0,\"startedAt\":0}]}");
    expect_invalid(GOOD_HEAD
                   "\"components\":[{\"name\":\"etcd\",\"pid\":0,\"state\":\"waiting\",\"ready\":false,"
                   "\"restarts\":0,\"port\":70000,\"startedAt\":0}]}");
    expect_invalid(GOOD_HEAD "\"components\":[{\"name\":\"\",\"pid\":0,\"state\":\"waiting\",\"ready\":false,"
                             "\"restarts\":0,\"port\":0,\"startedAt\":0}]}");
    expect_invalid(
        "{\"format\":1,\"cluster\":\"kig\",\"mode\":\"m\",\"server\":\"s\",\"supervisor\":{\"pid\":0,"
        "\"phase\":\"running\",\"startedAt\":1},\"components\":[]}");
    /* Duplicate keys would let two readers see different documents. */
    expect_invalid(
        "{\"format\":1,\"format\":1,\"cluster\":\"kig\",\"mode\":\"m\",\"server\":\"s\"," GOOD_SUPERVISOR
        ",\"components\":[]}");
}

static void test_rejects_too_many_components(void **state)
{
    char text[8192];
    size_t len = (size_t)snprintf(text, sizeof(text), GOOD_HEAD "\"components\":[");
    for (int i = 0; i <= STATE_MAX_COMPONENTS; i++)
        len += (size_t)snprintf(
            text + len, sizeof(text) - len,
            "%s{\"name\":\"c%d\",\"pid\":0,\"state\":\"waiting\",\"ready\":false,\"restarts\":0,"
            "\"port\":0,\"startedAt\":0}",
            i ? "," : "", i);
    snprintf(text + len, sizeof(text) - len, "]}");
    expect_invalid(text);
}

static void test_names(void **state)
{
    assert_string_equal(run_state_to_string(RUN_BACKOFF), "backoff");
    assert_string_equal(supervisor_phase_to_string(PHASE_STOPPED), "stopped");
    assert_string_equal(run_state_to_string((enum run_state)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_file_round_trip),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_minimal_valid),
        cmocka_unit_test(test_rejects_invalid),
        cmocka_unit_test(test_rejects_too_many_components),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
