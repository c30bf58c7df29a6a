/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "exec-fifo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fifo_dir {
    char dir[64];
    char path[96];
};

static void make_fifo(struct fifo_dir *f)
{
    strcpy(f->dir, "/tmp/kig-test-fifo-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/exec.fifo", f->dir);
    assert_int_equal(mkfifo(f->path, 0600), 0);
}

static void remove_fifo(struct fifo_dir *f)
{
    unlink(f->path);
    rmdir(f->dir);
}

static int exit_code(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* As crun's init: the read end is open before start can run; select, then read until a byte comes.
 * Exits 42 when the byte is crun's 0. */
static pid_t crun_like_init(const char *path)
{
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_RDONLY | O_NONBLOCK);
        if (fd < 0)
            _exit(1);
        (void)!write(ready[1], "r", 1);
        char byte = 1;
        ssize_t n;
        do {
            fd_set set;
            FD_ZERO(&set);
            FD_SET(fd, &set);
            if (select(fd + 1, &set, NULL, NULL, NULL) < 0)
                _exit(2);
            n = read(fd, &byte, 1);
        } while (n == 0 || (n < 0 && errno == EAGAIN));
        _exit(n == 1 && byte == 0 ? 42 : 3);
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    close(ready[1]);
    return pid;
}

/* As runc's init: blocks opening the write end, writes "0", exits 43 (it would execute the process). */
static pid_t runc_like_init(const char *path, bool write_byte)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            _exit(1);
        if (write_byte && write(fd, "0", 1) != 1)
            _exit(2);
        _exit(43);
    }
    return pid;
}

static int child_alive(void *userdata)
{
    pid_t pid = *(pid_t *)userdata;
    int status;
    return waitpid(pid, &status, WNOHANG) == 0;
}

static void test_crun_release(void **state)
{
    (void)state;
    struct fifo_dir f;
    make_fifo(&f);
    pid_t pid = crun_like_init(f.path);
    assert_int_equal(exec_fifo_release(OCI_RUNTIME_CRUN, f.path, NULL, NULL), 0);
    assert_int_equal(exit_code(pid), 42);
    /* Gone: both runtimes then report the container running, and a second start finds nothing. */
    assert_int_equal(access(f.path, F_OK), -1);
    assert_int_equal(exec_fifo_release(OCI_RUNTIME_CRUN, f.path, NULL, NULL), -ENOENT);
    remove_fifo(&f);
}

static void test_crun_without_reader(void **state)
{
    (void)state;
    struct fifo_dir f;
    make_fifo(&f);
    assert_int_equal(exec_fifo_release(OCI_RUNTIME_CRUN, f.path, NULL, NULL), -ESRCH);
    /* Left for the runtime, which then reports the dead container its own way. */
    assert_int_equal(access(f.path, F_OK), 0);
    remove_fifo(&f);
}

static void test_runc_release(void **state)
{
    (void)state;
    struct fifo_dir f;
    make_fifo(&f);
    pid_t pid = runc_like_init(f.path, true);
    assert_int_equal(exec_fifo_release(OCI_RUNTIME_RUNC, f.path, child_alive, &pid), 0);
    assert_int_equal(exit_code(pid), 43);
    assert_int_equal(access(f.path, F_OK), -1);
    remove_fifo(&f);
}

/* The starter may come first: the init reaches its open later, and is waited for. */
static void test_runc_init_late(void **state)
{
    (void)state;
    struct fifo_dir f;
    make_fifo(&f);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        usleep(300 * 1000);
        int fd = open(f.path, O_WRONLY);
        _exit(fd >= 0 && write(fd, "0", 1) == 1 ? 43 : 1);
    }
    assert_int_equal(exec_fifo_release(OCI_RUNTIME_RUNC, f.path, child_alive, &pid), 0);
    assert_int_equal(exit_code(pid), 43);
    remove_fifo(&f);
}

static void test_runc_init_dead(void **state)
{
    (void)state;
    struct fifo_dir f;
    make_fifo(&f);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    assert_int_equal(exec_fifo_release(OCI_RUNTIME_RUNC, f.path, child_alive, &pid), -ESRCH);
    assert_int_equal(access(f.path, F_OK), 0);
    remove_fifo(&f);
}

/* An init that opened the fifo and died before writing: runc says "cannot start", so must we. */
static void test_runc_writer_without_byte(void **state)
{
    (void)state;
    struct fifo_dir f;
    make_fifo(&f);
    pid_t pid = runc_like_init(f.path, false);
    assert_int_equal(exec_fifo_release(OCI_RUNTIME_RUNC, f.path, child_alive, &pid), -ESRCH);
    assert_int_equal(exit_code(pid), 43);
    remove_fifo(&f);
}

static void test_not_a_fifo(void **state)
{
    (void)state;
    char path[] = "/tmp/kig-test-fifo-file-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(exec_fifo_release(OCI_RUNTIME_CRUN, path, NULL, NULL), -EINVAL);
    assert_int_equal(exec_fifo_release(OCI_RUNTIME_RUNC, path, NULL, NULL), -EINVAL);
    unlink(path);
    assert_int_equal(exec_fifo_release(OCI_RUNTIME_RUNC, path, NULL, NULL), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crun_release),   cmocka_unit_test(test_crun_without_reader),
        cmocka_unit_test(test_runc_release),   cmocka_unit_test(test_runc_init_late),
        cmocka_unit_test(test_runc_init_dead), cmocka_unit_test(test_runc_writer_without_byte),
        cmocka_unit_test(test_not_a_fifo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
