/* The config.json rewriter: one function per rule, each tied to one feature of the sandbox. */
#include "spec-rewrite.h"

#include "macro.h"

#include <stdarg.h>
#include <string.h>

struct rewriter {
    const struct runtime_features *f;
    enum oci_runtime_kind runtime;
    json_t *config;
    struct spec_rewrite *out;
    bool removed_ns[8]; /* indexed by ns_index() */
};

static const char *const namespace_types[] = {"mount", "network", "pid",    "ipc",
                                              "uts",   "user",    "cgroup", "time"};

static int ns_index(const char *type)
{
    for (size_t i = 0; i < ARRAY_SIZE(namespace_types); i++)
        if (strcmp(type, namespace_types[i]) == 0)
            return (int)i;
    return -1;
}

static bool ns_removed(const struct rewriter *w, const char *type)
{
    int i = ns_index(type);
    return i >= 0 && w->removed_ns[i];
}

static _printf_(2, 3) int refuse(struct rewriter *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->out->error, sizeof(w->out->error), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* A line cut short must not end inside a UTF-8 sequence: jansson refuses invalid UTF-8. */
static void utf8_trim(char *s, size_t len)
{
    size_t i = len;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (len - (i - 1) < need)
        s[i - 1] = '\0';
}

static _printf_(2, 3) int note(struct rewriter *w, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(line))
        utf8_trim(line, strlen(line));
    return json_array_append_new(w->out->rewrites, json_string(line)) < 0 ? -ENOMEM : 0;
}

/* The member key of obj when it is present and not null; NULL otherwise. A present member of another type
 * than expected refuses the config. */
static int member(struct rewriter *w, json_t *obj, const char *key, const char *where, json_type type,
                  json_t **ret)
{
    *ret = NULL;
    if (!obj)
        return 0;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_typeof(v) != type && !(type == JSON_TRUE && json_is_boolean(v)) &&
        !(type == JSON_REAL && json_is_number(v)))
        return refuse(w, "config.json: %s%s%s has the wrong type", where, *where ? "." : "", key);
    *ret = v;
    return 0;
}

#define OBJ(w, parent, key, where, ret)  member(w, parent, key, where, JSON_OBJECT, ret)
#define ARR(w, parent, key, where, ret)  member(w, parent, key, where, JSON_ARRAY, ret)
#define STR(w, parent, key, where, ret)  member(w, parent, key, where, JSON_STRING, ret)
#define INT(w, parent, key, where, ret)  member(w, parent, key, where, JSON_INTEGER, ret)
#define BOOL(w, parent, key, where, ret) member(w, parent, key, where, JSON_TRUE, ret)

/* ---- namespaces ---- */

static const char *namespace_drop_reason(const struct rewriter *w, const char *type, const char *path,
                                         char *buf, size_t size)
{
    bool mount = strcmp(type, "mount") == 0;
    if (mount && !w->f->mount_namespace)
        return "mount namespaces do not isolate here: mounts are made in the sandbox's namespace and the "
               "runtime chroots into the rootfs";
    if (w->f->setns)
        return NULL;
    if (path)
        snprintf(buf, size,
                 "cannot join the %s namespace at %s: setns is not available here; the container "
                 "shares the sandbox's",
                 type, path);
    else
        snprintf(buf, size,
                 "setns is not available here, so kig-runtime exec could not enter a new %s "
                 "namespace; the container shares the sandbox's",
                 type);
    return buf;
}

/* The source of the mount at /etc/hostname ("" when there is none): the CRI's copy of the pod's hostname. */
static void find_hostname_file(struct rewriter *w)
{
    json_t *mounts = json_object_get(w->config, "mounts");
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m)
    {
        const char *dest = json_string_value(json_object_get(m, "destination"));
        const char *source = json_string_value(json_object_get(m, "source"));
        if (dest && source && strcmp(dest, "/etc/hostname") == 0 && source[0] == '/' &&
            strlen(source) < sizeof(w->out->hostname_file)) {
            snprintf(w->out->hostname_file, sizeof(w->out->hostname_file), "%s", source);
            return;
        }
    }
}

/* Without setns a container cannot join its pod's UTS namespace; but a UTS namespace holds nothing but two
 * names, so a new one per container with the pod's hostname is the same to everything in it, and
 * kig-runtime exec makes another the same way. Before, every container answered the sandbox's hostname,
 * which replicas of a Deployment then shared (leader election, client ids). */
