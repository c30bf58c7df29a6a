/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "own-init.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* A pod sandbox's config as kig-runtime's rewrite leaves it in gVisor 20221219 (captured from a node: crun,
 * no setns, no mount namespace; the seccomp profile shortened). */
static const char sandbox_config[] =
    "{\"ociVersion\": \"1.0.2-dev\","
    " \"process\": {\"user\": {\"uid\": 0, \"gid\": 0}, \"args\": [\"/pause\"],"
    "  \"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"], \"cwd\": \"/\","
    "  \"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"effective\": [\"CAP_KILL\"], \"permitted\": "
    "[\"CAP_KILL\"]},"
    "  \"noNewPrivileges\": true, \"oomScoreAdj\": -998},"
    " \"root\": {\"path\": \"/run/c/rootfs\", \"readonly\": false},"
    " \"hostname\": \"cap\", \"mounts\": [],"
    " \"annotations\": {\"io.kubernetes.cri.container-type\": \"sandbox\","
    "  \"io.kubernetes.cri.sandbox-id\": \"35a9\", \"run.oci.keep_original_groups\": \"0\"},"
    " \"linux\": {\"resources\": {\"cpu\": {\"shares\": 2}}, \"cgroupsPath\": \"/k8s.io/35a9\","
    "  \"namespaces\": [{\"type\": \"uts\"}],"
    "  \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86_64\"],"
    "   \"syscalls\": [{\"names\": [\"read\", \"pause\"], \"action\": \"SCMP_ACT_ALLOW\"}]}}}";

static json_t *config(void)
{
    json_error_t err;
    json_t *j = json_loads(sandbox_config, 0, &err);
    if (!j)
        fail_msg("test config: %s", err.text);
    return j;
}

/* Applies one change (a JSON path "a.b.c" set to the JSON value text; NULL value deletes) and returns
 * whether the result is eligible, with the reason in why. */
static bool eligible_with(const char *path, const char *value, char *why, size_t size)
{
    json_t *c = config(), *parent = c;
    char *p = strdup(path), *save = NULL, *key = strtok_r(p, ".", &save);
    for (char *next; (next = strtok_r(NULL, ".", &save)); key = next) {
        json_t *child = json_object_get(parent, key);
        if (!child) {
            child = json_object();
            json_object_set_new(parent, key, child);
        }
        parent = child;
    }
    if (value)
        json_object_set_new(parent, key, json_loads(value, JSON_DECODE_ANY, NULL));
    else
        json_object_del(parent, key);
    why[0] = '\0';
    bool ok = own_init_eligible(c, NULL, why, size);
    free(p);
    json_decref(c);
    return ok;
}

static void test_the_rewritten_sandbox_is_eligible(void **state)
{
    (void)state;
    char why[256] = "";
    json_t *c = config();
    assert_true(own_init_eligible(c, NULL, why, sizeof(why)));
    /* crun's plan: /dev and /proc moved to kig-runtime, which it now skips. */
    json_t *plan = json_loads("{\"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\"},"
                              " {\"destination\": \"/dev\", \"type\": \"tmpfs\"}],"
                              " \"devices\": [{\"path\": \"/dev/null\", \"type\": \"c\"}]}",
                              0, NULL);
    assert_true(own_init_eligible(c, plan, why, sizeof(why)));
    json_decref(plan);
    json_decref(c);
    /* runc's: the same two mounts kept in the config. */
    assert_true(eligible_with("mounts",
                              "[{\"destination\": \"/proc\", \"type\": \"proc\"},"
                              " {\"destination\": \"/dev\", \"type\": \"tmpfs\"}]",
                              why, sizeof(why)));
    /* Resources written here. */
    assert_true(
        eligible_with("linux.resources",
                      "{\"cpu\": {\"shares\": 2, \"quota\": 50000, \"period\": 100000},"
                      " \"memory\": {\"limit\": 1048576, \"reservation\": null}, \"pids\": {\"limit\": 0},"
                      " \"devices\": []}",
                      why, sizeof(why)));
    assert_true(eligible_with("hooks", "{\"prestart\": []}", why, sizeof(why)));
}

static void expect_refused(const char *path, const char *value, const char *reason)
{
    char why[256];
    if (eligible_with(path, value, why, sizeof(why)))
        fail_msg("%s = %s: eligible, expected refused for %s", path, value ? value : "(deleted)", reason);
    if (!strstr(why, reason))
        fail_msg("%s = %s: reason \"%s\" lacks \"%s\"", path, value ? value : "(deleted)", why, reason);
}

