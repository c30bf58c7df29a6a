/* Where a containerd runc-v2 shim listens. containerd-shim-runc-v2 derives its socket from containerd's
 * address, the namespace and the shim's group (the pod sandbox's id) alone, so kig-shim can find a pod's
 * running shim without asking it, and kig's pod janitor can tell which shim serves which pod. */
#pragma once

#include <stddef.h>

/* Where containerd 1.6 and 1.7 shims put their sockets (runtime/v2/shim: defaults.DefaultStateDir + "/s"). */
#define SHIM_SOCKET_DIR "/run/containerd/s"

/* "unix:///run/containerd/s/<hex sha256 of ADDRESS/NAMESPACE/GROUP>", the shim's SocketAddress(). Returns 0,
 * or -EINVAL when ADDRESS is not an absolute clean path or NAMESPACE/GROUP are not single path elements
 * (Go's filepath.Join would clean them into something else: not worth guessing), -ENAMETOOLONG. */
int shim_socket_address(const char *containerd_address, const char *ns, const char *group, char *buf,
                        size_t size);
