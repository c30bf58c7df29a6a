/* Apply and teardown with plans of files and directories in a scratch directory (mounts are exercised in
 * real gVisor by tests/runsc/test-vkernel.sh): idempotence, exact undo, refusal to touch what kig did not
 * make, recovery after a crash, and state left by an earlier boot. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "plan.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static char tmpdir[64];
static char run_dir[128];
static char own[160]; /* <run-dir>/vkernel */

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/kig-vkernel-test-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(run_dir, sizeof(run_dir), "%s/run", tmpdir);
    snprintf(own, sizeof(own), "%s/vkernel", run_dir);
    log_set_level(LOG_LEVEL_ERROR);
    return 0;
}

static int teardown_dir(void **state)
{
    return rm_rf(tmpdir);
}

static char *p_(const char *base, const char *rel)
{
    char *s = path_join(base, rel);
    assert_non_null(s);
    return s;
}

/* <own>/d, <own>/d/f ("hello"), <own>/d/link -> f, <tmp>/outside (a directory outside the run dir). */
static struct vkernel_plan *file_plan(void)
{
    struct vkernel_plan *p = vkernel_plan_new();
    assert_non_null(p);
    _cleanup_free_ char *d = p_(own, "d"), *f = p_(own, "d/f"), *l = p_(own, "d/link");
    _cleanup_free_ char *outside = p_(tmpdir, "outside");
    assert_int_equal(plan_mkdir(p, own, 0755, "test"), 0);
    assert_int_equal(plan_mkdir(p, d, 0750, "test"), 0);
    assert_int_equal(plan_write_file(p, f, "hello\n", 0640, "test"), 0);
    assert_int_equal(plan_symlink(p, l, "f", "test"), 0);
    assert_int_equal(plan_mkdir(p, outside, 0700, "test"), 0);
    assert_int_equal(plan_trace(p, "statfs", NULL, "test"), 0);
    return p;
}

static char *read_all(const char *path)
{
    char *data = NULL;
    return read_file(path, &data, NULL, 0) == 0 ? data : NULL;
}

static void assert_applied(void)
{
    _cleanup_free_ char *f = p_(own, "d/f"), *l = p_(own, "d/link"), *outside = p_(tmpdir, "outside");
    _cleanup_free_ char *content = read_all(f);
    assert_non_null(content);
    assert_string_equal(content, "hello\n");
    struct stat st;
    assert_int_equal(stat(f, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    char target[64];
    ssize_t n = readlink(l, target, sizeof(target) - 1);
    assert_int_equal(n, 1);
    assert_true(is_dir(outside));
}

static void assert_nothing_left(void)
{
    _cleanup_free_ char *state = vkernel_state_path(run_dir), *outside = p_(tmpdir, "outside");
    assert_false(path_exists(own));
    assert_false(path_exists(outside));
    assert_false(path_exists(state));
}

static void test_apply_teardown(void **state)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *p = file_plan();
    assert_int_equal(vkernel_apply(p, run_dir), 0);
    assert_applied();

    _cleanup_vkernel_plan_ struct vkernel_plan *saved = NULL;
    assert_int_equal(vkernel_state_load(run_dir, &saved), 0);
    assert_int_equal(saved->n_actions, p->n_actions);
    for (size_t i = 0; i < saved->n_actions; i++) {
        assert_int_equal(saved->actions[i].status, VK_DONE);
        assert_false(saved->actions[i].existed);
        assert_int_not_equal(saved->actions[i].ino, 0);
    }
    assert_non_null(vkernel_plan_find_trace(saved, "statfs", NULL));

    assert_int_equal(vkernel_teardown(run_dir), 0);
    assert_nothing_left();
    assert_true(is_dir(run_dir)); /* the run dir itself belongs to kig up */
    assert_int_equal(vkernel_teardown(run_dir), 0);
}

static void test_apply_is_idempotent(void **state)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *p = file_plan();
    assert_int_equal(vkernel_apply(p, run_dir), 0);
    /* Someone writes to kig's file (as kubelet writes a sysctl): applying again must not undo that. */
    _cleanup_free_ char *f = p_(own, "d/f");
    FILE *w = fopen(f, "we"); /* truncates in place: the same inode, as a sysctl write */
    assert_non_null(w);
    fputs("kept", w);
    assert_int_equal(fclose(w), 0);
    assert_int_equal(vkernel_apply(p, run_dir), 0);
    assert_int_equal(vkernel_apply(NULL, run_dir), 0); /* "resume what is there" */
    _cleanup_free_ char *content = read_all(f);
    assert_string_equal(content, "kept"); /* unchanged by re-apply */

    /* A different plan over an applied one is refused, and changes nothing. */
    _cleanup_vkernel_plan_ struct vkernel_plan *other = file_plan();
    assert_int_equal(plan_mkdir(other, "/tmp/kig-vkernel-never", 0700, "test"), 0);
    assert_int_equal(vkernel_apply(other, run_dir), -EEXIST);
    assert_false(path_exists("/tmp/kig-vkernel-never"));
    assert_int_equal(vkernel_teardown(run_dir), 0);
    assert_nothing_left();
}