static int give_own_uts(struct rewriter *w, json_t *n, const char *path)
{
    if (!path)
        return 0; /* a new one already (the pod's sandbox): the runtime sets its hostname */
    find_hostname_file(w);
    int r =
        w->out->hostname_file[0]
            ? note(w,
                   "uts namespace at %s replaced by a new one with the pod's hostname (from %s): setns is "
                   "not available here",
                   path, w->out->hostname_file)
            : note(w,
                   "uts namespace at %s replaced by a new one: setns is not available here (no "
                   "/etc/hostname mount: it keeps the sandbox's hostname)",
                   path);
    json_object_del(n, "path"); /* path points into it: only now */
    return r;
}

static int rewrite_namespaces(struct rewriter *w, json_t *linux_)
{
    json_t *ns;
    int r = ARR(w, linux_, "namespaces", "linux", &ns);
    if (r < 0 || !ns)
        return r;
    for (size_t i = 0; i < json_array_size(ns);) {
        json_t *n = json_array_get(ns, i);
        const char *type = json_string_value(json_object_get(n, "type"));
        if (!json_is_object(n) || !type)
            return refuse(w, "config.json: linux.namespaces[%zu] needs a \"type\" string", i);
        json_t *path_j;
        if ((r = STR(w, n, "path", "linux.namespaces[]", &path_j)) < 0)
            return r;
        if (strcmp(type, "uts") == 0 && !w->f->setns && w->f->uts_namespace) {
            if ((r = give_own_uts(w, n, json_string_value(path_j))) < 0)
                return r;
            i++;
            continue;
        }
        char buf[256];
        const char *why = namespace_drop_reason(w, type, json_string_value(path_j), buf, sizeof(buf));
        if (!why) {
            i++;
            continue;
        }
        if ((r = note(w, "%s namespace removed: %s", type, why)) < 0)
            return r;
        int k = ns_index(type);
        if (k >= 0)
            w->removed_ns[k] = true;
        json_array_remove(ns, i);
    }
    if (ns_removed(w, "mount") && w->runtime == OCI_RUNTIME_RUNC)
        w->out->forbid_no_pivot = true;
    return 0;
}

/* What only makes sense in a namespace of the container's own. */
static int rewrite_namespace_dependents(struct rewriter *w, json_t *linux_)
{
    int r;
    if (ns_removed(w, "uts")) {
        static const char *const keys[] = {"hostname", "domainname"};
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
            json_t *v;
            if ((r = STR(w, w->config, keys[i], "", &v)) < 0)
                return r;
            if (!v)
                continue;
            if ((r = note(w, "%s \"%s\" not set: the container has no UTS namespace of its own", keys[i],
                          json_string_value(v))) < 0)
                return r;
            json_object_del(w->config, keys[i]);
        }
    }
    if (ns_removed(w, "user")) {
        static const char *const keys[] = {"uidMappings", "gidMappings"};
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
            if (json_object_get(linux_, keys[i])) {
                if ((r = note(w, "linux.%s dropped: the container has no user namespace of its own",
                              keys[i])) < 0)
                    return r;
                json_object_del(linux_, keys[i]);
            }
    }
    json_t *sysctl;
    if ((r = OBJ(w, linux_, "sysctl", "linux", &sysctl)) < 0 || !sysctl)
        return r;
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(sysctl, tmp, key, value)
    {
        const char *ns = sysctl_namespace(key);
        if (!ns || !ns_removed(w, ns))
            continue;
        if ((r = note(w,
                      "sysctl %s not set: it would change the sandbox's %s namespace, which the container "
                      "shares",
                      key, ns)) < 0)
            return r;
        json_object_del(sysctl, key);
    }
    return 0;
}

