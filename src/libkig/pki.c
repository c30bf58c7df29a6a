/* The cluster PKI with OpenSSL 3 libcrypto (EVP and X509 APIs only). The reuse rules are in pki.h. */
#include "pki.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

/* ECDSA P-256 for TLS (CAs and leaves): Go's crypto/tls in Kubernetes 1.20 and etcd 3.4, OpenSSL and libcurl
 * all accept it, and generating a key is far more than 100x cheaper than RSA 2048 (under 0.1 ms against
 * 0.1-0.5 s per key measured here; a new cluster needs a dozen, and gVisor is slower still). RSA 2048 only
 * for the service-account key pair: RS256 is the one JWT algorithm every consumer of service-account
 * tokens (OIDC relying parties) must support. Keys of an existing PKI are loaded whatever their type (older
 * kig made them all RSA), so such a PKI keeps working as it is and its RSA CAs sign new (P-256) leaves. */
#define PKI_EC_CURVE  "P-256"
#define PKI_RSA_BITS  2048
#define PKI_CA_DAYS   3650
#define PKI_LEAF_DAYS 365
#define PKI_MAX_DAYS  36500
/* Fresh certs are backdated so a component whose clock lags the signer's a little still accepts them. */
#define PKI_BACKDATE_SECONDS (5 * 60)
#define PKI_EXPIRY_WARN_DAYS 30
#define PKI_PEM_MAX          (1u << 20)
#define PKI_SERIAL_BITS      128

#define DEFINE_OSSL_CLEANUP(type, free_fn)                                                                   \
    static inline void free_fn##p(type **p)                                                                  \
    {                                                                                                        \
        if (*p)                                                                                              \
            free_fn(*p);                                                                                     \
    }
DEFINE_OSSL_CLEANUP(X509, X509_free)
DEFINE_OSSL_CLEANUP(EVP_PKEY, EVP_PKEY_free)
DEFINE_OSSL_CLEANUP(BIO, BIO_free)
DEFINE_OSSL_CLEANUP(BIGNUM, BN_free)
DEFINE_OSSL_CLEANUP(ASN1_INTEGER, ASN1_INTEGER_free)
DEFINE_OSSL_CLEANUP(X509_EXTENSION, X509_EXTENSION_free)
DEFINE_OSSL_CLEANUP(GENERAL_NAMES, GENERAL_NAMES_free)
DEFINE_OSSL_CLEANUP(GENERAL_NAME, GENERAL_NAME_free)
DEFINE_OSSL_CLEANUP(ASN1_OCTET_STRING, ASN1_OCTET_STRING_free)
DEFINE_OSSL_CLEANUP(X509_STORE, X509_STORE_free)
DEFINE_OSSL_CLEANUP(X509_STORE_CTX, X509_STORE_CTX_free)

#define _cleanup_x509_ _cleanup_(X509_freep)
#define _cleanup_pkey_ _cleanup_(EVP_PKEY_freep)
#define _cleanup_bio_  _cleanup_(BIO_freep)

/* Private key PEM must not linger in freed heap memory. */
static void erase_freep(char **p)
{
    if (*p) {
        OPENSSL_cleanse(*p, strlen(*p));
        free(*p);
    }
}
#define _cleanup_erase_ _cleanup_(erase_freep)

/* The newest OpenSSL error as text for a log line; empties the queue so it cannot leak into a later one. */
static const char *ossl_error(void)
{
    static _Thread_local char buf[256];
    unsigned long e = ERR_peek_last_error();
    if (e == 0)
        return "no detail from OpenSSL";
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return buf;
}

static int ossl_fail(const char *what)
{
    return log_error_errno(EIO, "cannot %s: %s", what, ossl_error());
}

/* A cert (or public key) file and its private key file. */
struct pair_files {
    char *crt;
    char *key;
    char *hint; /* what the user does to start this pair over */
};

static void pair_files_done(struct pair_files *p)
{
    free(p->crt);
    free(p->key);
    free(p->hint);
}