static void test_existing_paths_are_never_removed(void **state)
{
    /* The directory exists before: apply uses it, teardown leaves it (and what was in it). */
    assert_int_equal(mkdir_p(own, 0755), 0);
    _cleanup_free_ char *mine = p_(own, "users-file");
    assert_int_equal(write_file_atomic(mine, "x", 1, 0600), 0);
    _cleanup_vkernel_plan_ struct vkernel_plan *p = file_plan();
    assert_int_equal(vkernel_apply(p, run_dir), 0);
    assert_int_equal(vkernel_teardown(run_dir), 0);
    assert_true(path_exists(mine));
    _cleanup_free_ char *d = p_(own, "d");
    assert_false(path_exists(d));
    assert_int_equal(unlink(mine), 0);
    assert_int_equal(rmdir(own), 0);
}

static void test_foreign_file_fails_and_rolls_back(void **state)
{
    /* A file kig would create exists and is not kig's: apply fails and undoes what it had done. */
    _cleanup_free_ char *d = p_(own, "d"), *f = p_(own, "d/f"), *outside = p_(tmpdir, "outside");
    assert_int_equal(mkdir_p(d, 0755), 0);
    assert_int_equal(write_file_atomic(f, "theirs", 6, 0600), 0);
    _cleanup_vkernel_plan_ struct vkernel_plan *p = file_plan();
    assert_int_equal(vkernel_apply(p, run_dir), -EEXIST);
    _cleanup_free_ char *content = read_all(f);
    assert_string_equal(content, "theirs");
    assert_false(path_exists(outside));
    _cleanup_free_ char *statefile = vkernel_state_path(run_dir);
    assert_false(path_exists(statefile));
    assert_int_equal(unlink(f), 0);
    assert_int_equal(rmdir(d), 0);
    assert_int_equal(rmdir(own), 0);
}

static void test_teardown_spares_replaced_files(void **state)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *p = file_plan();
    assert_int_equal(vkernel_apply(p, run_dir), 0);
    /* What kig made is replaced by something else under the same name (as when kig's tmpfs over a
     * directory is gone and the real files show through): teardown must not remove it. */
    _cleanup_free_ char *f = p_(own, "d/f");
    assert_int_equal(write_file_atomic(f, "new", 3, 0600), 0); /* a new inode renamed over kig's */
    assert_int_not_equal(vkernel_teardown(run_dir), 0);        /* d cannot go: it holds the stranger */
    assert_true(path_exists(f));
    _cleanup_free_ char *l = p_(own, "d/link");
    assert_false(path_exists(l));
    _cleanup_free_ char *statefile = vkernel_state_path(run_dir);
    assert_true(path_exists(statefile)); /* kept: what could not be undone is still listed */
    assert_int_equal(unlink(f), 0);
    assert_int_equal(vkernel_teardown(run_dir), 0);
    assert_nothing_left();
}

static void test_resume_after_crash(void **state)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *p = file_plan();
    assert_int_equal(vkernel_apply(p, run_dir), 0);
    /* Make the state look like a crash during the symlink: recorded "started", the link not made; the
     * last directory not started. */
    _cleanup_vkernel_plan_ struct vkernel_plan *s = NULL;
    assert_int_equal(vkernel_state_load(run_dir, &s), 0);
    s->actions[3].status = VK_STARTED;
    s->actions[3].ino = 0;
    s->actions[4].status = VK_PENDING;
    assert_int_equal(vkernel_state_save(run_dir, s), 0);
    _cleanup_free_ char *l = p_(own, "d/link"), *outside = p_(tmpdir, "outside");
    assert_int_equal(unlink(l), 0);
    assert_int_equal(rmdir(outside), 0);

    assert_int_equal(vkernel_apply(NULL, run_dir), 0);
    assert_applied();
    assert_int_equal(vkernel_teardown(run_dir), 0);
    assert_nothing_left();
}

