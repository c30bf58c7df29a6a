/* <run-dir>/vkernel.json: the applied plan with what apply recorded for each action.
 *
 *   {"schema": 1, "kig_version": "0.1.0", "plan": {"actions": [... "status": "done" ...], ...}}
 *
 * Written through a temporary file and rename before and after every action, so a crash leaves the last
 * complete record, and any kig process (`kig down`) can undo what another applied. */
#include "plan.h"

#include "fileutil.h"
#include "kig-config.h"
#include "macro.h"

#include <stdio.h>
#include <string.h>

char *vkernel_state_path(const char *run_dir)
{
    return path_join(run_dir, VKERNEL_STATE_FILE);
}

int vkernel_state_load(const char *run_dir, struct vkernel_plan **ret)
{
    _cleanup_free_ char *path = vkernel_state_path(run_dir);
    if (!path)
        return -ENOMEM;
    _cleanup_free_ char *data = NULL;
    size_t len;
    int r = read_file(path, &data, &len, 16u << 20);
    if (r < 0)
        return r;
    json_error_t err;
    json_t *j = json_loadb(data, len, 0, &err);
    if (!j)
        return -EBADMSG;
    const json_t *schema = json_object_get(j, "schema");
    if (!json_is_integer(schema) || json_integer_value(schema) != VKERNEL_STATE_SCHEMA)
        r = -EBADMSG;
    else
        r = vkernel_plan_from_json(json_object_get(j, "plan"), ret);
    json_decref(j);
    return r;
}

/* Through a temporary file and rename: a reader (or a crash) sees the old record or the new one. No fsync:
 * it is written around every action (hundreds of times on a 9p root in gVisor), and after a machine crash
 * the mounts it describes are gone anyway, which the boot time in it tells (apply.c). */
static int write_atomic_nosync(const char *path, const char *data)
{
    _cleanup_free_ char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp", path) < 0)
        return -ENOMEM;
    _cleanup_fclose_ FILE *f = fopen(tmp, "we");
    if (!f)
        return negative_errno();
    bool ok = fputs(data, f) >= 0;
    int r = fclose(TAKE_PTR(f)) == 0 && ok ? 0 : -EIO;
    if (r == 0 && rename(tmp, path) < 0)
        r = negative_errno();
    if (r < 0)
        unlink(tmp);
    return r;
}

int vkernel_state_save(const char *run_dir, const struct vkernel_plan *p)
{
    _cleanup_free_ char *path = vkernel_state_path(run_dir);
    if (!path)
        return -ENOMEM;
    json_t *plan;
    int r = vkernel_plan_to_json(p, true, &plan);
    if (r < 0)
        return r;
    json_t *j = json_pack("{s:i, s:s, s:o}", "schema", VKERNEL_STATE_SCHEMA, "kig_version", KIG_VERSION,
                          "plan", plan);
    if (!j)
        return -ENOMEM;
    _cleanup_free_ char *text = json_dumps(j, JSON_INDENT(1));
    json_decref(j);
    if (!text)
        return -ENOMEM;
    return write_atomic_nosync(path, text);
}

int vkernel_state_remove(const char *run_dir)
{
    _cleanup_free_ char *path = vkernel_state_path(run_dir);
    if (!path)
        return -ENOMEM;
    if (unlink(path) < 0 && errno != ENOENT)
        return negative_errno();
    return 0;
}
