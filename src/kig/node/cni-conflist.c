/* The CNI network list kig writes into containerd's conf dir: kig-cni alone (no chained plugins: the
 * stock loopback, portmap and bandwidth plugins need setns or iptables targets a sandbox may not have). */
#include "node-config.h"

#include <errno.h>
#include <jansson.h>

int cni_conflist_render(const struct cni_options *o, char **ret)
{
    if (!o->network_name || !o->plugin_type || !o->strategy || !o->node_ip)
        return -EINVAL;
    json_t *plugin =
        json_pack("{s:s, s:s, s:s}", "type", o->plugin_type, "strategy", o->strategy, "nodeIP", o->node_ip);
    if (!plugin)
        return -ENOMEM;
    if (o->pod_cidr)
        json_object_set_new(plugin, "podCIDR", json_string(o->pod_cidr));
    if (o->data_dir)
        json_object_set_new(plugin, "dataDir", json_string(o->data_dir));
    if (o->switch_dir)
        json_object_set_new(plugin, "switchDir", json_string(o->switch_dir));
    json_t *doc =
        json_pack("{s:s, s:s, s:[o]}", "cniVersion", "1.0.0", "name", o->network_name, "plugins", plugin);
    if (!doc)
        return -ENOMEM;
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}