const char *sysctl_namespace(const char *key)
{
    static const struct {
        const char *prefix;
        const char *ns;
    } table[] = {
        {"net.", "network"},          {"kernel.shm", "ipc"}, {"kernel.msg", "ipc"},
        {"kernel.sem", "ipc"},        {"fs.mqueue.", "ipc"}, {"kernel.hostname", "uts"},
        {"kernel.domainname", "uts"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(table); i++)
        if (strncmp(key, table[i].prefix, strlen(table[i].prefix)) == 0)
            return table[i].ns;
    return NULL;
}

/* ---- cgroup resources ---- */

struct resource_rule {
    const char *key;    /* member of linux.resources */
    const char *subkey; /* NULL: the whole member; else one member of it */
    enum cgroup_controller controller;
    enum cgroup_controller alternative; /* also enough when present (net_cls or net_prio) */
};

static const struct resource_rule resource_rules[] = {
    {"devices", NULL, CGROUP_DEVICES, CGROUP_DEVICES},
    {"memory", NULL, CGROUP_MEMORY, CGROUP_MEMORY},
    {"pids", NULL, CGROUP_PIDS, CGROUP_PIDS},
    {"blockIO", NULL, CGROUP_BLKIO, CGROUP_BLKIO},
    {"hugepageLimits", NULL, CGROUP_HUGETLB, CGROUP_HUGETLB},
    {"network", NULL, CGROUP_NET_CLS, CGROUP_NET_PRIO},
    {"rdma", NULL, CGROUP_RDMA, CGROUP_RDMA},
    {"unified", NULL, CGROUP_UNIFIED, CGROUP_UNIFIED},
    {"cpu", "shares", CGROUP_CPU, CGROUP_CPU},
    {"cpu", "quota", CGROUP_CPU, CGROUP_CPU},
    {"cpu", "period", CGROUP_CPU, CGROUP_CPU},
    {"cpu", "realtimeRuntime", CGROUP_CPU, CGROUP_CPU},
    {"cpu", "realtimePeriod", CGROUP_CPU, CGROUP_CPU},
    {"cpu", "cpus", CGROUP_CPUSET, CGROUP_CPUSET},
    {"cpu", "mems", CGROUP_CPUSET, CGROUP_CPUSET},
};

static int rewrite_resources(struct rewriter *w, json_t *linux_)
{
    json_t *res;
    int r = OBJ(w, linux_, "resources", "linux", &res);
    if (r < 0 || !res)
        return r;
    for (size_t i = 0; i < ARRAY_SIZE(resource_rules); i++) {
        const struct resource_rule *rule = &resource_rules[i];
        if (runtime_features_has_controller(w->f, rule->controller) ||
            runtime_features_has_controller(w->f, rule->alternative))
            continue;
        json_t *parent = res, *v = json_object_get(res, rule->key);
        const char *key = rule->key;
        if (rule->subkey) {
            if (!json_is_object(v))
                continue;
            parent = v;
            key = rule->subkey;
            v = json_object_get(v, key);
        }
        /* An empty list or a null asks for nothing: leave it. */
        if (!v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
            continue;
        if ((r = note(w, "linux.resources.%s%s%s dropped: no %s cgroup controller here%s", rule->key,
                      rule->subkey ? "." : "", rule->subkey ? rule->subkey : "",
                      cgroup_controller_name(rule->controller),
                      rule->controller == CGROUP_DEVICES ? " (device access is not restricted)" : "")) < 0)
            return r;
        json_object_del(parent, key);
    }
    return 0;
}

/* ---- process ---- */

static int rewrite_capabilities(struct rewriter *w, json_t *process)
{
    static const char *const sets[] = {"bounding", "effective", "inheritable", "permitted", "ambient"};
    json_t *caps;
    int r = OBJ(w, process, "capabilities", "process", &caps);
    if (r < 0 || !caps)
        return r;
    uint64_t dropped = 0;
    for (size_t s = 0; s < ARRAY_SIZE(sets); s++) {
        json_t *list;
        if ((r = ARR(w, caps, sets[s], "process.capabilities", &list)) < 0)
            return r;
        for (size_t i = 0; list && i < json_array_size(list);) {
            const char *name = json_string_value(json_array_get(list, i));
            if (!name)
                return refuse(w, "config.json: process.capabilities.%s holds a non-string", sets[s]);
            int cap = capability_from_name(name);
            /* Names this build does not know are left for the runtime to judge. */
            if (cap < 0 || (w->f->capabilities & (UINT64_C(1) << cap))) {
                i++;
                continue;
            }
            dropped |= UINT64_C(1) << cap;
            json_array_remove(list, i);
        }
    }
    json_t *ambient = json_object_get(caps, "ambient");
    if (!w->f->ambient_capabilities && json_array_size(ambient) > 0) {
        if ((r = note(w,
                      "process.capabilities.ambient (%zu) dropped: the sandbox has no ambient capabilities "
                      "(prctl PR_CAP_AMBIENT), so a non-root process keeps none across execve",
                      json_array_size(ambient))) < 0)
            return r;
        json_object_del(caps, "ambient");
    }
    for (int cap = 0; cap < N_CAPABILITIES; cap++)
        if ((dropped & (UINT64_C(1) << cap)) &&
            (r = note(w, "%s dropped from the container's capabilities: the sandbox does not have it%s",
                      capability_name(cap), cap == 13 ? " (runsc runs without --net-raw)" : "")) < 0)
            return r;
    return 0;
}

static int rewrite_oom_score_adj(struct rewriter *w, json_t *process)
{
    json_t *v;
    int r = INT(w, process, "oomScoreAdj", "process", &v);
    if (r < 0 || !v)
        return r;
    json_int_t adj = json_integer_value(v);
    if (w->runtime == OCI_RUNTIME_RUNC && !w->f->oom_score_adj_nul) {
        if ((r = note(w,
                      "process.oomScoreAdj (%lld) dropped: runc writes it with a trailing NUL, which this "
                      "kernel rejects",
                      (long long)adj)) < 0)
            return r;
        json_object_del(process, "oomScoreAdj");
    } else if (adj < w->f->oom_score_adj_min) {
        if ((r = note(w, "process.oomScoreAdj raised from %lld to %d: a lower value needs CAP_SYS_RESOURCE",
                      (long long)adj, w->f->oom_score_adj_min)) < 0)
            return r;
        json_object_set_new(process, "oomScoreAdj", json_integer(w->f->oom_score_adj_min));
    }
    return 0;
}

static int rewrite_rlimits(struct rewriter *w, json_t *process)
{
    json_t *list;
    int r = ARR(w, process, "rlimits", "process", &list);
    if (r < 0 || !list)
        return r;
    for (size_t i = 0; i < json_array_size(list);) {
        const char *type = json_string_value(json_object_get(json_array_get(list, i), "type"));
        if (!type)
            return refuse(w, "config.json: process.rlimits[%zu] needs a \"type\" string", i);
        int k = rlimit_type_from_name(type);
        if (k < 0 || (w->f->rlimits & (UINT32_C(1) << k))) {
            i++;
            continue;
        }
        if ((r = note(w, "%s not set: the sandbox refuses setrlimit for it", type)) < 0)
            return r;
        json_array_remove(list, i);
    }
    return 0;
}

static int drop_label(struct rewriter *w, json_t *obj, const char *key, const char *where, bool supported,
                      const char *lsm)
{
    json_t *v;
    int r = STR(w, obj, key, where, &v);
    if (r < 0 || !v || supported)
        return r;
    if ((r = note(w, "%s.%s \"%s\" not applied: %s is not enabled here", where, key, json_string_value(v),
                  lsm)) < 0)
        return r;
    json_object_del(obj, key);
    return 0;
}

static int rewrite_process(struct rewriter *w, json_t *process)
{
    int r;
    if ((r = rewrite_capabilities(w, process)) < 0 || (r = rewrite_oom_score_adj(w, process)) < 0 ||
        (r = rewrite_rlimits(w, process)) < 0 ||
        (r = drop_label(w, process, "apparmorProfile", "process", w->f->apparmor, "AppArmor")) < 0 ||
        (r = drop_label(w, process, "selinuxLabel", "process", w->f->selinux, "SELinux")) < 0)
        return r;
    return 0;
}

/* ---- mounts ---- */

static bool options_have(const json_t *options, const char *name)
{
    size_t i;
    const json_t *o;
    json_array_foreach(options, i, o)
    {
        if (json_is_string(o) && strcmp(json_string_value(o), name) == 0)
            return true;
    }
    return false;
}

/* A mount option's fate in this sandbox: kept, replaced by a weaker one, or dropped. */
struct option_rule {
    const char *name;
    unsigned needs;          /* enum mount_flag_bit the option asks for */
    const char *flag;        /* its name, for the log */
    const char *replacement; /* without MS_REC: the non-recursive form, itself subject to the rules */
};

static const struct option_rule option_rules[] = {
    {"rbind", MOUNT_FLAG_REC, "MS_REC", "bind"},
    {"rprivate", MOUNT_FLAG_REC, "MS_REC", "private"},
    {"rshared", MOUNT_FLAG_REC, "MS_REC", "shared"},
    {"rslave", MOUNT_FLAG_REC, "MS_REC", "slave"},
    {"runbindable", MOUNT_FLAG_REC, "MS_REC", "unbindable"},
    {"private", MOUNT_FLAG_PRIVATE, "MS_PRIVATE", NULL},
    {"shared", MOUNT_FLAG_SHARED, "MS_SHARED", NULL},
    {"slave", MOUNT_FLAG_SLAVE, "MS_SLAVE", NULL},
    {"unbindable", MOUNT_FLAG_UNBINDABLE, "MS_UNBINDABLE", NULL},
    {"strictatime", MOUNT_FLAG_STRICTATIME, "MS_STRICTATIME", NULL},
};

static const struct option_rule *option_rule(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(option_rules); i++)
        if (strcmp(option_rules[i].name, name) == 0)
            return &option_rules[i];
    return NULL;
}

/* Appends ", <text>" (no comma for the first) to a change description. */
static _printf_(3, 4) void appendf(char *buf, size_t size, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 2 >= size)
        return;
    if (n) {
        memcpy(buf + n, ", ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, size - n, fmt, ap);
    va_end(ap);
}

/* The options runc sets on a bind mount, and on cgroup v1 mounts (binds of each hierarchy), with a second
 * mount(MS_BIND | MS_REMOUNT | flags): every flag but MS_BIND, MS_REC and propagation (libcontainer's
 * mountToRootfs). crun passes them with the bind. */
static bool runc_remounts_for(const char *option)
{
    static const char *const names[] = {"nosuid", "nodev", "noexec", "noatime", "nodiratime", "relatime"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(option, names[i]) == 0)
            return true;
    return false;
}

/* Rewrites one mount's options in place; describes the changes in `changes`. */
static int rewrite_mount_options(struct rewriter *w, json_t *m, const char *type, char *changes, size_t size)
{
    json_t *options;
    int r = ARR(w, m, "options", "mounts[]", &options);
    if (r < 0 || !options)
        return r;
    bool bind = strcmp(type, "bind") == 0 || options_have(options, "bind") || options_have(options, "rbind");
    bool ro_needs_remount = bind || strcmp(type, "cgroup") == 0;
    for (size_t i = 0; i < json_array_size(options);) {
        const char *name = json_string_value(json_array_get(options, i));
        if (!name)
            return refuse(w, "config.json: a mount's options hold a non-string");
        if (strcmp(name, "ro") == 0 && ro_needs_remount && !w->f->bind_remount) {
            appendf(changes, size,
                    "ro dropped (a read-only bind needs MS_REMOUNT, which the sandbox rejects)");
            json_array_remove(options, i);
            continue;
        }
        if (ro_needs_remount && w->runtime == OCI_RUNTIME_RUNC && !w->f->bind_remount &&
            runc_remounts_for(name)) {
            appendf(changes, size,
                    "%s dropped (runc applies it to a bind with MS_REMOUNT, which the sandbox "
                    "rejects)",
                    name);
            json_array_remove(options, i);
            continue;
        }
        const struct option_rule *rule = option_rule(name);
        if (!rule || !(w->f->mount_flags_rejected & rule->needs)) {
            i++;
            continue;
        }
        const struct option_rule *weaker = rule->replacement ? option_rule(rule->replacement) : NULL;
        if (rule->replacement && !(weaker && (w->f->mount_flags_rejected & weaker->needs))) {
            appendf(changes, size, "%s -> %s (the sandbox rejects %s)", name, rule->replacement, rule->flag);
            json_array_set_new(options, i, json_string(rule->replacement));
            i++;
        } else if (weaker) {
            appendf(changes, size, "%s dropped (the sandbox rejects %s and %s)", name, rule->flag,
                    weaker->flag);
            json_array_remove(options, i);
        } else {
            appendf(changes, size, "%s dropped (the sandbox rejects %s)", name, rule->flag);
            json_array_remove(options, i);
        }
    }
    return 0;
}

static int rewrite_one_mount(struct rewriter *w, json_t *mounts, size_t i)
{
    json_t *m = json_array_get(mounts, i);
    const char *dest = json_string_value(json_object_get(m, "destination"));
    if (!json_is_object(m) || !dest)
        return refuse(w, "config.json: mounts[%zu] needs a \"destination\" string", i);
    json_t *type_j, *source_j;
    int r;
    if ((r = STR(w, m, "type", "mounts[]", &type_j)) < 0 ||
        (r = STR(w, m, "source", "mounts[]", &source_j)) < 0)
        return r;
    const char *type = type_j ? json_string_value(type_j) : "";

    if (strcmp(type, "devpts") == 0 && !w->f->devpts) {
        /* Noted before the replacement frees the old mount object, and dest with it. */
        if ((r = note(w,
                      "devpts at %s replaced by a bind of the sandbox's /dev/pts: a new devpts instance "
                      "cannot be mounted here",
                      dest)) < 0)
            return r;
        json_t *bind = json_pack("{s:s, s:s, s:s, s:[sss]}", "destination", dest, "type", "bind", "source",
                                 "/dev/pts", "options", "bind", "nosuid", "noexec");
        if (!bind || json_array_set_new(mounts, i, bind) < 0)
            return -ENOMEM;
        /* The bind's options go through the same rules as any bind's. */
        m = bind;
        dest = json_string_value(json_object_get(m, "destination"));
        type = "bind";
    }
    char changes[400] = "";
    if ((r = rewrite_mount_options(w, m, type, changes, sizeof(changes))) < 0)
        return r;
    if (changes[0])
        return note(w, "mount %s: %s", dest, changes);
    return 0;
}

static int add_device(json_t *devices, const char *path, const char *type, int major, int minor)
{
    size_t i;
    json_t *d;
    json_array_foreach(devices, i, d)
    {
        if (strcmp(json_string_value(json_object_get(d, "path")), path) == 0)
            return 0;
    }
    json_t *dev =
        json_pack("{s:s, s:s, s:i, s:i}", "path", path, "type", type, "major", major, "minor", minor);
    return !dev || json_array_append_new(devices, dev) < 0 ? -ENOMEM : 0;
}

/* The runtime cannot mount here (its mounts target /proc/self/fd/N), and with no mount namespace every
 * mount is the sandbox's anyway: kig-runtime makes them, then the runtime only chroots. */
static int move_mounts_to_kig(struct rewriter *w, json_t *mounts, json_t *linux_, json_t *root)
{
    json_t *plan =
        json_pack("{s:o, s:[], s:[], s:[], s:b}", "mounts", mounts ? json_incref(mounts) : json_array(),
                  "maskedPaths", "readonlyPaths", "devices", "rootReadonly", 0);
    if (!plan)
        return -ENOMEM;
    w->out->kig_mounts = plan;
    int r;
    if (mounts) {
        if ((r = note(w,
                      "the %zu mounts are made by kig-runtime before the runtime starts: mount(2) on "
                      "/proc/self/fd/N, as runc and crun do it, does not reach its target here",
                      json_array_size(mounts))) < 0)
            return r;
        json_object_set_new(w->config, "mounts", json_array());
    }
    static const char *const path_lists[] = {"maskedPaths", "readonlyPaths"};
    for (size_t k = 0; k < ARRAY_SIZE(path_lists); k++) {
        json_t *list;
        if ((r = ARR(w, linux_, path_lists[k], "linux", &list)) < 0)
            return r;
        if (!list)
            continue;
        json_object_set(plan, path_lists[k], list);
        json_object_del(linux_, path_lists[k]);
    }

    json_t *devices = json_object_get(plan, "devices");
    bool has_dev = false;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(plan, "mounts"), i, m)
    {
        const char *d = json_string_value(json_object_get(m, "destination"));
        if (d && strcmp(d, "/dev") == 0)
            has_dev = true;
    }
    /* The devices every runtime creates in a fresh /dev. */
    if (has_dev) {
        static const struct {
            const char *path;
            int major, minor;
        } needed[] = {{"/dev/null", 1, 3}, {"/dev/zero", 1, 5},   {"/dev/full", 1, 7},
                      {"/dev/tty", 5, 0},  {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}};
        for (size_t k = 0; k < ARRAY_SIZE(needed); k++)
            if ((r = add_device(devices, needed[k].path, "c", needed[k].major, needed[k].minor)) < 0)
                return r;
    }
    json_t *spec_devices;
    if ((r = ARR(w, linux_, "devices", "linux", &spec_devices)) < 0)
        return r;
    if (spec_devices) {
        json_t *d;
        json_array_foreach(spec_devices, i, d)
        {
            const char *path = json_string_value(json_object_get(d, "path"));
            const char *type = json_string_value(json_object_get(d, "type"));
            if (!path || !type)
                return refuse(w, "config.json: linux.devices[%zu] needs \"path\" and \"type\" strings", i);
            if ((r = add_device(devices, path, type, (int)json_integer_value(json_object_get(d, "major")),
                                (int)json_integer_value(json_object_get(d, "minor")))) < 0)
                return r;
        }
        json_object_del(linux_, "devices");
    }
    json_t *ro;
    if ((r = BOOL(w, root, "readonly", "root", &ro)) < 0)
        return r;
    if (ro && json_is_true(ro)) {
        json_object_set_new(plan, "rootReadonly", json_true());
        json_object_set_new(root, "readonly", json_false());
    }
    return 0;
}

/* Removes linux.<key> from the config, noting why it is not applied (nothing to note for an empty list). */
static int drop_path_list(struct rewriter *w, json_t *linux_, const char *key, const char *why)
{
    json_t *list;
    int r = ARR(w, linux_, key, "linux", &list);
    if (r < 0 || !list || json_array_size(list) == 0)
        return r;
    if ((r = note(w, "linux.%s (%zu) not applied: %s", key, json_array_size(list), why)) < 0)
        return r;
    json_object_del(linux_, key);
    return 0;
}

/* runc's config validator refuses masked and read-only paths without a mount namespace ("unable to restrict
 * sys entries without a private MNT namespace"). Where the runtime makes the mounts itself (mounts on
 * /proc/self/fd/N reach their target, e.g. under kig-trace's mount rule), kig-runtime cannot mask paths of a
 * /proc the runtime mounts after it: for runc they are dropped (crun applies them). */
static int drop_masks_for_runc(struct rewriter *w, json_t *linux_)
{
    static const char *const why = "runc refuses them without a mount namespace of the container's own";
    int r = drop_path_list(w, linux_, "maskedPaths", why);
    return r < 0 ? r : drop_path_list(w, linux_, "readonlyPaths", why);
}

static bool has_own_mount_ns(const json_t *linux_)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(linux_, "namespaces"), i, n)
    {
        const char *t = json_string_value(json_object_get(n, "type"));
        if (t && strcmp(t, "mount") == 0)
            return true;
    }
    return false;
}

