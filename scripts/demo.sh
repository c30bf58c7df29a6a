#!/usr/bin/env bash
# The main job, from a fresh Debian bookworm machine: installs dependencies, builds kig and the Kubernetes
# components (cached), starts a gVisor sandbox with Debian's runsc and, inside it, shows what kig sees, brings
# up a Kubernetes node with kig (`kig up`) and runs a pod in it with plain kubectl: Running, logs, exec.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

step() { printf '\n=== %s\n' "$*"; }

if [ "${1:-}" = --inside ]; then
    # Runs inside the sandbox. The cluster lives in a throw-away data dir and is purged at the end.
    images=$2
    data=$(mktemp -d /tmp/kig-demo.XXXXXX)
    trap 'kig down --purge --data-dir "$data/cluster" >/dev/null 2>&1 || true; rm -rf "$data"' EXIT
    step "inside gVisor ($(uname -sr)): kig doctor"
    kig doctor
    step "kig up (control plane, containerd under kig-trace, kubelet)"
    kig up --data-dir "$data/cluster" --timeout 600   # a loaded 2-core machine can need minutes
    export KUBECONFIG=$data/cluster/kubeconfig/admin.kubeconfig
    kubectl get nodes -o wide
    step "load the locally built busybox image (no registry here; kig up loaded its own pause image)"
    ctr -a "$data/cluster/node/containerd/containerd.sock" -n k8s.io images import "$images/kig-busybox.oci.tar"
    step "a pod, in its own network namespace (kig-switch, docs/networking.md)"
    kubectl run hello --image=localhost/kig/busybox:latest --image-pull-policy=Never --restart=Never \
        -- sh -c 'echo "hello from a pod in gVisor ($(uname -r))"; sleep 3600'
    kubectl wait --for=condition=Ready pod/hello --timeout=120s
    kubectl get pods -o wide
    step "kubectl logs hello"
    kubectl logs hello
    step "kubectl exec hello"
    kubectl exec hello -- sh -c 'echo "exec works: $(hostname), pid $$"; ip -4 addr show eth0'
    step "kig status"
    kig status --data-dir "$data/cluster"
    step "kig down"
    kig down --purge --data-dir "$data/cluster"
    exit 0
fi

step "dependencies"
scripts/install-deps.sh
step "Kubernetes v1.20.2 components (cached in ${KIG_CACHE:-/var/cache/kig})"
scripts/build-kubernetes.sh
step "build kig"
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

step "build the local busybox image (from busybox-static)"
images=$(mktemp -d /tmp/kig-demo-images.XXXXXX)
trap 'rm -rf "$images"' EXIT
scripts/build-images.sh --only busybox "$images"

export PATH="$here/build/src/kig:$PATH"
step "start a gVisor sandbox (runsc) and run the rest inside it"
BED_STREAM=1 tests/runsc/bed --timeout 600 -- "$0" --inside "$images"
