/* The podns protocol between a caller (podns_spawn and friends) and a netns holder: a fake holder in this
 * process answers a real client in a child process, and malformed requests are refused. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "fileutil.h"
#include "podns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/kig-podns-test.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char pods[128];
    snprintf(pods, sizeof(pods), "%s/pods", dir);
    return mkdir_p(pods, 0700);
}

static int teardown(void **state)
{
    return rm_rf(dir);
}

static int fake_holder(const char *id)
{
    char *path = podns_socket_path(dir, id);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    free(path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    unlink(sa.sun_path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static void test_valid_id(void **state)
{
    assert_true(podns_valid_id("0123abcdef"));
    assert_true(podns_valid_id("pod-a_1.x"));
    assert_false(podns_valid_id(""));
    assert_false(podns_valid_id(NULL));
    assert_false(podns_valid_id(".hidden"));
    assert_false(podns_valid_id("a/b"));
    assert_false(podns_valid_id("../x"));
    assert_false(podns_valid_id("a b"));
    char longid[PODNS_MAX_ID + 2];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    assert_false(podns_valid_id(longid));
    longid[PODNS_MAX_ID] = '\0';
    assert_true(podns_valid_id(longid));
}

static void test_socket_path(void **state)
{
    char *p = podns_socket_path("/run/x", "abc");
    assert_string_equal(p, "/run/x/pods/abc.sock");
    free(p);
    p = podns_socket_path(NULL, "abc");
    assert_string_equal(p, PODNS_DEFAULT_DIR "/pods/abc.sock");
    free(p);
    /* containerd's 64-character ids under a long directory: shortened, still distinct, and fitting */
    const char *long_dir = "/tmp/kig-test-pod-network.3OPu54/data/node/switch";
    const char *id1 = "bc34373090fd10f55930b23bc83036cdfa1c77e115931f61ec324a200cb45c79";
    const char *id2 = "bc34373090fd10f55930b23bc83036cdfa1c77e115931f61ec324a200cb45c7a";
    p = podns_socket_path(long_dir, id1);
    char *q = podns_socket_path(long_dir, id2);
    assert_true(strlen(p) < sizeof(((struct sockaddr_un *)0)->sun_path));
    assert_non_null(strstr(p, "/pods/bc34373090fd-"));
    assert_string_not_equal(p, q);
    free(q);
    q = podns_socket_path(long_dir, id1);
    assert_string_equal(p, q);
    free(p);
    free(q);
}

/* The client side runs in a child: it spawns "prog a b" with a pipe as stdout and one extra fd, and
 * expects pid 4242 and exit status 7 << 8. */
static _Noreturn void client(int out_fd, int extra_fd)
{
    const char *argv[] = {"prog", "a", "b", NULL};
    const char *envp[] = {"PATH=/x", "K=V", NULL};
    struct podns_spawn_options o = {.argv = argv,
                                    .envp = envp,
                                    .cwd = "/work",
                                    .stdin_fd = -1,
                                    .stdout_fd = out_fd,
                                    .stderr_fd = out_fd,
                                    .extra_fds = &extra_fd,
                                    .n_extra_fds = 1,
                                    .new_session = true};
    pid_t pid = 0;
    int handle = -1, status = 0;
    int r = podns_spawn(dir, "pod1", &o, &pid, &handle);
    if (r < 0 || pid != 4242)
        _exit(10);
    r = podns_wait(handle, &status);
    _exit(r == 0 && status == (7 << 8) ? 0 : 11);
}

static void test_spawn_round_trip(void **state)
{
    int ls = fake_holder("pod1");
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t child = fork();
    if (child == 0)
        client(pipefd[1], pipefd[0]);
    int conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    assert_true(conn >= 0);
    struct podns_request req;
    assert_int_equal(podns_request_recv(conn, &req), 0);
    assert_int_equal(req.h.op, PODNS_OP_SPAWN);
    assert_true(req.h.flags & PODNS_SPAWN_WAIT);
    assert_true(req.h.flags & PODNS_SPAWN_NEW_SESSION);
    assert_string_equal(req.cwd, "/work");
    assert_string_equal(req.argv[0], "prog");
    assert_string_equal(req.argv[2], "b");
    assert_null(req.argv[3]);
    assert_string_equal(req.envp[1], "K=V");
    assert_null(req.envp[2]);
    /* stdin was -1 (/dev/null in the child): fds for 1, 2 and 3 came, in order */
    assert_int_equal(req.n_fds, 3);
    assert_int_equal(req.target_fds[0], 1);
    assert_int_equal(req.target_fds[1], 2);
    assert_int_equal(req.target_fds[2], 3);
    /* the passed stdout really is the client's pipe */
    assert_int_equal(write(req.fds[0], "x", 1), 1);
    char c = 0;
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    assert_int_equal(c, 'x');
    assert_true(fcntl(req.fds[0], F_GETFD) & FD_CLOEXEC);
    podns_request_done(&req);

    struct podns_reply started = {.kind = PODNS_REPLY_STARTED, .pid = 4242};
    assert_int_equal(podns_reply_send(conn, &started, NULL, -1), 0);
    struct podns_reply exited = {.kind = PODNS_REPLY_EXITED, .pid = 4242, .status = 7 << 8};
    assert_int_equal(podns_reply_send(conn, &exited, NULL, -1), 0);
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(conn);
    close(ls);
    close(pipefd[0]);
    close(pipefd[1]);
}