bool spec_is_pod_sandbox(const json_t *config)
{
    const char *type =
        json_string_value(json_object_get(json_object_get(config, "annotations"), CRI_CONTAINER_TYPE));
    return type && strcmp(type, "sandbox") == 0;
}

/* The pod's sandbox container runs only the pause process, which opens nothing, and nothing ever enters it
 * (the CRI has no exec into it; the app containers get /dev/shm from containerd's own copy, not from its
 * rootfs). Without a mount namespace its mounts are the node's: each was a stopped mount(2) in the
 * runtime's create, on every pod's path to Running, and a line more in every mount table read on the node.
 * So it keeps only /dev, where the runtime makes the device nodes it always makes (crun fails without), and
 * /proc, which runc's init reads after the chroot (/proc/self/fd: "error closing exec fds" without). */
static int trim_sandbox_mounts(struct rewriter *w, json_t *linux_, json_t **mounts)
{
    /* Only where the sandbox has no mount namespaces: a config without one on a full host is its author's
     * choice, and a host's config must come back unchanged. */
    if (!*mounts || !spec_is_pod_sandbox(w->config) || has_own_mount_ns(linux_) || w->f->mount_namespace)
        return 0;
    _cleanup_(json_decrefp) json_t *kept = json_array();
    if (!kept)
        return -ENOMEM;
    size_t i;
    json_t *m;
    json_array_foreach(*mounts, i, m)
    {
        const char *dest = json_string_value(json_object_get(m, "destination"));
        if (dest && (strcmp(dest, "/dev") == 0 || strcmp(dest, "/proc") == 0) &&
            json_array_append(kept, m) < 0)
            return -ENOMEM;
    }
    size_t dropped = json_array_size(*mounts) - json_array_size(kept);
    if (dropped == 0)
        return 0;
    int r = note(w,
                 "pod sandbox container: %zu of its %zu mounts, and its masked and read-only paths, left out "
                 "(the pause process uses none, nothing enters it, and without a mount namespace they would "
                 "be the node's); /dev and /proc stay",
                 dropped, json_array_size(*mounts));
    if (r < 0)
        return r;
    if (json_object_set(w->config, "mounts", kept) < 0)
        return -ENOMEM;
    json_object_del(linux_, "maskedPaths");
    json_object_del(linux_, "readonlyPaths");
    *mounts = kept;
    return 0;
}

