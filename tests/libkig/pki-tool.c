/* Test helper: drives libkig's PKI and kubeconfig code from shell scripts (tests/runsc/test-pki-etcd.sh),
 * so real TLS peers (etcd, curl, kubectl, openssl) can be pointed at what the library makes.
 *
 *   pki-tool ca DIR NAME CN
 *   pki-tool cert DIR CA NAME CN [--server] [--client] [--dns NAME]... [--ip ADDR]... [--org O]... [--days N]
 *   pki-tool keypair DIR NAME
 *   pki-tool client-pem DIR CA CN OUT_PREFIX [--org O]...    (in-memory issue, written to
 * OUT_PREFIX.crt/.key) pki-tool kubeconfig PATH DIR CERT_NAME CLUSTER SERVER
 *
 * Exits 0 on success, 1 with the library's message on stderr otherwise, 2 on bad usage. */
#include "fileutil.h"
#include "kubeconfig.h"
#include "log.h"
#include "macro.h"
#include "pki.h"

#include <getopt.h>
#include <string.h>

#define MAX_LIST 16

struct list {
    const char *items[MAX_LIST + 1];
    size_t n;
};

static int list_add(struct list *l, const char *s)
{
    if (l->n >= MAX_LIST) {
        fprintf(stderr, "pki-tool: too many entries (max %d)\n", MAX_LIST);
        return -1;
    }
    l->items[l->n++] = s;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: pki-tool ca DIR NAME CN\n"
                    "       pki-tool cert DIR CA NAME CN [--server] [--client] [--dns N]... [--ip A]... "
                    "[--org O]... [--days N]\n"
                    "       pki-tool keypair DIR NAME\n"
                    "       pki-tool client-pem DIR CA CN OUT_PREFIX [--org O]...\n"
                    "       pki-tool kubeconfig PATH DIR CERT_NAME CLUSTER SERVER\n");
    return 2;
}

struct cert_options {
    struct list dns, ips, orgs;
    unsigned usage;
    int days;
};

/* Parses the options that follow argv[0] (the last positional argument). */
static int parse_cert_options(int argc, char **argv, struct cert_options *o)
{
    static const struct option longopts[] = {
        {"server", no_argument, NULL, 's'},
        {"client", no_argument, NULL, 'c'},
        {"dns", required_argument, NULL, 'd'},
        {"ip", required_argument, NULL, 'i'},
        {"org", required_argument, NULL, 'o'},
        {"days", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    optind = 0; /* a fresh scan: glibc treats argv[0] as the program name */
    int c;
    while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
        int r = 0;
        switch (c) {
        case 's':
            o->usage |= PKI_SERVER;
            break;
        case 'c':
            o->usage |= PKI_CLIENT;
            break;
        case 'd':
            r = list_add(&o->dns, optarg);
            break;
        case 'i':
            r = list_add(&o->ips, optarg);
            break;
        case 'o':
            r = list_add(&o->orgs, optarg);
            break;
        case 'n':
            o->days = atoi(optarg);
            break;
        default:
            return -1;
        }
        if (r < 0)
            return -1;
    }
    return optind == argc ? 0 : -1;
}

static int write_text(const char *path, const char *text)
{
    int r = write_file_atomic(path, text, strlen(text), 0600);
    if (r < 0)
        return log_error_errno(r, "cannot write %s: %m", path);
    return 0;
}

static int client_pem(const char *dir, const char *ca, const char *cn, const char *prefix,
                      const struct cert_options *o)
{
    _cleanup_free_ char *cert = NULL, *key = NULL, *crt_path = NULL, *key_path = NULL;
    int r = pki_issue_client_cert(dir, ca, cn, o->orgs.items, o->days, &cert, &key);
    if (r < 0)
        return r;
    if (asprintf(&crt_path, "%s.crt", prefix) < 0 || asprintf(&key_path, "%s.key", prefix) < 0)
        return -ENOMEM;
    if ((r = write_text(key_path, key)) < 0)
        return r;
    return write_text(crt_path, cert);
}

#define USAGE_ERROR 1000

static int run(int argc, char **argv)
{
    const char *cmd = argv[1];
    struct cert_options o = {0};
    if (strcmp(cmd, "ca") == 0 && argc == 5)
        return pki_ensure_ca(argv[2], argv[3], argv[4]);
    if (strcmp(cmd, "keypair") == 0 && argc == 4)
        return pki_ensure_keypair(argv[2], argv[3]);
    if (strcmp(cmd, "kubeconfig") == 0 && argc == 7)
        return kubeconfig_write_from_pki(argv[2], argv[3], argv[4], argv[5], argv[6]);
    if (strcmp(cmd, "cert") == 0 && argc >= 6) {
        if (parse_cert_options(argc - 5, argv + 5, &o) < 0)
            return USAGE_ERROR;
        const struct pki_cert_request req = {
            .name = argv[4],
            .common_name = argv[5],
            .organizations = o.orgs.items,
            .dns_names = o.dns.items,
            .ip_addresses = o.ips.items,
            .usage = o.usage,
            .valid_days = o.days,
        };
        return pki_ensure_cert(argv[2], argv[3], &req);
    }
    if (strcmp(cmd, "client-pem") == 0 && argc >= 6) {
        if (parse_cert_options(argc - 5, argv + 5, &o) < 0)
            return USAGE_ERROR;
        return client_pem(argv[2], argv[3], argv[4], argv[5], &o);
    }
    return USAGE_ERROR;
}

int main(int argc, char **argv)
{
    log_init("pki-tool");
    if (argc < 2)
        return usage();
    int r = run(argc, argv);
    if (r == USAGE_ERROR)
        return usage();
    return r < 0 ? 1 : 0;
}
