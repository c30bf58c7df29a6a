/* Fuzzes kig-shim's reading of a bundle's config.json (outside input: containerd writes it from a pod spec).
 * Beyond "no crash, no leak, no undefined behaviour": a refusal always says why, and an accepted sandbox id
 * is always a valid pod id (it becomes a socket path under the switch's directory). */
#include "../../src/kig-shim/bundle.c"

#include <assert.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct shim_bundle b;
    char why[256] = "";
    int r = shim_bundle_parse((const char *)data, size, &b, why, sizeof(why));
    if (r < 0)
        assert(r == -EINVAL && why[0] != '\0');
    else
        assert(b.sandbox_id[0] == '\0' || podns_valid_id(b.sandbox_id));
    return 0;
}
