/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fileutil.h"
#include "log.h"
#include "macro.h"
#include "pki.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

/* Key generation dominates the run time, so the group setup makes every pair once and each test that
 * damages something works on copies in its own directory. */
static char tmpdir[64];
static char *dir_a; /* CA "ca" + leaves srv, cli, both + keypair sa */
static char *dir_b; /* another CA "ca" + leaf foreign signed by it */

static const char *const srv_dns[] = {"kubernetes.default.svc", "localhost", NULL};
static const char *const srv_ips[] = {"10.96.0.1", "127.0.0.1", "::1", NULL};
static const char *const masters[] = {"system:masters", NULL};

static const struct pki_cert_request srv_req = {
    .name = "srv",
    .common_name = "kube-apiserver",
    .dns_names = srv_dns,
    .ip_addresses = srv_ips,
    .usage = PKI_SERVER,
};
static const struct pki_cert_request cli_req = {
    .name = "cli",
    .common_name = "admin",
    .organizations = masters,
    .usage = PKI_CLIENT,
};
static const struct pki_cert_request both_req = {
    .name = "both",
    .common_name = "etcd",
    .ip_addresses = (const char *const[]){"127.0.0.1", NULL},
    .usage = PKI_SERVER | PKI_CLIENT,
    .valid_days = 36500, /* longer than the CA: must be cut to the CA's notAfter */
};

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

static void copy_file(const char *src, const char *dst)
{
    _cleanup_free_ char *data = slurp(src);
    assert_int_equal(write_file_atomic(dst, data, strlen(data), 0600), 0);
}

/* A new directory holding a copy of dir_a's CA. */
static char *fresh_dir(const char *label)
{
    char *d = pathf("%s/%s", tmpdir, label);
    assert_int_equal(mkdir(d, 0700), 0);
    _cleanup_free_ char *a = pathf("%s/ca.crt", dir_a), *b = pathf("%s/ca.crt", d);
    _cleanup_free_ char *c = pathf("%s/ca.key", dir_a), *e = pathf("%s/ca.key", d);
    copy_file(a, b);
    copy_file(c, e);
    return d;
}

static void copy_into(const char *src_dir, const char *src_name, const char *dst_dir, const char *dst_name)
{
    _cleanup_free_ char *src = pathf("%s/%s", src_dir, src_name), *dst = pathf("%s/%s", dst_dir, dst_name);
    copy_file(src, dst);
}

static X509 *load_cert(const char *path)
{
    _cleanup_free_ char *pem = slurp(path);
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(cert);
    return cert;
}

static X509 *load_cert_in(const char *dir, const char *file)
{
    _cleanup_free_ char *p = pathf("%s/%s", dir, file);
    return load_cert(p);
}

static EVP_PKEY *load_key_in(const char *dir, const char *file)
{
    _cleanup_free_ char *p = pathf("%s/%s", dir, file);
    _cleanup_free_ char *pem = slurp(p);
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(key);
    return key;
}

/* CA and leaf keys are ECDSA on the curve Go, etcd and OpenSSL all call P-256 (prime256v1). */
static void assert_key_is_p256(const char *dir, const char *file)
{
    EVP_PKEY *key = load_key_in(dir, file);
    char curve[64];
    assert_true(EVP_PKEY_is_a(key, "EC"));
    assert_true(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve), NULL));
    assert_string_equal(curve, SN_X9_62_prime256v1);
    assert_int_equal(EVP_PKEY_get_bits(key), 256);
    EVP_PKEY_free(key);
}

static void write_cert_in(const char *dir, const char *file, X509 *cert)
{
    _cleanup_free_ char *p = pathf("%s/%s", dir, file);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_X509(bio, cert));
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    assert_int_equal(write_file_atomic(p, data, (size_t)len, 0600), 0);
    BIO_free(bio);
}

/* Contents of <dir>/<name>.crt and .key (NULL when absent), to prove a failing call left them alone. */
struct snapshot {
    char *crt, *key;
};

static char *slurp_or_null(const char *path)
{
    char *s = NULL;
    return read_file(path, &s, NULL, 0) == 0 ? s : NULL;
}

static struct snapshot take_snapshot(const char *dir, const char *name, const char *public_ext)
{
    _cleanup_free_ char *c = pathf("%s/%s.%s", dir, name, public_ext), *k = pathf("%s/%s.key", dir, name);
    return (struct snapshot){slurp_or_null(c), slurp_or_null(k)};
}

