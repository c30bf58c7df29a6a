/* kig image load's checks: the tar reader (ustar, pax, GNU long names, damage) and the archive-kind
 * detection (OCI image layout, docker archive), on archives built in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "image-archive.h"
#include "tar-reader.h"
#include "test-image-tar.h"

#include <errno.h>
#include <string.h>

struct names {
    char list[4096];
    size_t n;
};

static int collect_names(const struct tar_entry *e, void *userdata)
{
    struct names *n = userdata;
    size_t len = strlen(n->list);
    snprintf(n->list + len, sizeof(n->list) - len, "%s%s|%c|%llu", n->n ? " " : "", e->clean,
             "fdslo"[e->type], (unsigned long long)e -> size);
    n->n++;
    return 0;
}

static int walk(const struct tb *t, struct names *n, char *why, size_t why_size)
{
    struct tar_source src;
    struct tar_memory mem;
    tar_source_memory(&src, &mem, t->data, t->len);
    *n = (struct names){0};
    return tar_walk(&src, collect_names, n, why, why_size);
}

static void test_path_clean(void **state)
{
    static const char *cases[][2] = {
        {"", "."},
        {"./index.json", "index.json"},
        {"a//b/../c", "a/c"},
        {"/a/../..", "/"},
        {"../x", "../x"},
        {"a/./b/", "a/b"},
        {"./", "."},
        {"a/../../b", "../b"},
        {"/", "/"},
        {"blobs/sha256/", "blobs/sha256"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        tar_path_clean(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
    }
}

static void test_walk_kinds_and_names(void **state)
{
    struct tb t = {0};
    tb_text(&t, "./a.txt", "hello");
    tb_dir(&t, "d/");
    tb_symlink(&t, "d/link", "../a.txt");
    tb_header(&t, "file.txt", "some/prefix", '0', 3, NULL, false);
    tb_raw(&t, "abc", 3);
    tb_pad(&t);
    char long_name[300];
    memset(long_name, 'p', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    memcpy(long_name + 100, "/x", 2);
    tb_pax_path(&t, long_name);
    tb_text(&t, "short-ignored", "1");
    tb_gnu_longname(&t, "gnu/very/long/name.json");
    tb_header(&t, "ignored", NULL, '0', 2, NULL, true);
    tb_raw(&t, "{}", 2);
    tb_pad(&t);
    tb_end(&t);

    struct names n;
    char why[256];
    assert_int_equal(walk(&t, &n, why, sizeof(why)), 0);
    assert_int_equal(n.n, 6);
    char expect[1024];
    snprintf(expect, sizeof(expect),
             "a.txt|f|5 d|d|0 d/link|s|0 some/prefix/file.txt|f|3 %s|f|1 gnu/very/long/name.json|f|2",
             long_name);
    assert_string_equal(n.list, expect);
    free(t.data);
}

static void test_walk_without_end_blocks(void **state)
{
    struct tb t = {0};
    tb_text(&t, "x", "1");
    struct names n;
    char why[256];
    assert_int_equal(walk(&t, &n, why, sizeof(why)), 0);
    assert_int_equal(n.n, 1);
    free(t.data);
}

static void test_walk_empty_archive(void **state)
{
    struct tb t = {0};
    tb_end(&t);
    struct names n;
    char why[256];
    assert_int_equal(walk(&t, &n, why, sizeof(why)), 0);
    assert_int_equal(n.n, 0);
    free(t.data);
}

static void test_walk_refuses_non_tar(void **state)
{
    char why[256];
    struct names n;
    struct tb t = {0};
    tb_raw(&t, "root:x:0:0:root:/root:/bin/sh\n", 30);
    assert_int_equal(walk(&t, &n, why, sizeof(why)), -EBADMSG);
    assert_string_equal(why, "not a tar archive (30 bytes, less than one tar header)");
    uint8_t junk[2048];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 7 + 3);
    t.len = 0;
    tb_raw(&t, junk, sizeof(junk));
    assert_int_equal(walk(&t, &n, why, sizeof(why)), -EBADMSG);
    assert_string_equal(why, "not a tar archive (no valid tar header at its start)");
    free(t.data);
}

static void test_walk_damage(void **state)
{
    char why[256];
    struct names n;
    /* a bad checksum after the first member */
    struct tb t = {0};
    tb_text(&t, "a", "1");
    size_t off = tb_header(&t, "b", NULL, '0', 0, NULL, false);
    t.data[off + 10] ^= 1;
    tb_end(&t);
    assert_int_equal(walk(&t, &n, why, sizeof(why)), -EBADMSG);
    assert_non_null(strstr(why, "bad header checksum at byte 1024"));
    free(t.data);

    /* a member longer than the file */
    t = (struct tb){0};
    tb_header(&t, "big", NULL, '0', 100000, NULL, false);
    tb_raw(&t, "abc", 3);
    tb_pad(&t);
    assert_int_equal(walk(&t, &n, why, sizeof(why)), -EBADMSG);
    assert_non_null(strstr(why, "truncated"));
    free(t.data);

    /* stray bytes after the last member */
    t = (struct tb){0};
    tb_text(&t, "a", "1");
    tb_raw(&t, "xyz", 3);
    assert_int_equal(walk(&t, &n, why, sizeof(why)), -EBADMSG);
    assert_non_null(strstr(why, "stray bytes"));
    free(t.data);

    /* a lone empty block followed by a header */
    t = (struct tb){0};
    tb_text(&t, "a", "1");
    uint8_t zero[512] = {0};
    tb_raw(&t, zero, sizeof(zero));
    tb_text(&t, "b", "2");
    assert_int_equal(walk(&t, &n, why, sizeof(why)), -EBADMSG);
    assert_non_null(strstr(why, "lone empty block"));
    free(t.data);

    /* an invalid size field */
    t = (struct tb){0};
    off = tb_header(&t, "a", NULL, '0', 0, NULL, false);
    memcpy(t.data + off + 124, "99999999999", 11); /* not octal */
    memset(t.data + off + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += t.data[off + i];
    tb_octal(t.data + off + 148, 7, sum);
    tb_end(&t);
    assert_int_equal(walk(&t, &n, why, sizeof(why)), -EBADMSG);
    assert_non_null(strstr(why, "invalid size"));
    free(t.data);

    /* a malformed pax record */
    t = (struct tb){0};
    tb_header(&t, "PaxHeaders/x", NULL, 'x', 12, NULL, false);
    tb_raw(&t, "99 path=abc\n", 12);
    tb_pad(&t);
    tb_text(&t, "a", "1");
    tb_end(&t);
    assert_int_equal(walk(&t, &n, why, sizeof(why)), -EBADMSG);
    assert_non_null(strstr(why, "pax header record"));
    free(t.data);
}

