#include "components.h"

#include "fileutil.h"
#include "kig-config.h"
#include "log.h"
#include "macro.h"

#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

static const struct component_info table[_COMPONENT_MAX] = {
    [COMPONENT_ETCD] = {"etcd", "KIG_ETCD", false, "etcd-server", false},
    [COMPONENT_KUBE_APISERVER] = {"kube-apiserver", "KIG_KUBE_APISERVER", true, NULL, false},
    [COMPONENT_KUBE_CONTROLLER_MANAGER] = {"kube-controller-manager", "KIG_KUBE_CONTROLLER_MANAGER", true,
                                           NULL, false},
    [COMPONENT_KUBE_SCHEDULER] = {"kube-scheduler", "KIG_KUBE_SCHEDULER", true, NULL, false},
    [COMPONENT_KUBELET] = {"kubelet", "KIG_KUBELET", true, NULL, false},
    [COMPONENT_KUBE_PROXY] = {"kube-proxy", "KIG_KUBE_PROXY", true, NULL, false},
    [COMPONENT_KUBECTL] = {"kubectl", "KIG_KUBECTL", false, "kubernetes-client", false},
    [COMPONENT_CONTAINERD] = {"containerd", "KIG_CONTAINERD", false, "containerd", false},
    [COMPONENT_CONTAINERD_SHIM_RUNC_V2] = {"containerd-shim-runc-v2", "KIG_CONTAINERD_SHIM", false,
                                           "containerd", false},
    [COMPONENT_RUNC] = {"runc", "KIG_RUNC", false, "runc", false},
    [COMPONENT_CRUN] = {"crun", "KIG_CRUN", false, "crun", false},
    [COMPONENT_RUNSC] = {"runsc", "KIG_RUNSC", false, "runsc", false},
    [COMPONENT_IPTABLES] = {"iptables", "KIG_IPTABLES", false, "iptables", false},
    [COMPONENT_KIG_TRACE] = {"kig-trace", "KIG_TRACE", false, NULL, true},
    [COMPONENT_KIG_RUNTIME] = {"kig-runtime", "KIG_RUNTIME", false, NULL, true},
    [COMPONENT_KIG_CNI] = {"kig-cni", "KIG_CNI", false, NULL, true},
    [COMPONENT_KIG_CGROUPFS] = {"kig-cgroupfs", "KIG_CGROUPFS", false, NULL, true},
    [COMPONENT_KIG_PAUSE] = {"kig-pause", "KIG_PAUSE", false, NULL, true},
    [COMPONENT_KIG_PROXY] = {"kig-proxy", "KIG_PROXY", false, NULL, true},
    [COMPONENT_KIG_SWITCH] = {"kig-switch", "KIG_SWITCH", false, NULL, true},
    [COMPONENT_KIG_SHIM] = {"kig-shim", "KIG_SHIM", false, NULL, true},
    [COMPONENT_KIG_MOUNT] = {"kig-mount", "KIG_MOUNT", false, NULL, true},
    [COMPONENT_KIG_DU] = {"kig-du", "KIG_DU", false, NULL, true},
};

const struct component_info *component_info(enum component c)
{
    return (unsigned)c < _COMPONENT_MAX ? &table[c] : NULL;
}

static const char *kubernetes_bindir(void)
{
    const char *d = getenv("KIG_K8S_BIN_DIR");
    return d && *d ? d : KIG_DEFAULT_K8S_BINDIR;
}

static char *executable_or_free(char *p)
{
    if (p && access(p, X_OK) == 0)
        return p;
    free(p);
    return NULL;
}

/* Beside the running kig, in the build tree's layout or installed side by side, then libexec. */
static char *kig_own_path(const char *name)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        const char *dir = dirname(self);
        char *p = NULL;
        if (asprintf(&p, "%s/../%s/%s", dir, name, name) >= 0 && (p = executable_or_free(p)))
            return p;
        if ((p = executable_or_free(path_join(dir, name))))
            return p;
    }
    return executable_or_free(path_join(KIG_LIBEXECDIR, name));
}

char *component_path(enum component c)
{
    const struct component_info *info = component_info(c);
    if (!info)
        return NULL;
    const char *override = getenv(info->env);
    if (override && *override)
        return access(override, X_OK) == 0 ? strdup(override) : NULL;
    if (info->kubernetes) {
        char *p = path_join(kubernetes_bindir(), info->name);
        if (p && access(p, X_OK) == 0)
            return p;
        free(p);
    }
    if (info->kig_own) {
        char *p = kig_own_path(info->name);
        if (p)
            return p;
    }
    char *p = find_executable(info->name);
    if (p)
        return p;
    /* Root's PATH inside some sandboxes lacks the sbin directories, where Debian puts runc. */
    static const char *const extra[] = {"/usr/sbin", "/sbin", "/usr/local/sbin"};
    for (size_t i = 0; i < ARRAY_SIZE(extra); i++) {
        p = path_join(extra[i], info->name);
        if (p && access(p, X_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

const char *component_fix_hint(enum component c)
{
    static char buf[256];
    const struct component_info *info = component_info(c);
    if (!info)
        return "unknown component";
    if (info->kig_own)
        snprintf(buf, sizeof(buf), "build kig with all its programs ('ninja -C build') or set %s", info->env);
    else if (info->kubernetes)
        snprintf(buf, sizeof(buf), "run scripts/build-kubernetes.sh (builds into %s) or set %s",
                 kubernetes_bindir(), info->env);
    else
        snprintf(buf, sizeof(buf), "run 'apt-get install %s' or set %s", info->package, info->env);
    return buf;
}

int component_require(enum component c, char **ret_path)
{
    char *p = component_path(c);
    if (!p) {
        const struct component_info *info = component_info(c);
        const char *o = info ? getenv(info->env) : NULL;
        if (o && *o)
            log_error("%s not found: %s=%s is not an executable file; fix or unset it", info->name, info->env,
                      o);
        else
            log_error("%s not found: %s", info ? info->name : "?", component_fix_hint(c));
        return -ENOENT;
    }
    *ret_path = p;
    return 0;
}
