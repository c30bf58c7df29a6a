/* kig image's glue: reading ctr's output, the CRI's snapshotter from containerd.toml, and the hosts.toml
 * files for plain-HTTP registries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fileutil.h"
#include "image-ctr.h"
#include "image-node.h"
#include "macro.h"
#include "node-config.h"
#include "registry-hosts.h"

#include <errno.h>
#include <string.h>

struct seen {
    char names[1024];
    char digests[1024];
};

static void on_image(const char *name, const char *digest, void *userdata)
{
    struct seen *s = userdata;
    size_t n = strlen(s->names), d = strlen(s->digests);
    snprintf(s->names + n, sizeof(s->names) - n, "%s%s", n ? " " : "", name);
    snprintf(s->digests + d, sizeof(s->digests) - d, "%s%s", d ? " " : "", digest);
}

static void test_parse_import(void **state)
{
    /* ctr 1.6.20's output (captured in gVisor): "unpacking" and "done" around each unpack */
    const char *out = "unpacking localhost/kig/busybox:latest "
                      "(sha256:f6882aca6cc45e00b7ed95f4911bc4a300a74017e0748f7acb364422abc9a469)...done\n"
                      "unpacking docker.io/library/app:1 (sha256:0123)...\n"
                      "some other line with unpacking inside\n"
                      "done\n";
    struct seen s = {0};
    assert_int_equal(image_ctr_parse_import(out, on_image, &s), 2);
    assert_string_equal(s.names, "localhost/kig/busybox:latest docker.io/library/app:1");
    assert_string_equal(
        s.digests, "sha256:f6882aca6cc45e00b7ed95f4911bc4a300a74017e0748f7acb364422abc9a469 sha256:0123");
    assert_int_equal(image_ctr_parse_import("", NULL, NULL), 0);
    assert_int_equal(image_ctr_parse_import("unpacking broken line\n", NULL, NULL), 0);
    assert_int_equal(image_ctr_parse_import("unpacking x (sha256:1", NULL, NULL), 0);
}

static void test_parse_list(void **state)
{
    const char *out =
        "REF                                   TYPE                                            DIGEST     "
        "                                                              SIZE    PLATFORMS   LABELS            "
        "      "
        "        \n"
        "127.0.0.1:5000/kig/busybox:test       application/vnd.oci.image.manifest.v1+json      "
        "sha256:f6882aca6cc45e00b7ed95f4911bc4a300a74017e0748f7acb364422abc9a469 1.1 MiB linux/amd64 "
        "io.cri-containerd.image=managed\n"
        "localhost/kig/pause:3.2               application/vnd.oci.image.manifest.v1+json      "
        "sha256:21566fbaba349ead12bcd8deaf6d7c5877aa551a03a3d3a07a32f16dbbdee7ce 290.0 KiB linux/amd64 -\n"
        "sha256:9612eb6d4c71660d1a7d1b20fd8ffdfaf76cbcea547ca0b7a54290f1f3ae5e5a "
        "application/vnd.oci.image.manifest.v1+json sha256:f688 1.1 MiB linux/amd64 "
        "io.cri-containerd.image=managed\n";
    struct image_ctr_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(image_ctr_parse_list(out, &rows, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].ref, "127.0.0.1:5000/kig/busybox:test");
    assert_string_equal(rows[0].digest,
                        "sha256:f6882aca6cc45e00b7ed95f4911bc4a300a74017e0748f7acb364422abc9a469");
    assert_string_equal(rows[0].size, "1.1 MiB");
    assert_string_equal(rows[0].platforms, "linux/amd64");
    assert_string_equal(rows[1].size, "290.0 KiB");
    assert_true(image_ctr_ref_is_internal(rows[2].ref));
    assert_false(image_ctr_ref_is_internal(rows[0].ref));
    assert_true(image_ctr_ref_is_internal("localhost:5000/kig/busybox@sha256:f688"));
    free(rows);

    assert_int_equal(image_ctr_parse_list("REF TYPE DIGEST SIZE PLATFORMS LABELS\n", &rows, &n), 0);
    assert_int_equal(n, 0);
    free(rows);
    assert_int_equal(image_ctr_parse_list("", &rows, &n), 0);
    assert_int_equal(n, 0);
    free(rows);
}

