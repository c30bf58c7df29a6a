/* The node `kig image` loads images into; see image-node.h. */
#include "image-node.h"

#include "cluster-cli.h"
#include "fileutil.h"
#include "identity.h"
#include "log.h"
#include "macro.h"
#include "node-setup.h"
#include "supervisor-ctl.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#define CRI_CONTAINERD_TABLE "[plugins.\"io.containerd.grpc.v1.cri\".containerd]"

int image_node_config_snapshotter(const char *toml, char *out, size_t out_size)
{
    bool in_table = false;
    for (const char *line = toml; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *p = line;
        while (p < line + len && (*p == ' ' || *p == '\t'))
            p++;
        size_t rest = len - (size_t)(p - line);
        if (rest > 0 && *p == '[') {
            size_t tl = strlen(CRI_CONTAINERD_TABLE);
            in_table = rest >= tl && memcmp(p, CRI_CONTAINERD_TABLE, tl) == 0;
            /* nothing but blanks or a comment may follow the header */
            for (const char *q = p + (in_table ? tl : 0); in_table && q < line + len && *q != '#'; q++)
                if (*q != ' ' && *q != '\t' && *q != '\r')
                    in_table = false;
        } else if (in_table && rest > 11 && memcmp(p, "snapshotter", 11) == 0) {
            const char *q = p + 11;
            while (q < line + len && (*q == ' ' || *q == '\t'))
                q++;
            if (q < line + len && *q == '=') {
                q++;
                while (q < line + len && (*q == ' ' || *q == '\t'))
                    q++;
                const char *close =
                    q < line + len && *q == '"' ? memchr(q + 1, '"', (size_t)(line + len - q - 1)) : NULL;
                if (close && (size_t)(close - q - 1) < out_size && close > q + 1) {
                    snprintf(out, out_size, "%.*s", (int)(close - q - 1), q + 1);
                    return 0;
                }
            }
        }
        line = end ? end + 1 : NULL;
    }
    return -ENOENT;
}

/* Whether something accepts connections on the socket: 0, or the connect(2) errno. */
static int socket_answers(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return negative_errno();
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return negative_errno();
    return 0;
}

void image_node_done(struct image_node *n)
{
    data_dir_done(&n->dir);
    free(n->socket);
    free(n->config);
    free(n->ctr);
    *n = (struct image_node){0};
}

int image_node_open(struct image_node *n, const char *data_dir_flag)
{
    *n = (struct image_node){0};
    int r = data_dir_init(&n->dir, data_dir_flag);
    if (r < 0)
        return r;
    struct cluster_identity id;
    r = cluster_cli_load(&n->dir, &id);
    if (r < 0)
        return r;
    if (id.mode == CLUSTER_MODE_CONTROL_PLANE_ONLY)
        return log_error_errno(
            ENOTSUP,
            "the cluster in %s runs without a node (kig up --control-plane-only), so there is "
            "no containerd to load images into; bring up a full cluster in another data dir "
            "with 'kig up --data-dir DIR'",
            n->dir.root);
    _cleanup_(node_setup_done) struct node_setup ns = {0};
    r = node_setup_init(&ns, &n->dir, id.name);
    if (r < 0)
        return log_error_errno(r, "out of memory");
    n->socket = TAKE_PTR(ns.containerd_socket);
    n->config = TAKE_PTR(ns.containerd_config);

    r = supervisor_running(&n->dir, NULL);
    if (r < 0)
        return log_error_errno(r, "cannot tell whether the cluster in %s runs (%m): run kig as root",
                               n->dir.root);
    if (r == 0)
        return log_error_errno(
            ENOTCONN, "the cluster in %s is not running (no containerd): run 'kig up%s%s' first", n->dir.root,
            data_dir_flag ? " --data-dir " : "", data_dir_flag ? data_dir_flag : "");
    r = socket_answers(n->socket);
    if (r == -EACCES || r == -EPERM)
        return log_error_errno(r, "cannot connect to containerd at %s (%m): run kig as root", n->socket);
    if (r < 0)
        return log_error_errno(r,
                               "containerd does not answer at %s (%m): the node is starting or containerd is "
                               "restarting; wait for 'kig up' to finish, and see 'kig status' and 'kig logs "
                               "containerd'",
                               n->socket);

    _cleanup_free_ char *toml = NULL;
    if (read_file(n->config, &toml, NULL, 1 << 20) == 0)
        (void)image_node_config_snapshotter(toml, n->snapshotter, sizeof(n->snapshotter));

    const char *env = getenv("KIG_CTR");
    n->ctr = find_executable(env && *env ? env : "ctr");
    if (!n->ctr)
        return log_error_errno(ENOENT,
                               "containerd's client 'ctr' was not found%s: apt-get install containerd%s",
                               env && *env ? " ($KIG_CTR)" : "", env && *env ? ", or fix $KIG_CTR" : "");
    return 0;
}
