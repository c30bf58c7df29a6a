/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "disk-usage.h"
#include "du-args.h"
#include "macro.h"

#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* The tests fork children that must not return into cmocka on a failure (they would run the remaining
 * tests): there, a failed check ends the child, whose exit status the parent checks. */
static pid_t test_pid;

static void _printf_(1, 2) failed(const char *fmt, ...)
{
    char text[20000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (getpid() != test_pid) {
        fprintf(stderr, "in a child: %s\n", text);
        _exit(97);
    }
    fail_msg("%s", text);
}

#define require(cond)                                                                                        \
    do {                                                                                                     \
        if (!(cond))                                                                                         \
            failed("%s:%d: %s", __FILE__, __LINE__, #cond);                                                  \
    } while (0)

/* What a program wrote and how it ended. */
struct run {
    int status; /* exit code; 128+N for signal N */
    char out[8192], err[8192];
};

static void read_back(int fd, char *buf, size_t size)
{
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, size - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
}

/* Runs ARGV (execvp: "du" and "find" are the real ones in the test's PATH) with LC_ALL=LOCALE and, when
 * PATH_FIRST is set, that directory first in PATH. */
static void run(struct run *r, const char *locale, const char *path_first, char *const *argv)
{
    int out = memfd_create("out", 0), err = memfd_create("err", 0);
    require(out >= 0 && err >= 0);
    pid_t pid = fork();
    require(pid >= 0);
    if (pid == 0) {
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        setenv("LC_ALL", locale, 1);
        if (path_first) {
            char *path = NULL;
            if (asprintf(&path, "%s:%s", path_first, getenv("PATH")) < 0)
                _exit(125);
            setenv("PATH", path, 1);
        }
        execvp(argv[0], argv);
        _exit(126);
    }
    int status;
    require(waitpid(pid, &status, 0) == pid);
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    read_back(out, r->out, sizeof(r->out));
    read_back(err, r->err, sizeof(r->err));
}

/* kig-du's walk as main.c prints it, errors reported (the path taken when there is no real program). */
static void walk(struct run *r, enum walk_kind kind, const char *path, bool utf8)
{
    memset(r->err, 0, sizeof(r->err));
    FILE *err = fmemopen(r->err, sizeof(r->err) - 1, "w");
    require(err != NULL);
    setvbuf(err, NULL, _IONBF, 0);
    struct walk_options o = {
        .report = err, .program_name = kind == WALK_DU ? "du" : "find", .utf8_quotes = utf8};
    struct walk_result res;
    enum walk_status s = walk_tree(kind, path, &o, &res);
    fclose(err);
    require(s != WALK_STOPPED && s != WALK_NOMEM);
    r->status = s == WALK_OK ? 0 : 1;
    r->out[0] = '\0';
    if (kind == WALK_FIND) {
        require(res.entries < sizeof(r->out));
        memset(r->out, '.', res.entries);
        r->out[res.entries] = '\0';
    } else if (res.root_found) {
        snprintf(r->out, sizeof(r->out), "%" PRIu64 "\t%.*s\n", res.bytes, (int)du_printed_name_length(path),
                 path);
    }
}

static void assert_same_run(const struct run *want, const struct run *got, const char *what)
{
    if (strcmp(want->out, got->out) != 0 || strcmp(want->err, got->err) != 0 || want->status != got->status)
        failed("%s: GNU wrote [%s] [%s] exit %d; kig-du [%s] [%s] exit %d", what, want->out, want->err,
               want->status, got->out, got->err, got->status);
}

static char base[] = "/tmp/test-kig-du.XXXXXX";
static char links[256]; /* nice and find -> kig-du */

static char *at(const char *rel)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof(paths[0]), "%s/%s", base, rel);
    return p;
}