static void test_refusals(void **state)
{
    (void)state;
    expect_refused("linux.namespaces", "[{\"type\": \"uts\"}, {\"type\": \"pid\"}]", "a pid namespace");
    expect_refused("linux.namespaces", "[{\"type\": \"uts\", \"path\": \"/proc/1/ns/uts\"}]",
                   "a uts namespace to join");
    expect_refused("linux.namespaces", "[{\"type\": \"network\", \"path\": \"/run/netns/x\"}]",
                   "a network namespace");
    expect_refused("hooks", "{\"poststart\": [{\"path\": \"/bin/true\"}]}", "poststart hooks");
    expect_refused("process.terminal", "true", "a terminal");
    expect_refused("root.readonly", "true", "a read-only root");
    expect_refused("linux.sysctl", "{\"kernel.shm_rmid_forced\": \"1\"}", "sysctls");
    expect_refused("linux.maskedPaths", "[\"/proc/kcore\"]", "masked or read-only paths");
    expect_refused("mounts", "[{\"destination\": \"/etc/hosts\", \"type\": \"bind\"}]",
                   "a mount at /etc/hosts");
    expect_refused("linux.resources", "{\"cpu\": {\"cpus\": \"0-1\"}}", "linux.resources.cpu.cpus is set");
    expect_refused("linux.resources", "{\"blockIO\": {\"weight\": 10}}", "linux.resources.blockIO is set");
    expect_refused("linux.resources", "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}",
                   "linux.resources.devices is set");
    expect_refused("linux.cgroupsPath", "\"kubepods-besteffort.slice:cri-containerd:35a9\"",
                   "not a cgroupfs path");
    expect_refused("linux.cgroupsPath", "\"/k8s.io/../escape\"", "not a cgroupfs path");
    expect_refused("linux.cgroupsPath", NULL, "not a cgroupfs path");
    expect_refused("linux.personality", "{\"domain\": \"LINUX32\"}", "linux.personality is set");
    expect_refused("linux.uidMappings", "[]", "linux.uidMappings is set");
    expect_refused("process.apparmorProfile", "\"x\"", "process.apparmorProfile is set");
    expect_refused("process.ioPriority", "{}", "process.ioPriority is set");
    expect_refused("domainname", "\"x\"", "domainname is set");
}

/* What an app container's config looks like after the rewrite with crun: every mount in kig-runtime's plan.
 */
static json_t *app_config(void)
{
    json_t *c = config();
    json_object_set_new(json_object_get(c, "annotations"), "io.kubernetes.cri.container-type",
                        json_string("container"));
    return c;
}

static json_t *plan(const char *text)
{
    json_t *p = json_loads(text, 0, NULL);
    if (!p)
        fail_msg("test plan: %s", text);
    return p;
}

static const char app_plan[] = "{\"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\"},"
                               " {\"destination\": \"/etc/hosts\", \"type\": \"bind\"},"
                               " {\"destination\": \"/dev/shm\", \"type\": \"bind\"}],"
                               " \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"],"
                               " \"devices\": [{\"path\": \"/dev/null\", \"type\": \"c\"}],"
                               " \"rootReadonly\": true}";

/* An app container is kig-runtime's once kig-runtime makes its mounts; not while the runtime would. */
static void test_app_containers_with_kig_mounts(void **state)
{
    (void)state;
    char why[256];
    json_t *c = app_config(), *p = plan(app_plan);
    assert_true(own_init_eligible(c, p, why, sizeof(why)));
    json_object_del(c, "annotations"); /* not a CRI container: the same */
    assert_true(own_init_eligible(c, p, why, sizeof(why)));
    /* runc's case: no plan, the mounts are the runtime's. */
    json_object_set_new(c, "mounts", json_loads("[{\"destination\": \"/etc/hosts\"}]", 0, NULL));
    assert_false(own_init_eligible(c, NULL, why, sizeof(why)));
    assert_non_null(strstr(why, "mounts for the runtime to make"));
    assert_false(own_init_eligible(c, p, why, sizeof(why)));
    assert_non_null(strstr(why, "mounts left to the runtime"));
    json_object_set_new(c, "mounts", json_array());
    json_object_set_new(json_object_get(c, "linux"), "devices",
                        json_loads("[{\"path\": \"/dev/fuse\"}]", 0, NULL));
    assert_false(own_init_eligible(c, p, why, sizeof(why)));
    assert_non_null(strstr(why, "devices left to the runtime"));
    json_object_del(json_object_get(c, "linux"), "devices");
    json_object_set_new(json_object_get(c, "linux"), "maskedPaths", json_loads("[\"/proc/kcore\"]", 0, NULL));
    assert_false(own_init_eligible(c, p, why, sizeof(why)));
    assert_non_null(strstr(why, "masked or read-only paths left to the runtime"));
    json_decref(p);
    json_decref(c);
}

/* A sandbox keeps the stricter rule: the pause process gets no mount at all. */
static void test_sandbox_mounts_stay_refused(void **state)
{
    (void)state;
    char why[256];
    json_t *c = config(), *p = plan("{\"mounts\": [{\"destination\": \"/dev/shm\"}]}");
    assert_false(own_init_eligible(c, p, why, sizeof(why)));
    assert_non_null(strstr(why, "a mount at /dev/shm"));
    json_decref(p);
    p = plan("{\"mounts\": [], \"rootReadonly\": true}");
    assert_false(own_init_eligible(c, p, why, sizeof(why)));
    json_decref(p);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_rewritten_sandbox_is_eligible),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_app_containers_with_kig_mounts),
        cmocka_unit_test(test_sandbox_mounts_stay_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
