/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "log.h"
#include "macro.h"

#include <string.h>

static char *capture(void (*fn)(void))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    log_set_stream(f);
    fn();
    log_set_stream(NULL);
    fclose(f);
    return buf;
}

static int last_ret;

static void emit_errno(void)
{
    errno = 0; /* %m must name the error passed in, not errno */
    last_ret = log_error_errno(ENOENT, "cannot open %s: %m", "x");
}

static void emit_debug_hidden(void)
{
    log_debug("hidden");
}

static void test_errno_message_and_return(void **state)
{
    log_init("/usr/bin/kig");
    _cleanup_free_ char *out = capture(emit_errno);
    assert_string_equal(out, "kig: error: cannot open x: No such file or directory\n");
    assert_int_equal(last_ret, -ENOENT);
    /* Either sign works, and 0 never turns into success. */
    log_set_level(LOG_LEVEL_ERROR);
    assert_int_equal(log_full_errno(LOG_LEVEL_DEBUG, -EPERM, "x"), -EPERM);
    assert_int_equal(log_full_errno(LOG_LEVEL_DEBUG, 0, "x"), -EIO);
    log_set_level(LOG_LEVEL_INFO);
}

static void test_level_filter(void **state)
{
    log_set_level(LOG_LEVEL_INFO);
    _cleanup_free_ char *out = capture(emit_debug_hidden);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errno_message_and_return),
        cmocka_unit_test(test_level_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
