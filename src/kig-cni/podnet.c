#include "podnet.h"

#include "podns.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_DATA_ROOT "/var/lib/cni/networks"

static int optional_string(json_t *raw, const char *key, const char **ret, struct cni_error *err)
{
    json_t *v = json_object_get(raw, key);
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return cni_set_error(err, CNI_ERR_INVALID_CONFIG, "wrong type in network config",
                             "\"%s\" must be a non-empty string", key);
    *ret = json_string_value(v);
    return 0;
}

static int absolute_path(const char *key, const char *value, char *buf, size_t size, struct cni_error *err)
{
    if (value[0] != '/' || strlen(value) >= size)
        return cni_set_error(err, CNI_ERR_INVALID_CONFIG, "invalid path in network config",
                             "\"%s\": \"%s\" must be an absolute path", key, value);
    snprintf(buf, size, "%s", value);
    return 0;
}

int podnet_config_parse(const struct cni_config *c, struct podnet_config *ret, struct cni_error *err)
{
    struct podnet_config pc = {.pod_prefix_len = 0};
    const char *cidr = NULL, *data_dir = NULL, *switch_dir = PODNS_DEFAULT_DIR;
    json_t *raw = c->raw;
    int r = optional_string(raw, "podCIDR", &cidr, err);
    if (r == 0)
        r = optional_string(raw, "dataDir", &data_dir, err);
    if (r == 0)
        r = optional_string(raw, "switchDir", &switch_dir, err);
    if (r < 0)
        return r;
    if (!cidr)
        return cni_set_error(err, CNI_ERR_INVALID_CONFIG, "missing field in network config",
                             "\"podCIDR\" is required by the %s strategy", c->strategy);
    if (strlen(cidr) >= sizeof(pc.pod_cidr) || ipam_range_parse(cidr, &pc.range) < 0)
        return cni_set_error(err, CNI_ERR_INVALID_CONFIG, "invalid podCIDR",
                             "\"podCIDR\": \"%s\" is not an IPv4 CIDR between /8 and /30", cidr);
    snprintf(pc.pod_cidr, sizeof(pc.pod_cidr), "%s", cidr);

    json_t *prefix = json_object_get(raw, "podPrefixLength");
    if (prefix) {
        if (!json_is_integer(prefix) || json_integer_value(prefix) < 0 || json_integer_value(prefix) > 32)
            return cni_set_error(err, CNI_ERR_INVALID_CONFIG, "invalid podPrefixLength",
                                 "\"podPrefixLength\" must be an integer from 0 to 32");
        pc.pod_prefix_len = (unsigned)json_integer_value(prefix);
        if (pc.pod_prefix_len > pc.range.prefix_len)
            return cni_set_error(err, CNI_ERR_INVALID_CONFIG, "invalid podPrefixLength",
                                 "\"podPrefixLength\": %u does not cover the pod CIDR %s (at most /%u)",
                                 pc.pod_prefix_len, cidr, pc.range.prefix_len);
    }

    char default_dir[PATH_MAX];
    if (!data_dir) {
        if (strchr(c->name, '/') || strcmp(c->name, "..") == 0 || strcmp(c->name, ".") == 0)
            return cni_set_error(err, CNI_ERR_INVALID_CONFIG, "invalid network name",
                                 "\"name\": \"%s\" cannot name a directory; set \"dataDir\"", c->name);
        snprintf(default_dir, sizeof(default_dir), "%s/%s", DEFAULT_DATA_ROOT, c->name);
        data_dir = default_dir;
    }
    r = absolute_path("dataDir", data_dir, pc.data_dir, sizeof(pc.data_dir), err);
    if (r == 0)
        r = absolute_path("switchDir", switch_dir, pc.switch_dir, sizeof(pc.switch_dir), err);
    if (r < 0)
        return r;
    *ret = pc;
    return 0;
}

char *podnet_result(const struct cni_env *env, const struct cni_config *c, const struct podnet_config *pc,
                    uint32_t addr, unsigned prefix_len)
{
    char ip[16], gw[16], address[24];
    snprintf(address, sizeof(address), "%s/%u", ipam_format(addr, ip), prefix_len);
    return cni_result_document(c->cni_version, env->ifname, env->netns, address,
                               ipam_format(pc->range.gateway, gw));
}