static void assert_same_text(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_untouched(struct snapshot before, const char *dir, const char *name,
                             const char *public_ext)
{
    struct snapshot after = take_snapshot(dir, name, public_ext);
    assert_same_text(before.crt, after.crt);
    assert_same_text(before.key, after.key);
    free(before.crt);
    free(before.key);
    free(after.crt);
    free(after.key);
}

/* Runs fn with the log captured, returning its result and what it logged. */
static char *captured;
static FILE *capture_stream;

static void capture_start(void)
{
    free(captured);
    captured = NULL;
    size_t len;
    capture_stream = open_memstream(&captured, &len);
    log_set_stream(capture_stream);
}

static const char *capture_end(void)
{
    log_set_stream(NULL);
    fclose(capture_stream);
    return captured;
}

static int group_setup(void **state)
{
    log_init("test-pki");
    strcpy(tmpdir, "/tmp/kig-test-pki-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    dir_a = pathf("%s/a/pki", tmpdir); /* pki_ensure_ca creates missing directories */
    dir_b = pathf("%s/b", tmpdir);
    const struct pki_cert_request foreign_req = {.name = "foreign",
                                                 .common_name = "kube-apiserver",
                                                 .dns_names = srv_dns,
                                                 .ip_addresses = srv_ips,
                                                 .usage = PKI_SERVER};
    if (pki_ensure_ca(dir_a, "ca", "kig-test-ca") < 0 || pki_ensure_cert(dir_a, "ca", &srv_req) < 0 ||
        pki_ensure_cert(dir_a, "ca", &cli_req) < 0 || pki_ensure_cert(dir_a, "ca", &both_req) < 0 ||
        pki_ensure_keypair(dir_a, "sa") < 0 || pki_ensure_ca(dir_b, "ca", "another-ca") < 0)
        return -1;
    /* The foreign cert reuses srv's key (saving a key generation): only its signer differs. */
    _cleanup_free_ char *src = pathf("%s/srv.key", dir_a), *dst = pathf("%s/foreign.key", dir_b);
    copy_file(src, dst);
    capture_start(); /* completing a pair from its key logs a warning */
    int r = pki_ensure_cert(dir_b, "ca", &foreign_req);
    capture_end();
    return r < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
    free(captured);
    free(dir_a);
    free(dir_b);
    return rm_rf(tmpdir);
}

/* ---- CA ---- */

static void test_ca_properties(void **state)
{
    X509 *ca = load_cert_in(dir_a, "ca.crt");
    assert_int_equal(X509_check_ca(ca), 1);
    assert_int_equal(X509_self_signed(ca, 1), 1);
    int idx = X509_get_ext_by_NID(ca, NID_basic_constraints, -1);
    assert_true(idx >= 0);
    assert_true(X509_EXTENSION_get_critical(X509_get_ext(ca, idx)));
    uint32_t ku = X509_get_key_usage(ca);
    assert_true(ku & KU_KEY_CERT_SIGN);
    assert_true(ku & KU_CRL_SIGN);
    assert_true(ku & KU_DIGITAL_SIGNATURE);
    assert_non_null(X509_get0_subject_key_id(ca));
    int days, secs;
    assert_true(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(ca)));
    assert_in_range(days, 3649, 3650);
    assert_key_is_p256(dir_a, "ca.key");
    assert_int_equal(X509_get_signature_nid(ca), NID_ecdsa_with_SHA256);
    X509_free(ca);
}

static void test_ca_reused_unchanged(void **state)
{
    _cleanup_free_ char *crt = pathf("%s/ca.crt", dir_a), *key = pathf("%s/ca.key", dir_a);
    struct stat crt_before, key_before, crt_after, key_after;
    assert_int_equal(stat(crt, &crt_before), 0);
    assert_int_equal(stat(key, &key_before), 0);
    struct snapshot snap = take_snapshot(dir_a, "ca", "crt");
    assert_int_equal(pki_ensure_ca(dir_a, "ca", "kig-test-ca"), 0);
    assert_untouched(snap, dir_a, "ca", "crt");
    assert_int_equal(stat(crt, &crt_after), 0);
    assert_int_equal(stat(key, &key_after), 0);
    assert_int_equal(crt_before.st_ino, crt_after.st_ino);
    assert_int_equal(key_before.st_ino, key_after.st_ino);
    assert_int_equal(crt_before.st_mtim.tv_sec, crt_after.st_mtim.tv_sec);
    assert_int_equal(crt_before.st_mtim.tv_nsec, crt_after.st_mtim.tv_nsec);
    assert_int_equal(key_before.st_mtim.tv_nsec, key_after.st_mtim.tv_nsec);
}

static void test_ca_key_mismatch(void **state)
{
    _cleanup_free_ char *d = fresh_dir("ca-mismatch");
    copy_into(dir_b, "ca.key", d, "ca.key");
    struct snapshot snap = take_snapshot(d, "ca", "crt");
    capture_start();
    assert_int_equal(pki_ensure_ca(d, "ca", "kig-test-ca"), -EINVAL);
    assert_non_null(strstr(capture_end(), "ca.key does not match"));
    assert_untouched(snap, d, "ca", "crt");
}

static void test_ca_missing_key(void **state)
{
    _cleanup_free_ char *d = pathf("%s/ca-nokey", tmpdir);
    assert_int_equal(mkdir(d, 0700), 0);
    copy_into(dir_a, "ca.crt", d, "ca.crt");
    capture_start();
    assert_int_equal(pki_ensure_ca(d, "ca", "kig-test-ca"), -ENOKEY);
    assert_non_null(strstr(capture_end(), "ca.crt exists but its key"));
    struct snapshot snap = take_snapshot(d, "ca", "crt");
    assert_non_null(snap.crt);
    assert_null(snap.key);
    free(snap.crt);
}

static void test_ca_not_a_ca(void **state)
{
    _cleanup_free_ char *d = pathf("%s/ca-leaf", tmpdir);
    assert_int_equal(mkdir(d, 0700), 0);
    copy_into(dir_a, "srv.crt", d, "ca.crt");
    copy_into(dir_a, "srv.key", d, "ca.key");
    struct snapshot snap = take_snapshot(d, "ca", "crt");
    capture_start();
    assert_int_equal(pki_ensure_ca(d, "ca", "kig-test-ca"), -EINVAL);
    assert_non_null(strstr(capture_end(), "is not a CA certificate"));
    assert_untouched(snap, d, "ca", "crt");
}

/* ---- leaves ---- */

static int verify_with_purpose(X509 *cert, X509 *ca, int purpose)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_true(X509_STORE_add_cert(store, ca));
    assert_true(X509_STORE_CTX_init(ctx, store, cert, NULL));
    assert_true(X509_STORE_CTX_set_purpose(ctx, purpose));
    int ok = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return ok;
}

