/* The table of contents of a tar archive; see tar-reader.h. The rules follow Go's archive/tar, which is
 * what containerd's importer reads the same file with, so that what kig accepts containerd accepts. */
#include "tar-reader.h"

#include "macro.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

/* Offsets and lengths of the header fields (POSIX.1-1988 ustar). */
#define H_NAME       0
#define H_NAME_LEN   100
#define H_SIZE       124
#define H_SIZE_LEN   12
#define H_CHKSUM     148
#define H_CHKSUM_LEN 8
#define H_TYPE       156
#define H_LINK       157
#define H_LINK_LEN   100
#define H_MAGIC      257
#define H_PREFIX     345
#define H_PREFIX_LEN 155

/* Extended headers (pax records, GNU long names) larger than this are refused rather than read. */
#define META_MAX (1024 * 1024)

static int tar_fail(char *why, size_t why_size, const char *fmt, ...) _printf_(3, 4);
static int tar_fail(char *why, size_t why_size, const char *fmt, ...)
{
    if (why && why_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return -EBADMSG;
}

void tar_path_clean(const char *path, char *out, size_t out_size)
{
    if (!out_size)
        return;
    size_t n = strlen(path);
    if (n == 0) {
        snprintf(out, out_size, ".");
        return;
    }
    /* Go's algorithm: the result is never longer than the input, so a buffer of n + 1 holds it. */
    char *buf = malloc(n + 2);
    if (!buf) {
        snprintf(out, out_size, "%s", path);
        return;
    }
    bool rooted = path[0] == '/';
    size_t r = 0, w = 0, dotdot = 0;
    if (rooted) {
        buf[w++] = '/';
        r = dotdot = 1;
    }
    while (r < n) {
        if (path[r] == '/') {
            r++;
        } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
            r++;
        } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && buf[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0)
                    buf[w++] = '/';
                buf[w++] = '.';
                buf[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0))
                buf[w++] = '/';
            for (; r < n && path[r] != '/'; r++)
                buf[w++] = path[r];
        }
    }
    if (w == 0)
        buf[w++] = '.';
    buf[w] = '\0';
    snprintf(out, out_size, "%s", buf);
    free(buf);
}

/* A NUL-terminated copy of a fixed-size header field. */
static void field_string(const uint8_t *f, size_t len, char *out, size_t out_size)
{
    size_t n = strnlen((const char *)f, len);
    if (n >= out_size)
        n = out_size - 1;
    memcpy(out, f, n);
    out[n] = '\0';
}

/* A numeric field: octal (with leading spaces or NULs, ended by a space or NUL) or, when the top bit of
 * the first byte is set, GNU's big-endian base-256. Negative or overflowing values are refused. */
static int parse_number(const uint8_t *f, size_t len, uint64_t *ret)
{
    if (len == 0)
        return -EINVAL;
    if (f[0] & 0x80) {
        if (f[0] == 0xff)
            return -ERANGE; /* negative */
        uint64_t v = f[0] & 0x7f;
        for (size_t i = 1; i < len; i++) {
            if (v >> 55)
                return -ERANGE;
            v = (v << 8) | f[i];
        }
        if (v > INT64_MAX)
            return -ERANGE;
        *ret = v;
        return 0;
    }
    size_t i = 0;
    while (i < len && (f[i] == ' ' || f[i] == '\0'))
        i++;
    uint64_t v = 0;
    bool digits = false;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v >> 60)
            return -ERANGE;
        v = v * 8 + (uint64_t)(f[i] - '0');
        digits = true;
    }
    for (; i < len; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return -EINVAL;
    if (!digits) {
        *ret = 0;
        return 0;
    }
    if (v > INT64_MAX)
        return -ERANGE;
    *ret = v;
    return 0;
}

static bool block_is_zero(const uint8_t *b)
{
    for (size_t i = 0; i < TAR_BLOCK; i++)
        if (b[i])
            return false;
    return true;
}

/* The stored checksum matches the header's bytes (summed unsigned, or signed as some old tars did), with
 * the checksum field itself counted as spaces. */
static bool checksum_ok(const uint8_t *b)
{
    uint64_t stored;
    if (parse_number(b + H_CHKSUM, H_CHKSUM_LEN, &stored) < 0)
        return false;
    int64_t usum = 0, ssum = 0;
    for (size_t i = 0; i < TAR_BLOCK; i++) {
        uint8_t c = (i >= H_CHKSUM && i < H_CHKSUM + H_CHKSUM_LEN) ? ' ' : b[i];
        usum += c;
        ssum += (int8_t)c;
    }
    return (int64_t)stored == usum || (int64_t)stored == ssum;
}

static int read_full(const struct tar_source *src, uint64_t off, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        int64_t n = src->read_at(src->ctx, off + done, (uint8_t *)buf + done, len - done);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return -ENODATA;
        done += (size_t)n;
    }
    return 0;
}

