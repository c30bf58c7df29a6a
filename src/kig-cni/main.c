/* kig-cni: kig's CNI plugin. containerd runs it with CNI_* variables and the network config on stdin;
 * it answers with a result or error document on stdout (CNI spec 1.0). */
#include "cni.h"
#include "log.h"
#include "macro.h"
#include "strategy.h"

#include <string.h>

#define MAX_CONFIG_SIZE (1u << 20)

static int read_stdin(char **ret, size_t *ret_len)
{
    size_t cap = 4096, len = 0;
    _cleanup_free_ char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_CONFIG_SIZE)
                return -EFBIG;
            char *n = realloc(buf, cap * 2);
            if (!n)
                return -ENOMEM;
            buf = n;
            cap *= 2;
        }
        ssize_t r = read(STDIN_FILENO, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return negative_errno();
        if (r == 0)
            break;
        len += (size_t)r;
    }
    *ret = TAKE_PTR(buf);
    *ret_len = len;
    return 0;
}

static int fail(const char *cni_version, const struct cni_error *err)
{
    _cleanup_free_ char *doc = cni_error_document(cni_version, err);
    if (doc)
        puts(doc);
    log_error("%s: %s", err->msg, err->details);
    return 1;
}

static const char *real_getenv(const char *name)
{
    return getenv(name);
}

int main(int argc, char **argv)
{
    log_init("kig-cni");
    if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("kig-cni, CNI protocol versions 0.3.0 0.3.1 0.4.0 1.0.0\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--probe") == 0)
        return cni_probe_print(stdout) < 0 ? 1 : 0;
    struct cni_error err = {0};
    struct cni_env env;
    if (cni_env_parse(real_getenv, &env, &err) < 0)
        return fail(NULL, &err);
    if (env.command == CNI_VERSION) {
        _cleanup_free_ char *doc = cni_version_document(NULL);
        if (!doc)
            return 1;
        puts(doc);
        return 0;
    }

    _cleanup_free_ char *input = NULL;
    size_t len = 0;
    int r = read_stdin(&input, &len);
    if (r < 0) {
        cni_set_error(&err, CNI_ERR_IO, "cannot read the network config from stdin", "%s", strerror(-r));
        return fail(NULL, &err);
    }
    _cleanup_(cni_config_done) struct cni_config config = {0};
    if (cni_config_parse(input, len, &config, &err) < 0)
        return fail(NULL, &err);

    /* Installed as "loopback", kig-cni stands in for the stock loopback plugin whatever the config says. */
    const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const struct cni_strategy *strategy =
        cni_strategy_find(strcmp(self, "loopback") == 0 ? "loopback" : config.strategy);
    if (!strategy) {
        cni_set_error(&err, CNI_ERR_INVALID_CONFIG, "unknown strategy",
                      "\"strategy\": \"%s\" is not one of this kig-cni's strategies (host, veth, tap)",
                      config.strategy);
        return fail(config.cni_version, &err);
    }
    _cleanup_free_ char *result = NULL;
    switch (env.command) {
    case CNI_ADD:
        r = strategy->add(&env, &config, &result, &err);
        break;
    case CNI_DEL:
        r = strategy->del(&env, &config, &err);
        break;
    case CNI_CHECK:
        r = strategy->check(&env, &config, &err);
        break;
    case CNI_VERSION:
        break;
    }
    if (r < 0)
        return fail(config.cni_version, &err);
    if (result)
        puts(result);
    return 0;
}
