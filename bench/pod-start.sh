#!/usr/bin/env bash
# Pod start-up inside gVisor, in one sandbox and one run, for each real runtime kig-runtime can drive
# (`kig up --oci-runtime crun`, then `runc`, each on a fresh data dir):
#  - `kig up` start to the first pod Running (kig up, which loads its pause image, the busybox image
#    imported, `kubectl apply`, Running);
#  - pod start for PODS pods (default 20) created one after the other with the image present: p50 and p95
#    of the time from a pod's appearance to its phase Running, both as one watching kubectl sees them
#    (milliseconds; what a user waiting with `kubectl get -w` sees), and of the API's creationTimestamp to
#    the container's startedAt (kubelet's; one-second resolution, without the status report's delay);
#  - a burst: PODS more pods created by one `kubectl apply`: first appearance to last Running (watched),
#    and first creation to last container start (API timestamps);
#  - the ratios of each run to the first (crun, kig-runtime's default, unless --runtimes says otherwise).
# The issue's goals: first pod <= 30 s after `kig up`, p50 <= 2 s. Figures only: nothing here asserts.
#
#   bench/pod-start.sh [--pods N] [--runtimes "crun runc"]     (as root; needs a built kig)
#   A run is RUNTIME or RUNTIME,OPTION,...: an OPTION NAME=VALUE (upper-case name) is put in `kig up`'s
#   environment, which the node inherits; any other is a kig-trace option for the node's tracer
#   (KIG_NODE_TRACE_ARGS). E.g. --runtimes "crun crun,--trap-marked-mounts" or
#   --runtimes "crun,KIG_SANDBOX_INIT=runtime crun" (the pause container run by crun, then by kig-runtime;
#   KIG_CONTAINER_INIT the same for the app containers).
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

