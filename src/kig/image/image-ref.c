/* Image references: github.com/distribution/reference's grammar and normalization, as containerd 1.6's
 * reference/docker package applies them. See image-ref.h. */
#include "image-ref.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN  128

static int ref_fail(char *why, size_t why_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ref_fail(char *why, size_t why_size, const char *fmt, ...)
{
    if (why && why_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_word(char c)
{
    return is_alnum(c) || c == '_';
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* path-component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
static bool valid_path_component(const char *s, size_t n)
{
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n;) {
        if (is_lower_alnum(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        if (s[i] == '.') {
            j = i + 1;
        } else if (s[i] == '_') {
            j = i + 1;
            if (j < n && s[j] == '_')
                j++;
        } else if (s[i] == '-') {
            while (j < n && s[j] == '-')
                j++;
        } else {
            return false;
        }
        if (j >= n || !is_lower_alnum(s[j]))
            return false;
        i = j;
    }
    return true;
}

/* domain-component: [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool valid_domain_component(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

/* domain: domain-component ('.' domain-component)* (':' [0-9]+)? */
static bool valid_domain(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t host_len = colon ? (size_t)(colon - s) : n;
    if (colon) {
        size_t port_len = n - host_len - 1;
        if (port_len == 0)
            return false;
        for (size_t i = 0; i < port_len; i++)
            if (colon[1 + i] < '0' || colon[1 + i] > '9')
                return false;
    }
    size_t start = 0;
    for (size_t i = 0; i <= host_len; i++) {
        if (i == host_len || s[i] == '.') {
            if (!valid_domain_component(s + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

/* tag: [\w][\w.-]{0,127} */
static bool valid_tag(const char *s, size_t n)
{
    if (n == 0 || n > TAG_MAX_LEN || !is_word(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

/* digest: algorithm ':' hex{32,}, algorithm: [a-z0-9]+ ([+._-][a-z0-9]+)* */
static bool valid_digest(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    if (!colon || colon == s)
        return false;
    size_t alen = (size_t)(colon - s), hlen = n - alen - 1;
    if (!is_lower_alnum(s[0]) || !is_lower_alnum(s[alen - 1]))
        return false;
    for (size_t i = 0; i < alen; i++) {
        bool sep = s[i] == '+' || s[i] == '.' || s[i] == '_' || s[i] == '-';
        if (!is_lower_alnum(s[i]) && !(sep && is_lower_alnum(s[i + 1])))
            return false;
    }
    if (hlen < 32)
        return false;
    for (size_t i = 0; i < hlen; i++)
        if (!is_hex(colon[1 + i]))
            return false;
    if (alen == 6 && memcmp(s, "sha256", 6) == 0 && hlen != 64)
        return false;
    return true;
}

static bool has_upper(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            return true;
    return false;
}

int image_ref_normalize(const char *ref, char *out, size_t out_size, char *why, size_t why_size)
{
    size_t len = strlen(ref);
    if (len == 0)
        return ref_fail(why, why_size, "the name is empty");
    if (len >= IMAGE_REF_MAX)
        return ref_fail(why, why_size, "the name is too long");
    /* A bare 64-character hex string is an image id, not a name (the reference package refuses it). */
    if (len == 64 && strspn(ref, "0123456789abcdef") == 64)
        return ref_fail(why, why_size, "a 64-character hex string is an image id, not a name");

    const char *at = strchr(ref, '@');
    size_t name_end = at ? (size_t)(at - ref) : len;
    const char *digest = at ? at + 1 : NULL;
    if (digest && !valid_digest(digest, len - name_end - 1))
        return ref_fail(why, why_size, "invalid digest '%s' (expected sha256:<64 hex digits>)", digest);

    /* The tag is after the last ':' that follows the last '/'. */
    const char *colon = NULL;
    for (size_t i = 0; i < name_end; i++) {
        if (ref[i] == '/')
            colon = NULL;
        else if (ref[i] == ':')
            colon = ref + i;
    }
    size_t repo_end = colon ? (size_t)(colon - ref) : name_end;
    const char *tag = colon ? colon + 1 : NULL;
    size_t tag_len = colon ? name_end - repo_end - 1 : 0;
    if (tag && !valid_tag(tag, tag_len))
        return ref_fail(why, why_size, "invalid tag '%.*s' (letters, digits, '_', '.', '-'; at most 128)",
                        (int)tag_len, tag);

    /* The domain: a first component with '.' or ':' or that is "localhost"; else docker.io. */
    const char *first_slash = memchr(ref, '/', repo_end);
    const char *domain = "docker.io", *path = ref;
    size_t domain_len = 9, path_len = repo_end;
    if (first_slash) {
        size_t fl = (size_t)(first_slash - ref);
        bool is_domain =
            memchr(ref, '.', fl) || memchr(ref, ':', fl) || (fl == 9 && !memcmp(ref, "localhost", 9));
        if (is_domain) {
            if (!valid_domain(ref, fl))
                return ref_fail(why, why_size, "invalid registry host '%.*s'", (int)fl, ref);
            domain = ref;
            domain_len = fl;
            path = first_slash + 1;
            path_len = repo_end - fl - 1;
        }
    }
    if (domain_len == 15 && !memcmp(domain, "index.docker.io", 15))
        domain = "docker.io", domain_len = 9;
    if (path_len == 0)
        return ref_fail(why, why_size, "the name has no repository");
    if (has_upper(path, path_len))
        return ref_fail(why, why_size, "the repository '%.*s' must be lowercase", (int)path_len, path);
    size_t start = 0;
    for (size_t i = 0; i <= path_len; i++) {
        if (i == path_len || path[i] == '/') {
            if (!valid_path_component(path + start, i - start))
                return ref_fail(
                    why, why_size,
                    "invalid repository '%.*s' (lowercase letters and digits, separated by '.', '_', "
                    "'__' or '-', in '/'-separated parts)",
                    (int)path_len, path);
            start = i + 1;
        }
    }
    bool library = domain_len == 9 && !memcmp(domain, "docker.io", 9) && !memchr(path, '/', path_len);
    if (domain_len + 1 + (library ? 8 : 0) + path_len > NAME_MAX_LEN)
        return ref_fail(why, why_size, "the name is longer than %d characters", NAME_MAX_LEN);

    int n;
    if (digest)
        n = snprintf(out, out_size, "%.*s/%s%.*s@%s", (int)domain_len, domain, library ? "library/" : "",
                     (int)path_len, path, digest);
    else
        n = snprintf(out, out_size, "%.*s/%s%.*s:%.*s", (int)domain_len, domain, library ? "library/" : "",
                     (int)path_len, path, tag ? (int)tag_len : 6, tag ? tag : "latest");
    if (n < 0 || (size_t)n >= out_size)
        return ref_fail(why, why_size, "the name is too long");
    return 0;
}

void image_ref_repository(const char *normalized, char *out, size_t out_size)
{
    size_t end = strcspn(normalized, "@");
    const char *last_slash = NULL;
    for (size_t i = 0; i < end; i++)
        if (normalized[i] == '/')
            last_slash = normalized + i;
    const char *colon = memchr(last_slash ? last_slash : normalized, ':',
                               end - (size_t)((last_slash ? last_slash : normalized) - normalized));
    if (colon)
        end = (size_t)(colon - normalized);
    snprintf(out, out_size, "%.*s", (int)end, normalized);
}

bool image_ref_is_normalized(const char *ref)
{
    char buf[IMAGE_REF_MAX];
    return image_ref_normalize(ref, buf, sizeof(buf), NULL, 0) == 0 && strcmp(buf, ref) == 0;
}

bool image_ref_valid_registry_host(const char *s)
{
    return *s && strlen(s) <= NAME_MAX_LEN && valid_domain(s, strlen(s));
}

bool image_ref_is_full(const char *ref_name)
{
    return strpbrk(ref_name, "/:@") != NULL;
}
