/* The address of a pod's running runc-v2 shim, found the way containerd-shim-runc-v2's `start` finds it.
 *
 * containerd runs `SHIM start` for every container; for a container of a pod whose shim already runs, the
 * runc-v2 shim only looks up that shim's socket, writes its address to ./address and prints it. In gVisor's
 * ptrace platform that is a Go program start (0.3-0.8 s) per container for a lookup, so kig-shim answers it
 * itself when it can be sure of the answer and hands everything else to the real shim. */
#pragma once

#include "shim-address.h"

#include <stdbool.h>
#include <stddef.h>

struct sockaddr_un;

/* The socket address of "unix://PATH": 0, -EINVAL for another scheme, -ENAMETOOLONG. */
int group_shim_sockaddr(const char *address, struct sockaddr_un *ret);

/* Whether a shim listens at ADDRESS ("unix://PATH"): a connect that succeeds (the real shim's CanConnect). */
bool group_shim_listening(const char *address);

/* The real shim's WriteAddress: PATH's content replaced by ADDRESS through .PATH (O_EXCL) and a rename, in
 * the current directory. Returns 0 or -errno. */
int group_shim_write_address(const char *path, const char *address);
