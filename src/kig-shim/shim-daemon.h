/* Starting a pod's runc-v2 shim daemon the way `containerd-shim-runc-v2 start` does, without running it.
 *
 * For a pod's sandbox, containerd runs `SHIM start`, a Go program whose whole work is: listen on the pod's
 * shim socket, write ./address, start `SHIM -namespace NS -id ID -address CONTAINERD [-debug]` (the daemon,
 * a second Go program start) with that socket as fd 3, in its own process group, with GOMAXPROCS=4 and its
 * stdio on /dev/null, read the runtime options containerd writes to its stdin, give the daemon an OOM score
 * one above its own parent's, and print the address. In gVisor's ptrace platform the first Go start costs
 * 0.1-0.6 s of every pod start, so kig-shim does those steps itself and only the daemon is started.
 *
 * Of the options on stdin the real shim uses ShimCgroup alone, which kig's containerd configuration (which
 * kig rewrites at every start) never sets; they are read and dropped like the real shim drops the rest. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The real shim's NewSocket for a "unix://PATH" address: PATH's directory made (mode 0600, as the real
 * shim does), a listening socket bound to PATH, chmod 0600. A stale socket file (nobody listening) is
 * replaced; -EADDRINUSE when a shim listens there already (its address is then the answer). Returns the
 * listening fd (close-on-exec) or a negative errno. */
int shim_daemon_listen(const char *address);

/* Removes the socket file of a "unix://PATH" address (after a failed start). */
void shim_daemon_unlink(const char *address);

/* The daemon's command line: REAL -namespace NS -id ID -address CONTAINERD [-debug], NULL-terminated, in
 * argv_buf (at least 9 entries). */
void shim_daemon_argv(const char *real, const char *ns, const char *id, const char *containerd, bool debug,
                      const char **argv_buf);

/* A copy of env without GOMAXPROCS, with GOMAXPROCS=4 appended (the real shim's daemon environment);
 * NULL-terminated, strings shared with env; free() the array only. NULL on ENOMEM. */
const char **shim_daemon_env(char *const *env);

/* The real shim's AdjustOOMScore: /proc/PID/oom_score_adj = PARENT's + 1, at most 1000. Returns 0 or a
 * negative errno. */
int shim_daemon_adjust_oom_score(pid_t pid, pid_t parent);

/* Reads fd to its end and drops what it read (the runtime options on stdin). */
int shim_daemon_drain(int fd);
