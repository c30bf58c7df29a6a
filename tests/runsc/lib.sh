# Helpers for kig's integration tests (sourced by tests/runsc/test-*.sh).
#
# A test script calls `check NAME COMMAND...` or the assert_* functions for each assertion, and ends with
# `finish`, which prints "N passed, N failed" and exits non-zero if anything failed.
# Paths: $KIG (the kig binary), $KIG_BUILD_DIR, $KIG_SOURCE_DIR, $BED (the gVisor test bed).

set -uo pipefail

KIG_SOURCE_DIR=${KIG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KIG_BUILD_DIR=${KIG_BUILD_DIR:-$KIG_SOURCE_DIR/build}
KIG=${KIG:-$KIG_BUILD_DIR/src/kig/kig}
BED=${BED:-$KIG_SOURCE_DIR/tests/runsc/bed}
export KIG KIG_BUILD_DIR KIG_SOURCE_DIR BED

_passed=0
_failed=0
_test_name=$(basename "$0" .sh)

_report() {
    if [ "$1" = ok ]; then
        _passed=$((_passed + 1))
        echo "ok - $2"
    else
        _failed=$((_failed + 1))
        echo "not ok - $2"
        [ -n "${3:-}" ] && printf '#   %s\n' "$3" | head -n 40
    fi
}

# check NAME CMD...: passes when CMD exits 0; its output is shown only on failure.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        _report ok "$name"
    else
        _report fail "$name" "exit $?: $out"
    fi
}

# check_fails NAME CMD...: passes when CMD exits non-zero.
check_fails() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        _report fail "$name" "expected failure, got exit 0: $out"
    else
        _report ok "$name"
    fi
}

assert_eq() { # NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then _report ok "$1"; else _report fail "$1" "expected '$2', got '$3'"; fi
}

assert_contains() { # NAME HAYSTACK NEEDLE
    case "$2" in
    *"$3"*) _report ok "$1" ;;
    *) _report fail "$1" "'$3' not found in: $2" ;;
    esac
}

assert_not_contains() { # NAME HAYSTACK NEEDLE
    case "$2" in
    *"$3"*) _report fail "$1" "'$3' unexpectedly found in: $2" ;;
    *) _report ok "$1" ;;
    esac
}

# json_get FILE_OR_- PYTHON_EXPR: evaluates EXPR with the parsed document bound to `d` and prints the result
# (lists/dicts as JSON, booleans as true/false).
json_get() {
    local src=$1 expr=$2
    python3 -c '
import json, sys
src, expr = sys.argv[1], sys.argv[2]
d = json.load(sys.stdin if src == "-" else open(src))
v = eval(expr, {"d": d})
if isinstance(v, bool): print("true" if v else "false")
elif isinstance(v, (list, dict)): print(json.dumps(v))
elif v is None: print("null")
else: print(v)
' "$src" "$expr"
}

# in_bed [--net] [--timeout S] -- CMD...: runs CMD inside gVisor through the test bed.
in_bed() {
    "$BED" "$@"
}

