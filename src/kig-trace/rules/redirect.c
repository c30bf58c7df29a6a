/* redirect: path redirection. --redirect FROM=TO makes every path-taking call in the list below that
 * names FROM, or something under it, use TO instead. Typical use: files gVisor lacks and that cannot be
 * created where programs look for them (/proc/sys/kernel/cap_last_cap), served from a tmpfs copy.
 * Matching is lexical on the normalized absolute path (relative paths are resolved against the tracee's
 * cwd or dirfd); symlinks on the way are not followed. The new path is written into the scratch area
 * and only the argument register changes, so the tracee's own string is never touched. */
#include "log.h"
#include "path.h"
#include "rule.h"
#include "scratch.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

struct path_syscall {
    int nr;
    unsigned path_arg;
    int dirfd_arg; /* -1: relative to the cwd */
};

static const struct path_syscall path_syscalls[] = {
    {SYS_open, 0, -1},      {SYS_creat, 0, -1},     {SYS_openat, 1, 0},     {SYS_openat2, 1, 0},
    {SYS_stat, 0, -1},      {SYS_lstat, 0, -1},     {SYS_newfstatat, 1, 0}, {SYS_statx, 1, 0},
    {SYS_access, 0, -1},    {SYS_faccessat, 1, 0},  {SYS_faccessat2, 1, 0}, {SYS_readlink, 0, -1},
    {SYS_readlinkat, 1, 0}, {SYS_statfs, 0, -1},    {SYS_truncate, 0, -1},  {SYS_chdir, 0, -1},
    {SYS_getxattr, 0, -1},  {SYS_lgetxattr, 0, -1}, {SYS_listxattr, 0, -1}, {SYS_llistxattr, 0, -1},
};
#define N_PATH_SYSCALLS (sizeof(path_syscalls) / sizeof(path_syscalls[0]))

static struct rule_syscall redirect_syscalls[N_PATH_SYSCALLS];

/* Normalized, longest FROM first so the most specific redirect wins. */
static struct redirect *redirects;
static size_t n_redirects;

static int by_from_length(const void *a, const void *b)
{
    size_t la = strlen(((const struct redirect *)a)->from), lb = strlen(((const struct redirect *)b)->from);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

static int redirect_init(const struct trace_options *opts)
{
    if (opts->n_redirects == 0)
        return log_error_errno(EINVAL, "the redirect rule needs at least one --redirect FROM=TO");
    redirects = opts->redirects;
    n_redirects = opts->n_redirects;
    for (size_t i = 0; i < n_redirects; i++) {
        struct redirect *rd = &redirects[i];
        char from[PATH_MAX], to[PATH_MAX];
        if (path_normalize(rd->from, from, sizeof(from)) < 0 || path_normalize(rd->to, to, sizeof(to)) < 0)
            return log_error_errno(EINVAL, "--redirect %s=%s: both paths must be absolute", rd->from, rd->to);
        strcpy(rd->from, from);
        strcpy(rd->to, to);
    }
    qsort(redirects, n_redirects, sizeof(*redirects), by_from_length);
    return 0;
}

static const struct path_syscall *find_spec(long nr)
{
    for (size_t i = 0; i < N_PATH_SYSCALLS; i++)
        if (path_syscalls[i].nr == nr)
            return &path_syscalls[i];
    return NULL;
}

static enum trap_action redirect_enter(struct trap *t)
{
    const struct path_syscall *spec = find_spec(t->nr);
    if (!spec)
        return TRAP_PASS;
    char path[PATH_MAX];
    if (trap_read_path(t, spec->path_arg, spec->dirfd_arg, path, sizeof(path)) < 0)
        return TRAP_PASS;
    for (size_t i = 0; i < n_redirects; i++) {
        const char *rest = path_under(path, redirects[i].from);
        if (!rest)
            continue;
        char target[PATH_MAX];
        if (path_replace_prefix(redirects[i].to, rest, target, sizeof(target)) < 0)
            return TRAP_PASS;
        uint64_t addr;
        int r = scratch_put_string(t, target, &addr);
        if (r == -EAGAIN)
            return TRAP_NEED_SCRATCH;
        if (r < 0) {
            log_debug_errno(r, "tid %d: cannot redirect %s: %m", (int)t->tid, path);
            return TRAP_PASS;
        }
        log_debug("tid %d: syscall %ld: %s -> %s", (int)t->tid, t->nr, path, target);
        trap_set_arg(t, spec->path_arg, addr);
        return TRAP_FOLLOW;
    }
    return TRAP_PASS;
}

/* Built at load time from path_syscalls so the two lists cannot drift apart. */
__attribute__((constructor)) static void build_syscall_list(void)
{
    for (size_t i = 0; i < N_PATH_SYSCALLS; i++)
        redirect_syscalls[i].nr = path_syscalls[i].nr;
}

const struct rule rule_redirect = {
    .id = RULE_REDIRECT,
    .name = "redirect",
    .summary = "paths under --redirect FROM are served from TO (open, stat, access, readlink, statfs...)",
    .syscalls = redirect_syscalls,
    .n_syscalls = N_PATH_SYSCALLS,
    .init = redirect_init,
    .enter = redirect_enter,
};