static void write_file(const char *rel, size_t size)
{
    int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    require(fd >= 0);
    char buf[65536];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (char)(i * 7);
    for (size_t left = size; left > 0;) {
        size_t n = left < sizeof(buf) ? left : sizeof(buf);
        require(write(fd, buf, n) == (ssize_t)n);
        left -= n;
    }
    close(fd);
}

static void sh(const char *command)
{
    char *c = NULL;
    assert_true(asprintf(&c, "cd %s && %s", base, command) > 0);
    assert_int_equal(system(c), 0);
    free(c);
}

/* tree/: nested directories, an empty one, a sparse file, several MB, hard links within the tree and to a
 * file outside it, symlinks to a directory, to a file and to nothing, a FIFO. */
static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(base))
        return -1;
    chmod(base, 0755);
    snprintf(links, sizeof(links), "%s/links", base);
    const char *kig_du = getenv("KIG_DU");
    if (!kig_du || mkdir(links, 0755) < 0)
        return -1;
    char nice[300], find[300];
    snprintf(nice, sizeof(nice), "%s/nice", links);
    snprintf(find, sizeof(find), "%s/find", links);
    if (symlink(kig_du, nice) < 0 || symlink(kig_du, find) < 0)
        return -1;
    sh("mkdir -p tree/a/b/c/d tree/empty tree/logs/pod_1/c && chmod 0755 tree");
    write_file("tree/big", 5 * 1024 * 1024 + 123);
    write_file("tree/a/small", 10);
    write_file("tree/a/b/c/d/deep", 70000);
    write_file("tree/logs/pod_1/c/0.log", 300000);
    write_file("outside", 200000);
    sh("truncate -s 20M tree/sparse && printf x | dd of=tree/sparse bs=1 seek=10000000 conv=notrunc "
       "2>/dev/null");
    sh("ln tree/big tree/a/big-again && ln tree/big tree/a/b/big-thrice && ln outside tree/outside-link");
    sh("ln -s ../a tree/logs/to-dir && ln -s big tree/to-file && ln -s nowhere tree/dangling && mkfifo "
       "tree/fifo");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char *c = NULL;
    if (asprintf(&c, "rm -rf %s", base) > 0 && system(c) != 0)
        return -1;
    free(c);
    return 0;
}

/* GNU du and find against kig-du's walk and kig-du run as nice and find, for PATH. */
static void compare_path(const char *path, const char *locale)
{
    char nice[300], find[300];
    snprintf(nice, sizeof(nice), "%s/nice", links);
    snprintf(find, sizeof(find), "%s/find", links);
    bool utf8 = strstr(locale, "UTF-8") != NULL;
    struct run gnu, ours;
    char *du_argv[] = {"du", "-x", "-s", "-B", "1", (char *)path, NULL};
    run(&gnu, locale, NULL, du_argv);
    walk(&ours, WALK_DU, path, utf8);
    assert_same_run(&gnu, &ours, path);
    char *nice_argv[] = {nice, "-n", "19", "du", "-x", "-s", "-B", "1", (char *)path, NULL};
    run(&ours, locale, links, nice_argv);
    assert_same_run(&gnu, &ours, path);

    char *find_argv[] = {"find", (char *)path, "-xdev", "-printf", ".", NULL};
    run(&gnu, locale, NULL, find_argv);
    walk(&ours, WALK_FIND, path, utf8);
    assert_same_run(&gnu, &ours, path);
    find_argv[0] = find;
    run(&ours, locale, links, find_argv);
    /* The real find, run in kig-du's place after an error, names itself by argv[0] as GNU's does. */
    if (gnu.status == 0)
        assert_same_run(&gnu, &ours, path);
    else
        require(ours.status == gnu.status);
}

