#include "podns.h"

#include "macro.h"

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

extern char **environ;

#define REPLY_PAYLOAD_MAX 4096

bool podns_valid_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > PODNS_MAX_ID || id[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

char *podns_socket_path(const char *dir, const char *id)
{
    char *p = NULL;
    dir = dir ? dir : PODNS_DEFAULT_DIR;
    if (asprintf(&p, "%s/pods/%s.sock", dir, id) < 0)
        return NULL;
    if (strlen(p) < sizeof(((struct sockaddr_un *)0)->sun_path) || strlen(id) <= 16)
        return p;
    /* A containerd sandbox id is 64 characters: under a long data directory the path would not fit a
     * socket address. Then the name is the id's first 12 characters and a 64-bit FNV-1a hash of all of it. */
    free(p);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *c = id; *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
    if (asprintf(&p, "%s/pods/%.12s-%016llx.sock", dir, id, (unsigned long long)h) < 0)
        return NULL;
    return p;
}

static int connect_holder(const char *dir, const char *id)
{
    if (!podns_valid_id(id))
        return -EINVAL;
    _cleanup_free_ char *path = podns_socket_path(dir, id);
    if (!path)
        return -ENOMEM;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return negative_errno();
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = negative_errno();
        close(fd);
        return r;
    }
    return fd;
}

static int send_with_fds(int conn, const void *data, size_t len, const int *fds, size_t n_fds)
{
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int) * (3 + PODNS_MAX_EXTRA_FDS))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n_fds > 0) {
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
    }
    for (;;) {
        ssize_t n = sendmsg(conn, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EMSGSIZE ? -E2BIG : negative_errno();
        return (size_t)n == len ? 0 : -EIO;
    }
}

/* Receives one message; up to max_fds fds are stored (close-on-exec), extra ones closed. */
static ssize_t recv_with_fds(int conn, void *buf, size_t len, int *fds, size_t max_fds, size_t *ret_n_fds)
{
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int) * (3 + PODNS_MAX_EXTRA_FDS))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
    ssize_t n;
    do
        n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return negative_errno();
    size_t got = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (got < max_fds)
                fds[got++] = fd;
            else
                close(fd);
        }
    }
    if (ret_n_fds)
        *ret_n_fds = got;
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        for (size_t i = 0; i < got; i++)
            close(fds[i]);
        if (ret_n_fds)
            *ret_n_fds = 0;
        return -EBADMSG;
    }
    return n;
}

/* Receives a reply; an fd that comes with it lands in *ret_fd (or is closed when ret_fd is NULL). */
static int recv_reply(int conn, struct podns_reply *ret, char *payload, size_t payload_max, int *ret_fd)
{
    char buf[sizeof(struct podns_reply) + REPLY_PAYLOAD_MAX];
    int fd = -1;
    size_t n_fds = 0;
    ssize_t n = recv_with_fds(conn, buf, sizeof(buf), &fd, 1, &n_fds);
    if (n < 0)
        return (int)n;
    if (n == 0)
        return -EPIPE; /* the holder closed the connection: it exited */
    _cleanup_close_ int owned = n_fds ? fd : -1;
    if ((size_t)n < sizeof(*ret))
        return -EBADMSG;
    memcpy(ret, buf, sizeof(*ret));
    if (ret->magic != PODNS_MAGIC || ret->version != PODNS_VERSION ||
        ret->payload_len != (size_t)n - sizeof(*ret))
        return -EBADMSG;
    if (payload && payload_max > 0) {
        size_t k = ret->payload_len < payload_max - 1 ? ret->payload_len : payload_max - 1;
        memcpy(payload, buf + sizeof(*ret), k);
        payload[k] = '\0';
    }
    if (ret->kind == PODNS_REPLY_ERROR)
        return ret->error < 0 ? ret->error : -EIO;
    if (ret_fd)
        *ret_fd = TAKE_FD(owned);
    return 0;
}

