/* kig-switch's insides, shared by its files: ports and their reader threads (port.c), pods and their
 * holders (pods.c), the control protocol (control.c) and the main loop (switch.c). */
#pragma once

#include "frame.h"
#include "nat.h"
#include "podns.h"

#include <linux/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#define SWITCH_MAX_PODS    1024
#define SWITCH_MAX_CLIENTS 64
#define NODE_PORT          0
/* Pod i uses port i + 1. */
#define POD_PORT(i) ((i) + 1)

struct switch_options {
    const char *dir;          /* state, control socket, holder sockets */
    struct route4 pods;       /* pod CIDR */
    uint32_t node_address;    /* the node's (and pods' gateway) address, host order */
    unsigned node_prefix_len; /* the node TAP's prefix: covers the pod CIDR */
    const char *node_ifname;  /* NULL: no node TAP */
    struct route4 node_routes[16];
    size_t n_node_routes;
    bool nat;
    bool verbose;
};

/* One TAP the switch reads frames from. The data path runs in one thread per port; the fields marked
 * atomic are shared with the other ports' threads, which write frames into this port. */
struct port {
    struct kswitch *sw;
    enum port_kind kind;
    uint32_t ip;       /* a pod's address; 0 for the node */
    _Atomic int fd;    /* -1 once the port is closing: writers skip it */
    _Atomic int users; /* writers inside port_send() */
    _Atomic bool stopping;
    pthread_t thread;
    bool has_thread;
    struct nat *nat; /* under sw->nat_lock; created on the pod's first packet to the outside */
    _Atomic unsigned long long rx, tx, dropped;
};

struct pod {
    bool in_use;
    bool dead; /* its holder died: no TAP, no forwarding; kept until DEL so the failure is visible */
    char id[PODNS_MAX_ID + 1];
    char ifname[IFNAMSIZ];
    /* The namespace path containerd made for the pod (CNI_NETNS): useless in gVisor, but it is how
     * containerd names the pod later (port-forward enters it), so it maps that path to this pod. */
    char netns[256];
    uint32_t address;
    unsigned prefix_len;
    pid_t holder_pid;
    int watch_fd; /* EOF here means the holder died */
};

struct control_client {
    int fd;
};

struct kswitch {
    struct switch_options o;
    struct fwd_config fwd;
    char self_exe[4096];
    struct port ports[SWITCH_MAX_PODS + 1];
    struct pod pods[SWITCH_MAX_PODS];
    _Atomic int *port_of; /* pod address - pod network → port index, or -1 */
    size_t n_addresses;
    pthread_mutex_t nat_lock;
    int wake_fd;
    int signal_fd;
    int control_fd;
    struct control_client clients[SWITCH_MAX_CLIENTS];
    size_t n_clients;
    bool quit;
    _Atomic unsigned long long drops[DROP_REASON_MAX];
};

/* port.c */
int port_start(struct kswitch *sw, size_t index, enum port_kind kind, uint32_t ip, int fd);
/* Stops the reader, waits for writers to leave, closes the TAP fd and frees the NAT. */
void port_stop(struct kswitch *sw, size_t index);
void port_send(struct port *p, const uint8_t *frame, size_t len);
void switch_handle_frame(struct kswitch *sw, struct port *in, uint8_t *frame, size_t len);
void switch_wake(struct kswitch *sw);

/* pods.c */
struct pod *pod_find(struct kswitch *sw, const char *id);
int pod_add(struct kswitch *sw, const char *id, const char *ifname, const char *netns, uint32_t address,
            unsigned prefix_len, char *err, size_t err_size);
/* Returns 1 if the pod existed, 0 if not (DEL is idempotent). */
int pod_del(struct kswitch *sw, const char *id);
void pod_holder_died(struct kswitch *sw, struct pod *pod);
int pods_recover(struct kswitch *sw);
int state_save(struct kswitch *sw);

/* control.c */
int control_listen(struct kswitch *sw);
/* Handles one request on a client; returns true when the client must be dropped. */
bool control_handle(struct kswitch *sw, int fd);

/* switch.c */
int switch_run(const struct switch_options *o);
