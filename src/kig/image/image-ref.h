/* Image references as Kubernetes and containerd's CRI compare them. kubelet passes a pod's image to the
 * CRI, which normalizes it before it looks the image up ("busybox" -> "docker.io/library/busybox:latest"),
 * so an image loaded under any other spelling of the same name is never found. kig therefore names what
 * it loads in the normalized form. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The longest reference kig handles (the name part is limited to 255 by the reference grammar). */
#define IMAGE_REF_MAX 512

/* Parses ref with the grammar of github.com/distribution/reference and writes its normalized form:
 * docker.io for a name without a registry domain, library/ for a single docker.io path component,
 * ":latest" when there is neither a tag nor a digest, and no tag when there is a digest (containerd's
 * ParseDockerRef). Returns 0, or -EINVAL with a short reason in why. */
int image_ref_normalize(const char *ref, char *out, size_t out_size, char *why, size_t why_size);

/* The repository of a normalized reference: everything before its tag or digest. */
void image_ref_repository(const char *normalized, char *out, size_t out_size);

/* Whether a name is already in normalized form (image_ref_normalize gives it back unchanged). */
bool image_ref_is_normalized(const char *ref);

/* Whether s is a registry host as the reference grammar has it: DNS-like components, an optional :port. */
bool image_ref_valid_registry_host(const char *s);

/* Whether an OCI org.opencontainers.image.ref.name is a whole reference rather than a tag alone: the rule
 * of containerd's importer (it contains '/', ':' or '@'). */
bool image_ref_is_full(const char *ref_name);
