#include "mount-args.h"

#include <errno.h>
#include <string.h>

static int append_options(struct mount_args *a, const char *value)
{
    size_t len = strlen(a->options), add = strlen(value);
    if (add == 0)
        return 0;
    if (len + (len ? 1 : 0) + add + 1 > sizeof(a->options))
        return -E2BIG;
    if (len)
        a->options[len++] = ',';
    memcpy(a->options + len, value, add + 1);
    return 0;
}

int mount_args_parse(int argc, char *const *argv, struct mount_args *ret)
{
    *ret = (struct mount_args){0};
    const char *operands[2];
    int n_operands = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if ((strcmp(arg, "-t") == 0 || strcmp(arg, "-o") == 0) && i + 1 < argc) {
            const char *value = argv[++i];
            if (arg[1] == 't') {
                if (ret->type || !*value)
                    return -EOPNOTSUPP;
                ret->type = value;
            } else {
                int r = append_options(ret, value);
                if (r < 0)
                    return r;
            }
        } else if (arg[0] == '-' || n_operands == 2) {
            return -EOPNOTSUPP; /* another flag (or "--"), or a third operand */
        } else {
            operands[n_operands++] = arg;
        }
    }
    if (n_operands != 2 || !*operands[0] || !*operands[1])
        return -EOPNOTSUPP;
    ret->source = operands[0];
    ret->target = operands[1];
    return 0;
}
