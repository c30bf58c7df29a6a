/* What an image archive holds; see image-archive.h. Every rule mirrors containerd 1.6's importer
 * (images/archive/importer.go) and Go's encoding/json, which matches object keys case-insensitively. */
#include "image-archive.h"

#include "image-ref.h"
#include "macro.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

/* containerd reads at most 20 MiB of oci-layout and manifest.json; index.json and configs are small. */
#define JSON_MAX (20 * 1024 * 1024)

static int archive_fail(char *why, size_t why_size, const char *fmt, ...) _printf_(3, 4);
static int archive_fail(char *why, size_t why_size, const char *fmt, ...)
{
    if (why && why_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return -EBADMSG;
}

const char *image_archive_kind_name(enum image_archive_kind kind)
{
    return kind == IMAGE_ARCHIVE_OCI      ? "OCI image layout"
           : kind == IMAGE_ARCHIVE_DOCKER ? "docker archive"
                                          : "?";
}

const char *image_archive_compression(const void *head, size_t len)
{
    const uint8_t *b = head;
    if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return "gzip";
    if (len >= 3 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h')
        return "bzip2";
    if (len >= 6 && !memcmp(b,
                            "\xfd"
                            "7zXZ\0",
                            6))
        return "xz";
    if (len >= 4 && !memcmp(b, "\x28\xb5\x2f\xfd", 4))
        return "zstd";
    return NULL;
}

const char *image_archive_native_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__i386__)
    return "386";
#elif defined(__arm__)
    return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return "ppc64le";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
    static struct utsname u;
    return uname(&u) == 0 ? u.machine : "unknown";
#endif
}

/* One regular file or symlink of the tar. */
struct member {
    char *name; /* files: cleaned (containerd's blob key); symlinks: as stored */
    bool symlink;
    char *target; /* symlinks: path.Join(path.Dir(name), linkname) */
    uint64_t size, offset;
};

struct collect {
    struct member *v;
    size_t n, cap;
    size_t n_members;
    struct tar_entry *oci_layout, *index, *manifest; /* the last of each, as containerd keeps */
};

static void collect_done(struct collect *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].name);
        free(c->v[i].target);
    }
    free(c->v);
    free(c->oci_layout);
    free(c->index);
    free(c->manifest);
}

static int keep_entry(struct tar_entry **slot, const struct tar_entry *e)
{
    if (!*slot && !(*slot = malloc(sizeof(**slot))))
        return -ENOMEM;
    **slot = *e;
    return 0;
}

static int visit(const struct tar_entry *e, void *userdata)
{
    struct collect *c = userdata;
    c->n_members++;
    if (e->type != TAR_FILE && e->type != TAR_SYMLINK)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct member *v = realloc(c->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        c->v = v;
        c->cap = cap;
    }
    struct member *m = &c->v[c->n];
    *m = (struct member){.symlink = e->type == TAR_SYMLINK, .size = e->size, .offset = e->data_offset};
    if (m->symlink) {
        /* path.Join(path.Dir(name), linkname) */
        const char *slash = strrchr(e->name, '/');
        _cleanup_free_ char *joined = NULL;
        if (slash && asprintf(&joined, "%.*s/%s", (int)(slash - e->name), e->name, e->linkname) < 0)
            return -ENOMEM;
        char clean[TAR_NAME_MAX];
        tar_path_clean(joined ? joined : e->linkname, clean, sizeof(clean));
        m->name = strdup(e->name);
        m->target = strdup(clean);
        if (!m->name || !m->target) {
            free(m->name);
            free(m->target);
            return -ENOMEM;
        }
        c->n++;
        return 0;
    }
    if (!(m->name = strdup(e->clean)))
        return -ENOMEM;
    c->n++;
    int r = 0;
    if (strcmp(e->clean, "oci-layout") == 0)
        r = keep_entry(&c->oci_layout, e);
    else if (strcmp(e->clean, "index.json") == 0)
        r = keep_entry(&c->index, e);
    else if (strcmp(e->clean, "manifest.json") == 0)
        r = keep_entry(&c->manifest, e);
    return r;
}

/* The regular file containerd would take for this name: the last file of that (cleaned) name, or what the
 * last symlink of that (stored) name points at. */
