/* containerd's own client, ctr, as kig's import engine: it streams the archive into containerd's content
 * store, creates the images in the CRI's namespace (where kubelet sees them at once) and unpacks them with
 * the CRI's snapshotter. kig checks the archive and the node first (image-archive.h, image-node.h) and
 * reads ctr's output back here. */
#pragma once

#include "image-node.h"

#include <stddef.h>

struct image_import {
    const char *file;
    const char *index_name; /* --index-name: a name for the archive's index (kig image load --name) */
    const char *base_name;  /* --base-name: the repository for tag-only OCI names */
};

/* Runs `ctr images import`. On success *ret_out holds ctr's stdout; on failure returns -EIO with ctr's
 * last error line (without its "ctr: " prefix) in why. */
int image_ctr_import(const struct image_node *n, const struct image_import *imp, char **ret_out, char *why,
                     size_t why_size);

/* Runs `ctr images ls`; *ret_out holds its stdout. Errors as for import. */
int image_ctr_list(const struct image_node *n, char **ret_out, char *why, size_t why_size);

/* Calls fn for each image ctr's import output reports ("unpacking NAME (sha256:...)...done"). Returns the
 * number of images. */
size_t image_ctr_parse_import(const char *out,
                              void (*fn)(const char *name, const char *digest, void *userdata),
                              void *userdata);

/* One row of `ctr images ls`. */
struct image_ctr_row {
    char ref[512];
    char digest[80];
    char size[48]; /* as ctr prints it: "1.1 MiB" */
    char platforms[128];
};

/* Parses `ctr images ls` output (REF TYPE DIGEST SIZE PLATFORMS LABELS). Returns the rows in *ret (caller
 * frees) and their number, or a negative errno. */
int image_ctr_parse_list(const char *out, struct image_ctr_row **ret, size_t *ret_n);

/* Whether a ref is one the CRI adds for its own bookkeeping (an image id "sha256:..." or a repo digest
 * "name@sha256:..."), hidden by `kig image list` unless --all. */
bool image_ctr_ref_is_internal(const char *ref);