static void test_walk_base256_size(void **state)
{
    struct tb t = {0};
    size_t off = tb_header(&t, "a", NULL, '0', 0, NULL, false);
    uint8_t *h = t.data + off;
    memset(h + 124, 0, 12);
    h[124] = 0x80;
    h[135] = 3; /* 3 bytes */
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    tb_octal(h + 148, 7, sum);
    tb_raw(&t, "xyz", 3);
    tb_pad(&t);
    tb_end(&t);
    struct names n;
    char why[256];
    assert_int_equal(walk(&t, &n, why, sizeof(why)), 0);
    assert_string_equal(n.list, "a|f|3");
    free(t.data);
}

static int stop_at_second(const struct tar_entry *e, void *userdata)
{
    return ++*(int *)userdata == 2 ? 7 : 0;
}

static void test_walk_visitor_stops(void **state)
{
    struct tb t = {0};
    tb_text(&t, "a", "1");
    tb_text(&t, "b", "2");
    tb_text(&t, "c", "3");
    tb_end(&t);
    struct tar_source src;
    struct tar_memory mem;
    tar_source_memory(&src, &mem, t.data, t.len);
    int count = 0;
    assert_int_equal(tar_walk(&src, stop_at_second, &count, NULL, 0), 7);
    assert_int_equal(count, 2);
    free(t.data);
}

static int inspect(const struct tb *t, struct image_archive *a, char *why, size_t why_size)
{
    struct tar_source src;
    struct tar_memory mem;
    tar_source_memory(&src, &mem, t->data, t->len);
    return image_archive_inspect(&src, a, why, why_size);
}

