/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "words.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct collected {
    char text[256];
    int calls;
    int fail_at; /* the call that returns -EINVAL; 0 for none */
};

/* Joins the words with '|', so that their boundaries show. */
static int collect(const char *word, void *userdata)
{
    struct collected *c = userdata;
    if (++c->calls == c->fail_at)
        return -EINVAL;
    size_t len = strlen(c->text);
    snprintf(c->text + len, sizeof(c->text) - len, "%s%s", len ? "|" : "", word);
    return 0;
}

static void test_words_split_on_spaces_tabs_and_newlines(void **state)
{
    struct collected c = {0};
    assert_int_equal(split_words("  -v\t--stats \n--trap-marked-mounts  ", collect, &c), 0);
    assert_string_equal(c.text, "-v|--stats|--trap-marked-mounts");
    assert_int_equal(c.calls, 3);
}

static void test_no_words(void **state)
{
    struct collected c = {0};
    assert_int_equal(split_words(NULL, collect, &c), 0);
    assert_int_equal(split_words("", collect, &c), 0);
    assert_int_equal(split_words(" \t\n ", collect, &c), 0);
    assert_int_equal(c.calls, 0);
}

static void test_no_quoting(void **state)
{
    struct collected c = {0};
    assert_int_equal(split_words("--opt='a b' *", collect, &c), 0);
    assert_string_equal(c.text, "--opt='a|b'|*");
}

static void test_callback_error_stops(void **state)
{
    struct collected c = {.fail_at = 2};
    assert_int_equal(split_words("one two three", collect, &c), -EINVAL);
    assert_string_equal(c.text, "one");
    assert_int_equal(c.calls, 2);
}

static void test_text_is_not_changed(void **state)
{
    char text[] = "a b";
    struct collected c = {0};
    assert_int_equal(split_words(text, collect, &c), 0);
    assert_string_equal(text, "a b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_split_on_spaces_tabs_and_newlines),
        cmocka_unit_test(test_no_words),
        cmocka_unit_test(test_no_quoting),
        cmocka_unit_test(test_callback_error_stops),
        cmocka_unit_test(test_text_is_not_changed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
