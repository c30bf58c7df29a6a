/* OCI seccomp profiles compiled for the processes kig-runtime execs. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "oci-seccomp.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static scmp_filter_ctx compile_ok(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    scmp_filter_ctx ctx = NULL;
    char error[256] = "";
    int r = oci_seccomp_compile(j, &ctx, error, sizeof(error));
    if (r < 0)
        fail_msg("compile failed: %s", error);
    json_decref(j);
    return ctx;
}

static void test_no_profile(void **state)
{
    scmp_filter_ctx ctx = (scmp_filter_ctx)1;
    char error[64];
    assert_int_equal(oci_seccomp_compile(NULL, &ctx, error, sizeof(error)), 0);
    assert_null(ctx);
    json_t *null = json_null();
    assert_int_equal(oci_seccomp_compile(null, &ctx, error, sizeof(error)), 0);
    assert_null(ctx);
}

/* The filter really applies: in a child, getppid and a masked uname fail as the profile says. */
static void test_profile_applies(void **state)
{
    scmp_filter_ctx ctx = compile_ok(
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
        " \"syscalls\":[{\"names\":[\"getppid\",\"no_such_syscall\"],\"action\":\"SCMP_ACT_ERRNO\","
        "\"errnoRet\":38},"
        "  {\"names\":[\"setpgid\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":4242,"
        "\"op\":\"SCMP_CMP_EQ\"}]},"
        "  {\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"}]}");
    assert_non_null(ctx);
    pid_t pid = fork();
    if (pid == 0) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(ctx) < 0)
            _exit(10);
        /* glibc's getppid() cannot fail and returns the raw -38: ask through syscall(). */
        if (syscall(SYS_getppid) != -1 || errno != ENOSYS)
            _exit(11);
        if (setpgid(4242, 0) != -1 || errno != EPERM)
            _exit(12);
        if (getpid() <= 0)
            _exit(13);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    seccomp_release(ctx);
}

static void test_bad_profiles(void **state)
{
    static const struct {
        const char *json;
        const char *error;
    } bad[] = {
        {"[]", "must be an object"},
        {"{\"defaultAction\":\"SCMP_ACT_NOPE\"}", "unknown defaultAction"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"X\"}]}",
         "unknown action X"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"SCMP_ACT_ERRNO\"}]}",
         "names array"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_"
         "ERRNO\","
         "\"args\":[{\"index\":9,\"op\":\"SCMP_CMP_EQ\"}]}]}",
         "index 0-5"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = json_loads(bad[i].json, JSON_DECODE_ANY, NULL);
        scmp_filter_ctx ctx = NULL;
        char error[256] = "";
        assert_int_equal(oci_seccomp_compile(j, &ctx, error, sizeof(error)), -EINVAL);
        if (!strstr(error, bad[i].error))
            fail_msg("case %zu: '%s' lacks '%s'", i, error, bad[i].error);
        assert_null(ctx);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_profile),
        cmocka_unit_test(test_profile_applies),
        cmocka_unit_test(test_bad_profiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