static bool valid_file_stem(const char *name)
{
    return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static char *path_join_ext(const char *dir, const char *name, const char *ext)
{
    char *path;
    return asprintf(&path, "%s/%s.%s", dir, name, ext) < 0 ? NULL : path;
}

enum pair_kind { PAIR_CA, PAIR_LEAF, PAIR_KEYS };

static char *pair_hint(enum pair_kind kind, const char *crt, const char *key)
{
    char *hint;
    int r;
    switch (kind) {
    case PAIR_CA:
        r = asprintf(&hint, "remove %s and %s to create a new CA (and reissue every certificate it signed)",
                     crt, key);
        break;
    case PAIR_LEAF:
        r = asprintf(&hint, "remove %s and %s to reissue it", crt, key);
        break;
    default:
        r = asprintf(&hint,
                     "remove %s and %s to create a new pair (tokens signed with the old key stop validating)",
                     crt, key);
        break;
    }
    return r < 0 ? NULL : hint;
}

static int pair_files_init(struct pair_files *p, const char *dir, const char *name, enum pair_kind kind)
{
    *p = (struct pair_files){0};
    if (!dir || !*dir || !valid_file_stem(name))
        return log_error_errno(EINVAL, "invalid PKI file name '%s' in '%s'", name ? name : "(null)",
                               dir ? dir : "(null)");
    p->crt = path_join_ext(dir, name, kind == PAIR_KEYS ? "pub" : "crt");
    p->key = path_join_ext(dir, name, "key");
    p->hint = p->crt && p->key ? pair_hint(kind, p->crt, p->key) : NULL;
    return p->hint ? 0 : -ENOMEM;
}

/* ---- reading and writing PEM ---- */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    /* Without a callback OpenSSL would prompt on the terminal for an encrypted key. */
    return -1;
}

static int read_pem(const char *path, char **ret)
{
    int r = read_file(path, ret, NULL, PKI_PEM_MAX);
    if (r < 0)
        return log_error_errno(r, "cannot read %s: %m", path);
    return 0;
}

static int load_cert(const char *path, X509 **ret)
{
    _cleanup_free_ char *pem = NULL;
    int r = read_pem(path, &pem);
    if (r < 0)
        return r;
    _cleanup_bio_ BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, no_passphrase, NULL) : NULL;
    if (!cert)
        return log_error_errno(EINVAL, "%s is not a PEM certificate (%s)", path, ossl_error());
    *ret = cert;
    return 0;
}

static int load_private_key(const char *path, EVP_PKEY **ret)
{
    _cleanup_erase_ char *pem = NULL;
    int r = read_pem(path, &pem);
    if (r < 0)
        return r;
    _cleanup_bio_ BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    if (!key)
        return log_error_errno(EINVAL, "%s is not an unencrypted PEM private key (%s)", path, ossl_error());
    *ret = key;
    return 0;
}

static int load_public_key(const char *path, EVP_PKEY **ret)
{
    _cleanup_free_ char *pem = NULL;
    int r = read_pem(path, &pem);
    if (r < 0)
        return r;
    _cleanup_bio_ BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL) : NULL;
    if (!key)
        return log_error_errno(EINVAL, "%s is not a PEM public key (%s)", path, ossl_error());
    *ret = key;
    return 0;
}

static int bio_to_string(BIO *bio, char **ret)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len <= 0)
        return -EIO;
    char *s = malloc((size_t)len + 1);
    if (!s)
        return -ENOMEM;
    memcpy(s, data, (size_t)len);
    s[len] = '\0';
    *ret = s;
    return 0;
}

static int cert_to_pem(X509 *cert, char **ret)
{
    _cleanup_bio_ BIO *bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_X509(bio, cert))
        return ossl_fail("encode a certificate as PEM");
    return bio_to_string(bio, ret);
}

/* PKCS#8 ("PRIVATE KEY"): Go's tls.X509KeyPair and client-go's keyutil read it, as do OpenSSL's tools. */
static int private_key_to_pem(EVP_PKEY *key, char **ret)
{
    /* A secure-memory BIO clears its buffer when freed. */
    _cleanup_bio_ BIO *bio = BIO_new(BIO_s_secmem());
    if (!bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
        return ossl_fail("encode a private key as PEM");
    return bio_to_string(bio, ret);
}

static int public_key_to_pem(EVP_PKEY *key, char **ret)
{
    _cleanup_bio_ BIO *bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_PUBKEY(bio, key))
        return ossl_fail("encode a public key as PEM");
    return bio_to_string(bio, ret);
}

static int write_secret_file(const char *path, const char *pem)
{
    int r = write_file_atomic(path, pem, strlen(pem), 0600);
    if (r < 0)
        return log_error_errno(r, "cannot write %s: %m", path);
    return 0;
}

static int write_cert_file(const char *path, X509 *cert)
{
    _cleanup_free_ char *pem = NULL;
    int r = cert_to_pem(cert, &pem);
    if (r < 0)
        return r;
    return write_secret_file(path, pem);
}

