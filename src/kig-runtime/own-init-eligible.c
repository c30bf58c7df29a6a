/* Which configs kig-runtime runs the init of itself (own-init.h): a pure function of the rewritten config,
 * kept apart from the create so that the fuzzer reaches it with the rewriter. */
#include "own-init.h"

#include "macro.h"
#include "spec-rewrite.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _printf_(3, 4) bool no(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    /* Names come from the config: keep the reason on one line. */
    for (char *c = why; *c; c++)
        if ((unsigned char)*c < ' ')
            *c = '?';
    return false;
}

static bool in_list(const char *key, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(key, *list) == 0)
            return true;
    return false;
}

/* Every member of obj is one of known; else why names the first that is not. */
static bool only_known(const json_t *obj, const char *where, const char *const *known, char *why, size_t size)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (!in_list(key, known))
            return no(why, size, "%s%s is set", where, key);
    }
    return true;
}

static bool empty(const json_t *v)
{
    return !v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
           (json_is_object(v) && json_object_size(v) == 0) || (json_is_string(v) && !*json_string_value(v));
}

static bool only_runtime_mounts(const json_t *mounts, char *why, size_t size)
{
    size_t i;
    const json_t *m;
    json_array_foreach(mounts, i, m)
    {
        const char *dest = json_string_value(json_object_get(m, "destination"));
        if (!dest || (strcmp(dest, "/dev") != 0 && strcmp(dest, "/proc") != 0))
            return no(why, size, "a mount at %s", dest ? dest : "(no destination)");
    }
    return true;
}

static bool namespaces_ok(const json_t *namespaces, char *why, size_t size)
{
    size_t i;
    const json_t *n;
    json_array_foreach(namespaces, i, n)
    {
        const char *type = json_string_value(json_object_get(n, "type"));
        if (!type || strcmp(type, "uts") != 0)
            return no(why, size, "a %s namespace", type ? type : "(untyped)");
        if (json_object_get(n, "path"))
            return no(why, size, "a uts namespace to join");
    }
    return true;
}

/* The resources written here (write_resources): CPU shares and quota, memory limit and reservation, pids. */
static bool resources_ok(const json_t *res, char *why, size_t size)
{
    static const char *const top[] = {"cpu", "memory", "pids", NULL};
    static const char *const cpu[] = {"shares", "quota", "period", NULL};
    static const char *const memory[] = {"limit", "reservation", NULL};
    static const char *const pids[] = {"limit", NULL};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)res, key, v)
    {
        if (empty(v))
            continue;
        if (!in_list(key, top) || !json_is_object(v))
            return no(why, size, "linux.resources.%s is set", key);
        const char *const *known = strcmp(key, "cpu") == 0 ? cpu : strcmp(key, "memory") == 0 ? memory : pids;
        const char *sub;
        const json_t *sv;
        json_object_foreach((json_t *)v, sub, sv)
        {
            if (json_is_null(sv))
                continue;
            if (!in_list(sub, known) || !json_is_integer(sv))
                return no(why, size, "linux.resources.%s.%s is set", key, sub);
        }
    }
    return true;
}

static bool cgroups_path_ok(const json_t *linux_, char *why, size_t size)
{
    const char *p = json_string_value(json_object_get(linux_, "cgroupsPath"));
    if (!p || p[0] != '/' || !p[1] || strstr(p, "/../") || strstr(p, "/./") ||
        strcmp(p + strlen(p) - 3, "/..") == 0)
        return no(why, size, "linux.cgroupsPath is not a cgroupfs path (%s)", p ? p : "none");
    return true;
}

/* A pod's sandbox: the pause process needs no mount; the rewrite kept only /dev and /proc, for the runtimes'
 * own sake, and kig-runtime mounts neither. */
static bool sandbox_mounts_ok(const json_t *config, const json_t *linux_, const json_t *kig_mounts, char *why,
                              size_t size)
{
    if (!empty(json_object_get(linux_, "maskedPaths")) || !empty(json_object_get(linux_, "readonlyPaths")))
        return no(why, size, "masked or read-only paths");
    if (!only_runtime_mounts(json_object_get(config, "mounts"), why, size) ||
        !only_runtime_mounts(json_object_get(kig_mounts, "mounts"), why, size))
        return false;
    if (kig_mounts && (!empty(json_object_get(kig_mounts, "maskedPaths")) ||
                       !empty(json_object_get(kig_mounts, "readonlyPaths")) ||
                       json_is_true(json_object_get(kig_mounts, "rootReadonly"))))
        return no(why, size, "masked or read-only paths");
    return true;
}

/* Any other container: kig-runtime makes every mount, masked path and device (the rewrite's plan), so the
 * config leaves the runtime none of them. */
static bool container_mounts_ok(const json_t *config, const json_t *linux_, const json_t *kig_mounts,
                                char *why, size_t size)
{
    if (!kig_mounts && !empty(json_object_get(config, "mounts")))
        return no(why, size, "mounts for the runtime to make");
    if (!empty(json_object_get(config, "mounts")))
        return no(why, size, "mounts left to the runtime");
    if (!empty(json_object_get(linux_, "maskedPaths")) || !empty(json_object_get(linux_, "readonlyPaths")))
        return no(why, size, "masked or read-only paths left to the runtime");
    if (!empty(json_object_get(linux_, "devices")))
        return no(why, size, "devices left to the runtime");
    return true;
}

bool own_init_eligible(const json_t *config, const json_t *kig_mounts, char *why, size_t size)
{
    static const char *const top[] = {"ociVersion", "process", "root",        "hostname", "mounts",
                                      "hooks",      "linux",   "annotations", NULL};
    static const char *const process[] = {
        "terminal", "consoleSize",     "user",        "args", "env", "cwd", "capabilities",
        "rlimits",  "noNewPrivileges", "oomScoreAdj", NULL};
    static const char *const linux_keys[] = {
        "resources",     "cgroupsPath", "namespaces", "seccomp",           "devices", "maskedPaths",
        "readonlyPaths", "sysctl",      "mountLabel", "rootfsPropagation", NULL};
    const json_t *p = json_object_get(config, "process"), *linux_ = json_object_get(config, "linux"),
                 *root = json_object_get(config, "root");
    if (!json_is_object(p) || !json_is_object(linux_) || !json_is_object(root))
        return no(why, size, "no process, linux or root object");
    if (!only_known(config, "", top, why, size) || !only_known(p, "process.", process, why, size) ||
        !only_known(linux_, "linux.", linux_keys, why, size))
        return false;
    if (json_is_true(json_object_get(p, "terminal")))
        return no(why, size, "a terminal");
    if (json_is_true(json_object_get(root, "readonly")))
        return no(why, size, "a read-only root");
    const json_t *hooks = json_object_get(config, "hooks");
    const char *kind;
    const json_t *list;
    json_object_foreach((json_t *)hooks, kind, list)
    {
        if (!empty(list))
            return no(why, size, "%s hooks", kind);
    }
    if (!empty(json_object_get(linux_, "sysctl")))
        return no(why, size, "sysctls");
    if (!(spec_is_pod_sandbox(config) ? sandbox_mounts_ok(config, linux_, kig_mounts, why, size)
                                      : container_mounts_ok(config, linux_, kig_mounts, why, size)))
        return false;
    if (json_object_get(config, "hostname") && !json_object_get(linux_, "namespaces"))
        return no(why, size, "a hostname without a uts namespace");
    return namespaces_ok(json_object_get(linux_, "namespaces"), why, size) &&
           resources_ok(json_object_get(linux_, "resources"), why, size) &&
           cgroups_path_ok(linux_, why, size);
}
