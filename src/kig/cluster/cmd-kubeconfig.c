/* `kig kubeconfig`: prints the admin kubeconfig, merges it into ~/.kube/config (--merge), or mints a
 * client certificate for another user (--user NAME --group G) and prints a kubeconfig for it. */
#include "cli.h"
#include "cluster-cli.h"
#include "components.h"
#include "datadir.h"
#include "fileutil.h"
#include "identity.h"
#include "kubeconfig.h"
#include "log.h"
#include "macro.h"
#include "pki-setup.h"
#include "pki.h"
#include "spawn.h"
#include "strv.h"

#include <pwd.h>
#include <string.h>
#include <sys/stat.h>

#define KUBECTL_TIMEOUT_MS 30000
#define MAX_GROUPS         32

struct kubeconfig_options {
    const char *data_dir;
    const char *user;
    const char *groups[MAX_GROUPS + 1];
    size_t n_groups;
    long days;
    bool merge;
};

static int parse_options(int argc, char **argv, struct kubeconfig_options *o)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'}, {"merge", no_argument, NULL, 'm'},
        {"user", required_argument, NULL, 'u'},     {"group", required_argument, NULL, 'g'},
        {"days", required_argument, NULL, 'D'},     {},
    };
    *o = (struct kubeconfig_options){.days = 365};
    int c;
    while ((c = cli_getopt(argc, argv, "kubeconfig", "", options)) != -1) {
        switch (c) {
        case 'd':
            o->data_dir = optarg;
            break;
        case 'm':
            o->merge = true;
            break;
        case 'u':
            if (!*optarg)
                return cli_usage_error("kubeconfig", "--user needs a non-empty name");
            o->user = optarg;
            break;
        case 'g':
            if (!*optarg)
                return cli_usage_error("kubeconfig", "--group needs a non-empty name");
            if (o->n_groups >= MAX_GROUPS)
                return cli_usage_error("kubeconfig", "at most %d --group options", MAX_GROUPS);
            o->groups[o->n_groups++] = optarg;
            break;
        case 'D':
            if (cli_parse_int(optarg, 1, 3650, &o->days) < 0)
                return cli_usage_error("kubeconfig", "invalid --days '%s': give 1-3650", optarg);
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error("kubeconfig", "unexpected argument '%s'", argv[optind]);
    if (o->n_groups > 0 && !o->user)
        return cli_usage_error("kubeconfig", "--group needs --user");
    return 0;
}

/* ---- PEM material for one user ---- */

struct credentials {
    char *ca_pem;
    char *cert_pem;
    char *key_pem;
};

static void credentials_done(struct credentials *c)
{
    free(c->ca_pem);
    free(c->cert_pem);
    if (c->key_pem) {
        explicit_bzero(c->key_pem, strlen(c->key_pem));
        free(c->key_pem);
    }
}

static int read_pem(const struct data_dir *d, const char *file, char **ret)
{
    _cleanup_free_ char *path = data_dir_pki_file(d, file);
    if (!path)
        return log_error_errno(ENOMEM, "out of memory");
    int r = read_file(path, ret, NULL, 1u << 20);
    if (r < 0)
        return log_error_errno(r, "cannot read %s (%m): is the data dir complete? 'kig up' checks it", path);
    return 0;
}

static int load_credentials(const struct kubeconfig_options *o, const struct data_dir *d,
                            struct credentials *c)
{
    int r = read_pem(d, "ca.crt", &c->ca_pem);
    if (r < 0)
        return r;
    if (!o->user) {
        r = read_pem(d, "admin.crt", &c->cert_pem);
        return r < 0 ? r : read_pem(d, "admin.key", &c->key_pem);
    }
    /* o->groups is NULL-terminated: the array has one slot more than MAX_GROUPS. */
    return pki_issue_client_cert(d->pki, "ca", o->user, o->n_groups ? o->groups : NULL, (int)o->days,
                                 &c->cert_pem, &c->key_pem);
}

/* ---- printing ---- */

static int print_kubeconfig(const struct kubeconfig_options *o, const struct cluster_identity *id,
                            const struct credentials *c)
{
    char server[128];
    pki_setup_server_url(id->port, server, sizeof(server));
    const struct kubeconfig_spec spec = {
        .cluster_name = id->name,
        .server = server,
        .ca_pem = c->ca_pem,
        .user_name = o->user ? o->user : KIG_ADMIN_USER,
        .client_cert_pem = c->cert_pem,
        .client_key_pem = c->key_pem,
    };
    _cleanup_free_ char *text = kubeconfig_render(&spec);
    if (!text)
        return log_error_errno(errno ? errno : ENOMEM, "cannot render the kubeconfig: %m");
    fputs(text, stdout);
    if (text[0] && text[strlen(text) - 1] != '\n')
        fputc('\n', stdout);
    return fflush(stdout) == 0 ? 0 : log_error_errno(negative_errno(), "cannot write the kubeconfig: %m");
}

/* ---- merging into ~/.kube/config with kubectl ---- */

static char *default_kubeconfig_path(void)
{
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    return home ? path_join(home, ".kube/config") : NULL;
}

static int run_kubectl(const char *kubectl, const char *target, const char *const *args)
{
    struct strv argv = {0};
    int r = strv_push(&argv, kubectl);
    if (r == 0)
        r = strv_pushf(&argv, "--kubeconfig=%s", target);
    for (const char *const *a = args; r == 0 && *a; a++)
        r = strv_push(&argv, *a);
    if (r < 0) {
        strv_done(&argv);
        return log_error_errno(r, "out of memory");
    }
    _cleanup_free_ char *out = NULL, *err = NULL;
    int status = 0;
    r = run_capture(strv_argv(&argv), &out, &err, KUBECTL_TIMEOUT_MS, &status);
    if (r == 0 && status != 0) {
        if (err)
            err[strcspn(err, "\n")] = '\0';
        r = log_error_errno(EIO, "'kubectl config %s' failed: %s", args[1], err && *err ? err : "no message");
    } else if (r < 0)
        r = log_error_errno(r, "cannot run %s: %m", kubectl);
    strv_done(&argv);
    return r;
}

/* kubectl embeds only from files: PEMs held in memory (a minted user) go to a private temporary dir. */
static int write_temp_pems(const struct credentials *c, char *dir, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, size, "%s/kig-kubeconfig-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return log_error_errno(negative_errno(), "cannot create a temporary directory in %s: %m",
                               tmp && *tmp ? tmp : "/tmp");
    const char *names[] = {"client.crt", "client.key"};
    const char *data[] = {c->cert_pem, c->key_pem};
    for (size_t i = 0; i < 2; i++) {
        _cleanup_free_ char *path = path_join(dir, names[i]);
        int r = path ? write_file_atomic(path, data[i], strlen(data[i]), 0600) : -ENOMEM;
        if (r < 0)
            return log_error_errno(r, "cannot write %s/%s: %m", dir, names[i]);
    }
    return 0;
}

