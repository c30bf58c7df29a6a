#!/usr/bin/env bash
# What kubelet's disk-usage measurements cost a node at rest inside gVisor, with kig-du answering them
# (kig's default: <node>/kubelet-path/nice and find -> kig-du) and with GNU's nice, du and find, on the same
# node in one sandbox run: `kig up`, PODS pods sleeping, then ROUNDS rounds alternating the two (the links
# moved aside and back: kubelet looks its programs up in PATH at every run), each a 15 s settle and 30 s
# measured. Per round: kubelet's own CPU, its reaped children's (nice/du/find, kig-du), and every process's
# together (/proc/PID/stat ticks of 10 ms as gVisor accounts them, which over-counts: read them as
# shares). Prints the rounds, the medians and the ratios kig-du / GNU. Figures only: nothing asserts.
#
#   bench/node-du.sh [--pods N] [--rounds N]     (as root; needs a built kig and the Kubernetes binaries)
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${KIG_BUILD_DIR:-$SRC/build}
KIG=${KIG:-$BUILD/src/kig/kig}
BED=${BED:-$SRC/tests/runsc/bed}
KUBECTL=${KIG_KUBECTL:-$(command -v kubectl || echo /usr/bin/kubectl)}
pods=20
rounds=3
inside=""
while [ $# -gt 0 ]; do
    case "$1" in
    --pods) pods=${2:?}; shift ;;
    --rounds) rounds=${2:?}; shift ;;
    --inside) inside=${2:?}; shift ;;
    *) echo "node-du: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

# "COMM SELF CHILDREN" per command name, summed over the live processes.
snapshot() {
    python3 - <<'PY'
import collections, glob
own, reaped = collections.Counter(), collections.Counter()
for path in glob.glob("/proc/[0-9]*/stat"):
    try:
        s = open(path).read()
    except OSError:
        continue
    comm, rest = s[s.index("(") + 1:s.rindex(")")].replace(" ", "_"), s[s.rindex(")") + 2:].split()
    own[comm] += int(rest[11]) + int(rest[12])
    reaped[comm] += int(rest[13]) + int(rest[14])
for comm in set(own) | set(reaped):
    print(comm, own[comm], reaped[comm])
PY
}

# "KUBELET_SELF KUBELET_CHILDREN ALL" between two snapshots (ALL: every process's own and reaped ticks).
delta() { # BEFORE AFTER
    python3 - "$1" "$2" <<'PY'
import sys
def load(p): return {l.split()[0]: tuple(map(int, l.split()[1:])) for l in open(p)}
a, b = load(sys.argv[1]), load(sys.argv[2])
d = {k: (v[0] - a.get(k, (0, 0))[0], v[1] - a.get(k, (0, 0))[1]) for k, v in b.items()}
k = d.get("kubelet", (0, 0))
print(k[0], k[1], sum(max(x, 0) + max(y, 0) for x, y in d.values()))
PY
}

if [ -n "$inside" ]; then
    w=$inside d=$inside/data
    "$KIG" up --data-dir "$d" >/dev/null 2>"$w/up.err" || { echo "node-du: kig up failed: $(tail -n 2 "$w/up.err")"; exit 1; }
    export KUBECONFIG=$d/kubeconfig/admin.kubeconfig
    "$KIG" image load --data-dir "$d" "$w/images/kig-busybox.oci.tar" >/dev/null
    for i in $(seq 1 "$pods"); do
        printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p%s}\nspec:\n  terminationGracePeriodSeconds: 0\n' "$i"
        printf '  containers:\n  - {name: c, image: localhost/kig/busybox:latest, imagePullPolicy: Never, command: ["sleep", "3600"]}\n---\n'
    done | "$KUBECTL" apply -f - >/dev/null
    "$KUBECTL" wait --for=condition=Ready pod --all --timeout=900s >/dev/null ||
        echo "# not every pod was Ready after 900 s" >&2
    links=$d/node/kubelet-path
    [ -L "$links/nice" ] && [ -L "$links/find" ] || { echo "node-du: no kig-du links in $links"; exit 1; }
    mkdir -p "$w/aside"
    results=()
    for r in $(seq 1 "$rounds"); do
        for mode in kig-du gnu; do
            if [ $mode = gnu ]; then mv "$links/nice" "$links/find" "$w/aside/"; fi
            sleep 15
            snapshot >"$w/s0"
            sleep 30
            snapshot >"$w/s1"
            [ $mode = gnu ] && mv "$w/aside/nice" "$w/aside/find" "$links/"
            results+=("$mode $(delta "$w/s0" "$w/s1")")
            echo "# round $r $mode: kubelet, its children, all (ticks in 30 s): ${results[-1]#* }" >&2
        done
    done
    "$KIG" down --purge --data-dir "$d" >/dev/null 2>&1
    python3 - "${results[@]}" <<'PY'
import statistics, sys
rows = [r.split() for r in sys.argv[1:]]
med = {m: [statistics.median(int(r[i]) for r in rows if r[0] == m) for i in (1, 2, 3)] for m in ("kig-du", "gnu")}
print("%-8s %14s %18s %16s" % ("", "kubelet self", "kubelet children", "all processes"))
for m in ("kig-du", "gnu"):
    print("%-8s %14d %18d %16d" % (m, *med[m]))
ratio = lambda i: "%.2f" % (med["kig-du"][i] / med["gnu"][i]) if med["gnu"][i] else "-"
print("ratio kig-du/gnu: kubelet self %s, children %s, all %s" % (ratio(0), ratio(1), ratio(2)))
PY
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "node-du: run as root" >&2; exit 1; }
[ -x "$KIG" ] || { echo "node-du: $KIG is missing: build first (ninja -C $BUILD)" >&2; exit 1; }
work=$(mktemp -d /tmp/kig-bench-node-du.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
"$SRC/scripts/build-images.sh" --pause "$BUILD/src/kig-pause/kig-pause" "$work/images" >/dev/null || exit 1
echo "host load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "inside gVisor ($(runsc --version 2>/dev/null | head -1)), $(nproc) CPUs; $pods pods at rest; $rounds rounds"
"$BED" --timeout 3600 -- env KIG="$KIG" KIG_KUBECTL="$KUBECTL" bash "$0" --pods "$pods" --rounds "$rounds" --inside "$work"
rc=$?
echo "host load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
