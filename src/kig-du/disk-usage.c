#include "disk-usage.h"

#include "macro.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The inodes with st_nlink > 1 seen so far (du counts each once): open addressing, at most half full. */
struct inode_set {
    struct inode_key {
        dev_t dev;
        ino_t ino;
        bool used;
    } * slots;
    size_t n_slots, n_used;
};

static size_t inode_hash(dev_t dev, ino_t ino, size_t mask)
{
    uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4fULL;
    return (size_t)(h ^ (h >> 29)) & mask;
}

static struct inode_key *inode_slot(struct inode_key *slots, size_t n_slots, dev_t dev, ino_t ino)
{
    size_t mask = n_slots - 1;
    for (size_t i = inode_hash(dev, ino, mask);; i = (i + 1) & mask)
        if (!slots[i].used || (slots[i].dev == dev && slots[i].ino == ino))
            return &slots[i];
}

/* 1: added; 0: already there; -ENOMEM. */
static int inode_set_add(struct inode_set *s, dev_t dev, ino_t ino)
{
    if (2 * (s->n_used + 1) > s->n_slots) {
        size_t n = s->n_slots ? 2 * s->n_slots : 64;
        struct inode_key *slots = calloc(n, sizeof(*slots));
        if (!slots)
            return -ENOMEM;
        for (size_t i = 0; i < s->n_slots; i++)
            if (s->slots[i].used)
                *inode_slot(slots, n, s->slots[i].dev, s->slots[i].ino) = s->slots[i];
        free(s->slots);
        s->slots = slots;
        s->n_slots = n;
    }
    struct inode_key *k = inode_slot(s->slots, s->n_slots, dev, ino);
    if (k->used)
        return 0;
    *k = (struct inode_key){dev, ino, true};
    s->n_used++;
    return 1;
}

size_t du_printed_name_length(const char *path)
{
    size_t len = strlen(path);
    if (len > 2 && path[len - 1] == '/')
        while (len > 1 && path[len - 2] == '/')
            len--;
    return len;
}

static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static const char *c_escape(unsigned char c)
{
    switch (c) {
    case '\a':
        return "a";
    case '\b':
        return "b";
    case '\f':
        return "f";
    case '\n':
        return "n";
    case '\r':
        return "r";
    case '\t':
        return "t";
    case '\v':
        return "v";
    default:
        return NULL;
    }
}

static void put_escaped_control(FILE *f, unsigned char c)
{
    const char *e = c_escape(c);
    if (e)
        fprintf(f, "\\%s", e);
    else
        fprintf(f, "\\%03o", c);
}

/* A byte shown escaped: a control character, and outside a UTF-8 locale any byte of a multibyte one. */
static bool shown_escaped(unsigned char c, bool utf8)
{
    return is_control(c) || (!utf8 && c >= 0x80);
}

void quote_shell_escape_always(FILE *f, const char *name, bool utf8)
{
    bool single_quote = false, control = false, double_quote_unsafe = false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        single_quote |= *p == '\'';
        control |= shown_escaped(*p, utf8);
        double_quote_unsafe |= strchr("\"$`\\!", *p) != NULL;
    }
    if (single_quote && !control && !double_quote_unsafe) {
        fprintf(f, "\"%s\"", name); /* "it's": what gnulib falls back to for a single quote alone */
        return;
    }
    fputc('\'', f);
    const unsigned char *p = (const unsigned char *)name;
    while (*p) {
        if (*p == '\'') {
            fputs("'\\''", f);
            p++;
        } else if (shown_escaped(*p, utf8)) {
            fputs("'$'", f);
            for (; *p && shown_escaped(*p, utf8); p++)
                put_escaped_control(f, *p);
            if (!*p) {
                fputc('\'', f); /* 'a'$'\n', not 'a'$'\n''' */
                return;
            }
            fputs("''", f);
        } else {
            fputc(*p++, f);
        }
    }
    fputc('\'', f);
}

