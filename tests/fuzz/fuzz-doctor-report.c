/* libFuzzer target: doctor_report_from_string must accept or refuse any input without crashing, and what it
 * accepts must survive a round trip through to_string unchanged (readers across kig rely on both). */
#include "doctor-report.h"
#include "macro.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_or_abort(const struct doctor_report *a, const struct doctor_report *b)
{
    if (a->schema != b->schema || strcmp(a->kig_version, b->kig_version) != 0 ||
        strcmp(a->uname_release, b->uname_release) != 0 || a->in_gvisor != b->in_gvisor ||
        a->n_probes != b->n_probes)
        abort();
    for (size_t i = 0; i < a->n_probes; i++) {
        const struct doctor_probe_result *p = &a->probes[i], *q = &b->probes[i];
        if (strcmp(p->id, q->id) != 0 || strcmp(p->category, q->category) != 0 || p->status != q->status ||
            strcmp(p->evidence, q->evidence) != 0 || strcmp(p->strategy, q->strategy) != 0)
            abort();
        /* every id is found again, and it is this one */
        if (doctor_report_find(a, p->id) != p)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct doctor_report *r = NULL;
    int k = doctor_report_from_string((const char *)data, size, &r);
    if (k < 0) {
        if (r)
            abort(); /* a failed parse hands nothing out */
        return 0;
    }
    (void)doctor_report_has(r, "setns.net");
    (void)doctor_report_lacks(r, "cgroup.v1.devices");
    char *text = NULL;
    if (doctor_report_to_string(r, &text) < 0)
        abort();
    struct doctor_report *back = NULL;
    if (doctor_report_from_string(text, strlen(text), &back) < 0)
        abort();
    same_or_abort(r, back);
    /* serializing again gives the same bytes */
    char *again = NULL;
    if (doctor_report_to_string(back, &again) < 0 || strcmp(text, again) != 0)
        abort();
    free(again);
    free(text);
    doctor_report_free(back);
    doctor_report_free(r);
    return 0;
}