static void test_leaf_verifies_against_ca(void **state)
{
    X509 *ca = load_cert_in(dir_a, "ca.crt"), *srv = load_cert_in(dir_a, "srv.crt");
    X509 *cli = load_cert_in(dir_a, "cli.crt"), *both = load_cert_in(dir_a, "both.crt");
    assert_int_equal(verify_with_purpose(srv, ca, X509_PURPOSE_SSL_SERVER), 1);
    assert_int_equal(verify_with_purpose(cli, ca, X509_PURPOSE_SSL_CLIENT), 1);
    assert_int_equal(verify_with_purpose(both, ca, X509_PURPOSE_SSL_SERVER), 1);
    assert_int_equal(verify_with_purpose(both, ca, X509_PURPOSE_SSL_CLIENT), 1);
    /* extendedKeyUsage is what limits each cert to its role */
    assert_int_not_equal(verify_with_purpose(srv, ca, X509_PURPOSE_SSL_CLIENT), 1);
    assert_int_not_equal(verify_with_purpose(cli, ca, X509_PURPOSE_SSL_SERVER), 1);
    X509 *other_ca = load_cert_in(dir_b, "ca.crt");
    assert_int_not_equal(verify_with_purpose(srv, other_ca, X509_PURPOSE_SSL_SERVER), 1);
    X509_free(other_ca);
    X509_free(ca);
    X509_free(srv);
    X509_free(cli);
    X509_free(both);
}

static void test_leaf_extensions(void **state)
{
    X509 *ca = load_cert_in(dir_a, "ca.crt"), *srv = load_cert_in(dir_a, "srv.crt");
    X509 *cli = load_cert_in(dir_a, "cli.crt"), *both = load_cert_in(dir_a, "both.crt");
    assert_int_equal(X509_check_ca(srv), 0);
    assert_true(X509_get_extension_flags(srv) & EXFLAG_BCONS); /* CA:FALSE present, not just absent */
    int idx = X509_get_ext_by_NID(srv, NID_basic_constraints, -1);
    assert_true(X509_EXTENSION_get_critical(X509_get_ext(srv, idx)));
    idx = X509_get_ext_by_NID(srv, NID_key_usage, -1);
    assert_true(X509_EXTENSION_get_critical(X509_get_ext(srv, idx)));
    /* keyEncipherment is for RSA keys only */
    assert_int_equal(X509_get_key_usage(srv), KU_DIGITAL_SIGNATURE);
    assert_key_is_p256(dir_a, "srv.key");
    assert_int_equal(X509_get_signature_nid(srv), NID_ecdsa_with_SHA256);
    assert_int_equal(X509_get_extended_key_usage(srv), XKU_SSL_SERVER);
    assert_int_equal(X509_get_extended_key_usage(cli), XKU_SSL_CLIENT);
    assert_int_equal(X509_get_extended_key_usage(both), XKU_SSL_SERVER | XKU_SSL_CLIENT);
    /* authorityKeyIdentifier names the CA's key */
    const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(srv);
    assert_non_null(akid);
    assert_int_equal(ASN1_OCTET_STRING_cmp(akid, X509_get0_subject_key_id(ca)), 0);
    /* random serials of 128 bits: distinct, and far longer than a counter */
    BIGNUM *s1 = ASN1_INTEGER_to_BN(X509_get0_serialNumber(srv), NULL);
    BIGNUM *s2 = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cli), NULL);
    assert_in_range(BN_num_bits(s1), 96, 128);
    assert_int_not_equal(BN_cmp(s1, s2), 0);
    assert_false(BN_is_negative(s1));
    BN_free(s1);
    BN_free(s2);
    /* valid from a little in the past, for a year by default, never past the CA */
    int days, secs;
    assert_int_equal(X509_cmp_current_time(X509_get0_notBefore(srv)), -1);
    assert_true(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(srv), NULL));
    assert_int_equal(days, 0);
    assert_in_range(secs, 60, 3600);
    assert_true(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(srv)));
    assert_in_range(days, 364, 365);
    assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(both), X509_get0_notAfter(ca)), 0);
    X509_free(ca);
    X509_free(srv);
    X509_free(cli);
    X509_free(both);
}

