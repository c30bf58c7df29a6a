#!/usr/bin/env bash
# subPath volume mounts inside gVisor (docs/pods.md "subPath"). kubelet mounts each subPath with
# `mount -o bind /proc/<kubelet>/fd/N TARGET` and then `mount -o bind,remount`, which gVisor 20221219 refuses;
# kig gives kubelet kig-mount as its mount(8), which lets a remount that changes nothing succeed. Checked:
#   * kubelet's PATH starts with the node's kubelet-path directory, whose `mount` is kig-mount (and whose
#     `nice` and `find` are kig-du, docs/pods.md "At rest");
#   * a pod with a ConfigMap key as one file (subPath) and a nested emptyDir directory (subPath) is Running,
#     the file holds the key, and what the container writes through the directory is in the volume on the
#     node; no subPath mount is left by a failed attempt (kubelet retried none);
#   * kig-mount refuses a bind remount that would change the flags (ro): one line, exit 32, nothing mounted;
#   * deleting the pod removes its subPath mounts; `kig down` leaves no process and no mount.
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
kind: ConfigMap
metadata: {name: app}
data: {app.conf: "listen 8080\n", other: "not mounted\n"}
---
apiVersion: v1
kind: Pod
metadata: {name: subpath}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: localhost/kig/busybox:latest
    imagePullPolicy: Never
    command: ["sh", "-c", "echo written-through-subpath >/work/sub/f && exec sleep 3600"]
    volumeMounts:
    - {name: cm, mountPath: /etc/app.conf, subPath: app.conf}
    - {name: scratch, mountPath: /work/sub, subPath: deeper/dir}
  volumes:
  - {name: cm, configMap: {name: app}}
  - {name: scratch, emptyDir: {}}
EOF
}

pod_running() { [ "$(kc get pod subpath -o jsonpath='{.status.phase}' 2>/dev/null)" = Running ]; }
subpath_mounts() { awk -v d="$D/node/kubelet/pods/" 'index($5, d) == 1 && $5 ~ /volume-subpaths/ {print $5}' /proc/self/mountinfo; }
# A container record kig-runtime keeps but containerd forgot (what a delete cut off at containerd's 10 s
# deadline leaves): made from a real record of the running pod, with its own rootfs, a tmpfs kig-runtime
# "mounted" there, an init that is gone, and no bundle in containerd's state.
make_forgotten_record() { # W D
    mkdir -p "$1/leftover/rootfs/mnt"
    mount -t tmpfs leftover "$1/leftover/rootfs/mnt" || return 1
    python3 - "$1/leftover" "$2/node/runtime/k8s.io/kig" <<'PY2'
import glob, json, os, subprocess, sys
base, kig = sys.argv[1], sys.argv[2]
record = json.load(open(sorted(glob.glob(kig + "/*/state.json"))[0]))
gone = subprocess.Popen(["true"]); gone.wait()
record.update(id="kig-test-forgotten", bundle=base, rootfs=base + "/rootfs", config_path=base + "/config.json",
              shares_mounts=False, kig_exec=False, init_pid=gone.pid, init_start_time=1,
              mounted=[base + "/rootfs/mnt"], cgroup_dirs=[])
os.makedirs(kig + "/kig-test-forgotten", mode=0o700)
json.dump(record, open(kig + "/kig-test-forgotten/state.json", "w"))
PY2
}
forgotten_record_gone() { [ ! -e "$D/node/runtime/k8s.io/kig/kig-test-forgotten" ] && ! grep -q " $W/leftover/rootfs/mnt " /proc/self/mountinfo; }

kubelet_path() { tr '\0' '\n' <"/proc/$1/environ" | sed -n 's/^PATH=//p'; }