# Runs one `kubectl get -w` on the bench's pods and prints, per pod it saw before the pod ran, "NAME SEEN_MS
# RUNNING_MS" (the arrival of its first event and of the first with phase Running, one monotonic clock), and
# "- watching" once the watch delivers (its list holds the first pod). Ends on SIGTERM.
WATCHER='
import codecs, json, os, signal, subprocess, sys, time
kubectl = subprocess.Popen([sys.argv[1], "get", "pods", "-l", "bench=pod-start", "-w", "-o", "json",
                            "--output-watch-events"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
def stop(*_):
    kubectl.kill()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
text, utf8, decoder = "", codecs.getincrementaldecoder("utf-8")(), json.JSONDecoder()
seen, running, announced = {}, set(), False
while True:
    chunk = os.read(kubectl.stdout.fileno(), 65536)
    if not chunk:
        break
    now = int(time.monotonic() * 1000)
    text += utf8.decode(chunk)
    while True:
        text = text.lstrip()
        try:
            event, end = decoder.raw_decode(text)
        except ValueError:
            break
        text = text[end:]
        pod = event.get("object", event)
        name = pod.get("metadata", {}).get("name", "")
        is_running = pod.get("status", {}).get("phase") == "Running"
        if not announced:
            print("- watching", flush=True)
            announced = True
        if name not in seen:
            seen[name] = None if is_running else now
        if is_running and name not in running:
            running.add(name)
            if seen[name] is not None:
                print(name, seen[name], now, flush=True)
'

watch_start() { # OUT_FILE; sets watch_pid
    python3 -c "$WATCHER" "$KUBECTL" >"$1" &
    watch_pid=$!
    local i
    for i in $(seq 1 300); do
        grep -q '^- watching' "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "# the pod watch delivered nothing in 30 s" >&2
}

# From a watch file: "p50 p95" of RUNNING - SEEN over PREFIX pods, in ms (bare values, for percentiles).
watched_times() { # WATCH_FILE PREFIX
    awk -v p="$2" 'index($1, p) == 1 { print $3 - $2 }' "$1"
}

# From a watch file: first appearance to last Running among PREFIX pods, in ms ("-" unless COUNT ran).
watched_makespan() { # WATCH_FILE PREFIX COUNT
    awk -v p="$2" -v n="$3" 'index($1, p) == 1 { c++; if (!s || $2 < s) s = $2; if ($3 > e) e = $3 }
        END { if (c == n) print e - s; else print "-" }' "$1"
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

# Waits for NAME's line in the watch file without starting a program: a `kubectl wait` per pod was a Go
# program starting on the same 2 CPUs while the pod it waited for started. Sleeps are `read -t` on a FIFO
# nobody writes.
wait_watched() { # WATCH_FILE NAME TIMEOUT_S
    local line deadline=$((SECONDS + $3 + 1)) nap
    [ -p "$1.nap" ] || mkfifo "$1.nap" || return 1
    exec {nap}<>"$1.nap"
    while [ "$SECONDS" -lt "$deadline" ]; do
        while IFS= read -r line; do
            [[ $line == "$2 "* ]] && { exec {nap}<&-; return 0; }
        done <"$1"
        read -r -t 0.1 -u "$nap" line
    done
    exec {nap}<&-
    return 1
}

# One run: prints "RUN FIRST_POD_S UP_S P50 P95 BURST_S N_OK P50_API P95_API BURST_API_S N_OK_API": the
# first three watched, the next three from the API's timestamps.
measure() { # RUN WORKDIR
    local rt=${1%%,*} trace_args="" w=$2 d=$2/data t0 t_up t_img t_first i ok times burst line
    local wtimes wburst wok watch_pid option envs=()
    if [ "$rt" != "$1" ]; then
        for option in $(tr , ' ' <<<"${1#*,}"); do
            case $option in
            [A-Z]*=*) envs+=("$option") ;;
            *) trace_args+="${trace_args:+ }$option" ;;
            esac
        done
    fi
    rt=$1
    t0=$(now_ms)
    if ! env "${envs[@]}" KIG_NODE_TRACE_ARGS="$trace_args" "$KIG" up --oci-runtime "${rt%%,*}" --data-dir "$d" >/dev/null 2>"$w/up.err"; then
        echo "# $rt: kig up failed: $(tail -n 2 "$w/up.err" | tr '\n' ' ')" >&2
        echo "$rt - - - - - 0 - - - 0"
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

    watch_start "$w/watch.txt"
    for i in $(seq 1 "$pods"); do
        pod_manifest "seq-$i" | kc apply -f - >/dev/null
        wait_watched "$w/watch.txt" "seq-$i" 300 || echo "# $rt: seq-$i not Running after 300 s" >&2
    done
    for i in $(seq 1 "$pods"); do pod_manifest "burst-$i"; done | kc apply -f - >/dev/null
    "$KUBECTL" wait --for=condition=Ready pod -l bench=pod-start --timeout=900s >/dev/null 2>&1
    sleep 2 # the watch's last events
    kill "$watch_pid" 2>/dev/null
    wait "$watch_pid" 2>/dev/null
    kc get pods -o json >"$w/pods.json"
    wtimes=$(watched_times "$w/watch.txt" seq-)
    wburst=$(watched_makespan "$w/watch.txt" burst- "$pods")
    wok=$(echo "$wtimes" | grep -c .)
    times=$(start_times "$w/pods.json" seq- | awk '{print $2}')
    burst=$(makespan "$w/pods.json" burst- "$pods")
    ok=$(echo "$times" | grep -c .)
    echo "# $rt: per-pod start, watched (ms): $(echo $wtimes)" >&2
    echo "# $rt: per-pod start, creationTimestamp to startedAt (ms): $(echo $times)" >&2
    line="$rt $([ -n "$t_first" ] && secs $((t_first - t0)) || echo -) $(secs $((t_up - t0)))"
    line+=" $(percentiles $wtimes) $([ "$wburst" = - ] && echo - || secs "$wburst") $wok"
    line+=" $(percentiles $times) $([ "$burst" = - ] && echo - || secs "$burst") $ok"
    # Also on stderr at once, so a run stopped during the next runtime keeps this one's figures.
    echo "# $rt: result: $line" >&2
    echo "$line"
    "$KIG" down --purge --data-dir "$d" >/dev/null 2>&1
}

# The cost of one program start in this sandbox, the unit a pod's start is made of (docs/pods.md, "Speed"):
# the mean of 50 starts of /bin/true, in ms. It differs several-fold between host machines, so the figures
# of two machines compare only through it.
program_start_ms() {
    local t0 i
    t0=$(date +%s%N)
    for i in $(seq 50); do /bin/true; done
    awk -v ns=$(($(date +%s%N) - t0)) 'BEGIN { printf "%.1f\n", ns / 50 / 1e6 }'
}

if [ -n "$inside" ]; then
    IMAGES=$inside/images
    echo "program start in this sandbox (/bin/true, mean of 50): $(program_start_ms) ms, before the runs"
    results=()
    n=0
    for rt in $runtimes; do
        n=$((n + 1))
        mkdir -p "$inside/$n"
        results+=("$(measure "$rt" "$inside/$n")")
    done
    echo "pod start: watched = a pod's first event to its phase Running as one kubectl watch delivers them;"
    echo "api = creationTimestamp to the container's startedAt (one-second resolution)"
    printf '%-24s %-12s %-10s %-16s %-16s %-16s %-16s %-16s\n' run "1st Running" "kig up" "p50 watched" \
        "p95 watched" "burst watched" "p50/p95 api" "burst api"
    for r in "${results[@]}"; do
        set -- $r
        printf '%-24s %-12s %-10s %-16s %-16s %-16s %-16s %-16s (%s, %s of %s pods measured)\n' "$1" "$2 s" \
            "$3 s" "$4 s" "$5 s" "$6 s" "$8/$9 s" "${10} s" "$7" "${11}" "$pods"
    done
    python3 - "${results[@]}" <<'PY'
import sys
rows = [r.split() for r in sys.argv[1:]]
base = rows[0]
for r in rows[1:]:
    def ratio(i):
        try: return "%.2f" % (float(r[i]) / float(base[i]))
        except (ValueError, ZeroDivisionError): return "-"
    print("ratio %s/%s: first pod %s, p50 %s, p95 %s, burst %s (watched); p50 %s, p95 %s, burst %s (api)"
          % (r[0], base[0], ratio(1), ratio(3), ratio(4), ratio(5), ratio(7), ratio(8), ratio(9)))
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
