/* What the control plane needs to know about this host's network: names and addresses for the apiserver's
 * serving certificate, and which TCP ports are free. No DNS lookups: a sandbox without a network resolves
 * nothing, and a lookup would only time out. */
#pragma once

#include "strv.h"

/* The host name when it is a DNS name worth putting in a certificate (not empty, not localhost). NULL when
 * there is none or on ENOMEM. */
char *netinfo_hostname(void);

/* Appends every non-loopback, non-link-local address of the host's interfaces (IPv4 and IPv6). */
int netinfo_addresses(struct strv *ret);

/* The first non-loopback IPv4 address, or "127.0.0.1" when the host has none (gVisor with
 * --network=none). */
int netinfo_advertise_address(char *buf, size_t size);

/* 0 when address:port can be bound now, -EADDRINUSE when something holds it, another -errno otherwise. */
int netinfo_port_probe(const char *address, int port);

/* A TCP port on address that is free now: preferred when it is free and not in exclude (a 0-terminated
 * list, may be NULL), else one the kernel picks. */
int netinfo_port_pick(const char *address, int preferred, const int *exclude, int *ret);
