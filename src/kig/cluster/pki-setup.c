#include "pki-setup.h"

#include "fileutil.h"
#include "kubeconfig.h"
#include "log.h"
#include "macro.h"
#include "netinfo.h"
#include "pki.h"
#include "strv.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum san_set { SANS_NONE, SANS_APISERVER, SANS_LOOPBACK };

struct leaf_spec {
    const char *name;
    const char *ca;
    const char *common_name;
    const char *const *groups;
    unsigned usage;
    enum san_set sans;
};

static const char *const masters[] = {"system:masters", NULL};

static const char *const cas[][2] = {
    {"ca", "kubernetes"},
    {"front-proxy-ca", "front-proxy-ca"},
    {"etcd-ca", "etcd-ca"},
};

static const struct leaf_spec leaves[] = {
    {"apiserver", "ca", "kube-apiserver", NULL, PKI_SERVER, SANS_APISERVER},
    {"apiserver-kubelet-client", "ca", "kube-apiserver-kubelet-client", masters, PKI_CLIENT, SANS_NONE},
    {"admin", "ca", "kubernetes-admin", masters, PKI_CLIENT, SANS_NONE},
    {"controller-manager", "ca", "system:kube-controller-manager", NULL, PKI_CLIENT, SANS_NONE},
    {"scheduler", "ca", "system:kube-scheduler", NULL, PKI_CLIENT, SANS_NONE},
    {"front-proxy-client", "front-proxy-ca", "front-proxy-client", NULL, PKI_CLIENT, SANS_NONE},
    {"etcd-server", "etcd-ca", "kig-etcd", NULL, PKI_SERVER | PKI_CLIENT, SANS_LOOPBACK},
    {"apiserver-etcd-client", "etcd-ca", "kube-apiserver-etcd-client", NULL, PKI_CLIENT, SANS_NONE},
};

static const char *const kubeconfig_users[] = {KIG_ADMIN_USER, "controller-manager", "scheduler"};

/* The SANs every apiserver cert must carry; the host's name and addresses are added when it is created
 * (a later sandbox may have other ones, and the cert is not reissued for that). */
static int apiserver_sans(bool with_host, struct strv *dns, struct strv *ips)
{
    static const char *const fixed_dns[] = {"localhost", "kubernetes", "kubernetes.default",
                                            "kubernetes.default.svc",
                                            ("kubernetes.default.svc." KIG_CLUSTER_DOMAIN)};
    int r = 0;
    for (size_t i = 0; i < ARRAY_SIZE(fixed_dns) && r == 0; i++)
        r = strv_push(dns, fixed_dns[i]);
    if (r == 0)
        r = strv_push(ips, "127.0.0.1");
    if (r == 0)
        r = strv_push(ips, KIG_SERVICE_IP);
    if (r < 0 || !with_host)
        return r;
    _cleanup_free_ char *host = netinfo_hostname();
    if (host && !strv_contains(dns, host))
        r = strv_push(dns, host);
    if (r == 0)
        r = netinfo_addresses(ips); /* failing to list interfaces only loses optional SANs */
    return r == -ENOMEM ? r : 0;
}

static int ensure_leaf(const char *pki_dir, const struct leaf_spec *leaf, bool fresh)
{
    _cleanup_(strv_done) struct strv dns = {0}, ips = {0};
    int r = 0;
    if (leaf->sans == SANS_APISERVER)
        r = apiserver_sans(fresh, &dns, &ips);
    else if (leaf->sans == SANS_LOOPBACK) {
        r = strv_push(&dns, "localhost");
        if (r == 0)
            r = strv_push(&ips, "127.0.0.1");
    }
    if (r < 0)
        return log_error_errno(r, "out of memory");
    const struct pki_cert_request req = {
        .name = leaf->name,
        .common_name = leaf->common_name,
        .organizations = leaf->groups,
        .dns_names = dns.v ? strv_argv(&dns) : NULL,
        .ip_addresses = ips.v ? strv_argv(&ips) : NULL,
        .usage = leaf->usage,
    };
    return pki_ensure_cert(pki_dir, leaf->ca, &req);
}

/* One unit of PKI work: the CAs and the SA key pair first, then the leaves, which need their CA. */
struct pki_job {
    const char *pki_dir;
    bool fresh;
    size_t index; /* < ARRAY_SIZE(cas): a CA; == ARRAY_SIZE(cas): the SA key pair; leaves after that */
};