static int write_private_key_file(const char *path, EVP_PKEY *key)
{
    _cleanup_erase_ char *pem = NULL;
    int r = private_key_to_pem(key, &pem);
    if (r < 0)
        return r;
    return write_secret_file(path, pem);
}

static int write_public_key_file(const char *path, EVP_PKEY *key)
{
    _cleanup_free_ char *pem = NULL;
    int r = public_key_to_pem(key, &pem);
    if (r < 0)
        return r;
    return write_secret_file(path, pem);
}

enum key_type {
    KEY_EC,  /* TLS: CAs and leaves */
    KEY_RSA, /* service-account token signing (RS256) */
};

static int generate_key(enum key_type type, EVP_PKEY **ret)
{
    EVP_PKEY *key = type == KEY_RSA ? EVP_RSA_gen(PKI_RSA_BITS) : EVP_EC_gen(PKI_EC_CURVE);
    if (!key)
        return ossl_fail(type == KEY_RSA ? "generate an RSA key" : "generate an EC key");
    *ret = key;
    return 0;
}

/* The private key of a pair: the existing file if there is one (a key without its cert is what a crash
 * between the two writes leaves, and it was never used, so issuing the cert for it completes the pair; it
 * keeps its type, which an older kig may have made RSA), else a new key of the given type, written and made
 * durable (dir_fd is its directory) before anything that depends on it. */
static int obtain_private_key(int dir_fd, const char *key_path, enum key_type type,
                              const char *what_is_missing, EVP_PKEY **ret)
{
    if (path_exists(key_path)) {
        int r = load_private_key(key_path, ret);
        if (r < 0)
            return r;
        log_warn("%s has no %s (an interrupted run?): completing the pair with the existing key", key_path,
                 what_is_missing);
        return 0;
    }
    _cleanup_pkey_ EVP_PKEY *key = NULL;
    int r = generate_key(type, &key);
    if (r < 0)
        return r;
    r = write_private_key_file(key_path, key);
    if (r < 0)
        return r;
    /* The rename must reach the disk before the cert's, or a power cut could keep the cert alone. */
    if (fsync(dir_fd) < 0 && errno != EINVAL)
        return log_error_errno(errno, "cannot sync the directory of %s: %m", key_path);
    *ret = TAKE_PTR(key);
    return 0;
}

/* ---- building certificates ---- */

static int set_random_serial(X509 *cert)
{
    _cleanup_(BN_freep) BIGNUM *bn = BN_new();
    if (!bn)
        return -ENOMEM;
    do {
        if (!BN_rand(bn, PKI_SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY))
            return ossl_fail("draw a random serial number");
    } while (BN_is_zero(bn));
    _cleanup_(ASN1_INTEGER_freep) ASN1_INTEGER *serial = BN_to_ASN1_INTEGER(bn, NULL);
    if (!serial || !X509_set_serialNumber(cert, serial))
        return ossl_fail("set a serial number");
    return 0;
}

/* Valid from a little in the past for `days`, never past the issuer's own notAfter (a chain is only as
 * valid as its CA, and a leaf outliving it would only hide the real expiry date). */
static int set_validity(X509 *cert, int days, const X509 *issuer)
{
    if (!X509_gmtime_adj(X509_getm_notBefore(cert), -PKI_BACKDATE_SECONDS) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, NULL))
        return ossl_fail("set the validity period");
    if (issuer && ASN1_TIME_compare(X509_get0_notAfter(cert), X509_get0_notAfter(issuer)) > 0 &&
        !X509_set1_notAfter(cert, X509_get0_notAfter(issuer)))
        return ossl_fail("set the validity period");
    return 0;
}

static int add_name_entry(X509_NAME *name, int nid, const char *value)
{
    if (!X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (const unsigned char *)value, -1, -1, 0))
        return log_error_errno(EINVAL, "invalid certificate subject entry '%s' (%s)", value, ossl_error());
    return 0;
}

/* Kubernetes reads the user from CN and the groups from every O. */
static int set_subject(X509 *cert, const char *common_name, const char *const *organizations)
{
    X509_NAME *name = X509_get_subject_name(cert);
    for (const char *const *o = organizations; o && *o; o++) {
        int r = add_name_entry(name, NID_organizationName, *o);
        if (r < 0)
            return r;
    }
    return add_name_entry(name, NID_commonName, common_name);
}

