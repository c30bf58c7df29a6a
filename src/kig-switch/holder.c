#include "holder.h"

#include "fileutil.h"
#include "frame.h"
#include "log.h"
#include "podns.h"
#include "tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#define MAX_CLIENTS     256
#define DEFAULT_PATH    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define NO_PID          ((pid_t)0)
#define CLIENT_SLOT_OFF 2 /* pollfd slots before the clients: signalfd, listener */

struct client {
    int fd;
    pid_t waiting_for; /* a spawned child whose exit this client wants to hear about */
};

struct holder {
    const struct holder_options *o;
    int tap_fd;
    int listen_fd;
    int signal_fd;
    bool subreaper;
    bool quit;
    struct client clients[MAX_CLIENTS];
    size_t n_clients;
};

static int add_client(struct holder *h, int fd)
{
    if (h->n_clients == MAX_CLIENTS) {
        log_warn("too many connections; refusing one");
        close(fd);
        return -EMFILE;
    }
    h->clients[h->n_clients++] = (struct client){.fd = fd};
    return 0;
}

static void drop_client(struct holder *h, size_t i)
{
    close(h->clients[i].fd);
    h->clients[i] = h->clients[--h->n_clients];
}

/* ---- the child side of SPAWN ---- */

static const char *env_path(char **envp)
{
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], "PATH=", 5) == 0)
            return envp[i] + 5;
    return DEFAULT_PATH;
}

/* execve with a PATH search in the request's own PATH, like execvpe but without reading our environ. */
static void exec_in_path(char **argv, char **envp)
{
    if (strchr(argv[0], '/')) {
        execve(argv[0], argv, envp);
        return;
    }
    const char *path = env_path(envp);
    int saved = ENOENT;
    while (*path) {
        const char *colon = strchrnul(path, ':');
        char full[4096];
        int n = snprintf(full, sizeof(full), "%.*s/%s", (int)(colon - path), path, argv[0]);
        if (n > 0 && (size_t)n < sizeof(full)) {
            execve(full, argv, envp);
            if (errno != ENOENT && errno != ENOTDIR)
                saved = errno;
        }
        path = *colon ? colon + 1 : colon;
    }
    errno = saved;
}

static int setup_child_fds(const struct podns_request *r)
{
    /* Move every passed fd out of the way first so that dup2 onto a target cannot clobber another
     * source. */
    int moved[ARRAY_SIZE(r->fds)];
    for (size_t i = 0; i < r->n_fds; i++) {
        moved[i] = fcntl(r->fds[i], F_DUPFD_CLOEXEC, 64);
        if (moved[i] < 0)
            return -1;
    }
    bool have[3] = {false, false, false};
    for (size_t i = 0; i < r->n_fds; i++) {
        if (dup2(moved[i], r->target_fds[i]) < 0)
            return -1;
        if (r->target_fds[i] < 3)
            have[r->target_fds[i]] = true;
    }
    for (int t = 0; t < 3; t++) {
        if (have[t])
            continue;
        int n = open("/dev/null", O_RDWR);
        if (n < 0 || dup2(n, t) < 0)
            return -1;
        if (n != t)
            close(n);
    }
    return 0;
}

static _noreturn_ void child_exec(const struct podns_request *r, int err_pipe)
{
    sigset_t none;
    sigemptyset(&none);
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (r->h.flags & PODNS_SPAWN_NEW_SESSION)
        setsid();
    if (setup_child_fds(r) == 0 && chdir(r->cwd) == 0)
        exec_in_path(r->argv, r->envp);
    int e = errno;
    (void)!write(err_pipe, &e, sizeof(e));
    _exit(127);
}

static int spawn(const struct podns_request *r, pid_t *ret_pid)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return negative_errno();
    pid_t pid = fork();
    if (pid < 0) {
        int e = negative_errno();
        close(p[0]);
        close(p[1]);
        return e;
    }
    if (pid == 0) {
        close(p[0]);
        child_exec(r, p[1]);
    }
    close(p[1]);
    int e = 0;
    ssize_t n;
    do
        n = read(p[0], &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    close(p[0]);
    if (n == sizeof(e)) {
        /* exec failed: the child is gone, reap it here so it is never reported */
        waitpid(pid, NULL, 0);
        return e > 0 ? -e : -EIO;
    }
    *ret_pid = pid;
    return 0;
}

/* ---- requests ---- */

