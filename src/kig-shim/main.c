/* kig-shim: the shim binary containerd's CRI runs for kig's runtime. containerd 1.6 finds the shim of runtime
 * type io.containerd.runc.v2 by the name containerd-shim-runc-v2 in its PATH (its CRI ignores runtime_path),
 * so kig puts a link by that name to kig-shim first in containerd's PATH and names the real shim in
 * KIG_CONTAINERD_SHIM.
 *
 * Where setns(2) is missing, a pod's network namespace can only be entered by being born in it, so a pod
 * with its own network is started through its netns holder (docs/networking.md, src/libkig/podns.h).
 * containerd runs one runc-v2 shim per pod: `SHIM [flags] start`, in the bundle directory, prints the
 * address of the shim daemon it forks (or of the pod's existing one). Run through the holder, that daemon,
 * the runtime and every container of the pod are born in the pod's namespace, and the shim stays their
 * ancestor, so exit reporting works as usual.
 *
 * A pod sandbox's `start` is done by kig-shim itself (shim-daemon.h): only the shim daemon is started, in
 * the pod's namespace through its holder or, for host networking, directly. A container of a pod whose shim
 * is already running gets that shim's address from kig-shim itself (group-shim.h). Each saves a Go program
 * start. Everything else (`delete`, lookups kig-shim cannot be sure of) goes straight to
 * containerd-shim-runc-v2 with the same arguments. A pod sandbox that asks for its own
 * network but has no holder is refused: silently giving it the node's network would be wrong.
 *
 * Environment: KIG_SWITCH_DIR (where the holders listen; default PODNS_DEFAULT_DIR), KIG_CONTAINERD_SHIM
 * (the real shim; default: found like every component). */
#include "bundle.h"
#include "components.h"
#include "fileutil.h"
#include "group-shim.h"
#include "macro.h"
#include "podns.h"
#include "shim-daemon.h"
#include "spawn.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_CONFIG_SIZE (4 * 1024 * 1024)
#define NO_HOLDER_FMT                                                                                        \
    "pod sandbox %s has its own network but no network-namespace holder: kig-switch did not attach it "      \
    "(see 'kig logs kig-switch'; CNI ADD must run before the sandbox starts)"

static _noreturn_ _printf_(1, 0) void vdie(const char *fmt, va_list ap)
{
    fprintf(stderr, "kig-shim: error: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    exit(1);
}

static _noreturn_ _printf_(1, 2) void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdie(fmt, ap);
}

/* The shim's action is its last argument; the flags before it are Go-style (-name value). */
static const char *shim_action(int argc, char **argv)
{
    return argc > 1 ? argv[argc - 1] : "";
}

static const char *flag_value(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (argv[i][0] == '-' && strcmp(argv[i] + 1 + (argv[i][1] == '-'), name) == 0)
            return argv[i + 1];
    return NULL;
}

/* A Go boolean flag: -name, --name, -name=true. */
static bool bool_flag(int argc, char **argv, const char *name)
{
    size_t len = strlen(name);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-')
            continue;
        a += 1 + (a[1] == '-');
        if (strncmp(a, name, len) == 0 && (a[len] == '\0' || strcmp(a + len, "=true") == 0))
            return true;
    }
    return false;
}

static _noreturn_ void exec_real(const char *real, char **argv)
{
    argv[0] = (char *)real;
    execv(real, argv);
    die("cannot run %s: %s", real, strerror(errno));
}

static void read_bundle(const char *bundle_dir, struct shim_bundle *b)
{
    _cleanup_free_ char *path = path_join(bundle_dir ? bundle_dir : ".", "config.json"), *text = NULL;
    size_t len;
    if (!path)
        die("out of memory");
    int r = read_file(path, &text, &len, MAX_CONFIG_SIZE);
    if (r < 0)
        die("cannot read the bundle's %s: %s", path, strerror(-r));
    char why[256];
    if (shim_bundle_parse(text, len, b, why, sizeof(why)) < 0)
        die("%s", why);
}

/* Found through PATH, the "real" shim may be this program under the shim's name: that would loop. */
static bool is_self(const char *path)
{
    struct stat self, other;
    return stat("/proc/self/exe", &self) == 0 && stat(path, &other) == 0 && self.st_dev == other.st_dev &&
           self.st_ino == other.st_ino;
}

static void print_address(const char *address)
{
    if (fputs(address, stdout) == EOF || fflush(stdout) == EOF)
        die("cannot print the shim address: %s", strerror(errno));
}

/* The real shim's answer when a shim already serves the pod: the address, into ./address (in the working
 * directory containerd started it in, the bundle) and on stdout. */
static void answer_with(const char *address)
{
    int r = group_shim_write_address("address", address);
    if (r < 0)
        die("cannot write the shim address to ./address: %s", strerror(-r));
    print_address(address);
}

/* `start` for a container whose pod's shim runs: what the real shim would do (write ./address, print it),
 * without starting it. False, having done nothing, when anything differs from that case: the real shim
 * then decides. The sandbox's own start, which must start the shim, never comes here (its id is the
 * group). */
static bool answer_from_running_shim(int argc, char **argv, const struct shim_bundle *b)
{
    const char *id = flag_value(argc, argv, "id"), *ns = flag_value(argc, argv, "namespace"),
               *containerd = flag_value(argc, argv, "address");
    char address[256];
    if (b->is_sandbox || b->has_group || !b->sandbox_id[0] || !id || !ns || !containerd ||
        strcmp(id, b->sandbox_id) == 0 ||
        shim_socket_address(containerd, ns, b->sandbox_id, address, sizeof(address)) < 0 ||
        !group_shim_listening(address))
        return false;
    answer_with(address);
    return true;
}

