/* The report of `kig doctor`: which kernel interfaces this machine offers and how kig provides each.
 *
 * `kig doctor --json` writes it; every other kig program (the OCI runtime wrapper, the CNI plugin, the tracer
 * configuration) reads it to choose a strategy, so that on a newer gVisor with a feature built in, kig leaves
 * that feature alone. The JSON schema is documented in docs/doctor.md:
 *
 *   {"schema": 1, "kig_version": "0.1.0", "uname_release": "4.4.0", "in_gvisor": true,
 *    "probes": [{"id": "setns.net", "category": "ns", "status": "missing",
 *                "evidence": "EOPNOTSUPP", "strategy": "..."}, ...]}
 *
 * Adding probes or keys does not change "schema"; readers ignore keys they do not know. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define DOCTOR_REPORT_SCHEMA 1

enum doctor_status {
    DOCTOR_PRESENT, /* the interface works as on Linux */
    DOCTOR_MISSING, /* absent or refused: kig supplies it */
    DOCTOR_PARTIAL, /* some of it works (e.g. a sysctl readable but not writable) */
    DOCTOR_ERROR,   /* could not tell (e.g. EPERM when not root): treat as missing */
    _DOCTOR_STATUS_MAX,
};

struct doctor_probe_result {
    char *id;       /* stable, dotted: "sysctl.kernel.cap_last_cap", "cgroup.v1.devices" */
    char *category; /* "sysctl", "cgroup", "mount", ... */
    enum doctor_status status;
    char *evidence; /* what was seen: an errno name or a value */
    char *strategy; /* how kig provides the interface: "native" when present */
};

struct doctor_report {
    int schema;
    char *kig_version;
    char *uname_release;
    bool in_gvisor;
    struct doctor_probe_result *probes;
    size_t n_probes;
    size_t allocated;
};

/* "present", "missing", "partial", "error"; NULL for a value out of range. */
const char *doctor_status_to_string(enum doctor_status s);
/* Returns the status or -EINVAL. */
int doctor_status_from_string(const char *s);

/* A new empty report for this kig build (schema and kig_version filled in); NULL on ENOMEM. */
struct doctor_report *doctor_report_new(const char *uname_release, bool in_gvisor);
void doctor_report_free(struct doctor_report *r);
static inline void doctor_report_freep(struct doctor_report **r)
{
    doctor_report_free(*r);
}
#define _cleanup_doctor_report_ __attribute__((cleanup(doctor_report_freep)))

/* Appends one probe's result (strings are copied; evidence and strategy may be NULL for "").
 * Returns 0, -EINVAL for an invalid status, an empty id or an id already present, or -ENOMEM. */
int doctor_report_add(struct doctor_report *r, const char *id, const char *category,
                      enum doctor_status status, const char *evidence, const char *strategy);

/* The result with this id, or NULL. */
const struct doctor_probe_result *doctor_report_find(const struct doctor_report *r, const char *id);
/* The status of a probe, or -ENOENT when the report has no such probe. */
int doctor_report_status(const struct doctor_report *r, const char *id);
/* True when the probe ran and the interface is present: the test kig uses to leave a feature alone. */
bool doctor_report_has(const struct doctor_report *r, const char *id);
/* True when the probe ran and found the interface missing or partial (a probe that could not tell, or that
 * did not run, is neither has() nor lacks(): callers decide how careful to be). */
bool doctor_report_lacks(const struct doctor_report *r, const char *id);

/* Serializes to a new JSON object. Returns 0 or -ENOMEM. */
int doctor_report_to_json(const struct doctor_report *r, json_t **ret);
/* Serializes to an indented JSON text ending in a newline. */
int doctor_report_to_string(const struct doctor_report *r, char **ret);

/* Parses a report. Any input is safe; returns 0, -EBADMSG for JSON that is not a schema-1 report (wrong
 * types, unknown status, duplicate ids), -EPROTONOSUPPORT for another schema version, or -ENOMEM. */
int doctor_report_from_json(const json_t *j, struct doctor_report **ret);
int doctor_report_from_string(const char *data, size_t len, struct doctor_report **ret);
/* Reads and parses a report file (e.g. one saved from `kig doctor --json`). */
int doctor_report_load(const char *path, struct doctor_report **ret);
