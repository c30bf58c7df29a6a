/* A container's init, run by kig-runtime itself instead of by crun or runc.
 *
 * Where setns and mount namespaces are missing (gVisor 20221219), the rewrite leaves a pod's containers with
 * nothing a runtime must do: their namespaces are gone (the pod's network namespace is inherited from the
 * shim; a UTS namespace is a new one with the pod's hostname), a pod sandbox uses no mount, and an app
 * container's mounts, masked paths and devices are kig-runtime's own plan, made before the runtime would
 * run (rootfs-mounts.h), so crun was left only to chroot. What is left is a process in a cgroup, chrooted
 * into its rootfs, with its UTS namespace, limits, seccomp profile, user and capabilities: what
 * kig-runtime's `exec` already does for a process entering a container (process-child.h). A runtime's create
 * was the longest step of a pod's start (crun: a program start with eleven libraries, its config and
 * cgroups read again; runc: a Go start and a re-exec), twice per pod. So kig-runtime creates that init
 * itself, waiting on an exec fifo as crun's does, and answers start, state, kill, ps and delete for it.
 *
 * Only a config it understands whole: anything else (a namespace to create or join, a hook, a terminal,
 * sysctls, mounts left to the runtime, resources it does not write, an unknown member) goes to the runtime
 * as before. On a sandbox with setns or mount namespaces the config keeps them, so the runtime keeps the
 * job: nothing depends on a gVisor release. KIG_SANDBOX_INIT=runtime (pod sandboxes) and
 * KIG_CONTAINER_INIT=runtime (every other container) turn it off, to compare or to rule it out. */
#pragma once

#include "state.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Whether kig-runtime may run the init of config (rewritten for this sandbox; kig_mounts the rewrite's plan
 * of mounts, or NULL) itself. False with the reason in why (one line) otherwise. Pure: no environment. */
bool own_init_eligible(const json_t *config, const json_t *kig_mounts, char *why, size_t why_size);

/* KIG_SANDBOX_INIT for a pod's sandbox, KIG_CONTAINER_INIT for any other container: "kig" (default) or
 * "runtime". Logs and returns false for another value. */
bool own_init_enabled(bool pod_sandbox);

/* The exec fifo of a container whose init kig-runtime runs: ROOT/kig/ID/exec.fifo. NULL on ENOMEM. */
char *own_init_fifo(const char *root, const char *id);

/* Creates the init of an eligible config: the container's cgroup in each hierarchy this process belongs to,
 * with its resources written, then the init forked, set up and waiting on the exec fifo. Records the
 * cgroup directories it creates in s->cgroup_dirs and the init in s->init_pid and s->init_start_time.
 * preserve_fds as runc's --preserve-fds. Returns 0 or a negative errno after logging the cause (what it
 * created is then recorded in s, for the caller to undo). */
int own_init_create(const char *root, const json_t *config, int preserve_fds, struct container_state *s);

/* The state document of such a container, as runc's `state` prints it: status "created" while its init
 * waits on the fifo, "running" once started, "stopped" when the init is gone. NULL on ENOMEM. */
json_t *own_init_state(const char *root, const struct container_state *s, int init_alive);
