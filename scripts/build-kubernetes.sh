#!/usr/bin/env bash
# Builds the Kubernetes v1.20.2 server binaries from Debian's `kubernetes` source package, offline, with
# Debian's Go, and caches them outside any clone. Idempotent: a cache whose SHA256SUMS still verifies is
# reused as is; a partial or damaged one is rebuilt. Safe to run concurrently (flock).
#
# Output: $KIG_CACHE/kubernetes-1.20.2/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,kube-proxy}
set -euo pipefail

KIG_CACHE=${KIG_CACHE:-/var/cache/kig}
K8S_VERSION=1.20.2
# Bump when the build recipe changes what the binaries do: a cache made by an older recipe is rebuilt.
RECIPE=2
DEST="$KIG_CACHE/kubernetes-$K8S_VERSION"
BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

log() { printf 'build-kubernetes: %s\n' "$*" >&2; }
die() { printf 'build-kubernetes: error: %s\n' "$*" >&2; exit 1; }

cache_intact() {
    [ -f "$DEST/SHA256SUMS" ] || return 1
    [ "$(cat "$DEST/RECIPE" 2>/dev/null)" = "$RECIPE" ] || return 1
    (cd "$DEST/bin" && sha256sum --quiet --strict -c ../SHA256SUMS) >/dev/null 2>&1 || return 1
    local b
    for b in "${BINS[@]}"; do
        grep -q " $b\$" "$DEST/SHA256SUMS" || return 1
    done
}

mkdir -p "$KIG_CACHE" || die "cannot create $KIG_CACHE: run as root or set KIG_CACHE to a writable directory"
exec 9>"$KIG_CACHE/.kubernetes.lock"
flock 9

if cache_intact; then
    log "cached binaries in $DEST/bin are intact; nothing to do"
    exit 0
fi

[ "$(id -u)" = 0 ] || die "apt-get source and build dependencies need root; run as root"

need_pkgs=()
for p in golang-go rsync dpkg-dev golang-github-modern-go-reflect2-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
    log "installing ${need_pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >/dev/null \
        || die "apt-get install ${need_pkgs[*]} failed; run 'apt-get update' and retry"
fi

# A deb-src entry for bookworm, written once, in the deb822 form this machine's sources use.
SRC_LIST=/etc/apt/sources.list.d/kig-deb-src.sources
if ! apt-get source --print-uris kubernetes >/dev/null 2>&1; then
    log "adding a bookworm deb-src entry ($SRC_LIST)"
    cat >"$SRC_LIST" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -q >/dev/null || die "apt-get update failed after adding $SRC_LIST"
fi

WORK="$KIG_CACHE/build"
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
log "fetching Debian's kubernetes source package"
apt-get source --download-only kubernetes >/dev/null 2>&1 || die "apt-get source kubernetes failed: check the deb-src entry in $SRC_LIST"
dsc=$(ls kubernetes_*.dsc | head -n1)
dpkg-source -x "$dsc" src >/dev/null || die "dpkg-source -x $dsc failed"
cd src
grep -q "gitVersion.*v$K8S_VERSION\|$K8S_VERSION" debian/changelog || log "warning: source package is not $K8S_VERSION"

# Kubernetes 1.20 vendors reflect2 v1.0.1, which breaks under Go >= 1.18 (Debian's Go is 1.19): every JSON
# decode of a map panics in reflect2.Type2 and the apiserver answers JSON clients (CRDs, curl, controllers)
# with errors. reflect2 v1.0.2 is the upstream fix; Debian packages it.
REFLECT2=/usr/share/gocode/src/github.com/modern-go/reflect2
[ -f "$REFLECT2/go_above_118.go" ] || die "reflect2 1.0.2 not found in $REFLECT2: apt-get install golang-github-modern-go-reflect2-dev"
rm -rf vendor/github.com/modern-go/reflect2
cp -a "$REFLECT2" vendor/github.com/modern-go/reflect2
# go.mod pins reflect2 with a replace directive; go's vendor check wants go.mod and modules.txt to agree.
sed -i 's#=> github.com/modern-go/reflect2 v1.0.1$#=> github.com/modern-go/reflect2 v1.0.2#' go.mod vendor/modules.txt
grep -q "=> github.com/modern-go/reflect2 v1.0.2" go.mod || die "could not switch reflect2 to v1.0.2 in go.mod"

# The GOPATH layout debian/rules uses; CGO off as Debian builds it; offline: no module proxy.
export GOPATH="$PWD/.go" HOME="$WORK/home" CGO_ENABLED=0 GOPROXY=off GOFLAGS=-mod=vendor
export KUBE_GIT_VERSION="v$K8S_VERSION" KUBE_GIT_TREE_STATE=clean
mkdir -p .go/src/k8s.io "$HOME"
[ -L .go/src/k8s.io/kubernetes ] || ln -s ../../.. .go/src/k8s.io/kubernetes
what=""
for b in "${BINS[@]}"; do what="$what cmd/$b"; done
log "building${what} (about 11 minutes on 2 cores)"
start=$(date +%s)
make WHAT="${what# }" >"$WORK/make.log" 2>&1 || { tail -n 30 "$WORK/make.log" >&2; die "make failed; full log in $WORK/make.log"; }
log "built in $(( $(date +%s) - start )) s"

rm -rf "$DEST.new"
mkdir -p "$DEST.new/bin"
for b in "${BINS[@]}"; do
    install -m 0755 "_output/bin/$b" "$DEST.new/bin/$b"
done
(cd "$DEST.new/bin" && sha256sum "${BINS[@]}" >../SHA256SUMS)
echo "v$K8S_VERSION $(basename "$dsc") reflect2-1.0.2" >"$DEST.new/SOURCE"
echo "$RECIPE" >"$DEST.new/RECIPE"
rm -rf "$DEST"
mv "$DEST.new" "$DEST"
cd /
rm -rf "$WORK"
cache_intact || die "cache in $DEST does not verify after build"
log "installed ${BINS[*]} in $DEST/bin"