static void test_tree_matches_gnu(void **state)
{
    (void)state;
    const char *paths[] = {"tree",
                           "tree/",
                           "tree//",
                           "tree/a",
                           "tree/big",
                           "tree/sparse",
                           "tree/empty",
                           "tree/logs",
                           "tree/logs/to-dir",
                           "tree/to-file",
                           "tree/fifo",
                           "tree/dangling",
                           "tree/logs/to-dir/",
                           "tree/a/b/c/d/deep"};
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
        compare_path(at(paths[i]), "C");

    /* Not vacuous: the big file once (three links), the outside file's link, the sparse file's one block. */
    struct walk_result r;
    assert_int_equal(walk_tree(WALK_DU, at("tree"), &(struct walk_options){0}, &r), WALK_OK);
    assert_true(r.bytes > 5 * 1024 * 1024 && r.bytes < 6 * 1024 * 1024);
    assert_int_equal(walk_tree(WALK_FIND, at("tree"), &(struct walk_options){0}, &r), WALK_OK);
    assert_int_equal(r.entries, 21);
}

/* Relative PATHs and "//": names as given (with fts's trailing slash trim). */
static void test_path_spelling(void **state)
{
    (void)state;
    char old[4096];
    assert_non_null(getcwd(old, sizeof(old)));
    assert_int_equal(chdir(base), 0);
    const char *paths[] = {"tree", "./tree/a", "tree///", "tree/a/../a"};
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
        compare_path(paths[i], "C");
    assert_int_equal(chdir(old), 0);
    assert_int_equal(du_printed_name_length("//"), 2);
    assert_int_equal(du_printed_name_length("///"), 1);
    assert_int_equal(du_printed_name_length("a//"), 2);
    assert_int_equal(du_printed_name_length("a/"), 2);
}

/* Missing paths: GNU's messages in the C and UTF-8 locales, names quoted as GNU quotes them. */
static void test_missing_paths(void **state)
{
    (void)state;
    const char *names[] = {"missing",     "missing//",   "a b",   "it's",  "new\nline", "tab\there",
                           "caf\xc3\xa9", "back\\slash", "new\n", "\ttab", "a\"b",      "a$b"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        char path[600];
        snprintf(path, sizeof(path), "%s/%s", base, names[i]);
        compare_path(path, "C");
        compare_path(path, "C.UTF-8");
    }
}

/* Unreadable directories, as a user that may not read them: GNU du counts their size and exits 1, find
 * prints them and exits 1. */
