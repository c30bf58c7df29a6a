#!/usr/bin/env bash
# A pod's sandbox (pause) container inside gVisor, created, started and deleted by kig-runtime: its init run
# by kig-runtime itself (the default where the sandbox allows, docs/runtime.md "The pod sandbox's init")
# against the real runtime's (KIG_SANDBOX_INIT=runtime), alternating, in one sandbox and one run. Prints the
# median milliseconds of `create`, `start` and `delete --force` for each, and the ratios own/runtime.
#
#   bench/sandbox-init.sh [--rounds N] [--runtime crun|runc]     (as root; needs a built kig)
#
# The config is containerd 1.6's for a pod sandbox, captured from a kig node (bench/fixtures/
# cri-sandbox-config.json: network namespace, cgroup, the default seccomp profile, CPU shares 2); the rootfs
# holds kig-pause. The runtime runs here without kig-trace (in a node it runs under it, which costs the
# runtime more). Figures only: nothing here asserts.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${KIG_BUILD_DIR:-$SRC/build}
BED=${BED:-$SRC/tests/runsc/bed}
KIG_RUNTIME=${KIG_RUNTIME:-$BUILD/src/kig-runtime/kig-runtime}
PAUSE=${KIG_PAUSE:-$BUILD/src/kig-pause/kig-pause}
rounds=15
runtime=crun
inside=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=${2:?}; shift ;;
    --runtime) runtime=${2:?}; shift ;;
    --inside) inside=${2:?}; shift ;;
    *) echo "sandbox-init: unknown option $1; usage: bench/sandbox-init.sh [--rounds N] [--runtime crun|runc]" >&2; exit 2 ;;
    esac
    shift
done

# Microseconds since the epoch, without a program start (bash 5).
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# One container's life in MODE (kig or runtime): appends "MODE CREATE_MS START_MS DELETE_MS" to OUT.
one() { # MODE ID OUT
    local t0 t1 t2 t3
    t0=$(now_us)
    KIG_SANDBOX_INIT=$1 "$KIG_RUNTIME" --root "$root" create --bundle "$bundle" --pid-file "$inside/$2.pid" "$2" \
        >/dev/null 2>>"$inside/errors" || { echo "# $1: create $2 failed" >&2; return; }
    t1=$(now_us)
    "$KIG_RUNTIME" --root "$root" start "$2" 2>>"$inside/errors" || echo "# $1: start $2 failed" >&2
    t2=$(now_us)
    "$KIG_RUNTIME" --root "$root" delete --force "$2" 2>>"$inside/errors" || echo "# $1: delete $2 failed" >&2
    t3=$(now_us)
    echo "$1 $(((t1 - t0) / 1000)) $(((t2 - t1) / 1000)) $(((t3 - t2) / 1000))" >>"$3"
}

if [ -n "$inside" ]; then
    . "$SRC/tests/runsc/lib.sh"
    mount_cgroup_hierarchies >&2 || { echo "sandbox-init: cannot mount a tmpfs on /sys/fs/cgroup" >&2; exit 1; }
    provide_cap_last_cap "$inside" || echo "# cannot provide /proc/sys/kernel/cap_last_cap" >&2
    root=$inside/root
    bundle=$inside/bundle
    export KIG_OCI_RUNTIME=$runtime
    out=$inside/times
    : >"$out"
    # One of each first, not counted: the runtime's probe cache and the page cache.
    one kig warm-kig /dev/null
    one runtime warm-runtime /dev/null
    for i in $(seq 1 "$rounds"); do
        one kig "kig-$i" "$out"
        one runtime "runtime-$i" "$out"
    done
    grep -i error "$inside/errors" | sort | uniq -c | head -5 | sed "s/^/# /" >&2
    python3 - "$out" "$runtime" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for mode in ("kig", "runtime"):
    r = [list(map(int, x[1:])) for x in rows if x[0] == mode]
    if not r:
        print("%s: no measurement" % mode); sys.exit(1)
    med[mode] = [statistics.median(c) for c in zip(*r)] + [statistics.median(a + b for a, b, _ in r)]
    print("%-24s create %6.0f ms  start %6.0f ms  delete --force %6.0f ms  create+start %6.0f ms  (%d rounds)"
          % ("kig-runtime's own init" if mode == "kig" else "init by " + sys.argv[2], *med[mode], len(r)))
k, t = med["kig"], med["runtime"]
print("ratio own/%s: create %.2f, start %.2f, delete %.2f, create+start %.2f"
      % (sys.argv[2], k[0] / t[0], k[1] / t[1], k[2] / t[2], k[3] / t[3]))
PY
    exit
fi

[ "$(id -u)" = 0 ] || { echo "sandbox-init: run as root" >&2; exit 1; }
for f in "$KIG_RUNTIME" "$PAUSE"; do
    [ -x "$f" ] || { echo "sandbox-init: $f is missing: build first (ninja -C $BUILD)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/kig-bench-sandbox-init.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bundle/rootfs" "$work/state"
cp "$PAUSE" "$work/bundle/rootfs/pause"
touch "$work/state/shm" "$work/state/resolv.conf"
sed -e "s|@STATE@|$work/state|g" -e "s|@NETNS@|/proc/self/ns/net|" -e "s|@CGROUP@|/kigbench/sandbox|" \
    -e "s|@ID@|sandbox|" "$SRC/bench/fixtures/cri-sandbox-config.json" >"$work/bundle/config.json"
echo "host load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "inside gVisor ($(runsc --version 2>/dev/null | head -1)), $(nproc) CPUs; $rounds rounds; runtime: $runtime"
"$BED" --timeout 1200 -- bash "$0" --rounds "$rounds" --runtime "$runtime" --inside "$work"
rc=$?
echo "host load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
