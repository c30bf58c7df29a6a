#!/usr/bin/env bash
# Pod network throughput and latency inside gVisor, in one sandbox run:
#  - gVisor loopback TCP between two plain processes (the reference);
#  - pod to pod through kig-switch (tap strategy): two pods made by kig-cni ADD, netbench in each;
#  - the ratio, which the issue wants at 50% or more;
#  - the cost of one syscall in the sandbox (every frame costs the switch a read and a write).
# Both measurements run back to back under the same load; the machine's other work (load average is
# printed) moves both. Figures only: nothing here asserts.
#
# With --cluster, the same sandbox run then does a `kig up` and measures between two pods of the cluster
# (kubelet, containerd, kig-cni, kig-switch; netbench built static and given to the pods by a hostPath):
#  - pod-to-pod TCP throughput and 1-byte request latency, and their ratio to the loopback figures;
#  - Service connection set-up: connect + hello + EOF through the ClusterIP (kig-proxy) vs to the pod IP.
#
#   bench/pod-network.sh [BUILD_DIR] [--seconds S] [--requests N] [--cluster]
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build
seconds=5
requests=2000
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) seconds=$2; shift ;;
    --requests) requests=$2; shift ;;
    --cluster) cluster=1 ;;
    --work) work=$2; shift ;;
    --inner) inner=1 ;;
    *) build=$(cd "$1" && pwd) ;;
    esac
    shift
done
SWITCH=$build/src/kig-switch/kig-switch
CNI=$build/src/kig-cni/kig-cni
NETBENCH=$build/tests/kig-switch/netbench
LOOP=$build/bench/syscall-loop

if [ -z "${inner:-}" ]; then
    for b in "$SWITCH" "$CNI" "$NETBENCH"; do
        [ -x "$b" ] || { echo "pod-network: $b is missing: build first (ninja -C $build)" >&2; exit 1; }
    done
    [ "$(id -u)" = 0 ] || { echo "pod-network: runsc needs root" >&2; exit 1; }
    echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    if [ -z "${cluster:-}" ]; then
        exec "$src/tests/runsc/bed" --timeout $((seconds * 4 + 300)) -- "$0" "$build" --inner --seconds "$seconds" \
            --requests "$requests"
    fi
    work=$(mktemp -d /tmp/kig-bench-podnet.XXXXXX)
    chmod 755 "$work"
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/bin" "$work/images"
    ${CC:-cc} -static -O2 -pthread -D_GNU_SOURCE -o "$work/bin/netbench" "$src/tests/kig-switch/netbench.c" \
        2>"$work/netbench-cc.log" || { cat "$work/netbench-cc.log" >&2; echo "pod-network: cannot build a static netbench" >&2; exit 1; }
    "$src/scripts/build-images.sh" --pause "$build/src/kig-pause/kig-pause" "$work/images" >/dev/null || exit 1
    "$src/tests/runsc/bed" --timeout $((seconds * 8 + 1500)) -- "$0" "$build" --inner --seconds "$seconds" \
        --requests "$requests" --cluster --work "$work"
    exit $?
fi

# ---- inside gVisor ----
D=$(mktemp -d /tmp/kig-bench-podnet.XXXXXX)
mount -t tmpfs kig-bench "$D"
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
wait_file() { for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }

echo "# gVisor $(uname -r) inside runsc; $(nproc) CPUs"
if [ -x "$LOOP" ]; then
    echo "syscall_ns=$("$LOOP" getppid 20000 | awk '{print $2}')  (one getppid in the sandbox)"
fi

"$NETBENCH" serve 5001 --bind 127.0.0.1 --ready-file "$D/lo-ready" >/dev/null 2>&1 &
lo_srv=$!
wait_file "$D/lo-ready"
lo_stream=$("$NETBENCH" stream 127.0.0.1 5001 "$seconds")
lo_rr=$("$NETBENCH" rr 127.0.0.1 5001 "$requests")
kill "$lo_srv"

"$SWITCH" --dir "$D/sw" --pod-cidr 10.244.0.0/24 >"$D/switch.log" 2>&1 &
sw=$!
for _ in $(seq 100); do "$SWITCH" ctl --dir "$D/sw" '{"op":"list"}' >/dev/null 2>&1 && break; sleep 0.1; done
conf="{\"cniVersion\":\"1.0.0\",\"name\":\"bench\",\"type\":\"kig-cni\",\"strategy\":\"tap\",\"podCIDR\":\"10.244.0.0/24\",\"dataDir\":\"$D/ipam\",\"switchDir\":\"$D/sw\"}"
for p in a b; do
    echo "$conf" | CNI_COMMAND=ADD CNI_CONTAINERID=pod-$p CNI_NETNS=/x CNI_IFNAME=eth0 "$CNI" >/dev/null ||
        { echo "pod-network: ADD pod-$p failed" >&2; cat "$D/switch.log" >&2; exit 1; }
