/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "fileutil.h"
#include "macro.h"
#include "shim-daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static bool connects(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

/* The real shim's NewSocket: directory made, socket 0600, close-on-exec listener; a live one is reported,
 * a stale file replaced. */
static void test_listen(void **state)
{
    (void)state;
    char dir[] = "/tmp/kig-test-shim-daemon.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char address[300], path[200];
    snprintf(path, sizeof(path), "%s/s/shim.sock", dir);
    snprintf(address, sizeof(address), "unix://%s", path);

    int fd = shim_daemon_listen(address);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    assert_true(connects(path));
    assert_int_equal(shim_daemon_listen(address), -EADDRINUSE); /* a shim listens: its answer stands */

    close(fd); /* the file stays, nobody listens: a dead shim's leftover */
    assert_false(connects(path));
    fd = shim_daemon_listen(address);
    assert_true(fd >= 0);
    assert_true(connects(path));
    close(fd);

    shim_daemon_unlink(address);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(shim_daemon_listen("relative/shim.sock"), -EINVAL);
    assert_int_equal(shim_daemon_listen("unix://relative.sock"), -EINVAL);
    assert_int_equal(rm_rf(dir), 0);
}

static void test_argv(void **state)
{
    (void)state;
    const char *argv[9];
    shim_daemon_argv("/usr/bin/containerd-shim-runc-v2", "k8s.io", "abc", "/run/c.sock", false, argv);
    const char *want[] = {"/usr/bin/containerd-shim-runc-v2",
                          "-namespace",
                          "k8s.io",
                          "-id",
                          "abc",
                          "-address",
                          "/run/c.sock",
                          NULL};
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        if (want[i])
            assert_string_equal(argv[i], want[i]);
        else
            assert_null(argv[i]);
    shim_daemon_argv("shim", "ns", "id", "/a", true, argv);
    assert_string_equal(argv[7], "-debug");
    assert_null(argv[8]);
}

/* GOMAXPROCS=4 replaces whatever containerd gave (the real daemon's env after Go's exec dedup); the rest
 * (TTRPC_ADDRESS, NAMESPACE, ...) is kept in order. */
static void test_env(void **state)
{
    (void)state;
    char *env[] = {"GOMAXPROCS=2", "TTRPC_ADDRESS=/run/c.sock.ttrpc", "GOMAXPROCS=1", "PATH=/bin", NULL};
    _cleanup_free_ const char **out = shim_daemon_env(env);
    assert_non_null(out);
    assert_string_equal(out[0], "TTRPC_ADDRESS=/run/c.sock.ttrpc");
    assert_string_equal(out[1], "PATH=/bin");
    assert_string_equal(out[2], "GOMAXPROCS=4");
    assert_null(out[3]);
    _cleanup_free_ const char **empty = shim_daemon_env(NULL);
    assert_string_equal(empty[0], "GOMAXPROCS=4");
    assert_null(empty[1]);
}

static long oom_score_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
    FILE *f = fopen(path, "re");
    long v = -2000;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -2000;
        fclose(f);
    }
    return v;
}

static void set_own_oom_score(long v)
{
    FILE *f = fopen("/proc/self/oom_score_adj", "we");
    assert_non_null(f);
    fprintf(f, "%ld", v);
    assert_int_equal(fclose(f), 0);
}

/* The daemon gets its parent's score plus one, at most 1000 (raising a score needs no privilege). */
static void test_oom_score(void **state)
{
    (void)state;
    long own = oom_score_of(getpid());
    assert_true(own >= -1000 && own < 999);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    assert_int_equal(shim_daemon_adjust_oom_score(child, getpid()), 0);
    assert_int_equal(oom_score_of(child), own + 1);
    set_own_oom_score(1000);
    assert_int_equal(shim_daemon_adjust_oom_score(child, getpid()), 0);
    assert_int_equal(oom_score_of(child), 1000);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    /* A parent that is gone: nothing to read. */
    assert_true(shim_daemon_adjust_oom_score(getpid(), child) < 0);
}

static void test_drain(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    char options[100];
    memset(options, 'x', sizeof(options));
    assert_int_equal(write(p[1], options, sizeof(options)), (ssize_t)sizeof(options));
    close(p[1]);
    assert_int_equal(shim_daemon_drain(p[0]), 0);
    char c;
    assert_int_equal(read(p[0], &c, 1), 0);
    close(p[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen),    cmocka_unit_test(test_argv),  cmocka_unit_test(test_env),
        cmocka_unit_test(test_oom_score), cmocka_unit_test(test_drain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
