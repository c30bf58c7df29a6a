#!/usr/bin/env bash
# What kubelet's disk usage measurements cost inside gVisor, with GNU's programs and with kig-du. kubelet
# v1.20 runs, every 10 s for each container's log directory and every minute for each pod volume,
#     nice -n 19 du -x -s -B 1 PATH        (two program starts: nice, then du)
#     find PATH -xdev -printf .            (one)
# kig's node puts kig-du first in kubelet's PATH as nice and find (one start each, no libraries to load).
# One round is both command lines, started as kubelet starts them (fork and exec from a parent, here
# Python's subprocess), over a container log directory (two files) and over a volume-like tree (1000 files
# in 50 directories), on a tmpfs inside the sandbox. Prints wall and CPU ms per round (the children's CPU as the sandbox accounts it), best
# of 3 alternating batches, and the ratio kig-du/GNU. Figures only: nothing here asserts on time.
#
#   bench/kubelet-du.sh [BUILD_DIR] [--rounds N] [--no-host]
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build
rounds=50
host=1
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=${2:?--rounds needs a number}; shift ;;
    --no-host) host=0 ;;
    *) build=$1 ;;
    esac
    shift
done
KIG_DU=$(readlink -f "$build/src/kig-du/kig-du")
[ -x "$KIG_DU" ] || { echo "kubelet-du: $build/src/kig-du/kig-du is not built (ninja -C $build)" >&2; exit 1; }

work=$(mktemp -d /tmp/kig-du-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir -p "$work/bin" "$work/tree/logs/ns_web-0_0b5a/nginx" "$work/tree/volume" "$work/tmpfs"
ln -s "$KIG_DU" "$work/bin/nice"
ln -s "$KIG_DU" "$work/bin/find"
head -c 300000 /dev/urandom >"$work/tree/logs/ns_web-0_0b5a/nginx/0.log"
head -c 20000 /dev/urandom >"$work/tree/logs/ns_web-0_0b5a/nginx/0.log.20261123-101010"
for d in $(seq 50); do
    mkdir "$work/tree/volume/d$d"
    for f in $(seq 20); do echo "$d $f" >"$work/tree/volume/d$d/f$f"; done
done

cat >"$work/measure.py" <<'PY'
import os, resource, subprocess, sys, time

bin_dir, tree, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])

def batch(path_first, target):
    env = dict(os.environ, PATH=(path_first + ":" if path_first else "") + os.environ["PATH"])
    cmds = [["nice", "-n", "19", "du", "-x", "-s", "-B", "1", target], ["find", target, "-xdev", "-printf", "."]]
    outs = [subprocess.run(c, env=env, capture_output=True).stdout for c in cmds]
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    for _ in range(rounds):
        for c in cmds:
            subprocess.run(c, env=env, stdout=subprocess.DEVNULL, check=True)
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return (t1 - t0) * 1000 / rounds, cpu * 1000 / rounds, outs

for name, target in (("log directory", tree + "/logs/ns_web-0_0b5a/nginx"), ("volume of 1000 files", tree + "/volume")):
    best = {}
    for _ in range(3):
        for who, first in (("gnu", None), ("kig-du", bin_dir)):
            wall, cpu, outs = batch(first, target)
            old = best.get(who)
            best[who] = (min(wall, old[0]) if old else wall, min(cpu, old[1]) if old else cpu, outs)
    g, k = best["gnu"], best["kig-du"]
    # With only kig-du's links in PATH, no real program can have answered.
    alone = [subprocess.run(c, env=dict(os.environ, PATH=bin_dir), capture_output=True).stdout
             for c in (["nice", "-n", "19", "du", "-x", "-s", "-B", "1", target], ["find", target, "-xdev", "-printf", "."])]
    print("%s: GNU %.1f ms wall, %.1f ms CPU per round; kig-du %.1f ms wall, %.1f ms CPU; ratio kig-du/GNU %.2f wall, %.2f CPU; outputs %s"
          % (name, g[0], g[1], k[0], k[1], k[0] / g[0], k[1] / g[1] if g[1] else float("nan"),
             "identical" if g[2] == k[2] == alone else "DIFFERENT (or not from kig-du)"))
PY

echo "kubelet's du and find, $rounds rounds per batch, best of 3 (wall-clock figures grow with the machine's load); load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$host" = 1 ]; then
    python3 "$work/measure.py" "$work/bin" "$work/tree" "$rounds" | sed 's/^/host: /'
fi
# Inside the sandbox the trees are on a tmpfs, as a kig node's directories are (a file of the host served
# through gVisor's gofer costs several times more per stat).
if "$src/tests/runsc/bed" --timeout 1800 -- sh -c 'mount -t tmpfs tmpfs "$1/tmpfs" && cp -a "$1/tree/." "$1/tmpfs/" &&
    python3 "$1/measure.py" "$1/bin" "$1/tmpfs" "$2"' sh "$work" "$rounds" >"$work/runsc.txt" 2>"$work/runsc.err"; then
    sed 's/^/gvisor: /' "$work/runsc.txt"
else
    echo "gvisor: the sandbox run failed:" >&2
    cat "$work/runsc.err" >&2
fi
