/* The address of a pod's running runc-v2 shim, found the way containerd-shim-runc-v2's `start` finds it.
 *
 * containerd runs `SHIM start` for every container; for a container of a pod whose shim already runs, the
 * runc-v2 shim only looks up that shim's socket, writes its address to ./address and prints it. In gVisor's
 * ptrace platform that is a Go program start (0.3-0.8 s) per container for a lookup, so kig-shim answers it
 * itself when it can be sure of the answer and hands everything else to the real shim. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Where containerd 1.6 and 1.7 shims put their sockets (runtime/v2/shim: defaults.DefaultStateDir + "/s"). */
#define SHIM_SOCKET_DIR "/run/containerd/s"

/* "unix:///run/containerd/s/<hex sha256 of ADDRESS/NAMESPACE/GROUP>", the shim's SocketAddress(). Returns 0,
 * or -EINVAL when ADDRESS is not an absolute clean path or NAMESPACE/GROUP are not single path elements
 * (Go's filepath.Join would clean them into something else: not worth guessing), -ENAMETOOLONG. */
int group_shim_address(const char *containerd_address, const char *ns, const char *group, char *buf,
                       size_t size);

/* Whether a shim listens at ADDRESS ("unix://PATH"): a connect that succeeds (the real shim's CanConnect). */
bool group_shim_listening(const char *address);

/* The real shim's WriteAddress: PATH's content replaced by ADDRESS through .PATH (O_EXCL) and a rename, in
 * the current directory. Returns 0 or -errno. */
int group_shim_write_address(const char *path, const char *address);