static int run_job(const struct pki_job *job)
{
    size_t i = job->index;
    if (i < ARRAY_SIZE(cas))
        return pki_ensure_ca(job->pki_dir, cas[i][0], cas[i][1]);
    if (i == ARRAY_SIZE(cas))
        return pki_ensure_keypair(job->pki_dir, "sa");
    return ensure_leaf(job->pki_dir, &leaves[i - ARRAY_SIZE(cas) - 1], job->fresh);
}

/* Jobs [first, last) shared by a few threads: a new cluster needs a dozen keys, and key generation is
 * CPU-bound (a P-256 key takes under a millisecond, but the service-account key is RSA, 0.1-0.5 s and more
 * in a sandbox, and runs beside the CAs); every file is its own, so the jobs are independent. */
struct pki_batch {
    const char *pki_dir;
    bool fresh;
    size_t last;
    atomic_size_t next;
    atomic_int error;
};

static void *batch_worker(void *arg)
{
    struct pki_batch *b = arg;
    for (size_t i; (i = atomic_fetch_add(&b->next, 1)) < b->last;) {
        const struct pki_job job = {b->pki_dir, b->fresh, i};
        int r = run_job(&job);
        int none = 0;
        if (r < 0)
            atomic_compare_exchange_strong(&b->error, &none, r);
    }
    return NULL;
}