static void test_oci_named(void **state)
{
    struct tb t = tb_oci(
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"digest\":\"" TB_DIGEST_A "\",\"size\":2,\"platform\":{\"architecture\":\"amd64\",\"os\":"
        "\"linux\"},\"annotations\":{\"io.containerd.image.name\":\"localhost/kig/busybox:latest\","
        "\"org.opencontainers.image.ref.name\":\"latest\"}}]}");
    struct image_archive a;
    char why[256];
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), 0);
    assert_int_equal(a.kind, IMAGE_ARCHIVE_OCI);
    assert_string_equal(image_archive_kind_name(a.kind), "OCI image layout");
    assert_int_equal(a.n_images, 1);
    assert_int_equal(a.images[0].n_names, 1);
    assert_string_equal(a.images[0].names[0], "localhost/kig/busybox:latest");
    assert_null(a.images[0].tag_only);
    assert_string_equal(a.images[0].id, TB_DIGEST_A);
    assert_string_equal(a.images[0].os, "linux");
    assert_string_equal(a.images[0].architecture, "amd64");
    assert_false(a.images[0].blob_missing);
    assert_int_equal(a.n_members, 6);
    assert_int_equal(image_archive_check_node(&a, "linux", "amd64", why, sizeof(why)), 0);
    assert_int_equal(image_archive_check_node(&a, "linux", "arm64", why, sizeof(why)), -ENOEXEC);
    assert_string_equal(why, "it holds images for linux/amd64 only; this node runs linux/arm64");
    image_archive_done(&a);
    free(t.data);
}

static void test_oci_ref_names(void **state)
{
    struct tb t = tb_oci("{\"manifests\":[{\"digest\":\"" TB_DIGEST_A "\",\"annotations\":{"
                         "\"org.opencontainers.image.ref.name\":\"example.com/app:1\"}},"
                         "{\"digest\":\"" TB_DIGEST_B "\",\"annotations\":{"
                         "\"org.opencontainers.image.ref.name\":\"v2\"}},"
                         "{\"digest\":\"" TB_DIGEST_B "\"}]}");
    struct image_archive a;
    char why[256];
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), 0);
    assert_int_equal(a.n_images, 3);
    assert_int_equal(a.images[0].n_names, 1);
    assert_string_equal(a.images[0].names[0], "example.com/app:1");
    assert_int_equal(a.images[1].n_names, 0);
    assert_string_equal(a.images[1].tag_only, "v2");
    assert_int_equal(a.images[2].n_names, 0);
    assert_null(a.images[2].tag_only);
    assert_null(a.images[2].os);
    image_archive_done(&a);
    free(t.data);
}

static void test_oci_errors(void **state)
{
    struct image_archive a;
    char why[256];
    struct tb t = {0};

    tb_text(&t, "oci-layout", "{\"imageLayoutVersion\": \"2.0.0\"}");
    tb_text(&t, "index.json", "{}");
    tb_end(&t);
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), -EBADMSG);
    assert_string_equal(why, "its OCI layout version is '2.0.0'; containerd imports version 1.0.0");
    free(t.data);

    t = (struct tb){0};
    tb_text(&t, "oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}");
    tb_end(&t);
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), -EBADMSG);
    assert_string_equal(why, "it has an oci-layout but no index.json");
    free(t.data);

    t = (struct tb){0};
    tb_text(&t, "oci-layout", "not json");
    tb_end(&t);
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), -EBADMSG);
    assert_non_null(strstr(why, "its oci-layout is not valid JSON"));
    free(t.data);

    static const char *bad_index[][2] = {
        {"{\"manifests\":[]}", "its index.json lists no image"},
        {"{\"schemaVersion\":2}", "its index.json lists no image"},
        {"[1,2]", "its index.json is not an OCI image index"},
        {"{\"manifests\":{}}", "its index.json is not an OCI image index"},
        {"{\"manifests\":[{\"digest\":\"nocolon\"}]}", "entry 1 of its index.json has no valid digest"},
        {"{\"manifests\":[{\"digest\":\"sha256:../../etc\"}]}",
         "entry 1 of its index.json has no valid digest"},
        {"{\"manifests\":[{\"digest\":\"" TB_DIGEST_A "\"}]} trailing", NULL},
    };
    for (size_t i = 0; i < sizeof(bad_index) / sizeof(bad_index[0]); i++) {
        t = tb_oci(bad_index[i][0]);
        assert_int_equal(inspect(&t, &a, why, sizeof(why)), -EBADMSG);
        if (bad_index[i][1])
            assert_string_equal(why, bad_index[i][1]);
        else
            assert_non_null(strstr(why, "its index.json is not valid JSON"));
        free(t.data);
    }

    /* trailing data after oci-layout's document is fine (containerd uses a json.Decoder) */
    t = (struct tb){0};
    tb_text(&t, "oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"} trailing");
    tb_text(&t, "index.json", "{\"manifests\":[{\"digest\":\"" TB_DIGEST_A "\"}]}");
    tb_text(&t, TB_BLOB_A, "{}");
    tb_end(&t);
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), 0);
    image_archive_done(&a);
    free(t.data);
}