static int merge(const struct kubeconfig_options *o, const struct data_dir *d,
                 const struct cluster_identity *id, const struct credentials *c)
{
    _cleanup_free_ char *kubectl = NULL, *target = default_kubeconfig_path();
    if (component_require(COMPONENT_KUBECTL, &kubectl) < 0)
        return -ENOENT;
    if (!target)
        return log_error_errno(ENOENT, "cannot find your home directory: set HOME");
    _cleanup_free_ char *target_dir = strdup(target);
    if (!target_dir)
        return log_error_errno(ENOMEM, "out of memory");
    *strrchr(target_dir, '/') = '\0';
    int r = mkdir_p(target_dir, 0700);
    if (r < 0)
        return log_error_errno(r, "cannot create %s: %m", target_dir);

    char server[128], tmp[4096] = "", user_entry[160], context[160];
    pki_setup_server_url(id->port, server, sizeof(server));
    snprintf(user_entry, sizeof(user_entry), "%s-%s", id->name, o->user ? o->user : KIG_ADMIN_USER);
    if (o->user)
        snprintf(context, sizeof(context), "%s@%s", o->user, id->name);
    else
        snprintf(context, sizeof(context), "%s", id->name);
    _cleanup_free_ char *ca = data_dir_pki_file(d, "ca.crt"), *crt = data_dir_pki_file(d, "admin.crt"),
                        *key = data_dir_pki_file(d, "admin.key");
    if (!ca || !crt || !key)
        return log_error_errno(ENOMEM, "out of memory");
    if (o->user) {
        if ((r = write_temp_pems(c, tmp, sizeof(tmp))) < 0)
            goto out;
        free(crt);
        free(key);
        crt = path_join(tmp, "client.crt");
        key = path_join(tmp, "client.key");
        if (!crt || !key) {
            r = log_error_errno(ENOMEM, "out of memory");
            goto out;
        }
    }
    char ca_arg[4200], crt_arg[4200], key_arg[4200], server_arg[160], cluster_arg[96], user_arg[200];
    snprintf(ca_arg, sizeof(ca_arg), "--certificate-authority=%s", ca);
    snprintf(crt_arg, sizeof(crt_arg), "--client-certificate=%s", crt);
    snprintf(key_arg, sizeof(key_arg), "--client-key=%s", key);
    snprintf(server_arg, sizeof(server_arg), "--server=%s", server);
    snprintf(cluster_arg, sizeof(cluster_arg), "--cluster=%s", id->name);
    snprintf(user_arg, sizeof(user_arg), "--user=%s", user_entry);
    const char *set_cluster[] = {"config", "set-cluster",        id->name, server_arg,
                                 ca_arg,   "--embed-certs=true", NULL};
    const char *set_user[] = {"config", "set-credentials",    user_entry, crt_arg,
                              key_arg,  "--embed-certs=true", NULL};
    const char *set_context[] = {"config", "set-context", context, cluster_arg, user_arg, NULL};
    if ((r = run_kubectl(kubectl, target, set_cluster)) < 0 ||
        (r = run_kubectl(kubectl, target, set_user)) < 0 ||
        (r = run_kubectl(kubectl, target, set_context)) < 0)
        goto out;
    printf(
        "merged context '%s' into %s; use it with: kubectl --context %s ... (or 'kubectl config use-context "
        "%s')\n",
        context, target, context, context);
out:
    if (tmp[0])
        rm_rf(tmp);
    return r;
}

int cmd_kubeconfig(int argc, char **argv)
{
    struct kubeconfig_options o;
    int r = parse_options(argc, argv, &o);
    if (r != 0)
        return r;
    _cleanup_(data_dir_done) struct data_dir d = {0};
    struct cluster_identity id;
    if (data_dir_init(&d, o.data_dir) < 0 || cluster_cli_load(&d, &id) < 0)
        return 1;
    _cleanup_(credentials_done) struct credentials c = {0};
    if (load_credentials(&o, &d, &c) < 0)
        return 1;
    r = o.merge ? merge(&o, &d, &id, &c) : print_kubeconfig(&o, &id, &c);
    return r < 0 ? 1 : 0;
}
