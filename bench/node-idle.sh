#!/usr/bin/env bash
# What a node costs while its pods do nothing, inside gVisor, in one sandbox and one run: for kig's default
# (GOMAXPROCS=1 for the Go components on a machine of at most 2 CPUs) and for the Go default (GOMAXPROCS set
# to the CPU count, which kig then leaves alone), alternating, REPS times each:
#  - `kig up` time;
#  - PODS pods started one after the other (`kubectl run`, then `kubectl wait` for Ready), each timed;
#  - after a 20 s settle, the CPU every process used in 30 s, summed by command name (/proc/PID/stat utime +
#    stime, ticks of 10 ms, as gVisor accounts them).
# Prints each run, the medians, and the ratios kig-default / Go-default. Figures only: nothing here asserts.
#
#   bench/node-idle.sh [--reps N] [--pods N]     (as root; needs a built kig and the Kubernetes binaries)
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
KIG=${KIG:-$SRC/build/src/kig/kig}
BED=${BED:-$SRC/tests/runsc/bed}
KUBECTL=${KIG_KUBECTL:-$(command -v kubectl || echo /usr/bin/kubectl)}
reps=2
pods=4
inside=""
while [ $# -gt 0 ]; do
    case "$1" in
    --reps) reps=${2:?}; shift ;;
    --pods) pods=${2:?}; shift ;;
    --inside) inside=${2:?}; shift ;;
    *) echo "node-idle: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# "COMMAND TICKS" per command name, summed over every process.
cpu_snapshot() {
    python3 - <<'PY'
import glob, collections
ticks = collections.Counter()
for path in glob.glob("/proc/[0-9]*/stat"):
    try:
        s = open(path).read()
    except OSError:
        continue
    comm, rest = s[s.index("(") + 1:s.rindex(")")], s[s.rindex(")") + 2:].split()
    ticks[comm.replace(" ", "_")] += int(rest[11]) + int(rest[12])
for comm, t in sorted(ticks.items()):
    print(comm, t)
PY
}

# One run: prints "LABEL UP_MS IDLE_TICKS POD_MS... | TOP" on stdout.
run_once() { # LABEL ENV...
    local label=$1 d t0 up i t1 times="" idle top
    shift
    d=$W/$label-$RANDOM
    t0=$(now_ms)
    if ! env "$@" "$KIG" up --data-dir "$d" >/dev/null 2>"$W/up.err"; then
        echo "# $label: kig up failed: $(tail -n 2 "$W/up.err" | tr '\n' ' ')" >&2
        return 1
    fi
    up=$(($(now_ms) - t0))
    export KUBECONFIG=$d/kubeconfig/admin.kubeconfig
    "$KIG" image load --data-dir "$d" "$W/images/kig-busybox.oci.tar" >/dev/null
    for i in $(seq 1 "$pods"); do
        t1=$(now_ms)
        "$KUBECTL" run "p$i" --image=localhost/kig/busybox:latest --image-pull-policy=Never --restart=Never \
            -- sleep 3600 >/dev/null
        "$KUBECTL" wait --for=condition=Ready "pod/p$i" --timeout=300s >/dev/null
        times="$times $(($(now_ms) - t1))"
    done
    sleep 20
    cpu_snapshot >"$W/cpu0"
    sleep 30
    cpu_snapshot >"$W/cpu1"
    read -r idle top < <(python3 - "$W/cpu0" "$W/cpu1" <<'PY'
import sys
a = dict(l.split() for l in open(sys.argv[1]))
d = {}
for l in open(sys.argv[2]):
    k, v = l.split()
    if int(v) - int(a.get(k, 0)) > 0:
        d[k] = int(v) - int(a.get(k, 0))
top = sorted(d.items(), key=lambda kv: -kv[1])[:5]
print(sum(d.values()), ",".join("%s=%d" % kv for kv in top))
PY
)
    "$KIG" down --purge --data-dir "$d" >/dev/null 2>&1
    echo "$label $up $idle$times | $top"
}

if [ -n "$inside" ]; then
    W=$inside
    cpus=$(nproc)
    : >"$W/runs"
    for r in $(seq 1 "$reps"); do
        run_once kig-default >>"$W/runs" || exit 1
        run_once go-default "GOMAXPROCS=$cpus" >>"$W/runs" || exit 1
        tail -n 2 "$W/runs" | sed 's/^/# /' >&2
    done
    python3 - "$W/runs" "$pods" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    head, _, top = line.partition(" | ")
    f = head.split()
    runs.setdefault(f[0], []).append((int(f[1]), int(f[2]), [int(x) for x in f[3:]], top.strip()))
med = lambda v: statistics.median(v)
print("label        kig up    idle CPU in 30 s   pod start (median of %s)   busiest at rest" % sys.argv[2])
summary = {}
for label in ("kig-default", "go-default"):
    rs = runs.get(label, [])
    if not rs:
        continue
    up, idle = med([r[0] for r in rs]) / 1000, med([r[1] for r in rs])
    pod = med([t for r in rs for t in r[2]]) / 1000
    summary[label] = (up, idle, pod)
    print("%-12s %5.1f s   %6d ticks        %5.1f s                   %s" % (label, up, idle, pod, rs[-1][3]))
if len(summary) == 2:
    k, g = summary["kig-default"], summary["go-default"]
    print("ratio kig-default/go-default: kig up %.2f, idle CPU %.2f, pod start %.2f" % (k[0] / g[0], k[1] / g[1], k[2] / g[2]))
PY
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "node-idle: run as root" >&2; exit 1; }
[ -x "$KIG" ] || { echo "node-idle: $KIG is missing: build first" >&2; exit 1; }
work=$(mktemp -d /tmp/kig-bench-idle.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
"$SRC/scripts/build-images.sh" --pause "$(dirname "$KIG")/../kig-pause/kig-pause" "$work/images" >/dev/null || exit 1
echo "host load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "inside gVisor ($(runsc --version 2>/dev/null | head -1)), $(nproc) CPUs; $reps runs each; $pods pods"
"$BED" --timeout 3600 -- env KIG="$KIG" KIG_KUBECTL="$KUBECTL" bash "$0" --reps "$reps" --pods "$pods" --inside "$work"
rc=$?
echo "host load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