/* Adds an extension from its fixed OpenSSL config text (never user input: see add_subject_alt_names). */
static int add_extension(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    _cleanup_(X509_EXTENSION_freep) X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    if (!ext || !X509_add_ext(cert, ext, -1))
        return log_error_errno(EIO, "cannot add certificate extension %s = %s (%s)", OBJ_nid2sn(nid), value,
                               ossl_error());
    return 0;
}

static int push_general_name(GENERAL_NAMES *names, int type, ASN1_STRING *value)
{
    _cleanup_(GENERAL_NAME_freep) GENERAL_NAME *name = GENERAL_NAME_new();
    if (!name) {
        ASN1_STRING_free(value);
        return -ENOMEM;
    }
    GENERAL_NAME_set0_value(name, type, value);
    if (!sk_GENERAL_NAME_push(names, name))
        return -ENOMEM;
    name = NULL;
    return 0;
}

/* Built as structures rather than config text, so a name holding a comma cannot smuggle in extra entries. */
static int add_subject_alt_names(X509 *cert, const char *const *dns_names, const char *const *ip_addresses)
{
    if (!(dns_names && *dns_names) && !(ip_addresses && *ip_addresses))
        return 0;
    _cleanup_(GENERAL_NAMES_freep) GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    if (!names)
        return -ENOMEM;
    for (const char *const *d = dns_names; d && *d; d++) {
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        if (!s || !ASN1_STRING_set(s, *d, -1)) {
            ASN1_IA5STRING_free(s);
            return -ENOMEM;
        }
        int r = push_general_name(names, GEN_DNS, s);
        if (r < 0)
            return r;
    }
    for (const char *const *ip = ip_addresses; ip && *ip; ip++) {
        ASN1_OCTET_STRING *octets = a2i_IPADDRESS(*ip);
        if (!octets)
            return log_error_errno(EINVAL, "invalid IP address '%s'", *ip);
        int r = push_general_name(names, GEN_IPADD, octets);
        if (r < 0)
            return r;
    }
    if (!X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT))
        return ossl_fail("add the subjectAltName extension");
    return 0;
}

static int start_cert(X509 *cert, EVP_PKEY *key, const char *common_name, const char *const *organizations)
{
    if (!X509_set_version(cert, X509_VERSION_3) || !X509_set_pubkey(cert, key))
        return ossl_fail("start a certificate");
    int r = set_random_serial(cert);
    if (r < 0)
        return r;
    return set_subject(cert, common_name, organizations);
}

/* SHA-256 whatever the signer's type: an RSA CA (from an older kig) signs sha256WithRSAEncryption as it
 * always did, a P-256 one ecdsa-with-SHA256, the hash of the curve's strength that every TLS stack takes. */
static int sign_cert(X509 *cert, EVP_PKEY *signer)
{
    if (X509_sign(cert, signer, EVP_sha256()) <= 0)
        return ossl_fail("sign a certificate");
    return 0;
}

