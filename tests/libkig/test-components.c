/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "components.h"
#include "fileutil.h"
#include "log.h"
#include "macro.h"

#include <string.h>

static void test_env_override_wins(void **state)
{
    setenv("KIG_ETCD", "/bin/sh", 1);
    _cleanup_free_ char *p = component_path(COMPONENT_ETCD);
    assert_string_equal(p, "/bin/sh");
    setenv("KIG_ETCD", "/nonexistent/etcd", 1);
    assert_null(component_path(COMPONENT_ETCD));
    char *q = NULL;
    assert_int_equal(component_require(COMPONENT_ETCD, &q), -ENOENT);
    unsetenv("KIG_ETCD");
}

static void test_kubernetes_bindir(void **state)
{
    char dir[] = "/tmp/kig-comp-XXXXXX";
    assert_non_null(mkdtemp(dir));
    _cleanup_free_ char *bin = path_join(dir, "kubelet");
    assert_int_equal(write_file_atomic(bin, "#!/bin/sh\n", 10, 0755), 0);
    setenv("KIG_K8S_BIN_DIR", dir, 1);
    unsetenv("KIG_KUBELET");
    _cleanup_free_ char *p = component_path(COMPONENT_KUBELET);
    assert_string_equal(p, bin);
    /* The fix hint names the build script and the directory. */
    const char *hint = component_fix_hint(COMPONENT_KUBE_APISERVER);
    assert_non_null(strstr(hint, "build-kubernetes.sh"));
    assert_non_null(strstr(hint, dir));
    unsetenv("KIG_K8S_BIN_DIR");
    rm_rf(dir);
}

static void test_every_component_has_info(void **state)
{
    for (int c = 0; c < _COMPONENT_MAX; c++) {
        const struct component_info *i = component_info((enum component)c);
        assert_non_null(i);
        assert_non_null(i->name);
        assert_non_null(i->env);
        assert_true(i->kubernetes || i->package || i->kig_own);
    }
    assert_null(component_info(_COMPONENT_MAX));
}

int main(void)
{
    log_set_level(LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_override_wins),
        cmocka_unit_test(test_kubernetes_bindir),
        cmocka_unit_test(test_every_component_has_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
