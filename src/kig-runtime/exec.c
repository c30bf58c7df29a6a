/* `exec`: run another process in a running container.
 *
 * Where setns works the runtime does it. Where it does not (gVisor 20221219), the container was created with
 * no namespace of its own (spec_rewrite), so entering it means: join its cgroups, chroot into its rootfs,
 * and become its process (user, groups, capabilities, no_new_privs, rlimits, environment, cwd). That is
 * done here, in the order runc does it, with runc's command line and runc's way of handing a terminal over
 * (the pty master sent over --console-socket). */
#include "cgroups.h"
#include "cli.h"
#include "container.h"
#include "exec-process.h"
#include "fileutil.h"
#include "log.h"
#include "mountinfo.h"
#include "oci-seccomp.h"
#include "process-child.h"
#include "runtime-exec.h"
#include "spec-rewrite.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>

enum {
    OPT_PROCESS,
    OPT_DETACH,
    OPT_PID_FILE,
    OPT_CONSOLE_SOCKET,
    OPT_TTY,
    OPT_CWD,
    OPT_ENV,
    OPT_USER,
    OPT_ADDITIONAL_GIDS,
    OPT_CAP,
    OPT_NO_NEW_PRIVS,
    OPT_PRESERVE_FDS,
    OPT_APPARMOR,
    OPT_PROCESS_LABEL,
    OPT_CGROUP,
    OPT_IGNORE_PAUSED,
    _OPT_MAX,
};

static const struct cli_option exec_options[_OPT_MAX] = {
    [OPT_PROCESS] = {"process", 'p', true},
    [OPT_DETACH] = {"detach", 'd', false},
    [OPT_PID_FILE] = {"pid-file", 0, true},
    [OPT_CONSOLE_SOCKET] = {"console-socket", 0, true},
    [OPT_TTY] = {"tty", 't', false},
    [OPT_CWD] = {"cwd", 0, true},
    [OPT_ENV] = {"env", 'e', true},
    [OPT_USER] = {"user", 'u', true},
    [OPT_ADDITIONAL_GIDS] = {"additional-gids", 'g', true},
    [OPT_CAP] = {"cap", 'c', true},
    [OPT_NO_NEW_PRIVS] = {"no-new-privs", 0, false},
    [OPT_PRESERVE_FDS] = {"preserve-fds", 0, true},
    [OPT_APPARMOR] = {"apparmor", 0, true},
    [OPT_PROCESS_LABEL] = {"process-label", 0, true},
    [OPT_CGROUP] = {"cgroup", 0, true},
    [OPT_IGNORE_PAUSED] = {"ignore-paused", 0, false},
};

struct exec_request {
    const char *values[_OPT_MAX];
    const char **env; /* every --env */
    size_t n_env;
    const char *id;
    char **command; /* after the id, NULL-terminated */
    int n_command;
};

/* ---- the process: --process FILE, or the container's process with the command line's overrides ---- */

static int append_strings(json_t *list, const char *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(list, json_string(items[i])) < 0)
            return -ENOMEM;
    return 0;
}

static int process_from_command_line(const struct exec_request *q, const struct container *c, json_t **ret)
{
    json_error_t err;
    _cleanup_json_ json_t *config = json_load_file(c->state.config_path, 0, &err);
    json_t *base = json_object_get(config, "process");
    if (!json_is_object(base))
        return log_error_errno(EINVAL, "cannot read the container's process from %s: %s",
                               c->state.config_path, config ? "no process object" : err.text);
    _cleanup_json_ json_t *p = json_deep_copy(base);
    json_t *args = json_array(), *env = json_object_get(p, "env");
    if (!p || !args || append_strings(args, (const char *const *)q->command, (size_t)q->n_command) < 0 ||
        json_object_set_new(p, "args", args) < 0)
        return log_error_errno(ENOMEM, "out of memory");
    if (!json_is_array(env) && json_object_set_new(p, "env", env = json_array()) < 0)
        return log_error_errno(ENOMEM, "out of memory");
    if (append_strings(env, q->env, q->n_env) < 0)
        return log_error_errno(ENOMEM, "out of memory");
    json_object_set_new(p, "terminal", json_boolean(cli_true(q->values[OPT_TTY])));
    if (q->values[OPT_CWD])
        json_object_set_new(p, "cwd", json_string(q->values[OPT_CWD]));
    if (cli_true(q->values[OPT_NO_NEW_PRIVS]))
        json_object_set_new(p, "noNewPrivileges", json_true());
    if (q->values[OPT_USER]) {
        unsigned uid, gid;
        int n = sscanf(q->values[OPT_USER], "%u:%u", &uid, &gid);
        if (n < 1)
            return log_error_errno(EINVAL, "exec: --user takes UID[:GID], not '%s'", q->values[OPT_USER]);
        json_t *user = json_pack("{s:i, s:i}", "uid", (json_int_t)uid, "gid", (json_int_t)(n == 2 ? gid : 0));
        if (!user || json_object_set_new(p, "user", user) < 0)
            return log_error_errno(ENOMEM, "out of memory");
    }
    if (q->values[OPT_CAP]) {
        json_t *caps = json_object_get(p, "capabilities");
        static const char *const sets[] = {"bounding", "effective", "permitted"};
        for (size_t i = 0; json_is_object(caps) && i < ARRAY_SIZE(sets); i++)
            json_array_append_new(json_object_get(caps, sets[i]), json_string(q->values[OPT_CAP]));
    }
    *ret = TAKE_PTR(p);
    return 0;
}

