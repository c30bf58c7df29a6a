#include "netinfo.h"

#include "macro.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

char *netinfo_hostname(void)
{
    char name[256];
    if (gethostname(name, sizeof(name) - 1) < 0)
        return NULL;
    name[sizeof(name) - 1] = '\0';
    if (!name[0] || strcmp(name, "localhost") == 0 || strcmp(name, "(none)") == 0)
        return NULL;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '.'))
            return NULL;
    return strdup(name);
}

static bool address_usable(const struct sockaddr *sa, char *buf, size_t size)
{
    if (sa->sa_family == AF_INET) {
        const struct in_addr *a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        uint32_t host = ntohl(a->s_addr);
        if ((host >> 24) == 127 || (host >> 16) == 0xa9fe || host == 0)
            return false;
        return inet_ntop(AF_INET, a, buf, (socklen_t)size) != NULL;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_UNSPECIFIED(a))
            return false;
        return inet_ntop(AF_INET6, a, buf, (socklen_t)size) != NULL;
    }
    return false;
}

int netinfo_addresses(struct strv *ret)
{
    struct ifaddrs *list;
    if (getifaddrs(&list) < 0)
        return negative_errno();
    int r = 0;
    for (struct ifaddrs *i = list; i && r == 0; i = i->ifa_next) {
        char buf[INET6_ADDRSTRLEN];
        if (i->ifa_addr && !(i->ifa_flags & IFF_LOOPBACK) && address_usable(i->ifa_addr, buf, sizeof(buf)) &&
            !strv_contains(ret, buf))
            r = strv_push(ret, buf);
    }
    freeifaddrs(list);
    return r;
}

int netinfo_advertise_address(char *buf, size_t size)
{
    struct ifaddrs *list;
    snprintf(buf, size, "127.0.0.1");
    if (getifaddrs(&list) < 0)
        return 0; /* loopback is always there */
    for (struct ifaddrs *i = list; i; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !(i->ifa_flags & IFF_LOOPBACK) &&
            (i->ifa_flags & IFF_UP) && address_usable(i->ifa_addr, buf, size))
            break;
    freeifaddrs(list);
    return 0;
}

static int bind_port(const char *address, int port, int *ret_port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, address, &sin.sin_addr) != 1)
        return -EINVAL;
    _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return negative_errno();
    /* Like the servers that will bind it: a port in TIME_WAIT after a restart is free for them too. */
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
        return negative_errno();
    if (ret_port) {
        socklen_t len = sizeof(sin);
        if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
            return negative_errno();
        *ret_port = ntohs(sin.sin_port);
    }
    return 0;
}

/* True when something accepts connections on address:port. Binding alone cannot tell: gVisor lets a
 * SO_REUSEADDR socket bind a port that another socket listens on, and without SO_REUSEADDR Linux refuses
 * a port that merely has connections in TIME_WAIT (every restart of the apiserver leaves some). */
static bool port_accepts(const char *address, int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, address, &sin.sin_addr) != 1)
        return false;
    _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
}

int netinfo_port_probe(const char *address, int port)
{
    if (port_accepts(address, port))
        return -EADDRINUSE;
    return bind_port(address, port, NULL);
}

static bool excluded(const int *exclude, int port)
{
    for (const int *e = exclude; e && *e; e++)
        if (*e == port)
            return true;
    return false;
}

int netinfo_port_pick(const char *address, int preferred, const int *exclude, int *ret)
{
    if (preferred > 0 && !excluded(exclude, preferred) && netinfo_port_probe(address, preferred) == 0) {
        *ret = preferred;
        return 0;
    }
    for (int attempt = 0; attempt < 16; attempt++) {
        int port;
        int r = bind_port(address, 0, &port);
        if (r < 0)
            return r;
        if (!excluded(exclude, port) && !port_accepts(address, port)) {
            *ret = port;
            return 0;
        }
    }
    return -EADDRINUSE;
}
