/* The control socket, <dir>/switch.sock (SOCK_SEQPACKET): one JSON request per message, one JSON answer.
 *   {"op":"add","id":ID,"address":"A.B.C.D/LEN","ifname":"eth0","netns":PATH}
 *                                                   -> {"ok":true,"holderPid":N,"socket":PATH}
 *   {"op":"del","id":ID}                                          -> {"ok":true,"existed":BOOL}
 *   {"op":"status","id":ID}                                       -> {"ok":true,"pod":{...}}
 *   {"op":"list"}                                                 -> {"ok":true,"pods":[...],"drops":{...}}
 * Failures answer {"ok":false,"error":"one line"}. kig-cni is the client (strategy-tap.c). */
#include "kswitch.h"

#include "fileutil.h"
#include "log.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define MAX_MESSAGE 65536

int control_listen(struct kswitch *sw)
{
    _cleanup_free_ char *path = path_join(sw->o.dir, "switch.sock");
    if (!path)
        return -ENOMEM;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return log_error_errno(-ENAMETOOLONG, "%s is too long for a socket path", path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return log_error_errno(errno, "socket: %m");
    (void)unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
        int r = log_error_errno(errno, "cannot listen on %s: %m", path);
        close(fd);
        return r;
    }
    chmod(path, 0600);
    return fd;
}

static json_t *error_answer(const char *fmt, ...) _printf_(1, 2);
static json_t *error_answer(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return json_pack("{s:b, s:s}", "ok", false, "error", buf);
}

static json_t *pod_json(struct kswitch *sw, const struct pod *p)
{
    char ip[INET_ADDRSTRLEN], address[INET_ADDRSTRLEN + 4];
    struct in_addr in = {.s_addr = htonl(p->address)};
    inet_ntop(AF_INET, &in, ip, sizeof(ip));
    snprintf(address, sizeof(address), "%s/%u", ip, p->prefix_len);
    struct port *port = &sw->ports[POD_PORT((size_t)(p - sw->pods))];
    pthread_mutex_lock(&sw->nat_lock);
    bool nat = port->nat != NULL;
    pthread_mutex_unlock(&sw->nat_lock);
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:b, s:I, s:I, s:I, s:b}", "id", p->id, "ifname", p->ifname,
                     "netns", p->netns, "address", address, "holderPid", (int)p->holder_pid, "alive",
                     !p->dead, "rxFrames", (json_int_t)(p->dead ? 0 : atomic_load(&port->rx)), "txFrames",
                     (json_int_t)(p->dead ? 0 : atomic_load(&port->tx)), "txErrors",
                     (json_int_t)(p->dead ? 0 : atomic_load(&port->dropped)), "nat", nat);
}

static json_t *op_add(struct kswitch *sw, json_t *req)
{
    const char *id = NULL, *address = NULL, *ifname = "eth0", *netns = "";
    if (json_unpack(req, "{s:s, s:s, s?s, s?s}", "id", &id, "address", &address, "ifname", &ifname, "netns",
                    &netns) < 0)
        return error_answer("add needs \"id\" and \"address\"");
    if (!podns_valid_id(id))
        return error_answer("\"%s\" is not a valid pod id", id);
    if (strlen(ifname) == 0 || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/'))
        return error_answer("\"%s\" is not a valid interface name", ifname);
    struct route4 r;
    const char *slash = strchr(address, '/');
    char ip[32];
    struct in_addr in;
    snprintf(ip, sizeof(ip), "%.*s", slash ? (int)(slash - address) : 0, address);
    if (!slash || route4_parse(address, &r) < 0 || inet_pton(AF_INET, ip, &in) != 1)
        return error_answer("\"%s\" is not an address with a prefix length (A.B.C.D/LEN)", address);
    char err[256] = "";
    if (strlen(netns) >= sizeof(((struct pod *)NULL)->netns))
        return error_answer("netns path is too long");
    int k = pod_add(sw, id, ifname, netns, ntohl(in.s_addr), route4_prefix_len(&r), err, sizeof(err));
    if (k < 0)
        return error_answer("cannot attach pod %s: %s (%s)", id, err[0] ? err : "error", strerror(-k));
    struct pod *p = pod_find(sw, id);
    _cleanup_free_ char *sock = podns_socket_path(sw->o.dir, id);
    return json_pack("{s:b, s:i, s:s?}", "ok", true, "holderPid", p ? (int)p->holder_pid : 0, "socket", sock);
}

static json_t *op_del(struct kswitch *sw, json_t *req)
{
    const char *id = NULL;
    if (json_unpack(req, "{s:s}", "id", &id) < 0 || !podns_valid_id(id))
        return error_answer("del needs a valid \"id\"");
    int k = pod_del(sw, id);
    return json_pack("{s:b, s:b}", "ok", true, "existed", k > 0);
}

static json_t *op_status(struct kswitch *sw, json_t *req)
{
    const char *id = NULL;
    if (json_unpack(req, "{s:s}", "id", &id) < 0)
        return error_answer("status needs \"id\"");
    struct pod *p = pod_find(sw, id);
    if (!p)
        return error_answer("no pod %s on this switch", id);
    return json_pack("{s:b, s:o}", "ok", true, "pod", pod_json(sw, p));
}

static json_t *op_list(struct kswitch *sw)
{
    json_t *pods = json_array(), *drops = json_object();
    for (size_t i = 0; i < SWITCH_MAX_PODS; i++)
        if (sw->pods[i].in_use)
            json_array_append_new(pods, pod_json(sw, &sw->pods[i]));
    for (int r = 1; r < DROP_REASON_MAX; r++)
        json_object_set_new(drops, frame_drop_reason_name(r),
                            json_integer((json_int_t)atomic_load(&sw->drops[r])));
    const struct port *node = &sw->ports[NODE_PORT];
    return json_pack("{s:b, s:o, s:{s:s?, s:I, s:I}, s:b, s:o}", "ok", true, "pods", pods, "node", "ifname",
                     sw->o.node_ifname, "rxFrames", (json_int_t)atomic_load(&node->rx), "txFrames",
                     (json_int_t)atomic_load(&node->tx), "nat", sw->o.nat, "drops", drops);
}

bool control_handle(struct kswitch *sw, int fd)
{
    _cleanup_free_ char *buf = malloc(MAX_MESSAGE);
    if (!buf)
        return true;
    ssize_t n = recv(fd, buf, MAX_MESSAGE, 0);
    if (n <= 0)
        return true;
    json_error_t jerr;
    json_t *req = json_loadb(buf, (size_t)n, 0, &jerr);
    json_t *answer;
    const char *op = req ? json_string_value(json_object_get(req, "op")) : NULL;
    if (!req)
        answer = error_answer("request is not JSON: %s", jerr.text);
    else if (!op)
        answer = error_answer("request has no \"op\"");
    else if (strcmp(op, "add") == 0)
        answer = op_add(sw, req);
    else if (strcmp(op, "del") == 0)
        answer = op_del(sw, req);
    else if (strcmp(op, "status") == 0)
        answer = op_status(sw, req);
    else if (strcmp(op, "list") == 0)
        answer = op_list(sw);
    else
        answer = error_answer("unknown op \"%s\" (add, del, status, list)", op);
    json_decref(req);
    _cleanup_free_ char *s = answer ? json_dumps(answer, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(answer);
    if (!s || send(fd, s, strlen(s), MSG_NOSIGNAL) < 0)
        return true;
    return false;
}
