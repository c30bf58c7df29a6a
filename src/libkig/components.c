#include "components.h"

#include "fileutil.h"
#include "log.h"

#include <string.h>

static const struct component_info table[_COMPONENT_MAX] = {
    [COMPONENT_ETCD] = {"etcd", "KIG_ETCD", false, "etcd-server"},
    [COMPONENT_KUBE_APISERVER] = {"kube-apiserver", "KIG_KUBE_APISERVER", true, NULL},
    [COMPONENT_KUBE_CONTROLLER_MANAGER] = {"kube-controller-manager", "KIG_KUBE_CONTROLLER_MANAGER", true, NULL},
    [COMPONENT_KUBE_SCHEDULER] = {"kube-scheduler", "KIG_KUBE_SCHEDULER", true, NULL},
    [COMPONENT_KUBELET] = {"kubelet", "KIG_KUBELET", true, NULL},
    [COMPONENT_KUBE_PROXY] = {"kube-proxy", "KIG_KUBE_PROXY", true, NULL},
    [COMPONENT_KUBECTL] = {"kubectl", "KIG_KUBECTL", false, "kubernetes-client"},
    [COMPONENT_CONTAINERD] = {"containerd", "KIG_CONTAINERD", false, "containerd"},
    [COMPONENT_CONTAINERD_SHIM_RUNC_V2] = {"containerd-shim-runc-v2", "KIG_CONTAINERD_SHIM", false, "containerd"},
    [COMPONENT_RUNC] = {"runc", "KIG_RUNC", false, "runc"},
    [COMPONENT_CRUN] = {"crun", "KIG_CRUN", false, "crun"},
    [COMPONENT_RUNSC] = {"runsc", "KIG_RUNSC", false, "runsc"},
    [COMPONENT_IPTABLES] = {"iptables", "KIG_IPTABLES", false, "iptables"},
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
    if (info->kubernetes)
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
            log_error("%s not found: %s=%s is not an executable file; fix or unset it", info->name, info->env, o);
        else
            log_error("%s not found: %s", info ? info->name : "?", component_fix_hint(c));
        return -ENOENT;
    }
    *ret_path = p;
    return 0;
}
