/* The tap strategy, for sandboxes without veth or setns (gVisor before 2024): the pod's network namespace
 * is made by a netns holder that kig-switch starts, with a TAP wired to the switch. CNI_NETNS (the
 * namespace containerd prepared) is useless there: gVisor bind-mounts the /proc/PID/ns/net symlink, not
 * the namespace, and nothing could enter it anyway. Containers join the pod's namespace by being started
 * through the holder (podns.h); see docs/networking.md.
 *
 * ADD allocates the address and asks kig-switch to attach the pod; DEL asks it to detach (or, when the
 * switch is down, tells the holder to exit) and frees the address. */
#include "podnet.h"
#include "podns.h"
#include "strategy.h"

#include "macro.h"

#include <jansson.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#define SWITCH_TIMEOUT_S 60
#define MAX_ANSWER       65536

/* Sends one request to kig-switch; *ret_answer is its parsed answer. -ENOENT/-ECONNREFUSED: not running. */
static int switch_request(const char *dir, json_t *request, json_t **ret_answer)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/switch.sock", dir) >= (int)sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return negative_errno();
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return negative_errno();
    struct timeval tv = {.tv_sec = SWITCH_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    _cleanup_free_ char *s = json_dumps(request, JSON_COMPACT);
    if (!s)
        return -ENOMEM;
    if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0)
        return negative_errno();
    _cleanup_free_ char *buf = malloc(MAX_ANSWER);
    if (!buf)
        return -ENOMEM;
    ssize_t n = recv(fd, buf, MAX_ANSWER, 0);
    if (n < 0)
        return errno == EAGAIN ? -ETIMEDOUT : negative_errno();
    if (n == 0)
        return -EPIPE;
    *ret_answer = json_loadb(buf, (size_t)n, 0, NULL);
    return *ret_answer ? 0 : -EBADMSG;
}

static bool answer_ok(json_t *answer)
{
    return json_is_true(json_object_get(answer, "ok"));
}

static const char *answer_error(json_t *answer)
{
    const char *e = json_string_value(json_object_get(answer, "error"));
    return e ? e : "no reason given";
}

static int switch_unreachable(struct cni_error *err, const struct podnet_config *pc, int r)
{
    return cni_set_error(
        err, CNI_ERR_TRY_AGAIN, "kig-switch is not reachable",
        "%s/switch.sock: %s; kig starts kig-switch with the node (kig up), or set \"switchDir\"",
        pc->switch_dir, strerror(-r));
}

static int tap_add(const struct cni_env *env, const struct cni_config *config, char **ret_result,
                   struct cni_error *err)
{
    struct podnet_config pc;
    int r = podnet_config_parse(config, &pc, err);
    if (r < 0)
        return r;
    if (!podns_valid_id(env->container_id))
        return cni_set_error(err, CNI_ERR_INVALID_ENV, "invalid CNI_CONTAINERID",
                             "\"%s\" must be 1-%d characters of [A-Za-z0-9_.-]", env->container_id,
                             PODNS_MAX_ID);
    uint32_t addr;
    r = ipam_allocate(pc.data_dir, &pc.range, env->container_id, env->ifname, &addr);
    if (r == -ENOSPC)
        return cni_set_error(err, CNI_ERR_TRY_AGAIN, "no free pod address",
                             "every address of %s is taken (store %s)", pc.pod_cidr, pc.data_dir);
    if (r < 0)
        return cni_set_error(err, CNI_ERR_IO, "cannot allocate a pod address", "%s: %s", pc.data_dir,
                             strerror(-r));
    char ip[16], address[24];
    snprintf(address, sizeof(address), "%s/%u", ipam_format(addr, ip), pc.pod_prefix_len);
    json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", "add", "id", env->container_id, "address",
                            address, "ifname", env->ifname, "netns", env->netns);
    json_t *answer = NULL;
    r = req ? switch_request(pc.switch_dir, req, &answer) : -ENOMEM;
    json_decref(req);
    if (r < 0 || !answer_ok(answer)) {
        if (r < 0)
            switch_unreachable(err, &pc, r);
        else
            cni_set_error(err, CNI_ERR_INTERNAL, "kig-switch could not attach the pod", "%s",
                          answer_error(answer));
        json_decref(answer);
        (void)ipam_release(pc.data_dir, env->container_id, env->ifname);
        return -EIO;
    }
    json_decref(answer);
    *ret_result = podnet_result(env, config, &pc, addr, pc.pod_prefix_len);
    if (!*ret_result)
        return cni_set_error(err, CNI_ERR_INTERNAL, "out of memory", "while writing the result");
    return 0;
}

static int tap_del(const struct cni_env *env, const struct cni_config *config, struct cni_error *err)
{
    struct podnet_config pc;
    int r = podnet_config_parse(config, &pc, err);
    if (r < 0)
        return r;
    if (!podns_valid_id(env->container_id))
        return 0; /* never attached: nothing to undo */
    json_t *req = json_pack("{s:s, s:s}", "op", "del", "id", env->container_id);
    json_t *answer = NULL;
    r = req ? switch_request(pc.switch_dir, req, &answer) : -ENOMEM;
    json_decref(req);
    if (r == -ENOENT || r == -ECONNREFUSED) {
        /* No switch: the holder may still be there; it exits on request and takes the TAP with it. */
        r = podns_shutdown(pc.switch_dir, env->container_id);
    } else if (r == 0 && !answer_ok(answer)) {
        cni_set_error(err, CNI_ERR_INTERNAL, "kig-switch could not detach the pod", "%s",
                      answer_error(answer));
        json_decref(answer);
        return -EIO;
    }
    json_decref(answer);
    if (r < 0)
        return cni_set_error(err, CNI_ERR_TRY_AGAIN, "cannot detach the pod", "%s", strerror(-r));
    r = ipam_release(pc.data_dir, env->container_id, env->ifname);
    if (r < 0)
        return cni_set_error(err, CNI_ERR_IO, "cannot free the pod address", "%s: %s", pc.data_dir,
                             strerror(-r));
    return 0;
}

static int tap_check(const struct cni_env *env, const struct cni_config *config, struct cni_error *err)
{
    struct podnet_config pc;
    int r = podnet_config_parse(config, &pc, err);
    if (r < 0)
        return r;
    uint32_t addr;
    if (ipam_lookup(pc.data_dir, env->container_id, env->ifname, &addr) < 0)
        return cni_set_error(err, CNI_ERR_UNKNOWN_CONTAINER, "pod has no address",
                             "no address of %s belongs to %s/%s", pc.pod_cidr, env->container_id,
                             env->ifname);
    json_t *req = json_pack("{s:s, s:s}", "op", "status", "id", env->container_id);
    json_t *answer = NULL;
    r = req ? switch_request(pc.switch_dir, req, &answer) : -ENOMEM;
    json_decref(req);
    if (r < 0)
        return switch_unreachable(err, &pc, r);
    bool alive = answer_ok(answer) && json_is_true(json_object_get(json_object_get(answer, "pod"), "alive"));
    if (!alive) {
        cni_set_error(err, CNI_ERR_INTERNAL, "the pod's network is down", "kig-switch: %s",
                      answer_ok(answer) ? "its netns holder died" : answer_error(answer));
        json_decref(answer);
        return -EIO;
    }
    json_decref(answer);
    return 0;
}

const struct cni_strategy cni_strategy_tap = {
    .name = "tap",
    .add = tap_add,
    .del = tap_del,
    .check = tap_check,
};
