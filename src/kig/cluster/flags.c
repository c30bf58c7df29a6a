/* Command lines of the control-plane components (Kubernetes v1.20.2, etcd 3.4). Every connection is TLS
 * with client certificates; everything listens on loopback only. */
#include "component-table.h"
#include "node-setup.h"
#include "pki-setup.h"

#include <errno.h>
#include <string.h>

#define PUSH(...)                                                                                            \
    do {                                                                                                     \
        if (strv_pushf(args, __VA_ARGS__) < 0)                                                               \
            return -ENOMEM;                                                                                  \
    } while (0)

int flags_etcd(const struct cluster_config *cfg, struct strv *args)
{
    const char *pki = cfg->dir->pki;
    int client = cfg->ports[CC_ETCD], peer = cfg->etcd_peer_port;
    PUSH("--name=%s", cfg->name);
    PUSH("--data-dir=%s", cfg->dir->etcd);
    PUSH("--logger=zap");
    PUSH("--log-outputs=stderr");
    PUSH("--listen-client-urls=https://%s:%d", KIG_BIND_ADDRESS, client);
    PUSH("--advertise-client-urls=https://%s:%d", KIG_BIND_ADDRESS, client);
    PUSH("--listen-peer-urls=https://%s:%d", KIG_BIND_ADDRESS, peer);
    PUSH("--initial-advertise-peer-urls=https://%s:%d", KIG_BIND_ADDRESS, peer);
    PUSH("--initial-cluster=%s=https://%s:%d", cfg->name, KIG_BIND_ADDRESS, peer);
    PUSH("--initial-cluster-state=new");
    PUSH("--client-cert-auth=true");
    PUSH("--trusted-ca-file=%s/etcd-ca.crt", pki);
    PUSH("--cert-file=%s/etcd-server.crt", pki);
    PUSH("--key-file=%s/etcd-server.key", pki);
    PUSH("--peer-client-cert-auth=true");
    PUSH("--peer-trusted-ca-file=%s/etcd-ca.crt", pki);
    PUSH("--peer-cert-file=%s/etcd-server.crt", pki);
    PUSH("--peer-key-file=%s/etcd-server.key", pki);
    PUSH("--snapshot-count=10000");
    return 0;
}

int flags_kube_apiserver(const struct cluster_config *cfg, struct strv *args)
{
    const char *pki = cfg->dir->pki;
    PUSH("--advertise-address=%s", cfg->advertise_address);
    /* Endpoints may not hold a loopback address: with nothing else to advertise (gVisor with
     * --network=none), reconciling the "kubernetes" service's endpoints would only fail every 10 s. */
    if (strncmp(cfg->advertise_address, "127.", 4) == 0)
        PUSH("--endpoint-reconciler-type=none");
    PUSH("--bind-address=%s", KIG_BIND_ADDRESS);
    PUSH("--secure-port=%d", cfg->ports[CC_KUBE_APISERVER]);
    PUSH("--insecure-port=0");
    PUSH("--anonymous-auth=false");
    PUSH("--authorization-mode=Node,RBAC");
    PUSH("--enable-admission-plugins=NodeRestriction");
    PUSH("--allow-privileged=true");
    PUSH("--client-ca-file=%s/ca.crt", pki);
    PUSH("--tls-cert-file=%s/apiserver.crt", pki);
    PUSH("--tls-private-key-file=%s/apiserver.key", pki);
    PUSH("--etcd-servers=https://%s:%d", KIG_BIND_ADDRESS, cfg->ports[CC_ETCD]);
    PUSH("--etcd-cafile=%s/etcd-ca.crt", pki);
    PUSH("--etcd-certfile=%s/apiserver-etcd-client.crt", pki);
    PUSH("--etcd-keyfile=%s/apiserver-etcd-client.key", pki);
    PUSH("--kubelet-client-certificate=%s/apiserver-kubelet-client.crt", pki);
    PUSH("--kubelet-client-key=%s/apiserver-kubelet-client.key", pki);
    PUSH("--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname");
    PUSH("--proxy-client-cert-file=%s/front-proxy-client.crt", pki);
    PUSH("--proxy-client-key-file=%s/front-proxy-client.key", pki);
    PUSH("--requestheader-client-ca-file=%s/front-proxy-ca.crt", pki);
    PUSH("--requestheader-allowed-names=front-proxy-client");
    PUSH("--requestheader-extra-headers-prefix=X-Remote-Extra-");
    PUSH("--requestheader-group-headers=X-Remote-Group");
    PUSH("--requestheader-username-headers=X-Remote-User");
    PUSH("--service-account-issuer=https://kubernetes.default.svc.%s", KIG_CLUSTER_DOMAIN);
    PUSH("--service-account-key-file=%s/sa.pub", pki);
    PUSH("--service-account-signing-key-file=%s/sa.key", pki);
    PUSH("--service-cluster-ip-range=%s", KIG_SERVICE_CIDR);
    PUSH("--enable-bootstrap-token-auth=true");
    PUSH("--profiling=false");
    return 0;
}

/* Flags the controller-manager and the scheduler share: their own kubeconfig for everything (so RBAC
 * sees system:kube-controller-manager / system:kube-scheduler), loopback-only secure serving, no insecure
 * port, and no leader election (kig runs exactly one of each, and a restarted process must not wait for
 * its dead predecessor's lease to expire). */
