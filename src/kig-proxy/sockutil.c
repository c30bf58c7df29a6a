/* Socket helpers shared by the TCP and UDP data paths and the DNS server. */
#include "proxy-internal.h"

#include "macro.h"

#include <sys/socket.h>

int socket_nonblock(int domain, int type)
{
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return fd < 0 ? negative_errno() : fd;
}

/* Closes with an RST instead of a FIN: the peer learns at once that the connection failed, rather than
 * reading a clean end of stream. */
void socket_close_reset(int fd)
{
    if (fd < 0)
        return;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}