static char *info_json(const struct holder *h)
{
    char addr[INET_ADDRSTRLEN];
    struct in_addr a = {.s_addr = htonl(h->o->address)};
    inet_ntop(AF_INET, &a, addr, sizeof(addr));
    char cidr[INET_ADDRSTRLEN + 4];
    snprintf(cidr, sizeof(cidr), "%s/%u", addr, h->o->prefix_len);
    json_t *doc = json_pack("{s:s, s:i, s:s, s:s, s:b}", "id", h->o->id, "pid", (int)getpid(), "ifname",
                            h->o->ifname, "address", cidr, "subreaper", h->subreaper);
    char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return s;
}

static int reply(int fd, enum podns_reply_kind kind, int error, pid_t pid, const char *payload, int pass_fd)
{
    struct podns_reply r = {.kind = (uint16_t)kind,
                            .error = error,
                            .pid = pid,
                            .payload_len = payload ? (uint32_t)strlen(payload) : 0};
    return podns_reply_send(fd, &r, payload, pass_fd);
}

/* Handles one request on client i; returns true when the client must be dropped. */
static bool handle_request(struct holder *h, size_t i)
{
    struct client *c = &h->clients[i];
    struct podns_request req;
    int r = podns_request_recv(c->fd, &req);
    if (r == -ECONNRESET)
        return true;
    if (r < 0) {
        log_warn_errno(r, "rejecting a malformed request: %m");
        (void)reply(c->fd, PODNS_REPLY_ERROR, r, 0, NULL, -1);
        return true;
    }
    bool drop = false;
    switch (req.h.op) {
    case PODNS_OP_SPAWN: {
        pid_t pid = NO_PID;
        r = spawn(&req, &pid);
        if (r < 0) {
            log_debug_errno(r, "cannot start %s: %m", req.argv[0]);
            (void)reply(c->fd, PODNS_REPLY_ERROR, r, 0, NULL, -1);
            drop = true;
            break;
        }
        log_debug("started %s as pid %d", req.argv[0], (int)pid);
        if (reply(c->fd, PODNS_REPLY_STARTED, 0, pid, NULL, -1) < 0 || !(req.h.flags & PODNS_SPAWN_WAIT))
            drop = true;
        else
            c->waiting_for = pid;
        break;
    }
    case PODNS_OP_GET_TAP:
        /* The connection stays open: its EOF tells the switch that this holder died. */
        drop = reply(c->fd, PODNS_REPLY_OK, 0, getpid(), NULL, h->tap_fd) < 0;
        break;
    case PODNS_OP_INFO: {
        _cleanup_free_ char *s = info_json(h);
        (void)reply(c->fd, s ? PODNS_REPLY_OK : PODNS_REPLY_ERROR, s ? 0 : -ENOMEM, getpid(), s, -1);
        drop = true;
        break;
    }
    case PODNS_OP_SHUTDOWN:
        log_info("shutting down on request");
        (void)reply(c->fd, PODNS_REPLY_OK, 0, getpid(), NULL, -1);
        h->quit = true;
        drop = true;
        break;
    }
    podns_request_done(&req);
    return drop;
}

static void reap(struct holder *h)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (size_t i = 0; i < h->n_clients; i++)
            if (h->clients[i].waiting_for == pid) {
                struct podns_reply exited = {.kind = PODNS_REPLY_EXITED, .pid = pid, .status = status};
                (void)podns_reply_send(h->clients[i].fd, &exited, NULL, -1);
                h->clients[i].waiting_for = NO_PID;
                drop_client(h, i);
                break;
            }
        log_debug("pid %d exited with status 0x%x", (int)pid, status);
    }
}

