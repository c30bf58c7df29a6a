/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fileutil.h"
#include "kubeconfig.h"
#include "log.h"
#include "macro.h"
#include "pki.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

static char tmpdir[64];
static char *pki_dir;

static const char *const masters[] = {"system:masters", NULL};

static char *pathf(const char *fmt, ...) _printf_(1, 2);
static char *pathf(const char *fmt, ...)
{
    va_list ap;
    char *p;
    va_start(ap, fmt);
    assert_true(vasprintf(&p, fmt, ap) >= 0);
    va_end(ap);
    return p;
}

static char *slurp(const char *path)
{
    char *s = NULL;
    assert_int_equal(read_file(path, &s, NULL, 0), 0);
    return s;
}

static int group_setup(void **state)
{
    log_init("test-kubeconfig");
    strcpy(tmpdir, "/tmp/kig-test-kubeconfig-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    pki_dir = pathf("%s/pki", tmpdir);
    const struct pki_cert_request admin = {
        .name = "admin", .common_name = "kubernetes-admin", .organizations = masters, .usage = PKI_CLIENT};
    if (pki_ensure_ca(pki_dir, "ca", "kig-test-ca") < 0 || pki_ensure_cert(pki_dir, "ca", &admin) < 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    free(pki_dir);
    return rm_rf(tmpdir);
}

/* Decodes standard base64 with OpenSSL, trimming the zero bytes EVP_DecodeBlock leaves for padding. */
static char *base64_decode(const char *in)
{
    size_t len = strlen(in);
    assert_int_equal(len % 4, 0);
    assert_null(strchr(in, '\n')); /* kubeconfig data fields are one line */
    char *out = malloc(len / 4 * 3 + 1);
    int n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
    assert_true(n >= 0);
    for (size_t i = len; i > 0 && in[i - 1] == '='; i--)
        n--;
    out[n] = '\0';
    return out;
}

static const char *get_str(json_t *obj, const char *path)
{
    /* path is "a.b.c" over objects, "#N" for array indexes */
    _cleanup_free_ char *copy = strdup(path);
    json_t *cur = obj;
    char *save = NULL;
    for (char *part = strtok_r(copy, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
        cur = part[0] == '#' ? json_array_get(cur, strtoul(part + 1, NULL, 10)) : json_object_get(cur, part);
        if (!cur)
            fail_msg("no %s in kubeconfig", path);
    }
    assert_true(json_is_string(cur));
    return json_string_value(cur);
}

static void assert_field_decodes_to(json_t *doc, const char *path, const char *want)
{
    _cleanup_free_ char *decoded = base64_decode(get_str(doc, path));
    assert_string_equal(decoded, want);
}

static void check_document(json_t *doc, const char *ca, const char *cert, const char *key, const char *user)
{
    assert_string_equal(get_str(doc, "apiVersion"), "v1");
    assert_string_equal(get_str(doc, "kind"), "Config");
    assert_int_equal(json_array_size(json_object_get(doc, "clusters")), 1);
    assert_int_equal(json_array_size(json_object_get(doc, "users")), 1);
    assert_int_equal(json_array_size(json_object_get(doc, "contexts")), 1);
    assert_string_equal(get_str(doc, "clusters.#0.name"), "kig");
    assert_string_equal(get_str(doc, "clusters.#0.cluster.server"), "https://127.0.0.1:6443");
    assert_field_decodes_to(doc, "clusters.#0.cluster.certificate-authority-data", ca);
    assert_string_equal(get_str(doc, "users.#0.name"), user);
    assert_field_decodes_to(doc, "users.#0.user.client-certificate-data", cert);
    assert_field_decodes_to(doc, "users.#0.user.client-key-data", key);
    _cleanup_free_ char *context = pathf("%s@kig", user);
    assert_string_equal(get_str(doc, "contexts.#0.name"), context);
    assert_string_equal(get_str(doc, "contexts.#0.context.cluster"), "kig");
    assert_string_equal(get_str(doc, "contexts.#0.context.user"), user);
    assert_string_equal(get_str(doc, "current-context"), context);
}

static void test_render(void **state)
{
    _cleanup_free_ char *ca_path = pathf("%s/ca.crt", pki_dir), *crt_path = pathf("%s/admin.crt", pki_dir);
    _cleanup_free_ char *key_path = pathf("%s/admin.key", pki_dir);
    _cleanup_free_ char *ca = slurp(ca_path), *cert = slurp(crt_path), *key = slurp(key_path);
    const struct kubeconfig_spec spec = {"kig", "https://127.0.0.1:6443", ca, "jane", cert, key};
    _cleanup_free_ char *text = kubeconfig_render(&spec);
    assert_non_null(text);
    json_error_t err;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!doc)
        fail_msg("kubeconfig is not valid JSON: %s: %s", err.text, text);
    check_document(doc, ca, cert, key, "jane");
    json_decref(doc);
}

static void test_render_rejects_incomplete_spec(void **state)
{
    const struct kubeconfig_spec spec = {"kig", "https://127.0.0.1:6443", "ca", "jane", NULL, "key"};
    errno = 0;
    assert_null(kubeconfig_render(&spec));
    assert_int_equal(errno, EINVAL);
    assert_null(kubeconfig_render(NULL));
}

static void test_write_from_pki(void **state)
{
    _cleanup_free_ char *path = pathf("%s/admin.kubeconfig", tmpdir);
    assert_int_equal(kubeconfig_write_from_pki(path, pki_dir, "admin", "kig", "https://127.0.0.1:6443"), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    _cleanup_free_ char *ca_path = pathf("%s/ca.crt", pki_dir), *crt_path = pathf("%s/admin.crt", pki_dir);
    _cleanup_free_ char *key_path = pathf("%s/admin.key", pki_dir);
    _cleanup_free_ char *ca = slurp(ca_path), *cert = slurp(crt_path), *key = slurp(key_path);
    json_error_t err;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!doc)
        fail_msg("%s is not valid JSON: %s", path, err.text);
    check_document(doc, ca, cert, key, "admin");
    json_decref(doc);
}

static void test_write_from_pki_missing_cert(void **state)
{
    _cleanup_free_ char *path = pathf("%s/nobody.kubeconfig", tmpdir);
    char *log = NULL;
    size_t len;
    FILE *f = open_memstream(&log, &len);
    log_set_stream(f);
    int r = kubeconfig_write_from_pki(path, pki_dir, "nobody", "kig", "https://127.0.0.1:6443");
    log_set_stream(NULL);
    fclose(f);
    assert_int_equal(r, -ENOENT);
    assert_non_null(strstr(log, "nobody.crt"));
    assert_false(path_exists(path));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_render_rejects_incomplete_spec),
        cmocka_unit_test(test_write_from_pki),
        cmocka_unit_test(test_write_from_pki_missing_cert),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
