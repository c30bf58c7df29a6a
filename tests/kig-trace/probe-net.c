/* Network probes for kig-trace tests: SIOCSIFFLAGS on lo and SO_RCVTIMEO/SO_SNDTIMEO on a netlink socket. */
#include <errno.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(void)
{
    int rc = 0;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
        printf("SIOCGIFFLAGS: %s\n", strerror(errno));
        return 1;
    }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        printf("SIOCSIFFLAGS: %s\n", strerror(errno)), rc = 1;
    else
        printf("SIOCSIFFLAGS: ok\n");
    close(s);
    int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl < 0) {
        printf("netlink socket: %s\n", strerror(errno));
        return 1;
    }
    struct timeval tv = {.tv_sec = 5};
    const int opts[] = {SO_RCVTIMEO, SO_SNDTIMEO};
    for (int i = 0; i < 2; i++) {
        if (setsockopt(nl, SOL_SOCKET, opts[i], &tv, sizeof(tv)) < 0)
            printf("netlink %s: %s\n", i ? "SO_SNDTIMEO" : "SO_RCVTIMEO", strerror(errno)), rc = 1;
        else
            printf("netlink %s: ok\n", i ? "SO_SNDTIMEO" : "SO_RCVTIMEO");
    }
    close(nl);
    return rc;
}
