#include "oci-seccomp.h"

#include "macro.h"

#include <ctype.h>
#include <errno.h>
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

/* "SCMP_ACT_ERRNO" with its errno (errnoRet, else EPERM) as a libseccomp action. */
static int parse_action(const char *name, const json_t *errno_ret, uint32_t *ret)
{
    uint32_t err = json_is_integer(errno_ret) ? (uint32_t)json_integer_value(errno_ret) : EPERM;
    static const struct {
        const char *name;
        uint32_t action;
    } plain[] = {
        {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD},
        {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
        {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
        {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
        {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
        {"SCMP_ACT_LOG", SCMP_ACT_LOG},
    };
    if (!name)
        return -EINVAL;
    for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
        if (strcmp(name, plain[i].name) == 0) {
            *ret = plain[i].action;
            return 0;
        }
    if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
        *ret = SCMP_ACT_ERRNO(err);
    else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
        *ret = SCMP_ACT_TRACE(err);
    else
        return -EINVAL;
    return 0;
}

static int parse_op(const char *name, enum scmp_compare *ret)
{
    static const struct {
        const char *name;
        enum scmp_compare op;
    } ops[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE},
        {"SCMP_CMP_LT", SCMP_CMP_LT},
        {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_EQ", SCMP_CMP_EQ},
        {"SCMP_CMP_GE", SCMP_CMP_GE},
        {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    };
    for (size_t i = 0; name && i < ARRAY_SIZE(ops); i++)
        if (strcmp(name, ops[i].name) == 0) {
            *ret = ops[i].op;
            return 0;
        }
    return -EINVAL;
}

/* "SCMP_ARCH_X86_64" -> "x86_64", which libseccomp resolves. */
static uint32_t parse_arch(const char *name)
{
    char lower[32];
    if (!name || strncmp(name, "SCMP_ARCH_", 10) != 0 || strlen(name + 10) >= sizeof(lower))
        return 0;
    size_t i = 0;
    for (const char *p = name + 10; *p; p++)
        lower[i++] = (char)tolower((unsigned char)*p);
    lower[i] = '\0';
    return seccomp_arch_resolve_name(lower);
}

static int parse_args(const json_t *args, struct scmp_arg_cmp *out, unsigned *n, char *error, size_t size)
{
    *n = 0;
    if (!args || json_is_null(args))
        return 0;
    if (!json_is_array(args) || json_array_size(args) > 6)
        return fail(error, size, "linux.seccomp: a rule's args must be an array of at most 6");
    size_t i;
    const json_t *a;
    json_array_foreach(args, i, a)
    {
        enum scmp_compare op;
        const json_t *index = json_object_get(a, "index");
        if (!json_is_integer(index) || json_integer_value(index) < 0 || json_integer_value(index) > 5 ||
            parse_op(json_string_value(json_object_get(a, "op")), &op) < 0)
            return fail(error, size, "linux.seccomp: a rule's args[%zu] needs an index 0-5 and a known op",
                        i);
        out[(*n)++] = (struct scmp_arg_cmp){
            .arg = (unsigned)json_integer_value(index),
            .op = op,
            .datum_a = (scmp_datum_t)json_integer_value(json_object_get(a, "value")),
            .datum_b = (scmp_datum_t)json_integer_value(json_object_get(a, "valueTwo")),
        };
    }
    return 0;
}

static int add_rule(scmp_filter_ctx ctx, const json_t *rule, uint32_t default_action, char *error,
                    size_t size)
{
    uint32_t action;
    if (parse_action(json_string_value(json_object_get(rule, "action")), json_object_get(rule, "errnoRet"),
                     &action) < 0)
        return fail(error, size, "linux.seccomp: unknown action %s",
                    json_string_value(json_object_get(rule, "action"))
                        ? json_string_value(json_object_get(rule, "action"))
                        : "(none)");
    struct scmp_arg_cmp args[6];
    unsigned n_args;
    int r = parse_args(json_object_get(rule, "args"), args, &n_args, error, size);
    if (r < 0)
        return r;
    if (action == default_action)
        return 0; /* libseccomp refuses a rule that repeats the default */
    const json_t *names = json_object_get(rule, "names");
    if (!json_is_array(names))
        return fail(error, size, "linux.seccomp: a rule needs a names array");
    size_t i;
    const json_t *name;
    json_array_foreach(names, i, name)
    {
        if (!json_is_string(name))
            return fail(error, size, "linux.seccomp: a syscall name is not a string");
        int nr = seccomp_syscall_resolve_name(json_string_value(name));
        if (nr == __NR_SCMP_ERROR)
            continue;
        r = seccomp_rule_add_array(ctx, action, nr, n_args, args);
        if (r < 0 && r != -EEXIST)
            return fail(error, size, "linux.seccomp: cannot add the rule for %s: %s", json_string_value(name),
                        strerror(-r));
    }
    return 0;
}

int oci_seccomp_compile(const json_t *profile, scmp_filter_ctx *ret, char *error, size_t size)
{
    *ret = NULL;
    if (!profile || json_is_null(profile))
        return 0;
    if (!json_is_object(profile))
        return fail(error, size, "linux.seccomp must be an object");
    uint32_t default_action;
    if (parse_action(json_string_value(json_object_get(profile, "defaultAction")),
                     json_object_get(profile, "defaultErrnoRet"), &default_action) < 0)
        return fail(error, size, "linux.seccomp: unknown defaultAction");
    scmp_filter_ctx ctx = seccomp_init(default_action);
    if (!ctx)
        return -ENOMEM;
    /* As runc: no_new_privs is the process's own setting, not a side effect of loading the filter. */
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (r < 0) {
        seccomp_release(ctx);
        return r;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(profile, "architectures"), i, v)
    {
        uint32_t arch = parse_arch(json_string_value(v));
        if (arch && (r = seccomp_arch_add(ctx, arch)) < 0 && r != -EEXIST) {
            r = fail(error, size, "linux.seccomp: cannot add architecture %s", json_string_value(v));
            goto out;
        }
    }
    json_array_foreach(json_object_get(profile, "syscalls"), i, v)
    {
        if ((r = add_rule(ctx, v, default_action, error, size)) < 0)
            goto out;
    }
    *ret = TAKE_PTR(ctx);
    r = 0;
out:
    if (ctx)
        seccomp_release(ctx);
    return r;
}
