#include "store.h"

#include "macro.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int store_init(struct store *s)
{
    *s = (struct store){0};
    s->services.objects = json_object();
    s->endpoints.objects = json_object();
    if (!s->services.objects || !s->endpoints.objects) {
        store_done(s);
        return -ENOMEM;
    }
    return 0;
}

void store_done(struct store *s)
{
    json_decref(s->services.objects);
    json_decref(s->endpoints.objects);
    s->services.objects = s->endpoints.objects = NULL;
}

int store_key_of(const char *ns, const char *name, char key[STORE_KEY_MAX])
{
    if (!ns || !*ns || !name || !*name)
        return -EINVAL;
    int n = snprintf(key, STORE_KEY_MAX, "%s/%s", ns, name);
    return n > 0 && n < STORE_KEY_MAX ? 0 : -EINVAL;
}

int store_key(json_t *obj, char key[STORE_KEY_MAX])
{
    json_t *meta = json_object_get(obj, "metadata");
    return store_key_of(json_string_value(json_object_get(meta, "namespace")),
                        json_string_value(json_object_get(meta, "name")), key);
}

int store_replace(struct store *s, struct store_map *m, json_t *items)
{
    json_t *fresh = json_object();
    if (!fresh)
        return -ENOMEM;
    size_t i;
    json_t *obj;
    json_array_foreach(items, i, obj)
    {
        char key[STORE_KEY_MAX];
        if (store_key(obj, key) < 0)
            continue;
        if (json_object_set(fresh, key, obj) < 0) {
            json_decref(fresh);
            return -ENOMEM;
        }
    }
    json_decref(m->objects);
    m->objects = fresh;
    m->synced = true;
    s->generation++;
    return 0;
}

int store_apply(struct store *s, struct store_map *m, enum watch_event_type type, json_t *object)
{
    char key[STORE_KEY_MAX];
    if (type != WATCH_ADDED && type != WATCH_MODIFIED && type != WATCH_DELETED)
        return 0;
    if (store_key(object, key) < 0)
        return -EINVAL;
    if (type == WATCH_DELETED) {
        if (json_object_del(m->objects, key) == 0)
            s->generation++;
        return 0;
    }
    if (json_object_set(m->objects, key, object) < 0)
        return -ENOMEM;
    s->generation++;
    return 0;
}

bool store_synced(const struct store *s)
{
    return s->services.synced && s->endpoints.synced;
}
