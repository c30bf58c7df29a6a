/* Running processes inside a pod's network namespace where setns(2) is missing (gVisor before mid-2023).
 *
 * A network namespace can only be entered by being born in it, so every pod has a "netns holder": a small
 * process that kig-switch starts on CNI ADD, which unshares a new network namespace, creates the pod's TAP,
 * and then forks and execs, on request, any command INSIDE that namespace. The commands are children of
 * the holder, not of the caller: the caller gets their pid and, if it asks, their exit status.
 *
 * Callers: kig's runtime path (the runc-v2 shim wrapper or kig-runtime, see docs/networking.md) runs
 * through the holder of the pod whose sandbox id is the OCI annotation io.kubernetes.cri.sandbox-id (for
 * the sandbox container itself: its own container id). kig-cni uses podns_shutdown() on DEL.
 *
 * Contract:
 * - The holder of pod ID listens on <dir>/pods/<ID>.sock (SOCK_SEQPACKET). dir defaults to
 *   PODNS_DEFAULT_DIR; a NULL dir means the default everywhere below.
 * - Every function returns 0 or a negative errno and never logs; -ENOENT/-ECONNREFUSED mean "no holder
 *   for this pod" (not created, deleted, or died), -EINVAL a malformed id or request, -E2BIG a request
 *   over PODNS_MAX_REQUEST bytes.
 * - The spawned process gets exactly: argv, envp (NULL: the caller's environ), cwd (NULL: the caller's
 *   current directory), the given stdio fds (a negative fd means /dev/null) and extra fds numbered 3, 4, ...
 *   in order, default signal dispositions, an empty signal mask, and the holder's network namespace. Every
 *   other attribute (uid, cgroup, mount table, rlimits) is the holder's, i.e. kig-switch's.
 * - The caller's fds are duplicated into the child: the caller keeps and closes its own copies.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PODNS_DEFAULT_DIR   "/run/kig/switch"
#define PODNS_MAX_ID        128
#define PODNS_MAX_REQUEST   (256 * 1024)
#define PODNS_MAX_EXTRA_FDS 8

struct podns_spawn_options {
    const char *const *argv; /* argv[0] without a slash is looked up in envp's PATH (or a default PATH) */
    const char *const *envp; /* NULL: the caller's environ */
    const char *cwd;         /* NULL: the caller's current directory */
    int stdin_fd;            /* negative: /dev/null */
    int stdout_fd;
    int stderr_fd;
    const int *extra_fds; /* become fds 3, 4, ... in the child */
    size_t n_extra_fds;
    bool new_session; /* setsid() in the child */
};

/* True when id can name a pod: 1..PODNS_MAX_ID characters of [A-Za-z0-9_.-], not starting with '.'. */
bool podns_valid_id(const char *id);

/* <dir>/pods/<id>.sock, newly allocated; NULL on ENOMEM. When that is too long for a socket address and
 * id is longer than 16 characters: <dir>/pods/<id's first 12 characters>-<16 hex digits of its hash>.sock. */
char *podns_socket_path(const char *dir, const char *id);

/* Starts a process in the pod's network namespace. On success *ret_pid is its pid (in the caller's pid
 * namespace) and *ret_handle an fd to pass to podns_wait() for its exit status; close the handle to stop
 * caring (the holder still reaps the process). ret_handle may be NULL. An exec failure (e.g. -ENOENT for a
 * missing program) is returned as the error, with no process left behind. */
int podns_spawn(const char *dir, const char *id, const struct podns_spawn_options *o, pid_t *ret_pid,
                int *ret_handle);

/* Blocks until the process behind handle exits; *ret_status is its wait status (WIFEXITED etc.).
 * -EPIPE if the holder died before the process did. Does not close the handle. */
int podns_wait(int handle, int *ret_status);

/* podns_spawn + podns_wait: runs a command to completion in the pod's namespace. */
int podns_run(const char *dir, const char *id, const struct podns_spawn_options *o, int *ret_status);

/* The holder's description of itself, a JSON object: {"id","pid","ifname","address"}; caller frees. */
int podns_info(const char *dir, const char *id, char **ret_json);

/* Asks the holder to exit. Its network namespace lives on while processes started in it run, but its TAP
 * goes away with the holder and the switch. Returns 0 if there was no holder (idempotent). */
int podns_shutdown(const char *dir, const char *id);

/* A duplicate of the pod's TAP fd (kig-switch uses it to re-attach pods after a restart). When
 * ret_conn is not NULL it receives the open connection, which reports EOF when the holder dies. */
int podns_get_tap(const char *dir, const char *id, int *ret_tap_fd, int *ret_conn);

/* ---- Wire protocol (shared by the holder in kig-switch and this client) ----
 * One request per SOCK_SEQPACKET message: a podns_request_header, then for SPAWN: n_fds int32 target fd
 * numbers, then NUL-terminated strings: cwd, argc argv strings, envc environment strings. The fds travel as
 * SCM_RIGHTS in the same message, in target order. Answers are podns_reply messages (a GET_TAP answer
 * carries the TAP fd; an INFO answer carries JSON after the header). A SPAWN answer is PODNS_REPLY_STARTED
 * (or an error); with PODNS_SPAWN_WAIT a PODNS_REPLY_EXITED follows when the process exits. */
#define PODNS_MAGIC   0x534e504bu /* "KPNS" */
#define PODNS_VERSION 1

enum podns_op {
    PODNS_OP_SPAWN = 1,
    PODNS_OP_GET_TAP = 2,
    PODNS_OP_INFO = 3,
    PODNS_OP_SHUTDOWN = 4,
};

enum podns_spawn_flags {
    PODNS_SPAWN_WAIT = 1u << 0,
    PODNS_SPAWN_NEW_SESSION = 1u << 1,
};

enum podns_reply_kind {
    PODNS_REPLY_OK = 1,
    PODNS_REPLY_STARTED = 2,
    PODNS_REPLY_EXITED = 3,
    PODNS_REPLY_ERROR = 4,
};

struct podns_request_header {
    uint32_t magic;
    uint16_t version;
    uint16_t op;
    uint32_t flags;
    uint32_t n_fds;
    uint32_t argc;
    uint32_t envc;
};

struct podns_reply {
    uint32_t magic;
    uint16_t version;
    uint16_t kind;
    int32_t error; /* 0 or -errno */
    int32_t pid;
    int32_t status; /* wait status, for PODNS_REPLY_EXITED */
    uint32_t payload_len;
};

/* A decoded request, as the holder sees it. Strings point into buf. */
struct podns_request {
    struct podns_request_header h;
    int fds[3 + PODNS_MAX_EXTRA_FDS];
    int target_fds[3 + PODNS_MAX_EXTRA_FDS];
    size_t n_fds;
    const char *cwd;
    char **argv; /* NULL-terminated */
    char **envp; /* NULL-terminated */
    char *buf;
};

/* Receives and validates one request from conn (fds arrive close-on-exec). -ECONNRESET on EOF, -EBADMSG
 * on a malformed message (any fds that came with it are closed). */
int podns_request_recv(int conn, struct podns_request *ret);
void podns_request_done(struct podns_request *r);

/* Decodes a request already received into data (fds are taken over); used by podns_request_recv and the
 * fuzzer. */
int podns_request_parse(const void *data, size_t len, const int *fds, size_t n_fds,
                        struct podns_request *ret);

/* Sends a reply with an optional payload and an optional fd (-1: none). */
int podns_reply_send(int conn, const struct podns_reply *r, const void *payload, int fd);
