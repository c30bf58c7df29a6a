/* Subreaper probe: what containerd-shim does. Become a child subreaper, start a child that starts a
 * grandchild and exits; the orphaned grandchild's exits must then reach us through SIGCHLD and wait.
 *   probe-subreaper nohang   wait4(-1, WNOHANG) polling after SIGCHLD (Go's reaper loop)
 *   probe-subreaper block    a blocking wait4(-1, 0)
 *   probe-subreaper waitid   waitid(P_ALL, WEXITED), with one grandchild killed by a signal
 *   probe-subreaper zombie   the child's own child exits first and the child exits without reaping it
 *                            (runc exec --detach of a command that ends at once): the zombie is ours;
 *                            a second one the child did reap is not */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t sigchld_count, sigusr1_count;
static pid_t subreaper;
static bool usr1_before_exit; /* the grandchild signals the subreaper, then exits 200 ms later */

static void on_sigusr1(int sig)
{
    (void)sig;
    sigusr1_count++;
}

static void on_sigchld(int sig)
{
    (void)sig;
    sigchld_count++;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* The grandchildren wait until this pipe is closed, so none can exit before the subreaper is ready to
 * see it (on a loaded machine a fixed delay is not enough). */
static int go_pipe[2];

static void release_orphans(void)
{
    close(go_pipe[1]);
}

/* Starts a child that starts n grandchildren (exit 7, or killed by SIGTERM for the second one when
 * kill_second) and exits. Returns the grandchildren's pids through pids. */
static int make_orphans(int n, bool kill_second, pid_t *pids)
{
    int p[2];
    if (pipe(p) < 0 || pipe(go_pipe) < 0)
        return -1;
    pid_t child = fork();
    if (child == 0) {
        close(p[0]);
        for (int i = 0; i < n; i++) {
            pid_t g = fork();
            if (g == 0) {
                char c;
                close(go_pipe[1]);
                while (read(go_pipe[0], &c, 1) < 0 && errno == EINTR)
                    ;
                sleep_ms(100 + 100 * i);
                if (usr1_before_exit) {
                    /* The subreaper is blocked in wait4: under kig-trace's emulation it sits in a ptrace
                     * stop, where gVisor would keep this signal pending forever unless kicked. */
                    kill(subreaper, SIGUSR1);
                    sleep_ms(200);
                }
                if (kill_second && i == 1)
                    raise(SIGTERM);
                _exit(7);
            }
            if (write(p[1], &g, sizeof(g)) != sizeof(g))
                _exit(1);
        }
        _exit(0);
    }
    close(p[1]);
    close(go_pipe[0]);
    for (int i = 0; i < n; i++)
        if (read(p[0], &pids[i], sizeof(pids[i])) != sizeof(pids[i]))
            return -1;
    close(p[0]);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status))
        return -1;
    return 0;
}

/* The child starts two grandchildren that exit at once, reaps the second, waits until the first is a
 * zombie and exits. Returns the first's pid, or -1. */
static pid_t make_zombie_orphan(pid_t *ret_reaped)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    pid_t child = fork();
    if (child == 0) {
        close(p[0]);
        pid_t g[2];
        for (int i = 0; i < 2; i++) {
            g[i] = fork();
            if (g[i] == 0)
                _exit(i == 0 ? 9 : 5);
        }
        int status;
        if (waitpid(g[1], &status, 0) != g[1])
            _exit(1);
        /* g[0] is a zombie once waitid(WNOWAIT) sees its exit: then exit without reaping it. */
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)g[0], &si, WEXITED | WNOWAIT) < 0)
            _exit(1);
        if (write(p[1], g, sizeof(g)) != sizeof(g))
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    pid_t g[2];
    ssize_t n = read(p[0], g, sizeof(g));
    close(p[0]);
    int status;
    if (n != sizeof(g) || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
        return -1;
    *ret_reaped = g[1];
    return g[0];
}

