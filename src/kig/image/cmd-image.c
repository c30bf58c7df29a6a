/* `kig image load FILE...` and `kig image list`: images into and out of the node's containerd without a
 * registry (docs/images.md). The archive is checked here first, so a wrong file, a missing name or a
 * cluster that is not up gets one line naming the cause and the fix; ctr then does the import. */
#include "cli.h"
#include "image-archive.h"
#include "image-ctr.h"
#include "image-node.h"
#include "image-ref.h"
#include "log.h"
#include "macro.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define ARCHIVE_HINT                                                                                         \
    "save images with 'docker save IMAGE -o FILE.tar' or 'skopeo copy ... oci-archive:FILE.tar'"

/* A checked archive, ready for import. */
struct load_item {
    const char *file;
    struct image_archive archive;
    bool tag_only; /* has OCI names that are tags alone (they need --base-name) */
};

static void load_item_done(struct load_item *it)
{
    image_archive_done(&it->archive);
}

/* Opens and inspects one archive; logs the one-line error. */
static int check_file(const char *file, const char *name, struct load_item *it)
{
    *it = (struct load_item){.file = file};
    _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int r = negative_errno();
        if (r == -ENOENT)
            return log_error_errno(r, "%s does not exist: check the path", file);
        return log_error_errno(r, "cannot read %s (%m): run kig as a user who can read it", file);
    }
    struct tar_source src;
    int r = tar_source_fd(&src, &fd);
    if (r == -EISDIR)
        return log_error_errno(
            r,
            "%s is a directory, not an archive: give the .tar file (an OCI layout directory "
            "becomes one with 'tar -C DIR -cf FILE.tar .')",
            file);
    if (r == -EINVAL)
        return log_error_errno(r, "%s is not a regular file: save the archive to a file first", file);
    if (r < 0)
        return log_error_errno(r, "cannot read %s (%m)", file);

    uint8_t head[8];
    ssize_t n = pread(fd, head, sizeof(head), 0);
    if (n < 0)
        return log_error_errno(negative_errno(), "cannot read %s (%m)", file);
    const char *z = image_archive_compression(head, (size_t)n);
    if (z)
        return log_error_errno(
            EBADMSG,
            "%s is %s-compressed: decompress it first (e.g. '%s -dk %s'); containerd imports "
            "plain tar archives",
            file, z, strcmp(z, "gzip") == 0 ? "gzip" : z, file);

    char why[512];
    r = image_archive_inspect(&src, &it->archive, why, sizeof(why));
    if (r == -EBADMSG) {
        if (strncmp(why, "not a tar archive", 17) == 0)
            return log_error_errno(r, "%s is %s: %s", file, why, ARCHIVE_HINT);
        return log_error_errno(r, "%s is not an image archive kig can load: %s; %s", file, why, ARCHIVE_HINT);
    }
    if (r < 0)
        return log_error_errno(r, "cannot read %s (%m)", file);

    const struct image_archive *a = &it->archive;
    r = image_archive_check_node(a, "linux", image_archive_native_arch(), why, sizeof(why));
    if (r == -ENOEXEC)
        return log_error_errno(r, "%s cannot run here: %s; save the image for linux/%s", file, why,
                               image_archive_native_arch());
    if (r < 0)
        return log_error_errno(r, "%s is not an image archive kig can load: %s; %s", file, why, ARCHIVE_HINT);

    size_t named = 0, unnamed = 0;
    const char *tag = NULL;
    for (size_t i = 0; i < a->n_images; i++) {
        const struct image_archive_image *img = &a->images[i];
        if (img->n_names > 0)
            named++;
        else if (img->tag_only)
            tag = img->tag_only, it->tag_only = true;
        else
            unnamed++;
        for (size_t k = 0; k < img->n_names; k++)
            if (a->kind == IMAGE_ARCHIVE_OCI && !image_ref_is_normalized(img->names[k])) {
                char norm[IMAGE_REF_MAX];
                if (image_ref_normalize(img->names[k], norm, sizeof(norm), NULL, 0) == 0)
                    log_warn("%s names its image '%s', which Kubernetes looks up as '%s': use that name in "
                             "pods, or load it with --name %s",
                             file, img->names[k], norm, norm);
                else
                    log_warn(
                        "%s names its image '%s', which is not a valid image name: load it with --name NAME",
                        file, img->names[k]);
            }
    }
    if (name && a->n_images > 1)
        return log_error_errno(EINVAL,
                               "%s holds %zu images; --name names an archive of one image: load it without "
                               "--name (its images keep their own names)",
                               file, a->n_images);
    if (!name && tag)
        return log_error_errno(EINVAL,
                               "%s names its image only by the tag '%s' (org.opencontainers.image.ref.name): "
                               "give the whole name with --name (e.g. --name example.com/app:%s)",
                               file, tag, tag);
    if (!name && named == 0)
        return log_error_errno(
            EINVAL, "%s's image has no name (%s): give it one with --name NAME", file,
            a->kind == IMAGE_ARCHIVE_OCI
                ? "no io.containerd.image.name or org.opencontainers.image.ref.name annotation "
                  "in index.json"
                : "no RepoTags in manifest.json");
    if (!name && unnamed > 0)
        log_warn("%zu of the %zu images in %s have no name and will not be listed; load them one by one with "
                 "--name",
                 unnamed, a->n_images, file);
    return 0;
}

