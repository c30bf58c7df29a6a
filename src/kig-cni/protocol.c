#include "cni.h"

#include "macro.h"

#include <stdarg.h>
#include <string.h>

const char *const cni_supported_versions[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", NULL};

bool cni_version_supported(const char *version)
{
    for (size_t i = 0; cni_supported_versions[i]; i++)
        if (strcmp(version, cni_supported_versions[i]) == 0)
            return true;
    return false;
}

int cni_set_error(struct cni_error *err, int code, const char *msg, const char *details_fmt, ...)
{
    err->code = code;
    snprintf(err->msg, sizeof(err->msg), "%s", msg);
    va_list ap;
    va_start(ap, details_fmt);
    vsnprintf(err->details, sizeof(err->details), details_fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int cni_env_parse(const char *(*getenv_fn)(const char *), struct cni_env *ret, struct cni_error *err)
{
    static const struct {
        const char *name;
        enum cni_command command;
    } commands[] = {{"ADD", CNI_ADD}, {"DEL", CNI_DEL}, {"CHECK", CNI_CHECK}, {"VERSION", CNI_VERSION}};

    const char *cmd = getenv_fn("CNI_COMMAND");
    if (!cmd || !*cmd)
        return cni_set_error(
            err, CNI_ERR_INVALID_ENV, "CNI_COMMAND is not set",
            "kig-cni is a CNI plugin: run it through a container runtime, or set CNI_COMMAND");
    size_t i;
    for (i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(cmd, commands[i].name) == 0)
            break;
    if (i == ARRAY_SIZE(commands))
        return cni_set_error(err, CNI_ERR_INVALID_ENV, "unknown CNI_COMMAND",
                             "CNI_COMMAND=%s; expected ADD, DEL, CHECK or VERSION", cmd);
    *ret = (struct cni_env){
        .command = commands[i].command,
        .container_id = getenv_fn("CNI_CONTAINERID"),
        .netns = getenv_fn("CNI_NETNS"),
        .ifname = getenv_fn("CNI_IFNAME"),
        .args = getenv_fn("CNI_ARGS"),
        .path = getenv_fn("CNI_PATH"),
    };
    if (ret->command == CNI_VERSION)
        return 0;
    if (!ret->container_id || !*ret->container_id)
        return cni_set_error(err, CNI_ERR_INVALID_ENV, "CNI_CONTAINERID is not set", "required for %s", cmd);
    if (!ret->ifname || !*ret->ifname)
        return cni_set_error(err, CNI_ERR_INVALID_ENV, "CNI_IFNAME is not set", "required for %s", cmd);
    /* DEL may come after the namespace is gone; ADD and CHECK need it. */
    if (ret->command != CNI_DEL && (!ret->netns || !*ret->netns))
        return cni_set_error(err, CNI_ERR_INVALID_ENV, "CNI_NETNS is not set", "required for %s", cmd);
    return 0;
}

static int take_string(json_t *root, const char *key, bool required, char **ret, struct cni_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v) {
        if (required)
            return cni_set_error(err, CNI_ERR_INVALID_CONFIG, "missing field in network config",
                                 "\"%s\" is required", key);
        return 0;
    }
    if (!json_is_string(v))
        return cni_set_error(err, CNI_ERR_INVALID_CONFIG, "wrong type in network config",
                             "\"%s\" must be a string", key);
    *ret = strdup(json_string_value(v));
    return *ret ? 0 : -ENOMEM;
}

void cni_config_done(struct cni_config *c)
{
    free(c->cni_version);
    free(c->name);
    free(c->type);
    free(c->strategy);
    free(c->node_ip);
    json_decref(c->prev_result);
    json_decref(c->raw);
    memset(c, 0, sizeof(*c));
}

int cni_config_parse(const char *data, size_t len, struct cni_config *ret, struct cni_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return cni_set_error(err, CNI_ERR_DECODE, "cannot decode network config", "line %d column %d: %s",
                             jerr.line, jerr.column, jerr.text);
    struct cni_config c = {0};
    int r = 0;
    if (!json_is_object(root))
        r = cni_set_error(err, CNI_ERR_DECODE, "cannot decode network config",
                          "the document is not an object");
    if (r == 0)
        r = take_string(root, "cniVersion", true, &c.cni_version, err);
    if (r == 0)
        r = take_string(root, "name", true, &c.name, err);
    if (r == 0)
        r = take_string(root, "type", true, &c.type, err);
    if (r == 0)
        r = take_string(root, "strategy", false, &c.strategy, err);
    if (r == 0)
        r = take_string(root, "nodeIP", false, &c.node_ip, err);
    if (r == 0 && !cni_version_supported(c.cni_version))
        r = cni_set_error(err, CNI_ERR_INCOMPATIBLE_VERSION, "incompatible CNI version",
                          "cniVersion %s; kig-cni supports 0.3.0, 0.3.1, 0.4.0 and 1.0.0", c.cni_version);
    if (r == 0) {
        json_t *prev = json_object_get(root, "prevResult");
        if (prev && !json_is_object(prev))
            r = cni_set_error(err, CNI_ERR_INVALID_CONFIG, "wrong type in network config",
                              "\"prevResult\" must be an object");
        else if (prev)
            c.prev_result = json_incref(prev);
    }
    if (r == 0 && !c.strategy && !(c.strategy = strdup("host")))
        r = -ENOMEM;
    if (r == 0)
        c.raw = json_incref(root);
    json_decref(root);
    if (r < 0) {
        if (r == -ENOMEM)
            cni_set_error(err, CNI_ERR_INTERNAL, "out of memory", "while parsing the network config");
        cni_config_done(&c);
        return r;
    }
    *ret = c;
    return 0;
}

static char *dump(json_t *doc)
{
    if (!doc)
        return NULL;
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return s;
}

char *cni_version_document(const char *cni_version)
{
    json_t *versions = json_array();
    for (size_t i = 0; cni_supported_versions[i]; i++)
        json_array_append_new(versions, json_string(cni_supported_versions[i]));
    return dump(json_pack("{s:s, s:o}", "cniVersion", cni_version ? cni_version : "1.0.0",
                          "supportedVersions", versions));
}

char *cni_error_document(const char *cni_version, const struct cni_error *err)
{
    return dump(json_pack("{s:s, s:i, s:s, s:s}", "cniVersion", cni_version ? cni_version : "1.0.0", "code",
                          err->code, "msg", err->msg, "details", err->details));
}

char *cni_result_document(const char *cni_version, const char *ifname, const char *netns, const char *address,
                          const char *gateway)
{
    json_t *ip = json_pack("{s:s, s:i}", "address", address, "interface", 0);
    if (!ip)
        return NULL;
    if (gateway)
        json_object_set_new(ip, "gateway", json_string(gateway));
    if (strncmp(cni_version, "0.", 2) == 0)
        json_object_set_new(ip, "version", json_string("4"));
    json_t *iface = json_pack("{s:s, s:s}", "name", ifname, "sandbox", netns ? netns : "");
    return dump(json_pack("{s:s, s:[o], s:[o], s:[], s:{}}", "cniVersion", cni_version, "interfaces", iface,
                          "ips", ip, "routes", "dns"));
}
