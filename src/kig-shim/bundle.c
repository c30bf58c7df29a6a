#include "bundle.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define SANDBOX_ID_ANNOTATION     "io.kubernetes.cri.sandbox-id"
#define CONTAINER_TYPE_ANNOTATION "io.kubernetes.cri.container-type"
#define SHIM_GROUP_ANNOTATION     "io.containerd.runc.v2.group"

static int refuse(char *why, size_t size, const char *reason)
{
    snprintf(why, size, "%s", reason);
    return -EINVAL;
}

static int parse_sandbox_id(json_t *root, struct shim_bundle *b, char *why, size_t size)
{
    json_t *annotations = json_object_get(root, "annotations");
    if (!annotations || json_is_null(annotations))
        return 0;
    if (!json_is_object(annotations))
        return refuse(why, size, "config.json: annotations is not an object");
    const char *type = json_string_value(json_object_get(annotations, CONTAINER_TYPE_ANNOTATION));
    b->is_sandbox = type && strcmp(type, "sandbox") == 0;
    b->has_group = json_object_get(annotations, SHIM_GROUP_ANNOTATION) != NULL;
    json_t *id = json_object_get(annotations, SANDBOX_ID_ANNOTATION);
    if (!id)
        return 0;
    const char *s = json_string_value(id);
    if (!s || !podns_valid_id(s))
        return refuse(why, size, "config.json: the " SANDBOX_ID_ANNOTATION " annotation is not a pod id");
    snprintf(b->sandbox_id, sizeof(b->sandbox_id), "%s", s);
    return 0;
}

static int parse_network(json_t *root, struct shim_bundle *b, char *why, size_t size)
{
    json_t *linux_ = json_object_get(root, "linux");
    if (!linux_ || json_is_null(linux_))
        return 0;
    if (!json_is_object(linux_))
        return refuse(why, size, "config.json: linux is not an object");
    json_t *namespaces = json_object_get(linux_, "namespaces");
    if (!namespaces || json_is_null(namespaces))
        return 0;
    if (!json_is_array(namespaces))
        return refuse(why, size, "config.json: linux.namespaces is not an array");
    size_t i;
    json_t *ns;
    json_array_foreach(namespaces, i, ns)
    {
        const char *type = json_string_value(json_object_get(ns, "type"));
        if (!json_is_object(ns) || !type)
            return refuse(why, size, "config.json: a linux.namespaces entry has no type");
        if (strcmp(type, "network") == 0)
            b->own_network = true;
    }
    return 0;
}

int shim_bundle_parse(const char *text, size_t len, struct shim_bundle *ret, char *why, size_t why_size)
{
    *ret = (struct shim_bundle){0};
    json_error_t error;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        snprintf(why, why_size, "config.json is not JSON: %s (line %d)", error.text, error.line);
        return -EINVAL;
    }
    int r = json_is_object(root) ? 0 : refuse(why, why_size, "config.json is not a JSON object");
    if (r == 0)
        r = parse_sandbox_id(root, ret, why, why_size);
    if (r == 0)
        r = parse_network(root, ret, why, why_size);
    json_decref(root);
    return r;
}
