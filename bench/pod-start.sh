#!/usr/bin/env bash
# Pod start-up inside gVisor, in one sandbox and one run, for each real runtime kig-runtime can drive
# (`kig up --oci-runtime crun`, then `runc`, each on a fresh data dir):
#  - `kig up` start to the first pod Running (kig up, which loads its pause image, the busybox image
#    imported, `kubectl apply`, Running);
#  - pod start for PODS pods (default 20) created one after the other with the image present: p50 and p95
#    of the API's creationTimestamp to the container's startedAt (kubelet's), so neither kubectl's start-up
#    nor waiting counts (a watch with custom columns printed <none> in kubectl 1.20); one-second resolution;
#  - a burst: PODS more pods created by one `kubectl apply`: first creation to last container start;
#  - the ratios of each run to the first (crun, kig-runtime's default, unless --runtimes says otherwise).
# The issue's goals: first pod <= 30 s after `kig up`, p50 <= 2 s. Figures only: nothing here asserts.
#
#   bench/pod-start.sh [--pods N] [--runtimes "crun runc"]     (as root; needs a built kig)
#   A run is RUNTIME or RUNTIME,OPTION,... with kig-trace options for the node's tracer
#   (KIG_NODE_TRACE_ARGS), e.g. --runtimes "crun crun,--trap-marked-mounts".
#   KIG_PODS_NETWORK=pod (default) or host: hostNetwork pods, or pods in their own network namespace.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${KIG_BUILD_DIR:-$SRC/build}
KIG=${KIG:-$BUILD/src/kig/kig}
BED=${BED:-$SRC/tests/runsc/bed}
KUBECTL=${KIG_KUBECTL:-$(command -v kubectl || echo /usr/bin/kubectl)}
PODS_NETWORK=${KIG_PODS_NETWORK:-pod}
pods=20
runtimes="crun runc"
inside=""
while [ $# -gt 0 ]; do
    case "$1" in
    --pods) pods=${2:?}; shift ;;
    --runtimes) runtimes=${2:?}; shift ;;
    --inside) inside=${2:?}; shift ;;
    *) echo "pod-start: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
export KIG KUBECTL PODS_NETWORK

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1000:.1f}')" "$1"; }
kc() { "$KUBECTL" --request-timeout=60s "$@"; }

pod_manifest() { # NAME
    local hostnet=""
    [ "$PODS_NETWORK" = host ] && hostnet="hostNetwork: true"
    cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {bench: pod-start}}
spec:
  $hostnet
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: localhost/kig/busybox:latest
    imagePullPolicy: Never
    command: ["sleep", "3600"]
---
EOF
}

# "NAME START_MS" per pod whose name starts with PREFIX: the API's creationTimestamp to its first
# container's startedAt (kubelet's clock and the apiserver's are the sandbox's; both to the second).
start_times() { # PODS_JSON PREFIX
    python3 - "$1" "$2" <<'PY'
import json, sys
from datetime import datetime
def t(s): return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timestamp()
for p in json.load(open(sys.argv[1]))["items"]:
    name = p["metadata"]["name"]
    st = (p["status"].get("containerStatuses") or [{}])[0].get("state", {}).get("running", {}).get("startedAt")
    if name.startswith(sys.argv[2]) and st:
        print(name, int((t(st) - t(p["metadata"]["creationTimestamp"])) * 1000))
PY
}

# Milliseconds from the first creation to the last container start among PREFIX pods ("-" if one is not
# running).
makespan() { # PODS_JSON PREFIX COUNT
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
from datetime import datetime
def t(s): return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timestamp()
made, started = [], []
for p in json.load(open(sys.argv[1]))["items"]:
    if not p["metadata"]["name"].startswith(sys.argv[2]): continue
    made.append(t(p["metadata"]["creationTimestamp"]))
    st = (p["status"].get("containerStatuses") or [{}])[0].get("state", {}).get("running", {}).get("startedAt")
    if st: started.append(t(st))
print(int((max(started) - min(made)) * 1000) if made and len(started) == int(sys.argv[3]) else "-")
PY
}

percentiles() { # values in ms -> "p50 p95" in s
    python3 -c '
import sys
v = sorted(int(x) for x in sys.argv[1:])
if not v: print("- -"); sys.exit()
def pct(p):
    k = (len(v) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)
print("%.2f %.2f" % (pct(50) / 1000, pct(95) / 1000))' "$@"
}

# One watching kubectl per wait: polling with `kubectl get` every 0.3 s started a Go program three times a
# second, which on 2 CPUs in gVisor took CPU from the very pods being measured (p50 10 s polled, against
# 5.5 s for the same pod start watched).
wait_running() { # NAME TIMEOUT_S
    "$KUBECTL" wait --for=condition=Ready "pod/$1" --timeout="$2s" >/dev/null 2>&1
}