static void test_oci_missing_blob(void **state)
{
    struct image_archive a;
    char why[256];
    struct tb t = {0};
    tb_text(&t, "oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}");
    tb_text(&t, "index.json",
            "{\"manifests\":[{\"digest\":\"" TB_DIGEST_A
            "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
            "{\"digest\":\"" TB_DIGEST_B "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}");
    tb_text(&t, TB_BLOB_B, "{}");
    tb_end(&t);
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), 0);
    assert_true(a.images[0].blob_missing);
    assert_false(a.images[1].blob_missing);
    /* another platform's manifest may be missing (containerd imports this node's only) */
    assert_int_equal(image_archive_check_node(&a, "linux", "amd64", why, sizeof(why)), 0);
    assert_int_equal(image_archive_check_node(&a, "linux", "arm64", why, sizeof(why)), -EBADMSG);
    assert_string_equal(why,
                        "its index.json lists the manifest " TB_DIGEST_A ", which is not in the archive");
    image_archive_done(&a);
    free(t.data);
}

static void test_docker(void **state)
{
    struct tb t =
        tb_docker("[{\"Config\":\"abc.json\",\"RepoTags\":[\"busybox:latest\",\"example.com/x/y:2\"],"
                  "\"Layers\":[\"l1/layer.tar\"]}]\n");
    struct image_archive a;
    char why[256];
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), 0);
    assert_int_equal(a.kind, IMAGE_ARCHIVE_DOCKER);
    assert_string_equal(image_archive_kind_name(a.kind), "docker archive");
    assert_int_equal(a.n_images, 1);
    assert_int_equal(a.images[0].n_names, 2);
    assert_string_equal(a.images[0].names[0], "docker.io/library/busybox:latest");
    assert_string_equal(a.images[0].names[1], "example.com/x/y:2");
    assert_string_equal(a.images[0].id, "abc.json");
    assert_string_equal(a.images[0].architecture, "amd64");
    assert_int_equal(image_archive_check_node(&a, "linux", "amd64", why, sizeof(why)), 0);
    image_archive_done(&a);
    free(t.data);

    /* keys as Go matches them (case-insensitively), no RepoTags, a layer through a symlink */
    t = (struct tb){0};
    tb_text(&t, "abc.json", "{\"os\":\"linux\"}");
    tb_text(&t, "l1/layer.tar", "layer");
    tb_symlink(&t, "l2/layer.tar", "../l1/layer.tar");
    tb_text(&t, "manifest.json",
            "[{\"config\":\"abc.json\",\"layers\":[\"l1/layer.tar\",\"l2/layer.tar\"]}]");
    tb_end(&t);
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), 0);
    assert_int_equal(a.images[0].n_names, 0);
    assert_null(a.images[0].architecture);
    image_archive_done(&a);
    free(t.data);
}

static void test_docker_errors(void **state)
{
    static const char *cases[][2] = {
        {"{}", "its manifest.json is not a list of images (docker save's format)"},
        {"[]", "its manifest.json lists no image"},
        {"[1]", "entry 1 of its manifest.json is not an object"},
        {"[{\"Layers\":[]}]", "entry 1 of its manifest.json has no Config"},
        {"[{\"Config\":\"nope.json\"}]",
         "its manifest.json names the image config nope.json, which is not in the archive"},
        {"[{\"Config\":\"abc.json\",\"Layers\":[\"l9/layer.tar\"]}]",
         "its manifest.json names the layer l9/layer.tar, which is not in the archive"},
        {"[{\"Config\":\"abc.json\",\"Layers\":\"x\"}]", "entry 1 of its manifest.json has invalid Layers"},
        {"[{\"Config\":\"abc.json\",\"RepoTags\":[\"Busybox\"]}]",
         "its manifest.json names the image 'Busybox', which is not a valid name: the repository 'Busybox' "
         "must be "
         "lowercase"},
        {"[{\"Config\":\"abc.json\",\"RepoTags\":[7]}]", "entry 1 of its manifest.json has invalid RepoTags"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tb t = tb_docker(cases[i][0]);
        struct image_archive a;
        char why[256];
        assert_int_equal(inspect(&t, &a, why, sizeof(why)), -EBADMSG);
        assert_string_equal(why, cases[i][1]);
        free(t.data);
    }
    /* a config that is not JSON */
    struct tb t = {0};
    tb_text(&t, "abc.json", "{");
    tb_text(&t, "manifest.json", "[{\"Config\":\"abc.json\"}]");
    tb_end(&t);
    struct image_archive a;
    char why[256];
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), -EBADMSG);
    assert_non_null(strstr(why, "its image config abc.json is not valid JSON"));
    free(t.data);
}

