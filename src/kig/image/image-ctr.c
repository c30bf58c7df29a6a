/* Running ctr and reading its output back; see image-ctr.h. */
#include "image-ctr.h"

#include "macro.h"
#include "spawn.h"

#include <string.h>
#include <sys/wait.h>

/* An import streams the whole archive and unpacks it: large images on a loaded sandbox take minutes. */
#define IMPORT_TIMEOUT_MS (30 * 60 * 1000)
#define LIST_TIMEOUT_MS   (60 * 1000)

/* ctr's last non-empty stderr line, without "ctr: ". */
static void last_error_line(const char *err, char *why, size_t why_size)
{
    const char *last = NULL;
    size_t last_len = 0;
    for (const char *p = err ? err : ""; *p;) {
        size_t len = strcspn(p, "\n");
        size_t trimmed = len;
        while (trimmed > 0 && (p[trimmed - 1] == '\r' || p[trimmed - 1] == ' '))
            trimmed--;
        if (trimmed > 0) {
            last = p;
            last_len = trimmed;
        }
        p += len;
        if (*p)
            p++;
    }
    if (!last) {
        snprintf(why, why_size, "ctr failed without a message");
        return;
    }
    if (last_len > 5 && strncmp(last, "ctr: ", 5) == 0)
        last += 5, last_len -= 5;
    snprintf(why, why_size, "%.*s", (int)last_len, last);
}

static int run_ctr(const char *const *argv, int timeout_ms, char **ret_out, char *why, size_t why_size)
{
    _cleanup_free_ char *out = NULL, *err = NULL;
    int status = 0;
    int r = run_capture(argv, &out, &err, timeout_ms, &status);
    if (r == -ETIMEDOUT) {
        snprintf(why, why_size, "ctr did not finish within %d minutes", timeout_ms / 60000);
        return -ETIMEDOUT;
    }
    if (r < 0) {
        snprintf(why, why_size, "cannot run %s: %s", argv[0], strerror(-r));
        return r;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        last_error_line(err, why, why_size);
        return -EIO;
    }
    *ret_out = TAKE_PTR(out);
    if (!*ret_out && !(*ret_out = strdup("")))
        return -ENOMEM;
    return 0;
}

int image_ctr_import(const struct image_node *n, const struct image_import *imp, char **ret_out, char *why,
                     size_t why_size)
{
    const char *argv[16];
    size_t i = 0;
    argv[i++] = n->ctr;
    argv[i++] = "--address";
    argv[i++] = n->socket;
    argv[i++] = "--namespace";
    argv[i++] = KIG_IMAGE_NAMESPACE;
    argv[i++] = "images";
    argv[i++] = "import";
    if (n->snapshotter[0]) {
        argv[i++] = "--snapshotter";
        argv[i++] = n->snapshotter;
    }
    if (imp->index_name) {
        argv[i++] = "--index-name";
        argv[i++] = imp->index_name;
    }
    if (imp->base_name) {
        argv[i++] = "--base-name";
        argv[i++] = imp->base_name;
    }
    argv[i++] = imp->file;
    argv[i] = NULL;
    return run_ctr(argv, IMPORT_TIMEOUT_MS, ret_out, why, why_size);
}

int image_ctr_list(const struct image_node *n, char **ret_out, char *why, size_t why_size)
{
    const char *argv[] = {n->ctr,   "--address", n->socket, "--namespace", KIG_IMAGE_NAMESPACE,
                          "images", "ls",        NULL};
    return run_ctr(argv, LIST_TIMEOUT_MS, ret_out, why, why_size);
}

size_t image_ctr_parse_import(const char *out,
                              void (*fn)(const char *name, const char *digest, void *userdata),
                              void *userdata)
{
    size_t count = 0;
    /* "unpacking NAME (DIGEST)...done": ctr prints "unpacking" and "done" around the unpack, so the pair may
     * be split by other output; the name and digest are on the "unpacking" line. */
    for (const char *p = strstr(out, "unpacking "); p; p = strstr(p, "unpacking ")) {
        if (p != out && p[-1] != '\n') {
            p += 10;
            continue;
        }
        p += 10;
        size_t line_len = strcspn(p, "\n");
        const char *open = NULL;
        for (size_t k = 0; k < line_len; k++)
            if (p[k] == ' ' && p[k + 1] == '(')
                open = p + k;
        if (!open)
            continue;
        const char *close = memchr(open, ')', line_len - (size_t)(open - p));
        if (!close)
            continue;
        char name[512], digest[128];
        snprintf(name, sizeof(name), "%.*s", (int)(open - p), p);
        snprintf(digest, sizeof(digest), "%.*s", (int)(close - open - 2), open + 2);
        if (fn)
            fn(name, digest, userdata);
        count++;
    }
    return count;
}

/* The next white-space separated field of a line. */
static const char *next_field(const char *p, const char *end, char *out, size_t out_size)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    const char *s = p;
    while (p < end && *p != ' ' && *p != '\t')
        p++;
    snprintf(out, out_size, "%.*s", (int)(p - s), s);
    return p;
}

int image_ctr_parse_list(const char *out, struct image_ctr_row **ret, size_t *ret_n)
{
    struct image_ctr_row *rows = NULL;
    size_t n = 0;
    bool header = true;
    for (const char *line = out; line && *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        if (header) {
            header = false; /* REF TYPE DIGEST SIZE PLATFORMS LABELS */
        } else if (end > line) {
            struct image_ctr_row row = {0};
            char type[256], num[24], unit[16];
            const char *p = next_field(line, end, row.ref, sizeof(row.ref));
            p = next_field(p, end, type, sizeof(type));
            p = next_field(p, end, row.digest, sizeof(row.digest));
            p = next_field(p, end, num, sizeof(num));
            p = next_field(p, end, unit, sizeof(unit));
            next_field(p, end, row.platforms, sizeof(row.platforms));
            if (row.ref[0] && row.digest[0]) {
                snprintf(row.size, sizeof(row.size), "%s%s%s", num, unit[0] ? " " : "", unit);
                struct image_ctr_row *grown = realloc(rows, (n + 1) * sizeof(*rows));
                if (!grown) {
                    free(rows);
                    return -ENOMEM;
                }
                rows = grown;
                rows[n++] = row;
            }
        }
        line = *end ? end + 1 : NULL;
    }
    *ret = rows;
    *ret_n = n;
    return 0;
}

bool image_ctr_ref_is_internal(const char *ref)
{
    return strncmp(ref, "sha256:", 7) == 0 || strstr(ref, "@sha256:") != NULL;
}