static int build_ca_cert(EVP_PKEY *key, const char *common_name, X509 **ret)
{
    _cleanup_x509_ X509 *cert = X509_new();
    if (!cert)
        return -ENOMEM;
    int r = start_cert(cert, key, common_name, NULL);
    if (r < 0)
        return r;
    if (!X509_set_issuer_name(cert, X509_get_subject_name(cert)))
        return ossl_fail("set the issuer");
    r = set_validity(cert, PKI_CA_DAYS, NULL);
    if (r < 0)
        return r;
    if ((r = add_extension(cert, cert, NID_basic_constraints, "critical,CA:TRUE")) < 0 ||
        (r = add_extension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature")) < 0 ||
        (r = add_extension(cert, cert, NID_subject_key_identifier, "hash")) < 0)
        return r;
    r = sign_cert(cert, key);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(cert);
    return 0;
}

static const char *eku_text(unsigned usage)
{
    switch (usage & (PKI_SERVER | PKI_CLIENT)) {
    case PKI_SERVER:
        return "serverAuth";
    case PKI_CLIENT:
        return "clientAuth";
    default:
        return "serverAuth,clientAuth";
    }
}

/* keyEncipherment is RSA key transport (TLS 1.2's RSA key exchange) and only means something for an RSA key;
 * an EC key signs its handshakes (ECDHE), so it gets digitalSignature alone. An RSA leaf key is one an older
 * kig wrote before a crash left it without its cert, completed now. */
static const char *leaf_key_usage_text(EVP_PKEY *key)
{
    return EVP_PKEY_is_a(key, "RSA") ? "critical,digitalSignature,keyEncipherment"
                                     : "critical,digitalSignature";
}

static int build_leaf_cert(X509 *ca_cert, EVP_PKEY *ca_key, EVP_PKEY *key, const struct pki_cert_request *req,
                           X509 **ret)
{
    _cleanup_x509_ X509 *cert = X509_new();
    if (!cert)
        return -ENOMEM;
    int r = start_cert(cert, key, req->common_name, req->organizations);
    if (r < 0)
        return r;
    if (!X509_set_issuer_name(cert, X509_get_subject_name(ca_cert)))
        return ossl_fail("set the issuer");
    r = set_validity(cert, req->valid_days ? req->valid_days : PKI_LEAF_DAYS, ca_cert);
    if (r < 0)
        return r;
    if ((r = add_extension(cert, ca_cert, NID_basic_constraints, "critical,CA:FALSE")) < 0 ||
        (r = add_extension(cert, ca_cert, NID_key_usage, leaf_key_usage_text(key))) < 0 ||
        (r = add_extension(cert, ca_cert, NID_ext_key_usage, eku_text(req->usage))) < 0 ||
        (r = add_extension(cert, ca_cert, NID_authority_key_identifier, "keyid,issuer")) < 0)
        return r;
    r = add_subject_alt_names(cert, req->dns_names, req->ip_addresses);
    if (r < 0)
        return r;
    r = sign_cert(cert, ca_key);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(cert);
    return 0;
}

/* ---- checking what exists ---- */

static void format_time(const ASN1_TIME *t, char *buf, size_t size)
{
    struct tm tm;
    if (!ASN1_TIME_to_tm(t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, size, "(unreadable date)");
}

static int check_validity(X509 *cert, const char *path, const char *hint)
{
    char when[64];
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) != 1) {
        format_time(X509_get0_notAfter(cert), when, sizeof(when));
        return log_error_errno(EKEYEXPIRED, "%s expired on %s: %s", path, when, hint);
    }
    if (X509_cmp_current_time(X509_get0_notBefore(cert)) != -1) {
        format_time(X509_get0_notBefore(cert), when, sizeof(when));
        return log_error_errno(EKEYEXPIRED, "%s is not valid before %s (is the clock right?): %s", path, when,
                               hint);
    }
    time_t soon = time(NULL) + (time_t)PKI_EXPIRY_WARN_DAYS * 24 * 3600;
    if (X509_cmp_time(X509_get0_notAfter(cert), &soon) == -1) {
        format_time(X509_get0_notAfter(cert), when, sizeof(when));
        log_warn("%s expires on %s: %s", path, when, hint);
    }
    return 0;
}

static int check_key_matches(X509 *cert, EVP_PKEY *key, const struct pair_files *files)
{
    if (X509_check_private_key(cert, key) != 1) {
        ERR_clear_error();
        return log_error_errno(EINVAL, "%s does not match %s: %s", files->key, files->crt, files->hint);
    }
    return 0;
}

static int check_ca_pair(X509 *cert, EVP_PKEY *key, const struct pair_files *files)
{
    int r = check_key_matches(cert, key, files);
    if (r < 0)
        return r;
    if (X509_check_ca(cert) != 1)
        return log_error_errno(EINVAL,
                               "%s is not a CA certificate (basicConstraints CA:TRUE, keyCertSign): %s",
                               files->crt, files->hint);
    if (X509_self_signed(cert, 1) != 1) {
        ERR_clear_error();
        return log_error_errno(EINVAL, "%s is not self-signed or its signature is damaged: %s", files->crt,
                               files->hint);
    }
    return check_validity(cert, files->crt, files->hint);
}

static int check_signed_by(X509 *cert, X509 *ca_cert, const struct pair_files *files, const char *ca_path)
{
    _cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
    _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!store || !ctx || !X509_STORE_add_cert(store, ca_cert) ||
        !X509_STORE_CTX_init(ctx, store, cert, NULL))
        return ossl_fail("set up certificate verification");
    /* Dates were checked on their own, with a clearer message. */
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
    if (X509_verify_cert(ctx) == 1)
        return 0;
    int err = X509_STORE_CTX_get_error(ctx);
    ERR_clear_error();
    return log_error_errno(EINVAL, "%s is not signed by %s (%s): %s", files->crt, ca_path,
                           X509_verify_cert_error_string(err), files->hint);
}

static int check_usage(X509 *cert, unsigned usage, const struct pair_files *files)
{
    uint32_t xku = X509_get_extended_key_usage(cert);
    if ((usage & PKI_SERVER) && !(xku & XKU_SSL_SERVER))
        return log_error_errno(EINVAL, "%s is not valid for server authentication: %s", files->crt,
                               files->hint);
    if ((usage & PKI_CLIENT) && !(xku & XKU_SSL_CLIENT))
        return log_error_errno(EINVAL, "%s is not valid for client authentication: %s", files->crt,
                               files->hint);
    return 0;
}

