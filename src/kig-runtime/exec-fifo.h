/* Starting a created container without the runtime: its init waits on the runtime's exec fifo
 * (ROOT/crun/ID/exec.fifo, ROOT/runc/ID/exec.fifo), and `start` is the release of that wait. That is all
 * crun's start does for a container without poststart hooks and outside systemd's notify protocol, and all
 * runc's does (runc 1.1 runs poststart hooks at create). Each runtime start is a program start, 0.2-0.3 s on
 * gVisor's ptrace platform, twice per pod. The two runtimes wait differently:
 *   crun  the init holds the fifo open for reading and waits for a byte: the starter opens it for writing,
 *         removes it and writes one byte;
 *   runc  the init blocks opening it for writing, then writes "0" and executes the process: the starter
 *         opens it for reading, reads that byte and removes it.
 * Either way the fifo is gone afterwards, which is how both runtimes tell "running" from "created". */
#pragma once

#include "spec-rewrite.h"

/* Tells whether the init still waits: 1 alive, 0 gone. */
typedef int (*exec_fifo_alive_fn)(void *userdata);

/* Releases the init waiting on the fifo at path in the runtime kind's way. alive is asked while a runc
 * init has not written (every 100 ms). Returns 0 when released, -ENOENT when there is no fifo (the
 * container was started already, or was never created by this runtime), -ESRCH when its init is gone, or
 * another negative errno. Nothing is logged: the caller may hand the start to the runtime instead. */
int exec_fifo_release(enum oci_runtime_kind kind, const char *path, exec_fifo_alive_fn alive, void *userdata);
