/* `kig logs COMPONENT [-f]`: a component's log (logs/<component>.log); -f follows it like tail -f until
 * the cluster's supervisor goes away. */
#include "cli.h"
#include "cluster-cli.h"
#include "component-table.h"
#include "datadir.h"
#include "fileutil.h"
#include "log.h"
#include "macro.h"
#include "supervisor-ctl.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define FOLLOW_INTERVAL_MS 200

/* Copies from fd's current offset to its end onto stdout. */
static int copy_available(int fd)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return negative_errno();
        if (n == 0)
            return 0;
        int r = write_all(STDOUT_FILENO, buf, (size_t)n);
        if (r < 0)
            return r;
    }
}

/* The offset where the last `lines` lines of fd begin. */
static off_t tail_offset(int fd, long lines)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size == 0)
        return 0;
    char buf[8192];
    off_t end = st.st_size, pos = end;
    long seen = 0;
    while (pos > 0) {
        size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
        pos -= (off_t)chunk;
        if (pread(fd, buf, chunk, pos) != (ssize_t)chunk)
            return 0;
        for (size_t i = chunk; i-- > 0;) {
            /* The newline that ends the file does not start a line. */
            if (buf[i] == '\n' && pos + (off_t)i != end - 1 && ++seen == lines)
                return pos + (off_t)i + 1;
        }
    }
    return 0;
}

static int follow(const struct data_dir *d, int fd, const char *path)
{
    for (;;) {
        int r = copy_available(fd);
        if (r < 0) {
            log_error_errno(r, "cannot read %s: %m", path);
            return 1;
        }
        if (supervisor_running(d, NULL) <= 0)
            return copy_available(fd) < 0 ? 1 : 0;
        /* A log truncated under us starts over from its beginning. */
        struct stat st;
        off_t pos = lseek(fd, 0, SEEK_CUR);
        if (fstat(fd, &st) == 0 && pos > st.st_size)
            lseek(fd, 0, SEEK_SET);
        struct timespec ts = {0, FOLLOW_INTERVAL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static const char *log_name(const char *arg)
{
    if (strcmp(arg, "kig") == 0 || strcmp(arg, "supervisor") == 0)
        return "kig";
    const struct component_spec *spec = component_spec_find(arg);
    return spec ? spec->name : NULL;
}

static int unknown_component(const char *arg)
{
    char names[256] = "kig";
    size_t n;
    const struct component_spec *table = component_table(&n);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names);
        snprintf(names + len, sizeof(names) - len, ", %s", table[i].name);
    }
    return cli_usage_error("logs", "unknown component '%s' (one of: %s)", arg, names);
}

int cmd_logs(int argc, char **argv)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"follow", no_argument, NULL, 'f'},
        {"tail", required_argument, NULL, 'n'},
        {},
    };
    const char *data_dir = NULL, *component = NULL;
    bool follow_log = false;
    long tail = -1;
    /* Options may come before or after COMPONENT ('kig logs kube-apiserver -f'): cli_getopt stops at the
     * first operand, so take it and go on parsing. */
    for (;;) {
        int c = cli_getopt(argc, argv, "logs", "fn:", options);
        if (c == -1) {
            if (optind >= argc)
                break;
            if (component)
                return cli_usage_error("logs", "unexpected argument '%s'", argv[optind]);
            component = argv[optind++];
            continue;
        }
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'f':
            follow_log = true;
            break;
        case 'n':
            if (cli_parse_int(optarg, 0, 100000000, &tail) < 0)
                return cli_usage_error("logs", "invalid --tail '%s': give a number of lines", optarg);
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (!component)
        return cli_usage_error("logs", "which component? (e.g. 'kig logs kube-apiserver')");
    const char *name = log_name(component);
    if (!name)
        return unknown_component(component);

    _cleanup_(data_dir_done) struct data_dir d = {0};
    struct cluster_identity id;
    if (data_dir_init(&d, data_dir) < 0 || cluster_cli_load(&d, &id) < 0)
        return 1;
    _cleanup_free_ char *path = data_dir_log(&d, name);
    if (!path) {
        log_error("out of memory");
        return 1;
    }
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            log_error("no log for %s yet (%s): the cluster has not started it; run 'kig up%s'", name, path,
                      id.mode == CLUSTER_MODE_CONTROL_PLANE_ONLY ? " --control-plane-only" : "");
        else
            log_error_errno(negative_errno(), "cannot open %s: %m", path);
        return 1;
    }
    if (tail >= 0 && lseek(fd, tail == 0 ? lseek(fd, 0, SEEK_END) : tail_offset(fd, tail), SEEK_SET) < 0) {
        log_error_errno(negative_errno(), "cannot seek in %s: %m", path);
        return 1;
    }
    if (follow_log)
        return follow(&d, fd, path);
    int r = copy_available(fd);
    if (r < 0) {
        log_error_errno(r, "cannot read %s: %m", path);
        return 1;
    }
    return 0;
}