static int run_batch(const char *pki_dir, bool fresh, size_t first, size_t last)
{
    struct pki_batch b = {.pki_dir = pki_dir, .fresh = fresh, .last = last};
    atomic_init(&b.next, first);
    atomic_init(&b.error, 0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n_threads = cpus > 1 ? (size_t)(cpus < 4 ? cpus : 4) - 1 : 0;
    pthread_t threads[3];
    size_t started = 0;
    for (; started < n_threads && first + started + 1 < last; started++)
        if (pthread_create(&threads[started], NULL, batch_worker, &b) != 0)
            break; /* fewer helpers only means slower */
    batch_worker(&b);
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    return atomic_load(&b.error);
}

static int ensure_all(const char *pki_dir, bool fresh)
{
    size_t n_roots = ARRAY_SIZE(cas) + 1, n_jobs = n_roots + ARRAY_SIZE(leaves);
    if (fresh) {
        int r = run_batch(pki_dir, fresh, 0, n_roots);
        return r < 0 ? r : run_batch(pki_dir, fresh, n_roots, n_jobs);
    }
    /* Verifying is quick, and in order the first damaged file is the one reported. */
    for (size_t i = 0; i < n_jobs; i++) {
        const struct pki_job job = {pki_dir, fresh, i};
        int r = run_job(&job);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Every file an existing cluster's PKI must hold, as "<stem>.<ext>". */
static int first_missing_file(const char *pki_dir, char *buf, size_t size)
{
    struct strv files = {0};
    int r = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cas) && r == 0; i++)
        if ((r = strv_pushf(&files, "%s.crt", cas[i][0])) == 0)
            r = strv_pushf(&files, "%s.key", cas[i][0]);
    if (r == 0 && (r = strv_push(&files, "sa.key")) == 0)
        r = strv_push(&files, "sa.pub");
    for (size_t i = 0; i < ARRAY_SIZE(leaves) && r == 0; i++)
        if ((r = strv_pushf(&files, "%s.crt", leaves[i].name)) == 0)
            r = strv_pushf(&files, "%s.key", leaves[i].name);
    int found = 0;
    for (size_t i = 0; r == 0 && i < files.n && !found; i++) {
        _cleanup_free_ char *path = path_join(pki_dir, files.v[i]);
        if (!path)
            r = -ENOMEM;
        else if (!path_exists(path)) {
            snprintf(buf, size, "%s", files.v[i]);
            found = 1;
        }
    }
    strv_done(&files);
    return r < 0 ? r : found;
}

static int verify_existing(const struct data_dir *d)
{
    char missing[64];
    int r = first_missing_file(d->pki, missing, sizeof(missing));
    if (r < 0)
        return log_error_errno(r, "out of memory");
    if (r > 0)
        return log_error_errno(ENOENT,
                               "data dir %s is damaged: %s/%s is missing (kig never regenerates a PKI that "
                               "clients may trust): restore it from a backup, or start over with "
                               "'kig down --purge --data-dir %s'",
                               d->root, d->pki, missing, d->root);
    /* pki.h reports a damaged file in one line that names it and the fix. */
    return ensure_all(d->pki, false);
}

static int create_fresh(const struct data_dir *d)
{
    _cleanup_free_ char *staging = path_join(d->root, "pki.new");
    if (!staging)
        return log_error_errno(ENOMEM, "out of memory");
    /* A staging dir is what an interrupted creation leaves: nothing uses it yet, so it is safe to drop. */
    int r = rm_rf(staging);
    if (r < 0)
        return log_error_errno(r, "cannot remove the unfinished PKI %s: %m", staging);
    if ((r = mkdir_p(staging, 0700)) < 0)
        return log_error_errno(r, "cannot create %s: %m", staging);
    if ((r = ensure_all(staging, true)) < 0)
        return r;
    if (rename(staging, d->pki) < 0)
        return log_error_errno(negative_errno(), "cannot move %s to %s: %m", staging, d->pki);
    return 0;
}

int pki_setup(const struct data_dir *d, bool fresh)
{
    if (!fresh)
        return verify_existing(d);
    if (path_exists(d->pki))
        return log_error_errno(
            EEXIST,
            "data dir %s holds a PKI (%s) but no cluster.json: it is damaged or not kig's; "
            "restore cluster.json, or start over with 'kig down --purge --data-dir %s'",
            d->root, d->pki, d->root);
    return create_fresh(d);
}

void pki_setup_server_url(int port, char *buf, size_t size)
{
    snprintf(buf, size, "https://%s:%d", KIG_BIND_ADDRESS, port);
}

int pki_setup_kubeconfigs(const struct data_dir *d, const char *cluster_name, const char *server)
{
    for (size_t i = 0; i < ARRAY_SIZE(kubeconfig_users); i++) {
        _cleanup_free_ char *path = data_dir_kubeconfig(d, kubeconfig_users[i]);
        if (!path)
            return log_error_errno(ENOMEM, "out of memory");
        int r = kubeconfig_write_from_pki(path, d->pki, kubeconfig_users[i], cluster_name, server);
        if (r < 0)
            return r;
    }
    return 0;
}

/* The node's certificates: kubelet's client cert (the Node authorizer knows a node by the name in
 * system:node:<name>) and its serving cert. The node address goes into a new serving cert only: a later
 * sandbox may have another one, and the apiserver, which is the only client, does not verify kubelet's
 * serving cert (no --kubelet-certificate-authority), so that is no reason to fail or reissue. */
int pki_setup_node(const struct data_dir *d, const char *node_name, const char *node_ip)
{
    static const char *const nodes[] = {"system:nodes", NULL};
    char cn[128];
    snprintf(cn, sizeof(cn), "system:node:%s", node_name);
    const struct pki_cert_request client = {
        .name = "kubelet", .common_name = cn, .organizations = nodes, .usage = PKI_CLIENT};
    int r = pki_ensure_cert(d->pki, "ca", &client);
    if (r < 0)
        return r;
    /* The service proxy: the bootstrap RBAC binds system:node-proxier to this user. */
    const struct pki_cert_request proxy = {
        .name = "kube-proxy", .common_name = "system:kube-proxy", .usage = PKI_CLIENT};
    if ((r = pki_ensure_cert(d->pki, "ca", &proxy)) < 0)
        return r;
    _cleanup_free_ char *server_crt = data_dir_pki_file(d, "kubelet-server.crt");
    if (!server_crt)
        return log_error_errno(ENOMEM, "out of memory");
    bool fresh = !path_exists(server_crt);
    const char *dns[] = {node_name, "localhost", NULL};
    const char *ips[] = {"127.0.0.1", fresh ? node_ip : NULL, NULL};
    const struct pki_cert_request server = {.name = "kubelet-server",
                                            .common_name = cn,
                                            .dns_names = dns,
                                            .ip_addresses = ips,
                                            .usage = PKI_SERVER};
    return pki_ensure_cert(d->pki, "ca", &server);
}

/* Without a serving cert, the controller-manager and the scheduler each make a self-signed RSA 2048 one
 * in memory at every start: 1.4 s of the controller-manager's start inside gVisor, on the path to the
 * first pod. Nobody trusts these (kig's probes do not verify them), so a missing one is simply made. */
int pki_setup_controller_serving(const struct data_dir *d)
{
    static const char *const names[][2] = {
        {"controller-manager-server", "kube-controller-manager"},
        {"scheduler-server", "kube-scheduler"},
    };
    const char *dns[] = {"localhost", NULL};
    const char *ips[] = {"127.0.0.1", NULL};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        const struct pki_cert_request req = {.name = names[i][0],
                                             .common_name = names[i][1],
                                             .dns_names = dns,
                                             .ip_addresses = ips,
                                             .usage = PKI_SERVER};
        int r = pki_ensure_cert(d->pki, "ca", &req);
        if (r < 0)
            return r;
    }
    return 0;
}
