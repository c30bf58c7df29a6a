/* netns-enter's pure parts, for unit tests (tests/kig-trace/test-netns-enter.c). */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Threads inside a faked setns at once: port-forward streams in flight. */
#define NETNS_ENTER_MAX_THREADS 256

/* Thread tid is "in" the pod with address pod (replaces an earlier entry); -ENOSPC when the table is full. */
int netns_enter_set(pid_t tid, struct in_addr pod);
bool netns_enter_get(pid_t tid, struct in_addr *ret_pod);
/* Whether tid was in a pod (it is not any more). */
bool netns_enter_clear(pid_t tid);

/* The address of the pod whose CNI_NETNS is the pin path, from the text of kig-switch's state.json:
 * 0, -ENOENT (no such pod), -EHOSTDOWN (its holder died), -EINVAL (malformed). */
int netns_enter_pod_address(const char *state_json, const char *pin, struct in_addr *ret);

enum netns_connect_action {
    NETNS_CONNECT_PASS,    /* not to loopback: run as is */
    NETNS_CONNECT_REWRITE, /* *ret holds the pod's address with the same port */
    NETNS_CONNECT_REFUSE,  /* IPv6 loopback: ECONNREFUSED (the pod is reached over IPv4) */
};

/* What a connect to the socket address sa (len bytes) becomes for a thread in the pod with address pod. */
enum netns_connect_action netns_enter_connect(const void *sa, size_t len, struct in_addr pod,
                                              struct sockaddr_in *ret);
