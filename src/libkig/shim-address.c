#include "shim-address.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

int shim_socket_address(const char *containerd_address, const char *ns, const char *group, char *buf,
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
    n = snprintf(buf, size, "unix://" SHIM_SOCKET_DIR "/%s", hex);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