static void print_loaded(const char *image, const char *digest, void *userdata)
{
    (void)digest;
    printf("loaded image %s\n", image);
    (*(size_t *)userdata)++;
}

static int image_load(int argc, char **argv)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"name", required_argument, NULL, 'N'},
        {},
    };
    const char *data_dir = NULL, *name_arg = NULL;
    _cleanup_free_ const char **files = calloc((size_t)argc + 1, sizeof(*files));
    int n_files = 0;
    if (!files) {
        log_error("out of memory");
        return 1;
    }
    /* Options may follow the files ('kig image load a.tar --name x'): cli_getopt stops at the first
     * operand, so take it and go on parsing. */
    for (;;) {
        int c = cli_getopt(argc, argv, "image", "", options);
        if (c == -1) {
            if (optind >= argc)
                break;
            files[n_files++] = argv[optind++];
            continue;
        }
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'N':
            name_arg = optarg;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (n_files == 0)
        return cli_usage_error("image", "which archive? (e.g. 'kig image load busybox.tar')");
    if (name_arg && n_files > 1)
        return cli_usage_error("image", "--name names one image: give one FILE with it");
    char name[IMAGE_REF_MAX], repo[IMAGE_REF_MAX], why[256];
    if (name_arg && image_ref_normalize(name_arg, name, sizeof(name), why, sizeof(why)) < 0)
        return cli_usage_error("image", "invalid --name '%s': %s", name_arg, why);
    if (name_arg)
        image_ref_repository(name, repo, sizeof(repo));

    /* Every archive is checked before anything is imported. */
    _cleanup_free_ struct load_item *items = calloc((size_t)n_files, sizeof(*items));
    if (!items) {
        log_error("out of memory");
        return 1;
    }
    int r = 0;
    for (int i = 0; i < n_files && r == 0; i++)
        r = check_file(files[i], name_arg ? name : NULL, &items[i]);
    if (r == 0) {
        _cleanup_(image_node_done) struct image_node node = {0};
        r = image_node_open(&node, data_dir);
        for (int i = 0; i < n_files && r == 0; i++) {
            struct image_import imp = {
                .file = items[i].file,
                .index_name = name_arg ? name : NULL,
                .base_name = name_arg && items[i].tag_only ? repo : NULL,
            };
            _cleanup_free_ char *out = NULL;
            char err[512];
            r = image_ctr_import(&node, &imp, &out, err, sizeof(err));
            if (r < 0) {
                log_error("containerd could not import %s: %s", items[i].file, err);
                break;
            }
            size_t n = 0;
            image_ctr_parse_import(out, print_loaded, &n);
            if (n == 0)
                printf("loaded %s (no named image)\n", items[i].file);
        }
    }
    for (int i = 0; i < n_files; i++)
        load_item_done(&items[i]);
    fflush(stdout);
    return r < 0 ? 1 : 0;
}

static int image_list(int argc, char **argv)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"all", no_argument, NULL, 'a'},
        {"quiet", no_argument, NULL, 'q'},
        {},
    };
    const char *data_dir = NULL;
    bool all = false, quiet = false;
    int c;
    while ((c = cli_getopt(argc, argv, "image", "aq", options)) != -1) {
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'a':
            all = true;
            break;
        case 'q':
            quiet = true;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error("image", "unexpected argument '%s'", argv[optind]);

    _cleanup_(image_node_done) struct image_node node = {0};
    if (image_node_open(&node, data_dir) < 0)
        return 1;
    _cleanup_free_ char *out = NULL;
    char err[512];
    if (image_ctr_list(&node, &out, err, sizeof(err)) < 0) {
        log_error("cannot list containerd's images: %s", err);
        return 1;
    }
    _cleanup_free_ struct image_ctr_row *rows = NULL;
    size_t n = 0;
    if (image_ctr_parse_list(out, &rows, &n) < 0) {
        log_error("out of memory");
        return 1;
    }
    size_t width = 5;
    for (size_t i = 0; i < n; i++)
        if ((all || !image_ctr_ref_is_internal(rows[i].ref)) && strlen(rows[i].ref) > width)
            width = strlen(rows[i].ref);
    if (!quiet)
        printf("%-*s  %-19s  %-10s  %s\n", (int)width, "IMAGE", "DIGEST", "SIZE", "PLATFORMS");
    for (size_t i = 0; i < n; i++) {
        const struct image_ctr_row *row = &rows[i];
        if (!all && image_ctr_ref_is_internal(row->ref))
            continue;
        if (quiet) {
            printf("%s\n", row->ref);
            continue;
        }
        /* sha256: and the first 12 hex digits, as docker shows ids */
        printf("%-*s  %-19.19s  %-10s  %s\n", (int)width, row->ref, row->digest, row->size, row->platforms);
    }
    return 0;
}

int cmd_image(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("image", "which subcommand? 'load' or 'list'");
    const char *sub = argv[1];
    optind = 1;
    if (strcmp(sub, "load") == 0)
        return image_load(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
        return image_list(argc - 1, argv + 1);
    if (sub[0] == '-')
        return cli_usage_error("image", "unknown option '%s' (give 'load' or 'list' first)", sub);
    return cli_usage_error("image", "unknown subcommand '%s' (one of: load, list)", sub);
}
