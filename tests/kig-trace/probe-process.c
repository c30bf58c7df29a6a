/* Process-tree probes for kig-trace tests: thread/fork/exec storms, vfork, exec from a thread, orphans.
 * Each mode prints one line and exits 0 when everything behaved as on Linux. */
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static atomic_int failures;

static int run_true(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

static void *storm_thread(void *arg)
{
    (void)arg;
    if (run_true() < 0)
        atomic_fetch_add(&failures, 1);
    return NULL;
}

static int storm(int n)
{
    pthread_t *threads = calloc((size_t)n, sizeof(*threads));
    int started = 0;
    for (int i = 0; i < n; i++)
        if (pthread_create(&threads[started], NULL, storm_thread, NULL) == 0)
            started++;
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    printf("storm: %d threads, %d failures\n", started, atomic_load(&failures));
    return started == n && failures == 0 ? 0 : 1;
}

static int vfork_cases(void)
{
    int status;
    pid_t pid = vfork();
    if (pid == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return printf("vfork+exec failed\n"), 1;
    pid = vfork();
    if (pid == 0)
        _exit(7);
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
        return printf("vfork+_exit failed\n"), 1;
    char *argv[] = {"sh", "-c", "exit 9", NULL};
    if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0 || waitpid(pid, &status, 0) != pid ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 9)
        return printf("posix_spawn failed\n"), 1;
    printf("vfork ok\n");
    return 0;
}

static void *exec_from_thread(void *arg)
{
    (void)arg;
    execl("/bin/sh", "sh", "-c", "exit 5", (char *)NULL);
    _exit(100);
}

/* A non-leader thread execs: the kernel gives it the leader's tid and the old tid vanishes silently. */
static int thread_exec(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, exec_from_thread, NULL) != 0)
        return 1;
    for (;;)
        pause();
}

static unsigned long long parse(const char *s)
{
    return strtoull(s, NULL, 10);
}

/* The root exits at once, leaving a child that later calls uname and writes what it saw to a file: under
 * kig-trace --uname-release, the file proves the orphan was still traced after the root was gone. */
static int orphan(const char *out, unsigned delay_ms)
{
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid > 0)
        return 0;
    setsid();
    struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    struct utsname u;
    uname(&u);
    FILE *f = fopen(out, "we");
    if (f) {
        fprintf(f, "%s\n", u.release);
        fclose(f);
    }
    _exit(0);
}

static int getppid_loop(unsigned long long n)
{
    for (unsigned long long i = 0; i < n; i++)
        syscall(SYS_getppid);
    printf("getppid x%llu\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "storm") == 0 && argc == 3)
        return storm(atoi(argv[2]));
    if (strcmp(mode, "vfork") == 0)
        return vfork_cases();
    if (strcmp(mode, "thread-exec") == 0)
        return thread_exec();
    if (strcmp(mode, "orphan") == 0 && argc == 4)
        return orphan(argv[2], (unsigned)parse(argv[3]));
    if (strcmp(mode, "getppid") == 0 && argc == 3)
        return getppid_loop(parse(argv[2]));
    if (strcmp(mode, "exit") == 0 && argc == 3)
        return atoi(argv[2]);
    fprintf(stderr,
            "usage: probe-process storm N | vfork | thread-exec | orphan FILE MS | getppid N | exit N\n");
    return 2;
}