static int rewrite_mounts(struct rewriter *w, json_t *linux_)
{
    json_t *mounts, *root;
    int r;
    if ((r = ARR(w, w->config, "mounts", "", &mounts)) < 0 ||
        (r = OBJ(w, w->config, "root", "", &root)) < 0 || (r = trim_sandbox_mounts(w, linux_, &mounts)) < 0)
        return r;
    for (size_t i = 0; mounts && i < json_array_size(mounts); i++)
        if ((r = rewrite_one_mount(w, mounts, i)) < 0)
            return r;

    json_t *ro_paths;
    if ((r = ARR(w, linux_, "readonlyPaths", "linux", &ro_paths)) < 0)
        return r;
    if (ro_paths && !w->f->bind_remount &&
        (r = drop_path_list(w, linux_, "readonlyPaths",
                            "read-only bind mounts need MS_REMOUNT, which the sandbox rejects")) < 0)
        return r;
    json_t *ro;
    if ((r = BOOL(w, root, "readonly", "root", &ro)) < 0)
        return r;
    if (ro && json_is_true(ro) && !w->f->bind_remount) {
        if ((r = note(w, "root filesystem left read-write: a read-only bind needs MS_REMOUNT, which the "
                         "sandbox rejects")) < 0)
            return r;
        json_object_set_new(root, "readonly", json_false());
    }

    /* Without a mount namespace of its own the container's mounts are the sandbox's. runc keeps its own:
     * its init first binds the rootfs onto itself (MS_BIND|MS_REC), and where MS_REC is refused that bind
     * hides every mount made below the rootfs before it (runc's init then failed on /proc/self/fd). runc's
     * mounts through /proc/self/fd/N then need kig-trace's mount rule, as runc's MS_REC does. */
    bool own_mount_ns = has_own_mount_ns(linux_);
    if (!own_mount_ns && !w->f->mount_via_proc_fd && w->runtime != OCI_RUNTIME_RUNC)
        return move_mounts_to_kig(w, mounts, linux_, root);
    if (!own_mount_ns && w->runtime == OCI_RUNTIME_RUNC)
        return drop_masks_for_runc(w, linux_);
    return 0;
}

