/* containerd 1.6's config.toml (schema version 2). containerd's own defaults are kept wherever they work in
 * a sandbox; every line here is one a sandbox needs. */
#include "node-config.h"

#include "macro.h"

#include <stdio.h>
#include <string.h>

char *toml_quote(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n * 6 + 3), *p = out;
    if (!out)
        return NULL;
    *p++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"':
            p += sprintf(p, "\\\"");
            break;
        case '\\':
            p += sprintf(p, "\\\\");
            break;
        case '\n':
            p += sprintf(p, "\\n");
            break;
        case '\t':
            p += sprintf(p, "\\t");
            break;
        default:
            if (*c < 0x20 || *c == 0x7f)
                p += sprintf(p, "\\u%04x", *c);
            else
                *p++ = (char)*c;
        }
    }
    *p++ = '"';
    *p = '\0';
    return out;
}

#define CRI "plugins.\"io.containerd.grpc.v1.cri\""

int containerd_config_render(const struct containerd_options *o, char **ret)
{
    const char *required[] = {o->root,           o->state,         o->socket,      o->snapshotter,
                              o->runtime_binary, o->sandbox_image, o->cni_bin_dir, o->cni_conf_dir};
    for (size_t i = 0; i < ARRAY_SIZE(required); i++)
        if (!required[i])
            return -EINVAL;

    _cleanup_free_ char *root = toml_quote(o->root), *state = toml_quote(o->state),
                        *socket = toml_quote(o->socket), *snapshotter = toml_quote(o->snapshotter),
                        *binary = toml_quote(o->runtime_binary), *image = toml_quote(o->sandbox_image),
                        *bin_dir = toml_quote(o->cni_bin_dir), *conf_dir = toml_quote(o->cni_conf_dir),
                        *runtime_root = toml_quote(o->runtime_root ? o->runtime_root : "");
    if (!root || !state || !socket || !snapshotter || !binary || !image || !bin_dir || !conf_dir ||
        !runtime_root)
        return -ENOMEM;
    _cleanup_free_ char *registry = NULL;
    if (o->registry_config_dir) {
        _cleanup_free_ char *dir = toml_quote(o->registry_config_dir);
        if (!dir || asprintf(&registry, "\n[" CRI ".registry]\n  config_path = %s\n", dir) < 0)
            return -ENOMEM;
    }

    char *doc = NULL;
    int n = asprintf(
        &doc,
        "# Written by kig; kig rewrites it on every start.\n"
        "version = 2\n"
        "root = %s\n"
        "state = %s\n"
        /* Snapshotters that cannot work in a sandbox only add start-up errors to the log. The "opt" plugin
         * creates /opt/containerd/{bin,lib} on the user's machine (left behind by `kig down`) and prepends
         * them to PATH and LD_LIBRARY_PATH ("/opt/containerd/lib:", whose empty element is the current
         * directory) for every program containerd starts: each library of every CNI plugin, shim and runtime
         * was then looked for 16 times before ld.so.cache (measured in gVisor: 48 failed opens for
         * kig-runtime, over 100 for crun). */
        "disabled_plugins = [\"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\", "
        "\"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.aufs\", "
        "\"io.containerd.tracing.processor.v1.otlp\", \"io.containerd.internal.v1.tracing\", "
        "\"io.containerd.internal.v1.opt\"]\n"
        "\n[grpc]\n  address = %s\n"
        "\n[ttrpc]\n  address = \"\"\n"
        "\n[" CRI "]\n"
        "  sandbox_image = %s\n"
        /* containerd's CRI refuses to start on a 4.4 kernel (gVisor's uname) with these on. */
        "  enable_unprivileged_ports = false\n"
        "  enable_unprivileged_icmp = false\n"
        "  disable_apparmor = true\n"
        "  restrict_oom_score_adj = %s\n"
        "  disable_cgroup = %s\n"
        "  max_container_log_line_size = 16384\n"
        /* Pins of pods' network namespaces on the node's tmpfs: nothing outlives the node. */
        "  netns_mounts_under_state_dir = true\n"
        "\n[" CRI ".containerd]\n"
        "  snapshotter = %s\n"
        "  default_runtime_name = \"kig\"\n"
        "\n[" CRI ".containerd.runtimes.kig]\n"
        "  runtime_type = \"io.containerd.runc.v2\"\n"

        "\n[" CRI ".containerd.runtimes.kig.options]\n"
        "  BinaryName = %s\n"
        "  Root = %s\n"
        "  SystemdCgroup = false\n"
        "\n[" CRI ".cni]\n"
        "  bin_dir = %s\n"
        "  conf_dir = %s\n"
        "  max_conf_num = 1\n"
        "%s",
        root, state, socket, image, o->restrict_oom_score_adj ? "true" : "false",
        o->disable_cgroup ? "true" : "false", snapshotter, binary, runtime_root, bin_dir, conf_dir,
        registry ? registry : "");
    if (n < 0)
        return -ENOMEM;
    *ret = doc;
    return 0;
}
