#!/usr/bin/env bash
# Installs everything kig needs to build, test and run on Debian bookworm, with apt-get. Idempotent: when
# every package is already installed it does nothing (and needs no network).
set -euo pipefail

BUILD=(meson ninja-build pkg-config gcc clang lld libclang-rt-14-dev clang-format
    libseccomp-dev libjansson-dev libssl-dev libcurl4-openssl-dev libcmocka-dev libfuse3-dev
    libmnl-dev libslirp-dev libglib2.0-dev libmount-dev)
RUNTIME=(runsc containerd runc crun etcd-server etcd-client iptables containernetworking-plugins
    iproute2 busybox-static fuse3 util-linux procps)
KUBERNETES_BUILD=(golang-go rsync dpkg-dev)
TEST=(python3 curl openssl docker-registry)

log() { printf 'install-deps: %s\n' "$*" >&2; }

[ "$(id -u)" = 0 ] || { echo "install-deps: error: apt-get needs root; run as root (or with sudo)" >&2; exit 1; }

missing=()
for p in "${BUILD[@]}" "${RUNTIME[@]}" "${KUBERNETES_BUILD[@]}" "${TEST[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# kubectl: any kubectl on PATH will do (kig only needs a client); otherwise Debian's kubernetes-client.
if ! command -v kubectl >/dev/null 2>&1; then
    missing+=(kubernetes-client)
fi

if [ ${#missing[@]} -eq 0 ]; then
    log "all packages present"
    exit 0
fi
log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || { echo "install-deps: error: apt-get update failed: check the network and /etc/apt/sources.list*" >&2; exit 1; }
apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/kig-install-deps.log 2>&1 || {
    tail -n 20 /tmp/kig-install-deps.log >&2
    echo "install-deps: error: apt-get install failed (log: /tmp/kig-install-deps.log)" >&2
    exit 1
}
log "done"
