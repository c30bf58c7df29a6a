/* What kig-cgroupfs reads about processes, from /proc (relative to a configurable root so the unit tests
 * can use a fake tree). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct proc_stat {
    pid_t pid;
    char state; /* 'R', 'S', 'T' (stopped), 't' (traced stop), 'Z'... */
    pid_t ppid;
    unsigned long long start_time; /* field 22: identifies this process among all that had its pid */
};

/* Sets the /proc directory (default "/proc"). */
void procinfo_set_root(const char *proc_root);

/* Reads /proc/PID/stat. Returns 0, -ESRCH when the process does not exist, or -EIO. */
int proc_read_stat(pid_t pid, struct proc_stat *ret);
/* The process (thread group) a thread belongs to; -ESRCH when there is no such thread. gVisor has no
 * /proc/TID for non-leader threads, so the tasks of every process are searched when needed. */
pid_t proc_tgid_of(pid_t tid);
/* Every process id, ascending. Returns the count or a negative errno; caller frees *ret. */
int proc_list_pids(pid_t **ret);
/* The thread ids of a process, ascending. Returns the count or a negative errno. */
int proc_list_tasks(pid_t pid, pid_t **ret);
/* The process's cgroup path in the kernel's own v1 hierarchies, from /proc/PID/cgroup (the "cpu" line
 * when there is one, else the first controller's). Returns 0, or -ENOENT when none is listed. */
int proc_cgroup_path(pid_t pid, char *buf, size_t size);
/* VmRSS of a process in bytes (0 for kernel threads or a process that is gone). */
unsigned long long proc_rss_bytes(pid_t pid);
/* A field of /proc/meminfo in bytes; -ENOENT when meminfo has no such field. */
int proc_meminfo(const char *field, unsigned long long *ret);
/* Names of the network interfaces (from /proc/net/dev). Returns the count; caller frees with
 * proc_free_names. */
int proc_net_interfaces(char ***ret);
void proc_free_names(char **names, size_t n);
