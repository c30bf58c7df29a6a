#!/usr/bin/env bash
# A pod's containers inside gVisor, created, started and deleted by kig-runtime: their init run by
# kig-runtime itself (the default where the sandbox allows, docs/runtime.md "Containers whose init
# kig-runtime runs") against the real runtime's (KIG_SANDBOX_INIT=runtime, KIG_CONTAINER_INIT=runtime),
# alternating, in one sandbox and one run. Prints, for the pod sandbox (pause) container and for an app
# container, the median milliseconds of `create`, `start` and `delete --force` for each, and the ratios
# own/runtime.
#
#   bench/own-init.sh [--rounds N] [--runtime crun|runc] [--containers "sandbox app"]   (as root; needs a built kig)
#
# The configs are containerd 1.6's, captured from a kig node: bench/fixtures/cri-sandbox-config.json (network
# namespace, cgroup, the default seccomp profile, CPU shares 2; the rootfs holds kig-pause) and
# bench/fixtures/cri-container-config.json (a busybox `sleep`: the pod's namespaces to join, its /etc/hosts,
# hostname, resolv.conf, /dev/shm, termination log and token volume bound, masked and read-only paths). With
# runc an app container's mounts are runc's own, so only the sandbox is kig-runtime's. The runtime runs here
# without kig-trace (in a node it runs under it, which costs the runtime more). Figures only: nothing here
# asserts.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${KIG_BUILD_DIR:-$SRC/build}
BED=${BED:-$SRC/tests/runsc/bed}
KIG_RUNTIME=${KIG_RUNTIME:-$BUILD/src/kig-runtime/kig-runtime}
PAUSE=${KIG_PAUSE:-$BUILD/src/kig-pause/kig-pause}
rounds=15
runtime=crun
containers="sandbox app"
inside=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=${2:?}; shift ;;
    --runtime) runtime=${2:?}; shift ;;
    --containers) containers=${2:?}; shift ;;
    --inside) inside=${2:?}; shift ;;
    *) echo "own-init: unknown option $1; usage: bench/own-init.sh [--rounds N] [--runtime crun|runc] [--containers \"sandbox app\"]" >&2; exit 2 ;;
    esac
    shift
done

# Microseconds since the epoch, without a program start (bash 5).
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# One container's life in MODE (kig or runtime): appends "MODE CREATE_MS START_MS DELETE_MS" to OUT.
one() { # MODE ID OUT
    local t0 t1 t2 t3
    t0=$(now_us)
    KIG_SANDBOX_INIT=$1 KIG_CONTAINER_INIT=$1 "$KIG_RUNTIME" --root "$root" create --bundle "$bundle" \
        --pid-file "$inside/$2.pid" "$2" >/dev/null 2>>"$inside/errors" || { echo "# $1: create $2 failed" >&2; return; }
    t1=$(now_us)
    "$KIG_RUNTIME" --root "$root" start "$2" 2>>"$inside/errors" || echo "# $1: start $2 failed" >&2
    t2=$(now_us)
    "$KIG_RUNTIME" --root "$root" delete --force "$2" 2>>"$inside/errors" || echo "# $1: delete $2 failed" >&2
    t3=$(now_us)
    echo "$1 $(((t1 - t0) / 1000)) $(((t2 - t1) / 1000)) $(((t3 - t2) / 1000))" >>"$3"
}

# The medians of OUT for CONTAINER, each mode, and the ratios.
report() { # OUT CONTAINER
    python3 - "$1" "$runtime" "$2" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
print("%s container:" % sys.argv[3])
for mode in ("kig", "runtime"):
    r = [list(map(int, x[1:])) for x in rows if x[0] == mode]
    if not r:
        print("  %s: no measurement" % mode); sys.exit(1)
    med[mode] = [statistics.median(c) for c in zip(*r)] + [statistics.median(a + b for a, b, _ in r)]
    print("  %-22s create %6.0f ms  start %6.0f ms  delete --force %6.0f ms  create+start %6.0f ms  (%d rounds)"
          % ("kig-runtime's own init" if mode == "kig" else "init by " + sys.argv[2], *med[mode], len(r)))
k, t = med["kig"], med["runtime"]
print("  ratio own/%s: create %.2f, start %.2f, delete %.2f, create+start %.2f"
      % (sys.argv[2], k[0] / t[0], k[1] / t[1], k[2] / t[2], k[3] / t[3]))
PY
}

if [ -n "$inside" ]; then
    . "$SRC/tests/runsc/lib.sh"
    mount_cgroup_hierarchies >&2 || { echo "own-init: cannot mount a tmpfs on /sys/fs/cgroup" >&2; exit 1; }
    provide_cap_last_cap "$inside" || echo "# cannot provide /proc/sys/kernel/cap_last_cap" >&2
    root=$inside/root
    export KIG_OCI_RUNTIME=$runtime
    rc=0
    for c in $containers; do
        bundle=$inside/$c
        out=$inside/times-$c
        : >"$out"
        # One of each first, not counted: the runtime's probe cache and the page cache.
        one kig "warm-kig-$c" /dev/null
        one runtime "warm-runtime-$c" /dev/null
        for i in $(seq 1 "$rounds"); do
            one kig "kig-$c-$i" "$out"
            one runtime "runtime-$c-$i" "$out"
        done
        report "$out" "$c" || rc=1
    done
    grep -i error "$inside/errors" | sort | uniq -c | head -5 | sed "s/^/# /" >&2
    exit $rc
fi

[ "$(id -u)" = 0 ] || { echo "own-init: run as root" >&2; exit 1; }
for f in "$KIG_RUNTIME" "$PAUSE"; do
    [ -x "$f" ] || { echo "own-init: $f is missing: build first (ninja -C $BUILD)" >&2; exit 1; }
done
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || { echo "own-init: $BUSYBOX is missing: apt-get install busybox-static" >&2; exit 1; }
work=$(mktemp -d /tmp/kig-bench-own-init.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/sandbox/rootfs" "$work/app/rootfs/bin" "$work/app/rootfs/etc" "$work/state/token"
cp "$PAUSE" "$work/sandbox/rootfs/pause"
cp "$BUSYBOX" "$work/app/rootfs/bin/busybox"
for applet in sh sleep; do ln -s busybox "$work/app/rootfs/bin/$applet"; done
echo "root:x:0:0:root:/root:/bin/sh" >"$work/app/rootfs/etc/passwd"
for f in shm resolv.conf etc-hosts termination-log; do touch "$work/state/$f"; done
echo bench-pod >"$work/state/hostname"
echo token >"$work/state/token/token"
for c in sandbox app; do
    fixture=$SRC/bench/fixtures/cri-$([ $c = app ] && echo container || echo sandbox)-config.json
    sed -e "s|@STATE@|$work/state|g" -e "s|@NETNS@|/proc/self/ns/net|" -e "s|@CGROUP@|/kigbench/$c|" \
        -e "s|@ID@|sandbox|" "$fixture" >"$work/$c/config.json"
done
echo "host load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "inside gVisor ($(runsc --version 2>/dev/null | head -1)), $(nproc) CPUs; $rounds rounds; runtime: $runtime"
"$BED" --timeout 1800 -- bash "$0" --rounds "$rounds" --runtime "$runtime" --containers "$containers" --inside "$work"
rc=$?
echo "host load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