static void test_leaf_subject_alt_names(void **state)
{
    X509 *srv = load_cert_in(dir_a, "srv.crt");
    const unsigned flags = X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;
    assert_int_equal(X509_check_host(srv, "kubernetes.default.svc", 0, flags, NULL), 1);
    assert_int_equal(X509_check_host(srv, "localhost", 0, flags, NULL), 1);
    assert_int_equal(X509_check_host(srv, "example.com", 0, flags, NULL), 0);
    assert_int_equal(X509_check_ip_asc(srv, "10.96.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "0:0:0:0:0:0:0:1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "10.0.0.5", 0), 0);
    GENERAL_NAMES *names = X509_get_ext_d2i(srv, NID_subject_alt_name, NULL, NULL);
    assert_non_null(names);
    assert_int_equal(sk_GENERAL_NAME_num(names), 5);
    int n_ip = 0, n_v6 = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type == GEN_IPADD) {
            n_ip++;
            n_v6 += ASN1_STRING_length(g->d.iPAddress) == 16;
        }
    }
    assert_int_equal(n_ip, 3);
    assert_int_equal(n_v6, 1);
    GENERAL_NAMES_free(names);
    /* no SAN asked, none written */
    X509 *cli = load_cert_in(dir_a, "cli.crt");
    assert_int_equal(X509_get_ext_by_NID(cli, NID_subject_alt_name, -1), -1);
    X509_free(cli);
    X509_free(srv);
}

