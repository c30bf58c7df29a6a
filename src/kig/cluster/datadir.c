#include "datadir.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"

#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

/* Every entry kig creates at the top of a data dir (write_file_atomic leaves "<name>.tmp.<pid>" behind
 * when it is interrupted, and pki.new is a PKI being generated). */
static const char *const known_entries[] = {"cluster.json", "pki",  "pki.new", "kubeconfig",
                                            "etcd",         "logs", "run",     "node"};

static char *absolute_path(const char *path)
{
    if (path[0] == '/')
        return path_join("/", path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return NULL;
    return path_join(cwd, path);
}

int data_dir_init(struct data_dir *d, const char *flag_value)
{
    *d = (struct data_dir){0};
    const char *value = flag_value;
    if (!value || !*value)
        value = getenv(KIG_DATA_DIR_ENV);
    if (!value || !*value)
        value = KIG_DEFAULT_DATA_DIR;
    d->root = absolute_path(value);
    if (!d->root)
        return log_error_errno(errno ? errno : ENOMEM, "cannot resolve data dir %s: %m", value);
    /* path_join keeps a trailing slash of "/x/" only when the second part is empty: strip it. */
    size_t len = strlen(d->root);
    while (len > 1 && d->root[len - 1] == '/')
        d->root[--len] = '\0';

    d->cluster_json = path_join(d->root, "cluster.json");
    d->pki = path_join(d->root, "pki");
    d->kubeconfigs = path_join(d->root, "kubeconfig");
    d->etcd = path_join(d->root, "etcd");
    d->logs = path_join(d->root, "logs");
    d->run = path_join(d->root, "run");
    if (!d->cluster_json || !d->pki || !d->kubeconfigs || !d->etcd || !d->logs || !d->run)
        return log_error_errno(ENOMEM, "out of memory");
    d->state_json = path_join(d->run, "state.json");
    d->supervisor_lock = path_join(d->run, "supervisor.lock");
    d->supervisor_pid = path_join(d->run, "supervisor.pid");
    d->up_lock = path_join(d->run, "up.lock");
    if (!d->state_json || !d->supervisor_lock || !d->supervisor_pid || !d->up_lock)
        return log_error_errno(ENOMEM, "out of memory");
    return 0;
}

void data_dir_done(struct data_dir *d)
{
    char **fields[] = {&d->root,   &d->cluster_json, &d->pki,        &d->kubeconfigs,     &d->etcd,
                       &d->logs,   &d->run,          &d->state_json, &d->supervisor_lock, &d->supervisor_pid,
                       &d->up_lock};
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
}

static char *join_with_suffix(const char *dir, const char *stem, const char *suffix)
{
    char *p;
    return asprintf(&p, "%s/%s%s", dir, stem, suffix) < 0 ? NULL : p;
}

char *data_dir_log(const struct data_dir *d, const char *component)
{
    return join_with_suffix(d->logs, component, ".log");
}

char *data_dir_kubeconfig(const struct data_dir *d, const char *user)
{
    return join_with_suffix(d->kubeconfigs, user, ".kubeconfig");
}

char *data_dir_pki_file(const struct data_dir *d, const char *file)
{
    return path_join(d->pki, file);
}

static int unwritable(const struct data_dir *d, const char *path, int err)
{
    return log_error_errno(err,
                           "cannot write data dir %s (%s: %m): run kig as a user who can write there, or "
                           "choose another directory with --data-dir or %s",
                           d->root, path, KIG_DATA_DIR_ENV);
}

int data_dir_create(const struct data_dir *d)
{
    if (path_exists(d->root) && !is_dir(d->root))
        return log_error_errno(
            ENOTDIR, "data dir %s exists but is not a directory: choose another with --data-dir", d->root);
    int r = mkdir_p(d->root, 0700);
    if (r < 0)
        return unwritable(d, d->root, r);
    if (access(d->root, W_OK | X_OK) < 0)
        return unwritable(d, d->root, negative_errno());
    const char *subdirs[] = {d->kubeconfigs, d->logs, d->run};
    for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
        r = mkdir_p(subdirs[i], 0700);
        if (r < 0)
            return unwritable(d, subdirs[i], r);
        if (access(subdirs[i], W_OK | X_OK) < 0)
            return unwritable(d, subdirs[i], negative_errno());
    }
    return 0;
}

static bool dir_has_entries(const char *path)
{
    DIR *dir = opendir(path);
    if (!dir)
        return false;
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(dir)))
        found = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(dir);
    return found;
}

bool data_dir_has_cluster_data(const struct data_dir *d)
{
    return dir_has_entries(d->pki) || dir_has_entries(d->etcd);
}

static bool is_known_entry(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(known_entries); i++) {
        size_t len = strlen(known_entries[i]);
        if (strncmp(name, known_entries[i], len) != 0)
            continue;
        if (name[len] == '\0' || strncmp(name + len, ".tmp.", 5) == 0)
            return true;
    }
    return false;
}

int data_dir_purge(const struct data_dir *d)
{
    if (!path_exists(d->root))
        return 0;
    if (strcmp(d->root, "/") == 0)
        return log_error_errno(EPERM, "refusing to delete /: pass the cluster's own --data-dir");
    DIR *dir = opendir(d->root);
    if (!dir)
        return log_error_errno(negative_errno(), "cannot read data dir %s: %m", d->root);
    char foreign[256] = "";
    struct dirent *de;
    while ((de = readdir(dir)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && !is_known_entry(de->d_name)) {
            snprintf(foreign, sizeof(foreign), "%s", de->d_name);
            break;
        }
    closedir(dir);
    if (foreign[0])
        return log_error_errno(EPERM,
                               "not deleting %s: it holds '%s', which kig did not create (is --data-dir "
                               "right?); remove the directory yourself if it really is disposable",
                               d->root, foreign);
    int r = rm_rf(d->root);
    if (r < 0)
        return log_error_errno(r, "cannot delete data dir %s: %m", d->root);
    return 0;
}
