#include "cluster-cli.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"
#include "pki-setup.h"

#include <string.h>

int cluster_cli_damaged(const struct data_dir *d, const char *why)
{
    return log_error_errno(EINVAL,
                           "data dir %s is damaged: %s is %s; restore it from a backup, or start over with "
                           "'kig down --purge --data-dir %s'",
                           d->root, d->cluster_json, why, d->root);
}

int cluster_cli_load(const struct data_dir *d, struct cluster_identity *ret)
{
    char why[256];
    int r = cluster_identity_load(d->cluster_json, ret, why, sizeof(why));
    if (r == -ENOENT)
        return log_error_errno(ENOENT,
                               "no cluster in data dir %s (no cluster.json): create one with 'kig up' (or "
                               "'kig up --control-plane-only'), or pass the right --data-dir",
                               d->root);
    if (r == -EINVAL) {
        char what[300];
        snprintf(what, sizeof(what), "invalid (%s)", why);
        return cluster_cli_damaged(d, what);
    }
    if (r < 0)
        return cluster_cli_unreadable(d, r);
    return 0;
}

int cluster_cli_unreadable(const struct data_dir *d, int err)
{
    return log_error_errno(err,
                           "cannot read %s (%m): run kig as a user who can read the data dir, or choose "
                           "another with --data-dir",
                           d->cluster_json);
}

void cluster_cli_last_log_line(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f)
        return;
    /* Only the tail matters: a log can be large. */
    if (fseek(f, -16384, SEEK_END) < 0)
        rewind(f);
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] && strncmp(line, "==> ", 4) != 0)
            snprintf(buf, size, "%s", line);
    }
}

void cluster_cli_print_kubeconfig_hint(FILE *out, const struct data_dir *d)
{
    _cleanup_free_ char *kubeconfig = data_dir_kubeconfig(d, KIG_ADMIN_USER);
    fprintf(out, "kubeconfig: %s\nuse it with: export KUBECONFIG=%s\n", kubeconfig ? kubeconfig : "?",
            kubeconfig ? kubeconfig : "?");
}
