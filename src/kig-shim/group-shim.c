#include "group-shim.h"

#include "fileutil.h"
#include "macro.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define UNIX_SCHEME "unix://"

int group_shim_sockaddr(const char *address, struct sockaddr_un *ret)
{
    if (strncmp(address, UNIX_SCHEME, strlen(UNIX_SCHEME)) != 0)
        return -EINVAL;
    const char *path = address + strlen(UNIX_SCHEME);
    if (strlen(path) >= sizeof(ret->sun_path))
        return -ENAMETOOLONG;
    *ret = (struct sockaddr_un){.sun_family = AF_UNIX};
    memcpy(ret->sun_path, path, strlen(path) + 1);
    return 0;
}

bool group_shim_listening(const char *address)
{
    struct sockaddr_un sa;
    if (group_shim_sockaddr(address, &sa) < 0)
        return false;
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
