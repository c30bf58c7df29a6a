#!/usr/bin/env bash
# What going through a Service costs, inside gVisor, in one run: kig up --control-plane-only, one TCP echo
# backend on an address added to lo, a Service with a manual Endpoints pointing at it, and kig-proxy. Then,
# direct to the endpoint and through the ClusterIP:
#  - connection setup latency: connect + first byte (the backend greets at once), median and p90 of N;
#  - throughput: M MiB sent and echoed back on one connection (both directions cross the proxy).
# Client and backend are the same Python program in both cases, so the difference is the proxy's. Figures
# only: nothing here asserts on time.
#
#   bench/service-proxy.sh [BUILD_DIR] [--connections N] [--mbytes M] [--runs R]
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build
connections=300
mbytes=200
runs=3
while [ $# -gt 0 ]; do
    case "$1" in
    --connections) connections=$2; shift ;;
    --mbytes) mbytes=$2; shift ;;
    --runs) runs=$2; shift ;;
    --inside) inside=1 ;;
    *) build=$1 ;;
    esac
    shift
done
KIG=$build/src/kig/kig
KIG_PROXY=$build/src/kig-proxy/kig-proxy
TOOL=$src/tests/kig-proxy/svc-tool.py
# The distribution's interpreter, not a version-manager shim (a shim forks dozens of helpers per call).
PYTHON=$(if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi)

if [ "${inside:-0}" = 1 ]; then
    W=$WORK
    fail() { echo "service-proxy: $*" >&2; exit 1; }
    trap 'kill $(jobs -p) 2>/dev/null; timeout 120 "$KIG" down --data-dir "$W/data" >/dev/null 2>&1' EXIT
    "$KIG" up --control-plane-only --data-dir "$W/data" --timeout 300 >"$W/up.log" 2>&1 ||
        fail "kig up failed: $(tail -n 3 "$W/up.log")"
    kc() { kubectl --kubeconfig "$W/data/kubeconfig/admin.kubeconfig" "$@"; }
    ip addr add 10.244.0.2/32 dev lo
    "$PYTHON" "$TOOL" serve b1 10.244.0.2 8080 5300 >"$W/backend.log" 2>&1 &
    kc apply -f - >"$W/apply.log" 2>&1 <<'JSON' || fail "kubectl apply failed: $(cat "$W/apply.log")"
{"apiVersion":"v1","kind":"List","items":[
 {"apiVersion":"v1","kind":"Service","metadata":{"name":"bench","namespace":"default"},
  "spec":{"clusterIP":"10.96.200.1","ports":[{"name":"tcp","port":80,"protocol":"TCP"}]}},
 {"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"bench","namespace":"default"},
  "subsets":[{"addresses":[{"ip":"10.244.0.2"}],"ports":[{"name":"tcp","port":8080,"protocol":"TCP"}]}]}]}
JSON
    "$KIG_PROXY" --kubeconfig "$W/data/kubeconfig/admin.kubeconfig" >"$W/proxy.log" 2>&1 &
    for _ in $(seq 120); do
        [ "$(curl -s -m 2 http://127.0.0.1:10256/healthz)" = ok ] &&
            "$PYTHON" "$TOOL" tcp-names 10.96.200.1 80 1 | grep -q b1 && break
        sleep 0.5
    done
    "$PYTHON" "$TOOL" tcp-names 10.96.200.1 80 1 | grep -q b1 || fail "the Service never answered: $(tail -n 5 "$W/proxy.log")"
    # Alternate direct and proxied runs, so a change in machine load hits both alike.
    for r in $(seq "$runs"); do
        echo "connect direct $("$PYTHON" "$TOOL" bench-connect 10.244.0.2 8080 "$connections")"
        echo "connect service $("$PYTHON" "$TOOL" bench-connect 10.96.200.1 80 "$connections")"
        echo "throughput direct $("$PYTHON" "$TOOL" bench-throughput 10.244.0.2 8080 "$mbytes")"
        echo "throughput service $("$PYTHON" "$TOOL" bench-throughput 10.96.200.1 80 "$mbytes")"
    done
    exit 0
fi

for f in "$KIG" "$KIG_PROXY"; do
    [ -x "$f" ] || { echo "service-proxy: $f is not built (ninja -C $build)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/kig-service-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
echo "Service proxy cost inside gVisor: $runs runs of $connections connections and $mbytes MiB each;" \
    "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
if ! WORK=$work "$src/tests/runsc/bed" --timeout 3600 -- bash "$0" "$build" --inside --connections "$connections" \
    --mbytes "$mbytes" --runs "$runs" >"$work/raw.txt" 2>"$work/err.txt"; then
    echo "service-proxy: the sandbox run failed:" >&2
    cat "$work/err.txt" >&2
    exit 1
fi
# Lines: "connect direct median_us=.. p90_us=..", "throughput service mb_per_s=..". Each figure is the
# median over the runs.
awk '
    function med(key,   n, i, j, t, a) {
        n = split(vals[key], a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return a[int((n + 1) / 2)]
    }
    {
        for (i = 3; i <= NF; i++) { split($i, kv, "="); vals[$1 " " $2 " " kv[1]] = vals[$1 " " $2 " " kv[1]] " " kv[2] }
    }
    END {
        cd = med("connect direct median_us"); cs = med("connect service median_us")
        pd = med("connect direct p90_us"); ps = med("connect service p90_us")
        td = med("throughput direct mb_per_s"); ts = med("throughput service mb_per_s")
        printf "connect + first byte, median: direct %.0f us, through the ClusterIP %.0f us: +%.0f us, ratio %.2f\n", cd, cs, cs - cd, cs / cd
        printf "connect + first byte, p90:    direct %.0f us, through the ClusterIP %.0f us, ratio %.2f\n", pd, ps, ps / pd
        printf "echo throughput: direct %.1f MB/s, through the ClusterIP %.1f MB/s, ratio %.2f\n", td, ts, ts / td
    }' "$work/raw.txt"
echo "raw figures:"
sed 's/^/  /' "$work/raw.txt"