/* ---- runtime-specific ---- */

static int rewrite_for_runtime(struct rewriter *w)
{
    int r;
    if (w->runtime == OCI_RUNTIME_CRUN && !w->f->proc_self_setgroups) {
        json_t *ann;
        if ((r = OBJ(w, w->config, "annotations", "", &ann)) < 0)
            return r;
        if (!ann || !json_object_get(ann, "run.oci.keep_original_groups")) {
            if (!ann) {
                ann = json_object();
                if (!ann || json_object_set_new(w->config, "annotations", ann) < 0)
                    return -ENOMEM;
            }
            if (json_object_set_new(ann, "run.oci.keep_original_groups", json_string("0")) < 0)
                return -ENOMEM;
            if ((r = note(w,
                          "annotation run.oci.keep_original_groups=0 added: crun reads /proc/self/setgroups, "
                          "which the sandbox lacks; with it, crun sets the groups without reading it")) < 0)
                return r;
        }
    }
    if (!w->f->session_keyring) {
        w->out->no_new_keyring = true;
        if ((r = note(w, "no session keyring for the container (--no-new-keyring): keyctl is refused here")) <
            0)
            return r;
    }
    return 0;
}

int spec_rewrite(const json_t *config, const struct runtime_features *f, enum oci_runtime_kind runtime,
                 struct spec_rewrite *ret)
{
    *ret = (struct spec_rewrite){0};
    struct rewriter w = {.f = f, .runtime = runtime, .out = ret};
    if (!json_is_object(config)) {
        snprintf(ret->error, sizeof(ret->error), "config.json: the document is not a JSON object");
        return -EINVAL;
    }
    w.config = json_deep_copy(config);
    ret->rewrites = json_array();
    if (!w.config || !ret->rewrites) {
        json_decref(w.config);
        spec_rewrite_done(ret);
        return -ENOMEM;
    }
    json_t *linux_, *process;
    int r;
    if ((r = OBJ(&w, w.config, "linux", "", &linux_)) < 0 ||
        (r = OBJ(&w, w.config, "process", "", &process)) < 0)
        goto fail;
    if ((r = rewrite_namespaces(&w, linux_)) < 0 || (r = rewrite_namespace_dependents(&w, linux_)) < 0 ||
        (r = rewrite_resources(&w, linux_)) < 0 || (r = rewrite_process(&w, process)) < 0 ||
        (r = drop_label(&w, linux_, "mountLabel", "linux", f->selinux, "SELinux")) < 0 ||
        (r = rewrite_mounts(&w, linux_)) < 0 || (r = rewrite_for_runtime(&w)) < 0)
        goto fail;
    ret->config = w.config;
    return 0;
fail:
    json_decref(w.config);
    char error[sizeof(ret->error)];
    memcpy(error, ret->error, sizeof(error));
    spec_rewrite_done(ret);
    memcpy(ret->error, error, sizeof(error));
    if (r == -EINVAL && !ret->error[0])
        snprintf(ret->error, sizeof(ret->error), "config.json: invalid");
    return r;
}

int spec_rewrite_process(json_t *process, const struct runtime_features *f, json_t *rewrites, char *error,
                         size_t error_size)
{
    struct spec_rewrite out = {.rewrites = rewrites};
    /* kig-runtime writes oom_score_adj itself, without runc's NUL: judge it as for crun. */
    struct rewriter w = {.f = f, .runtime = OCI_RUNTIME_CRUN, .out = &out};
    if (!json_is_object(process)) {
        snprintf(error, error_size, "the process is not a JSON object");
        return -EINVAL;
    }
    int r = rewrite_process(&w, process);
    if (r == -EINVAL)
        snprintf(error, error_size, "%s", out.error);
    return r;
}

void spec_rewrite_done(struct spec_rewrite *r)
{
    json_decref(r->config);
    json_decref(r->rewrites);
    json_decref(r->kig_mounts);
    r->config = r->rewrites = r->kig_mounts = NULL;
}