void quote_locale(FILE *f, const char *name, bool utf8)
{
    fputs(utf8 ? "\xe2\x80\x98" : "'", f);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", f);
        else if (is_control(*p))
            put_escaped_control(f, *p);
        else if (!utf8 && *p == '\'')
            fputs("\\'", f);
        else if (!utf8 && *p >= 0x80)
            fprintf(f, "\\%03o", *p);
        else
            fputc(*p, f);
    }
    fputs(utf8 ? "\xe2\x80\x99" : "'", f);
}

/* One open directory per level below PATH. */
struct frame {
    DIR *dir;
    dev_t dev;
    ino_t ino;
    size_t path_len; /* of the directory's name in walk.path */
};

struct walk {
    enum walk_kind kind;
    const struct walk_options *o;
    struct walk_result *r;
    dev_t root_dev;
    struct inode_set hard_links;
    struct frame *stack;
    size_t depth, n_alloc;
    char *path; /* the directory being read, as GNU names it: PATH, then "/" and each name */
    size_t path_alloc;
    bool failed;
};

static int path_set(struct walk *w, size_t len, const char *name)
{
    /* gnulib fts appends "/NAME" to a directory's path, dropping one trailing slash of it first. */
    if (len > 0 && w->path[len - 1] == '/')
        len--;
    size_t need = len + 1 + strlen(name) + 1;
    if (need > w->path_alloc) {
        char *p = realloc(w->path, need * 2);
        if (!p)
            return -ENOMEM;
        w->path = p;
        w->path_alloc = need * 2;
    }
    w->path[len] = '/';
    strcpy(w->path + len + 1, name);
    return 0;
}

/* GNU's message about the file at w->path: "PROGRAM: cannot access 'PATH': ERROR" and the like. Returns
 * false when the walk must stop instead (no report stream). */
static bool report(struct walk *w, const char *du_what, int err)
{
    if (!w->o->report)
        return false;
    FILE *f = w->o->report;
    w->failed = true;
    fprintf(f, "%s: ", w->o->program_name);
    if (w->kind == WALK_DU) {
        fprintf(f, "%s ", du_what);
        quote_shell_escape_always(f, w->path, w->o->utf8_quotes);
    } else {
        quote_locale(f, w->path, w->o->utf8_quotes);
    }
    fprintf(f, ": %s\n", strerror(err));
    return true;
}

static uint64_t blocks_bytes(const struct stat *st)
{
    return (uint64_t)st->st_blocks * 512;
}

static bool is_ancestor(const struct walk *w, const struct stat *st)
{
    for (size_t i = 0; i < w->depth; i++)
        if (w->stack[i].dev == st->st_dev && w->stack[i].ino == st->st_ino)
            return true;
    return false;
}

/* Opens the directory at w->path (dirfd/name) and pushes it. 1: pushed; 0: could not be read (reported);
 * -1: stop; -ENOMEM. */
static int push_dir(struct walk *w, int at, const char *name, const struct stat *st)
{
    if (w->depth == w->n_alloc) {
        size_t n = w->n_alloc ? 2 * w->n_alloc : 16;
        struct frame *s = realloc(w->stack, n * sizeof(*s));
        if (!s)
            return -ENOMEM;
        w->stack = s;
        w->n_alloc = n;
    }
    int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY | (at == AT_FDCWD ? 0 : O_NOFOLLOW);
    int fd = openat(at, name, flags);
    DIR *dir = fd < 0 ? NULL : fdopendir(fd);
    if (!dir) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        /* du: "cannot read directory", its size still counted; find: the directory was printed. */
        return report(w, "cannot read directory", err) ? 0 : -1;
    }
    w->stack[w->depth++] = (struct frame){dir, st->st_dev, st->st_ino, strlen(w->path)};
    return 1;
}

