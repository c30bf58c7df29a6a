/* Talking to a cluster's supervisor from the outside (`kig up`, `kig down`, `kig status`, `kig logs`).
 * The supervisor holds an exclusive flock on run/supervisor.lock for its whole life: the lock, not a pid
 * file, says whether it runs, so a crashed supervisor can never look alive. */
#pragma once

#include "datadir.h"

#include <stdbool.h>
#include <sys/types.h>

/* 1 (and its pid, 0 if unknown) when the supervisor runs, 0 when not, or a negative errno. */
int supervisor_running(const struct data_dir *d, pid_t *ret_pid);

/* Starts `kig __supervise` in its own session with its output in logs/kig.log. attached: it stops when
 * this process dies (kig up --foreground). Does not wait for it to take its lock. */
int supervisor_spawn(const struct data_dir *d, bool attached, pid_t *ret_pid);

/* Sends SIGTERM to the supervisor and waits up to timeout_ms for it to release its lock, after which it
 * is killed (its components die with it). Returns 0 once it is gone, or a negative errno. */
int supervisor_stop(const struct data_dir *d, pid_t pid, int timeout_ms);

/* True when pid is a live process (zombies count as gone) whose executable is path (when path is given),
 * so a recycled pid is never mistaken for a component. */
bool process_is(pid_t pid, const char *path);

/* How long an orderly stop of every component may take, with margin. */
#define SUPERVISOR_STOP_TIMEOUT_MS 90000
