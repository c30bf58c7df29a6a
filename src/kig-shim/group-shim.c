#include "group-shim.h"

#include "fileutil.h"
#include "macro.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define UNIX_SCHEME "unix://"

/* An absolute path that Go's filepath.Clean leaves as it is: no empty, "." or ".." element, no trailing
 * slash. */
static bool clean_absolute_path(const char *p)
{
    if (p[0] != '/' || p[1] == '\0')
        return false;
    for (const char *e = p + 1;;) {
        const char *slash = strchr(e, '/');
        size_t n = slash ? (size_t)(slash - e) : strlen(e);
        if (n == 0 || (n == 1 && e[0] == '.') || (n == 2 && e[0] == '.' && e[1] == '.'))
            return false;
        if (!slash)
            return true;
        e = slash + 1;
    }
}

static bool path_element(const char *s)
{
    return s[0] && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int group_shim_address(const char *containerd_address, const char *ns, const char *group, char *buf,
                       size_t size)
{
    if (!clean_absolute_path(containerd_address) || !path_element(ns) || !path_element(group))
        return -EINVAL;
    char joined[4096];
    int n = snprintf(joined, sizeof(joined), "%s/%s/%s", containerd_address, ns, group);
    if (n < 0 || (size_t)n >= sizeof(joined))
        return -ENAMETOOLONG;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (EVP_Digest(joined, (size_t)n, digest, &digest_len, EVP_sha256(), NULL) != 1)
        return -EIO;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned int i = 0; i < digest_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    n = snprintf(buf, size, UNIX_SCHEME SHIM_SOCKET_DIR "/%s", hex);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

bool group_shim_listening(const char *address)
{
    if (strncmp(address, UNIX_SCHEME, strlen(UNIX_SCHEME)) != 0)
        return false;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *path = address + strlen(UNIX_SCHEME);
    if (strlen(path) >= sizeof(sa.sun_path))
        return false;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* A listening unix socket accepts a connect at once (or EAGAIN with a full backlog, which the real shim's
     * 100 ms dial would mostly see too): no timeout needed, and a refusal is as clear as an answer. */
    return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

int group_shim_write_address(const char *path, const char *address)
{
    char tmp[4096];
    if (strchr(path, '/') || snprintf(tmp, sizeof(tmp), ".%s", path) >= (int)sizeof(tmp))
        return -EINVAL;
    _cleanup_close_ int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_SYNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return -errno;
    int r = write_all(fd, address, strlen(address));
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    return rename(tmp, path) < 0 ? -errno : 0;
}
