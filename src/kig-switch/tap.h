/* TAP devices: the only link gVisor 20221219 can create inside a network namespace. */
#pragma once

#include <stdint.h>

/* Creates a TAP (IFF_TAP | IFF_NO_PI, not persistent: it lives as long as an fd to it) named name in the
 * calling thread's network namespace, and gives it addr/prefix_len (host order) and brings it up. The fd
 * is close-on-exec and blocking. */
int tap_create(const char *name, uint32_t addr, unsigned prefix_len, int *ret_fd);
