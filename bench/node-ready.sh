#!/usr/bin/env bash
# The full node inside gVisor, in one sandbox and one run:
#  - `kig up` to node Ready (REPS fresh data dirs), and kubelet's own start to node Ready (the issue's
#    figure: a hand-made script reached Ready 17-19 s after kubelet start), against the control plane
#    alone (`kig up --control-plane-only` to ready) measured in the same run as the baseline;
#  - a stability hold (HOLD_S, default 600 s): the node's Ready condition polled every 5 s, restarts of
#    any component, and the ContainerManager / cAdvisor / runtime error lines logged after Ready.
# Figures only: nothing here passes or fails.
#
#   bench/node-ready.sh [--reps N] [--hold SECONDS]     (as root; needs a built kig and the binaries)
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
KIG=${KIG:-$SRC/build/src/kig/kig}
BED=${BED:-$SRC/tests/runsc/bed}
KUBECTL=${KIG_KUBECTL:-$(command -v kubectl || echo /usr/bin/kubectl)}
reps=2
hold=600
while [ $# -gt 0 ]; do
    case "$1" in
    --reps) reps=${2:?}; shift ;;
    --hold) hold=${2:?}; shift ;;
    --inside) shift; break ;;
    *) echo "node-ready: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1000:.1f}')" "$1"; }
median() { python3 -c "import sys, statistics; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.1f}')" "$@"; }
node_ready() {
    [ "$("$KUBECTL" --request-timeout=10s get node kig -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
# When the supervisor logged kubelet's (first) start, in epoch ms.
kubelet_started_ms() {
    python3 - "$1" <<'PY'
import sys, datetime
for line in open(sys.argv[1]):
    if "started kubelet (pid" in line:
        t = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        print(int(t.timestamp() * 1000)); break
PY
}

inside() {
    local w=$1 i d t0 t_up t_ready t_kubelet cp=() up=() kub=()
    for i in $(seq 1 "$reps"); do
        d=$w/cp$i
        t0=$(now_ms)
        "$KIG" up --control-plane-only --data-dir "$d" >/dev/null 2>&1 || echo "# control-plane run $i failed"
        cp+=("$(secs $(($(now_ms) - t0)))")
        "$KIG" down --purge --data-dir "$d" >/dev/null 2>&1

        d=$w/node$i
        export KUBECONFIG=$d/kubeconfig/admin.kubeconfig
        t0=$(now_ms)
        "$KIG" up --data-dir "$d" >/dev/null 2>"$w/up$i.err" || { echo "# node run $i failed:"; tail -3 "$w/up$i.err"; }
        t_up=$(now_ms)
        until node_ready; do sleep 0.2; done
        t_ready=$(now_ms)
        t_kubelet=$(kubelet_started_ms "$d/logs/kig.log")
        up+=("$(secs $((t_up - t0)))")
        kub+=("$(secs $((t_ready - t_kubelet)))")
        echo "# run $i: control plane only ${cp[-1]} s; full node: kig up ${up[-1]} s, node Ready $(secs $((t_ready - t0))) s after kig up, $(secs $((t_ready - t_kubelet))) s after kubelet start"
        [ "$i" = "$reps" ] || "$KIG" down --purge --data-dir "$d" >/dev/null 2>&1
    done
    echo "kig up (full node) to node Ready   $(median "${up[@]}") s   (runs: ${up[*]})"
    echo "kubelet start to node Ready        $(median "${kub[@]}") s   (runs: ${kub[*]})"
    echo "baseline: kig up --control-plane-only $(median "${cp[@]}") s   (runs: ${cp[*]})"
    echo "ratio full node / control plane only: $(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$(median "${up[@]}")" "$(median "${cp[@]}")")"

    # The hold, on the last cluster.
    local k0 c0 polls=0 not_ready=0 t_end errors restarts
    k0=$(wc -l <"$d/logs/kubelet.log")
    c0=$(wc -l <"$d/logs/containerd.log")
    t_end=$(($(date +%s) + hold))
    while [ "$(date +%s)" -lt "$t_end" ]; do
        polls=$((polls + 1))
        node_ready || not_ready=$((not_ready + 1))
        sleep 5
    done
    {
        tail -n +"$k0" "$d/logs/kubelet.log" | grep -E '^E[0-9]' |
            grep -E 'container_manager|ContainerManager|cadvisor|cAdvisor|memory cache|filesystem info|cri_stats|remote_runtime|runtime' || true
        tail -n +"$c0" "$d/logs/containerd.log" | grep -E 'level=error' || true
    } >"$w/hold-errors"
    errors=$(wc -l <"$w/hold-errors")
    restarts=$("$KIG" status --json --data-dir "$d" | python3 -c 'import json, sys; print(sum(c["restarts"] for c in json.load(sys.stdin)["components"]))')
    echo "hold ${hold} s: node NotReady in $not_ready of $polls polls; component restarts: $restarts; ContainerManager/cAdvisor/runtime error lines: $errors"
    echo "all kubelet error lines during the hold: $(tail -n +"$k0" "$d/logs/kubelet.log" | grep -cE '^E[0-9]')"
    cut -c1-300 "$w/hold-errors" | head -n 5 | sed 's/^/#   /'
    tail -n +"$k0" "$d/logs/kubelet.log" | grep -E '^E[0-9]' | cut -c1-300 | head -n 5 | sed 's/^/#   kubelet: /'
    "$KIG" down --purge --data-dir "$d" >/dev/null 2>&1
}

if [ "${1:-}" != "" ]; then
    inside "$1"
    exit
fi
[ "$(id -u)" = 0 ] || { echo "node-ready: run as root" >&2; exit 1; }
work=$(mktemp -d /tmp/kig-bench-node.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "host load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "inside gVisor ($(runsc --version 2>/dev/null | head -1)), $(nproc) CPUs; $reps runs each, hold $hold s"
KIG=$KIG KUBECTL=$KUBECTL "$BED" --timeout $((reps * 300 + hold + 300)) -- env KIG="$KIG" KIG_KUBECTL="$KUBECTL" \
    bash "$0" --reps "$reps" --hold "$hold" --inside "$work"
