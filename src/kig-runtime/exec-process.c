#include "exec-process.h"

#include "macro.h"

#include <stdarg.h>
#include <string.h>

static _printf_(3, 4) int fail(char *error, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, size, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static void strv_free_local(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* A JSON array of strings as a NULL-terminated vector (an absent array gives an empty one). */
static int string_list(const json_t *a, const char *what, char ***ret, char *error, size_t size)
{
    if (a && !json_is_array(a))
        return fail(error, size, "process.%s must be an array of strings", what);
    size_t n = json_array_size(a);
    char **v = calloc(n + 1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s) {
            strv_free_local(v);
            return fail(error, size, "process.%s[%zu] is not a string", what, i);
        }
        if (!(v[i] = strdup(s))) {
            strv_free_local(v);
            return -ENOMEM;
        }
    }
    *ret = v;
    return 0;
}

static int unsigned_member(const json_t *obj, const char *key, const char *where, uint64_t max, uint64_t *ret,
                           char *error, size_t size)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return fail(error, size, "%s.%s must be an integer from 0 to %llu", where, key,
                    (unsigned long long)max);
    *ret = (uint64_t)json_integer_value(v);
    return 1;
}

static int parse_user(const json_t *user, struct exec_process *p, char *error, size_t size)
{
    if (user && !json_is_object(user))
        return fail(error, size, "process.user must be an object");
    uint64_t v = 0;
    int r;
    if ((r = unsigned_member(user, "uid", "process.user", UINT32_MAX - 1, &v, error, size)) < 0)
        return r;
    p->uid = (uid_t)v;
    v = 0;
    if ((r = unsigned_member(user, "gid", "process.user", UINT32_MAX - 1, &v, error, size)) < 0)
        return r;
    p->gid = (gid_t)v;
    if ((r = unsigned_member(user, "umask", "process.user", 0777, &v, error, size)) < 0)
        return r;
    p->has_umask = r > 0;
    p->umask = (mode_t)v;
    const json_t *gids = json_object_get(user, "additionalGids");
    if (gids && !json_is_null(gids)) {
        if (!json_is_array(gids))
            return fail(error, size, "process.user.additionalGids must be an array");
        p->n_additional_gids = json_array_size(gids);
        p->additional_gids = calloc(p->n_additional_gids + 1, sizeof(gid_t));
        if (!p->additional_gids)
            return -ENOMEM;
        for (size_t i = 0; i < p->n_additional_gids; i++) {
            const json_t *g = json_array_get(gids, i);
            if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) >= UINT32_MAX)
                return fail(error, size, "process.user.additionalGids[%zu] is not a group id", i);
            p->additional_gids[i] = (gid_t)json_integer_value(g);
        }
    }
    return 0;
}

static int parse_capabilities(const json_t *caps, struct exec_process *p, char *error, size_t size)
{
    static const char *const sets[_CAP_SET_MAX] = {"bounding", "effective", "inheritable", "permitted",
                                                   "ambient"};
    if (!caps || json_is_null(caps))
        return 0;
    if (!json_is_object(caps))
        return fail(error, size, "process.capabilities must be an object");
    p->has_capabilities = true;
    for (int s = 0; s < _CAP_SET_MAX; s++) {
        const json_t *list = json_object_get(caps, sets[s]);
        if (list && !json_is_null(list) && !json_is_array(list))
            return fail(error, size, "process.capabilities.%s must be an array", sets[s]);
        size_t i;
        const json_t *c;
        json_array_foreach(list, i, c)
        {
            int cap = capability_from_name(json_string_value(c));
            if (cap < 0)
                return fail(error, size, "process.capabilities.%s: unknown capability %s", sets[s],
                            json_string_value(c) ? json_string_value(c) : "(not a string)");
            p->capabilities[s] |= UINT64_C(1) << cap;
        }
    }
    return 0;
}