static void test_files_are_0600(void **state)
{
    static const char *const files[] = {"ca.crt",  "ca.key",   "srv.crt",  "srv.key", "cli.crt",
                                        "cli.key", "both.crt", "both.key", "sa.key",  "sa.pub"};
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        _cleanup_free_ char *p = pathf("%s/%s", dir_a, files[i]);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
    }
    struct stat st;
    assert_int_equal(stat(dir_a, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
}

static void test_leaf_reused_unchanged(void **state)
{
    struct snapshot snap = take_snapshot(dir_a, "srv", "crt");
    assert_int_equal(pki_ensure_cert(dir_a, "ca", &srv_req), 0);
    assert_untouched(snap, dir_a, "srv", "crt");
    /* A subset of the SANs is still covered. */
    struct pki_cert_request fewer = srv_req;
    fewer.dns_names = NULL;
    fewer.ip_addresses = (const char *const[]){"::1", NULL};
    snap = take_snapshot(dir_a, "srv", "crt");
    assert_int_equal(pki_ensure_cert(dir_a, "ca", &fewer), 0);
    assert_untouched(snap, dir_a, "srv", "crt");
}

/* Runs pki_ensure_cert on <d>/srv and checks the error, the message and that nothing changed. */
static void expect_srv_error(const char *d, const struct pki_cert_request *req, int err, const char *message)
{
    struct snapshot snap = take_snapshot(d, req->name, "crt");
    capture_start();
    assert_int_equal(pki_ensure_cert(d, "ca", req), err);
    const char *log = capture_end();
    if (!strstr(log, message))
        fail_msg("expected '%s' in log: %s", message, log);
    assert_untouched(snap, d, req->name, "crt");
}

static void test_tampered_cert(void **state)
{
    _cleanup_free_ char *d = fresh_dir("tampered");
    copy_into(dir_a, "srv.key", d, "srv.key");
    X509 *srv = load_cert_in(dir_a, "srv.crt");
    unsigned char *der = NULL;
    int len = i2d_X509(srv, &der);
    assert_true(len > 0);
    der[len - 1] ^= 0x01; /* the last byte of the signature */
    const unsigned char *p = der;
    X509 *tampered = d2i_X509(NULL, &p, len);
    assert_non_null(tampered);
    write_cert_in(d, "srv.crt", tampered);
    expect_srv_error(d, &srv_req, -EINVAL, "srv.crt is not signed by");
    OPENSSL_free(der);
    X509_free(tampered);
    X509_free(srv);
    /* and a cert that is not PEM at all */
    _cleanup_free_ char *crt = pathf("%s/srv.crt", d);
    assert_int_equal(write_file_atomic(crt, "garbage\n", 8, 0600), 0);
    expect_srv_error(d, &srv_req, -EINVAL, "srv.crt is not a PEM certificate");
}

static void test_cert_signed_by_another_ca(void **state)
{
    _cleanup_free_ char *d = fresh_dir("foreign");
    copy_into(dir_b, "foreign.crt", d, "srv.crt");
    copy_into(dir_b, "foreign.key", d, "srv.key");
    expect_srv_error(d, &srv_req, -EINVAL, "srv.crt is not signed by");
}

static void test_cert_without_key(void **state)
{
    _cleanup_free_ char *d = fresh_dir("nokey");
    copy_into(dir_a, "srv.crt", d, "srv.crt");
    expect_srv_error(d, &srv_req, -ENOKEY, "srv.crt exists but its key");
}

static void test_key_does_not_match_cert(void **state)
{
    _cleanup_free_ char *d = fresh_dir("mismatch");
    copy_into(dir_a, "srv.crt", d, "srv.crt");
    copy_into(dir_a, "cli.key", d, "srv.key");
    expect_srv_error(d, &srv_req, -EINVAL, "srv.key does not match");
}

/* A crash between writing the key and the cert leaves the key alone: the next run completes the pair. */
static void test_key_without_cert_is_completed(void **state)
{
    _cleanup_free_ char *d = fresh_dir("orphan");
    copy_into(dir_a, "srv.key", d, "srv.key");
    struct snapshot before = take_snapshot(d, "srv", "crt");
    assert_int_equal(pki_ensure_cert(d, "ca", &srv_req), 0);
    struct snapshot after = take_snapshot(d, "srv", "crt");
    assert_string_equal(before.key, after.key);
    assert_non_null(after.crt);
    X509 *cert = load_cert_in(d, "srv.crt"), *ca = load_cert_in(d, "ca.crt");
    EVP_PKEY *key = load_key_in(d, "srv.key");
    assert_int_equal(X509_check_private_key(cert, key), 1);
    assert_int_equal(verify_with_purpose(cert, ca, X509_PURPOSE_SSL_SERVER), 1);
    EVP_PKEY_free(key);
    X509_free(cert);
    X509_free(ca);
    free(before.key);
    free(after.crt);
    free(after.key);
}

/* A CA as kig made them when every key was RSA 2048: the same extensions, signed sha256WithRSAEncryption. */
static void write_rsa_ca(const char *dir, const char *common_name)
{
    static const struct {
        int nid;
        const char *value;
    } exts[] = {
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
        {NID_subject_key_identifier, "hash"},
    };
    EVP_PKEY *key = EVP_RSA_gen(2048);
    X509 *ca = X509_new();
    assert_non_null(key);
    assert_non_null(ca);
    assert_true(X509_set_version(ca, X509_VERSION_3));
    assert_true(ASN1_INTEGER_set(X509_get_serialNumber(ca), 1));
    X509_NAME *name = X509_get_subject_name(ca);
    assert_true(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                           (const unsigned char *)common_name, -1, -1, 0));
    assert_true(X509_set_issuer_name(ca, name));
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(ca), -300));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(ca), 3650L * 86400));
    assert_true(X509_set_pubkey(ca, key));
    for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, ca, ca, NULL, NULL, 0);
        X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, exts[i].nid, exts[i].value);
        assert_non_null(ext);
        assert_true(X509_add_ext(ca, ext, -1));
        X509_EXTENSION_free(ext);
    }
    assert_true(X509_sign(ca, key, EVP_sha256()) > 0);
    write_cert_in(dir, "ca.crt", ca);
    _cleanup_free_ char *key_path = pathf("%s/ca.key", dir);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL));
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    assert_int_equal(write_file_atomic(key_path, data, (size_t)len, 0600), 0);
    BIO_free(bio);
    X509_free(ca);
    EVP_PKEY_free(key);
}

/* A data dir from an older kig, whose keys are all RSA, keeps working: its CA is reused and signs new leaves
 * (with P-256 keys) that verify against it; a leftover RSA leaf key keeps its RSA-only keyEncipherment. */
