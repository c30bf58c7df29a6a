#include "tap.h"

#include "log.h"
#include "rtnl.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>

int tap_create(const char *name, uint32_t addr, unsigned prefix_len, int *ret_fd)
{
    if (strlen(name) >= IFNAMSIZ)
        return log_error_errno(-EINVAL, "interface name '%s' is longer than %d characters", name,
                               IFNAMSIZ - 1);
    _cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return log_error_errno(errno, "cannot open /dev/net/tun: %m");
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0)
        return log_error_errno(errno, "cannot create TAP %s: %m", name);
    int idx = rtnl_link_index(name);
    if (idx < 0)
        return log_error_errno(idx, "TAP %s was created but cannot be found: %m", name);
    int r = rtnl_addr_add(idx, addr, prefix_len, 0);
    if (r < 0)
        return log_error_errno(r, "cannot add an address to %s: %m", name);
    /* gVisor's TAPs come up by themselves and refuse flag changes; Linux's start down. */
    r = rtnl_link_set_up(idx);
    if (r < 0 && r != -EOPNOTSUPP)
        return log_error_errno(r, "cannot bring %s up: %m", name);
    *ret_fd = TAKE_FD(fd);
    return 0;
}