/* True when the name's entries of type nid are exactly the wanted strings (in any order). */
static bool name_entries_equal(const X509_NAME *name, int nid, const char *const *want)
{
    size_t n_want = 0, n_have = 0;
    for (const char *const *w = want; w && *w; w++)
        n_want++;
    for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
         i = X509_NAME_get_index_by_NID(name, nid, i)) {
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
        bool found = false;
        for (const char *const *w = want; len >= 0 && w && *w && !found; w++)
            found = strlen(*w) == (size_t)len && memcmp(*w, utf8, (size_t)len) == 0;
        OPENSSL_free(utf8);
        if (!found)
            return false;
        n_have++;
    }
    return n_have == n_want;
}

static int check_subject(X509 *cert, const struct pki_cert_request *req, const struct pair_files *files)
{
    const X509_NAME *name = X509_get_subject_name(cert);
    const char *cn[] = {req->common_name, NULL};
    if (name_entries_equal(name, NID_commonName, cn) &&
        name_entries_equal(name, NID_organizationName, req->organizations))
        return 0;
    char have[512] = "";
    X509_NAME_oneline(name, have, sizeof(have));
    return log_error_errno(EINVAL, "%s is issued to %s, not to the requested CN=%s and groups: %s",
                           files->crt, have, req->common_name, files->hint);
}

static int check_subject_alt_names(X509 *cert, const struct pki_cert_request *req,
                                   const struct pair_files *files)
{
    for (const char *const *d = req->dns_names; d && *d; d++)
        if (X509_check_host(cert, *d, strlen(*d),
                            X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1)
            return log_error_errno(EINVAL, "%s does not cover DNS name %s: %s", files->crt, *d, files->hint);
    for (const char *const *ip = req->ip_addresses; ip && *ip; ip++)
        if (X509_check_ip_asc(cert, *ip, 0) != 1)
            return log_error_errno(EINVAL, "%s does not cover IP %s: %s", files->crt, *ip, files->hint);
    return 0;
}

static int check_leaf_pair(X509 *cert, EVP_PKEY *key, X509 *ca_cert, const char *ca_path,
                           const struct pki_cert_request *req, const struct pair_files *files)
{
    int r;
    if ((r = check_key_matches(cert, key, files)) < 0 ||
        (r = check_validity(cert, files->crt, files->hint)) < 0 ||
        (r = check_signed_by(cert, ca_cert, files, ca_path)) < 0 ||
        (r = check_usage(cert, req->usage, files)) < 0 || (r = check_subject(cert, req, files)) < 0 ||
        (r = check_subject_alt_names(cert, req, files)) < 0)
        return r;
    return 0;
}

/* ---- requests ---- */

static bool valid_dns_name(const char *s)
{
    if (!*s || strlen(s) > 253)
        return false;
    for (; *s; s++)
        if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') || ('0' <= *s && *s <= '9') ||
              strchr("-._*", *s)))
            return false;
    return true;
}

static int validate_subject(const char *common_name, const char *const *organizations, int valid_days)
{
    if (!common_name || !*common_name)
        return log_error_errno(EINVAL, "a certificate needs a common name");
    for (const char *const *o = organizations; o && *o; o++)
        if (!**o)
            return log_error_errno(EINVAL, "empty organization (group) name for %s", common_name);
    if (valid_days < 0 || valid_days > PKI_MAX_DAYS)
        return log_error_errno(EINVAL, "validity of %d days for %s is out of range (1-%d)", valid_days,
                               common_name, PKI_MAX_DAYS);
    return 0;
}

static int validate_request(const struct pki_cert_request *req)
{
    if (!req)
        return -EINVAL;
    int r = validate_subject(req->common_name, req->organizations, req->valid_days);
    if (r < 0)
        return r;
    if (!(req->usage & (PKI_SERVER | PKI_CLIENT)) || (req->usage & ~(unsigned)(PKI_SERVER | PKI_CLIENT)))
        return log_error_errno(EINVAL, "certificate %s: usage must be server, client or both",
                               req->common_name);
    for (const char *const *d = req->dns_names; d && *d; d++)
        if (!valid_dns_name(*d))
            return log_error_errno(EINVAL, "certificate %s: invalid DNS name '%s'", req->common_name, *d);
    for (const char *const *ip = req->ip_addresses; ip && *ip; ip++) {
        _cleanup_(ASN1_OCTET_STRING_freep) ASN1_OCTET_STRING *octets = a2i_IPADDRESS(*ip);
        if (!octets) {
            ERR_clear_error();
            return log_error_errno(EINVAL, "certificate %s: invalid IP address '%s'", req->common_name, *ip);
        }
    }
    return 0;
}

