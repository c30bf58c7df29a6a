/* hosts.toml files for plain-HTTP registries; see registry-hosts.h. */
#include "registry-hosts.h"

#include "fileutil.h"
#include "image-ref.h"
#include "macro.h"

#include <string.h>

int registry_hosts_render(const char *host, char **ret)
{
    /* The grammar allows neither quotes nor backslashes, so the host needs no TOML escaping. */
    if (!image_ref_valid_registry_host(host))
        return -EINVAL;
    char *doc = NULL;
    if (asprintf(&doc,
                 "# Written by kig (kig up --insecure-registry %s): this registry serves plain HTTP.\n"
                 "server = \"http://%s\"\n"
                 "\n"
                 "[host.\"http://%s\"]\n"
                 "  capabilities = [\"pull\", \"resolve\", \"push\"]\n",
                 host, host, host) < 0)
        return -ENOMEM;
    *ret = doc;
    return 0;
}

int registry_hosts_write(const char *config_dir, const char *host)
{
    _cleanup_free_ char *doc = NULL;
    int r = registry_hosts_render(host, &doc);
    if (r < 0)
        return r;
    _cleanup_free_ char *dir = path_join(config_dir, host);
    if (!dir)
        return -ENOMEM;
    r = mkdir_p(dir, 0755);
    if (r < 0)
        return r;
    _cleanup_free_ char *file = path_join(dir, "hosts.toml");
    if (!file)
        return -ENOMEM;
    return write_file_atomic(file, doc, strlen(doc), 0644);
}
