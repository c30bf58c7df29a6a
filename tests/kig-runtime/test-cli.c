/* The runc-compatible command line, runc's log format and the exec process. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "cli.h"
#include "container.h"
#include "exec-process.h"
#include "fileutil.h"
#include "log.h"
#include "macro.h"
#include "mountinfo.h"
#include "oci-log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct cli_option options[] = {
    {"bundle", 'b', true}, {"detach", 'd', false}, {"env", 'e', true}, {"no-pivot", 0, false}};

static void test_parse_forms(void **state)
{
    char *argv[] = {"create",    "--bundle",         "/b", "-detach", "-e", "A=1",
                    "--env=B=2", "--no-pivot=false", "id", "--x",     NULL};
    const char *v[4] = {NULL};
    const char **env = NULL;
    size_t n_env = 0;
    int first = cli_parse("create", options, 4, 10, argv, v, 2, &env, &n_env);
    assert_int_equal(first, 8);
    assert_string_equal(v[0], "/b");
    assert_true(cli_true(v[1]));
    assert_false(cli_true(v[3]));
    assert_int_equal(n_env, 2);
    assert_string_equal(env[0], "A=1");
    assert_string_equal(env[1], "B=2");
    free(env);

    char *argv2[] = {"create", "-b", "/c", "--", "-id-", NULL};
    const char *v2[4] = {NULL};
    assert_int_equal(cli_parse("create", options, 4, 5, argv2, v2, -1, NULL, NULL), 4);
    assert_string_equal(v2[0], "/c");
}

static void test_parse_errors(void **state)
{
    char *unknown[] = {"create", "--frobnicate", "id", NULL};
    const char *v[4] = {NULL};
    assert_int_equal(cli_parse("create", options, 4, 3, unknown, v, -1, NULL, NULL), -EINVAL);
    char *missing[] = {"create", "--bundle", NULL};
    assert_int_equal(cli_parse("create", options, 4, 2, missing, v, -1, NULL, NULL), -EINVAL);
}

static void test_container_ids(void **state)
{
    assert_true(container_id_valid("abc-DEF_1.2+3"));
    assert_false(container_id_valid(""));
    assert_false(container_id_valid("."));
    assert_false(container_id_valid(".."));
    assert_false(container_id_valid("a/b"));
    assert_false(container_id_valid("a b"));
    assert_false(container_id_valid(NULL));
}

static void test_log_line_is_runc_json(void **state)
{
    _cleanup_free_ char *line = oci_log_format_line(OCI_LOG_JSON, "error", "bad \"thing\"\n");
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "error");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "bad \"thing\"\n");
    const char *t = json_string_value(json_object_get(j, "time"));
    assert_non_null(t);
    assert_int_equal(strlen(t), strlen("2006-01-02T15:04:05.000000000Z")); /* RFC 3339, as Go parses it */
    assert_null(strchr(line, '\n'));
    json_decref(j);
    _cleanup_free_ char *text = oci_log_format_line(OCI_LOG_TEXT, "warning", "x");
    assert_non_null(strstr(text, "level=warning msg=\"x\""));
    enum oci_log_format f;
    assert_int_equal(oci_log_format_from_string("yaml", &f), -EINVAL);
}

/* kill, delete, state...: an error goes to the log file and, as runc's fatal() does, to stderr, where go-runc
 * picks it up for the shim ("container not running" makes a kill of an exited container harmless). */
static void test_log_errors_to_stderr(void **state)
{
    char dir[] = "/tmp/kig-test-log.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char log_path[64], err_path[64];
    snprintf(log_path, sizeof(log_path), "%s/log.json", dir);
    snprintf(err_path, sizeof(err_path), "%s/stderr", dir);
    int saved = dup(STDERR_FILENO), err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && err >= 0);
    assert_int_equal(dup2(err, STDERR_FILENO), STDERR_FILENO);
    oci_log_errors_to_stderr(true);
    assert_int_equal(oci_log_open(log_path, OCI_LOG_JSON), 0);
    log_info("an info line");
    log_error("container not running");
    oci_log_errors_to_stderr(false);
    log_error("not on stderr");
    log_set_stream(NULL);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(err);

    char buf[1024] = "";
    FILE *f = fopen(err_path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_string_equal(buf, "container not running\n");
    f = fopen(log_path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "\"level\":\"info\",\"msg\":\"an info line\""));
    assert_non_null(strstr(buf, "\"level\":\"error\",\"msg\":\"container not running\""));
    assert_non_null(strstr(buf, "\"msg\":\"not on stderr\""));
    unlink(log_path);
    unlink(err_path);
    rmdir(dir);
}

static void test_signal_names(void **state)
{
    assert_int_equal(signal_from_string("KILL"), SIGKILL);
    assert_int_equal(signal_from_string("SIGTERM"), SIGTERM);
    assert_int_equal(signal_from_string("9"), 9);
    assert_int_equal(signal_from_string("WINCH"), SIGWINCH);
    assert_int_equal(signal_from_string(""), -EINVAL);
    assert_int_equal(signal_from_string("SIGFOO"), -EINVAL);
    assert_int_equal(signal_from_string("9x"), -EINVAL);
    assert_int_equal(signal_from_string("0"), -EINVAL);
    assert_int_equal(signal_from_string("4096"), -EINVAL);
}

