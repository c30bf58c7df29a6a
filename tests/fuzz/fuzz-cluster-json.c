/* libFuzzer target for the two JSON files kig reads back from a data dir: cluster.json (identity.c) and
 * run/state.json (state.c). Any input must be accepted or refused without crashing or leaking, and what is
 * accepted must survive a format/parse round trip unchanged (kig up, status and down rely on both).
 *
 * The two parsers live in kig's cluster library, not in libkig: their sources are compiled into this
 * target so that they carry the fuzzer's instrumentation. */
#include "../../src/kig/cluster/identity.c"
#include "../../src/kig/cluster/state.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_identity(const char *text, size_t len)
{
    struct cluster_identity a, b;
    char why[256];
    if (cluster_identity_parse(text, len, &a, why, sizeof(why)) < 0) {
        if (!why[0] || strnlen(why, sizeof(why)) == sizeof(why))
            abort(); /* a refusal always says why, NUL-terminated */
        return;
    }
    char *again = cluster_identity_format(&a);
    if (!again || cluster_identity_parse(again, strlen(again), &b, why, sizeof(why)) < 0)
        abort();
    if (strcmp(a.name, b.name) != 0 || strcmp(a.uid, b.uid) != 0 || strcmp(a.created, b.created) != 0 ||
        a.mode != b.mode || a.port != b.port || strcmp(a.kig_version, b.kig_version) != 0)
        abort();
    free(again);
}

static void check_state(const char *text, size_t len)
{
    struct cluster_state a = {0}, b = {0};
    if (cluster_state_parse(text, len, &a) < 0)
        return;
    char *again = cluster_state_format(&a);
    if (!again || cluster_state_parse(again, strlen(again), &b) < 0)
        abort();
    if (!same_string(a.cluster, b.cluster) || !same_string(a.mode, b.mode) ||
        !same_string(a.server, b.server) || a.supervisor_pid != b.supervisor_pid || a.phase != b.phase ||
        a.started_at != b.started_at || a.n_components != b.n_components)
        abort();
    for (size_t i = 0; i < a.n_components; i++) {
        const struct component_state *x = &a.components[i], *y = &b.components[i];
        if (!same_string(x->name, y->name) || !same_string(x->path, y->path) ||
            !same_string(x->log, y->log) || !same_string(x->last_exit, y->last_exit) || x->pid != y->pid ||
            x->state != y->state || x->ready != y->ready || x->restarts != y->restarts ||
            x->port != y->port || x->started_at != y->started_at)
            abort();
        if (cluster_state_find(&a, x->name) != x)
            abort(); /* names are unique */
    }
    free(again);
    cluster_state_done(&a);
    cluster_state_done(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_identity((const char *)data, size);
    check_state((const char *)data, size);
    return 0;
}
