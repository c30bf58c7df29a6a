#!/usr/bin/env bash
# The main job, from a fresh Debian bookworm machine: installs dependencies, builds kig and the Kubernetes
# components (cached), starts a gVisor sandbox with Debian's runsc and, inside it, shows what kig sees, brings
# up a Kubernetes control plane with kig and uses it with plain kubectl.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

step() { printf '\n=== %s\n' "$*"; }

if [ "${1:-}" = --inside ]; then
    # Runs inside the sandbox. The cluster lives in a throw-away data dir and is purged at the end.
    data=$(mktemp -d /tmp/kig-demo.XXXXXX)
    trap 'kig down --purge --data-dir "$data" >/dev/null 2>&1 || true; rm -rf "$data"' EXIT
    step "inside gVisor ($(uname -sr)): kig doctor"
    kig doctor
    step "kig up --control-plane-only"
    kig up --control-plane-only --data-dir "$data/cluster"
    export KUBECONFIG=$data/cluster/kubeconfig/admin.kubeconfig
    step "kubectl: namespaces, a Deployment, a ConfigMap, a server-side dry run"
    kubectl get ns
    kubectl create deployment web --image=registry.k8s.io/pause:3.2 --replicas=2
    kubectl create configmap demo --from-literal=greeting=hello-from-gvisor
    kubectl get configmap demo -o jsonpath='{.data.greeting}{"\n"}'
    kubectl create namespace dry -o yaml --dry-run=client | kubectl apply --server-side --dry-run=server -f -
    sleep 3
    kubectl get deployments,replicasets,pods
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

export PATH="$here/build/src/kig:$PATH"
step "start a gVisor sandbox (runsc) and run the rest inside it"
BED_STREAM=1 tests/runsc/bed --timeout 600 -- "$0" --inside
