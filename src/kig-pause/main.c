/* kig-pause: the pod sandbox's init, like Kubernetes' pause. It holds the pod's namespaces (where there are
 * any), reaps the zombies that are reparented to it, and exits 0 on SIGTERM or SIGINT. Statically linked:
 * the pause image holds nothing else. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kig-config.h"

static void stop(int sig)
{
    (void)sig;
    _exit(0);
}

static void reap(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

static int install(int sig, void (*handler)(int))
{
    struct sigaction sa = {.sa_handler = handler,
                           .sa_flags = SA_RESTART | (sig == SIGCHLD ? SA_NOCLDSTOP : 0)};
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("kig-pause %s\n", KIG_VERSION);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "kig-pause: error: unexpected argument '%s'; kig-pause takes none (-v: version)\n",
                argv[1]);
        return 1;
    }
    if (getpid() != 1)
        fprintf(stderr,
                "kig-pause: warning: not running as PID 1: orphans are reaped only if reparented here\n");
    if (install(SIGINT, stop) < 0 || install(SIGTERM, stop) < 0 || install(SIGCHLD, reap) < 0) {
        fprintf(stderr, "kig-pause: error: cannot install signal handlers: %s\n", strerror(errno));
        return 1;
    }
    /* Children that exited before the handler was installed. */
    reap(SIGCHLD);
    for (;;)
        pause();
}