/* One entry below PATH, NAME in the directory on top of the stack (w->path already names it). */
static int visit_du(struct walk *w, int at, const char *name)
{
    struct stat st;
    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return report(w, "cannot access", errno) ? 0 : -1;
    if (st.st_dev != w->root_dev)
        return 0; /* -x: another file system, its mount point included */
    if (S_ISDIR(st.st_mode)) {
        if (is_ancestor(w, &st))
            return -1; /* a cycle (bind mount): du's cycle rules are not modelled here */
        w->r->bytes += blocks_bytes(&st);
        int r = push_dir(w, at, name, &st);
        return r < 0 ? r : 0;
    }
    if (st.st_nlink > 1) {
        int r = inode_set_add(&w->hard_links, st.st_dev, st.st_ino);
        if (r <= 0)
            return r; /* counted already, or -ENOMEM */
    }
    w->r->bytes += blocks_bytes(&st);
    return 0;
}

static int visit_find(struct walk *w, int at, const char *name, unsigned char type)
{
    w->r->entries++;
    /* find (fts with FTS_NOSTAT) examines only what may be a directory: it needs st_dev for -xdev. */
    if (type != DT_DIR && type != DT_UNKNOWN)
        return 0;
    struct stat st;
    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return report(w, NULL, errno) ? 0 : -1; /* find still prints the name */
    if (st.st_mode == 0)
        return -1; /* find warns "appears to have mode 0000" */
    if (!S_ISDIR(st.st_mode) || st.st_dev != w->root_dev)
        return 0; /* -xdev: a mount point is printed, not descended into */
    if (is_ancestor(w, &st))
        return -1; /* find reports a file system loop */
    int r = push_dir(w, at, name, &st);
    return r < 0 ? r : 0;
}

static int walk_below(struct walk *w)
{
    while (w->depth > 0) {
        struct frame *f = &w->stack[w->depth - 1];
        errno = 0;
        struct dirent *d = readdir(f->dir);
        if (!d) {
            int err = errno;
            if (err != 0) {
                w->path[f->path_len] = '\0';
                if (!report(w, "cannot read directory", err))
                    return -1;
            }
            closedir(f->dir);
            w->depth--;
            continue;
        }
        if (d->d_name[0] == '.' && (d->d_name[1] == '\0' || (d->d_name[1] == '.' && d->d_name[2] == '\0')))
            continue;
        if (path_set(w, f->path_len, d->d_name) < 0)
            return -ENOMEM;
        int fd = dirfd(f->dir);
        int r = w->kind == WALK_DU ? visit_du(w, fd, d->d_name) : visit_find(w, fd, d->d_name, d->d_type);
        if (r < 0)
            return r;
    }
    return 0;
}

enum walk_status walk_tree(enum walk_kind kind, const char *path, const struct walk_options *o,
                           struct walk_result *ret)
{
    *ret = (struct walk_result){0};
    struct walk w = {.kind = kind, .o = o, .r = ret};
    /* Messages name files as GNU's do: du's fts trims PATH's trailing slashes (du_printed_name_length),
     * find's keeps PATH verbatim (FTS_VERBATIM). */
    size_t len = kind == WALK_DU ? du_printed_name_length(path) : strlen(path);
    w.path = malloc(len + 256);
    if (!w.path)
        return WALK_NOMEM;
    w.path_alloc = len + 256;
    memcpy(w.path, path, len);
    w.path[len] = '\0';
    int r = 0;
    struct stat st;
    if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        r = report(&w, "cannot access", errno) ? 0 : -1;
    } else if (kind == WALK_FIND && st.st_mode == 0) {
        r = -1;
    } else {
        ret->root_found = true;
        w.root_dev = st.st_dev;
        ret->bytes = blocks_bytes(&st);
        ret->entries = 1;
        if (S_ISDIR(st.st_mode) && (r = push_dir(&w, AT_FDCWD, path, &st)) >= 0)
            r = walk_below(&w);
    }
    while (w.depth > 0)
        closedir(w.stack[--w.depth].dir);
    free(w.stack);
    free(w.path);
    free(w.hard_links.slots);
    if (r == -ENOMEM)
        return WALK_NOMEM;
    if (r < 0)
        return WALK_STOPPED;
    return w.failed ? WALK_FAILED : WALK_OK;
}
