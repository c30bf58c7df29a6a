/* Signal probes for kig-trace tests: job control (stop/continue), death by signal, queued signal data,
 * and a program that waits for SIGTERM. Each mode exits 0 when the behaviour matched Linux. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
    printf("FAIL: %s (errno %d)\n", what, errno);
    return 1;
}

static pid_t spawn_pauser(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* Its own process group, whose parent sits in another group of the session: not orphaned, so
         * SIGTSTP stops it instead of being discarded. */
        setpgid(0, 0);
        for (;;)
            pause();
    }
    /* Both sides set the group (the classic race): the signal below must find the child already in it. */
    setpgid(pid, pid);
    return pid;
}

static int stop_continue(int stop_sig)
{
    pid_t pid = spawn_pauser();
    int status;
    if (pid < 0)
        return fail("fork");
    if (kill(pid, stop_sig) < 0)
        return fail("kill stop");
    if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status) || WSTOPSIG(status) != stop_sig)
        return fail("child did not report a stop");
    if (kill(pid, SIGCONT) < 0)
        return fail("kill cont");
    if (waitpid(pid, &status, WCONTINUED) != pid || !WIFCONTINUED(status))
        return fail("child did not report a continue");
    /* Stop again, then kill while stopped: SIGTERM must wait for SIGCONT, SIGKILL must not. */
    kill(pid, SIGSTOP);
    if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
        return fail("second stop");
    kill(pid, SIGKILL);
    if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        return fail("SIGKILL of a stopped child");
    printf("stop-continue %s ok\n", strsignal(stop_sig));
    return 0;
}

static int killed(void)
{
    const int sigs[] = {SIGKILL, SIGTERM, SIGSEGV, SIGABRT};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        pid_t pid = fork();
        if (pid == 0) {
            signal(sigs[i], SIG_DFL);
            raise(sigs[i]);
            _exit(0);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status) || WTERMSIG(status) != sigs[i])
            return fail(strsignal(sigs[i]));
    }
    printf("killed ok\n");
    return 0;
}

static volatile sig_atomic_t got_code, got_value, got_count;

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
    (void)sig, (void)ctx;
    got_code = si->si_code;
    got_value = si->si_value.sival_int;
    got_count++;
}

static int queued(void)
{
    struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
    sigaction(SIGUSR1, &sa, NULL);
    union sigval v = {.sival_int = 1234};
    if (sigqueue(getpid(), SIGUSR1, v) < 0)
        return fail("sigqueue");
    if (got_count != 1 || got_code != SI_QUEUE || got_value != 1234)
        return printf("FAIL: handler saw count %d code %d value %d\n", (int)got_count, (int)got_code,
                      (int)got_value),
               1;
    /* Many signals in a row: every delivery goes through a signal-delivery-stop. */
    for (int i = 0; i < 2000; i++)
        kill(getpid(), SIGUSR1);
    if (got_count < 2)
        return fail("burst");
    printf("sigqueue ok\n");
    return 0;
}

static volatile sig_atomic_t terminated;

static void on_term(int sig)
{
    (void)sig;
    terminated = 1;
}

static int wait_term(void)
{
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    printf("ready\n");
    fflush(stdout);
    while (!terminated)
        sigsuspend(&old);
    printf("got SIGTERM\n");
    return 3;
}

static volatile sig_atomic_t rt_count;

static void on_rt(int sig)
{
    (void)sig;
    rt_count++;
}

/* Real-time signals queue (no merging): another process sends 50 while this one keeps calling statfs on
 * a /proc file, which kig-trace's statfs rule traps. Every one must arrive, including those sent while
 * this thread sat in a ptrace stop (gVisor leaves those pending until the tracee is interrupted). */
static int signals_while_trapped(void)
{
    struct sigaction sa = {.sa_handler = on_rt, .sa_flags = SA_RESTART};
    sigaction(SIGRTMIN, &sa, NULL);
    pid_t parent = getpid();
    pid_t sender = fork();
    if (sender == 0) {
        for (int i = 0; i < 50; i++) {
            union sigval v = {.sival_int = i};
            sigqueue(parent, SIGRTMIN, v);
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
        _exit(0);
    }
    struct statfs st;
    int status;
    while (waitpid(sender, &status, WNOHANG) == 0)
        statfs("/proc/self/status", &st);
    for (int i = 0; i < 200 && rt_count < 50; i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    printf("trapped-signals: %d of 50 delivered\n", (int)rt_count);
    return rt_count == 50 ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "stop-continue") == 0)
        return stop_continue(SIGSTOP) || stop_continue(SIGTSTP);
    if (strcmp(mode, "killed") == 0)
        return killed();
    if (strcmp(mode, "sigqueue") == 0)
        return queued();
    if (strcmp(mode, "wait-term") == 0)
        return wait_term();
    if (strcmp(mode, "trapped-signals") == 0)
        return signals_while_trapped();
    if (strcmp(mode, "raise") == 0 && argc == 3) {
        int sig = atoi(argv[2]);
        signal(sig, SIG_DFL);
        raise(sig);
        return 0;
    }
    fprintf(
        stderr,
        "usage: probe-signals stop-continue | killed | sigqueue | wait-term | trapped-signals | raise SIG\n");
    return 2;
}
