#!/usr/bin/env bash
# Builds kig's local container images as OCI image layout tarballs, without docker or a registry:
#
#   localhost/kig/pause:3.2        one static file, /pause (kig-pause): the pod sandbox image
#   localhost/kig/busybox:latest   Debian's busybox-static with its applets: a small test image
#
#   scripts/build-images.sh [--pause PATH] [--busybox PATH] [--only pause|busybox] OUTDIR
#
# writes OUTDIR/kig-pause.oci.tar and OUTDIR/kig-busybox.oci.tar and prints their paths. Import them with
#   ctr -n k8s.io images import OUTDIR/kig-pause.oci.tar
# (the name comes from the index's io.containerd.image.name annotation) and point containerd's CRI
# sandbox_image at localhost/kig/pause:3.2.
#
# Why a shell script: an image is four JSON documents and a gzip'd tar, addressed by sha256. GNU tar (sorted,
# fixed owner and mtime), gzip -n and sha256sum make them byte-for-byte reproducible, so the same inputs give
# the same image digest on every machine; no library, language runtime or daemon is needed. Layout:
#   oci-layout  {"imageLayoutVersion": "1.0.0"}
#   index.json  one manifest descriptor with the platform and the image name annotations
#   blobs/sha256/<digest>  the layer (tar+gzip), the image config, the manifest
set -euo pipefail

usage() {
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

here=$(cd "$(dirname "$0")/.." && pwd)
pause_bin=""
busybox_bin=/bin/busybox
only=""
while [ $# -gt 0 ]; do
    case "$1" in
    --pause) pause_bin=${2:?--pause needs a path}; shift ;;
    --busybox) busybox_bin=${2:?--busybox needs a path}; shift ;;
    --only) only=${2:?--only needs pause or busybox}; shift ;;
    -h | --help) usage ;;
    -*) echo "build-images: error: unknown option '$1'; see --help" >&2; exit 2 ;;
    *) break ;;
    esac
    shift
done
[ $# -eq 1 ] || usage
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)

case "$(uname -m)" in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac

die() { echo "build-images: error: $*" >&2; exit 1; }

is_static() { file -L "$1" 2>/dev/null | grep -q 'statically linked'; }

if [ -z "$pause_bin" ]; then
    for c in "$here"/build*/src/kig-pause/kig-pause /usr/libexec/kig/kig-pause; do
        if [ -x "$c" ] && is_static "$c"; then pause_bin=$c; break; fi
    done
fi

sha256() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# Writes a blob from a file; echoes its digest.
put_blob() { # LAYOUT FILE
    local d
    d=$(sha256 "$2")
    cp "$2" "$1/blobs/sha256/$d"
    echo "$d"
}

# Deterministic tar of a directory's contents: sorted, owned by root, mtime 0, no atime/ctime.
det_tar() { # DIR OUTPUT
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        -C "$1" -cf "$2" .
}

json_list() { # items... -> ["a","b"]
    local s="" i
    for i in "$@"; do s="$s${s:+,}\"$i\""; done
    echo "[$s]"
}

# build_image NAME TAG ROOTFS ENTRYPOINT_JSON CMD_JSON OUTPUT
build_image() {
    local name=$1 tag=$2 rootfs=$3 entrypoint=$4 cmd=$5 output=$6
    local tmp
    tmp=$(mktemp -d "$out/.image.XXXXXX")
    mkdir -p "$tmp/layout/blobs/sha256"
    det_tar "$rootfs" "$tmp/layer.tar"
    local diff_id
    diff_id=$(sha256 "$tmp/layer.tar")
    gzip -n -9 <"$tmp/layer.tar" >"$tmp/layer.tar.gz"
    local layer layer_size
    layer=$(put_blob "$tmp/layout" "$tmp/layer.tar.gz")
    layer_size=$(size "$tmp/layer.tar.gz")

    printf '{"created":"1970-01-01T00:00:00Z","architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":%s,"Cmd":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"kig scripts/build-images.sh"}]}' \
        "$arch" "$entrypoint" "$cmd" "$diff_id" >"$tmp/config.json"
    local config config_size
    config=$(put_blob "$tmp/layout" "$tmp/config.json")
    config_size=$(size "$tmp/config.json")

    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
        "$config" "$config_size" "$layer" "$layer_size" >"$tmp/manifest.json"
    local manifest manifest_size
    manifest=$(put_blob "$tmp/layout" "$tmp/manifest.json")
    manifest_size=$(size "$tmp/manifest.json")

    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s:%s","org.opencontainers.image.ref.name":"%s"}}]}' \
        "$manifest" "$manifest_size" "$arch" "$name" "$tag" "$tag" >"$tmp/layout/index.json"
    printf '{"imageLayoutVersion":"1.0.0"}' >"$tmp/layout/oci-layout"
    det_tar "$tmp/layout" "$output.tmp"
    mv "$output.tmp" "$output"
    rm -rf "$tmp"
    echo "$output ($name:$tag, manifest sha256:$manifest)"
}

build_pause() {
    [ -n "$pause_bin" ] || die "no static kig-pause found: build it (ninja -C build) or pass --pause PATH"
    is_static "$pause_bin" || die "$pause_bin is not statically linked: the pause image holds nothing else"
    local rootfs
    rootfs=$(mktemp -d "$out/.rootfs.XXXXXX")
    install -s -m 0755 "$pause_bin" "$rootfs/pause"
    build_image localhost/kig/pause 3.2 "$rootfs" '["/pause"]' 'null' "$out/kig-pause.oci.tar"
    rm -rf "$rootfs"
}

build_busybox() {
    [ -x "$busybox_bin" ] || die "$busybox_bin not found: apt-get install busybox-static or pass --busybox PATH"
    is_static "$busybox_bin" || die "$busybox_bin is not statically linked: apt-get install busybox-static"
    local rootfs a
    rootfs=$(mktemp -d "$out/.rootfs.XXXXXX")
    chmod 0755 "$rootfs"
    mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/root" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
    chmod 1777 "$rootfs/tmp"
    install -m 0755 "$busybox_bin" "$rootfs/bin/busybox"
    for a in $("$busybox_bin" --list); do
        [ "$a" = busybox ] || ln -s busybox "$rootfs/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
    build_image localhost/kig/busybox latest "$rootfs" 'null' '["sh"]' "$out/kig-busybox.oci.tar"
    rm -rf "$rootfs"
}

case "$only" in
"") build_pause; build_busybox ;;
pause) build_pause ;;
busybox) build_busybox ;;
*) die "--only takes pause or busybox, not '$only'" ;;
esac
