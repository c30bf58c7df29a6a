#include "doctor-report.h"

#include "fileutil.h"
#include "kig-config.h"
#include "macro.h"

#include <errno.h>
#include <string.h>

/* A report has about a hundred probes; the cap keeps duplicate detection cheap on hostile input. */
#define DOCTOR_REPORT_MAX_PROBES 4096

static const char *const status_names[_DOCTOR_STATUS_MAX] = {
    [DOCTOR_PRESENT] = "present",
    [DOCTOR_MISSING] = "missing",
    [DOCTOR_PARTIAL] = "partial",
    [DOCTOR_ERROR] = "error",
};

const char *doctor_status_to_string(enum doctor_status s)
{
    if ((unsigned)s >= _DOCTOR_STATUS_MAX)
        return NULL;
    return status_names[s];
}

int doctor_status_from_string(const char *s)
{
    if (!s)
        return -EINVAL;
    for (int i = 0; i < _DOCTOR_STATUS_MAX; i++)
        if (strcmp(s, status_names[i]) == 0)
            return i;
    return -EINVAL;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is invalid (overlong, surrogate, > U+10FFFF,
 * truncated): the same rules jansson applies before it will serialize a string. */
static size_t utf8_sequence_length(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Copies a string so that it can always be written as JSON and shown in a terminal: invalid UTF-8 becomes
 * '?', control characters (tabs and newlines in a sysctl value, escape sequences) become spaces. */
static char *sanitized_copy(const char *s)
{
    if (!s)
        s = "";
    size_t len = strlen(s);
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    const unsigned char *in = (const unsigned char *)s;
    size_t o = 0;
    while (*in) {
        size_t n = utf8_sequence_length(in);
        if (n == 0) {
            out[o++] = '?';
            in++;
        } else if (n == 1) {
            out[o++] = (*in < 0x20 || *in == 0x7f) ? ' ' : (char)*in;
            in++;
        } else {
            memcpy(out + o, in, n);
            o += n;
            in += n;
        }
    }
    out[o] = '\0';
    return out;
}

struct doctor_report *doctor_report_new(const char *uname_release, bool in_gvisor)
{
    struct doctor_report *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->schema = DOCTOR_REPORT_SCHEMA;
    r->kig_version = sanitized_copy(KIG_VERSION);
    r->uname_release = sanitized_copy(uname_release);
    r->in_gvisor = in_gvisor;
    if (!r->kig_version || !r->uname_release) {
        doctor_report_free(r);
        return NULL;
    }
    return r;
}

static void probe_result_done(struct doctor_probe_result *p)
{
    free(p->id);
    free(p->category);
    free(p->evidence);
    free(p->strategy);
}

void doctor_report_free(struct doctor_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_probes; i++)
        probe_result_done(&r->probes[i]);
    free(r->probes);
    free(r->kig_version);
    free(r->uname_release);
    free(r);
}

const struct doctor_probe_result *doctor_report_find(const struct doctor_report *r, const char *id)
{
    if (!r || !id)
        return NULL;
    for (size_t i = 0; i < r->n_probes; i++)
        if (strcmp(r->probes[i].id, id) == 0)
            return &r->probes[i];
    return NULL;
}

int doctor_report_status(const struct doctor_report *r, const char *id)
{
    const struct doctor_probe_result *p = doctor_report_find(r, id);
    return p ? (int)p->status : -ENOENT;
}

bool doctor_report_has(const struct doctor_report *r, const char *id)
{
    return doctor_report_status(r, id) == DOCTOR_PRESENT;
}

bool doctor_report_lacks(const struct doctor_report *r, const char *id)
{
    int s = doctor_report_status(r, id);
    return s == DOCTOR_MISSING || s == DOCTOR_PARTIAL;
}

static int grow(struct doctor_report *r)
{
    if (r->n_probes < r->allocated)
        return 0;
    size_t n = r->allocated ? r->allocated * 2 : 64;
    struct doctor_probe_result *p = realloc(r->probes, n * sizeof(*p));
    if (!p)
        return -ENOMEM;
    r->probes = p;
    r->allocated = n;
    return 0;
}

int doctor_report_add(struct doctor_report *r, const char *id, const char *category,
                      enum doctor_status status, const char *evidence, const char *strategy)
{
    if (!id || !*id || !doctor_status_to_string(status))
        return -EINVAL;
    if (r->n_probes >= DOCTOR_REPORT_MAX_PROBES)
        return -E2BIG;
    if (grow(r) < 0)
        return -ENOMEM;
    struct doctor_probe_result p = {
        .id = sanitized_copy(id),
        .category = sanitized_copy(category),
        .status = status,
        .evidence = sanitized_copy(evidence),
        .strategy = sanitized_copy(strategy),
    };
    if (!p.id || !p.category || !p.evidence || !p.strategy) {
        probe_result_done(&p);
        return -ENOMEM;
    }
    if (doctor_report_find(r, p.id)) {
        probe_result_done(&p);
        return -EINVAL;
    }
    r->probes[r->n_probes++] = p;
    return 0;
}

static json_t *probe_to_json(const struct doctor_probe_result *p)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", p->id, "category", p->category, "status",
                     doctor_status_to_string(p->status), "evidence", p->evidence, "strategy", p->strategy);
}