static void test_rsa_ca_from_older_kig(void **state)
{
    _cleanup_free_ char *d = pathf("%s/rsa-ca", tmpdir);
    assert_int_equal(mkdir(d, 0700), 0);
    write_rsa_ca(d, "kig-test-ca");
    struct snapshot snap = take_snapshot(d, "ca", "crt");
    assert_int_equal(pki_ensure_ca(d, "ca", "kig-test-ca"), 0);
    assert_untouched(snap, d, "ca", "crt");

    assert_int_equal(pki_ensure_cert(d, "ca", &srv_req), 0);
    X509 *ca = load_cert_in(d, "ca.crt"), *srv = load_cert_in(d, "srv.crt");
    assert_int_equal(verify_with_purpose(srv, ca, X509_PURPOSE_SSL_SERVER), 1);
    assert_int_equal(X509_get_signature_nid(srv), NID_sha256WithRSAEncryption);
    assert_key_is_p256(d, "srv.key");
    assert_int_equal(X509_get_key_usage(srv), KU_DIGITAL_SIGNATURE);
    snap = take_snapshot(d, "srv", "crt");
    assert_int_equal(pki_ensure_cert(d, "ca", &srv_req), 0);
    assert_untouched(snap, d, "srv", "crt");

    /* an RSA key left without its cert (sa.key saves a key generation) */
    copy_into(dir_a, "sa.key", d, "cli.key");
    capture_start();
    assert_int_equal(pki_ensure_cert(d, "ca", &cli_req), 0);
    capture_end();
    X509 *cli = load_cert_in(d, "cli.crt");
    assert_int_equal(verify_with_purpose(cli, ca, X509_PURPOSE_SSL_CLIENT), 1);
    assert_int_equal(X509_get_key_usage(cli), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    X509_free(cli);
    X509_free(srv);
    X509_free(ca);
}

/* A second process must wait for the first to finish with a directory before it looks at the files. */
static void test_directory_lock_serializes_processes(void **state)
{
    _cleanup_free_ char *d = fresh_dir("lock");
    copy_into(dir_a, "srv.key", d, "srv.key"); /* no key generation: the child would finish at once */
    int lock_fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(lock_fd >= 0);
    assert_int_equal(flock(lock_fd, LOCK_EX), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(lock_fd); /* the copy inherited here shares the parent's lock */
        log_set_level(LOG_LEVEL_ERROR);
        _exit(pki_ensure_cert(d, "ca", &srv_req) == 0 ? 0 : 1);
    }
    usleep(200 * 1000);
    int status;
    _cleanup_free_ char *crt = pathf("%s/srv.crt", d);
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still waiting for the lock */
    assert_false(path_exists(crt));
    close(lock_fd);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(path_exists(crt));
}

/* Re-signs a copy of cert with the CA key after moving its dates. */
static X509 *resign_with_dates(X509 *cert, long not_before_offset, long not_after_offset)
{
    X509 *copy = X509_dup(cert);
    EVP_PKEY *ca_key = load_key_in(dir_a, "ca.key");
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(copy), not_before_offset));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(copy), not_after_offset));
    assert_true(X509_sign(copy, ca_key, EVP_sha256()) > 0);
    EVP_PKEY_free(ca_key);
    return copy;
}

static void test_expired_cert(void **state)
{
    _cleanup_free_ char *d = fresh_dir("expired");
    copy_into(dir_a, "srv.key", d, "srv.key");
    X509 *srv = load_cert_in(dir_a, "srv.crt");
    X509 *expired = resign_with_dates(srv, -2 * 86400, -86400);
    write_cert_in(d, "srv.crt", expired);
    expect_srv_error(d, &srv_req, -EKEYEXPIRED, "srv.crt expired on");
    _cleanup_free_ char *crt = pathf("%s/srv.crt", d);
    capture_start();
    assert_int_equal(pki_check_cert_file(crt), -EKEYEXPIRED);
    capture_end();
    /* the same for one that is not valid yet (a clock far behind) */
    X509 *future = resign_with_dates(srv, 86400, 2 * 86400);
    write_cert_in(d, "srv.crt", future);
    expect_srv_error(d, &srv_req, -EKEYEXPIRED, "is not valid before");
    X509_free(future);
    X509_free(expired);
    X509_free(srv);
}

static void test_san_not_covered(void **state)
{
    _cleanup_free_ char *d = fresh_dir("san");
    copy_into(dir_a, "srv.crt", d, "srv.crt");
    copy_into(dir_a, "srv.key", d, "srv.key");
    struct pki_cert_request req = srv_req;
    req.ip_addresses = (const char *const[]){"10.96.0.1", "10.0.0.5", NULL};
    _cleanup_free_ char *msg =
        pathf("%s/srv.crt does not cover IP 10.0.0.5: remove %s/srv.crt and %s/srv.key "
              "to reissue it",
              d, d, d);
    expect_srv_error(d, &req, -EINVAL, msg);
    req.ip_addresses = (const char *const[]){"fd00::1", NULL};
    expect_srv_error(d, &req, -EINVAL, "does not cover IP fd00::1");
    req.ip_addresses = srv_ips;
    req.dns_names = (const char *const[]){"kubernetes.default.svc.cluster.local", NULL};
    expect_srv_error(d, &req, -EINVAL, "does not cover DNS name kubernetes.default.svc.cluster.local");
}

