/* What an image archive holds, read from its table of contents and its few JSON documents before anything
 * is imported, so that a wrong file gets one clear line instead of containerd's error halfway through an
 * import. The two formats are the ones containerd's importer reads (images/archive/importer.go):
 *
 *   OCI image layout   oci-layout ({"imageLayoutVersion": "1.0.0"}), index.json, blobs/<alg>/<hex>
 *                      (skopeo copy oci-archive:, buildah push, docker save of Docker 25 and later,
 *                      scripts/build-images.sh); names come from the io.containerd.image.name annotation,
 *                      else org.opencontainers.image.ref.name (a tag alone needs a repository)
 *   docker archive     manifest.json ([{"Config": ..., "RepoTags": [...], "Layers": [...]}]) and the files
 *                      it names (docker save before Docker 25, skopeo copy docker-archive:)
 *
 * containerd prefers the OCI layout when both are present, and so does this. */
#pragma once

#include "tar-reader.h"

#include <stdbool.h>
#include <stddef.h>

enum image_archive_kind {
    IMAGE_ARCHIVE_OCI = 1,
    IMAGE_ARCHIVE_DOCKER,
};

struct image_archive_image {
    char **names; /* the names an import gives it (docker: normalized RepoTags; OCI: the annotation) */
    size_t n_names;
    char *tag_only; /* OCI: an org.opencontainers.image.ref.name that is a tag alone, else NULL */
    char *id;       /* OCI: the manifest's digest; docker: the config file's name in the archive */
    char *os, *architecture, *variant; /* the platform, when the archive says (NULL otherwise) */
    bool blob_missing; /* OCI: the manifest's blob is not in the archive (fine for another platform's) */
};

struct image_archive {
    enum image_archive_kind kind;
    struct image_archive_image *images;
    size_t n_images;
    size_t n_members; /* files, links and directories in the tar */
};

/* Reads the archive. Returns 0, or -EBADMSG with a one-line reason in why (not a tar, damaged, neither
 * format, a required file missing, invalid JSON, an invalid RepoTag), or the source's errno. */
int image_archive_inspect(const struct tar_source *src, struct image_archive *ret, char *why,
                          size_t why_size);
void image_archive_done(struct image_archive *a);

/* "OCI image layout" / "docker archive". */
const char *image_archive_kind_name(enum image_archive_kind kind);

/* Whether the archive has something a node (os "linux", arch e.g. "amd64") can run: some image without a
 * platform or with the node's, and none of those missing its manifest blob. Else -ENOEXEC (wrong
 * platform) or -EBADMSG (a blob missing) with a reason. */
int image_archive_check_node(const struct image_archive *a, const char *os, const char *arch, char *why,
                             size_t why_size);

/* The Go architecture name of this machine (amd64, arm64, ...). */
const char *image_archive_native_arch(void);

/* Detects a compressed file from its first bytes: "gzip", "bzip2", "xz", "zstd", or NULL. */
const char *image_archive_compression(const void *head, size_t len);
