/* The control plane's certificates and kubeconfigs, on top of pki.h and kubeconfig.h.
 *
 * CAs: ca (cluster), front-proxy-ca (aggregation layer), etcd-ca (etcd only: a cert the cluster CA signs,
 * e.g. one minted by `kig kubeconfig --user`, must not open etcd). Key pair: sa (service accounts).
 * Leaves: apiserver (serving), apiserver-kubelet-client, admin, controller-manager, scheduler,
 * front-proxy-client, etcd-server, apiserver-etcd-client. */
#pragma once

#include "datadir.h"

#include <stdbool.h>
#include <stddef.h>

/* The service network: the apiserver's service IP is its first address. */
#define KIG_SERVICE_CIDR   "10.96.0.0/12"
#define KIG_SERVICE_IP     "10.96.0.1"
#define KIG_CLUSTER_DNS_IP "10.96.0.10"
#define KIG_CLUSTER_DOMAIN "cluster.local"
#define KIG_BIND_ADDRESS   "127.0.0.1"
#define KIG_ADMIN_USER     "admin"

/* Creates the whole PKI of a new cluster (fresh) in a staging directory renamed into place once complete,
 * or verifies the PKI of an existing one, which must be complete: a half-present PKI is corruption and is
 * reported naming the missing file, never regenerated. Logs one line on failure. */
int pki_setup(const struct data_dir *d, bool fresh);

/* Full mode: kubelet's client cert (kubelet.crt, system:node:<node_name> in system:nodes) and serving cert
 * (kubelet-server.crt), created when missing, verified otherwise. Logs one line on failure. */
int pki_setup_node(const struct data_dir *d, const char *node_name, const char *node_ip);

/* The serving certs of the controller-manager and the scheduler (controller-manager-server.crt,
 * scheduler-server.crt; localhost and 127.0.0.1), created when missing, verified otherwise. Logs one line on
 * failure. */
int pki_setup_controller_serving(const struct data_dir *d);

/* (Re)writes the kubeconfigs of the admin, the controller-manager and the scheduler for the server URL. */
int pki_setup_kubeconfigs(const struct data_dir *d, const char *cluster_name, const char *server);

/* "https://127.0.0.1:<port>" into buf. */
void pki_setup_server_url(int port, char *buf, size_t size);