int doctor_report_to_json(const struct doctor_report *r, json_t **ret)
{
    json_t *probes = json_array();
    if (!probes)
        return -ENOMEM;
    for (size_t i = 0; i < r->n_probes; i++)
        if (json_array_append_new(probes, probe_to_json(&r->probes[i])) < 0) {
            json_decref(probes);
            return -ENOMEM;
        }
    /* "o" steals the array reference, also when json_pack fails. */
    json_t *j = json_pack("{s:i, s:s, s:s, s:b, s:o}", "schema", r->schema, "kig_version", r->kig_version,
                          "uname_release", r->uname_release, "in_gvisor", r->in_gvisor, "probes", probes);
    if (!j)
        return -ENOMEM;
    *ret = j;
    return 0;
}

int doctor_report_to_string(const struct doctor_report *r, char **ret)
{
    json_t *j;
    int k = doctor_report_to_json(r, &j);
    if (k < 0)
        return k;
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        return -ENOMEM;
    size_t n = strlen(s);
    char *out = realloc(s, n + 2);
    if (!out) {
        free(s);
        return -ENOMEM;
    }
    out[n] = '\n';
    out[n + 1] = '\0';
    *ret = out;
    return 0;
}

/* A member that must be a string; NULL when absent or of another type. */
static const char *get_string(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int probe_from_json(struct doctor_report *r, const json_t *p)
{
    if (!json_is_object(p))
        return -EBADMSG;
    const char *id = get_string(p, "id");
    const char *category = get_string(p, "category");
    const char *status = get_string(p, "status");
    const char *evidence = get_string(p, "evidence");
    const char *strategy = get_string(p, "strategy");
    if (!id || !*id || !category || !status || !evidence || !strategy)
        return -EBADMSG;
    /* jansson strings may hold NUL bytes (\u0000) only when asked to; refuse them anyway so C string
     * comparisons see the same id a JSON reader sees. */
    if (strlen(id) != json_string_length(json_object_get(p, "id")))
        return -EBADMSG;
    int s = doctor_status_from_string(status);
    if (s < 0)
        return -EBADMSG;
    int k = doctor_report_add(r, id, category, (enum doctor_status)s, evidence, strategy);
    if (k == -ENOMEM)
        return k;
    return k < 0 ? -EBADMSG : 0; /* duplicate id, or too many probes */
}

int doctor_report_from_json(const json_t *j, struct doctor_report **ret)
{
    if (!json_is_object(j))
        return -EBADMSG;
    const json_t *schema = json_object_get(j, "schema");
    if (!json_is_integer(schema))
        return -EBADMSG;
    if (json_integer_value(schema) != DOCTOR_REPORT_SCHEMA)
        return -EPROTONOSUPPORT;
    const char *version = get_string(j, "kig_version");
    const char *release = get_string(j, "uname_release");
    const json_t *in_gvisor = json_object_get(j, "in_gvisor");
    const json_t *probes = json_object_get(j, "probes");
    if (!version || !release || !json_is_boolean(in_gvisor) || !json_is_array(probes))
        return -EBADMSG;

    _cleanup_doctor_report_ struct doctor_report *r = doctor_report_new(release, json_is_true(in_gvisor));
    if (!r)
        return -ENOMEM;
    char *v = sanitized_copy(version);
    if (!v)
        return -ENOMEM;
    free(r->kig_version);
    r->kig_version = v;

    size_t i;
    const json_t *p;
    json_array_foreach(probes, i, p)
    {
        int k = probe_from_json(r, p);
        if (k < 0)
            return k;
    }
    *ret = TAKE_PTR(r);
    return 0;
}

int doctor_report_from_string(const char *data, size_t len, struct doctor_report **ret)
{
    json_error_t err;
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        return -EBADMSG;
    int k = doctor_report_from_json(j, ret);
    json_decref(j);
    return k;
}

int doctor_report_load(const char *path, struct doctor_report **ret)
{
    _cleanup_free_ char *data = NULL;
    size_t len;
    int k = read_file(path, &data, &len, 16u << 20);
    if (k < 0)
        return k;
    return doctor_report_from_string(data, len, ret);
}
