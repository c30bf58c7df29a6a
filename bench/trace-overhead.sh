#!/usr/bin/env bash
# What kig-trace costs, on the host and inside gVisor, in one run:
#  - an untrapped syscall (getppid) in a tight loop, untraced vs under kig-trace (goal: ratio <= 1.05);
#  - a trapped syscall (statfs of a /proc file with the statfs rule: seccomp stop, syscall-exit stop, and
#    in gVisor the answer written by kig-trace), untraced vs traced, and the extra time per trapped call;
#  - (as root) a tmpfs mount and its unmount under the mount rule: trapped as runc's and crun's are, and
#    marked as kig-runtime marks its own (mount-untrapped.h), which the filter lets pass; ratio marked/trapped.
# Every syscall inside gVisor's ptrace platform is a round trip to the sandbox kernel, so the sandbox gets
# fewer calls. Figures only: nothing here asserts on time.
#
#   bench/trace-overhead.sh [BUILD_DIR] [--no-runsc] [--calls N] [--runsc-calls N]
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build
runsc=1
calls=2000000
runsc_calls=200000
trapped_calls=20000
runsc_trapped_calls=2000
while [ $# -gt 0 ]; do
    case "$1" in
    --no-runsc) runsc=0 ;;
    --calls) calls=$2; shift ;;
    --runsc-calls) runsc_calls=$2; shift ;;
    *) build=$1 ;;
    esac
    shift
done
KT=$build/src/kig-trace/kig-trace
LOOP=$build/bench/syscall-loop
for f in "$KT" "$LOOP"; do
    [ -x "$f" ] || { echo "trace-overhead: $f is not built (ninja -C $build)" >&2; exit 1; }
done

# measure.sh runs in the place being measured (host or sandbox) and prints "label ns_per_call" lines.
work=$(mktemp -d /tmp/kig-trace-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
cat >"$work/measure.sh" <<INNER
#!/bin/sh
# measure.sh CALLS TRAPPED_CALLS: runs each case 5 times, prints the best wall and CPU figures (on a
# shared machine the other load only ever adds time: the minimum is the closest to the real cost).
best() { sort -n | head -n 1; }
measure() {
    label=\$1; shift
    for i in 1 2 3 4 5; do "\$@" 2>/dev/null; done >"$work/\$label.runs"
    echo "\${label} \$(awk '\$1 == "ns_per_call" {print \$2}' "$work/\$label.runs" | best)"
    echo "\${label}_cpu \$(awk '\$1 == "cpu_ns_per_call" {print \$2}' "$work/\$label.runs" | best)"
}
measure untrapped_plain $LOOP getppid \$1
measure untrapped_traced $KT --rule statfs,mount,fchown-pipe -- $LOOP getppid \$1
measure trapped_plain $LOOP statfs \$2 /proc/self/status
measure trapped_traced $KT --rule statfs -- $LOOP statfs \$2 /proc/self/status
# measure.sh ... MOUNT_PREFIX: mounts, as root only; on the host in a mount namespace of their own.
if [ "\$(id -u)" = 0 ]; then
    mkdir -p "$work/mnt"
    measure mount_trapped \$3 $KT --rule mount -- $LOOP mount \$2 "$work/mnt"
    measure mount_marked \$3 $KT --rule mount -- $LOOP mount-marked \$2 "$work/mnt"
fi
INNER
chmod 755 "$work/measure.sh"

report() { # WHERE FILE
    awk -v where="$1" '
        { v[$1] = $2 }
        END {
            printf "%s: getppid (untrapped) CPU time untraced %.1f ns/call, under kig-trace %.1f ns/call, ratio %.3f (goal <= 1.05)\n",
                where, v["untrapped_plain_cpu"], v["untrapped_traced_cpu"], v["untrapped_traced_cpu"] / v["untrapped_plain_cpu"]
            printf "%s: getppid (untrapped) wall time untraced %.1f ns/call, under kig-trace %.1f ns/call, ratio %.3f\n",
                where, v["untrapped_plain"], v["untrapped_traced"], v["untrapped_traced"] / v["untrapped_plain"]
            printf "%s: statfs untraced %.1f ns/call, trapped by the statfs rule %.1f ns/call, ratio %.1f, +%.1f us per trapped call\n",
                where, v["trapped_plain"], v["trapped_traced"], v["trapped_traced"] / v["trapped_plain"],
                (v["trapped_traced"] - v["trapped_plain"]) / 1000
            if ("mount_trapped" in v)
                printf "%s: mount+umount under the mount rule: trapped %.1f us, marked (kig-runtime) %.1f us, ratio marked/trapped %.2f\n",
                    where, v["mount_trapped"] / 1000, v["mount_marked"] / 1000, v["mount_marked"] / v["mount_trapped"]
        }' "$2"
}

echo "kig-trace overhead, best of 5 runs each (wall-clock figures grow with the machine's load); host: $calls untrapped and $trapped_calls trapped calls," \
    "gVisor: $runsc_calls and $runsc_trapped_calls; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/measure.sh" "$calls" "$trapped_calls" "unshare -m --propagation private" >"$work/host.txt"
report host "$work/host.txt"
if [ "$runsc" = 1 ]; then
    if "$src/tests/runsc/bed" --timeout 1800 -- "$work/measure.sh" "$runsc_calls" "$runsc_trapped_calls" "" \
        >"$work/runsc.txt" 2>"$work/runsc.err"; then
        report gvisor "$work/runsc.txt"
    else
        echo "gvisor: the sandbox run failed:" >&2
        cat "$work/runsc.err" >&2
    fi
fi