static void test_usage_and_subject_must_match(void **state)
{
    _cleanup_free_ char *d = fresh_dir("usage");
    copy_into(dir_a, "srv.crt", d, "srv.crt");
    copy_into(dir_a, "srv.key", d, "srv.key");
    struct pki_cert_request req = srv_req;
    req.usage = PKI_SERVER | PKI_CLIENT;
    expect_srv_error(d, &req, -EINVAL, "is not valid for client authentication");
    req = srv_req;
    req.common_name = "someone-else";
    expect_srv_error(d, &req, -EINVAL, "is issued to");
    req = srv_req;
    req.organizations = masters;
    expect_srv_error(d, &req, -EINVAL, "is issued to");
}

static void test_missing_ca(void **state)
{
    _cleanup_free_ char *d = pathf("%s/noca", tmpdir);
    assert_int_equal(mkdir(d, 0700), 0);
    expect_srv_error(d, &srv_req, -ENOENT, "does not exist");
}

static void test_invalid_requests(void **state)
{
    _cleanup_free_ char *d = fresh_dir("invalid");
    struct pki_cert_request req = srv_req;
    req.ip_addresses = (const char *const[]){"10.0.0.300", NULL};
    expect_srv_error(d, &req, -EINVAL, "invalid IP address '10.0.0.300'");
    req = srv_req;
    req.dns_names = (const char *const[]){"a,IP:1.2.3.4", NULL};
    expect_srv_error(d, &req, -EINVAL, "invalid DNS name");
    req = srv_req;
    req.usage = 0;
    expect_srv_error(d, &req, -EINVAL, "usage");
    req = srv_req;
    req.valid_days = -1;
    expect_srv_error(d, &req, -EINVAL, "out of range");
    req = srv_req;
    req.name = "../escape";
    capture_start();
    assert_int_equal(pki_ensure_cert(d, "ca", &req), -EINVAL);
    capture_end();
    _cleanup_free_ char *escaped = pathf("%s/escape.key", tmpdir);
    assert_false(path_exists(escaped));
}

/* ---- client certs in memory ---- */

static void test_issue_client_cert(void **state)
{
    static const char *const groups[] = {"dev", "ops", NULL};
    _cleanup_free_ char *cert_pem = NULL, *key_pem = NULL;
    assert_int_equal(pki_issue_client_cert(dir_a, "ca", "jane", groups, 0, &cert_pem, &key_pem), 0);
    assert_non_null(strstr(cert_pem, "-----BEGIN CERTIFICATE-----"));
    assert_non_null(strstr(key_pem, "-----BEGIN PRIVATE KEY-----"));
    BIO *bio = BIO_new_mem_buf(cert_pem, -1);
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    bio = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(cert);
    assert_non_null(key);
    assert_int_equal(X509_check_private_key(cert, key), 1);
    assert_true(EVP_PKEY_is_a(key, "EC"));

    const X509_NAME *name = X509_get_subject_name(cert);
    char buf[256];
    assert_int_equal(X509_NAME_get_text_by_NID(name, NID_commonName, buf, sizeof(buf)), 4);
    assert_string_equal(buf, "jane");
    int i = X509_NAME_get_index_by_NID(name, NID_organizationName, -1);
    const ASN1_STRING *o1 = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    i = X509_NAME_get_index_by_NID(name, NID_organizationName, i);
    const ASN1_STRING *o2 = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    assert_int_equal(X509_NAME_get_index_by_NID(name, NID_organizationName, i), -1);
    assert_memory_equal(ASN1_STRING_get0_data(o1), "dev", 3);
    assert_memory_equal(ASN1_STRING_get0_data(o2), "ops", 3);

    assert_int_equal(X509_get_extended_key_usage(cert), XKU_SSL_CLIENT);
    X509 *ca = load_cert_in(dir_a, "ca.crt");
    assert_int_equal(verify_with_purpose(cert, ca, X509_PURPOSE_SSL_CLIENT), 1);
    _cleanup_free_ char *written = pathf("%s/jane.crt", dir_a);
    assert_false(path_exists(written));
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(key);

    /* a CA that cannot sign is an error, not an empty cert */
    _cleanup_free_ char *nothing = pathf("%s/absent", tmpdir);
    char *c = NULL, *k = NULL;
    capture_start();
    assert_int_equal(pki_issue_client_cert(nothing, "ca", "jane", groups, 0, &c, &k), -ENOENT);
    capture_end();
    assert_null(c);
    assert_null(k);
}

