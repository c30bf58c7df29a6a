/* A syscall-heavy loop for bench/trace-overhead.sh: times N calls of one syscall around the loop only
 * (process start and exit are not in the figure) and prints "ns_per_call X" (wall clock) and
 * "cpu_ns_per_call X" (this process's CPU time: what the seccomp filter adds to an untrapped call, and a
 * figure that a busy machine does not inflate).
 *   syscall-loop getppid N       an untrapped syscall
 *   syscall-loop statfs N PATH   a syscall the statfs rule traps (failures are counted, not fatal)
 *   syscall-loop mount N DIR     a tmpfs mounted on DIR and unmounted, N times (the mount rule traps it)
 *   syscall-loop mount-marked N DIR   the same, marked as kig-runtime marks its mounts (mount-untrapped.h)
 * For the mount cases a call is the mount and its umount2. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mount-untrapped.h"

static double now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    bool use_statfs = argc >= 2 && strcmp(argv[1], "statfs") == 0;
    bool use_mount = argc >= 2 && strcmp(argv[1], "mount") == 0,
         marked = argc >= 2 && strcmp(argv[1], "mount-marked") == 0;
    if (argc < 3 || ((use_statfs || use_mount || marked) && argc < 4)) {
        fprintf(stderr, "usage: syscall-loop getppid N | statfs N PATH | mount N DIR | mount-marked N DIR\n");
        return 2;
    }
    long n = atol(argv[2]);
    struct statfs st;
    long failed = 0;
    double start = now_ns(CLOCK_MONOTONIC), cpu_start = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    for (long i = 0; i < n; i++) {
        if (use_statfs)
            failed += statfs(argv[3], &st) < 0; /* gVisor: ENOSYS on a /proc file, untraced */
        else if (use_mount || marked) {
            int r = marked ? mount_untrapped("syscall-loop", argv[3], "tmpfs", 0, "size=16k")
                           : mount("syscall-loop", argv[3], "tmpfs", 0, "size=16k");
            failed += r < 0 || umount2(argv[3], 0) < 0;
        } else
            syscall(SYS_getppid);
    }
    double elapsed = now_ns(CLOCK_MONOTONIC) - start, cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    printf("ns_per_call %.1f\n", elapsed / (double)n);
    printf("cpu_ns_per_call %.1f\n", cpu / (double)n);
    if (failed)
        printf("failed_calls %ld\n", failed);
    return 0;
}
