/* kig-proxy: Kubernetes Services and cluster DNS for kig, where kube-proxy cannot run (gVisor has
 * REDIRECT but no DNAT, SNAT, mark or conntrack). One process, one thread, one epoll loop: two informers
 * (Services, Endpoints) fill the store; the proxier and the DNS server serve from it. DNS lives here
 * rather than in its own process so that both read one watch and one store, and one reconciler owns the
 * service addresses on lo (two would fight over which of them are stale). See docs/services.md. */
#include "dns-server.h"
#include "healthz.h"
#include "informer.h"
#include "kube-client.h"
#include "kubeconfig-read.h"
#include "log.h"
#include "loop.h"
#include "options.h"
#include "proxier.h"
#include "store.h"

#include <stddef.h>
#include <string.h>
#include <sys/resource.h>

struct app {
    struct proxy_options opts;
    struct loop *loop;
    struct store store;
    struct kube_client *client;
    struct informer services, endpoints;
    struct proxier *proxier;
    struct dns_server *dns;
    struct healthz *healthz;
    struct loop_timer tick;
};

static bool app_ready(void *userdata)
{
    struct app *a = userdata;
    return proxier_ready(a->proxier) && (!a->dns || dns_server_started(a->dns));
}

static void on_idle(void *userdata)
{
    struct app *a = userdata;
    proxier_sync(a->proxier);
    /* DNS binds its address only once the first sync has put it on lo. */
    if (a->dns && proxier_ready(a->proxier) && !dns_server_started(a->dns))
        dns_server_start(a->dns);
}

static void on_tick(struct loop_timer *t)
{
    struct app *a = (struct app *)((char *)t - offsetof(struct app, tick));
    proxier_tick(a->proxier);
    if (a->dns)
        dns_server_tick(a->dns);
    if (a->healthz)
        healthz_tick(a->healthz);
    loop_timer_arm(a->loop, t, loop_now_ms() + 1000);
}

/* Every proxied connection holds two fds: take all the kernel allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int app_start(struct app *a)
{
    struct kubeconfig_creds creds;
    int r = kubeconfig_read(a->opts.kubeconfig, a->opts.context, &creds);
    if (r < 0)
        return r;
    r = loop_new(&a->loop);
    if (r >= 0)
        r = store_init(&a->store);
    if (r >= 0)
        r = kube_client_new(a->loop, &creds, &a->client);
    kubeconfig_creds_done(&creds);
    if (r < 0)
        return r;
    const struct proxier_options popts = {
        .service_cidr = a->opts.service_cidr,
        .service_prefixlen = a->opts.service_prefixlen,
        .node_port_address = a->opts.node_port_address,
        .extra_addresses = a->opts.dns ? &a->opts.dns_address : NULL,
        .n_extra_addresses = a->opts.dns ? 1 : 0,
        .udp_timeout_ms = (int64_t)a->opts.udp_timeout_s * 1000,
        .kubernetes_endpoint = a->opts.kubernetes_endpoint,
    };
    r = proxier_new(a->loop, &a->store, &popts, &a->proxier);
    if (r < 0)
        return r;
    if (a->opts.dns) {
        const struct dns_server_options dopts = {
            .address = a->opts.dns_address,
            .port = a->opts.dns_port,
            .domain = a->opts.cluster_domain,
            .ttl = a->opts.dns_ttl,
            .resolv_conf = a->opts.resolv_conf,
            .service_cidr = a->opts.service_cidr,
            .service_prefixlen = a->opts.service_prefixlen,
        };
        r = dns_server_new(a->loop, &a->store, &dopts, &a->dns);
        if (r < 0)
            return log_error_errno(r, "cannot set up DNS: %m");
    }
    if (a->opts.healthz) {
        r = healthz_new(a->loop, &a->opts.healthz_address, app_ready, a, &a->healthz);
        if (r < 0)
            return r;
    }
    informer_init(&a->services, "services", "/api/v1/services", a->loop, a->client, &a->store,
                  &a->store.services);
    informer_init(&a->endpoints, "endpoints", "/api/v1/endpoints", a->loop, a->client, &a->store,
                  &a->store.endpoints);
    informer_start(&a->services);
    informer_start(&a->endpoints);
    a->tick.fire = on_tick;
    loop_timer_arm(a->loop, &a->tick, loop_now_ms() + 1000);
    loop_set_idle(a->loop, on_idle, a);
    return 0;
}

static void app_stop(struct app *a)
{
    if (a->client) {
        informer_stop(&a->services);
        informer_stop(&a->endpoints);
    }
    healthz_free(a->healthz);
    dns_server_free(a->dns);
    proxier_free(a->proxier, !a->opts.keep_addresses);
    kube_client_free(a->client);
    if (a->store.services.objects)
        store_done(&a->store);
    loop_free(a->loop);
}

int main(int argc, char **argv)
{
    log_init("kig-proxy");
    struct app a = {0};
    int r = proxy_options_parse(argc, argv, &a.opts);
    if (r != 0)
        return r > 0 ? 0 : 2;
    if (a.opts.verbose)
        log_set_level(LOG_LEVEL_DEBUG);
    raise_fd_limit();
    r = app_start(&a);
    if (r >= 0) {
        log_info("started; waiting for the first list of services and endpoints");
        r = loop_run(a.loop);
    }
    app_stop(&a);
    return r < 0 ? 1 : 0;
}
