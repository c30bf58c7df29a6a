/* kig-du: the nice(1) and find(1) kubelet finds first in its PATH (<node>/kubelet-path/nice and
 * <node>/kubelet-path/find, docs/pods.md).
 *
 * kubelet v1.20 measures every container's log directory every 10 s and every pod volume every minute by
 * running `nice -n 19 du -x -s -B 1 PATH` and `find PATH -xdev -printf .` (du-args.h): three program starts
 * per measurement. Inside gVisor a program start costs tens of milliseconds of CPU, and an idle node of
 * 20 pods spent about a fifth of its CPU in them. kig-du answers exactly those two command lines itself,
 * with GNU du's and GNU find's output (disk-usage.h), in one short start of a program that needs nothing
 * but libc. Any other command line, and any walk that meets an error, goes to the real program found in
 * PATH after kig-du's own links, so what kubelet reads is always what GNU's programs would have written. */
#include "disk-usage.h"
#include "du-args.h"
#include "macro.h"

#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

/* This program's file, to skip its own links in PATH: /proc/self/exe, or without /proc the file execve was
 * given. */
static bool self_stat(struct stat *st)
{
    if (stat("/proc/self/exe", st) == 0)
        return true;
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    return execfn && stat(execfn, st) == 0;
}

/* Runs NAME from PATH (as execvp would, default "/bin:/usr/bin"), skipping every candidate that is this
 * program. Returns only when none could be run: *ret_tried is the last candidate that failed to run (and
 * errno its error), NULL when there was none. */
static void exec_real(const char *name, char **argv, char **ret_tried)
{
    struct stat self;
    bool know_self = self_stat(&self);
    const char *path = getenv("PATH");
    _cleanup_free_ char *dirs = strdup(path ? path : "/bin:/usr/bin");
    *ret_tried = NULL;
    if (!dirs)
        return;
    int saved = 0;
    char *dir = dirs;
    for (char *end; dir; dir = end) {
        end = strchr(dir, ':');
        if (end)
            *end++ = '\0';
        _cleanup_free_ char *candidate = NULL;
        if (asprintf(&candidate, "%s%s%s", dir, *dir ? "/" : "", name) < 0)
            return;
        struct stat st;
        if (stat(candidate, &st) < 0 || !S_ISREG(st.st_mode) || access(candidate, X_OK) < 0)
            continue;
        if (!know_self || (st.st_dev == self.st_dev && st.st_ino == self.st_ino))
            continue; /* kig-du itself (without knowing itself, it trusts no candidate: no exec loop) */
        execv(candidate, argv);
        saved = errno;
        free(*ret_tried);
        *ret_tried = TAKE_PTR(candidate);
    }
    errno = saved;
}

static _noreturn_ void exec_real_or_die(const char *name, char **argv)
{
    _cleanup_free_ char *tried = NULL;
    exec_real(name, argv, &tried);
    if (tried) {
        fprintf(stderr, "kig-du: cannot run %s: %s\n", tried, strerror(errno));
        exit(126);
    }
    fprintf(stderr, "kig-du: no %s in PATH besides kig-du itself (it answers only kubelet's du and find)\n",
            name);
    exit(127);
}

/* What `nice -n 19` does before it runs du: niceness up by 19 (the kernel caps it at 19). GNU nice only
 * warns when it may not (EPERM, EACCES) and exits 125 on any other failure. */
static void lower_priority(void)
{
    errno = 0;
    if (nice(19) != -1 || errno == 0)
        return;
    int err = errno;
    fprintf(stderr, "nice: cannot set niceness: %s\n", strerror(err));
    if (err != EPERM && err != EACCES)
        exit(125);
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* find's output: one '.' per entry, written in chunks of 64 KiB. */
static int write_dots(uint64_t n)
{
    static char dots[65536];
    memset(dots, '.', sizeof(dots));
    while (n > 0) {
        size_t chunk = n < sizeof(dots) ? (size_t)n : sizeof(dots);
        int r = write_all(STDOUT_FILENO, dots, chunk);
        if (r < 0)
            return r;
        n -= chunk;
    }
    return 0;
}

static int write_total(uint64_t bytes, const char *path)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "%" PRIu64 "\t", bytes);
    int r = write_all(STDOUT_FILENO, line, (size_t)n);
    if (r == 0)
        r = write_all(STDOUT_FILENO, path, du_printed_name_length(path));
    return r < 0 ? r : write_all(STDOUT_FILENO, "\n", 1);
}

/* When the walk needs the real program and there is none: the walk again, GNU's messages written here. */
static enum walk_status walk_reporting(enum walk_kind kind, const char *path, const char *program,
                                       struct walk_result *r)
{
    setlocale(LC_ALL, "");
    const struct walk_options report = {
        .report = stderr,
        .program_name = program,
        .utf8_quotes = strcmp(nl_langinfo(CODESET), "UTF-8") == 0,
    };
    return walk_tree(kind, path, &report, r);
}

int main(int argc, char **argv)
{
    const char *name = du_args_program_name(argc > 0 ? argv[0] : NULL);
    const char *path = NULL;
    enum du_command command = du_args_match(argc, argv, &path);
    if (command == DU_COMMAND_OTHER)
        exec_real_or_die(*name ? name : "kig-du", argv);

    enum walk_kind kind = command == DU_COMMAND_DU ? WALK_DU : WALK_FIND;
    const char *program = kind == WALK_DU ? "du" : argv[0]; /* nice runs du as "du" */
    if (kind == WALK_DU)
        lower_priority();
    struct walk_result r;
    enum walk_status status = walk_tree(kind, path, &(struct walk_options){0}, &r);
    if (status == WALK_STOPPED) {
        /* An error: the real program answers, with its messages in the user's language. */
        _cleanup_free_ char *tried = NULL;
        exec_real(name, argv, &tried);
        status = walk_reporting(kind, path, program, &r);
    }
    if (status == WALK_NOMEM) {
        fprintf(stderr, "%s: memory exhausted\n", program);
        return 1;
    }
    int w = 0;
    if (kind == WALK_FIND)
        w = write_dots(r.entries);
    else if (r.root_found)
        w = write_total(r.bytes, path);
    if (w < 0) {
        fprintf(stderr, "%s: write error: %s\n", program, strerror(-w));
        return 1;
    }
    return status == WALK_OK ? 0 : 1;
}