# The mount table and kig-related processes, to prove a run left nothing behind.
# wait_for SECONDS CMD...: retries CMD (output discarded) every 0.3 s until it succeeds; 1 when it never did.
wait_for() {
    local deadline=$(($(date +%s) + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.3
    done
}

# A runtime run by hand inside gVisor 20221219, without kig's vkernel, needs the two below (test-runtime,
# bench/own-init.sh). A tmpfs on /sys/fs/cgroup with the real cpu, cpuacct, cpuset, memory and pids
# hierarchies; a line for each that cannot be mounted.
mount_cgroup_hierarchies() {
    mount -t tmpfs kig-test-cgroup /sys/fs/cgroup || return 1
    local c
    for c in cpu cpuacct cpuset memory pids; do
        mkdir -p "/sys/fs/cgroup/$c" && mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" ||
            echo "# cannot mount the $c cgroup hierarchy"
    done
}
# crun reads /proc/sys/kernel/cap_last_cap, which gVisor 20221219 lacks: a tmpfs over /proc/sys/kernel with
# copies of its files (kept in WORK) and that one. gVisor's bounding set ends at CAP_AUDIT_READ (37).
provide_cap_last_cap() { # WORK
    local f
    mkdir -p "$1/sysctl-kernel"
    for f in /proc/sys/kernel/*; do
        [ -f "$f" ] && cat "$f" >"$1/sysctl-kernel/${f##*/}" 2>/dev/null
    done
    mount -t tmpfs kig-test-sysctl /proc/sys/kernel && cp "$1"/sysctl-kernel/* /proc/sys/kernel/ &&
        echo 37 >/proc/sys/kernel/cap_last_cap
}
mount_snapshot() { awk '{print $5, $9}' /proc/self/mountinfo | sort; }
kig_processes() { ps -eo pid=,comm= | awk '$2 ~ /^(kig|etcd|kube-|containerd|kubelet|runc|crun)/ {print}' || true; }

require_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "# $_test_name needs root"
        exit 77
    fi
}

finish() {
    echo "$_test_name: $_passed passed, $_failed failed"
    [ "$_failed" = 0 ]
}

# assert_down_leaves_nothing DATA_DIR MOUNTS_BEFORE [kig down options...]: `kig down` exits 0 and leaves no
# process of the cluster and no mount (the mount table is as MOUNTS_BEFORE, from mount_snapshot).
assert_down_leaves_nothing() {
    local data=$1 before=$2 out rc
    shift 2
    out=$("$KIG" down --data-dir "$data" "$@" 2>&1)
    rc=$?
    assert_eq "kig down${*:+ $*} exits 0" 0 "$rc"
    [ "$rc" = 0 ] || printf '%s\n' "$out" | tail -n 3 | sed 's/^/#   /'
    assert_eq "no kig, etcd, kube-*, containerd or kubelet process is left" "" "$(kig_processes)"
    assert_eq "no mount was left behind" "$before" "$(mount_snapshot)"
}

# make_work_dir NAME: a new work directory /tmp/NAME.XXXXXX in $work (mode 0755: the sandbox's processes
# read it), removed at exit unless KIG_TEST_KEEP=1, which keeps it for a look after a failure.
make_work_dir() {
    work=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1
    chmod 0755 "$work"
    if [ "${KIG_TEST_KEEP:-0}" = 1 ]; then echo "# work directory: $work"; else trap 'rm -rf "$work"' EXIT; fi
}

# require_static_pause PATH: kig-pause goes into an image, so it must be static; sanitizer builds link it
# dynamically, and the test is then skipped (exit 77).
require_static_pause() {
    file -L "$1" 2>/dev/null | grep -q 'statically linked' ||
        { echo "# no static kig-pause at $1 (sanitizer builds link it dynamically)"; exit 77; }
}

# require_programs HINT PATH...: kig must be built (else a failure); a missing PATH skips the test (exit 77)
# with HINT, the packages or script that provide it.
require_programs() {
    local hint=$1 c
    shift
    [ -x "$KIG" ] || { echo "not ok - kig not built at $KIG"; exit 1; }
    for c in "$@"; do
        [ -x "$c" ] || { echo "# $c missing ($hint)"; exit 77; }
    done
}

# show_pod_events POD: the reasons and messages of the pod's events, as comment lines (after a failed check).
show_pod_events() {
    "$KUBECTL" --request-timeout=60s get events --field-selector "involvedObject.name=$1" \
        -o custom-columns=R:.reason,M:.message --no-headers 2>&1 | sort -u | head -n 5 | sed 's/^/#   /'
}

# in_bed_with_images NAME TIMEOUT_S: the host side of a test whose checks all run in one sandbox with the
# local images: a work directory /tmp/NAME.*, the images built into it (kig-pause from $PAUSE, which must be
# static), this script run again inside gVisor with --inside WORK, and whether every check there passed.
in_bed_with_images() {
    require_static_pause "$PAUSE"
    make_work_dir "$1"
    check "build the local images" "$KIG_SOURCE_DIR/scripts/build-images.sh" --pause "$PAUSE" "$work/images"
    in_bed --timeout "$2" -- bash "$0" --inside "$work"
    assert_eq "every check inside gVisor passed" 0 "$?"
    finish
}