done
"$SWITCH" exec --dir "$D/sw" pod-b sh -c "$NETBENCH serve 5001 --ready-file $D/pod-ready >/dev/null 2>&1 &"
wait_file "$D/pod-ready"
pod_stream=$("$SWITCH" exec --dir "$D/sw" pod-a "$NETBENCH" stream 10.244.0.3 5001 "$seconds")
pod_rr=$("$SWITCH" exec --dir "$D/sw" pod-a "$NETBENCH" rr 10.244.0.3 5001 "$requests")
stats=$("$SWITCH" ctl --dir "$D/sw" '{"op":"list"}')
kill "$sw"

lo_mbps=$(echo "$lo_stream" | field stream_mbps)
pod_mbps=$(echo "$pod_stream" | field stream_mbps)
lo_p50=$(echo "$lo_rr" | field rr_us_p50)
pod_p50=$(echo "$pod_rr" | field rr_us_p50)
echo "loopback_tcp_mbps=$lo_mbps  $(echo "$lo_rr" | sed 's/count=.*//')"
echo "pod_to_pod_tcp_mbps=$pod_mbps  $(echo "$pod_rr" | sed 's/count=.*//')"
awk -v a="$pod_mbps" -v b="$lo_mbps" -v c="$pod_p50" -v d="$lo_p50" 'BEGIN {
    if (b > 0) printf "throughput_ratio=%.3f  (pod-to-pod / loopback; the issue aims at >= 0.5)\n", a / b
    if (d > 0) printf "latency_p50_ratio=%.2f  (pod-to-pod / loopback)\n", c / d }'
frames=$(echo "$stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(p["rxFrames"] for p in d["pods"]))')
echo "switch_frames=$frames  (frames the switch read from both pods during the run)"

[ -z "${cluster:-}" ] && exit 0

# ---- the same figures between two pods of a `kig up` cluster, and Service connection set-up ----
W=$work
K=$build/src/kig/kig
KD=$W/data
echo "# kig up (cluster figures follow)"
"$K" up --data-dir "$KD" >/dev/null 2>"$W/up.err" || { tail -5 "$W/up.err" >&2; exit 1; }
export KUBECONFIG=$KD/kubeconfig/admin.kubeconfig
kc() { kubectl --request-timeout=60s "$@"; }
for i in pause busybox; do
    ctr -a "$KD/node/containerd/containerd.sock" -n k8s.io images import "$W/images/kig-$i.oci.tar" >/dev/null || exit 1
done
for p in a b; do
    cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: bench-$p, labels: {app: bench-$p}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: nb
    image: localhost/kig/busybox:latest
    imagePullPolicy: Never
    command: [sh, -c, 'exec /kb/netbench serve 5001 --label $p']
    volumeMounts: [{name: kb, mountPath: /kb}]
  volumes: [{name: kb, hostPath: {path: $W/bin, type: Directory}}]
---
EOF
done >"$W/pods.yaml"
cat >>"$W/pods.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: bench-b}
spec:
  selector: {app: bench-b}
  ports: [{port: 80, targetPort: 5001}]
EOF
kc apply -f "$W/pods.yaml" >/dev/null && kc wait --for=condition=Ready pod/bench-a pod/bench-b --timeout=400s >/dev/null ||
    { echo "pod-network: the bench pods did not start" >&2; "$K" down --data-dir "$KD" >/dev/null 2>&1; exit 1; }
ip_b=$(kc get pod bench-b -o jsonpath='{.status.podIP}')
svc=$(kc get svc bench-b -o jsonpath='{.spec.clusterIP}')
for _ in $(seq 100); do "$W/bin/netbench" hello "$svc" 80 >/dev/null 2>&1 && break; sleep 0.3; done
in_a() { kc exec bench-a -- /kb/netbench "$@"; }
conns=$((requests / 10 > 20 ? requests / 10 : 20))
c_stream=$(in_a stream "$ip_b" 5001 "$seconds")
c_rr=$(in_a rr "$ip_b" 5001 "$requests")
c_direct=$(in_a connect "$ip_b" 5001 "$conns")
c_svc=$(in_a connect "$svc" 80 "$conns")
"$K" down --data-dir "$KD" >/dev/null 2>&1

c_mbps=$(echo "$c_stream" | field stream_mbps)
c_p50=$(echo "$c_rr" | field rr_us_p50)
echo "cluster_pod_to_pod_tcp_mbps=$c_mbps  $(echo "$c_rr" | sed 's/count=.*//')"
awk -v a="$c_mbps" -v b="$lo_mbps" -v c="$c_p50" -v d="$lo_p50" 'BEGIN {
    if (b > 0) printf "cluster_throughput_ratio=%.3f  (pods of kig up / loopback)\n", a / b
    if (d > 0) printf "cluster_latency_p50_ratio=%.2f  (pods of kig up / loopback)\n", c / d }'
echo "connect_direct_pod_ip: $(echo "$c_direct" | sed 's/count=.*//')"
echo "connect_through_cluster_ip: $(echo "$c_svc" | sed 's/count=.*//')"
awk -v a="$(echo "$c_svc" | field conn_us_p50)" -v b="$(echo "$c_direct" | field conn_us_p50)" -v n="$conns" 'BEGIN {
    if (b > 0) printf "service_connect_p50_ratio=%.2f  (through the ClusterIP / to the pod IP, %d connections each)\n", a / b, n }'
