/* The pod janitor (src/kig/cluster/pod-janitor.c) against a made-up containerd state: task bundles,
 * kig-runtime records, a fake kig-runtime that logs its arguments and removes the record, and fake shim
 * daemons (this very program, started with a shim's flags, which then waits to be killed). */
#include "fileutil.h"
#include "macro.h"
#include "pod-janitor.h"
#include "shim-address.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define CONTAINERD_SOCKET "/kig-test/containerd.sock"

static char tmp[64], task_dir[256], runtime_root[256], calls[256], fake_runtime[256], self_exe[PATH_MAX];
static char reported[4096];

static _printf_(1, 2) void report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = strlen(reported);
    vsnprintf(reported + n, sizeof(reported) - n, fmt, ap);
    va_end(ap);
    n = strlen(reported);
    snprintf(reported + n, sizeof(reported) - n, "\n");
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void make_bundle(const char *id, const char *group)
{
    char dir[PATH_MAX], path[PATH_MAX + 16], address[256];
    snprintf(dir, sizeof(dir), "%s/k8s.io/%s", task_dir, id);
    assert_int_equal(mkdir_p(dir, 0755), 0);
    assert_int_equal(shim_socket_address(CONTAINERD_SOCKET, "k8s.io", group, address, sizeof(address)), 0);
    snprintf(path, sizeof(path), "%s/address", dir);
    write_text(path, address);
}

static void remove_bundle(const char *id)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/k8s.io/%s", task_dir, id);
    assert_int_equal(rm_rf(dir), 0);
}

static void make_record(const char *id)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/k8s.io/kig/%s", runtime_root, id);
    assert_int_equal(mkdir_p(dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/state.json", dir);
    write_text(path, "{}");
}

static bool record_exists(const char *id)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/k8s.io/kig/%s", runtime_root, id);
    return is_dir(dir);
}

static char *read_calls(void)
{
    char *text = NULL;
    if (read_file(calls, &text, NULL, 0) < 0)
        return strdup("");
    return text;
}

/* This program under a shim daemon's flags and one more argument (a flag, or an action like `start`). */
static pid_t start_fake_shim(const char *group, const char *address, const char *action)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(self_exe, "containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", group, "-address", address,
              action, (char *)NULL);
        _exit(127);
    }
    /* Until it has exec'd, it is not the shim yet. */
    char link[64];
    snprintf(link, sizeof(link), "/proc/%d/cmdline", (int)pid);
    for (int i = 0; i < 500; i++) {
        _cleanup_free_ char *cmdline = NULL;
        size_t len = 0;
        if (read_file(link, &cmdline, &len, 0) == 0 && len > 0 &&
            strcmp(cmdline, "containerd-shim-runc-v2") == 0)
            break;
        usleep(10000);
    }
    return pid;
}

static bool alive(pid_t pid)
{
    int status;
    return waitpid(pid, &status, WNOHANG) == 0;
}

static void stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof(tmp), "/tmp/kig-test-janitor.XXXXXX");
    assert_non_null(mkdtemp(tmp));
    snprintf(task_dir, sizeof(task_dir), "%s/state/io.containerd.runtime.v2.task", tmp);
    snprintf(runtime_root, sizeof(runtime_root), "%s/runtime", tmp);
    snprintf(calls, sizeof(calls), "%s/calls", tmp);
    snprintf(fake_runtime, sizeof(fake_runtime), "%s/kig-runtime", tmp);
    assert_int_equal(mkdir_p(runtime_root, 0755), 0);
    char script[2 * PATH_MAX];
    /* kig-runtime --root ROOT delete --force ID: logs its arguments, then removes the record. */
    snprintf(script, sizeof(script), "#!/bin/sh\necho \"$*\" >>%s\nrm -rf \"$2/kig/$5\"\n", calls);
    write_text(fake_runtime, script);
    assert_int_equal(chmod(fake_runtime, 0755), 0);
    reported[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rm_rf(tmp);
    return 0;
}

static void init_janitor(struct pod_janitor *j)
{
    char state_dir[PATH_MAX];
    snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
    const char *argv[] = {fake_runtime, NULL};
    assert_int_equal(pod_janitor_init(j, state_dir, CONTAINERD_SOCKET, runtime_root, self_exe, argv, report),
                     0);
}

static void nothing_without_a_task_dir(void **state)
{
    (void)state;
    _cleanup_(pod_janitor_done) struct pod_janitor j;
    init_janitor(&j);
    make_record("forgotten");
    for (int i = 0; i < 3; i++)
        assert_int_equal(pod_janitor_sweep(&j), 0);
    assert_true(record_exists("forgotten"));
    _cleanup_free_ char *c = read_calls();
    assert_string_equal(c, "");
}

