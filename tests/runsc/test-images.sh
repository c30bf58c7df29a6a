#!/usr/bin/env bash
# Images without a registry, and with one, inside gVisor (docs/images.md):
#   * `kig image load` of an OCI image layout (scripts/build-images.sh), of a docker archive (made here from
#     the OCI one, as `docker save` writes them: manifest.json, the config, uncompressed layer.tar files)
#     and of an OCI archive without a name (--name), each image then running in a pod (imagePullPolicy
#     Never; the docker one under its short name, as kubelet normalizes it);
#   * `kig image list`;
#   * one line and a non-zero exit for a missing file, a file that is not a tar, a directory, a gzip'd
#     archive, a tar that is not an image, an image without a name, a control-plane-only cluster and a
#     cluster that is down;
#   * a pull by kubelet through containerd's CRI from a registry on loopback inside the sandbox (Debian's
#     docker-registry on 127.0.0.1:5000, no containerd configuration): an image pushed there with
#     `ctr images push --plain-http` from a scratch namespace that is then deleted, so the blobs can only
#     come from the registry; pods with imagePullPolicy Always on 127.0.0.1:5000 and localhost:5000 Running;
#   * `kig down` leaving no process.
#
# Everything runs in one sandbox: this script re-runs itself there with --inside.
. "$(dirname "$0")/lib.sh"
require_root

KUBECTL=${KIG_KUBECTL:-$(command -v kubectl || echo /usr/bin/kubectl)}
REGISTRY=${KIG_DOCKER_REGISTRY:-$(command -v docker-registry || echo /usr/bin/docker-registry)}
PAUSE=${KIG_PAUSE:-$KIG_BUILD_DIR/src/kig-pause/kig-pause}
export KUBECTL REGISTRY

kc() { "$KUBECTL" --request-timeout=30s "$@"; }

