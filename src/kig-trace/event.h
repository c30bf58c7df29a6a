/* The tracer's main loop: waits for every stop of every tracee, applies the rules at seccomp and
 * syscall-exit stops, forwards signals, keeps group-stops (job control) intact, follows new threads and
 * processes, and resumes every stopped thread — a tracee is never left stopped by mistake. */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct trace_stats {
    uint64_t stops;
    uint64_t seccomp_stops;
    uint64_t syscall_stops;
    uint64_t signal_stops;
    uint64_t group_stops;
    uint64_t event_stops;
    uint64_t exits;
    uint64_t rewritten; /* trapped calls whose registers or result were changed */
    uint64_t skipped;   /* trapped calls answered without running them */
    uint64_t restarts;
    uint64_t injections;
    uint64_t table_full;
    uint64_t kicks;       /* PTRACE_INTERRUPTs that freed a signal gVisor left pending */
    uint64_t trapped[32]; /* seccomp stops seen by each rule (enum rule_id) */
};

/* Prepares the dispatch table for the rules in the mask; verbosity >= 2 logs every stop. */
void event_init(unsigned rules, int verbosity);
/* Tells the rules about a tracee the loop did not see being born (the root). */
void event_add_tracee(pid_t tid);
/* Runs until no tracee is left. on_root_exit is called once with the wait status of root. */
int event_loop(pid_t root, void (*on_root_exit)(int status));
const struct trace_stats *event_stats(void);
void event_print_stats(FILE *out);