/* ---- locking ---- */

/* Serializes check-then-create across kig processes sharing a PKI directory: two concurrent runs could
 * otherwise each write a key and leave one's cert next to the other's key. Released when the fd closes. */
static int lock_dir(const char *dir, bool create, int *ret_fd)
{
    if (create) {
        int r = mkdir_p(dir, 0700);
        if (r < 0)
            return log_error_errno(r, "cannot create %s: %m", dir);
    }
    _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return log_error_errno(errno, "cannot open %s: %m", dir);
    if (flock(fd, LOCK_EX) < 0)
        return log_error_errno(errno, "cannot lock %s: %m", dir);
    *ret_fd = TAKE_FD(fd);
    return 0;
}

/* ---- CA ---- */

static int load_ca(const char *dir, const char *ca_name, X509 **ret_cert, EVP_PKEY **ret_key,
                   char **ret_crt_path)
{
    _cleanup_(pair_files_done) struct pair_files files = {0};
    int r = pair_files_init(&files, dir, ca_name, PAIR_CA);
    if (r < 0)
        return r;
    if (!path_exists(files.crt))
        return log_error_errno(ENOENT, "CA certificate %s does not exist (create the CA first)", files.crt);
    if (!path_exists(files.key))
        return log_error_errno(ENOKEY,
                               "%s exists but its key %s does not, so it cannot sign: restore %s, or %s",
                               files.crt, files.key, files.key, files.hint);
    _cleanup_x509_ X509 *cert = NULL;
    _cleanup_pkey_ EVP_PKEY *key = NULL;
    if ((r = load_cert(files.crt, &cert)) < 0 || (r = load_private_key(files.key, &key)) < 0 ||
        (r = check_ca_pair(cert, key, &files)) < 0)
        return r;
    *ret_cert = TAKE_PTR(cert);
    *ret_key = TAKE_PTR(key);
    *ret_crt_path = TAKE_PTR(files.crt);
    return 0;
}

int pki_ensure_ca(const char *dir, const char *name, const char *common_name)
{
    _cleanup_(pair_files_done) struct pair_files files = {0};
    int r = pair_files_init(&files, dir, name, PAIR_CA);
    if (r < 0)
        return r;
    if ((r = validate_subject(common_name, NULL, 0)) < 0)
        return r;
    _cleanup_close_ int lock_fd = -1;
    if ((r = lock_dir(dir, true, &lock_fd)) < 0)
        return r;
    bool have_crt = path_exists(files.crt);
    if (have_crt && !path_exists(files.key))
        return log_error_errno(ENOKEY, "%s exists but its key %s does not: restore %s, or %s", files.crt,
                               files.key, files.key, files.hint);
    _cleanup_x509_ X509 *cert = NULL;
    _cleanup_pkey_ EVP_PKEY *key = NULL;
    if (have_crt) {
        if ((r = load_cert(files.crt, &cert)) < 0 || (r = load_private_key(files.key, &key)) < 0)
            return r;
        return check_ca_pair(cert, key, &files);
    }
    if ((r = obtain_private_key(lock_fd, files.key, KEY_EC, "certificate", &key)) < 0 ||
        (r = build_ca_cert(key, common_name, &cert)) < 0 || (r = write_cert_file(files.crt, cert)) < 0)
        return r;
    log_debug("created CA %s", files.crt);
    return 0;
}

/* ---- leaf certificates ---- */