# One run: prints "RUN FIRST_POD_S UP_S P50 P95 BURST_S N_OK".
measure() { # RUN WORKDIR
    local rt=${1%%,*} trace_args="" w=$2 d=$2/data t0 t_up t_img t_first i ok times burst line
    [ "$rt" != "$1" ] && trace_args=$(tr , ' ' <<<"${1#*,}")
    rt=$1
    t0=$(now_ms)
    if ! KIG_NODE_TRACE_ARGS=$trace_args "$KIG" up --oci-runtime "${rt%%,*}" --data-dir "$d" >/dev/null 2>"$w/up.err"; then
        echo "# $rt: kig up failed: $(tail -n 2 "$w/up.err" | tr '\n' ' ')" >&2
        echo "$rt - - - - - 0"
        return
    fi
    t_up=$(now_ms)
    export KUBECONFIG=$d/kubeconfig/admin.kubeconfig
    ctr -a "$d/node/containerd/containerd.sock" -n k8s.io images import "$IMAGES/kig-busybox.oci.tar" >/dev/null 2>&1 ||
        echo "# $rt: busybox import failed" >&2
    t_img=$(now_ms)
    pod_manifest first | kc apply -f - >/dev/null
    if wait_running first 600; then t_first=$(now_ms); else t_first=""; fi
    echo "# $rt: kig up $(secs $((t_up - t0))) s, image imported at $(secs $((t_img - t0))) s, first pod Running at ${t_first:+$(secs $((t_first - t0)))} s" >&2

    for i in $(seq 1 "$pods"); do
        pod_manifest "seq-$i" | kc apply -f - >/dev/null
        wait_running "seq-$i" 300 || echo "# $rt: seq-$i not Running after 300 s" >&2
    done
    for i in $(seq 1 "$pods"); do pod_manifest "burst-$i"; done | kc apply -f - >/dev/null
    "$KUBECTL" wait --for=condition=Ready pod -l bench=pod-start --timeout=900s >/dev/null 2>&1
    kc get pods -o json >"$w/pods.json"
    times=$(start_times "$w/pods.json" seq- | awk '{print $2}')
    burst=$(makespan "$w/pods.json" burst- "$pods")
    ok=$(echo "$times" | grep -c .)
    echo "# $rt: per-pod start (ms): $(echo $times)" >&2
    line="$rt $([ -n "$t_first" ] && secs $((t_first - t0)) || echo -) $(secs $((t_up - t0))) $(percentiles $times) $([ "$burst" = - ] && echo - || secs "$burst") $ok"
    # Also on stderr at once, so a run stopped during the next runtime keeps this one's figures.
    echo "# $rt: result: $line" >&2
    echo "$line"
    "$KIG" down --purge --data-dir "$d" >/dev/null 2>&1
}

if [ -n "$inside" ]; then
    IMAGES=$inside/images
    results=()
    n=0
    for rt in $runtimes; do
        n=$((n + 1))
        mkdir -p "$inside/$n"
        results+=("$(measure "$rt" "$inside/$n")")
    done
    printf '%-6s %-22s %-10s %-8s %-8s %-22s\n' run "kig up->1st pod Running" "kig up" p50 p95 "burst of $pods: all Running"
    for r in "${results[@]}"; do
        set -- $r
        printf '%-6s %-22s %-10s %-8s %-8s %-22s (%s of %s pods measured)\n' "$1" "$2 s" "$3 s" "$4 s" "$5 s" "$6 s" "$7" "$pods"
    done
    python3 - "${results[@]}" <<'PY'
import sys
rows = [r.split() for r in sys.argv[1:]]
base = rows[0]
for r in rows[1:]:
    def ratio(i):
        try: return "%.2f" % (float(r[i]) / float(base[i]))
        except (ValueError, ZeroDivisionError): return "-"
    print("ratio %s/%s: first pod %s, p50 %s, p95 %s, burst %s" % (r[0], base[0], ratio(1), ratio(3), ratio(4), ratio(5)))
print("goals: first pod <= 30 s after kig up, p50 <= 2 s")
PY
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "pod-start: run as root" >&2; exit 1; }
[ -x "$KIG" ] || { echo "pod-start: $KIG is missing: build first (ninja -C $BUILD)" >&2; exit 1; }
work=$(mktemp -d /tmp/kig-bench-podstart.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
"$SRC/scripts/build-images.sh" --pause "$BUILD/src/kig-pause/kig-pause" "$work/images" >/dev/null || exit 1
echo "host load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "inside gVisor ($(runsc --version 2>/dev/null | head -1)), $(nproc) CPUs; $pods pods; runtimes: $runtimes; pods network: $PODS_NETWORK"
"$BED" --timeout 5400 -- env KIG="$KIG" KIG_KUBECTL="$KUBECTL" KIG_PODS_NETWORK="$PODS_NETWORK" \
    bash "$0" --pods "$pods" --runtimes "$runtimes" --inside "$work"
rc=$?
echo "host load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