static void test_config_snapshotter(void **state)
{
    char out[64];
    const char *toml = "version = 2\n"
                       "[plugins.\"io.containerd.grpc.v1.cri\"]\n"
                       "  snapshotter = \"wrong-table\"\n"
                       "\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]  # the CRI's\n"
                       "  snapshotter = \"native\"\n"
                       "  default_runtime_name = \"kig\"\n";
    assert_int_equal(image_node_config_snapshotter(toml, out, sizeof(out)), 0);
    assert_string_equal(out, "native");
    assert_int_equal(
        image_node_config_snapshotter("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes]\n"
                                      "snapshotter = \"x\"\n",
                                      out, sizeof(out)),
        -ENOENT);
    assert_int_equal(image_node_config_snapshotter("", out, sizeof(out)), -ENOENT);
    assert_int_equal(image_node_config_snapshotter("[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
                                                   "snapshotter = \"\"\n",
                                                   out, sizeof(out)),
                     -ENOENT);

    /* what kig itself renders (src/kig/node/containerd-config.c) */
    for (int i = 0; i < 2; i++) {
        const char *want = i ? "native" : "overlayfs";
        struct containerd_options o = {
            .root = "/d/root",
            .state = "/d/state",
            .socket = "/d/containerd.sock",
            .snapshotter = want,
            .runtime_binary = "/usr/bin/kig-runtime",
            .sandbox_image = "localhost/kig/pause:3.2",
            .cni_bin_dir = "/d/cni/bin",
            .cni_conf_dir = "/d/cni/conf",
        };
        char *doc = NULL;
        assert_int_equal(containerd_config_render(&o, &doc), 0);
        assert_int_equal(image_node_config_snapshotter(doc, out, sizeof(out)), 0);
        assert_string_equal(out, want);
        free(doc);
    }
}

static void test_registry_hosts(void **state)
{
    char *doc = NULL;
    assert_int_equal(registry_hosts_render("registry.test:5000", &doc), 0);
    assert_string_equal(doc,
                        "# Written by kig (kig up --insecure-registry registry.test:5000): this registry "
                        "serves plain HTTP.\n"
                        "server = \"http://registry.test:5000\"\n"
                        "\n"
                        "[host.\"http://registry.test:5000\"]\n"
                        "  capabilities = [\"pull\", \"resolve\", \"push\"]\n");
    free(doc);
    assert_int_equal(registry_hosts_render("bad host", &doc), -EINVAL);
    assert_int_equal(registry_hosts_render("a\"b", &doc), -EINVAL);
    assert_int_equal(registry_hosts_render("../etc", &doc), -EINVAL);

    char dir[] = "/tmp/kig-test-registry-hosts.XXXXXX";
    assert_non_null(mkdtemp(dir));
    _cleanup_free_ char *certs = path_join(dir, "certs.d");
    assert_int_equal(registry_hosts_write(certs, "registry.test:5000"), 0);
    _cleanup_free_ char *file = path_join(certs, "registry.test:5000/hosts.toml");
    char *text = NULL;
    assert_int_equal(read_file(file, &text, NULL, 0), 0);
    assert_non_null(strstr(text, "server = \"http://registry.test:5000\"\n"));
    free(text);
    assert_int_equal(registry_hosts_write(certs, "../escape"), -EINVAL);
    assert_int_equal(rm_rf(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_import),
        cmocka_unit_test(test_parse_list),
        cmocka_unit_test(test_config_snapshotter),
        cmocka_unit_test(test_registry_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
