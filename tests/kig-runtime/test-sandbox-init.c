/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "sandbox-init.h"

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
    bool ok = sandbox_init_eligible(c, NULL, why, size);
    free(p);
    json_decref(c);
    return ok;
}

static void test_the_rewritten_sandbox_is_eligible(void **state)
{
    (void)state;
    char why[256] = "";
    json_t *c = config();
    assert_true(sandbox_init_eligible(c, NULL, why, sizeof(why)));
    /* crun's plan: /dev and /proc moved to kig-runtime, which it now skips. */
    json_t *plan = json_loads("{\"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\"},"
                              " {\"destination\": \"/dev\", \"type\": \"tmpfs\"}],"
                              " \"devices\": [{\"path\": \"/dev/null\", \"type\": \"c\"}]}",
                              0, NULL);
    assert_true(sandbox_init_eligible(c, plan, why, sizeof(why)));
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

/* An app container is the runtime's whatever it holds; so is a sandbox whose init kig-runtime cannot run. */
static void test_app_containers_are_the_runtimes(void **state)
{
    (void)state;
    char why[256];
    json_t *c = config();
    json_object_set_new(json_object_get(c, "annotations"), "io.kubernetes.cri.container-type",
                        json_string("container"));
    assert_false(sandbox_init_eligible(c, NULL, why, sizeof(why)));
    assert_non_null(strstr(why, "not a pod's sandbox"));
    json_object_del(c, "annotations");
    assert_false(sandbox_init_eligible(c, NULL, why, sizeof(why)));
    json_decref(c);
    c = config();
    json_t *plan = json_loads("{\"mounts\": [{\"destination\": \"/dev/shm\"}]}", 0, NULL);
    assert_false(sandbox_init_eligible(c, plan, why, sizeof(why)));
    assert_non_null(strstr(why, "a mount at /dev/shm"));
    json_decref(plan);
    plan = json_loads("{\"mounts\": [], \"rootReadonly\": true}", 0, NULL);
    assert_false(sandbox_init_eligible(c, plan, why, sizeof(why)));
    json_decref(plan);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_rewritten_sandbox_is_eligible),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_app_containers_are_the_runtimes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