static int load_process(const struct exec_request *q, const struct container *c, json_t **ret)
{
    if (!q->values[OPT_PROCESS])
        return process_from_command_line(q, c, ret);
    json_error_t err;
    json_t *p = json_load_file(q->values[OPT_PROCESS], 0, &err);
    if (!p)
        return log_error_errno(EINVAL, "exec: cannot load --process %s: %s (line %d)", q->values[OPT_PROCESS],
                               err.text, err.line);
    *ret = p;
    return 0;
}

/* ---- the terminal ---- */

/* Sends the pty master to --console-socket as runc does: one message carrying the fd, named by the data. */
static int send_console(const char *socket_path, int master, const char *name)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(socket_path) >= sizeof(addr.sun_path))
        return log_error_errno(ENAMETOOLONG, "console socket path too long: %s", socket_path);
    strcpy(addr.sun_path, socket_path);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return log_error_errno(errno, "cannot connect to the console socket %s: %m", socket_path);
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control = {0};
    struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &master, sizeof(int));
    if (sendmsg(fd, &msg, 0) < 0)
        return log_error_errno(errno, "cannot send the terminal to %s: %m", socket_path);
    return 0;
}

/* Opens a pty, hands its master to the console socket and returns the slave. */
static int open_terminal(const struct exec_process *p, const char *console_socket, int *ret_slave)
{
    _cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
        return log_error_errno(errno, "cannot open a pty: %m");
    char name[256];
    if (ptsname_r(master, name, sizeof(name)) != 0)
        return log_error_errno(errno, "ptsname: %m");
    int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return log_error_errno(errno, "cannot open %s: %m", name);
    if (p->console_rows || p->console_cols) {
        struct winsize ws = {.ws_row = p->console_rows, .ws_col = p->console_cols};
        (void)ioctl(slave, TIOCSWINSZ, &ws);
    }
    int r = send_console(console_socket, master, name);
    if (r < 0) {
        close(slave);
        return r;
    }
    *ret_slave = slave;
    return 0;
}

/* ---- the parent ---- */

static pid_t forward_to;

static void forward_signal(int sig)
{
    if (forward_to > 0)
        kill(forward_to, sig);
}

static int wait_foreground(pid_t pid)
{
    static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    forward_to = pid;
    struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
    for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
        sigaction(forwarded[i], &sa, NULL);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return log_error_errno(errno, "waiting for the exec'd process: %m"), 255;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int prepare_process(const struct exec_request *q, const struct container *c, struct exec_process *ret)
{
    _cleanup_json_ json_t *process = NULL;
    int r = load_process(q, c, &process);
    if (r < 0)
        return r;
    struct runtime_features f;
    runtime_features_init_host(&f);
    runtime_features_probe_process(&f);
    if ((r = runtime_features_load_env(&f)) < 0)
        return r;
    _cleanup_json_ json_t *rewrites = json_array();
    char error[256] = "";
    if (!rewrites)
        return log_error_errno(ENOMEM, "out of memory");
    if ((r = spec_rewrite_process(process, &f, rewrites, error, sizeof(error))) < 0 ||
        (r = exec_process_parse(process, ret, error, sizeof(error))) < 0)
        return r == -EINVAL ? log_error_errno(r, "exec: %s", error) : log_error_errno(r, "exec: %m");
    size_t i;
    json_t *line;
    json_array_foreach(rewrites, i, line) log_debug("exec in %s: %s", q->id, json_string_value(line));
    return 0;
}

/* The hostname of the container's own UTS namespace (a "uts" entry without a path, and "hostname"); "" when
 * it shares the sandbox's. */
static void uts_hostname(const json_t *config, char *buf, size_t size)
{
    buf[0] = '\0';
    const char *hostname = json_string_value(json_object_get(config, "hostname"));
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(json_object_get(config, "linux"), "namespaces"), i, n)
    {
        const char *type = json_string_value(json_object_get(n, "type"));
        if (type && strcmp(type, "uts") == 0 && !json_object_get(n, "path") && hostname &&
            strlen(hostname) < size)
            snprintf(buf, size, "%s", hostname);
    }
}

/* The container's seccomp profile. */
static int seccomp_profile(const json_t *config, scmp_filter_ctx *ret)
{
    char error[256] = "";
    int r = oci_seccomp_compile(json_object_get(json_object_get(config, "linux"), "seccomp"), ret, error,
                                sizeof(error));
    if (r == -EINVAL)
        return log_error_errno(r, "exec: %s", error);
    if (r < 0)
        return log_error_errno(r, "exec: cannot build the seccomp filter: %m");
    return 0;
}