static void test_kind_detection(void **state)
{
    struct image_archive a;
    char why[256];
    /* both: the OCI layout wins, as in containerd */
    struct tb t = {0};
    tb_text(&t, "manifest.json", "garbage that is never read");
    tb_text(&t, "oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}");
    tb_text(&t, "index.json", "{\"manifests\":[{\"digest\":\"" TB_DIGEST_A "\"}]}");
    tb_text(&t, TB_BLOB_A, "{}");
    tb_end(&t);
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), 0);
    assert_int_equal(a.kind, IMAGE_ARCHIVE_OCI);
    image_archive_done(&a);
    free(t.data);

    /* neither */
    t = (struct tb){0};
    tb_text(&t, "etc/hostname", "kig\n");
    tb_text(&t, "repositories", "{}");
    tb_end(&t);
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), -EBADMSG);
    assert_string_equal(
        why, "neither an OCI image layout (oci-layout and index.json) nor a docker archive (manifest.json)");
    free(t.data);

    /* an empty archive */
    t = (struct tb){0};
    tb_end(&t);
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), -EBADMSG);
    assert_string_equal(why, "it is an empty tar archive");
    free(t.data);

    /* a directory named like the documents does not count */
    t = (struct tb){0};
    tb_dir(&t, "manifest.json/");
    tb_end(&t);
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), -EBADMSG);
    assert_non_null(strstr(why, "neither"));
    free(t.data);

    /* "./index.json" is index.json (names are cleaned as containerd does) */
    t = (struct tb){0};
    tb_text(&t, "./oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}");
    tb_text(&t, "./index.json", "{\"manifests\":[{\"digest\":\"" TB_DIGEST_A "\"}]}");
    tb_text(&t, "./" TB_BLOB_A, "{}");
    tb_end(&t);
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), 0);
    assert_false(a.images[0].blob_missing);
    image_archive_done(&a);
    free(t.data);
}

static void test_compression(void **state)
{
    assert_string_equal(image_archive_compression("\x1f\x8b\x08", 3), "gzip");
    assert_string_equal(image_archive_compression("BZh91AY", 7), "bzip2");
    assert_string_equal(image_archive_compression("\xfd"
                                                  "7zXZ\0\0",
                                                  7),
                        "xz");
    assert_string_equal(image_archive_compression("\x28\xb5\x2f\xfd", 4), "zstd");
    assert_null(image_archive_compression("oci-layout", 10));
    assert_null(image_archive_compression("\x1f", 1));

    uint8_t gz[600] = {0x1f, 0x8b, 0x08};
    struct tb t = {0};
    tb_raw(&t, gz, sizeof(gz));
    struct image_archive a;
    char why[256];
    assert_int_equal(inspect(&t, &a, why, sizeof(why)), -EBADMSG);
    assert_string_equal(why, "it is gzip-compressed; decompress it first: containerd imports plain tar");
    free(t.data);
}

static void test_native_arch(void **state)
{
#if defined(__x86_64__)
    assert_string_equal(image_archive_native_arch(), "amd64");
#else
    assert_non_null(image_archive_native_arch());
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_clean),
        cmocka_unit_test(test_walk_kinds_and_names),
        cmocka_unit_test(test_walk_without_end_blocks),
        cmocka_unit_test(test_walk_empty_archive),
        cmocka_unit_test(test_walk_refuses_non_tar),
        cmocka_unit_test(test_walk_damage),
        cmocka_unit_test(test_walk_base256_size),
        cmocka_unit_test(test_walk_visitor_stops),
        cmocka_unit_test(test_oci_named),
        cmocka_unit_test(test_oci_ref_names),
        cmocka_unit_test(test_oci_errors),
        cmocka_unit_test(test_oci_missing_blob),
        cmocka_unit_test(test_docker),
        cmocka_unit_test(test_docker_errors),
        cmocka_unit_test(test_kind_detection),
        cmocka_unit_test(test_compression),
        cmocka_unit_test(test_native_arch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
