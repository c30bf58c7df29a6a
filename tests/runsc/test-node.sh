#!/usr/bin/env bash
# `kig up` (full node) inside gVisor: containerd (under kig-trace), kubelet and kig-proxy join the control plane
# and the node goes Ready; it stays Ready through a hold (KIG_NODE_HOLD_S, default 60 s; bench/node-ready.sh holds
# 10 minutes) with no ContainerManager, cAdvisor or runtime error logged after Ready; the death of kig-trace
# is detected, reported and healed; `kig down` leaves no process, no mount and no node address; a second
# `kig up` is Ready again.
#
# Everything runs in one sandbox: this script re-runs itself there with --inside.
. "$(dirname "$0")/lib.sh"
require_root

KUBECTL=${KIG_KUBECTL:-$(command -v kubectl || echo /usr/bin/kubectl)}
HOLD_S=${KIG_NODE_HOLD_S:-60}
export KUBECTL HOLD_S

kc() { "$KUBECTL" --request-timeout=30s "$@"; }
node_ready() { [ "$(kc get node kig -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
component_field() { # NAME FIELD
    "$KIG" status --json --data-dir "$D" | json_get - "[c[\"$2\"] for c in d[\"components\"] if c[\"name\"] == \"$1\"][0]"
}
# Error lines that the issue counts: kubelet's container manager, cAdvisor, the runtime; containerd's errors.
node_errors() { # FROM_LINE_KUBELET FROM_LINE_CONTAINERD
    {
        tail -n +"$1" "$D/logs/kubelet.log" | grep -E '^E[0-9]' |
            grep -E 'container_manager|ContainerManager|cadvisor|cAdvisor|memory cache|filesystem info|cri_stats|remote_runtime|runtime' || true
        tail -n +"$2" "$D/logs/containerd.log" | grep -E 'level=error' || true
    } | cut -c1-300
}
lines() { wc -l <"$1"; }
fallback_ip_on_lo() { ip -4 addr show dev lo 2>/dev/null | grep -q '10\.200\.0\.1/'; }

check_hold() {
    local t_end=$(($(date +%s) + HOLD_S)) not_ready=0 k0 c0 errors restarts0
    # kubelet exits (255) when cAdvisor has no root stats yet at start-up, which a loaded machine can make
    # happen once; kig restarts it, as kubelet expects of its babysitter. Counted from here on only.
    restarts0="$(component_field containerd restarts) $(component_field kubelet restarts)"
    k0=$(lines "$D/logs/kubelet.log")
    c0=$(lines "$D/logs/containerd.log")
    while [ "$(date +%s)" -lt "$t_end" ]; do
        node_ready || not_ready=$((not_ready + 1))
        sleep 5
    done
    assert_eq "the node stayed Ready through a ${HOLD_S}s hold" 0 "$not_ready"
    errors=$(node_errors "$k0" "$c0")
    assert_eq "no ContainerManager, cAdvisor or runtime error was logged during the hold" "" "$errors"
    assert_eq "kig restarted nothing during the hold" "$restarts0" \
        "$(component_field containerd restarts) $(component_field kubelet restarts)"
    if [ -n "$errors" ] || [ "$(component_field containerd restarts) $(component_field kubelet restarts)" != "$restarts0" ]; then
        grep -E 'exited|killed|no longer ready' "$D/logs/kig.log" | sed 's/^/#   kig.log: /'
        grep -E '^[EF][0-9]' "$D/logs/kubelet.log" | tail -n 8 | cut -c1-240 | sed 's/^/#   kubelet.log: /'
        grep -B3 -A3 'ContainerStatus for' "$D/logs/containerd.log" | head -n 14 | cut -c1-240 | sed 's/^/#   containerd.log: /'
    fi
}

check_tracer_death() {
    local tracer from
    tracer=$(cat "$D/run/kig-trace-containerd.pid" 2>/dev/null)
    check "kig-trace's pid is recorded" test -n "$tracer"
    from=$(($(lines "$D/logs/kig.log") + 1))
    kill -KILL "$tracer"
    check "kig reports that containerd lost its syscall supervisor" \
        wait_for 30 sh -c "tail -n +$from '$D/logs/kig.log' | grep -q 'kig-trace, the syscall supervisor of containerd'"
    check "kig starts containerd again, traced" \
        wait_for 60 sh -c "tail -n +$from '$D/logs/kig.log' | grep -q 'started containerd (pid [0-9]*) again'"
    check "containerd is ready again" wait_for 60 sh -c "tail -n +$from '$D/logs/kig.log' | grep -q ' containerd is ready'"
    check "a new kig-trace traces it" wait_for 30 sh -c "[ \"\$(cat '$D/run/kig-trace-containerd.pid')\" != '$tracer' ]"
    check "the node is Ready after containerd's restart" wait_for 90 node_ready
}

inside() {
    W=$1
    D=$W/data
    local out rc mounts_before opt_before
    mounts_before=$(mount_snapshot)
    # containerd's opt plugin creates /opt/containerd/{bin,lib}; kig turns it off. Empty ones left by older
    # kig versions go first (rmdir removes only empty directories).
    rmdir /opt/containerd/bin /opt/containerd/lib /opt/containerd 2>/dev/null
    opt_before=$([ -e /opt/containerd ] && echo present || echo absent)

    out=$("$KIG" up --data-dir "$D" 2>"$W/up1.err")
    rc=$?
    assert_eq "kig up exits 0" 0 "$rc"
    assert_eq "kig up leaves /opt/containerd as it was (containerd's opt plugin is off)" "$opt_before" \
        "$([ -e /opt/containerd ] && echo present || echo absent)"
    [ "$rc" = 0 ] || { cat "$W/up1.err" | tail -5 | sed 's/^/#   /'; }
    echo "# first kig up: $(grep -o 'ready in [0-9.]*s' <<<"$out")"
    assert_contains "progress shows containerd ready" "$(cat "$W/up1.err")" "] containerd ready"
    assert_contains "progress shows kubelet ready" "$(cat "$W/up1.err")" "] kubelet ready"
    assert_contains "kig up waited for the node to be Ready" "$(cat "$W/up1.err")" "the node is Ready"
    export KUBECONFIG=$D/kubeconfig/admin.kubeconfig
    check "kubectl sees node kig Ready" node_ready
    assert_eq "the node's address is kig's (InternalIP)" 10.200.0.1 \
        "$(kc get node kig -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}' 2>&1)"
    assert_contains "the node runs containerd" "$(kc get node kig -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}' 2>&1)" \
        "containerd://"
    # gVisor 20221219 has TAP devices in new network namespaces but no veth: pods get kig-switch.
    assert_eq "status --json: eight components (kig-switch too), each with a pid and ready" "8 8" \
        "$("$KIG" status --json --data-dir "$D" | json_get - 'str(len(d["components"])) + " " + str(len([c for c in d["components"] if c["pid"] > 0 and c["ready"]]))')"
    assert_contains "containerd runs under kig-trace" "$(tr '\0' ' ' <"/proc/$(component_field containerd pid)/cmdline")" \
        "kig-trace"
    check "the kubelet API answers the apiserver (kubectl get --raw /api/v1/nodes/kig/proxy/healthz)" \
        sh -c "[ \"\$('$KUBECTL' get --raw /api/v1/nodes/kig/proxy/healthz 2>&1)\" = ok ]"
    check "the virtual kernel is applied" test -e "$D/run/vkernel/vkernel.json"
    assert_contains "kig chose the tap pod network (no veth in this gVisor)" "$(cat "$D/logs/kig.log")" "pod network: tap"
    assert_contains "containerd's network-namespace pins are handled by kig-trace" \
        "$(tr '\0' ' ' <"/proc/$(component_field containerd pid)/cmdline")" "--netns-dir"
    check "kig-proxy answers cluster DNS for the kubernetes Service" \
        wait_for 30 sh -c "busybox nslookup kubernetes.default.svc.cluster.local 10.96.0.10 | grep -q 10.96.0.1"
    check "/dev/kmsg exists for kubelet" test -e /dev/kmsg

    check_hold
    check_tracer_death

    out=$("$KIG" down --data-dir "$D" 2>&1)
    rc=$?
    assert_eq "kig down exits 0" 0 "$rc"
    assert_eq "no kig, etcd, kube-*, containerd or kubelet process is left" "" "$(kig_processes)"
    assert_eq "no mount was left behind" "$mounts_before" "$(mount_snapshot)"
    check_fails "the node address is gone from lo" fallback_ip_on_lo
    check_fails "/dev/kmsg is gone" test -e /dev/kmsg

    out=$("$KIG" up --data-dir "$D" 2>"$W/up2.err")
    rc=$?
    assert_eq "kig up again exits 0" 0 "$rc"
    echo "# second kig up: $(grep -o 'ready in [0-9.]*s' <<<"$out")"
    check "the node is Ready again" node_ready
    out=$("$KIG" up --control-plane-only --data-dir "$D" 2>&1)
    assert_contains "kig up --control-plane-only on a full cluster's data dir says what to run" "$out" \
        "holds a full cluster: run 'kig up'"
    out=$("$KIG" down --purge --data-dir "$D" 2>&1)
    assert_eq "kig down --purge exits 0" 0 $?
    assert_eq "no process is left after the purge" "" "$(kig_processes)"
    assert_eq "no mount is left after the purge" "$mounts_before" "$(mount_snapshot)"
    finish
}

if [ "${1:-}" = --inside ]; then
    inside "$2"
    exit
fi

[ -x "$KIG" ] || { echo "not ok - kig not built at $KIG"; exit 1; }
for c in /usr/bin/etcd /usr/bin/containerd "${KIG_K8S_BIN_DIR:-/var/cache/kig/kubernetes-1.20.2/bin}/kubelet" "$KUBECTL"; do
    [ -x "$c" ] || { echo "# $c missing (apt-get install etcd-server containerd kubernetes-client; scripts/build-kubernetes.sh)"; exit 77; }
done
make_work_dir kig-test-node
in_bed --timeout $((HOLD_S + 900)) -- bash "$0" --inside "$work"
rc=$?
assert_eq "every check inside gVisor passed" 0 "$rc"
finish