static const struct member *find_blob(const struct collect *c, const char *name)
{
    for (size_t i = c->n; i-- > 0;) {
        const struct member *m = &c->v[i];
        if (m->symlink && strcmp(m->name, name) == 0) {
            for (size_t j = c->n; j-- > 0;)
                if (!c->v[j].symlink && strcmp(c->v[j].name, m->target) == 0)
                    return &c->v[j];
            return NULL;
        }
    }
    for (size_t i = c->n; i-- > 0;)
        if (!c->v[i].symlink && strcmp(c->v[i].name, name) == 0)
            return &c->v[i];
    return NULL;
}

/* Go's encoding/json matches keys case-insensitively (an exact match wins). */
static json_t *get_ci(json_t *obj, const char *key)
{
    if (!json_is_object(obj))
        return NULL;
    json_t *v = json_object_get(obj, key);
    if (v)
        return v;
    const char *k;
    json_object_foreach(obj, k, v) if (strcasecmp(k, key) == 0) return v;
    return NULL;
}

static const char *get_string_ci(json_t *obj, const char *key)
{
    json_t *v = get_ci(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int read_json(const struct tar_source *src, const struct tar_entry *e, const char *what, bool strict,
                     json_t **ret, char *why, size_t why_size)
{
    _cleanup_free_ char *text = NULL;
    int r = tar_read_member(src, e, JSON_MAX, &text);
    if (r == -EFBIG)
        return archive_fail(why, why_size, "its %s is larger than %d MiB", what, JSON_MAX >> 20);
    if (r == -EBADMSG)
        return archive_fail(why, why_size, "truncated in %s", what);
    if (r < 0)
        return r;
    json_error_t err;
    /* oci-layout and manifest.json are read with a json.Decoder (trailing data ignored); index.json with
     * json.Unmarshal (refused). */
    json_t *doc =
        json_loadb(text, (size_t)e->size, JSON_DECODE_ANY | (strict ? 0 : JSON_DISABLE_EOF_CHECK), &err);
    if (!doc)
        return archive_fail(why, why_size, "its %s is not valid JSON (%s at line %d)", what, err.text,
                            err.line);
    *ret = doc;
    return 0;
}

static void image_done(struct image_archive_image *img)
{
    for (size_t i = 0; i < img->n_names; i++)
        free(img->names[i]);
    free(img->names);
    free(img->tag_only);
    free(img->id);
    free(img->os);
    free(img->architecture);
    free(img->variant);
}

void image_archive_done(struct image_archive *a)
{
    for (size_t i = 0; i < a->n_images; i++)
        image_done(&a->images[i]);
    free(a->images);
    *a = (struct image_archive){0};
}

static struct image_archive_image *add_image(struct image_archive *a)
{
    struct image_archive_image *v = realloc(a->images, (a->n_images + 1) * sizeof(*v));
    if (!v)
        return NULL;
    a->images = v;
    v[a->n_images] = (struct image_archive_image){0};
    return &v[a->n_images++];
}

static int add_name(struct image_archive_image *img, const char *name)
{
    char **v = realloc(img->names, (img->n_names + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    img->names = v;
    if (!(v[img->n_names] = strdup(name)))
        return -ENOMEM;
    img->n_names++;
    return 0;
}

/* Copies an optional string; false only on ENOMEM. */
static bool dup_opt(char **dst, const char *s)
{
    if (!s || !*s)
        return true;
    return (*dst = strdup(s)) != NULL;
}

static int set_platform(struct image_archive_image *img, json_t *platform)
{
    if (!dup_opt(&img->os, get_string_ci(platform, "os")) ||
        !dup_opt(&img->architecture, get_string_ci(platform, "architecture")) ||
        !dup_opt(&img->variant, get_string_ci(platform, "variant")))
        return -ENOMEM;
    return 0;
}

static int inspect_oci(const struct tar_source *src, const struct collect *c, struct image_archive *a,
                       char *why, size_t why_size)
{
    json_t *layout_doc = NULL;
    int r = read_json(src, c->oci_layout, "oci-layout", false, &layout_doc, why, why_size);
    if (r < 0)
        return r;
    const char *version = get_string_ci(layout_doc, "imageLayoutVersion");
    if (!json_is_object(layout_doc) || !version || !*version) {
        json_decref(layout_doc);
        return archive_fail(why, why_size, "its oci-layout has no imageLayoutVersion");
    }
    if (strcmp(version, "1.0.0") != 0) {
        r = archive_fail(why, why_size, "its OCI layout version is '%.40s'; containerd imports version 1.0.0",
                         version);
        json_decref(layout_doc);
        return r;
    }
    json_decref(layout_doc);
    if (!c->index)
        return archive_fail(why, why_size, "it has an oci-layout but no index.json");

    json_t *index = NULL;
    r = read_json(src, c->index, "index.json", true, &index, why, why_size);
    if (r < 0)
        return r;
    json_t *manifests = get_ci(index, "manifests");
    if (!json_is_object(index) || !(json_is_array(manifests) || json_is_null(manifests) || !manifests)) {
        json_decref(index);
        return archive_fail(why, why_size, "its index.json is not an OCI image index");
    }
    if (json_array_size(manifests) == 0) {
        json_decref(index);
        return archive_fail(why, why_size, "its index.json lists no image");
    }
    size_t i;
    json_t *m;
    json_array_foreach(manifests, i, m)
    {
        const char *digest = get_string_ci(m, "digest");
        const char *colon = digest ? strchr(digest, ':') : NULL;
        if (!json_is_object(m) || !colon || colon == digest || !colon[1] || strchr(colon + 1, '/') ||
            strchr(digest, '/')) {
            json_decref(index);
            return archive_fail(why, why_size, "entry %zu of its index.json has no valid digest", i + 1);
        }
        struct image_archive_image *img = add_image(a);
        if (!img || !(img->id = strdup(digest))) {
            json_decref(index);
            return -ENOMEM;
        }
        char blob[TAR_NAME_MAX];
        snprintf(blob, sizeof(blob), "blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1);
        img->blob_missing = find_blob(c, blob) == NULL;
        json_t *ann = get_ci(m, "annotations");
        const char *name = get_string_ci(ann, "io.containerd.image.name");
        const char *ref = get_string_ci(ann, "org.opencontainers.image.ref.name");
        r = 0;
        if (name && *name)
            r = add_name(img, name);
        else if (ref && *ref && image_ref_is_full(ref))
            r = add_name(img, ref);
        else if (ref && *ref && !(img->tag_only = strdup(ref)))
            r = -ENOMEM;
        if (r == 0)
            r = set_platform(img, get_ci(m, "platform"));
        if (r < 0) {
            json_decref(index);
            return r;
        }
    }
    json_decref(index);
    a->kind = IMAGE_ARCHIVE_OCI;
    return 0;
}

static int inspect_docker(const struct tar_source *src, const struct collect *c, struct image_archive *a,
                          char *why, size_t why_size)
{
    json_t *doc = NULL;
    int r = read_json(src, c->manifest, "manifest.json", false, &doc, why, why_size);
    if (r < 0)
        return r;
    _cleanup_(json_decrefp) json_t *manifest = doc;
    if (!json_is_array(manifest))
        return archive_fail(why, why_size,
                            "its manifest.json is not a list of images (docker save's format)");
    if (json_array_size(manifest) == 0)
        return archive_fail(why, why_size, "its manifest.json lists no image");
    size_t i;
    json_t *m;
    json_array_foreach(manifest, i, m)
    {
        if (!json_is_object(m))
            return archive_fail(why, why_size, "entry %zu of its manifest.json is not an object", i + 1);
        const char *config = get_string_ci(m, "Config");
        if (!config || !*config)
            return archive_fail(why, why_size, "entry %zu of its manifest.json has no Config", i + 1);
        const struct member *cfg = find_blob(c, config);
        if (!cfg)
            return archive_fail(
                why, why_size, "its manifest.json names the image config %.200s, which is not in the archive",
                config);
        json_t *layers = get_ci(m, "Layers");
        if (layers && !json_is_array(layers) && !json_is_null(layers))
            return archive_fail(why, why_size, "entry %zu of its manifest.json has invalid Layers", i + 1);
        size_t k;
        json_t *l;
        json_array_foreach(layers, k, l)
        {
            if (!json_is_string(l))
                return archive_fail(why, why_size, "entry %zu of its manifest.json has invalid Layers",
                                    i + 1);
            if (!find_blob(c, json_string_value(l)))
                return archive_fail(why, why_size,
                                    "its manifest.json names the layer %.200s, which is not in the archive",
                                    json_string_value(l));
        }
        struct image_archive_image *img = add_image(a);
        if (!img || !(img->id = strdup(config)))
            return -ENOMEM;
        json_t *tags = get_ci(m, "RepoTags");
        if (tags && !json_is_array(tags) && !json_is_null(tags))
            return archive_fail(why, why_size, "entry %zu of its manifest.json has invalid RepoTags", i + 1);
        json_t *t;
        json_array_foreach(tags, k, t)
        {
            char norm[IMAGE_REF_MAX], reason[160];
            if (!json_is_string(t))
                return archive_fail(why, why_size, "entry %zu of its manifest.json has invalid RepoTags",
                                    i + 1);
            if (image_ref_normalize(json_string_value(t), norm, sizeof(norm), reason, sizeof(reason)) < 0)
                return archive_fail(
                    why, why_size,
                    "its manifest.json names the image '%.200s', which is not a valid name: %s",
                    json_string_value(t), reason);
            r = add_name(img, norm);
            if (r < 0)
                return r;
        }
        /* The platform is in the image config (containerd reads it to label the manifest). */
        struct tar_entry e = {.size = cfg->size, .data_offset = cfg->offset};
        json_t *config_doc = NULL;
        char what[300];
        snprintf(what, sizeof(what), "image config %.200s", config);
        r = read_json(src, &e, what, true, &config_doc, why, why_size);
        if (r < 0)
            return r;
        if (!json_is_object(config_doc)) {
            json_decref(config_doc);
            return archive_fail(why, why_size, "its %s is not a JSON object", what);
        }
        r = set_platform(img, config_doc);
        json_decref(config_doc);
        if (r < 0)
            return r;
    }
    a->kind = IMAGE_ARCHIVE_DOCKER;
    return 0;
}

int image_archive_inspect(const struct tar_source *src, struct image_archive *ret, char *why, size_t why_size)
{
    *ret = (struct image_archive){0};
    if (why && why_size)
        why[0] = '\0';
    uint8_t head[8] = {0};
    size_t head_len = src->size < sizeof(head) ? (size_t)src->size : sizeof(head);
    if (head_len > 0) {
        int64_t n = src->read_at(src->ctx, 0, head, head_len);
        if (n < 0)
            return (int)n;
        const char *z = image_archive_compression(head, (size_t)n);
        if (z)
            return archive_fail(why, why_size,
                                "it is %s-compressed; decompress it first: containerd imports plain tar", z);
    }

    _cleanup_(collect_done) struct collect c = {0};
    int r = tar_walk(src, visit, &c, why, why_size);
    if (r < 0)
        return r;
    if (c.n_members == 0)
        return archive_fail(why, why_size, "it is an empty tar archive");

    struct image_archive a = {.n_members = c.n_members};
    if (c.oci_layout)
        r = inspect_oci(src, &c, &a, why, why_size);
    else if (c.manifest)
        r = inspect_docker(src, &c, &a, why, why_size);
    else
        r = archive_fail(
            why, why_size,
            "neither an OCI image layout (oci-layout and index.json) nor a docker archive (manifest.json)");
    if (r < 0) {
        image_archive_done(&a);
        return r;
    }
    *ret = a;
    return 0;
}

static bool platform_matches(const struct image_archive_image *img, const char *os, const char *arch)
{
    return (!img->os || strcmp(img->os, os) == 0) &&
           (!img->architecture || strcmp(img->architecture, arch) == 0);
}

int image_archive_check_node(const struct image_archive *a, const char *os, const char *arch, char *why,
                             size_t why_size)
{
    bool usable = false;
    for (size_t i = 0; i < a->n_images; i++) {
        const struct image_archive_image *img = &a->images[i];
        if (!platform_matches(img, os, arch))
            continue;
        if (img->blob_missing)
            return archive_fail(why, why_size,
                                "its index.json lists the manifest %.100s, which is not in the archive",
                                img->id);
        usable = true;
    }
    if (usable)
        return 0;
    char list[256] = "";
    for (size_t i = 0; i < a->n_images && strlen(list) < sizeof(list) - 40; i++) {
        const struct image_archive_image *img = &a->images[i];
        size_t len = strlen(list);
        snprintf(list + len, sizeof(list) - len, "%s%s/%s%s%s", i ? ", " : "", img->os ? img->os : "?",
                 img->architecture ? img->architecture : "?", img->variant ? "/" : "",
                 img->variant ? img->variant : "");
    }
    if (why && why_size)
        snprintf(why, why_size, "it holds images for %s only; this node runs %s/%s", list, os, arch);
    return -ENOEXEC;
}