static _noreturn_ _printf_(3, 4) void fail_start(const char *address, pid_t daemon, const char *fmt, ...)
{
    if (daemon > 0)
        kill(daemon, SIGKILL);
    shim_daemon_unlink(address);
    va_list ap;
    va_start(ap, fmt);
    vdie(fmt, ap);
}

static pid_t spawn_daemon(const struct shim_bundle *b, const char *address, int socket_fd, const char **argv)
{
    _cleanup_free_ const char **env = shim_daemon_env(environ);
    if (!env)
        fail_start(address, 0, "out of memory");
    pid_t pid = 0;
    int r;
    if (b->own_network) {
        const char *dir = getenv("KIG_SWITCH_DIR");
        const struct podns_spawn_options o = {
            .argv = argv,
            .envp = env,
            .stdin_fd = -1,
            .stdout_fd = -1,
            .stderr_fd = -1,
            .extra_fds = &socket_fd,
            .n_extra_fds = 1,
            .new_session = true,
        };
        r = podns_spawn(dir && *dir ? dir : NULL, b->sandbox_id, &o, &pid, NULL);
        if (r == -ENOENT || r == -ECONNREFUSED)
            fail_start(address, 0, NO_HOLDER_FMT, b->sandbox_id);
    } else {
        const struct spawn_options o = {
            .argv = argv,
            .envp = env,
            .stdin_fd = SPAWN_DEVNULL,
            .stdout_fd = SPAWN_DEVNULL,
            .stderr_fd = SPAWN_DEVNULL,
            .new_session = true,
            .extra_fds = &socket_fd,
            .n_extra_fds = 1,
        };
        r = spawn_process(&o, &pid);
    }
    if (r < 0)
        fail_start(address, 0, "cannot start the shim daemon %s for pod sandbox %s: %s", argv[0],
                   b->sandbox_id, strerror(-r));
    return pid;
}

/* A pod sandbox's `start`, which starts the pod's shim: done here without the real shim's own start
 * (shim-daemon.h). False, having done nothing, when the real shim must decide: a runc-v2 group label,
 * SCHED_CORE, arguments kig-shim cannot be sure of. */
static bool start_sandbox_shim(int argc, char **argv, const char *real, const struct shim_bundle *b)
{
    const char *id = flag_value(argc, argv, "id"), *ns = flag_value(argc, argv, "namespace"),
               *containerd = flag_value(argc, argv, "address");
    char address[256];
    if (!b->is_sandbox || b->has_group || !id || !ns || !containerd || strcmp(id, b->sandbox_id) != 0 ||
        getenv("SCHED_CORE") || shim_socket_address(containerd, ns, id, address, sizeof(address)) < 0)
        return false;
    _cleanup_close_ int fd = shim_daemon_listen(address);
    if (fd == -EADDRINUSE) {
        answer_with(address); /* a shim serves this sandbox already (a retried start) */
        return true;
    }
    if (fd < 0)
        die("cannot listen on the shim socket %s: %s", address, strerror(-fd));
    int r = group_shim_write_address("address", address);
    if (r < 0)
        fail_start(address, 0, "cannot write the shim address to ./address: %s", strerror(-r));
    const char *daemon_argv[9];
    shim_daemon_argv(real, ns, id, containerd, bool_flag(argc, argv, "debug"), daemon_argv);
    pid_t pid = spawn_daemon(b, address, fd, daemon_argv);
    (void)shim_daemon_drain(STDIN_FILENO); /* the real shim ignores a failed read too */
    if ((r = shim_daemon_adjust_oom_score(pid, getppid())) < 0)
        fail_start(address, pid, "failed to adjust OOM score for shim: %s", strerror(-r));
    print_address(address);
    return true;
}

int main(int argc, char **argv)
{
    _cleanup_free_ char *real = NULL;
    if (component_require(COMPONENT_CONTAINERD_SHIM_RUNC_V2, &real) < 0)
        return 1;
    if (is_self(real))
        die("%s is kig-shim itself: set KIG_CONTAINERD_SHIM to containerd-shim-runc-v2's path", real);
    if (strcmp(shim_action(argc, argv), "start") != 0)
        exec_real(real, argv);

    struct shim_bundle b;
    read_bundle(flag_value(argc, argv, "bundle"), &b);
    if (answer_from_running_shim(argc, argv, &b) || start_sandbox_shim(argc, argv, real, &b))
        return 0;
    if (!b.own_network || !b.sandbox_id[0])
        exec_real(real, argv);

    const char *dir = getenv("KIG_SWITCH_DIR");
    argv[0] = real;
    const struct podns_spawn_options o = {
        .argv = (const char *const *)argv,
        .stdin_fd = STDIN_FILENO,
        .stdout_fd = STDOUT_FILENO,
        .stderr_fd = STDERR_FILENO,
    };
    int status;
    int r = podns_run(dir && *dir ? dir : NULL, b.sandbox_id, &o, &status);
    /* A container of a running pod only gets the address of the pod's shim from `start`: where that runs
     * does not matter. Only a pod's sandbox must not start without its holder. */
    if ((r == -ENOENT || r == -ECONNREFUSED) && !b.is_sandbox)
        exec_real(real, argv);
    if (r == -ENOENT || r == -ECONNREFUSED)
        die(NO_HOLDER_FMT, b.sandbox_id);
    if (r < 0)
        die("cannot start the shim in the network namespace of pod sandbox %s: %s", b.sandbox_id,
            strerror(-r));
    return wait_status_to_exit_code(status);
}
