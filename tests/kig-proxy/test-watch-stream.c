/* The watch-stream parser and the store it feeds: events split at every possible byte, several events per
 * chunk, BOOKMARK, ERROR 410, malformed and oversized lines. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "store.h"
#include "watch-stream.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct seen {
    char log[4096]; /* "TYPE name rv;" per event */
    int n;
    long last_error;
};

static int record(const struct watch_event *ev, void *userdata)
{
    struct seen *s = userdata;
    const char *name = json_string_value(json_object_get(json_object_get(ev->object, "metadata"), "name"));
    size_t len = strlen(s->log);
    snprintf(s->log + len, sizeof(s->log) - len, "%s %s %s;", watch_event_type_name(ev->type),
             name ? name : "-", ev->resource_version ? ev->resource_version : "-");
    if (ev->type == WATCH_ERROR)
        s->last_error = ev->error_code;
    s->n++;
    return 0;
}

static const char stream[] =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Service\",\"metadata\":{\"name\":\"web\",\"namespace\":"
    "\"default\","
    "\"resourceVersion\":\"10\"},\"spec\":{\"clusterIP\":\"10.96.0.20\"}}}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\","
    "\"resourceVersion\":\"11\"}}}\n"
    "\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\",\"metadata\":{\"resourceVersion\":\"15\"}}}\n"
    "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\","
    "\"resourceVersion\":\"16\"}}}\n"
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
    "\"message\":\"too old resource version: 5 (16)\",\"reason\":\"Expired\",\"code\":410}}\n";

static const char expected[] = "ADDED web 10;MODIFIED web 11;BOOKMARK - 15;DELETED web 16;ERROR - -;";

static void feed_in_pieces(size_t piece)
{
    struct watch_stream ws;
    struct seen s = {0};
    watch_stream_init(&ws, 0);
    size_t len = strlen(stream);
    for (size_t off = 0; off < len; off += piece) {
        size_t n = len - off < piece ? len - off : piece;
        assert_int_equal(watch_stream_feed(&ws, stream + off, n, record, &s), 0);
    }
    assert_string_equal(s.log, expected);
    assert_int_equal(s.last_error, 410);
    assert_int_equal(ws.len, 0);
    watch_stream_done(&ws);
}

static void test_whole_stream(void **state)
{
    feed_in_pieces(strlen(stream));
}

static void test_every_split(void **state)
{
    /* Every chunk size from one byte up: each line boundary falls inside, at the start and at the end of
     * a chunk somewhere. */
    for (size_t piece = 1; piece < 200; piece++)
        feed_in_pieces(piece);
}

static void test_partial_line_waits(void **state)
{
    struct watch_stream ws;
    struct seen s = {0};
    watch_stream_init(&ws, 0);
    const char *half = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"";
    assert_int_equal(watch_stream_feed(&ws, half, strlen(half), record, &s), 0);
    assert_int_equal(s.n, 0);
    const char *rest = ",\"namespace\":\"x\",\"resourceVersion\":\"7\"}}}\r\n{\"type\":\"BOOK";
    assert_int_equal(watch_stream_feed(&ws, rest, strlen(rest), record, &s), 0);
    assert_string_equal(s.log, "ADDED a 7;");
    watch_stream_reset(&ws); /* a new watch: the half event is dropped */
    const char *next = "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n";
    assert_int_equal(watch_stream_feed(&ws, next, strlen(next), record, &s), 0);
    assert_string_equal(s.log, "ADDED a 7;DELETED a -;");
    watch_stream_done(&ws);
}

static void expect_bad(const char *line, int err)
{
    struct watch_stream ws;
    struct seen s = {0};
    watch_stream_init(&ws, 0);
    assert_int_equal(watch_stream_feed(&ws, line, strlen(line), record, &s), err);
    assert_int_equal(s.n, 0);
    watch_stream_done(&ws);
}

static void test_malformed(void **state)
{
    expect_bad("not json\n", -EBADMSG);
    expect_bad("[1,2]\n", -EBADMSG);
    expect_bad("{\"type\":\"ADDED\"}\n", -EBADMSG);
    expect_bad("{\"type\":\"ADDED\",\"object\":\"x\"}\n", -EBADMSG);
    expect_bad("{\"type\":\"RENAMED\",\"object\":{}}\n", -EBADMSG);
    expect_bad("{\"type\":7,\"object\":{}}\n", -EBADMSG);
}

static void test_line_limit(void **state)
{
    struct watch_stream ws;
    struct seen s = {0};
    watch_stream_init(&ws, 64);
    char big[200];
    memset(big, 'x', sizeof(big));
    /* Without a newline the buffer would grow without end: refused once past the limit. */
    assert_int_equal(watch_stream_feed(&ws, big, 40, record, &s), 0);
    assert_int_equal(watch_stream_feed(&ws, big, 40, record, &s), -EMSGSIZE);
    watch_stream_reset(&ws);
    big[150] = '\n';
    assert_int_equal(watch_stream_feed(&ws, big, 151, record, &s), -EMSGSIZE);
    watch_stream_done(&ws);
}

static int stop_at_second(const struct watch_event *ev, void *userdata)
{
    int *n = userdata;
    return ++*n == 2 ? -ESTALE : 0;
}

static void test_callback_stops(void **state)
{
    struct watch_stream ws;
    int n = 0;
    watch_stream_init(&ws, 0);
    assert_int_equal(watch_stream_feed(&ws, stream, strlen(stream), stop_at_second, &n), -ESTALE);
    assert_int_equal(n, 2);
    watch_stream_done(&ws);
}

struct apply_ctx {
    struct store *store;
    struct store_map *map;
};

static int apply(const struct watch_event *ev, void *userdata)
{
    struct apply_ctx *c = userdata;
    return store_apply(c->store, c->map, ev->type, ev->object);
}

static void test_store(void **state)
{
    struct store st;
    assert_int_equal(store_init(&st), 0);
    assert_false(store_synced(&st));
    json_t *items = json_loads("[{\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\"}},"
                               "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"}},"
                               "{\"metadata\":{\"name\":\"no-namespace\"}}]",
                               0, NULL);
    assert_int_equal(store_replace(&st, &st.services, items), 0);
    json_decref(items);
    assert_int_equal(json_object_size(st.services.objects), 2);
    assert_non_null(json_object_get(st.services.objects, "ns/a"));
    items = json_array();
    assert_int_equal(store_replace(&st, &st.endpoints, items), 0);
    json_decref(items);
    assert_true(store_synced(&st));

    uint64_t gen = st.generation;
    struct watch_stream ws;
    struct apply_ctx c = {&st, &st.services};
    watch_stream_init(&ws, 0);
    assert_int_equal(watch_stream_feed(&ws, stream, strlen(stream), apply, &c), 0);
    watch_stream_done(&ws);
    /* ADDED, MODIFIED and DELETED of default/web: gone again; ns/a untouched. */
    assert_null(json_object_get(st.services.objects, "default/web"));
    assert_non_null(json_object_get(st.services.objects, "ns/a"));
    assert_int_equal(st.generation, gen + 3);
    store_done(&st);
}

static void test_store_keys(void **state)
{
    char key[STORE_KEY_MAX];
    assert_int_equal(store_key_of("default", "web", key), 0);
    assert_string_equal(key, "default/web");
    assert_int_equal(store_key_of("", "web", key), -EINVAL);
    assert_int_equal(store_key_of("default", NULL, key), -EINVAL);
    char long_name[400];
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(store_key_of("default", long_name, key), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_stream),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_partial_line_waits),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_store),
        cmocka_unit_test(test_store_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