int pki_ensure_cert(const char *dir, const char *ca_name, const struct pki_cert_request *req)
{
    int r = validate_request(req);
    if (r < 0)
        return r;
    _cleanup_(pair_files_done) struct pair_files files = {0};
    if ((r = pair_files_init(&files, dir, req->name, PAIR_LEAF)) < 0)
        return r;
    /* No directory means no CA either: load_ca below says so. */
    _cleanup_close_ int lock_fd = -1;
    if (is_dir(dir) && (r = lock_dir(dir, false, &lock_fd)) < 0)
        return r;
    bool have_crt = path_exists(files.crt);
    if (have_crt && !path_exists(files.key))
        return log_error_errno(ENOKEY, "%s exists but its key %s does not: restore %s, or %s", files.crt,
                               files.key, files.key, files.hint);
    _cleanup_x509_ X509 *ca_cert = NULL;
    _cleanup_pkey_ EVP_PKEY *ca_key = NULL;
    _cleanup_free_ char *ca_path = NULL;
    if ((r = load_ca(dir, ca_name, &ca_cert, &ca_key, &ca_path)) < 0)
        return r;
    _cleanup_x509_ X509 *cert = NULL;
    _cleanup_pkey_ EVP_PKEY *key = NULL;
    if (have_crt) {
        if ((r = load_cert(files.crt, &cert)) < 0 || (r = load_private_key(files.key, &key)) < 0)
            return r;
        return check_leaf_pair(cert, key, ca_cert, ca_path, req, &files);
    }
    if ((r = obtain_private_key(lock_fd, files.key, KEY_EC, "certificate", &key)) < 0 ||
        (r = build_leaf_cert(ca_cert, ca_key, key, req, &cert)) < 0 ||
        (r = write_cert_file(files.crt, cert)) < 0)
        return r;
    log_debug("created %s signed by %s", files.crt, ca_path);
    return 0;
}

int pki_issue_client_cert(const char *dir, const char *ca_name, const char *common_name,
                          const char *const *organizations, int valid_days, char **ret_cert_pem,
                          char **ret_key_pem)
{
    const struct pki_cert_request req = {
        .name = common_name,
        .common_name = common_name,
        .organizations = organizations,
        .usage = PKI_CLIENT,
        .valid_days = valid_days,
    };
    int r = validate_request(&req);
    if (r < 0)
        return r;
    _cleanup_x509_ X509 *ca_cert = NULL;
    _cleanup_pkey_ EVP_PKEY *ca_key = NULL;
    _cleanup_free_ char *ca_path = NULL;
    if ((r = load_ca(dir, ca_name, &ca_cert, &ca_key, &ca_path)) < 0)
        return r;
    _cleanup_pkey_ EVP_PKEY *key = NULL;
    _cleanup_x509_ X509 *cert = NULL;
    _cleanup_free_ char *cert_pem = NULL;
    _cleanup_erase_ char *key_pem = NULL;
    if ((r = generate_key(KEY_EC, &key)) < 0 ||
        (r = build_leaf_cert(ca_cert, ca_key, key, &req, &cert)) < 0 ||
        (r = cert_to_pem(cert, &cert_pem)) < 0 || (r = private_key_to_pem(key, &key_pem)) < 0)
        return r;
    *ret_cert_pem = TAKE_PTR(cert_pem);
    *ret_key_pem = TAKE_PTR(key_pem);
    return 0;
}

/* ---- key pairs ---- */

int pki_ensure_keypair(const char *dir, const char *name)
{
    _cleanup_(pair_files_done) struct pair_files files = {0};
    int r = pair_files_init(&files, dir, name, PAIR_KEYS);
    if (r < 0)
        return r;
    _cleanup_close_ int lock_fd = -1;
    if ((r = lock_dir(dir, true, &lock_fd)) < 0)
        return r;
    bool have_pub = path_exists(files.crt);
    if (have_pub && !path_exists(files.key))
        return log_error_errno(ENOKEY, "%s exists but its private key %s does not: restore %s, or %s",
                               files.crt, files.key, files.key, files.hint);
    _cleanup_pkey_ EVP_PKEY *key = NULL;
    if (have_pub) {
        _cleanup_pkey_ EVP_PKEY *pub = NULL;
        if ((r = load_public_key(files.crt, &pub)) < 0 || (r = load_private_key(files.key, &key)) < 0)
            return r;
        if (EVP_PKEY_eq(key, pub) != 1) {
            ERR_clear_error();
            return log_error_errno(EINVAL, "%s does not match %s: %s", files.key, files.crt, files.hint);
        }
        return 0;
    }
    /* RSA: the pair signs service-account tokens, and RS256 is the one JWT algorithm every OIDC relying
     * party must support. */
    if ((r = obtain_private_key(lock_fd, files.key, KEY_RSA, "public key", &key)) < 0 ||
        (r = write_public_key_file(files.crt, key)) < 0)
        return r;
    log_debug("created key pair %s", files.key);
    return 0;
}

int pki_check_cert_file(const char *path)
{
    _cleanup_x509_ X509 *cert = NULL;
    int r = load_cert(path, &cert);
    if (r < 0)
        return r;
    return check_validity(cert, path, "replace it");
}
