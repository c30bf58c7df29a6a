/* Reading kubeconfigs: round trip with what kubeconfig_render writes, file references relative to the
 * kubeconfig, tokens, contexts, and the errors a user can act on. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "fileutil.h"
#include "kubeconfig-read.h"
#include "kubeconfig.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ca[] = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";
static const char cert[] = "-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n";
static const char key[] = "-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----\n";

static void test_round_trip(void **state)
{
    const struct kubeconfig_spec spec = {
        .cluster_name = "kig",
        .server = "https://127.0.0.1:6443",
        .ca_pem = ca,
        .user_name = "kig-proxy",
        .client_cert_pem = cert,
        .client_key_pem = key,
    };
    char *text = kubeconfig_render(&spec);
    assert_non_null(text);
    struct kubeconfig_creds c;
    char *error = NULL;
    assert_int_equal(kubeconfig_parse(text, strlen(text), NULL, NULL, &c, &error), 0);
    assert_null(error);
    assert_string_equal(c.server, "https://127.0.0.1:6443");
    assert_string_equal(c.ca_pem, ca);
    assert_string_equal(c.client_cert_pem, cert);
    assert_string_equal(c.client_key_pem, key);
    assert_null(c.token);
    assert_false(c.insecure_skip_tls_verify);
    kubeconfig_creds_done(&c);
    /* The context can be named explicitly; an unknown one is an error that names it. */
    assert_int_equal(kubeconfig_parse(text, strlen(text), NULL, "kig-proxy@kig", &c, &error), 0);
    kubeconfig_creds_done(&c);
    assert_int_equal(kubeconfig_parse(text, strlen(text), NULL, "other", &c, &error), -EINVAL);
    assert_string_equal(error, "context 'other' not found");
    free(error);
    free(text);
}

static void test_files_and_token(void **state)
{
    char dir[] = "/tmp/kig-test-kubeconfig-read-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/ca.crt", dir);
    assert_int_equal(write_file_atomic(path, ca, strlen(ca), 0600), 0);
    snprintf(path, sizeof(path), "%s/token", dir);
    assert_int_equal(write_file_atomic(path, "s3cret\n", 7, 0600), 0);
    const char doc[] = "{\"apiVersion\":\"v1\",\"kind\":\"Config\",\"current-context\":\"c\","
                       "\"clusters\":[{\"name\":\"k\",\"cluster\":{\"server\":\"https://10.0.0.1:6443/\","
                       "\"certificate-authority\":\"ca.crt\"}}],"
                       "\"users\":[{\"name\":\"u\",\"user\":{\"tokenFile\":\"token\"}}],"
                       "\"contexts\":[{\"name\":\"c\",\"context\":{\"cluster\":\"k\",\"user\":\"u\"}}]}";
    snprintf(path, sizeof(path), "%s/config.json", dir);
    assert_int_equal(write_file_atomic(path, doc, strlen(doc), 0600), 0);
    struct kubeconfig_creds c;
    /* Relative paths are resolved against the kubeconfig's directory, not the current one. */
    assert_int_equal(kubeconfig_read(path, NULL, &c), 0);
    assert_string_equal(c.ca_pem, ca);
    assert_string_equal(c.token, "s3cret");
    assert_null(c.client_cert_pem);
    kubeconfig_creds_done(&c);
    assert_int_equal(rm_rf(dir), 0);
}

static void expect_error(const char *doc, const char *message)
{
    struct kubeconfig_creds c;
    char *error = NULL;
    assert_true(kubeconfig_parse(doc, strlen(doc), "/nonexistent", NULL, &c, &error) < 0);
    assert_non_null(error);
    if (!strstr(error, message))
        fail_msg("error '%s' does not say '%s'", error, message);
    free(error);
}

static void test_errors(void **state)
{
    expect_error("apiVersion: v1\nkind: Config\n", "YAML is not read here");
    expect_error("{\"kind\":", "invalid JSON");
    expect_error("[]", "not a kubeconfig");
    expect_error("{}", "no current-context");
    expect_error(
        "{\"current-context\":\"c\",\"contexts\":[{\"name\":\"c\",\"context\":{\"cluster\":\"k\"}}]}",
        "cluster 'k' of context 'c' not found");
    expect_error("{\"current-context\":\"c\",\"contexts\":[{\"name\":\"c\",\"context\":{\"cluster\":\"k\"}}],"
                 "\"clusters\":[{\"name\":\"k\",\"cluster\":{}}]}",
                 "the cluster has no server");
    expect_error("{\"current-context\":\"c\",\"contexts\":[{\"name\":\"c\",\"context\":{\"cluster\":\"k\","
                 "\"user\":\"u\"}}],\"clusters\":[{\"name\":\"k\",\"cluster\":{\"server\":\"https://x\"}}],"
                 "\"users\":[{\"name\":\"u\",\"user\":{\"client-certificate-data\":\"!!!\"}}]}",
                 "client-certificate-data is not valid base64");
    expect_error("{\"current-context\":\"c\",\"contexts\":[{\"name\":\"c\",\"context\":{\"cluster\":\"k\","
                 "\"user\":\"u\"}}],\"clusters\":[{\"name\":\"k\",\"cluster\":{\"server\":\"https://x\"}}],"
                 "\"users\":[{\"name\":\"u\",\"user\":{\"client-certificate-data\":\"Y2VydA==\"}}]}",
                 "not both");
    expect_error("{\"current-context\":\"c\",\"contexts\":[{\"name\":\"c\",\"context\":{\"cluster\":\"k\"}}],"
                 "\"clusters\":[{\"name\":\"k\",\"cluster\":{\"server\":\"https://x\","
                 "\"certificate-authority\":\"missing.crt\"}}]}",
                 "cannot read certificate-authority missing.crt");
}

static void test_read_missing_file(void **state)
{
    struct kubeconfig_creds c;
    log_set_stream(fopen("/dev/null", "w"));
    assert_int_equal(kubeconfig_read("/nonexistent/kubeconfig", NULL, &c), -ENOENT);
}

int main(void)
{
    log_init("test-kubeconfig-read");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_files_and_token),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_read_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