int tar_read_member(const struct tar_source *src, const struct tar_entry *e, size_t max, char **ret)
{
    if (e->size > max)
        return -EFBIG;
    char *buf = malloc((size_t)e->size + 1);
    if (!buf)
        return -ENOMEM;
    int r = read_full(src, e->data_offset, buf, (size_t)e->size);
    if (r < 0) {
        free(buf);
        return r == -ENODATA ? -EBADMSG : r;
    }
    buf[e->size] = '\0';
    *ret = buf;
    return 0;
}

/* What extended headers said about the next member. */
struct pending {
    bool has_path, has_link, has_size;
    char path[TAR_NAME_MAX];
    char link[TAR_NAME_MAX];
    uint64_t size;
};

static void copy_value(char *out, size_t out_size, const char *v, size_t len)
{
    size_t n = strnlen(v, len);
    if (n >= out_size)
        n = out_size - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

/* pax records: "<length> <key>=<value>\n", the length counting the whole record. */
static int parse_pax(const char *data, size_t len, struct pending *p, char *why, size_t why_size)
{
    size_t pos = 0;
    while (pos < len) {
        size_t i = pos, rec = 0;
        if (data[i] == '\0')
            break; /* NUL padding after the records */
        while (i < len && data[i] >= '0' && data[i] <= '9') {
            rec = rec * 10 + (size_t)(data[i] - '0');
            if (rec > len)
                return tar_fail(why, why_size, "a pax header record is longer than the header");
            i++;
        }
        if (i == pos || i >= len || data[i] != ' ' || rec < i - pos + 3 || rec > len - pos)
            return tar_fail(why, why_size, "a pax header record is malformed");
        const char *kv = data + i + 1, *end = data + pos + rec - 1;
        if (*end != '\n')
            return tar_fail(why, why_size, "a pax header record does not end with a newline");
        const char *eq = memchr(kv, '=', (size_t)(end - kv));
        if (!eq || eq == kv)
            return tar_fail(why, why_size, "a pax header record has no key");
        size_t klen = (size_t)(eq - kv), vlen = (size_t)(end - eq - 1);
        const char *v = eq + 1;
        if (klen == 4 && memcmp(kv, "path", 4) == 0) {
            copy_value(p->path, sizeof(p->path), v, vlen);
            p->has_path = true;
        } else if (klen == 8 && memcmp(kv, "linkpath", 8) == 0) {
            copy_value(p->link, sizeof(p->link), v, vlen);
            p->has_link = true;
        } else if (klen == 4 && memcmp(kv, "size", 4) == 0) {
            uint64_t s = 0;
            if (vlen == 0 || vlen > 19)
                return tar_fail(why, why_size, "a pax size record is invalid");
            for (size_t k = 0; k < vlen; k++) {
                if (v[k] < '0' || v[k] > '9')
                    return tar_fail(why, why_size, "a pax size record is invalid");
                s = s * 10 + (uint64_t)(v[k] - '0');
            }
            if (s > INT64_MAX)
                return tar_fail(why, why_size, "a pax size record is invalid");
            p->size = s;
            p->has_size = true;
        }
        pos += rec;
    }
    return 0;
}

static uint64_t round_block(uint64_t n)
{
    return (n + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

int tar_walk(const struct tar_source *src, tar_visit_fn visit, void *userdata, char *why, size_t why_size)
{
    if (why && why_size)
        why[0] = '\0';
    if (src->size < TAR_BLOCK)
        return tar_fail(why, why_size, "not a tar archive (%" PRIu64 " bytes, less than one tar header)",
                        src->size);

    _cleanup_free_ struct pending *p = calloc(1, sizeof(*p));
    _cleanup_free_ struct tar_entry *e = calloc(1, sizeof(*e));
    if (!p || !e)
        return -ENOMEM;
    uint8_t b[TAR_BLOCK];
    uint64_t off = 0;
    bool first = true;
    for (;;) {
        if (off == src->size)
            return 0; /* no end-of-archive blocks: Go's reader accepts this too */
        if (src->size - off < TAR_BLOCK)
            return tar_fail(why, why_size, "truncated: %" PRIu64 " stray bytes at the end", src->size - off);
        int r = read_full(src, off, b, sizeof(b));
        if (r < 0)
            return r == -ENODATA ? tar_fail(why, why_size, "truncated at byte %" PRIu64, off) : r;
        if (block_is_zero(b)) {
            /* The end: a second zero block, or the end of the file. An archive of nothing (tar -cf x.tar
             * -T /dev/null) is only these. */
            if (src->size - off < 2 * TAR_BLOCK)
                return 0;
            r = read_full(src, off + TAR_BLOCK, b, sizeof(b));
            if (r < 0)
                return r == -ENODATA ? tar_fail(why, why_size, "truncated at byte %" PRIu64, off) : r;
            if (block_is_zero(b))
                return 0;
            return tar_fail(why, why_size, "damaged: a lone empty block at byte %" PRIu64, off);
        }
        if (!checksum_ok(b)) {
            if (first)
                return tar_fail(why, why_size, "not a tar archive (no valid tar header at its start)");
            return tar_fail(why, why_size, "damaged: bad header checksum at byte %" PRIu64, off);
        }
        first = false;

        uint64_t size;
        if (parse_number(b + H_SIZE, H_SIZE_LEN, &size) < 0)
            return tar_fail(why, why_size, "damaged: invalid size field at byte %" PRIu64, off);
        char type = (char)b[H_TYPE];
        if (p->has_size && type != 'x' && type != 'g' && type != 'L' && type != 'K')
            size = p->size;
        if (type == '1' || type == '2' || type == '3' || type == '4' || type == '5' || type == '6')
            size = 0; /* Go: these carry no data whatever the header says */
        uint64_t data = off + TAR_BLOCK;
        if (size > src->size - data)
            return tar_fail(why, why_size,
                            "truncated: a member at byte %" PRIu64 " needs %" PRIu64
                            " bytes more than the file has",
                            off, size - (src->size - data));
        uint64_t next = data + round_block(size);
        if (next > src->size)
            next = src->size; /* the last member's padding may be missing */

        if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
            if (size > META_MAX)
                return tar_fail(why, why_size, "an extended header at byte %" PRIu64 " is too large", off);
            _cleanup_free_ char *meta = malloc((size_t)size + 1);
            if (!meta)
                return -ENOMEM;
            r = read_full(src, data, meta, (size_t)size);
            if (r < 0)
                return r == -ENODATA ? tar_fail(why, why_size, "truncated at byte %" PRIu64, data) : r;
            meta[size] = '\0';
            if (type == 'x') {
                r = parse_pax(meta, (size_t)size, p, why, why_size);
                if (r < 0)
                    return r;
            } else if (type == 'L') {
                copy_value(p->path, sizeof(p->path), meta, (size_t)size);
                p->has_path = true;
            } else if (type == 'K') {
                copy_value(p->link, sizeof(p->link), meta, (size_t)size);
                p->has_link = true;
            } /* 'g': global records do not name members */
            off = next;
            continue;
        }

        memset(e, 0, sizeof(*e));
        if (p->has_path) {
            snprintf(e->name, sizeof(e->name), "%s", p->path);
        } else {
            char name[H_NAME_LEN + 1], prefix[H_PREFIX_LEN + 1];
            field_string(b + H_NAME, H_NAME_LEN, name, sizeof(name));
            /* Only POSIX ustar has a prefix; GNU tar keeps other data there. */
            if (memcmp(b + H_MAGIC, "ustar\0", 6) == 0) {
                field_string(b + H_PREFIX, H_PREFIX_LEN, prefix, sizeof(prefix));
                if (prefix[0])
                    snprintf(e->name, sizeof(e->name), "%s/%s", prefix, name);
                else
                    snprintf(e->name, sizeof(e->name), "%s", name);
            } else {
                snprintf(e->name, sizeof(e->name), "%s", name);
            }
        }
        if (p->has_link)
            snprintf(e->linkname, sizeof(e->linkname), "%s", p->link);
        else
            field_string(b + H_LINK, H_LINK_LEN, e->linkname, sizeof(e->linkname));
        tar_path_clean(e->name, e->clean, sizeof(e->clean));
        switch (type) {
        case '0':
        case '\0':
        case '7':
            e->type = TAR_FILE;
            break;
        case '1':
            e->type = TAR_HARDLINK;
            break;
        case '2':
            e->type = TAR_SYMLINK;
            break;
        case '5':
            e->type = TAR_DIR;
            break;
        default:
            e->type = TAR_OTHER;
        }
        e->size = size;
        e->data_offset = data;
        memset(p, 0, sizeof(*p));
        r = visit(e, userdata);
        if (r != 0)
            return r;
        off = next;
    }
}

static int64_t memory_read_at(void *ctx, uint64_t off, void *buf, size_t len)
{
    const struct tar_memory *m = ctx;
    if (off >= m->size)
        return 0;
    size_t n = m->size - (size_t)off < len ? m->size - (size_t)off : len;
    memcpy(buf, m->data + off, n);
    return (int64_t)n;
}

void tar_source_memory(struct tar_source *src, struct tar_memory *mem, const void *data, size_t size)
{
    mem->data = data;
    mem->size = size;
    *src = (struct tar_source){.read_at = memory_read_at, .ctx = mem, .size = size};
}

static int64_t fd_read_at(void *ctx, uint64_t off, void *buf, size_t len)
{
    int fd = *(int *)ctx;
    for (;;) {
        ssize_t n = pread(fd, buf, len, (off_t)off);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return negative_errno();
    }
}

int tar_source_fd(struct tar_source *src, int *fd)
{
    struct stat st;
    if (fstat(*fd, &st) < 0)
        return negative_errno();
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    if (!S_ISREG(st.st_mode))
        return -EINVAL; /* a pipe cannot be read twice (kig reads the archive, then ctr does) */
    *src = (struct tar_source){.read_at = fd_read_at, .ctx = fd, .size = (uint64_t)st.st_size};
    return 0;
}
