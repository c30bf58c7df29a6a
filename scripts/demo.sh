#!/usr/bin/env bash
# The main job, from a fresh Debian bookworm machine: installs dependencies, builds kig and the Kubernetes
# components (cached), starts a gVisor sandbox with Debian's runsc and, inside it, shows what kig sees and runs
# a Kubernetes cluster.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

step() { printf '\n=== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh
step "Kubernetes v1.20.2 components (cached in ${KIG_CACHE:-/var/cache/kig})"
scripts/build-kubernetes.sh
step "build kig"
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

export PATH="$here/build/src/kig:$PATH"
step "inside gVisor: kig doctor"
tests/runsc/bed --timeout 120 -- kig doctor