/* What exec takes from the config the container's runtime was given, read once: its seccomp profile and the
 * hostname of its own UTS namespace. */
static int load_container_settings(const struct container *c, scmp_filter_ctx *ret_seccomp, char *hostname,
                                   size_t hostname_size)
{
    json_error_t err;
    _cleanup_json_ json_t *config = json_load_file(c->state.config_path, 0, &err);
    if (!config)
        return log_error_errno(EINVAL, "cannot read %s: %s", c->state.config_path, err.text);
    uts_hostname(config, hostname, hostname_size);
    return seccomp_profile(config, ret_seccomp);
}

static int kig_exec(const struct exec_request *q, const struct container *c, pid_t init_pid)
{
    _cleanup_(exec_process_done) struct exec_process p = {0};
    int r = prepare_process(q, c, &p);
    if (r < 0)
        return r;
    bool detach = cli_true(q->values[OPT_DETACH]);
    const char *console = q->values[OPT_CONSOLE_SOCKET];
    if (p.terminal && !console)
        return log_error_errno(EINVAL, "exec: a terminal needs --console-socket (kig-runtime does not relay "
                                       "terminals itself)");
    char **cgroup_files = NULL;
    scmp_filter_ctx seccomp = NULL;
    char hostname[65];
    if ((r = load_container_settings(c, &seccomp, hostname, sizeof(hostname))) < 0)
        return r;
    struct cgroup_memberships cgroups;
    if ((r = cgroup_memberships_of(init_pid, c->state.rootfs, &cgroups)) < 0) {
        if (seccomp)
            seccomp_release(seccomp);
        return r;
    }
    cgroup_files = cgroup_procs_files(&cgroups, NULL);
    cgroup_memberships_free(&cgroups);
    if (!cgroup_files) {
        if (seccomp)
            seccomp_release(seccomp);
        return log_error_errno(ENOMEM, "out of memory");
    }
    struct process_child s = {.start_fd = -1,
                              .seccomp = seccomp,
                              .hostname = hostname[0] ? hostname : NULL,
                              .p = &p,
                              .rootfs = c->state.rootfs,
                              .cgroup_files = cgroup_files,
                              .pty_slave = -1,
                              .preserve_fds =
                                  q->values[OPT_PRESERVE_FDS] ? atoi(q->values[OPT_PRESERVE_FDS]) : 0};
    if (p.terminal && (r = open_terminal(&p, console, &s.pty_slave)) < 0)
        goto out;
    char msg[1024];
    pid_t pid = process_child_start(&s, msg, sizeof(msg));
    if (pid == -EIO) {
        r = log_error_errno(EIO, "exec failed: %s", msg);
        goto out;
    }
    if (pid < 0) {
        r = log_error_errno((int)-pid, "cannot start the process: %m");
        goto out;
    }
    if (q->values[OPT_PID_FILE] && (r = write_pid_file(q->values[OPT_PID_FILE], pid)) < 0)
        goto out;
    r = detach ? 0 : wait_foreground(pid);
out:
    strv_free(cgroup_files);
    if (seccomp)
        seccomp_release(seccomp);
    if (s.pty_slave >= 0)
        close(s.pty_slave);
    return r;
}

static int run_exec(const struct global_options *g, struct exec_request *q, int first, int argc, char **argv)
{
    if (first >= argc) {
        log_error("exec: usage: kig-runtime exec [--process FILE | OPTIONS] ID [COMMAND [ARGS...]]");
        return 1;
    }
    q->id = argv[first];
    q->command = argv + first + 1;
    q->n_command = argc - first - 1;
    if (!container_id_check(q->id))
        return 1;
    if (!q->values[OPT_PROCESS] && q->n_command == 0) {
        log_error("exec: give a command after the container id, or --process FILE");
        return 1;
    }
    _cleanup_(container_close) struct container c = {0};
    if (container_open(g, q->id, &c) < 0)
        return 1;
    if (!c.has_state || !c.state.kig_exec) {
        oci_runtime_exec(&c.rt, g, (const char *const *)argv, (size_t)argc);
        return 1;
    }
    /* kig-runtime knows the init it created: while it lives (same start time) the container runs. Asking the
     * runtime would cost a process start, and crun cannot tell without a freezer cgroup anyway. */
    if (container_init_alive(&c) != 1) {
        log_error("cannot exec in a stopped container");
        return 1;
    }
    int r = kig_exec(q, &c, (pid_t)c.state.init_pid);
    return r < 0 ? 1 : r;
}

int cmd_exec(const struct global_options *g, int argc, char **argv)
{
    struct exec_request q = {0};
    int first = cli_parse("exec", exec_options, _OPT_MAX, argc, argv, q.values, OPT_ENV, &q.env, &q.n_env);
    int r = first < 0 ? 1 : run_exec(g, &q, first, argc, argv);
    free(q.env);
    return r;
}
