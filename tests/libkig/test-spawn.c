/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "macro.h"
#include "spawn.h"

#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void test_capture_stdout_stderr_status(void **state)
{
    const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    _cleanup_free_ char *out = NULL, *err = NULL;
    int status;
    assert_int_equal(run_capture(argv, &out, &err, 10000, &status), 0);
    assert_string_equal(out, "out\n");
    assert_string_equal(err, "err\n");
    assert_int_equal(wait_status_to_exit_code(status), 3);
}

static void test_capture_large_output(void **state)
{
    const char *argv[] = {"sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo 0123456789; i=$((i+1)); done",
                          NULL};
    _cleanup_free_ char *out = NULL;
    int status;
    assert_int_equal(run_capture(argv, &out, NULL, 30000, &status), 0);
    assert_int_equal(strlen(out), 20000 * 11);
    assert_int_equal(wait_status_to_exit_code(status), 0);
}

static void test_missing_program(void **state)
{
    const char *argv[] = {"kig-definitely-not-a-program", NULL};
    int status;
    assert_int_equal(run_capture(argv, NULL, NULL, 1000, &status), -ENOENT);
}

static void test_timeout_kills_tree(void **state)
{
    /* A grandchild keeps the pipe open: the timeout must still return promptly. */
    const char *argv[] = {"sh", "-c", "sleep 30 & sleep 30", NULL};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int status;
    _cleanup_free_ char *out = NULL;
    assert_int_equal(run_capture(argv, &out, NULL, 300, &status), -ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_true(b.tv_sec - a.tv_sec < 10);
    assert_true(WIFSIGNALED(status));
}

static void test_signal_exit_code(void **state)
{
    const char *argv[] = {"sh", "-c", "kill -TERM $$", NULL};
    int status;
    assert_int_equal(run_capture(argv, NULL, NULL, 5000, &status), 0);
    assert_int_equal(wait_status_to_exit_code(status), 128 + 15);
}

/* Extra fds arrive as 3, 4, ... without close-on-exec, even when a source sits on another's target. */
static void test_extra_fds(void **state)
{
    (void)state;
    int a[2], b[2], out[2];
    assert_int_equal(pipe2(a, O_CLOEXEC), 0);
    assert_int_equal(pipe2(b, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(write(a[1], "A", 1), 1);
    assert_int_equal(write(b[1], "B", 1), 1);
    close(a[1]);
    close(b[1]);
    /* b's read end first: it goes to 3 while a's read end may be 3 or 4 itself. */
    const int extra[] = {b[0], a[0]};
    const char *const argv[] = {"sh", "-c", "head -c1 <&3; head -c1 <&4", NULL};
    const struct spawn_options o = {
        .argv = argv,
        .stdin_fd = SPAWN_DEVNULL,
        .stdout_fd = out[1],
        .stderr_fd = SPAWN_INHERIT,
        .extra_fds = extra,
        .n_extra_fds = 2,
    };
    pid_t pid;
    assert_int_equal(spawn_process(&o, &pid), 0);
    close(out[1]);
    char buf[8] = {0};
    ssize_t n = 0, k;
    while ((k = read(out[0], buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
        n += k;
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_string_equal(buf, "BA");
    close(out[0]);
    close(a[0]);
    close(b[0]);
}

static void test_process_has_comm(void **state)
{
    /* This test's own name, test-spawn; a name past 15 characters matches the kernel's cut. */
    assert_true(process_has_comm(getpid(), "test-spawn"));
    assert_false(process_has_comm(getpid(), "test-spaw"));
    assert_false(process_has_comm(getpid(), "kig-trace"));
    prctl(PR_SET_NAME, "a-very-long-name-here");
    assert_true(process_has_comm(getpid(), "a-very-long-name-here"));
    assert_false(process_has_comm(getpid(), "a-very-other-name"));
    prctl(PR_SET_NAME, "test-spawn");
    assert_false(process_has_comm(0x3fffffff, "test-spawn"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_stdout_stderr_status),
        cmocka_unit_test(test_capture_large_output),
        cmocka_unit_test(test_missing_program),
        cmocka_unit_test(test_timeout_kills_tree),
        cmocka_unit_test(test_signal_exit_code),
        cmocka_unit_test(test_process_has_comm),
        cmocka_unit_test(test_extra_fds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