struct request_builder {
    char *buf;
    size_t len, cap;
};

static int builder_put(struct request_builder *b, const void *data, size_t len)
{
    if (b->len + len > PODNS_MAX_REQUEST)
        return -E2BIG;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        char *n = realloc(b->buf, cap);
        if (!n)
            return -ENOMEM;
        b->buf = n;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    return 0;
}

static int builder_put_string(struct request_builder *b, const char *s)
{
    return builder_put(b, s, strlen(s) + 1);
}

static size_t count_strings(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

int podns_spawn(const char *dir, const char *id, const struct podns_spawn_options *o, pid_t *ret_pid,
                int *ret_handle)
{
    if (!o->argv || !o->argv[0] || o->n_extra_fds > PODNS_MAX_EXTRA_FDS)
        return -EINVAL;
    const char *const *envp = o->envp ? o->envp : (const char *const *)environ;
    _cleanup_free_ char *cwd_buf = NULL;
    const char *cwd = o->cwd;
    if (!cwd) {
        cwd = cwd_buf = getcwd(NULL, 0);
        if (!cwd)
            return negative_errno();
    }

    int fds[3 + PODNS_MAX_EXTRA_FDS];
    int32_t targets[3 + PODNS_MAX_EXTRA_FDS];
    size_t n_fds = 0;
    const int stdio[3] = {o->stdin_fd, o->stdout_fd, o->stderr_fd};
    for (int i = 0; i < 3; i++)
        if (stdio[i] >= 0) {
            fds[n_fds] = stdio[i];
            targets[n_fds++] = i;
        }
    for (size_t i = 0; i < o->n_extra_fds; i++) {
        if (o->extra_fds[i] < 0)
            return -EBADF;
        fds[n_fds] = o->extra_fds[i];
        targets[n_fds++] = (int32_t)(3 + i);
    }

    struct podns_request_header h = {
        .magic = PODNS_MAGIC,
        .version = PODNS_VERSION,
        .op = PODNS_OP_SPAWN,
        .flags = PODNS_SPAWN_WAIT | (o->new_session ? PODNS_SPAWN_NEW_SESSION : 0),
        .n_fds = (uint32_t)n_fds,
        .argc = (uint32_t)count_strings(o->argv),
        .envc = (uint32_t)count_strings(envp),
    };
    struct request_builder b = {0};
    int r = builder_put(&b, &h, sizeof(h));
    if (r == 0)
        r = builder_put(&b, targets, sizeof(int32_t) * n_fds);
    if (r == 0)
        r = builder_put_string(&b, cwd);
    for (size_t i = 0; r == 0 && o->argv[i]; i++)
        r = builder_put_string(&b, o->argv[i]);
    for (size_t i = 0; r == 0 && envp[i]; i++)
        r = builder_put_string(&b, envp[i]);
    _cleanup_free_ char *request = b.buf;
    if (r < 0)
        return r;

    _cleanup_close_ int conn = connect_holder(dir, id);
    if (conn < 0)
        return conn;
    r = send_with_fds(conn, request, b.len, fds, n_fds);
    if (r < 0)
        return r;
    struct podns_reply reply;
    r = recv_reply(conn, &reply, NULL, 0, NULL);
    if (r < 0)
        return r;
    if (reply.kind != PODNS_REPLY_STARTED || reply.pid <= 0)
        return -EBADMSG;
    if (ret_pid)
        *ret_pid = reply.pid;
    if (ret_handle)
        *ret_handle = TAKE_FD(conn);
    return 0;
}

int podns_wait(int handle, int *ret_status)
{
    struct podns_reply reply;
    int r = recv_reply(handle, &reply, NULL, 0, NULL);
    if (r < 0)
        return r;
    if (reply.kind != PODNS_REPLY_EXITED)
        return -EBADMSG;
    if (ret_status)
        *ret_status = reply.status;
    return 0;
}

int podns_run(const char *dir, const char *id, const struct podns_spawn_options *o, int *ret_status)
{
    _cleanup_close_ int handle = -1;
    pid_t pid;
    int r = podns_spawn(dir, id, o, &pid, &handle);
    if (r < 0)
        return r;
    return podns_wait(handle, ret_status);
}

static int simple_request(const char *dir, const char *id, enum podns_op op, int *ret_conn,
                          struct podns_reply *ret_reply, char *payload, size_t payload_max, int *ret_fd)
{
    _cleanup_close_ int conn = connect_holder(dir, id);
    if (conn < 0)
        return conn;
    struct podns_request_header h = {.magic = PODNS_MAGIC, .version = PODNS_VERSION, .op = (uint16_t)op};
    int r = send_with_fds(conn, &h, sizeof(h), NULL, 0);
    if (r < 0)
        return r;
    r = recv_reply(conn, ret_reply, payload, payload_max, ret_fd);
    if (r < 0)
        return r;
    if (ret_conn)
        *ret_conn = TAKE_FD(conn);
    return 0;
}

int podns_info(const char *dir, const char *id, char **ret_json)
{
    char payload[REPLY_PAYLOAD_MAX];
    struct podns_reply reply;
    int r = simple_request(dir, id, PODNS_OP_INFO, NULL, &reply, payload, sizeof(payload), NULL);
    if (r < 0)
        return r;
    *ret_json = strdup(payload);
    return *ret_json ? 0 : -ENOMEM;
}

int podns_shutdown(const char *dir, const char *id)
{
    struct podns_reply reply;
    int r = simple_request(dir, id, PODNS_OP_SHUTDOWN, NULL, &reply, NULL, 0, NULL);
    if (r == -ENOENT || r == -ECONNREFUSED || r == -EPIPE || r == -ECONNRESET)
        return 0;
    return r;
}

int podns_get_tap(const char *dir, const char *id, int *ret_tap_fd, int *ret_conn)
{
    struct podns_reply reply;
    int fd = -1;
    int r = simple_request(dir, id, PODNS_OP_GET_TAP, ret_conn, &reply, NULL, 0, &fd);
    if (r < 0)
        return r;
    if (fd < 0) {
        if (ret_conn && *ret_conn >= 0) {
            close(*ret_conn);
            *ret_conn = -1;
        }
        return -EBADMSG;
    }
    *ret_tap_fd = fd;
    return 0;
}

/* ---- holder side ---- */

void podns_request_done(struct podns_request *r)
{
    for (size_t i = 0; i < r->n_fds; i++)
        if (r->fds[i] >= 0)
            close(r->fds[i]);
    free(r->argv);
    free(r->envp);
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

/* Splits count NUL-terminated strings off the front of [*p, end) into a NULL-terminated vector. */
static int take_strings(char **p, const char *end, uint32_t count, char ***ret)
{
    if (count > PODNS_MAX_REQUEST / 2)
        return -EBADMSG;
    char **v = calloc((size_t)count + 1, sizeof(char *));
    if (!v)
        return -ENOMEM;
    for (uint32_t i = 0; i < count; i++) {
        char *nul = memchr(*p, '\0', (size_t)(end - *p));
        if (!nul) {
            free(v);
            return -EBADMSG;
        }
        v[i] = *p;
        *p = nul + 1;
    }
    *ret = v;
    return 0;
}

static int parse_spawn(struct podns_request *r, size_t len)
{
    const size_t n = r->h.n_fds;
    char *p = r->buf + sizeof(r->h), *end = r->buf + len;
    if (n != r->n_fds || (size_t)(end - p) < n * sizeof(int32_t))
        return -EBADMSG;
    for (size_t i = 0; i < n; i++) {
        int32_t t;
        memcpy(&t, p + i * sizeof(int32_t), sizeof(t));
        /* targets must be 0-2 or the dense extra range, each at most once */
        if (t < 0 || t >= 3 + PODNS_MAX_EXTRA_FDS)
            return -EBADMSG;
        for (size_t j = 0; j < i; j++)
            if (r->target_fds[j] == t)
                return -EBADMSG;
        r->target_fds[i] = t;
    }
    p += n * sizeof(int32_t);
    char *nul = memchr(p, '\0', (size_t)(end - p));
    if (!nul || nul == p || p[0] != '/')
        return -EBADMSG; /* cwd must be absolute */
    r->cwd = p;
    p = nul + 1;
    if (r->h.argc == 0)
        return -EBADMSG;
    int k = take_strings(&p, end, r->h.argc, &r->argv);
    if (k < 0)
        return k;
    if (r->argv[0][0] == '\0')
        return -EBADMSG;
    k = take_strings(&p, end, r->h.envc, &r->envp);
    if (k < 0)
        return k;
    return p == end ? 0 : -EBADMSG;
}

int podns_request_parse(const void *data, size_t len, const int *fds, size_t n_fds, struct podns_request *ret)
{
    struct podns_request r = {0};
    r.n_fds = n_fds <= ARRAY_SIZE(r.fds) ? n_fds : 0;
    for (size_t i = 0; i < n_fds; i++) {
        if (i < r.n_fds)
            r.fds[i] = fds[i];
        else if (fds[i] >= 0)
            close(fds[i]);
    }
    int e = -EBADMSG;
    if (n_fds > ARRAY_SIZE(r.fds) || len < sizeof(r.h) || len > PODNS_MAX_REQUEST)
        goto fail;
    memcpy(&r.h, data, sizeof(r.h));
    if (r.h.magic != PODNS_MAGIC || r.h.version != PODNS_VERSION)
        goto fail;
    e = -ENOMEM;
    r.buf = malloc(len + 1);
    if (!r.buf)
        goto fail;
    memcpy(r.buf, data, len);
    r.buf[len] = '\0';
    e = -EBADMSG;
    switch (r.h.op) {
    case PODNS_OP_SPAWN:
        e = parse_spawn(&r, len);
        if (e < 0)
            goto fail;
        break;
    case PODNS_OP_GET_TAP:
    case PODNS_OP_INFO:
    case PODNS_OP_SHUTDOWN:
        if (len != sizeof(r.h) || r.n_fds != 0)
            goto fail;
        break;
    default:
        goto fail;
    }
    *ret = r;
    return 0;
fail:
    podns_request_done(&r);
    return e;
}

int podns_request_recv(int conn, struct podns_request *ret)
{
    _cleanup_free_ char *buf = malloc(PODNS_MAX_REQUEST);
    if (!buf)
        return -ENOMEM;
    int fds[3 + PODNS_MAX_EXTRA_FDS];
    size_t n_fds = 0;
    ssize_t n = recv_with_fds(conn, buf, PODNS_MAX_REQUEST, fds, ARRAY_SIZE(fds), &n_fds);
    if (n < 0)
        return (int)n;
    if (n == 0)
        return -ECONNRESET;
    return podns_request_parse(buf, (size_t)n, fds, n_fds, ret);
}

int podns_reply_send(int conn, const struct podns_reply *r, const void *payload, int fd)
{
    struct podns_reply h = *r;
    h.magic = PODNS_MAGIC;
    h.version = PODNS_VERSION;
    if (!payload)
        h.payload_len = 0;
    if (h.payload_len > REPLY_PAYLOAD_MAX)
        return -E2BIG;
    char buf[sizeof(h) + REPLY_PAYLOAD_MAX];
    memcpy(buf, &h, sizeof(h));
    if (h.payload_len)
        memcpy(buf + sizeof(h), payload, h.payload_len);
    return send_with_fds(conn, buf, sizeof(h) + h.payload_len, &fd, fd >= 0 ? 1 : 0);
}