inside() {
    W=$1
    D=$W/data
    local mounts_before out rc pid uid
    mounts_before=$(mount_snapshot)
    out=$("$KIG" up --data-dir "$D" 2>"$W/up.err")
    rc=$?
    assert_eq "kig up exits 0" 0 "$rc"
    [ "$rc" = 0 ] || { tail -5 "$W/up.err" | sed 's/^/#   /'; finish; exit; }
    export KUBECONFIG=$D/kubeconfig/admin.kubeconfig

    pid=$("$KIG" status --data-dir "$D" --json | json_get - '[c["pid"] for c in d["components"] if c["name"] == "kubelet"][0]')
    assert_eq "kubelet's PATH starts with the node's kubelet-path directory" "$D/node/kubelet-path" \
        "$(kubelet_path "$pid" | cut -d: -f1)"
    assert_eq "whose mount is kig-mount" "$(readlink -f "$KIG_BUILD_DIR/src/kig-mount/kig-mount")" \
        "$(readlink -f "$D/node/kubelet-path/mount")"
    assert_eq "whose nice and find are kig-du" \
        "$(readlink -f "$KIG_BUILD_DIR/src/kig-du/kig-du") $(readlink -f "$KIG_BUILD_DIR/src/kig-du/kig-du")" \
        "$(readlink -f "$D/node/kubelet-path/nice") $(readlink -f "$D/node/kubelet-path/find")"

    check "the busybox image loads" "$KIG" image load --data-dir "$D" "$W/images/kig-busybox.oci.tar"
    check "the ConfigMap and the pod are created" sh -c "$(declare -f manifest); manifest | '$KUBECTL' --request-timeout=60s apply -f -"
    check "the pod with two subPath mounts is Running" wait_for 300 pod_running
    if ! pod_running; then
        show_pod_events subpath
    fi
    assert_eq "the ConfigMap key is the one file mounted at /etc/app.conf" "listen 8080" \
        "$(timeout 120 "$KUBECTL" --request-timeout=60s exec subpath -- cat /etc/app.conf 2>&1)"
    uid=$(kc get pod subpath -o jsonpath='{.metadata.uid}')
    check "what the container wrote through the emptyDir subPath is in the volume on the node" wait_for 30 \
        grep -qx written-through-subpath "$D/node/kubelet/pods/$uid/volumes/kubernetes.io~empty-dir/scratch/deeper/dir/f"
    assert_eq "two subPath mounts, none left by a failed attempt" 2 "$(subpath_mounts | wc -l)"
    check "kubelet logged no subPath failure" sh -c "! grep -q 'failed to prepare subPath\|error mounting' '$D/logs/kubelet.log'"

    # The pod janitor sweeps every 30 s and acts on a second look: within about a minute.
    check "a container record containerd has forgotten is made, with a mount" make_forgotten_record "$W" "$D"
    check "the pod janitor deletes it and unmounts its mount" wait_for 150 forgotten_record_gone
    check "kig.log says so" grep -q "pod janitor: deleted container kig-test-forgotten" "$D/logs/kig.log"
    check "the pod is still Running" pod_running

    mkdir -p "$W/src" "$W/tgt"
    mount -o bind "$W/src" "$W/tgt"
    out=$("$D/node/kubelet-path/mount" -o bind,remount,ro "$W/src" "$W/tgt" 2>&1)
    rc=$?
    assert_eq "kig-mount: a bind remount to read-only exits 32 (mount's 'mount failure')" 32 "$rc"
    assert_contains "it says the sandbox refuses it, in one line" "$out" "refuses bind remounts"
    assert_eq "(one line)" 1 "$(printf '%s\n' "$out" | wc -l)"
    check "kig-mount: the same remount without ro succeeds" "$D/node/kubelet-path/mount" -o bind,remount "$W/src" "$W/tgt"
    umount "$W/tgt"

    check "the pod is deleted" kc delete pod subpath --wait=true --timeout=180s
    check "its subPath mounts are gone" wait_for 60 sh -c "[ -z \"\$(awk -v d='$D/node/kubelet/pods/$uid' 'index(\$5, d) == 1' /proc/self/mountinfo)\" ]"
    assert_down_leaves_nothing "$D" "$mounts_before" --purge
    finish
}

if [ "${1:-}" = --inside ]; then
    inside "$2"
    exit
fi

require_programs "apt-get install etcd-server containerd kubernetes-client; scripts/build-kubernetes.sh" \
    /usr/bin/etcd /usr/bin/containerd "${KIG_K8S_BIN_DIR:-/var/cache/kig/kubernetes-1.20.2/bin}/kubelet" "$KUBECTL"
in_bed_with_images kig-test-volumes 600
