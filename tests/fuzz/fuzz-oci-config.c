/* Fuzzes kig-runtime's config.json rewriter (and the features and mountinfo parsers beside it).
 *
 * Input: one selector byte, then a config.json. The selector picks the runtime (bit 0) and the sandbox: 'h'
 * a full host, 'g' gVisor 20221219, anything else a feature set built from its bits and the input's length.
 * Beyond "no crash, no leak, no undefined behaviour", it checks the rewriter's promises: on a full host the
 * config comes back equal and nothing is reported; elsewhere every output is a JSON object with one string
 * per rewrite, the mounts moved to kig-runtime's plan, none left to the runtime; and a rewritten config that
 * kig-runtime will not run the init of says why in one line, while one it will leaves the runtime nothing:
 * no mount (a pod sandbox: only /dev and /proc, which it skips) and no namespace but a new UTS one. */
#include "../../src/kig-runtime/mountinfo.c"
#include "../../src/kig-runtime/own-init-eligible.c"
#include "../../src/kig-runtime/sandbox-features.c"
#include "../../src/kig-runtime/spec-rewrite.c"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void features_for(uint8_t selector, size_t size, struct runtime_features *f)
{
    runtime_features_init_host(f);
    if (selector == 'h')
        return;
    bool gvisor = selector == 'g';
    unsigned bits = gvisor ? 0 : selector * 2654435761u ^ (unsigned)size;
    f->setns = bits & 1;
    f->mount_namespace = bits & 2;
    f->mount_via_proc_fd = bits & 4;
    f->bind_remount = bits & 8;
    f->devpts = bits & 16;
    f->session_keyring = bits & 32;
    f->oom_score_adj_nul = bits & 64;
    f->proc_self_setgroups = bits & 128;
    f->apparmor = f->selinux = bits & 256;
    f->ambient_capabilities = bits & 512;
    f->mount_flags_rejected =
        gvisor ? MOUNT_FLAG_REC | MOUNT_FLAG_SLAVE | MOUNT_FLAG_UNBINDABLE | MOUNT_FLAG_STRICTATIME
               : (bits >> 9) & 0x3f;
    f->cgroup_controllers = gvisor ? 0x1f : bits >> 3;
    f->capabilities = gvisor ? f->capabilities & ~(UINT64_C(1) << 13) : (uint64_t)bits * 0x9e3779b97f4a7c15u;
    f->oom_score_adj_min = gvisor ? -1000 : (int)(bits % 2001) - 1000;
    f->rlimits = gvisor ? 0x3ff : bits;
}

/* A config kig-runtime runs the init of: every mount is kig-runtime's (a sandbox's /dev and /proc are
 * skipped), every namespace but a new UTS one gone. */
static void check_nothing_left(const json_t *config)
{
    size_t i;
    const json_t *m, *n;
    bool sandbox = spec_is_pod_sandbox(config);
    json_array_foreach(json_object_get(config, "mounts"), i, m)
    {
        const char *d = json_string_value(json_object_get(m, "destination"));
        if (!sandbox || !d || (strcmp(d, "/dev") != 0 && strcmp(d, "/proc") != 0))
            abort();
    }
    json_array_foreach(json_object_get(json_object_get(config, "linux"), "namespaces"), i, n)
    {
        const char *t = json_string_value(json_object_get(n, "type"));
        if (!t || strcmp(t, "uts") != 0 || json_object_get(n, "path"))
            abort();
    }
}

static void check_result(const json_t *in, const struct runtime_features *f, bool host,
                         struct spec_rewrite *rw)
{
    if (!json_is_object(rw->config) || !json_is_array(rw->rewrites))
        abort();
    size_t i;
    json_t *line;
    json_array_foreach(rw->rewrites, i, line)
    {
        if (!json_is_string(line))
            abort();
    }
    if (host && (!json_equal(in, rw->config) || json_array_size(rw->rewrites) || rw->kig_mounts))
        abort(); /* a full host must get the config unchanged */
    if (rw->kig_mounts) {
        const json_t *mounts = json_object_get(rw->config, "mounts");
        if (f->mount_via_proc_fd || (mounts && json_array_size(mounts) != 0))
            abort();
    }
    char why[256] = "";
    if (!own_init_eligible(rw->config, rw->kig_mounts, why, sizeof(why))) {
        if (!why[0] || strchr(why, '\n'))
            abort();
    } else
        check_nothing_left(rw->config);
    char *text = json_dumps(rw->config, 0);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* The same bytes as mountinfo text. */
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    struct mount_table t;
    if (mount_table_parse(text, &t) == 0)
        mount_table_free(&t);
    free(text);

    json_t *in = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
    if (!in)
        return 0;
    struct runtime_features f;
    features_for(data[0], size, &f);
    struct runtime_features from_json = f;
    (void)runtime_features_from_json(in, &from_json);

    struct spec_rewrite rw;
    int r = spec_rewrite(in, &f, (data[0] & 1) ? OCI_RUNTIME_RUNC : OCI_RUNTIME_CRUN, &rw);
    if (r == 0) {
        check_result(in, &f, data[0] == 'h', &rw);
        spec_rewrite_done(&rw);
    } else if (r != -EINVAL || !rw.error[0] || strchr(rw.error, '\n') || rw.config || rw.rewrites)
        abort(); /* a refusal says why, in one line, and hands nothing back */

    json_t *process = json_deep_copy(json_object_get(in, "process"));
    json_t *rewrites = json_array();
    char error[256];
    if (process && rewrites)
        (void)spec_rewrite_process(process, &f, rewrites, error, sizeof(error));
    json_decref(rewrites);
    json_decref(process);
    json_decref(in);
    return 0;
}