static void test_unreadable_directories(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    sh("mkdir -p perm/locked/sub perm/open && touch perm/locked/f perm/open/g && chmod -R a+rX perm && "
       "chmod 0300 perm/locked");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
            setresuid(65534, 65534, 65534) < 0)
            _exit(2);
        compare_path(at("perm"), "C");
        compare_path(at("perm"), "C.UTF-8");
        compare_path(at("perm/locked"), "C");
        compare_path(at("perm//"), "C"); /* du names what is below "perm/", find "perm//" */
        compare_path(at("perm///"), "C.UTF-8");
        _exit(0);
    }
    int status;
    assert_true(waitpid(pid, &status, 0) == pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A file system mounted below PATH (root only, in a mount namespace of its own): du leaves the mount point
 * and all below it out, find counts the mount point and nothing below it. The tree is on a tmpfs and the
 * mount a bind of a directory of the test's file system, so the mount point has blocks of its own. */
static void test_mount_point(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    sh("mkdir -p mnt-tree other/sub && touch other/sub/x");
    write_file("other/file", 100000);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", at("mnt-tree"), "tmpfs", 0, "mode=0755") < 0)
            _exit(3);
        write_file("mnt-tree/file", 50000);
        if (mkdir(at("mnt-tree/dir"), 0755) < 0 || mkdir(at("mnt-tree/dir/mp"), 0755) < 0 ||
            mount(at("other"), at("mnt-tree/dir/mp"), NULL, MS_BIND, NULL) < 0)
            _exit(4);
        compare_path(at("mnt-tree"), "C");
        compare_path(at("mnt-tree/dir"), "C");
        compare_path(at("mnt-tree/dir/mp"), "C"); /* a mount point as PATH is measured */
        struct walk_result r;
        if (walk_tree(WALK_FIND, at("mnt-tree"), &(struct walk_options){0}, &r) != WALK_OK || r.entries != 4)
            _exit(5);
        if (walk_tree(WALK_DU, at("mnt-tree/dir/mp"), &(struct walk_options){0}, &r) != WALK_OK ||
            r.bytes < 100000)
            _exit(6);
        _exit(0);
    }
    int status;
    assert_true(waitpid(pid, &status, 0) == pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Hard links: one inode's blocks once, wherever its links are; each link is an entry for find. */
static void test_hard_links_counted_once(void **state)
{
    (void)state;
    sh("mkdir -p links-tree/x links-tree/y");
    write_file("links-tree/x/one", 1024 * 1024);
    sh("for i in 1 2 3 4 5 6 7 8; do ln links-tree/x/one links-tree/y/l$i; done");
    compare_path(at("links-tree"), "C");
    struct walk_result r;
    assert_int_equal(walk_tree(WALK_DU, at("links-tree"), &(struct walk_options){0}, &r), WALK_OK);
    assert_true(r.bytes < 2 * 1024 * 1024);
    /* Many inodes with several links: the set grows. */
    sh("mkdir -p many");
    for (int i = 0; i < 300; i++) {
        char f[64], g[64];
        snprintf(f, sizeof(f), "many/f%d", i);
        snprintf(g, sizeof(g), "many/g%d", i);
        write_file(f, (size_t)i * 100);
        char *gp = strdup(at(g));
        assert_int_equal(link(at(f), gp), 0);
        free(gp);
    }
    compare_path(at("many"), "C");
}

static enum du_command match(char **argv, const char **path)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    *path = NULL;
    return du_args_match(argc, argv, path);
}

static void test_command_lines(void **state)
{
    (void)state;
    const char *path;
    char *du[] = {"nice", "-n", "19", "du", "-x", "-s", "-B", "1", "/var/log/pods/ns_p_u/c", NULL};
    assert_int_equal(match(du, &path), DU_COMMAND_DU);
    assert_string_equal(path, "/var/log/pods/ns_p_u/c");
    char *du_full[] = {"/node/kubelet-path/nice", "-n", "19", "du", "-x", "-s", "-B", "1", "v", NULL};
    assert_int_equal(match(du_full, &path), DU_COMMAND_DU);
    assert_string_equal(path, "v");
    char *find[] = {"find", "/var/lib/kubelet/pods/u/volumes/v", "-xdev", "-printf", ".", NULL};
    assert_int_equal(match(find, &path), DU_COMMAND_FIND);
    assert_string_equal(path, "/var/lib/kubelet/pods/u/volumes/v");

    char *others[][11] = {
        {"nice", NULL},
        {"nice", "-n", "19", "du", "-x", "-s", "-B", "1", NULL},
        {"nice", "-n", "19", "du", "-x", "-s", "-B", "1", "a", "b", NULL},
        {"nice", "-n", "10", "du", "-x", "-s", "-B", "1", "a", NULL},
        {"nice", "-n", "19", "du", "-s", "-x", "-B", "1", "a", NULL},
        {"nice", "-n", "19", "du", "-x", "-s", "-B", "1K", "a", NULL},
        {"nice", "-n", "19", "ls", "-x", "-s", "-B", "1", "a", NULL},
        {"nice", "-n", "19", "du", "-x", "-s", "-B", "1", "-L", NULL},
        {"nice", "-n", "19", "du", "-x", "-s", "-B", "1", "", NULL},
        {"du", "-n", "19", "du", "-x", "-s", "-B", "1", "a", NULL},
        {"find", "a", "-xdev", "-printf", "x", NULL},
        {"find", "a", "-xdev", "-print", NULL},
        {"find", "a", "-printf", ".", "-xdev", NULL},
        {"find", "a", "-xdev", "-printf", ".", "-quit", NULL},
        {"find", "-L", "-xdev", "-printf", ".", NULL},
        {"find", "(", "-xdev", "-printf", ".", NULL},
        {"find", "!", "-xdev", "-printf", ".", NULL},
        {"find", "", "-xdev", "-printf", ".", NULL},
        {"find", "a", "-mount", "-printf", ".", NULL},
        {"nice", "a", "-xdev", "-printf", ".", NULL},
        {"kig-du", "a", "-xdev", "-printf", ".", NULL},
        {"/usr/bin/findx", "a", "-xdev", "-printf", ".", NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(others); i++)
        assert_int_equal(match(others[i], &path), DU_COMMAND_OTHER);
    assert_int_equal(du_args_match(0, NULL, &path), DU_COMMAND_OTHER);
}

/* Other command lines run the real program, found in PATH after kig-du's own links. */
static void test_other_command_lines_run_the_real_program(void **state)
{
    (void)state;
    char nice[300], find[300];
    snprintf(nice, sizeof(nice), "%s/nice", links);
    snprintf(find, sizeof(find), "%s/find", links);
    struct run gnu, ours;
    char *gnu_find[] = {"find", at("tree/a"), "-name", "small", NULL};
    char *our_find[] = {find, at("tree/a"), "-name", "small", NULL};
    run(&gnu, "C", NULL, gnu_find);
    run(&ours, "C", links, our_find);
    assert_same_run(&gnu, &ours, "find -name");
    assert_string_not_equal(gnu.out, "");

    char *gnu_nice[] = {"nice", "-n", "7", "nice", NULL};
    char *our_nice[] = {nice, "-n", "7", "nice", NULL};
    run(&gnu, "C", NULL, gnu_nice);
    run(&ours, "C", links, our_nice);
    assert_same_run(&gnu, &ours, "nice -n 7 nice");

    /* PATH holding nothing but kig-du's links: one line naming the cause, exit 127. */
    int out = memfd_create("out", 0), err = memfd_create("err", 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        setenv("PATH", links, 1);
        execv(find, our_find);
        _exit(126);
    }
    int status;
    assert_true(waitpid(pid, &status, 0) == pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 127);
    read_back(out, ours.out, sizeof(ours.out));
    read_back(err, ours.err, sizeof(ours.err));
    assert_string_equal(ours.out, "");
    assert_non_null(strstr(ours.err, "no find in PATH besides kig-du itself"));
    assert_non_null(strchr(ours.err, '\n'));
    assert_int_equal(strchr(ours.err, '\n')[1], '\0');
}

/* Without a real program to hand an error to, kig-du reports it itself as GNU's would (exit 1, du's total
 * of what it could read). */
static void test_errors_without_the_real_program(void **state)
{
    (void)state;
    char nice[300];
    snprintf(nice, sizeof(nice), "%s/nice", links);
    char *argv[] = {nice, "-n", "19", "du", "-x", "-s", "-B", "1", at("missing"), NULL};
    int err = memfd_create("err", 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(err, STDERR_FILENO);
        setenv("PATH", links, 1);
        setenv("LC_ALL", "C", 1);
        execv(nice, argv);
        _exit(126);
    }
    int status;
    assert_true(waitpid(pid, &status, 0) == pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    char text[1024], want[1024];
    read_back(err, text, sizeof(text));
    snprintf(want, sizeof(want), "du: cannot access '%s': No such file or directory\n", at("missing"));
    assert_string_equal(text, want);
}

int main(void)
{
    test_pid = getpid();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_lines),
        cmocka_unit_test(test_tree_matches_gnu),
        cmocka_unit_test(test_path_spelling),
        cmocka_unit_test(test_hard_links_counted_once),
        cmocka_unit_test(test_missing_paths),
        cmocka_unit_test(test_unreadable_directories),
        cmocka_unit_test(test_mount_point),
        cmocka_unit_test(test_other_command_lines_run_the_real_program),
        cmocka_unit_test(test_errors_without_the_real_program),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
