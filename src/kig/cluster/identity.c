#include "identity.h"

#include "fileutil.h"
#include "kig-config.h"
#include "macro.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define CLUSTER_JSON_MAX (64u << 10)

static const struct {
    enum cluster_mode mode;
    const char *name;
} mode_names[] = {
    {CLUSTER_MODE_CONTROL_PLANE_ONLY, "control-plane-only"},
    {CLUSTER_MODE_FULL, "full"},
};

bool cluster_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > CLUSTER_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i < len - 1))
            return false;
    }
    return true;
}

const char *cluster_mode_to_string(enum cluster_mode mode)
{
    for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++)
        if (mode_names[i].mode == mode)
            return mode_names[i].name;
    return "unknown";
}

int cluster_mode_from_string(const char *s, enum cluster_mode *ret)
{
    for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++)
        if (strcmp(mode_names[i].name, s) == 0) {
            *ret = mode_names[i].mode;
            return 0;
        }
    return -EINVAL;
}

static bool uid_valid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
            return false;
    }
    return true;
}

static bool timestamp_valid(const char *s)
{
    struct tm tm = {0};
    if (strlen(s) != 20)
        return false;
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return end && *end == '\0';
}

static int format_uid(char out[static 37])
{
    unsigned char b[16];
    ssize_t n = getrandom(b, sizeof(b), 0);
    if (n != (ssize_t)sizeof(b))
        return n < 0 ? negative_errno() : -EIO;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

int cluster_identity_new(const char *name, enum cluster_mode mode, int port, struct cluster_identity *ret)
{
    struct cluster_identity id = {.mode = mode, .port = port};
    if (!cluster_name_valid(name) || port < 1 || port > 65535)
        return -EINVAL;
    snprintf(id.name, sizeof(id.name), "%s", name);
    int r = format_uid(id.uid);
    if (r < 0)
        return r;
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(id.created, sizeof(id.created), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return -EIO;
    snprintf(id.kig_version, sizeof(id.kig_version), "%s", KIG_VERSION);
    *ret = id;
    return 0;
}

static int invalid(char *why, size_t why_size, const char *fmt, ...) _printf_(3, 4);
static int invalid(char *why, size_t why_size, const char *fmt, ...)
{
    if (why && why_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Copies the string member key into out, which must hold it. */
static int get_string(json_t *root, const char *key, char *out, size_t size, char *why, size_t why_size)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return invalid(why, why_size, "\"%s\" is missing", key);
    if (!json_is_string(v))
        return invalid(why, why_size, "\"%s\" is not a string", key);
    const char *s = json_string_value(v);
    if (json_string_length(v) != strlen(s) || strlen(s) >= size)
        return invalid(why, why_size, "\"%s\" is too long or holds a NUL byte", key);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int parse_fields(json_t *root, struct cluster_identity *id, char *why, size_t why_size)
{
    if (!json_is_object(root))
        return invalid(why, why_size, "not a JSON object");
    json_t *format = json_object_get(root, "format");
    if (!json_is_integer(format) || json_integer_value(format) != CLUSTER_IDENTITY_FORMAT)
        return invalid(why, why_size, "\"format\" is not %d", CLUSTER_IDENTITY_FORMAT);

    char mode[32];
    int r;
    if ((r = get_string(root, "name", id->name, sizeof(id->name), why, why_size)) < 0 ||
        (r = get_string(root, "uid", id->uid, sizeof(id->uid), why, why_size)) < 0 ||
        (r = get_string(root, "created", id->created, sizeof(id->created), why, why_size)) < 0 ||
        (r = get_string(root, "mode", mode, sizeof(mode), why, why_size)) < 0 ||
        (r = get_string(root, "kigVersion", id->kig_version, sizeof(id->kig_version), why, why_size)) < 0)
        return r;
    if (!cluster_name_valid(id->name))
        return invalid(why, why_size, "\"name\" is not a valid cluster name");
    if (!uid_valid(id->uid))
        return invalid(why, why_size, "\"uid\" is not a UUID");
    if (!timestamp_valid(id->created))
        return invalid(why, why_size, "\"created\" is not a UTC timestamp");
    if (cluster_mode_from_string(mode, &id->mode) < 0)
        return invalid(why, why_size, "\"mode\" is not a known mode");
    if (!id->kig_version[0])
        return invalid(why, why_size, "\"kigVersion\" is empty");

    json_t *port = json_object_get(root, "port");
    if (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535)
        return invalid(why, why_size, "\"port\" is not a TCP port number");
    id->port = (int)json_integer_value(port);
    return 0;
}

int cluster_identity_parse(const char *text, size_t len, struct cluster_identity *ret, char *why,
                           size_t why_size)
{
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return invalid(why, why_size, "not valid JSON (line %d: %s)", err.line, err.text);
    struct cluster_identity id = {0};
    int r = parse_fields(root, &id, why, why_size);
    json_decref(root);
    if (r < 0)
        return r;
    *ret = id;
    return 0;
}

char *cluster_identity_format(const struct cluster_identity *id)
{
    json_t *root =
        json_pack("{s:i, s:s, s:s, s:s, s:s, s:i, s:s}", "format", CLUSTER_IDENTITY_FORMAT, "name", id->name,
                  "uid", id->uid, "created", id->created, "mode", cluster_mode_to_string(id->mode), "port",
                  id->port, "kigVersion", id->kig_version);
    if (!root)
        return NULL;
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

int cluster_identity_load(const char *path, struct cluster_identity *ret, char *why, size_t why_size)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_file(path, &text, &len, CLUSTER_JSON_MAX);
    if (r < 0 && r != -EFBIG) {
        /* Not the content's fault (missing, permissions, I/O): the caller words it. */
        if (why && why_size)
            snprintf(why, why_size, "%s", strerror(-r));
        return r;
    }
    if (r < 0)
        return invalid(why, why_size, "larger than %u bytes", CLUSTER_JSON_MAX);
    return cluster_identity_parse(text, len, ret, why, why_size);
}

int cluster_identity_save(const char *path, const struct cluster_identity *id)
{
    _cleanup_free_ char *text = cluster_identity_format(id);
    if (!text)
        return -ENOMEM;
    size_t len = strlen(text);
    _cleanup_free_ char *line = malloc(len + 2);
    if (!line)
        return -ENOMEM;
    memcpy(line, text, len);
    line[len] = '\n';
    line[len + 1] = '\0';
    return write_file_atomic(path, line, len + 1, 0644);
}