static int parse_rlimits(const json_t *list, struct exec_process *p, char *error, size_t size)
{
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return fail(error, size, "process.rlimits must be an array");
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        int resource = rlimit_type_from_name(json_string_value(json_object_get(e, "type")));
        if (resource < 0)
            return fail(error, size, "process.rlimits[%zu]: unknown type", i);
        uint64_t soft = 0, hard = 0;
        int r;
        if ((r = unsigned_member(e, "soft", "process.rlimits[]", UINT64_MAX, &soft, error, size)) < 0 ||
            (r = unsigned_member(e, "hard", "process.rlimits[]", UINT64_MAX, &hard, error, size)) < 0)
            return r;
        if (p->n_rlimits == N_RLIMITS)
            return fail(error, size, "process.rlimits has more entries than there are limits");
        p->rlimits[p->n_rlimits++] = (struct exec_rlimit){resource, {(rlim_t)soft, (rlim_t)hard}};
    }
    return 0;
}

static int parse_console(const json_t *size_j, struct exec_process *p, char *error, size_t size)
{
    if (!size_j || json_is_null(size_j))
        return 0;
    uint64_t rows = 0, cols = 0;
    int r;
    if ((r = unsigned_member(size_j, "height", "process.consoleSize", UINT16_MAX, &rows, error, size)) < 0 ||
        (r = unsigned_member(size_j, "width", "process.consoleSize", UINT16_MAX, &cols, error, size)) < 0)
        return r;
    p->console_rows = (unsigned short)rows;
    p->console_cols = (unsigned short)cols;
    return 0;
}

int exec_process_parse(const json_t *process, struct exec_process *ret, char *error, size_t size)
{
    *ret = (struct exec_process){0};
    if (!json_is_object(process))
        return fail(error, size, "the process is not a JSON object");
    int r;
    const json_t *cwd = json_object_get(process, "cwd");
    if (cwd && !json_is_null(cwd) && (!json_is_string(cwd) || json_string_value(cwd)[0] != '/'))
        r = fail(error, size, "process.cwd must be an absolute path");
    else if ((r = string_list(json_object_get(process, "args"), "args", &ret->args, error, size)) >= 0 &&
             !ret->args[0])
        r = fail(error, size, "process.args is empty: give the command to run");
    if (r < 0)
        goto fail;
    if ((r = string_list(json_object_get(process, "env"), "env", &ret->env, error, size)) < 0 ||
        (r = parse_user(json_object_get(process, "user"), ret, error, size)) < 0 ||
        (r = parse_capabilities(json_object_get(process, "capabilities"), ret, error, size)) < 0 ||
        (r = parse_rlimits(json_object_get(process, "rlimits"), ret, error, size)) < 0 ||
        (r = parse_console(json_object_get(process, "consoleSize"), ret, error, size)) < 0)
        goto fail;
    ret->cwd = strdup(cwd && json_is_string(cwd) ? json_string_value(cwd) : "/");
    if (!ret->cwd) {
        r = -ENOMEM;
        goto fail;
    }
    ret->terminal = json_is_true(json_object_get(process, "terminal"));
    ret->no_new_privileges = json_is_true(json_object_get(process, "noNewPrivileges"));
    const json_t *oom = json_object_get(process, "oomScoreAdj");
    if (oom && !json_is_null(oom)) {
        if (!json_is_integer(oom) || json_integer_value(oom) < -1000 || json_integer_value(oom) > 1000) {
            r = fail(error, size, "process.oomScoreAdj must be an integer from -1000 to 1000");
            goto fail;
        }
        ret->has_oom_score_adj = true;
        ret->oom_score_adj = (int)json_integer_value(oom);
    }
    return 0;
fail:
    exec_process_done(ret);
    return r;
}

void exec_process_done(struct exec_process *p)
{
    strv_free_local(p->args);
    strv_free_local(p->env);
    free(p->cwd);
    free(p->additional_gids);
    *p = (struct exec_process){0};
}

const char *exec_process_getenv(const struct exec_process *p, const char *name)
{
    size_t n = strlen(name);
    const char *found = NULL;
    for (char **e = p->env; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            found = *e + n + 1; /* the last one wins, as in execve's environment */
    return found;
}
