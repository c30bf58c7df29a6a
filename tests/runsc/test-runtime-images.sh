#!/usr/bin/env bash
# The local images (scripts/build-images.sh) and kig-runtime under the real containerd-shim-runc-v2.
#   - both image tarballs build reproducibly and import with `ctr images import` under their names, on the
#     host and inside gVisor;
#   - on the host (the shim needs a subreaper, which gVisor 20221219 gives only to PID 1 and kig-trace
#     emulates), containerd 1.6 runs them through io.containerd.runc.v2 with BinaryName = kig-runtime: exit
#     codes, exec, the pause container stopping on SIGTERM, and no task or mount left.
. "$(dirname "$0")/lib.sh"
require_root

KIG_RUNTIME=${KIG_RUNTIME:-$KIG_BUILD_DIR/src/kig-runtime/kig-runtime}
PAUSE=${KIG_PAUSE:-$KIG_BUILD_DIR/src/kig-pause/kig-pause}
for tool in containerd ctr crun; do
    command -v $tool >/dev/null || { echo "# $tool is not installed: apt-get install containerd crun"; exit 77; }
done
[ -x "$KIG_RUNTIME" ] || { echo "# kig-runtime not built at $KIG_RUNTIME"; exit 77; }
require_static_pause "$PAUSE"

if [ "${KIG_IMAGES_INNER:-}" = "" ]; then
    work=$(mktemp -d /tmp/kig-images-test.XXXXXX)
    chmod 0755 "$work"
    # An interrupted run leaves its containerd and shims behind; they are found by WORK in their command
    # lines, so they never collide with the next run (whose runtime state also lives under its own WORK).
    trap 'pkill -KILL -f -- "$work/ctrd" 2>/dev/null; sleep 0.2; rm -rf "$work"' EXIT
    KIG_IMAGES_INNER=host WORK=$work unshare --mount --propagation private bash "$0"
    exit $?
fi
work=$WORK

# containerd with its own root, state and socket under WORK; CRI off (it wants a CNI config); opt off (it
# would create /opt/containerd on the machine, as kig's own containerd.toml says).
start_containerd() { # DIR [SNAPSHOTTER]
    local d=$1
    mkdir -p "$d"
    cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt"]
[grpc]
  address = "$d/sock"
EOF
    containerd --config "$d/config.toml" >"$d/containerd.log" 2>&1 &
    echo $! >"$d/pid"
    local i
    for i in $(seq 100); do [ -S "$d/sock" ] && return 0; sleep 0.1; done
    return 1
}

if [ "$KIG_IMAGES_INNER" = gvisor ]; then
    # Inside the sandbox: only the import, without unpacking: containerd unpacks through an "rbind" mount,
    # and gVisor 20221219 refuses MS_REC (kig-trace drops it); running tasks needs the shim's subreaper.
    start_containerd "$work/ctrd-gvisor" || { echo "not ok - containerd starts in gVisor"; exit 0; }
    for image in pause busybox; do
        if out=$(ctr --address "$work/ctrd-gvisor/sock" -n k8s.io images import --no-unpack \
            "$work/images/kig-$image.oci.tar" 2>&1); then
            echo "ok - in gVisor: import kig-$image.oci.tar"
        else
            echo "not ok - in gVisor: import kig-$image.oci.tar"
            echo "#   $out"
        fi
    done
    echo "# images: $(ctr --address "$work/ctrd-gvisor/sock" -n k8s.io images ls -q | tr '\n' ' ')"
    kill "$(cat "$work/ctrd-gvisor/pid")"
    wait
    exit 0
fi

check "build both images" "$KIG_SOURCE_DIR/scripts/build-images.sh" --pause "$PAUSE" "$work/images"
"$KIG_SOURCE_DIR/scripts/build-images.sh" --pause "$PAUSE" "$work/images2" >/dev/null
assert_eq "the build is reproducible (same bytes twice)" \
    "$(cd "$work/images" && sha256sum *.tar)" "$(cd "$work/images2" && sha256sum *.tar)"