static void handle_signal(struct holder *h)
{
    struct signalfd_siginfo si;
    while (read(h->signal_fd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
            continue;
        log_info("exiting on signal %u", si.ssi_signo);
        h->quit = true;
    }
    reap(h);
}

static int event_loop(struct holder *h)
{
    struct pollfd pfd[CLIENT_SLOT_OFF + MAX_CLIENTS];
    while (!h->quit) {
        pfd[0] = (struct pollfd){.fd = h->signal_fd, .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = h->listen_fd, .events = POLLIN};
        size_t n = h->n_clients;
        for (size_t i = 0; i < n; i++)
            pfd[CLIENT_SLOT_OFF + i] = (struct pollfd){.fd = h->clients[i].fd, .events = POLLIN};
        if (poll(pfd, CLIENT_SLOT_OFF + n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return log_error_errno(errno, "poll: %m");
        }
        if (pfd[0].revents)
            handle_signal(h);
        /* Walk clients from the end: drop_client moves the last client into the freed slot. */
        for (size_t i = n; i-- > 0;) {
            if (!pfd[CLIENT_SLOT_OFF + i].revents || i >= h->n_clients ||
                h->clients[i].fd != pfd[CLIENT_SLOT_OFF + i].fd)
                continue;
            if (handle_request(h, i))
                drop_client(h, i);
        }
        if (pfd[1].revents & POLLIN) {
            int c = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0)
                add_client(h, c);
        }
    }
    return 0;
}

static int listen_on(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return log_error_errno(-ENAMETOOLONG, "socket path %s is too long", path);
    strcpy(sa.sun_path, path);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return log_error_errno(errno, "socket: %m");
    if (unlink(path) < 0 && errno != ENOENT)
        return log_error_errno(errno, "cannot remove stale %s: %m", path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return log_error_errno(errno, "cannot bind %s: %m", path);
    chmod(path, 0600);
    if (listen(fd, 64) < 0)
        return log_error_errno(errno, "listen on %s: %m", path);
    return TAKE_FD(fd);
}

static int setup_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? log_error_errno(errno, "signalfd: %m") : fd;
}

int holder_run(const struct holder_options *o)
{
    struct holder h = {.o = o, .tap_fd = -1, .listen_fd = -1, .signal_fd = -1};
    /* A holder must outlive the switch that started it, and not die with its process group. */
    (void)setsid();
    if (o->report_fd >= 0)
        fcntl(o->report_fd, F_SETFD, FD_CLOEXEC);
    if (unshare(CLONE_NEWNET) < 0)
        return log_error_errno(errno, "cannot create a network namespace: %m"), 1;
    if (tap_create(o->ifname, o->address, o->prefix_len, &h.tap_fd) < 0)
        return 1;
    _cleanup_free_ char *pods = path_join(o->dir, "pods");
    _cleanup_free_ char *path = podns_socket_path(o->dir, o->id);
    if (!pods || !path)
        return log_error_errno(-ENOMEM, "out of memory"), 1;
    int r = mkdir_p(pods, 0700);
    if (r < 0)
        return log_error_errno(r, "cannot create %s: %m", pods), 1;
    h.listen_fd = listen_on(path);
    if (h.listen_fd < 0)
        return 1;
    h.signal_fd = setup_signals();
    if (h.signal_fd < 0)
        return 1;
    /* Where the sandbox allows it, orphans of what we start (a daemonizing runtime) come back to us. */
    h.subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;

    if (o->report_fd >= 0) {
        r = reply(o->report_fd, PODNS_REPLY_OK, 0, getpid(), NULL, h.tap_fd);
        if (r < 0) {
            log_error_errno(r, "cannot hand the TAP to kig-switch: %m");
            unlink(path);
            return 1;
        }
        /* The switch watches this connection for our death; we watch it only to notice it closing. */
        add_client(&h, o->report_fd);
    }
    log_debug("pod %s: holding %s in a new network namespace", o->id, o->ifname);
    r = event_loop(&h);
    unlink(path);
    return r < 0 ? 1 : 0;
}

int holder_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"id", required_argument, NULL, 'i'},
        {"ifname", required_argument, NULL, 'n'},
        {"address", required_argument, NULL, 'a'},
        {"report-fd", required_argument, NULL, 'r'},
        {"verbose", no_argument, NULL, 'v'},
        {0},
    };
    struct holder_options o = {.dir = PODNS_DEFAULT_DIR, .ifname = "eth0", .report_fd = -1};
    const char *address = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.dir = optarg;
            break;
        case 'i':
            o.id = optarg;
            break;
        case 'n':
            o.ifname = optarg;
            break;
        case 'a':
            address = optarg;
            break;
        case 'r':
            o.report_fd = atoi(optarg);
            break;
        case 'v':
            log_set_level(LOG_LEVEL_DEBUG);
            break;
        default:
            return 2;
        }
    }
    struct route4 a;
    if (!o.id || !podns_valid_id(o.id) || !address || strchr(address, '/') == NULL ||
        route4_parse(address, &a) < 0) {
        log_error("holder: needs --id ID --address A.B.C.D/LEN (internal command of kig-switch)");
        return 2;
    }
    /* route4_parse masks the address; take it unmasked */
    char host[32];
    snprintf(host, sizeof(host), "%.*s", (int)(strchr(address, '/') - address), address);
    struct in_addr in;
    inet_pton(AF_INET, host, &in);
    o.address = ntohl(in.s_addr);
    o.prefix_len = route4_prefix_len(&a);
    return holder_run(&o);
}