static int fail(const char *what)
{
    printf("FAIL: %s (errno %s)\n", what, strerror(errno));
    return 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "nohang";
    struct sigaction sa = {.sa_handler = on_sigchld, .sa_flags = SA_RESTART};
    sigaction(SIGCHLD, &sa, NULL);
    struct sigaction usr1 = {.sa_handler = on_sigusr1, .sa_flags = SA_RESTART};
    sigaction(SIGUSR1, &usr1, NULL);
    subreaper = getpid();
    usr1_before_exit = strcmp(mode, "block") == 0;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return fail("PR_SET_CHILD_SUBREAPER");
    int is = 0;
    if (prctl(PR_GET_CHILD_SUBREAPER, &is) < 0 || is != 1)
        return fail("PR_GET_CHILD_SUBREAPER");

    if (strcmp(mode, "zombie") == 0) {
        pid_t reaped = 0, zombie = make_zombie_orphan(&reaped);
        if (zombie < 0)
            return fail("make_zombie_orphan");
        alarm(20); /* a lost exit would block the wait below forever */
        int status;
        pid_t r = wait4(-1, &status, 0, NULL);
        if (r != zombie || !WIFEXITED(status) || WEXITSTATUS(status) != 9)
            return fail(r == reaped ? "the exit the child reaped itself was delivered" : "the zombie's exit");
        if (wait4(-1, &status, WNOHANG, NULL) != -1 || errno != ECHILD)
            return fail("ECHILD once the zombie is reaped (nothing else delivered)");
        printf("zombie ok\n");
        return 0;
    }
    pid_t g[2];
    bool use_waitid = strcmp(mode, "waitid") == 0;
    int n = use_waitid ? 2 : 1;
    if (make_orphans(n, use_waitid, g) < 0)
        return fail("make_orphans");
    int before = sigchld_count;
    release_orphans();

    if (strcmp(mode, "nohang") == 0) {
        int status;
        for (int tries = 0; tries < 1000; tries++) {
            pid_t r = wait4(-1, &status, WNOHANG, NULL);
            if (r < 0)
                return fail("wait4 WNOHANG while the orphan lives");
            if (r == g[0]) {
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 7)
                    return fail("orphan status");
                /* SIGCHLD is sent as the orphan dies; gVisor may run the handler only after this wait4
                 * returned, so give it a moment rather than demand it already ran. */
                for (int i = 0; i < 200 && sigchld_count == before; i++)
                    sleep_ms(10);
                if (sigchld_count == before)
                    return fail("no SIGCHLD for the orphan");
                printf("nohang ok\n");
                return 0;
            }
            if (r != 0)
                return fail("unexpected pid");
            sleep_ms(10);
        }
        return fail("orphan never reaped");
    }
    if (strcmp(mode, "block") == 0) {
        int status;
        pid_t r = wait4(-1, &status, 0, NULL);
        if (r != g[0] || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
            return fail("blocking wait4");
        for (int i = 0; i < 200 && sigusr1_count == 0; i++)
            sleep_ms(10);
        if (sigusr1_count != 1)
            return fail("SIGUSR1 sent during the blocking wait never arrived");
        if (wait4(-1, &status, WNOHANG, NULL) != -1 || errno != ECHILD)
            return fail("ECHILD once every child is reaped");
        printf("block ok\n");
        return 0;
    }
    if (use_waitid) {
        for (int i = 0; i < 2; i++) {
            siginfo_t si;
            memset(&si, 0, sizeof(si));
            if (waitid(P_ALL, 0, &si, WEXITED) < 0)
                return fail("waitid");
            if (si.si_pid == g[0] && (si.si_code != CLD_EXITED || si.si_status != 7))
                return fail("waitid: first orphan status");
            if (si.si_pid == g[1] && (si.si_code != CLD_KILLED || si.si_status != SIGTERM))
                return fail("waitid: second orphan killed by SIGTERM");
            if (si.si_pid != g[0] && si.si_pid != g[1])
                return fail("waitid: unexpected pid");
        }
        printf("waitid ok\n");
        return 0;
    }
    fprintf(stderr, "usage: probe-subreaper nohang | block | waitid | zombie\n");
    return 2;
}