/* The cgroup helpers on a stand-in hierarchy (a directory listed as a cgroup mount): the pids in
 * cgroup.procs get the signal, zombies and views under a rootfs do not. */
static void test_cgroup_helpers(void **state)
{
    char dir[] = "/tmp/kig-test-cgroup.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[128], procs[160], pid_text[32];
    snprintf(sub, sizeof(sub), "%s/k8s.io/c1", dir);
    assert_int_equal(mkdir_p(sub, 0755), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", sub);
    snprintf(pid_text, sizeof(pid_text), "%d\n", (int)child);
    assert_int_equal(write_file_atomic(procs, pid_text, strlen(pid_text), 0644), 0);

    struct mount_entry e[2] = {
        {.root = "/", .mount_point = dir, .fstype = "cgroup", .source = "cgroup", .super_options = "rw,pids"},
        {.root = "/", .mount_point = dir, .fstype = "tmpfs", .source = "tmpfs", .super_options = "rw"},
    };
    struct mount_table t = {.entries = e, .n = 2};
    assert_int_equal(cgroup_signal(&t, "/k8s.io/c1", "/elsewhere", SIGKILL), 1);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* a view under the rootfs is not the container's hierarchy */
    assert_int_equal(cgroup_signal(&t, "/k8s.io/c1", "/tmp", SIGKILL), 0);
    assert_int_equal(cgroup_remove(&t, "/k8s.io/c1", NULL), 1); /* not empty: a stand-in keeps its file */
    assert_int_equal(unlink(procs), 0);
    assert_int_equal(cgroup_remove(&t, "/k8s.io/c1", NULL), 0);
    assert_false(path_exists(sub));
    assert_int_equal(rm_rf(dir), 0);
}

static void test_exec_process(void **state)
{
    json_t *p =
        json_loads("{\"args\":[\"sh\",\"-c\",\"x\"],\"env\":[\"PATH=/a\",\"PATH=/b\"],\"cwd\":\"/w\","
                   "\"user\":{\"uid\":1000,\"gid\":100,\"additionalGids\":[1,2],\"umask\":18},"
                   "\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"ambient\":[]},"
                   "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":10,\"soft\":5}],"
                   "\"terminal\":true,\"consoleSize\":{\"height\":24,\"width\":80},\"oomScoreAdj\":5}",
                   0, NULL);
    struct exec_process e;
    char error[128];
    assert_int_equal(exec_process_parse(p, &e, error, sizeof(error)), 0);
    assert_string_equal(e.args[2], "x");
    assert_null(e.args[3]);
    assert_string_equal(exec_process_getenv(&e, "PATH"), "/b");
    assert_null(exec_process_getenv(&e, "PAT"));
    assert_string_equal(e.cwd, "/w");
    assert_int_equal(e.uid, 1000);
    assert_int_equal(e.n_additional_gids, 2);
    assert_true(e.has_umask);
    assert_int_equal(e.umask, 022);
    assert_int_equal(e.capabilities[CAP_SET_BOUNDING], UINT64_C(1) << 5);
    assert_int_equal(e.n_rlimits, 1);
    assert_int_equal(e.rlimits[0].limit.rlim_cur, 5);
    assert_true(e.terminal);
    assert_int_equal(e.console_cols, 80);
    assert_int_equal(e.oom_score_adj, 5);
    exec_process_done(&e);
    json_decref(p);

    static const struct {
        const char *json;
        const char *error;
    } bad[] = {
        {"{\"args\":[]}", "process.args is empty"},
        {"{}", "process.args is empty"},
        {"{\"args\":[1]}", "process.args[0] is not a string"},
        {"{\"args\":[\"a\"],\"cwd\":\"rel\"}", "absolute"},
        {"{\"args\":[\"a\"],\"user\":{\"uid\":-1}}", "process.user.uid"},
        {"{\"args\":[\"a\"],\"capabilities\":{\"effective\":[\"CAP_NOPE\"]}}", "unknown capability CAP_NOPE"},
        {"{\"args\":[\"a\"],\"rlimits\":[{\"type\":\"RLIMIT_X\"}]}", "unknown type"},
        {"{\"args\":[\"a\"],\"oomScoreAdj\":2000}", "oomScoreAdj"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *b = json_loads(bad[i].json, 0, NULL);
        assert_int_equal(exec_process_parse(b, &e, error, sizeof(error)), -EINVAL);
        if (!strstr(error, bad[i].error))
            fail_msg("case %zu: '%s' lacks '%s'", i, error, bad[i].error);
        assert_null(e.args);
        json_decref(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_forms),   cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_container_ids), cmocka_unit_test(test_log_line_is_runc_json),
        cmocka_unit_test(test_exec_process),  cmocka_unit_test(test_log_errors_to_stderr),
        cmocka_unit_test(test_signal_names),  cmocka_unit_test(test_cgroup_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
