/* A syscall-heavy loop for bench/trace-overhead.sh: times N calls of one syscall around the loop only
 * (process start and exit are not in the figure) and prints "ns_per_call X" (wall clock) and
 * "cpu_ns_per_call X" (this process's CPU time: what the seccomp filter adds to an untrapped call, and a
 * figure that a busy machine does not inflate).
 *   syscall-loop getppid N       an untrapped syscall
 *   syscall-loop statfs N PATH   a syscall the statfs rule traps (failures are counted, not fatal) */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "statfs") == 0 && argc < 4)) {
        fprintf(stderr, "usage: syscall-loop getppid N | statfs N PATH\n");
        return 2;
    }
    long n = atol(argv[2]);
    bool use_statfs = strcmp(argv[1], "statfs") == 0;
    struct statfs st;
    long failed = 0;
    double start = now_ns(CLOCK_MONOTONIC), cpu_start = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    for (long i = 0; i < n; i++) {
        if (use_statfs)
            failed += statfs(argv[3], &st) < 0; /* gVisor: ENOSYS on a /proc file, untraced */
        else
            syscall(SYS_getppid);
    }
    double elapsed = now_ns(CLOCK_MONOTONIC) - start, cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    printf("ns_per_call %.1f\n", elapsed / (double)n);
    printf("cpu_ns_per_call %.1f\n", cpu / (double)n);
    if (failed)
        printf("failed_calls %ld\n", failed);
    return 0;
}
