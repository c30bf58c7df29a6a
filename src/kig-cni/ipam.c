#include "ipam.h"

#include "fileutil.h"
#include "macro.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>

#define LAST_RESERVED "last_reserved_ip.0"
#define LOCK_FILE     "lock"

const char *ipam_format(uint32_t addr, char *buf)
{
    struct in_addr in = {.s_addr = htonl(addr)};
    return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

static int parse_ip(const char *s, uint32_t *ret)
{
    struct in_addr in;
    if (inet_pton(AF_INET, s, &in) != 1)
        return -EINVAL;
    *ret = ntohl(in.s_addr);
    return 0;
}

int ipam_range_parse(const char *cidr, struct ipam_range *ret)
{
    char ip[INET_ADDRSTRLEN];
    const char *slash = cidr ? strchr(cidr, '/') : NULL;
    if (!slash || (size_t)(slash - cidr) >= sizeof(ip))
        return -EINVAL;
    memcpy(ip, cidr, (size_t)(slash - cidr));
    ip[slash - cidr] = '\0';
    uint32_t addr;
    if (parse_ip(ip, &addr) < 0)
        return -EINVAL;
    char *end;
    errno = 0;
    long len = strtol(slash + 1, &end, 10);
    if (errno || end == slash + 1 || *end || len < 8 || len > 30)
        return -EINVAL;
    uint32_t mask = ~(uint32_t)0 << (32 - len);
    uint32_t network = addr & mask;
    *ret = (struct ipam_range){
        .network = network,
        .prefix_len = (unsigned)len,
        .gateway = network + 1,
        .first = network + 2,
        .last = (network | ~mask) - 1,
    };
    return 0;
}

static int lock_dir(const char *dir)
{
    int r = mkdir_p(dir, 0700);
    if (r < 0)
        return r;
    _cleanup_free_ char *path = path_join(dir, LOCK_FILE);
    if (!path)
        return -ENOMEM;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return negative_errno();
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            r = negative_errno();
            close(fd);
            return r;
        }
    }
    return fd; /* closing it releases the lock */
}

static bool owner_matches(const char *content, const char *id, const char *ifname)
{
    size_t n = strlen(id);
    if (strncmp(content, id, n) != 0 || content[n] != '\n')
        return false;
    const char *rest = content + n + 1;
    size_t m = strlen(ifname);
    return strncmp(rest, ifname, m) == 0 && (rest[m] == '\n' || rest[m] == '\0');
}

/* Calls fn for every allocation file; stops early when fn returns non-zero and passes that on. */
static int for_each_allocation(const char *dir,
                               int (*fn)(const char *dir, const char *name, uint32_t addr, void *userdata),
                               void *userdata)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : negative_errno();
    int r = 0;
    struct dirent *e;
    while (r == 0 && (e = readdir(d))) {
        uint32_t addr;
        if (parse_ip(e->d_name, &addr) == 0)
            r = fn(dir, e->d_name, addr, userdata);
    }
    closedir(d);
    return r;
}

struct owner_query {
    const char *id, *ifname;
    uint32_t addr;
    char name[INET_ADDRSTRLEN];
};

static int match_owner(const char *dir, const char *name, uint32_t addr, void *userdata)
{
    struct owner_query *q = userdata;
    _cleanup_free_ char *path = path_join(dir, name), *content = NULL;
    if (!path)
        return -ENOMEM;
    if (read_file(path, &content, NULL, 4096) < 0)
        return 0;
    if (!owner_matches(content, q->id, q->ifname))
        return 0;
    q->addr = addr;
    ipam_format(addr, q->name); /* the canonical spelling is the file's name (parse_ip accepted it) */
    return 1;
}

static int find_owner(const char *dir, const char *id, const char *ifname, struct owner_query *q)
{
    *q = (struct owner_query){.id = id, .ifname = ifname};
    int r = for_each_allocation(dir, match_owner, q);
    return r < 0 ? r : r == 1 ? 0 : -ENOENT;
}

int ipam_lookup(const char *dir, const char *id, const char *ifname, uint32_t *ret)
{
    _cleanup_close_ int lock = lock_dir(dir);
    if (lock < 0)
        return lock;
    struct owner_query q;
    int r = find_owner(dir, id, ifname, &q);
    if (r == 0)
        *ret = q.addr;
    return r;
}

/* Creates the allocation file for addr unless it exists: 0, -EEXIST, or another error. */
static int reserve(const char *dir, uint32_t addr, const char *id, const char *ifname)
{
    char name[INET_ADDRSTRLEN];
    _cleanup_free_ char *path = path_join(dir, ipam_format(addr, name));
    if (!path)
        return -ENOMEM;
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return negative_errno();
    _cleanup_free_ char *content = NULL;
    if (asprintf(&content, "%s\n%s\n", id, ifname) < 0)
        return -ENOMEM;
    size_t len = strlen(content);
    if (write(fd, content, len) != (ssize_t)len) {
        int r = negative_errno();
        unlink(path);
        return r;
    }
    return 0;
}

int ipam_allocate(const char *dir, const struct ipam_range *rg, const char *id, const char *ifname,
                  uint32_t *ret)
{
    if (strchr(id, '\n') || strchr(ifname, '\n'))
        return -EINVAL;
    _cleanup_close_ int lock = lock_dir(dir);
    if (lock < 0)
        return lock;
    struct owner_query q;
    int r = find_owner(dir, id, ifname, &q);
    if (r == 0) {
        *ret = q.addr;
        return 0;
    }
    if (r != -ENOENT)
        return r;

    /* Round robin from the address after the last one handed out, so a just-freed address is not
     * reused at once (a restarting pod's peers may still hold connections to it). */
    _cleanup_free_ char *cursor_path = path_join(dir, LAST_RESERVED), *cursor = NULL;
    if (!cursor_path)
        return -ENOMEM;
    uint32_t last = rg->last, start;
    if (read_line(cursor_path, &cursor) == 0 && parse_ip(cursor, &last) < 0)
        last = rg->last;
    start = (last >= rg->first && last < rg->last) ? last + 1 : rg->first;
    uint32_t span = rg->last - rg->first + 1;
    for (uint32_t k = 0; k < span; k++) {
        uint32_t a = rg->first + (start - rg->first + k) % span;
        r = reserve(dir, a, id, ifname);
        if (r == -EEXIST)
            continue;
        if (r < 0)
            return r;
        char buf[INET_ADDRSTRLEN];
        ipam_format(a, buf);
        (void)write_file_atomic(cursor_path, buf, strlen(buf), 0600);
        *ret = a;
        return 0;
    }
    return -ENOSPC;
}

int ipam_release(const char *dir, const char *id, const char *ifname)
{
    if (!is_dir(dir))
        return 0;
    _cleanup_close_ int lock = lock_dir(dir);
    if (lock < 0)
        return lock;
    struct owner_query q;
    int r = find_owner(dir, id, ifname, &q);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    _cleanup_free_ char *path = path_join(dir, q.name);
    if (!path)
        return -ENOMEM;
    if (unlink(path) < 0 && errno != ENOENT)
        return negative_errno();
    return 0;
}