static void test_spawn_error_is_returned(void **state)
{
    int ls = fake_holder("pod2");
    pid_t child = fork();
    if (child == 0) {
        const char *argv[] = {"missing", NULL};
        struct podns_spawn_options o = {
            .argv = argv, .cwd = "/", .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
        _exit(podns_spawn(dir, "pod2", &o, NULL, NULL) == -ENOENT ? 0 : 1);
    }
    int conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    struct podns_request req;
    assert_int_equal(podns_request_recv(conn, &req), 0);
    podns_request_done(&req);
    struct podns_reply err = {.kind = PODNS_REPLY_ERROR, .error = -ENOENT};
    assert_int_equal(podns_reply_send(conn, &err, NULL, -1), 0);
    int status = 0;
    waitpid(child, &status, 0);
    assert_int_equal(WEXITSTATUS(status), 0);
    close(conn);
    close(ls);
}

static void test_no_holder(void **state)
{
    const char *argv[] = {"true", NULL};
    struct podns_spawn_options o = {
        .argv = argv, .cwd = "/", .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    assert_int_equal(podns_spawn(dir, "nobody", &o, NULL, NULL), -ENOENT);
    assert_int_equal(podns_shutdown(dir, "nobody"), 0); /* idempotent DEL */
    assert_int_equal(podns_spawn(dir, "../escape", &o, NULL, NULL), -EINVAL);
    int fd = -1;
    assert_int_equal(podns_get_tap(dir, "nobody", &fd, NULL), -ENOENT);
}

/* A well-formed SPAWN request in buf; returns its length. */
static size_t spawn_request(char *buf, uint32_t n_fds, const int32_t *targets, const char *strings,
                            size_t strings_len, uint32_t argc, uint32_t envc)
{
    struct podns_request_header h = {.magic = PODNS_MAGIC,
                                     .version = PODNS_VERSION,
                                     .op = PODNS_OP_SPAWN,
                                     .n_fds = n_fds,
                                     .argc = argc,
                                     .envc = envc};
    memcpy(buf, &h, sizeof(h));
    /* memcpy's arguments must not be NULL even for zero bytes (UBSan checks it). */
    if (n_fds > 0)
        memcpy(buf + sizeof(h), targets, n_fds * sizeof(int32_t));
    if (strings_len > 0)
        memcpy(buf + sizeof(h) + n_fds * sizeof(int32_t), strings, strings_len);
    return sizeof(h) + n_fds * sizeof(int32_t) + strings_len;
}

static int parse(const char *buf, size_t len, size_t n_fds)
{
    int fds[4];
    for (size_t i = 0; i < n_fds; i++)
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct podns_request r;
    int k = podns_request_parse(buf, len, fds, n_fds, &r);
    if (k == 0)
        podns_request_done(&r);
    return k;
}

static void test_parse_rejects(void **state)
{
    char buf[512];
    static const char good[] = "/\0prog\0arg\0E=1"; /* sizeof includes the final NUL */
    int32_t t1[] = {1}, dup[] = {1, 1}, far[] = {99}, neg[] = {-1};
    assert_int_equal(parse(buf, spawn_request(buf, 1, t1, good, sizeof(good), 2, 1), 1), 0);
    /* fd count in the header differs from what came */
    assert_int_equal(parse(buf, spawn_request(buf, 1, t1, good, sizeof(good), 2, 1), 0), -EBADMSG);
    assert_int_equal(parse(buf, spawn_request(buf, 2, dup, good, sizeof(good), 2, 1), 2), -EBADMSG);
    assert_int_equal(parse(buf, spawn_request(buf, 1, far, good, sizeof(good), 2, 1), 1), -EBADMSG);
    assert_int_equal(parse(buf, spawn_request(buf, 1, neg, good, sizeof(good), 2, 1), 1), -EBADMSG);
    /* more strings announced than present, fewer than present, no program */
    assert_int_equal(parse(buf, spawn_request(buf, 0, NULL, good, sizeof(good), 2, 2), 0), -EBADMSG);
    assert_int_equal(parse(buf, spawn_request(buf, 0, NULL, good, sizeof(good), 1, 1), 0), -EBADMSG);
    assert_int_equal(parse(buf, spawn_request(buf, 0, NULL, good, sizeof(good), 0, 3), 0), -EBADMSG);
    /* unterminated last string, relative working directory */
    assert_int_equal(parse(buf, spawn_request(buf, 0, NULL, good, sizeof(good) - 1, 2, 1), 0), -EBADMSG);
    static const char relative[] = "work\0prog\0";
    assert_int_equal(parse(buf, spawn_request(buf, 0, NULL, relative, sizeof(relative) - 1, 1, 0), 0),
                     -EBADMSG);
    /* bad magic, short header, unknown op, payload on a simple op */
    size_t len = spawn_request(buf, 0, NULL, good, sizeof(good), 2, 1);
    buf[0] ^= 1;
    assert_int_equal(parse(buf, len, 0), -EBADMSG);
    assert_int_equal(parse(buf, 3, 0), -EBADMSG);
    struct podns_request_header h = {.magic = PODNS_MAGIC, .version = PODNS_VERSION, .op = 99};
    memcpy(buf, &h, sizeof(h));
    assert_int_equal(parse(buf, sizeof(h), 0), -EBADMSG);
    h.op = PODNS_OP_INFO;
    memcpy(buf, &h, sizeof(h));
    assert_int_equal(parse(buf, sizeof(h), 0), 0);
    assert_int_equal(parse(buf, sizeof(h) + 1, 0), -EBADMSG);
    assert_int_equal(parse(buf, sizeof(h), 1), -EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_id),         cmocka_unit_test(test_socket_path),
        cmocka_unit_test(test_spawn_round_trip), cmocka_unit_test(test_spawn_error_is_returned),
        cmocka_unit_test(test_no_holder),        cmocka_unit_test(test_parse_rejects),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
