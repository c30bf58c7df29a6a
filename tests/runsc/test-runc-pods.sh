#!/usr/bin/env bash
# Pods under runc inside gVisor: `kig up --oci-runtime runc` (the default is crun), then one pod in its own
# network namespace, so that its sandbox (pause) container goes through kig-runtime's rewrite for a pod
# sandbox without a mount namespace (docs/runtime.md). Every other runsc test runs pods under crun; a
# rewrite that only runc minds (runc's init reads /proc/self/fd after the chroot) broke every runc pod once
# and no test saw it. Checked:
#   * the app container is runc's (its state under R/runc, none under R/crun); the sandbox (pause) container's
#     init is kig-runtime's own (docs/runtime.md, "The pod sandbox's init"): runc has no state of it;
#   * the pod is Running, `kubectl logs` and `kubectl exec` answer;
#   * the sandbox container's rewrites say so, kig-runtime's state says it runs, and it has no mount;
#   * deleting the pod leaves no runc state, no process of it and no mount of it;
#   * `kig down` leaves no process and no mount.
#
# Everything runs in one sandbox: this script re-runs itself there with --inside.
. "$(dirname "$0")/lib.sh"
require_root

KUBECTL=${KIG_KUBECTL:-$(command -v kubectl || echo /usr/bin/kubectl)}
PAUSE=${KIG_PAUSE:-$KIG_BUILD_DIR/src/kig-pause/kig-pause}
export KUBECTL

kc() { "$KUBECTL" --request-timeout=60s "$@"; }

manifest() {
    cat <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: under-runc}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: localhost/kig/busybox:latest
    imagePullPolicy: Never
    command: ["sh", "-c", "echo started-under-runc && exec sleep 3600"]
EOF
}

pod_running() { [ "$(kc get pod under-runc -o jsonpath='{.status.phase}' 2>/dev/null)" = Running ]; }
# Container ids of the runtime's state directories (R/runc or R/crun). Not ls: GNU ls fails with EINVAL on
# these directories inside gVisor 20221219.
state_ids() {
    python3 -c 'import os, sys; d = sys.argv[1]; os.path.isdir(d) and print("\n".join(sorted(os.listdir(d))))' \
        "$D/node/runtime/k8s.io/$1"
}
no_runc_state() { [ -z "$(state_ids runc)" ]; }
# The sandbox container's id: the one whose rewritten config carries the CRI sandbox annotation.
sandbox_id() {
    local f
    for f in "$D"/node/runtime/k8s.io/kig/*/bundle/config.json; do
        json_get "$f" 'd.get("annotations", {}).get("io.kubernetes.cri.container-type", "")' 2>/dev/null |
            grep -qx sandbox && basename "$(dirname "$(dirname "$f")")"
    done
}

# The first component of every mount point under the container's rootfs (its mounts in the sandbox's table).
sandbox_mount_tops() { # ID
    local rootfs
    rootfs=$(json_get "$D/node/runtime/k8s.io/kig/$1/state.json" 'd["rootfs"]') || return
    awk -v r="$rootfs/" 'index($5, r) == 1 {print substr($5, length(r) + 1)}' /proc/self/mountinfo |
        cut -d/ -f1 | sort -u | tr '\n' ' ' | sed 's/ $//'
}

inside() {
    W=$1
    D=$W/data
    local mounts_before out rc sid ids
    mounts_before=$(mount_snapshot)
    out=$("$KIG" up --oci-runtime runc --data-dir "$D" 2>"$W/up.err")
    rc=$?
    assert_eq "kig up --oci-runtime runc exits 0" 0 "$rc"
    [ "$rc" = 0 ] || { tail -5 "$W/up.err" | sed 's/^/#   /'; finish; exit; }
    export KUBECONFIG=$D/kubeconfig/admin.kubeconfig

    check "the busybox image loads" "$KIG" image load --data-dir "$D" "$W/images/kig-busybox.oci.tar"
    check "the pod is created" sh -c "$(declare -f manifest); manifest | '$KUBECTL' --request-timeout=60s apply -f -"
    check "the pod is Running under runc" wait_for 300 pod_running
    if ! pod_running; then
        show_pod_events under-runc
    fi
    ids=$(state_ids runc)
    assert_eq "runc keeps the state of the app container only" 1 "$(printf '%s' "$ids" | grep -c .)"
    assert_eq "crun ran none" "" "$(state_ids crun)"
    check "kubectl logs answers" wait_for 30 sh -c "'$KUBECTL' --request-timeout=30s logs under-runc | grep -qx started-under-runc"
    assert_eq "kubectl exec answers" "/proc/1 is there" \
        "$(timeout 120 "$KUBECTL" --request-timeout=60s exec under-runc -- sh -c 'test -d /proc/1 && echo /proc/1 is there' 2>&1)"

    sid=$(sandbox_id)
    check "the sandbox container is found by its annotation" test -n "$sid"
    out=$(cat "$D/node/runtime/k8s.io/kig/$sid/rewrites" 2>&1)
    assert_contains "its rewrites say kig-runtime runs its init, not runc" "$out" \
        "pod sandbox container run by kig-runtime itself, without runc"
    check "runc has no state of it" test ! -e "$D/node/runtime/k8s.io/runc/$sid"
    assert_eq "kig-runtime's state says it runs" running \
        "$("$KIG_BUILD_DIR/src/kig-runtime/kig-runtime" --root "$D/node/runtime/k8s.io" state "$sid" | json_get - 'd["status"]')"
    # Without a mount namespace its mounts would be the sandbox's: it has none.
    assert_eq "it has no mount" "" "$(sandbox_mount_tops "$sid")"

    check "the pod is deleted" kc delete pod under-runc --wait=true --timeout=180s
    check "runc's state of its containers is gone" wait_for 60 no_runc_state
    check "no runc or pod process is left" wait_for 30 sh -c "! ps -eo args= | grep -E '^(runc|sleep 3600|/pause)' | grep -q ."
    check "no mount of the pod is left" wait_for 60 sh -c "! awk '{print \$5}' /proc/self/mountinfo | grep -Eq '/(k8s.io/[0-9a-f]{64}/rootfs|kubelet/pods/)'"
    assert_down_leaves_nothing "$D" "$mounts_before" --purge
    finish
}

if [ "${1:-}" = --inside ]; then
    inside "$2"
    exit
fi

require_programs "apt-get install etcd-server containerd runc kubernetes-client; scripts/build-kubernetes.sh" \
    /usr/bin/etcd /usr/bin/containerd /usr/sbin/runc "${KIG_K8S_BIN_DIR:-/var/cache/kig/kubernetes-1.20.2/bin}/kubelet" "$KUBECTL"
in_bed_with_images kig-test-runc-pods 600
