/* Fuzzes kig-cni's parser of the network config that arrives on stdin, and the documents built from it. */
/* The protocol code is compiled in here, instrumented, as the other targets do with theirs. */
#include "../../src/kig-cni/protocol.c"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cni_config c;
    struct cni_error err = {0};
    if (cni_config_parse((const char *)data, size, &c, &err) == 0) {
        char *doc =
            cni_result_document(c.cni_version, "eth0", "/ns", c.node_ip ? c.node_ip : "10.0.0.1/32", NULL);
        free(doc);
        cni_config_done(&c);
    } else {
        char *doc = cni_error_document(NULL, &err);
        free(doc);
    }
    return 0;
}