static void test_teardown_after_crash_mid_action(void **state)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *p = file_plan();
    assert_int_equal(vkernel_apply(p, run_dir), 0);
    /* Crash right after making the file, before recording it: started, no inode. Teardown takes the
     * fresh file as kig's. A pending action's path is not touched even if something is there. */
    _cleanup_vkernel_plan_ struct vkernel_plan *s = NULL;
    assert_int_equal(vkernel_state_load(run_dir, &s), 0);
    s->actions[2].status = VK_STARTED;
    s->actions[2].ino = 0;
    s->actions[3].status = VK_PENDING;
    s->actions[4].status = VK_PENDING;
    assert_int_equal(vkernel_state_save(run_dir, s), 0);
    _cleanup_free_ char *l = p_(own, "d/link"), *outside = p_(tmpdir, "outside");
    assert_int_equal(unlink(l), 0);
    assert_int_equal(vkernel_teardown(run_dir), 0);
    assert_false(path_exists(own));
    assert_true(is_dir(outside)); /* pending: never kig's to remove */
    assert_int_equal(rmdir(outside), 0);
}

static void test_state_from_an_earlier_boot(void **state)
{
    _cleanup_vkernel_plan_ struct vkernel_plan *p = file_plan();
    assert_int_equal(vkernel_apply(p, run_dir), 0);
    _cleanup_vkernel_plan_ struct vkernel_plan *s = NULL;
    assert_int_equal(vkernel_state_load(run_dir, &s), 0);
    assert_int_not_equal(s->boot_time, 0);
    s->boot_time = 1; /* 1970: another boot */
    assert_int_equal(vkernel_state_save(run_dir, s), 0);
    _cleanup_free_ char *outside = p_(tmpdir, "outside");

    /* Apply clears what the old state left in the run dir (and only there), then applies afresh. The
     * directory outside the run dir survives and is now taken as pre-existing. */
    assert_int_equal(vkernel_apply(p, run_dir), 0);
    assert_applied();
    _cleanup_vkernel_plan_ struct vkernel_plan *fresh = NULL;
    assert_int_equal(vkernel_state_load(run_dir, &fresh), 0);
    assert_int_not_equal(fresh->boot_time, 1);
    assert_true(fresh->actions[4].existed);
    assert_false(fresh->actions[1].existed);

    /* Teardown of a stale state clears the run dir only. */
    fresh->boot_time = 1;
    assert_int_equal(vkernel_state_save(run_dir, fresh), 0);
    assert_int_equal(vkernel_teardown(run_dir), 0);
    assert_false(path_exists(own));
    _cleanup_free_ char *statefile = vkernel_state_path(run_dir);
    assert_false(path_exists(statefile));
    assert_true(is_dir(outside));
    assert_int_equal(rmdir(outside), 0);
}

static void test_damaged_state_is_reported(void **state)
{
    assert_int_equal(mkdir_p(run_dir, 0755), 0);
    _cleanup_free_ char *statefile = vkernel_state_path(run_dir);
    assert_int_equal(write_file_atomic(statefile, "{\"schema\": 1, \"plan\": 7}", 24, 0644), 0);
    _cleanup_vkernel_plan_ struct vkernel_plan *p = file_plan();
    assert_int_equal(vkernel_apply(p, run_dir), -EBADMSG);
    assert_int_equal(vkernel_teardown(run_dir), -EBADMSG);
    assert_true(path_exists(statefile));
    assert_int_equal(unlink(statefile), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_apply_teardown, setup, teardown_dir),
        cmocka_unit_test_setup_teardown(test_apply_is_idempotent, setup, teardown_dir),
        cmocka_unit_test_setup_teardown(test_existing_paths_are_never_removed, setup, teardown_dir),
        cmocka_unit_test_setup_teardown(test_foreign_file_fails_and_rolls_back, setup, teardown_dir),
        cmocka_unit_test_setup_teardown(test_teardown_spares_replaced_files, setup, teardown_dir),
        cmocka_unit_test_setup_teardown(test_resume_after_crash, setup, teardown_dir),
        cmocka_unit_test_setup_teardown(test_teardown_after_crash_mid_action, setup, teardown_dir),
        cmocka_unit_test_setup_teardown(test_state_from_an_earlier_boot, setup, teardown_dir),
        cmocka_unit_test_setup_teardown(test_damaged_state_is_reported, setup, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