static int push_common_controller_flags(const struct cluster_config *cfg, const char *user, int port,
                                        struct strv *args)
{
    const char *kc = cfg->dir->kubeconfigs, *pki = cfg->dir->pki;
    PUSH("--kubeconfig=%s/%s.kubeconfig", kc, user);
    PUSH("--authentication-kubeconfig=%s/%s.kubeconfig", kc, user);
    PUSH("--authorization-kubeconfig=%s/%s.kubeconfig", kc, user);
    PUSH("--bind-address=%s", KIG_BIND_ADDRESS);
    PUSH("--secure-port=%d", port);
    PUSH("--port=0");
    /* pki_setup_controller_serving's cert: otherwise each start makes an RSA key (1.4 s in gVisor). */
    PUSH("--tls-cert-file=%s/%s-server.crt", pki, user);
    PUSH("--tls-private-key-file=%s/%s-server.key", pki, user);
    PUSH("--leader-elect=false");
    PUSH("--profiling=false");
    return 0;
}

int flags_kube_controller_manager(const struct cluster_config *cfg, struct strv *args)
{
    const char *pki = cfg->dir->pki;
    if (push_common_controller_flags(cfg, "controller-manager", cfg->ports[CC_KUBE_CONTROLLER_MANAGER],
                                     args) < 0)
        return -ENOMEM;
    PUSH("--cluster-name=%s", cfg->name);
    PUSH("--client-ca-file=%s/ca.crt", pki);
    PUSH("--requestheader-client-ca-file=%s/front-proxy-ca.crt", pki);
    PUSH("--root-ca-file=%s/ca.crt", pki);
    PUSH("--service-account-private-key-file=%s/sa.key", pki);
    PUSH("--use-service-account-credentials=true");
    PUSH("--cluster-signing-cert-file=%s/ca.crt", pki);
    PUSH("--cluster-signing-key-file=%s/ca.key", pki);
    PUSH("--service-cluster-ip-range=%s", KIG_SERVICE_CIDR);
    PUSH("--controllers=*,bootstrapsigner,tokencleaner");
    /* At the default 20 requests/s its start-up discovery is throttled (1 s waits in the log) and the
     * controllers start one after another behind it; the service-account controller, which every pod
     * needs, is one of the last. The apiserver is local and has no other heavy client. */
    PUSH("--kube-api-qps=100");
    PUSH("--kube-api-burst=200");
    return 0;
}

int flags_kube_scheduler(const struct cluster_config *cfg, struct strv *args)
{
    return push_common_controller_flags(cfg, "scheduler", cfg->ports[CC_KUBE_SCHEDULER], args);
}

int flags_containerd(const struct cluster_config *cfg, struct strv *args)
{
    PUSH("--config=%s", cfg->node->containerd_config);
    return 0;
}

/* Everything that can be is in the KubeletConfiguration file (node-setup.c writes it); these are the
 * settings v1.20 takes only as flags. */
int flags_kubelet(const struct cluster_config *cfg, struct strv *args)
{
    const struct node_setup *n = cfg->node;
    PUSH("--config=%s", n->kubelet_config);
    PUSH("--kubeconfig=%s", n->kubelet_kubeconfig);
    PUSH("--root-dir=%s", n->kubelet_root);
    PUSH("--cert-dir=%s/pki", n->kubelet_root);
    PUSH("--container-runtime=remote");
    PUSH("--container-runtime-endpoint=unix://%s", n->containerd_socket);
    PUSH("--runtime-request-timeout=5m");
    PUSH("--node-ip=%s", n->node_ip);
    PUSH("--hostname-override=%s", n->node_name);
    /* Ignored with a remote runtime (containerd's sandbox_image decides), but kubelet's image GC keeps it. */
    PUSH("--pod-infra-container-image=localhost/kig/pause:3.2");
    return 0;
}

int flags_kig_proxy(const struct cluster_config *cfg, struct strv *args)
{
    PUSH("--kubeconfig=%s", cfg->node->proxy_kubeconfig);
    PUSH("--service-cidr=%s", KIG_SERVICE_CIDR);
    PUSH("--dns-address=%s", KIG_CLUSTER_DNS_IP);
    PUSH("--cluster-domain=%s", KIG_CLUSTER_DOMAIN);
    PUSH("--healthz-address=127.0.0.1:%d", cfg->ports[CC_KIG_PROXY]);
    /* The apiserver listens on loopback only and publishes no Endpoints for default/kubernetes: kig-proxy
     * serves that Service (10.96.0.1:443, which pods use) from the loopback address itself. */
    PUSH("--kubernetes-endpoint=%s:%d", KIG_BIND_ADDRESS, cfg->ports[CC_KUBE_APISERVER]);
    return 0;
}

bool wanted_kig_switch(const struct cluster_config *cfg)
{
    return cfg->node && strcmp(cfg->node->pod_network, "tap") == 0;
}

/* The node's TAP gets the pod CIDR's first address; the node's own address and the Service CIDR (where
 * kig-proxy puts ClusterIPs, on lo) are reached through it. --nat: pods reach the outside through the
 * switch's own sockets when the sandbox has a network. */
int flags_kig_switch(const struct cluster_config *cfg, struct strv *args)
{
    PUSH("--dir=%s", cfg->node->switch_dir);
    PUSH("--pod-cidr=%s", KIG_POD_CIDR);
    PUSH("--node-route=%s/32", cfg->node->node_ip);
    PUSH("--node-route=%s", KIG_SERVICE_CIDR);
    PUSH("--nat");
    return 0;
}