static void forgotten_container_deleted_on_second_look(void **state)
{
    (void)state;
    _cleanup_(pod_janitor_done) struct pod_janitor j;
    init_janitor(&j);
    make_bundle("sandbox", "sandbox");
    make_record("sandbox");
    make_record("forgotten");
    assert_int_equal(pod_janitor_sweep(&j), 0);
    assert_true(record_exists("forgotten"));
    assert_int_equal(pod_janitor_sweep(&j), 1);
    assert_false(record_exists("forgotten"));
    assert_true(record_exists("sandbox"));
    _cleanup_free_ char *c = read_calls();
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "--root %s/k8s.io delete --force forgotten\n", runtime_root);
    assert_string_equal(c, want);
    assert_non_null(strstr(reported, "deleted container forgotten"));
    assert_int_equal(pod_janitor_sweep(&j), 0);
}

static void container_whose_bundle_returns_is_kept(void **state)
{
    (void)state;
    _cleanup_(pod_janitor_done) struct pod_janitor j;
    init_janitor(&j);
    make_bundle("other", "other");
    make_record("starting");
    assert_int_equal(pod_janitor_sweep(&j), 0);
    make_bundle("starting", "other");
    assert_int_equal(pod_janitor_sweep(&j), 0);
    remove_bundle("starting");
    /* Seen again without a bundle, but not in the sweep just before: one more look. */
    assert_int_equal(pod_janitor_sweep(&j), 0);
    assert_true(record_exists("starting"));
    assert_int_equal(pod_janitor_sweep(&j), 1);
    assert_false(record_exists("starting"));
}

static void failed_delete_is_reported_and_retried(void **state)
{
    (void)state;
    _cleanup_(pod_janitor_done) struct pod_janitor j;
    char state_dir[PATH_MAX];
    snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
    const char *argv[] = {"/bin/false", NULL};
    assert_int_equal(pod_janitor_init(&j, state_dir, CONTAINERD_SOCKET, runtime_root, self_exe, argv, report),
                     0);
    make_bundle("x", "x");
    make_record("stuck");
    assert_int_equal(pod_janitor_sweep(&j), 0);
    assert_int_equal(pod_janitor_sweep(&j), 0);
    assert_non_null(strstr(reported, "deleting container stuck, which containerd no longer knows, failed"));
    reported[0] = '\0';
    assert_int_equal(pod_janitor_sweep(&j), 0);
    assert_non_null(strstr(reported, "stuck"));
    assert_true(record_exists("stuck"));
}

static void shim_no_bundle_names_is_killed(void **state)
{
    (void)state;
    _cleanup_(pod_janitor_done) struct pod_janitor j;
    init_janitor(&j);
    make_bundle("sb-live", "sb-live");
    make_bundle("app-of-gone", "sb-gone"); /* an app container whose pod's sandbox task is already gone */
    pid_t live = start_fake_shim("sb-live", CONTAINERD_SOCKET, "-debug");
    pid_t serving = start_fake_shim("sb-gone", CONTAINERD_SOCKET, "-debug");
    pid_t orphan = start_fake_shim("sb-orphan", CONTAINERD_SOCKET, "-debug");
    pid_t starting = start_fake_shim("sb-orphan2", CONTAINERD_SOCKET, "start");
    pid_t foreign = start_fake_shim("sb-orphan3", "/other/containerd.sock", "-debug");

    assert_int_equal(pod_janitor_sweep(&j), 0);
    assert_true(alive(orphan));
    assert_int_equal(pod_janitor_sweep(&j), 1);
    int status;
    assert_int_equal(waitpid(orphan, &status, 0), orphan);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_non_null(strstr(reported, "killed the shim of pod sandbox sb-orphan"));
    assert_true(alive(live));
    assert_true(alive(serving));
    assert_true(alive(starting));
    assert_true(alive(foreign));

    /* The last container of sb-gone deleted: its shim goes on the second look after. */
    remove_bundle("app-of-gone");
    assert_int_equal(pod_janitor_sweep(&j), 0);
    assert_int_equal(pod_janitor_sweep(&j), 1);
    assert_int_equal(waitpid(serving, &status, 0), serving);
    assert_true(alive(live));
    stop(live);
    stop(starting);
    stop(foreign);
}

int main(int argc, char **argv)
{
    /* Started as a fake shim: wait to be killed. */
    if (argc > 1 && strcmp(argv[1], "-namespace") == 0) {
        for (;;)
            pause();
    }
    if (!realpath("/proc/self/exe", self_exe))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(nothing_without_a_task_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(forgotten_container_deleted_on_second_look, setup, teardown),
        cmocka_unit_test_setup_teardown(container_whose_bundle_returns_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_delete_is_reported_and_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(shim_no_bundle_names_is_killed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