# index.json -> manifest -> its one layer: the files in it.
layer_files() { # IMAGE_TAR
    python3 - "$1" <<'PY'
import io, json, sys, tarfile
t = tarfile.open(sys.argv[1])
blob = lambda d: t.extractfile("./blobs/sha256/" + d.split(":")[1]).read()
index = json.loads(t.extractfile("./index.json").read())
manifest = json.loads(blob(index["manifests"][0]["digest"]))
layer = tarfile.open(fileobj=io.BytesIO(blob(manifest["layers"][0]["digest"])), mode="r:gz")
print(" ".join(sorted(m.name for m in layer.getmembers() if not m.isdir())))
PY
}
assert_eq "the pause image holds one file, /pause" "./pause" "$(layer_files "$work/images/kig-pause.oci.tar")"
files=$(layer_files "$work/images/kig-busybox.oci.tar")
assert_contains "the busybox image holds busybox" "$files" "./bin/busybox "
assert_contains "... and its applets" "$files" "./bin/sh "

[ -e /sys/fs/cgroup/unified ] && umount /sys/fs/cgroup/unified 2>/dev/null # crun 1.8.1 refuses hybrid hosts
start_containerd "$work/ctrd"
assert_eq "containerd starts" 0 $?
C=(ctr --address "$work/ctrd/sock" -n k8s.io)
RUN=(run --runc-binary "$KIG_RUNTIME" --runc-root "$work/ctrd/runc")
"${C[@]}" images import "$work/images/kig-pause.oci.tar" >/dev/null &&
    "${C[@]}" images import "$work/images/kig-busybox.oci.tar" >/dev/null
assert_eq "ctr -n k8s.io images import (both)" 0 $?
assert_eq "the images carry their names" "localhost/kig/busybox:latest localhost/kig/pause:3.2" \
    "$("${C[@]}" images ls -q | sort | tr '\n' ' ' | sed 's/ $//')"

mounts_before=$(mount_snapshot)
out=$("${C[@]}" "${RUN[@]}" --rm localhost/kig/busybox:latest hello \
    sh -c 'echo hello from containerd; exit 4' 2>&1)
assert_eq "ctr run through the shim and kig-runtime: the container's exit code" 4 $?
assert_eq "... and its output" "hello from containerd" "$out"
"${C[@]}" "${RUN[@]}" -d localhost/kig/pause:3.2 pause >/dev/null
assert_eq "the pause image runs" 0 $?
"${C[@]}" "${RUN[@]}" -d localhost/kig/busybox:latest sleeper sleep 120 >/dev/null
out=$("${C[@]}" task exec --exec-id e1 sleeper sh -c 'echo exec-ok; head -n 1 /etc/passwd' 2>&1)
assert_eq "ctr task exec through kig-runtime" "exec-ok root:x:0:0:root:/root:/bin/sh" "$(echo $out)"
"${C[@]}" task kill pause
for _ in $(seq 50); do "${C[@]}" task ls | grep -q 'pause .*STOPPED' && break; sleep 0.1; done
assert_contains "kig-pause stops on SIGTERM" "$("${C[@]}" task ls)" "STOPPED"
"${C[@]}" task kill -s KILL sleeper
sleep 1
"${C[@]}" task delete pause sleeper >/dev/null 2>&1
"${C[@]}" containers delete pause sleeper >/dev/null 2>&1
assert_eq "no task left" "" "$("${C[@]}" task ls -q)"
assert_eq "no container mount left" "$mounts_before" "$(mount_snapshot)"
kill "$(cat "$work/ctrd/pid")"
wait

out=$(KIG_IMAGES_INNER=gvisor WORK=$work in_bed --timeout 300 -- bash "$0" 2>&1)
while IFS= read -r line; do
    case "$line" in
    "ok - "*) _report ok "${line#ok - }" ;;
    "not ok - "*) _report fail "${line#not ok - }" ;;
    "#"*) echo "$line" ;;
    esac
done <<<"$out"
assert_contains "both imported inside gVisor" "$out" "localhost/kig/busybox:latest localhost/kig/pause:3.2"
finish
