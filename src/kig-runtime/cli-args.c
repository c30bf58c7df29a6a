#include "cli.h"

#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool cli_true(const char *value)
{
    return value && strcmp(value, "false") != 0 && strcmp(value, "0") != 0;
}

static int find_long(const struct cli_option *options, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static int find_short(const struct cli_option *options, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (options[i].short_name == c)
            return (int)i;
    return -1;
}

static int store(const char *command, int index, const char *value, const char **values, int repeat_index,
                 const char ***repeat, size_t *n_repeat)
{
    if (index == repeat_index && repeat) {
        const char **n = realloc(*repeat, (*n_repeat + 1) * sizeof(**repeat));
        if (!n)
            return log_error_errno(ENOMEM, "%s: out of memory", command);
        n[(*n_repeat)++] = value;
        *repeat = n;
    }
    values[index] = value;
    return 0;
}

int cli_parse(const char *command, const struct cli_option *options, size_t n_options, int argc, char **argv,
              const char **values, int repeat_index, const char ***repeat, size_t *n_repeat)
{
    int i = 1;
    while (i < argc) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1;
        if (a[0] != '-' || a[1] == '\0')
            return i;
        const char *name = a + 1 + (a[1] == '-');
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int k = find_long(options, n_options, name, len);
        /* A single dash with one letter is a short option (-b DIR); "-bundle" is Go's long form. */
        if (k < 0 && a[1] != '-' && len == 1)
            k = find_short(options, n_options, name[0]);
        if (k < 0)
            return log_error_errno(EINVAL, "%s: unknown option '%s'; see 'kig-runtime --help'", command, a);
        const char *value;
        if (options[k].has_arg) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return log_error_errno(EINVAL, "%s: option '%s' needs a value", command, a);
        } else
            value = eq ? eq + 1 : "true";
        if (store(command, k, value, values, repeat_index, repeat, n_repeat) < 0)
            return -ENOMEM;
        i++;
    }
    return i;
}

bool container_id_valid(const char *id)
{
    if (!id || !*id || strcmp(id, ".") == 0 || strcmp(id, "..") == 0 || strlen(id) > 1024)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '+' || *p == '-' || *p == '.'))
            return false;
    return true;
}

bool container_id_check(const char *id)
{
    if (container_id_valid(id))
        return true;
    log_error("invalid container id '%s': use letters, digits and _+.- only", id ? id : "");
    return false;
}
