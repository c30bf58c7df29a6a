/* libFuzzer target for what `kig image load` reads from a file it was given: the tar table of contents
 * (tar-reader.c), the archive-kind detection and its JSON documents (image-archive.c), and the image names
 * in them (image-ref.c). Any input must be accepted or refused with a reason, without crashing or leaking;
 * what is accepted must be consistent: members inside the input, at least one image, names in normalized
 * form for docker archives, and normalization idempotent.
 *
 * The sources live in kig's image library: they are compiled into this target so that they carry the
 * fuzzer's instrumentation. */
#include "../../src/kig/image/image-archive.c"
#include "../../src/kig/image/image-ref.c"
#include "../../src/kig/image/tar-reader.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct bounds {
    uint64_t size;
};

static int check_entry(const struct tar_entry *e, void *userdata)
{
    const struct bounds *b = userdata;
    if (e->data_offset > b->size || e->size > b->size - e->data_offset)
        abort(); /* a member's data is always inside the archive */
    if (strnlen(e->name, sizeof(e->name)) == sizeof(e->name) ||
        strnlen(e->clean, sizeof(e->clean)) == sizeof(e->clean))
        abort();
    if (strlen(e->clean) > (strlen(e->name) ? strlen(e->name) : 1))
        abort(); /* cleaning never lengthens a path */
    return 0;
}

static void check_why(int r, const char *why, size_t size)
{
    if (r == -EBADMSG && (!why[0] || strnlen(why, size) == size))
        abort(); /* a refusal always says why */
}

static void check_ref(const uint8_t *data, size_t size)
{
    char *s = strndup((const char *)data, size < 600 ? size : 600);
    if (!s)
        return;
    char out[IMAGE_REF_MAX], again[IMAGE_REF_MAX], why[256];
    if (image_ref_normalize(s, out, sizeof(out), why, sizeof(why)) == 0) {
        if (image_ref_normalize(out, again, sizeof(again), why, sizeof(why)) != 0 || strcmp(out, again) != 0)
            abort();
        char repo[IMAGE_REF_MAX];
        image_ref_repository(out, repo, sizeof(repo));
        if (strncmp(out, repo, strlen(repo)) != 0)
            abort();
    } else if (!why[0]) {
        abort();
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tar_source src;
    struct tar_memory mem;
    tar_source_memory(&src, &mem, data, size);
    char why[512];
    struct bounds b = {.size = size};
    int r = tar_walk(&src, check_entry, &b, why, sizeof(why));
    check_why(r, why, sizeof(why));

    struct image_archive a;
    r = image_archive_inspect(&src, &a, why, sizeof(why));
    check_why(r, why, sizeof(why));
    if (r == 0) {
        if (a.n_images == 0 || (a.kind != IMAGE_ARCHIVE_OCI && a.kind != IMAGE_ARCHIVE_DOCKER))
            abort();
        for (size_t i = 0; i < a.n_images; i++) {
            const struct image_archive_image *img = &a.images[i];
            if (!img->id)
                abort();
            for (size_t k = 0; k < img->n_names; k++)
                if (!img->names[k][0] ||
                    (a.kind == IMAGE_ARCHIVE_DOCKER && !image_ref_is_normalized(img->names[k])))
                    abort();
        }
        r = image_archive_check_node(&a, "linux", "amd64", why, sizeof(why));
        if (r < 0 && !why[0])
            abort();
        image_archive_done(&a);
    }
    check_ref(data, size);
    return 0;
}
