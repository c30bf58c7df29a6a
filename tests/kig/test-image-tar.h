/* Builds tar archives in memory for the image tests: ustar headers with correct checksums, pax and GNU
 * long-name headers, and the OCI and docker image layouts on top. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tb {
    uint8_t *data;
    size_t len;
};

static inline void tb_raw(struct tb *t, const void *p, size_t n)
{
    t->data = realloc(t->data, t->len + n);
    memcpy(t->data + t->len, p, n);
    t->len += n;
}

static inline void tb_pad(struct tb *t)
{
    static const uint8_t zero[512];
    if (t->len % 512)
        tb_raw(t, zero, 512 - t->len % 512);
}

/* width-1 octal digits and a NUL, as tar writes numbers. */
static inline void tb_octal(uint8_t *f, size_t width, uint64_t v)
{
    for (size_t i = width - 1; i-- > 0; v >>= 3)
        f[i] = (uint8_t)('0' + (v & 7));
    f[width - 1] = '\0';
}

/* A header block; magic "ustar\0" "00" unless gnu ("ustar  \0"). Returns its offset in the archive. */
static inline size_t tb_header(struct tb *t, const char *name, const char *prefix, char type, uint64_t size,
                               const char *link, bool gnu)
{
    uint8_t h[512] = {0};
    snprintf((char *)h, 100, "%s", name);
    tb_octal(h + 100, 8, 0644);
    tb_octal(h + 108, 8, 0);
    tb_octal(h + 116, 8, 0);
    tb_octal(h + 124, 12, size);
    tb_octal(h + 136, 12, 0);
    h[156] = (uint8_t)type;
    if (link)
        snprintf((char *)h + 157, 100, "%s", link);
    if (gnu)
        memcpy(h + 257, "ustar  ", 8);
    else
        memcpy(h + 257,
               "ustar\0"
               "00",
               8);
    if (prefix)
        snprintf((char *)h + 345, 155, "%s", prefix);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    tb_octal(h + 148, 7, sum);
    h[155] = ' ';
    size_t off = t->len;
    tb_raw(t, h, sizeof(h));
    return off;
}

static inline void tb_file(struct tb *t, const char *name, const void *content, size_t n)
{
    tb_header(t, name, NULL, '0', n, NULL, false);
    tb_raw(t, content, n);
    tb_pad(t);
}

static inline void tb_text(struct tb *t, const char *name, const char *text)
{
    tb_file(t, name, text, strlen(text));
}

static inline void tb_dir(struct tb *t, const char *name)
{
    tb_header(t, name, NULL, '5', 0, NULL, false);
}

static inline void tb_symlink(struct tb *t, const char *name, const char *target)
{
    tb_header(t, name, NULL, '2', 0, target, false);
}

/* A pax header giving the next member's path. */
static inline void tb_pax_path(struct tb *t, const char *path)
{
    char rec[8192];
    size_t body = strlen(" path=\n") + strlen(path);
    size_t len = body + 1;
    while (snprintf(NULL, 0, "%zu", len) + body != len)
        len++;
    snprintf(rec, sizeof(rec), "%zu path=%s\n", len, path);
    tb_header(t, "PaxHeaders/x", NULL, 'x', strlen(rec), NULL, false);
    tb_raw(t, rec, strlen(rec));
    tb_pad(t);
}

/* A GNU long name ('L') for the next member. */
static inline void tb_gnu_longname(struct tb *t, const char *path)
{
    tb_header(t, "././@LongLink", NULL, 'L', strlen(path) + 1, NULL, true);
    tb_raw(t, path, strlen(path) + 1);
    tb_pad(t);
}

static inline void tb_end(struct tb *t)
{
    static const uint8_t zero[1024];
    tb_raw(t, zero, sizeof(zero));
}

#define TB_DIGEST_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TB_BLOB_A   "blobs/sha256/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TB_DIGEST_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define TB_BLOB_B   "blobs/sha256/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* An OCI layout whose index.json is index (the blobs for digests A and B are present). */
static inline struct tb tb_oci(const char *index)
{
    struct tb t = {0};
    tb_text(&t, "oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}");
    tb_text(&t, "index.json", index);
    tb_dir(&t, "blobs/");
    tb_dir(&t, "blobs/sha256/");
    tb_text(&t, TB_BLOB_A, "{}");
    tb_text(&t, TB_BLOB_B, "{}");
    tb_end(&t);
    return t;
}

/* A docker archive with one config (abc.json, amd64) and one layer (l1/layer.tar). */
static inline struct tb tb_docker(const char *manifest)
{
    struct tb t = {0};
    tb_text(&t, "abc.json", "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{}}");
    tb_dir(&t, "l1/");
    tb_text(&t, "l1/layer.tar", "not really a layer");
    tb_text(&t, "manifest.json", manifest);
    tb_end(&t);
    return t;
}
