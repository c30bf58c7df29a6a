#!/usr/bin/env bash
# How long `kig up --control-plane-only` takes to a usable cluster inside gVisor, against etcd +
# kube-apiserver started by hand with the same flags and certificates until /readyz is ok.
#
#   bench/control-plane-ready.sh [REPS]      (default 2; as root; needs a built kig and the binaries)
#
# Everything runs in one sandbox (tests/runsc/bed). Two scenarios, REPS times each, alternating kig and
# by-hand runs so that machine load hits both alike:
#   fresh     a new data dir: kig also creates the PKI and etcd bootstraps every built-in object;
#             by hand reuses kig's certificates with an empty etcd
#   existing  a data dir from an earlier run (the `kig up` after `kig down`)
# kig's time is to the end of `kig up` (apiserver /readyz ok, default namespace, default service account
# and system priority classes present, controller-manager and scheduler healthy); the by-hand time is to
# /readyz ok. kig's own "kube-apiserver ready" moment is printed too: it is the like-for-like figure. The
# goal is that kig adds at most 10%. Figures only: nothing here passes or fails.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
KIG=${KIG:-$SRC/build/src/kig/kig}
BED=${BED:-$SRC/tests/runsc/bed}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1000:.1f}')" "$1"; }

# The argv of a running component, NUL-separated, as kig started it.
save_argv() { # NAME DATA_DIR OUT
    local pid
    pid=$("$KIG" status --json --data-dir "$2" |
        python3 -c 'import json, sys; print([c["pid"] for c in json.load(sys.stdin)["components"] if c["name"] == sys.argv[1]][0])' "$1")
    cp "/proc/$pid/cmdline" "$3"
}

kig_run() { # DATA_DIR -> "TOTAL_MS APISERVER_READY_MS"
    local d=$1 t0 t1 api
    t0=$(now_ms)
    "$KIG" up --control-plane-only --data-dir "$d" >"$W/kig.out" 2>"$W/kig.err" || {
        echo "kig up failed:" >&2
        tail -n 5 "$W/kig.err" >&2
        return 1
    }
    t1=$(now_ms)
    # "[  47.2s] kube-apiserver ready (pid 15) (41.9s)": seconds since kig up began.
    api=$(sed -n 's/^\[ *\([0-9.]*\)s\] kube-apiserver ready.*/\1/p' "$W/kig.err" | head -n 1)
    [ -f "$W/etcd.argv" ] || { save_argv etcd "$d" "$W/etcd.argv" && save_argv kube-apiserver "$d" "$W/apiserver.argv"; }
    "$KIG" down --data-dir "$d" >/dev/null 2>&1
    echo "$((t1 - t0)) $(python3 -c "import sys; print(int(float(sys.argv[1]) * 1000))" "${api:-0}")"
}

readyz_ok() {
    local pki=$PKI
    [ "$(curl -s --max-time 2 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
        https://127.0.0.1:6443/readyz 2>/dev/null)" = ok ]
}

hand_run() { # ETCD_DATA_DIR -> MS
    local etcd_dir=$1 t0 t1 etcd_pid api_pid
    local -a etcd_argv api_argv
    mapfile -d '' etcd_argv <"$W/etcd.argv"
    mapfile -d '' api_argv <"$W/apiserver.argv"
    for i in "${!etcd_argv[@]}"; do
        case "${etcd_argv[$i]}" in --data-dir=*) etcd_argv[$i]="--data-dir=$etcd_dir" ;; esac
    done
    t0=$(now_ms)
    "${etcd_argv[@]}" >"$W/hand-etcd.log" 2>&1 &
    etcd_pid=$!
    "${api_argv[@]}" >"$W/hand-apiserver.log" 2>&1 &
    api_pid=$!
    until readyz_ok; do
        if ! kill -0 "$api_pid" 2>/dev/null; then
            echo "kube-apiserver by hand died:" >&2
            tail -n 5 "$W/hand-apiserver.log" >&2
            kill "$etcd_pid"
            return 1
        fi
        sleep 0.1
    done
    t1=$(now_ms)
    kill "$api_pid"
    wait "$api_pid" 2>/dev/null
    kill "$etcd_pid"
    wait "$etcd_pid" 2>/dev/null
    echo $((t1 - t0))
}

report() { # SCENARIO KIG_TOTALS KIG_API HANDS
    python3 - "$@" <<'PY'
import statistics, sys
name, totals, apis, hands = sys.argv[1], *[list(map(int, a.split())) for a in sys.argv[2:5]]
def med(v): return statistics.median(v) / 1000
k, a, h = med(totals), med(apis), med(hands)
runs = lambda v: " ".join(f"{x / 1000:.1f}" for x in v)
print(f"{name:9} kig up to ready   {k:6.1f} s   (runs: {runs(totals)})")
print(f"{name:9} kig apiserver ready {a:4.1f} s   (runs: {runs(apis)})")
print(f"{name:9} by hand /readyz   {h:6.1f} s   (runs: {runs(hands)})")
print(f"{name:9} ratio kig up / by hand: {k / h:.2f}   apiserver-ready / by hand: {a / h:.2f}")
PY
}

inside() {
    W=$1
    local reps=$2 r kig api
    local fresh_k="" fresh_a="" fresh_h="" warm_k="" warm_a="" warm_h=""
    for r in $(seq 1 "$reps"); do
        read -r kig api < <(kig_run "$W/fresh-$r") || exit 1
        fresh_k="$fresh_k $kig" fresh_a="$fresh_a $api"
        PKI=$W/fresh-1/pki
        fresh_h="$fresh_h $(hand_run "$W/hand-etcd-$r")" || exit 1
        echo "# fresh run $r: kig $(secs "$kig") s (apiserver ready at $(secs "$api") s), by hand $(secs "${fresh_h##* }") s" >&2
    done
    for r in $(seq 1 "$reps"); do
        read -r kig api < <(kig_run "$W/fresh-1") || exit 1
        warm_k="$warm_k $kig" warm_a="$warm_a $api"
        warm_h="$warm_h $(hand_run "$W/hand-etcd-1")" || exit 1
        echo "# existing run $r: kig $(secs "$kig") s (apiserver ready at $(secs "$api") s), by hand $(secs "${warm_h##* }") s" >&2
    done
    echo "control-plane readiness inside gVisor ($(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)), medians of $reps:"
    report fresh "$fresh_k" "$fresh_a" "$fresh_h"
    report existing "$warm_k" "$warm_a" "$warm_h"
}

if [ "${1:-}" = --inside ]; then
    inside "$2" "$3"
    exit
fi

reps=${1:-2}
[ "$(id -u)" = 0 ] || { echo "bench: run as root (runsc)" >&2; exit 2; }
[ -x "$KIG" ] || { echo "bench: kig not built at $KIG (set KIG=...)" >&2; exit 2; }
work=$(mktemp -d /tmp/kig-bench-cp.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "host load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BED" --timeout 7200 -- bash "$0" --inside "$work" "$reps"