/* ---- key pairs ---- */

static void test_keypair(void **state)
{
    struct snapshot snap = take_snapshot(dir_a, "sa", "pub");
    assert_non_null(strstr(snap.key, "-----BEGIN PRIVATE KEY-----"));
    assert_non_null(strstr(snap.crt, "-----BEGIN PUBLIC KEY-----"));
    /* RSA, unlike the TLS keys: RS256 is the one JWT algorithm every OIDC relying party must support */
    EVP_PKEY *key = load_key_in(dir_a, "sa.key");
    assert_true(EVP_PKEY_is_a(key, "RSA"));
    assert_int_equal(EVP_PKEY_get_bits(key), 2048);
    EVP_PKEY_free(key);
    assert_int_equal(pki_ensure_keypair(dir_a, "sa"), 0);
    assert_untouched(snap, dir_a, "sa", "pub");
}

static void test_keypair_mismatch_and_half_states(void **state)
{
    /* a public key from another pair */
    _cleanup_free_ char *d = fresh_dir("sa");
    copy_into(dir_a, "sa.key", d, "sa.key");
    X509 *srv = load_cert_in(dir_a, "srv.crt");
    _cleanup_free_ char *pub = pathf("%s/sa.pub", d);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PUBKEY(bio, X509_get0_pubkey(srv)));
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    assert_int_equal(write_file_atomic(pub, data, (size_t)len, 0600), 0);
    BIO_free(bio);
    X509_free(srv);
    struct snapshot snap = take_snapshot(d, "sa", "pub");
    capture_start();
    assert_int_equal(pki_ensure_keypair(d, "sa"), -EINVAL);
    assert_non_null(strstr(capture_end(), "sa.key does not match"));
    assert_untouched(snap, d, "sa", "pub");

    /* the private key alone: the public half is derived from it, identical to the original */
    assert_int_equal(unlink(pub), 0);
    assert_int_equal(pki_ensure_keypair(d, "sa"), 0);
    _cleanup_free_ char *orig = pathf("%s/sa.pub", dir_a);
    _cleanup_free_ char *want = slurp(orig), *got = slurp(pub);
    assert_string_equal(want, got);

    /* the public key alone: nothing can recreate the private key */
    _cleanup_free_ char *key = pathf("%s/sa.key", d);
    assert_int_equal(unlink(key), 0);
    snap = take_snapshot(d, "sa", "pub");
    capture_start();
    assert_int_equal(pki_ensure_keypair(d, "sa"), -ENOKEY);
    capture_end();
    assert_untouched(snap, d, "sa", "pub");
}

static void test_check_cert_file(void **state)
{
    _cleanup_free_ char *ok = pathf("%s/srv.crt", dir_a), *missing = pathf("%s/missing.crt", dir_a);
    _cleanup_free_ char *key = pathf("%s/srv.key", dir_a);
    assert_int_equal(pki_check_cert_file(ok), 0);
    capture_start();
    assert_int_equal(pki_check_cert_file(missing), -ENOENT);
    assert_int_equal(pki_check_cert_file(key), -EINVAL);
    const char *log = capture_end();
    assert_non_null(strstr(log, "missing.crt"));
    assert_non_null(strstr(log, "srv.key is not a PEM certificate"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca_properties),
        cmocka_unit_test(test_ca_reused_unchanged),
        cmocka_unit_test(test_ca_key_mismatch),
        cmocka_unit_test(test_ca_missing_key),
        cmocka_unit_test(test_ca_not_a_ca),
        cmocka_unit_test(test_leaf_verifies_against_ca),
        cmocka_unit_test(test_leaf_extensions),
        cmocka_unit_test(test_leaf_subject_alt_names),
        cmocka_unit_test(test_files_are_0600),
        cmocka_unit_test(test_leaf_reused_unchanged),
        cmocka_unit_test(test_tampered_cert),
        cmocka_unit_test(test_cert_signed_by_another_ca),
        cmocka_unit_test(test_cert_without_key),
        cmocka_unit_test(test_key_does_not_match_cert),
        cmocka_unit_test(test_key_without_cert_is_completed),
        cmocka_unit_test(test_rsa_ca_from_older_kig),
        cmocka_unit_test(test_directory_lock_serializes_processes),
        cmocka_unit_test(test_expired_cert),
        cmocka_unit_test(test_san_not_covered),
        cmocka_unit_test(test_usage_and_subject_must_match),
        cmocka_unit_test(test_missing_ca),
        cmocka_unit_test(test_invalid_requests),
        cmocka_unit_test(test_issue_client_cert),
        cmocka_unit_test(test_keypair),
        cmocka_unit_test(test_keypair_mismatch_and_half_states),
        cmocka_unit_test(test_check_cert_file),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
