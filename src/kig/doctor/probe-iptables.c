/* iptables as kube-proxy uses it (legacy backend: gVisor has no nf_tables): the nat table, DNAT, REDIRECT,
 * MASQUERADE and the matches kube-proxy's rules need. Each rule goes into a throwaway network namespace,
 * which takes it along when the probe child exits; the xtables lock file goes into the scratch directory. */
#include "probe.h"

#include "fileutil.h"
#include "spawn.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define IPTABLES_TIMEOUT_MS       12000 /* one iptables run; gVisor on a busy machine is slow to exec */
#define IPTABLES_PROBE_TIMEOUT_MS 15000
#define IPTABLES_LIST             1u /* the arguments list a table rather than add a rule */

static bool has_cap_net_raw(void)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    unsigned long long eff;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "CapEff: %llx", &eff) == 1)
            return eff & (1ULL << CAP_NET_RAW);
    return false;
}

static char *find_iptables(void)
{
    const char *env = getenv("KIG_IPTABLES_LEGACY");
    if (env && *env)
        return find_executable(env);
    char *path = find_executable("iptables-legacy");
    return path ? path : find_executable("iptables");
}

/* Lines of iptables' stderr that are advice or warnings rather than the reason. */
static bool is_noise(const char *line, size_t len)
{
    return len == 0 || strncmp(line, "Perhaps ", 8) == 0 || strncmp(line, "Warning:", 8) == 0 ||
           memmem(line, len, "Could not determine whether revision", 36);
}

/* The reason in iptables' complaint: its last line that is not advice, without the version prefix and the
 * dmesg hint. "iptables v1.8.9 (legacy): can't initialize iptables table `nat': Table does not exist (do
 * you need to insmod?)" gives "can't initialize iptables table `nat': Table does not exist (...)". */
static void reason_line(const char *text, char *buf, size_t size)
{
    const char *start = NULL;
    size_t len = 0;
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        if (!is_noise(l, n) || !start) {
            start = l;
            len = n;
        }
        l += n;
        if (*l == '\n')
            l++;
    }
    if (!start) {
        buf[0] = '\0';
        return;
    }
    const char *colon = memchr(start, ':', len);
    if (len > 10 && strncmp(start, "iptables v", 10) == 0 && colon && (size_t)(colon + 2 - start) <= len) {
        len -= (size_t)(colon + 2 - start);
        start = colon + 2;
    }
    const char *advice = memmem(start, len, ". Run `dmesg'", 13);
    if (advice)
        len = (size_t)(advice - start);
    snprintf(buf, size, "%.*s", (int)(len > 150 ? 150 : len), start);
}

/* p->arg is the iptables arguments after the binary, space separated. */
static void probe_iptables(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    _cleanup_free_ char *bin = find_iptables();
    if (!bin) {
        probe_set(res, DOCTOR_ERROR, "iptables-legacy not found (apt-get install iptables)");
        return;
    }
    char lock[600];
    if (probe_scratch_dir(ctx, p->id, lock, sizeof(lock) - 16) == 0) {
        strcat(lock, "/xtables.lock");
        setenv("XTABLES_LOCKFILE", lock, 1); /* this is a throwaway child: its environment is its own */
    }
    char args[256];
    snprintf(args, sizeof(args), "%s", p->arg);
    const char *argv[24] = {bin, "-w", "2"};
    size_t argc = 3;
    char *save = NULL;
    for (char *t = strtok_r(args, " ", &save); t && argc < ARRAY_SIZE(argv) - 1;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc] = NULL;

    _cleanup_free_ char *out = NULL, *err = NULL;
    int status = 0;
    int r = run_capture(argv, &out, &err, IPTABLES_TIMEOUT_MS, &status);
    if (r < 0) {
        probe_set_errno(res, DOCTOR_ERROR, r, "running %s", bin);
        return;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        probe_set(res, DOCTOR_PRESENT, "%s", p->flags & IPTABLES_LIST ? "table listed" : "rule accepted");
        return;
    }
    char line[200];
    line[0] = '\0';
    if (err)
        reason_line(err, line, sizeof(line));
    /* Without CAP_NET_ADMIN (not root) iptables cannot tell us anything about the kernel. */
    enum doctor_status st = strstr(line, "you must be root") ? DOCTOR_ERROR : DOCTOR_MISSING;
    probe_set(res, st, "exit %d: %s", wait_status_to_exit_code(status), line[0] ? line : "(no message)");
    /* gVisor creates no tables at all without CAP_NET_RAW: say how to get them */
    if (strstr(line, "Table does not exist") && !has_cap_net_raw())
        probe_set_strategy(res, "%s; tables need CAP_NET_RAW (runsc --net-raw)", p->fallback);
}