# The image archives the test needs, derived from the OCI busybox image with Python's tarfile (no docker):
#   docker  DIR/busybox.docker.tar  a docker archive (docker save's layout) named busybox-docker:v1
#   unnamed DIR/unnamed.oci.tar     the OCI archive with no name annotation
#   marker  DIR/marker.oci.tar      the image plus a layer holding /kig-registry-marker, for the registry
make_archives() { # OCI_TAR DIR
    python3 - "$1" "$2" <<'PY'
import gzip, hashlib, io, json, sys, tarfile

src, out = sys.argv[1], sys.argv[2]
with tarfile.open(src) as t:
    files = {m.name.lstrip("./"): t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
index = json.loads(files["index.json"])
desc = index["manifests"][0]
blob = lambda d: files["blobs/sha256/" + d.split(":", 1)[1]]
manifest = json.loads(blob(desc["digest"]))
config = blob(manifest["config"]["digest"])
layers = [gzip.decompress(blob(l["digest"])) for l in manifest["layers"]]
sha = lambda b: hashlib.sha256(b).hexdigest()

def add(t, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    t.addfile(info, io.BytesIO(data))

def oci(path, entries, annotations):
    """An OCI layout with the given blobs; the first manifest gets the annotations."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        add(t, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        blobs = {}
        for data in entries["blobs"]:
            blobs[sha(data)] = data
        m = entries["manifest"]
        d = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + sha(m),
             "size": len(m), "platform": desc.get("platform", {})}
        if annotations:
            d["annotations"] = annotations
        blobs[sha(m)] = m
        add(t, "index.json", json.dumps({"schemaVersion": 2, "manifests": [d]}).encode())
        for h, data in sorted(blobs.items()):
            add(t, "blobs/sha256/" + h, data)

# docker save's layout: <config hex>.json, <layer hex>/layer.tar (uncompressed), manifest.json, repositories
with tarfile.open(out + "/busybox.docker.tar", "w", format=tarfile.USTAR_FORMAT) as t:
    cfg = sha(config) + ".json"
    add(t, cfg, config)
    names = []
    for layer in layers:
        add(t, sha(layer) + "/VERSION", b"1.0")
        add(t, sha(layer) + "/layer.tar", layer)
        names.append(sha(layer) + "/layer.tar")
    add(t, "manifest.json", json.dumps([{"Config": cfg, "RepoTags": ["busybox-docker:v1"], "Layers": names}]).encode())
    add(t, "repositories", json.dumps({"busybox-docker": {"v1": sha(layers[-1])}}).encode())

# the same image, nameless
oci(out + "/unnamed.oci.tar",
    {"blobs": [config] + [blob(l["digest"]) for l in manifest["layers"]], "manifest": blob(desc["digest"])}, None)

# the image plus a marker layer: blobs no other image has
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as lt:
    add(lt, "kig-registry-marker", b"pulled from the registry\n")
marker = buf.getvalue()
marker_gz = gzip.compress(marker, mtime=0)
cfg2 = json.loads(config)
cfg2["rootfs"]["diff_ids"].append("sha256:" + sha(marker))
cfg2 = json.dumps(cfg2).encode()
m2 = dict(manifest)
m2["config"] = {"mediaType": manifest["config"]["mediaType"], "digest": "sha256:" + sha(cfg2), "size": len(cfg2)}
m2["layers"] = manifest["layers"] + [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                      "digest": "sha256:" + sha(marker_gz), "size": len(marker_gz)}]
m2 = json.dumps(m2).encode()
oci(out + "/marker.oci.tar",
    {"blobs": [cfg2, marker_gz] + [blob(l["digest"]) for l in manifest["layers"]], "manifest": m2},
    {"io.containerd.image.name": "localhost/kig/marker:latest"})
PY
}

pod_yaml() { # NAME IMAGE PULL_POLICY COMMAND
    cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  hostNetwork: true
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: $2
    imagePullPolicy: $3
    command: [sh, -c, "$4; sleep 3600"]
EOF
}

pod_running() { [ "$(kc get pod "$1" -o jsonpath='{.status.phase}' 2>/dev/null)" = Running ]; }
pods_running() { # NAME...: all of them Running
    local p
    for p; do pod_running "$p" || return 1; done
}

# check_error NAME EXPECTED_TEXT CMD...: CMD exits non-zero and says one line on stderr, containing TEXT.
check_error() {
    local name=$1 text=$2 out rc
    shift 2
    out=$("$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ "$out" == *"$text"* ]]; then
        _report ok "$name"
        echo "#   $out"
    else
        _report fail "$name" "exit $rc, expected one line with '$text': $out"
    fi
}

start_registry() {
    mkdir -p "$W/registry"
    cat >"$W/registry.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $W/registry
http:
  addr: 127.0.0.1:5000
EOF
    "$REGISTRY" serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
    REGISTRY_PID=$!
    wait_for 60 curl -sf http://127.0.0.1:5000/v2/
}

check_registry_pull() {
    local S=$D/node/containerd/containerd.sock ns=kig-test-push layer
    local C=(ctr -a "$S" -n "$ns")
    start_registry
    assert_eq "docker-registry serves on 127.0.0.1:5000 inside the sandbox" 0 $?
    # Push from a scratch namespace, then delete it: the CRI's namespace never held these blobs.
    check "the marker image is imported into a scratch namespace" "${C[@]}" images import "$W/images/marker.oci.tar"
    "${C[@]}" images tag localhost/kig/marker:latest 127.0.0.1:5000/kig/busybox:test >/dev/null
    "${C[@]}" images tag localhost/kig/marker:latest localhost:5000/kig/busybox:test2 >/dev/null
    "${C[@]}" images tag localhost/kig/marker:latest registry.kig.test:5000/kig/busybox:test3 >/dev/null
    check "ctr pushes it to the registry over plain HTTP (127.0.0.1:5000)" \
        "${C[@]}" images push --plain-http 127.0.0.1:5000/kig/busybox:test
    check "ctr pushes it to the registry over plain HTTP (localhost:5000)" \
        "${C[@]}" images push --plain-http localhost:5000/kig/busybox:test2
    check "ctr pushes it to the registry over plain HTTP (registry.kig.test:5000, a name for 127.0.0.1)" \
        "${C[@]}" images push --plain-http registry.kig.test:5000/kig/busybox:test3
    # (in the order of its storage directory, which is no order)
    assert_eq "the registry lists the tags" "kig/busybox: test test2 test3" \
        "$(curl -s http://127.0.0.1:5000/v2/kig/busybox/tags/list |
            python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["name"] + ":", *sorted(d["tags"]))')"
    "${C[@]}" images rm --sync localhost/kig/marker:latest 127.0.0.1:5000/kig/busybox:test \
        localhost:5000/kig/busybox:test2 registry.kig.test:5000/kig/busybox:test3 >/dev/null
    "${C[@]}" content ls -q | xargs -r "${C[@]}" content rm >/dev/null 2>&1
    ctr -a "$S" namespaces rm "$ns" >/dev/null 2>&1
    assert_eq "the scratch namespace is gone" "" "$(ctr -a "$S" namespaces ls -q | grep -x "$ns")"
    layer=$(python3 -c 'import json,sys,tarfile
t = tarfile.open(sys.argv[1]); idx = json.load(t.extractfile("index.json"))
m = json.load(t.extractfile("blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
print(m["layers"][-1]["digest"])' "$W/images/marker.oci.tar")
    assert_eq "the CRI's namespace does not hold the marker layer" "" \
        "$(ctr -a "$S" -n k8s.io content ls -q | grep -x "$layer")"

    local from
    from=$(wc -l <"$W/registry.log")
    pod_yaml pull-ip 127.0.0.1:5000/kig/busybox:test Always "cat /kig-registry-marker" | kc apply -f - >/dev/null
    pod_yaml pull-localhost localhost:5000/kig/busybox:test2 Always "cat /kig-registry-marker" | kc apply -f - >/dev/null
    # Not loopback to containerd: plain HTTP only because of kig up --insecure-registry registry.kig.test:5000.
    pod_yaml pull-named registry.kig.test:5000/kig/busybox:test3 Always "cat /kig-registry-marker" | kc apply -f - >/dev/null
    wait_for 240 pods_running pull-ip pull-localhost pull-named
    check "a pod with image 127.0.0.1:5000/kig/busybox:test (imagePullPolicy Always) is Running" pod_running pull-ip
    check "a pod with image localhost:5000/kig/busybox:test2 (imagePullPolicy Always) is Running" \
        pod_running pull-localhost
    check "a pod with image registry.kig.test:5000/kig/busybox:test3 (kig up --insecure-registry) is Running" \
        pod_running pull-named
    check "kubelet pulled it (event 'Successfully pulled image')" \
        sh -c "'$KUBECTL' get events --field-selector involvedObject.name=pull-ip -o jsonpath='{.items[*].message}' | grep -q 'Successfully pulled image \"127.0.0.1:5000/kig/busybox:test\"'"
    check "containerd fetched the marker layer from the registry" \
        sh -c "tail -n +$((from + 1)) '$W/registry.log' | grep -q 'GET /v2/kig/busybox/blobs/$layer'"
    check "the pod runs the pulled content" wait_for 60 sh -c "[ \"\$('$KUBECTL' logs pull-ip 2>/dev/null)\" = 'pulled from the registry' ]"
    check "containerd's CRI pulled it over plain HTTP with no registry configuration" \
        sh -c "grep PullImage '$D/logs/containerd.log' | grep '127.0.0.1:5000/kig/busybox:test' | grep -q 'returns image reference'"
    for p in pull-ip pull-named; do
        pod_running "$p" || kc describe pod "$p" | tail -n 8 | sed 's/^/#   /'
    done
    if ! pod_running pull-ip || ! pod_running pull-named; then
        grep -i 'pull' "$D/logs/containerd.log" | tail -n 5 | cut -c1-240 | sed 's/^/#   containerd.log: /'
    fi
    kill "$REGISTRY_PID" 2>/dev/null
    wait "$REGISTRY_PID" 2>/dev/null
}

inside() {
    W=$1
    D=$W/data
    local out rc
    # registry.kig.test names the registry on 127.0.0.1 without being loopback to containerd. /etc/hosts is
    # the host's file: a sandbox-private bind mount holds the name.
    { cat /etc/hosts; echo "127.0.0.1 registry.kig.test"; } >"$W/hosts"
    mount --bind "$W/hosts" /etc/hosts

    check_error "kig image load without a cluster says to run 'kig up'" "'kig up'" \
        "$KIG" image load --data-dir "$D" "$W/images/kig-busybox.oci.tar"

    check_error "kig up --insecure-registry with a bad host: one line, non-zero" "invalid --insecure-registry" \
        "$KIG" up --data-dir "$D" --insecure-registry "bad host:5000"
    out=$("$KIG" up --data-dir "$D" --insecure-registry registry.kig.test:5000 2>"$W/up.err")
    rc=$?
    assert_eq "kig up --insecure-registry registry.kig.test:5000 exits 0" 0 "$rc"
    [ "$rc" = 0 ] || { tail -5 "$W/up.err" | sed 's/^/#   /'; finish; exit; }
    export KUBECONFIG=$D/kubeconfig/admin.kubeconfig
    check "containerd's registry config_path holds registry.kig.test:5000/hosts.toml" \
        grep -q 'server = "http://registry.kig.test:5000"' "$D/run/registries/registry.kig.test:5000/hosts.toml"

    out=$("$KIG" image load --data-dir "$D" "$W/images/kig-pause.oci.tar" "$W/images/kig-busybox.oci.tar" 2>&1)
    assert_eq "kig image load of two OCI archives exits 0" 0 $?
    assert_eq "it prints the names loaded" "loaded image localhost/kig/pause:3.2
loaded image localhost/kig/busybox:latest" "$out"
    out=$("$KIG" image load "$W/images/busybox.docker.tar" --data-dir "$D" 2>&1)
    assert_eq "kig image load of a docker archive exits 0" 0 $?
    assert_eq "it prints the RepoTags name, normalized" "loaded image docker.io/library/busybox-docker:v1" "$out"
    check_error "an OCI archive without a name needs --name" "has no name" \
        "$KIG" image load --data-dir "$D" "$W/images/unnamed.oci.tar"
    out=$("$KIG" image load --data-dir "$D" --name kig.test/unnamed:1 "$W/images/unnamed.oci.tar" 2>&1)
    assert_eq "kig image load --name of an OCI archive without a name exits 0" 0 $?
    assert_eq "it prints the given name" "loaded image kig.test/unnamed:1" "$out"

    out=$("$KIG" image list --data-dir "$D" 2>&1)
    assert_eq "kig image list exits 0" 0 $?
    echo "$out" | sed 's/^/#   /'
    assert_eq "kig image list -q: the loaded images, and not the CRI's own references" \
        "docker.io/library/busybox-docker:v1 kig.test/unnamed:1 localhost/kig/busybox:latest localhost/kig/pause:3.2" \
        "$("$KIG" image list -q --data-dir "$D" | sort | tr '\n' ' ' | sed 's/ $//')"

    pod_yaml from-oci localhost/kig/busybox:latest Never "echo oci" | kc apply -f - >/dev/null
    pod_yaml from-docker busybox-docker:v1 Never "echo docker" | kc apply -f - >/dev/null
    pod_yaml from-unnamed kig.test/unnamed:1 Never "echo unnamed" | kc apply -f - >/dev/null
    wait_for 240 pods_running from-oci from-docker from-unnamed
    check "the pod from the OCI archive is Running" pod_running from-oci
    check "the pod from the docker archive (image: busybox-docker:v1) is Running" pod_running from-docker
    check "the pod from the --name'd archive is Running" pod_running from-unnamed
    check "its output is the docker image's" wait_for 30 sh -c "[ \"\$('$KUBECTL' logs from-docker 2>/dev/null)\" = docker ]"
    for p in from-oci from-docker from-unnamed; do
        pod_running "$p" || kc describe pod "$p" | tail -n 6 | sed 's/^/#   /'
    done

    echo "not a tar archive at all, just text" >"$W/garbage.tar"
    mkdir -p "$W/adir"
    gzip -c "$W/images/kig-busybox.oci.tar" >"$W/busybox.tar.gz"
    tar -cf "$W/plain.tar" -C "$W" garbage.tar
    check_error "a missing file: one line, non-zero" "does not exist" \
        "$KIG" image load --data-dir "$D" "$W/nope.tar"
    check_error "a file that is not a tar: one line, non-zero" "is not a tar archive" \
        "$KIG" image load --data-dir "$D" "$W/garbage.tar"
    check_error "a directory: one line, non-zero" "is a directory" \
        "$KIG" image load --data-dir "$D" "$W/adir"
    check_error "a gzip'd archive: one line, non-zero" "gzip-compressed" \
        "$KIG" image load --data-dir "$D" "$W/busybox.tar.gz"
    check_error "a tar that is not an image: one line, non-zero" "neither an OCI image layout" \
        "$KIG" image load --data-dir "$D" "$W/plain.tar"
    mkdir -p "$W/cp"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["mode"]="control-plane-only"; json.dump(d, open(sys.argv[2], "w"))' \
        "$D/cluster.json" "$W/cp/cluster.json"
    check_error "a control-plane-only cluster: one line, non-zero" "runs without a node" \
        "$KIG" image load --data-dir "$W/cp" "$W/images/kig-busybox.oci.tar"

    if [ -x "$REGISTRY" ]; then
        check_registry_pull
    else
        _report fail "docker-registry is installed (apt-get install docker-registry)"
    fi

    kc delete pod --all --wait=false >/dev/null 2>&1
    out=$("$KIG" down --data-dir "$D" 2>&1)
    assert_eq "kig down exits 0" 0 $?
    assert_eq "no kig, etcd, kube-*, containerd or kubelet process is left" "" "$(kig_processes)"
    assert_eq "no registry process is left" "" "$(ps -eo comm= | grep -x docker-registry || true)"
    check_error "kig image load on a cluster that is down: one line, non-zero" "is not running" \
        "$KIG" image load --data-dir "$D" "$W/images/kig-busybox.oci.tar"
    check_error "kig image list on a cluster that is down: one line, non-zero" "is not running" \
        "$KIG" image list --data-dir "$D"
    "$KIG" down --purge --data-dir "$D" >/dev/null 2>&1
    umount /etc/hosts
    finish
}

if [ "${1:-}" = --inside ]; then
    inside "$2"
    exit
fi

[ -x "$KIG" ] || { echo "not ok - kig not built at $KIG"; exit 1; }
for c in /usr/bin/etcd /usr/bin/containerd /usr/bin/ctr "${KIG_K8S_BIN_DIR:-/var/cache/kig/kubernetes-1.20.2/bin}/kubelet" "$KUBECTL" "$REGISTRY"; do
    [ -x "$c" ] || { echo "# $c missing (apt-get install etcd-server containerd kubernetes-client docker-registry; scripts/build-kubernetes.sh)"; exit 77; }
done
require_static_pause "$PAUSE"
make_work_dir kig-test-images
check "build the local images" "$KIG_SOURCE_DIR/scripts/build-images.sh" --pause "$PAUSE" "$work/images"
check "derive a docker archive, a nameless and a registry-only OCI archive" make_archives "$work/images/kig-busybox.oci.tar" "$work/images"
in_bed --timeout 840 -- bash "$0" --inside "$work"
rc=$?
assert_eq "every check inside gVisor passed" 0 "$rc"
finish