#define PROXY "kig service proxy (userspace; kube-proxy not used)"
#define RULE  "-t nat -A OUTPUT -d 10.96.0.1/32 -p tcp --dport 443 "

static const struct probe probes[] = {
    {.id = "iptables.filter",
     .category = "iptables",
     .summary = "the filter table (kubelet's and kube-proxy's chains)",
     .fallback = "kubelet: makeIPTablesUtilChains false",
     .isolation = PROBE_CHILD_NETNS,
     .run = probe_iptables,
     .arg = "-t filter -S",
     .flags = IPTABLES_LIST,
     .timeout_ms = IPTABLES_PROBE_TIMEOUT_MS},
    {.id = "iptables.nat",
     .category = "iptables",
     .summary = "the nat table (kube-proxy, CNI portmap and masquerading)",
     .fallback = PROXY,
     .isolation = PROBE_CHILD_NETNS,
     .run = probe_iptables,
     .arg = "-t nat -S",
     .flags = IPTABLES_LIST,
     .timeout_ms = IPTABLES_PROBE_TIMEOUT_MS},
    {.id = "iptables.nat.dnat",
     .category = "iptables",
     .summary = "DNAT to a Service's endpoint (kube-proxy)",
     .fallback = PROXY,
     .isolation = PROBE_CHILD_NETNS,
     .run = probe_iptables,
     .arg = RULE "-j DNAT --to-destination 127.0.0.1:6443",
     .timeout_ms = IPTABLES_PROBE_TIMEOUT_MS},
    {.id = "iptables.nat.redirect",
     .category = "iptables",
     .summary = "REDIRECT to a local port",
     .fallback = PROXY,
     .isolation = PROBE_CHILD_NETNS,
     .run = probe_iptables,
     .arg = RULE "-j REDIRECT --to-ports 6443",
     .timeout_ms = IPTABLES_PROBE_TIMEOUT_MS},
    {.id = "iptables.nat.masquerade",
     .category = "iptables",
     .summary = "MASQUERADE of pod traffic (kube-proxy, CNI ipMasq)",
     .fallback = "pods reach the outside through the kig switch (no masquerading)",
     .isolation = PROBE_CHILD_NETNS,
     .run = probe_iptables,
     .arg = "-t nat -A POSTROUTING -s 10.244.0.0/16 -j MASQUERADE",
     .timeout_ms = IPTABLES_PROBE_TIMEOUT_MS},
    {.id = "iptables.match.comment",
     .category = "iptables",
     .summary = "the comment match (every kube-proxy rule has one)",
     .fallback = PROXY,
     .isolation = PROBE_CHILD_NETNS,
     .run = probe_iptables,
     .arg = "-t filter -A INPUT -m comment --comment kig-doctor -j ACCEPT",
     .timeout_ms = IPTABLES_PROBE_TIMEOUT_MS},
    {.id = "iptables.match.statistic",
     .category = "iptables",
     .summary = "the statistic match (kube-proxy's load balancing)",
     .fallback = PROXY,
     .isolation = PROBE_CHILD_NETNS,
     .run = probe_iptables,
     .arg = "-t filter -A INPUT -m statistic --mode random --probability 0.5 -j ACCEPT",
     .timeout_ms = IPTABLES_PROBE_TIMEOUT_MS},
    {.id = "iptables.match.conntrack",
     .category = "iptables",
     .summary = "the conntrack match (kube-proxy, CNI portmap)",
     .fallback = PROXY,
     .isolation = PROBE_CHILD_NETNS,
     .run = probe_iptables,
     .arg = "-t filter -A INPUT -m conntrack --ctstate INVALID -j DROP",
     .timeout_ms = IPTABLES_PROBE_TIMEOUT_MS},
};

PROBE_TABLE(probe_table_iptables, probes);
