#!/usr/bin/env bash
# kig's virtual kernel (docs/vkernel.md) on the host and inside real gVisor: apply, check every interface
# kubelet, crun and runc need, tear down, and prove nothing is left.
#
#   test-vkernel.sh                      the whole test (host part, then two sandboxes)
#   test-vkernel.sh --inside MODE DIR    the part that runs inside gVisor (MODE: fuse or nofuse)
. "$(dirname "$0")/lib.sh"

CGROUPFS=${KIG_CGROUPFS:-$KIG_BUILD_DIR/src/kig-cgroupfs/kig-cgroupfs}
TRACE=${KIG_TRACE:-$KIG_BUILD_DIR/src/kig-trace/kig-trace}
export KIG_CGROUPFS=$CGROUPFS

highest_cap() {
    python3 -c 'import re; s=open("/proc/self/status").read(); print(int(re.search(r"CapBnd:\s*([0-9a-f]+)", s).group(1), 16).bit_length() - 1)'
}

# stat -f's type for a path, through kig-trace's statfs rule when asked to.
fs_magic() {
    stat -f -c %t "$1" 2>/dev/null || echo "error"
}

# A busybox rootfs and an OCI spec edited as gvisor-facts.md says (no mount/network/ipc/uts namespace, no
# masked paths, plain cgroup mount, /dev/pts bound, no CAP_NET_RAW, no oomScoreAdj).
make_bundle() { # DIR RUNTIME CGROUPS_PATH
    local b=$1
    mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/sys" "$b/rootfs/tmp"
    cp "$(command -v busybox)" "$b/rootfs/bin/busybox"
    ln -sf busybox "$b/rootfs/bin/sh"
    (cd "$b" && "$2" spec) || return 1
    python3 - "$b/config.json" "$3" <<'PY'
import json, sys
path, cgroups_path = sys.argv[1], sys.argv[2]
s = json.load(open(path))
s["process"]["terminal"] = False
s["process"].pop("oomScoreAdj", None)
s.pop("hostname", None)
s["process"]["args"] = ["sh", "-c", "echo hello; cat /proc/self/cgroup; sleep 30"]
s["linux"]["namespaces"] = [n for n in s["linux"]["namespaces"] if n["type"] not in ("mount", "network", "ipc", "uts")]
s["linux"].pop("maskedPaths", None)
s["linux"].pop("readonlyPaths", None)
mounts = []
for m in s["mounts"]:
    if m["type"] == "devpts":
        m = {"destination": "/dev/pts", "type": "bind", "source": "/dev/pts", "options": ["rbind"]}
    elif m["type"] == "cgroup":
        m["options"] = []
    elif m["type"] == "mqueue":
        continue
    mounts.append(m)
s["mounts"] = mounts
for k in s["process"]["capabilities"]:
    s["process"]["capabilities"][k] = [c for c in s["process"]["capabilities"][k] if c != "CAP_NET_RAW"]
s["linux"]["cgroupsPath"] = cgroups_path
json.dump(s, open(path, "w"), indent=1)
PY
}

check_sysctls() {
    for kv in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
        kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
        local k=${kv%%=*} v=${kv#*=}
        assert_eq "/proc/sys/$k reads kubelet's value" "$v" "$(cat /proc/sys/$k 2>&1)"
        check "/proc/sys/$k is writable" sh -c "echo $v > /proc/sys/$k"
    done
    echo 20 >/proc/sys/kernel/panic
    assert_eq "a write to /proc/sys/kernel/panic is kept" 20 "$(cat /proc/sys/kernel/panic)"
    echo 10 >/proc/sys/kernel/panic
    assert_eq "/proc/sys/kernel/cap_last_cap is the highest capability of CapBnd" "$(highest_cap)" \
        "$(cat /proc/sys/kernel/cap_last_cap 2>&1)"
    assert_eq "/proc/sys/kernel/pid_max" 4194304 "$(cat /proc/sys/kernel/pid_max 2>&1)"
    assert_eq "/proc/sys/kernel/hostname is still the kernel's (bound, live)" "$(hostname)" \
        "$(cat /proc/sys/kernel/hostname 2>&1)"
    assert_eq "/proc/sys/vm/max_map_count is still the kernel's" "$1" "$(cat /proc/sys/vm/max_map_count 2>&1)"
    assert_not_contains "/proc/sys/net is left real (nothing mounted on it)" "$(mount_snapshot)" " /proc/sys/net"
    check_fails "net/bridge is not created in /proc/sys (it cannot be)" test -e /proc/sys/net/bridge/bridge-nf-call-iptables
    assert_eq "net/bridge/bridge-nf-call-iptables reads 1 through kig-trace's redirect" 1 \
        "$("$TRACE" "${trace_args[@]}" -- cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>&1)"
    "$TRACE" "${trace_args[@]}" -- sh -c 'echo 262144 > /proc/sys/net/netfilter/nf_conntrack_max'
    assert_eq "a write to net/netfilter/nf_conntrack_max through kig-trace is kept" 262144 \
        "$("$TRACE" "${trace_args[@]}" -- cat /proc/sys/net/netfilter/nf_conntrack_max 2>&1)"
}

check_real_controllers() {
    local mi
    mi=$(cat /proc/self/mountinfo)
    for c in cpu cpuacct cpuset memory pids; do
        assert_contains "the kernel's $c hierarchy is mounted at /sys/fs/cgroup/$c" "$mi" " /sys/fs/cgroup/$c rw"
    done
    assert_eq "/sys/fs/cgroup/cpu is the kernel's cgroupfs (statfs magic)" 27e0eb "$(fs_magic /sys/fs/cgroup/cpu)"
    assert_eq "/sys/fs/cgroup/cpuset is the kernel's cgroupfs" 27e0eb "$(fs_magic /sys/fs/cgroup/cpuset)"
    for c in cpuacct memory pids; do
        if [ "$(fs_magic /sys/fs/cgroup/$c)" = 27e0eb ]; then
            continue # not overlaid (memory without FUSE: nothing honest to add)
        fi
        assert_eq "/sys/fs/cgroup/$c/k8s.io leads to the kernel's cgroupfs" 27e0eb "$(fs_magic /sys/fs/cgroup/$c/k8s.io/)"
    done
    mkdir /sys/fs/cgroup/cpuacct/k8s.io/kigtest
    check "a directory made under cpuacct/k8s.io is a real cgroup (cpuacct.usage appears)" \
        test -f /sys/fs/cgroup/cpuacct/k8s.io/kigtest/cpuacct.usage
    rmdir /sys/fs/cgroup/cpuacct/k8s.io/kigtest
    check "cpuacct.usage_percpu is readable" cat /sys/fs/cgroup/cpuacct/cpuacct.usage_percpu
    assert_eq "the root's pids.max reads max" max "$(cat /sys/fs/cgroup/pids/pids.max 2>&1)"
}

check_emulated() {
    local sleeper
    sleep 300 &
    sleeper=$!
    for c in devices freezer blkio hugetlb net_cls net_prio perf_event; do
        local d=/sys/fs/cgroup/$c/kigtest
        check "$c: mkdir gives a complete directory at once" sh -c "mkdir $d && test -f $d/cgroup.procs && test -f $d/tasks"
        check "$c: a pid written to cgroup.procs is accepted" sh -c "echo $sleeper > $d/cgroup.procs"
        assert_eq "$c: cgroup.procs lists it" "$sleeper" "$(cat $d/cgroup.procs 2>&1)"
        check_fails "$c: rmdir of a populated directory fails" rmdir "$d"
        echo "$sleeper" >/sys/fs/cgroup/$c/cgroup.procs
        check "$c: rmdir once empty" rmdir "$d"
        assert_eq "$c: statfs says cgroupfs through kig-trace" 27e0eb \
            "$("$TRACE" "${trace_args[@]}" -- stat -f -c %t /sys/fs/cgroup/$c 2>&1)"
    done
    mkdir /sys/fs/cgroup/devices/kigtest
    echo a >/sys/fs/cgroup/devices/kigtest/devices.deny
    echo 'c 1:3 rwm' >/sys/fs/cgroup/devices/kigtest/devices.allow
    assert_eq "devices: deny a + allow c 1:3 rwm lists exactly that" "c 1:3 rwm" \
        "$(cat /sys/fs/cgroup/devices/kigtest/devices.list 2>&1)"
    rmdir /sys/fs/cgroup/devices/kigtest

    mkdir /sys/fs/cgroup/freezer/kigtest
    echo "$sleeper" >/sys/fs/cgroup/freezer/kigtest/cgroup.procs
    echo FROZEN >/sys/fs/cgroup/freezer/kigtest/freezer.state
    local state i
    for i in $(seq 50); do
        state=$(cat /sys/fs/cgroup/freezer/kigtest/freezer.state)
        [ "$state" = FROZEN ] && break
        sleep 0.1
    done
    assert_eq "freezer: FROZEN is reached" FROZEN "$state"
    assert_eq "freezer: the member is stopped" T "$(awk '{print $3}' /proc/$sleeper/stat)"
    echo THAWED >/sys/fs/cgroup/freezer/kigtest/freezer.state
    sleep 0.2
    assert_eq "freezer: THAWED resumes it" THAWED "$(cat /sys/fs/cgroup/freezer/kigtest/freezer.state)"
    assert_not_contains "freezer: the member runs again" "$(awk '{print $3}' /proc/$sleeper/stat)" T
    echo "$sleeper" >/sys/fs/cgroup/freezer/cgroup.procs
    rmdir /sys/fs/cgroup/freezer/kigtest
    kill "$sleeper"
    wait "$sleeper" 2>/dev/null
}

check_runtimes() { # DIR
    local dir=$1 trace_rt=("$TRACE" "${trace_args[@]}" --rule mount --rule fchown-pipe --rule subreaper)
    echo allow >"$dir/setgroups" # crun opens /proc/self/setgroups, which gVisor lacks
    trace_rt+=(--redirect "/proc/self/setgroups=$dir/setgroups")
    check "crun --version" crun --version
    if make_bundle "$dir/crun" crun /k8s.io/kig-crun-test >/dev/null; then
        # crun applies device rules only to hierarchies /proc/self/cgroup lists (gVisor's five): none here.
        python3 -c 'import json,sys; p=sys.argv[1]; s=json.load(open(p)); s["process"]["args"]=["sh","-c","echo hello; cat /proc/self/cgroup"]; s["linux"]["resources"].pop("devices", None); json.dump(s,open(p,"w"))' "$dir/crun/config.json"
        local out
        out=$(cd "$dir/crun" && "${trace_rt[@]}" -- crun --cgroup-manager=cgroupfs run --no-new-keyring kig-crun-test 2>&1)
        assert_contains "crun runs a busybox container in kig's cgroups" "$out" "hello"
        assert_contains "the container is in /k8s.io/kig-crun-test" "$out" "memory:/k8s.io/kig-crun-test"
    fi
    unmount_leftovers "$dir"
    [ "$2" = fuse ] || return 0
    # runc insists on a devices hierarchy: the emulated one, with the spec's device rules kept. The
    # container waits for a stop file, so its cgroups can be looked at while it runs.
    if make_bundle "$dir/runc" runc /k8s.io/kig-runc-test >/dev/null; then
        python3 -c 'import json,sys; p=sys.argv[1]; s=json.load(open(p)); s["process"]["args"]=["sh","-c","echo hello; while [ ! -e /tmp/stop ]; do sleep 0.1; done"]; json.dump(s,open(p,"w"))' "$dir/runc/config.json"
        (cd "$dir/runc" && exec "${trace_rt[@]}" -- runc --root "$dir/runc-state" run --no-new-keyring kig-runc-test \
            >"$dir/runc.out" 2>&1 </dev/null) &
        # "hello" comes from the container's process, so by then it is in its cgroups. The deadline only
        # keeps a broken runc from hanging the test (a loaded machine makes runc slow, never wrong).
        local job=$! deadline=$((SECONDS + 600)) list="" procs=""
        while ! grep -q hello "$dir/runc.out" 2>/dev/null && kill -0 "$job" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
            sleep 0.2
        done
        procs=$(cat /sys/fs/cgroup/devices/k8s.io/kig-runc-test/cgroup.procs 2>&1)
        list=$(cat /sys/fs/cgroup/devices/k8s.io/kig-runc-test/devices.list 2>&1)
        check "the container's process is in the emulated devices cgroup" \
            sh -c 'printf "%s\n" "$1" | grep -qxE "[0-9]+"' sh "$procs"
        assert_contains "runc's device rules are in the emulated devices.list" "$list" "c 1:3 rwm"
        assert_not_contains "runc's default deny-all took effect (no 'a *:* rwm')" "$list" "a *:*"
        touch "$dir/runc/rootfs/tmp/stop"
        wait "$job"
        assert_eq "runc runs a busybox container to its end" 0 $?
        assert_contains "the runc container printed hello" "$(cat "$dir/runc.out")" hello
        check_fails "runc removed its devices cgroup" test -e /sys/fs/cgroup/devices/k8s.io/kig-runc-test
    fi
    unmount_leftovers "$dir"
}

# Without mount namespaces (gVisor ignores CLONE_NEWNS) a runtime's mounts for its container stay in the
# sandbox; they are the runtime's, not kig's, and go before kig's teardown is judged.
unmount_leftovers() { # DIR
    awk -v d="$1/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
}

inside() { # MODE DIR
    local mode=$1 dir=$2 rd=$2/run
    mkdir -p "$rd"
    local before maxmap
    before=$(mount_snapshot)
    maxmap=$(cat /proc/sys/vm/max_map_count)
    local flags=()
    # FUSE works in this runsc even without --fuse: the fallbacks are asked for explicitly.
    [ "$mode" = nofuse ] && flags+=(--no-fuse)
    "$KIG" vkernel apply --run-dir "$rd" --json "${flags[@]}" >"$dir/apply.json"
    assert_eq "[$mode] kig vkernel apply succeeds" 0 $?
    # The plan's kig-trace arguments, minus the rules kig-trace does not have yet (the fallbacks ask for
    # cgroup-magic and cgroup-populate): those requests are checked in the plan itself below.
    local known
    known=$("$TRACE" --list-rules | awk '{print $1}' | tr '\n' ' ')
    mapfile -t trace_args < <(json_get "$dir/apply.json" '"\n".join(d["trace_args"])' | python3 -c '
import sys
known, args, out, i = set(sys.argv[1].split()), sys.stdin.read().split("\n"), [], 0
while i + 1 < len(args):
    flag, val = args[i], args[i + 1]
    if flag == "--rule" and val not in known or flag in ("--cgroup-magic", "--cgroup-populate"):
        i += 2
        continue
    out += [flag, val]
    i += 2
print("\n".join(out))' "$known")
    local sum
    sum=$(md5sum <"$rd/vkernel.json")
    check "[$mode] applying again succeeds" "$KIG" vkernel apply --run-dir "$rd"
    assert_eq "[$mode] applying again does nothing twice" "$sum" "$(md5sum <"$rd/vkernel.json")"
    check "[$mode] status: everything applied is in place" "$KIG" vkernel status --run-dir "$rd"

    check_sysctls "$maxmap"
    check_real_controllers
    check "/dev/kmsg opens and reads end-of-file (no kernel messages)" \
        python3 -c 'import sys; f=open("/dev/kmsg","rb"); sys.exit(0 if f.read() == b"" else 1)'
    if [ "$mode" = fuse ]; then
        assert_contains "memory.stat is computed (the sandbox's figures)" \
            "$(cat /sys/fs/cgroup/memory/memory.stat 2>&1)" "total_inactive_file "
        check "memory.max_usage_in_bytes is a number" sh -c \
            'grep -qx "[0-9][0-9]*" /sys/fs/cgroup/memory/memory.max_usage_in_bytes'
        assert_eq "the plan starts kig-cgroupfs" 1 "$(json_get "$dir/apply.json" \
            'sum(a["type"] == "start-cgroupfs" for a in d["actions"])')"
        check_emulated
    else
        assert_eq "[nofuse] no kig-cgroupfs without FUSE" 0 "$(json_get "$dir/apply.json" \
            'sum(a["type"] == "start-cgroupfs" for a in d["actions"])')"
        assert_eq "[nofuse] devices: a static stand-in" "a *:* rwm" "$(cat /sys/fs/cgroup/devices/devices.list 2>&1)"
        check "[nofuse] devices: kig's own k8s.io is prepared" test -f /sys/fs/cgroup/devices/k8s.io/devices.allow
        assert_contains "[nofuse] the plan asks kig-trace to populate new directories" \
            "$(json_get "$dir/apply.json" 'd["trace"]')" "cgroup-populate"
    fi
    check_runtimes "$dir" "$mode"

    check "[$mode] kig vkernel teardown succeeds" "$KIG" vkernel teardown --run-dir "$rd"
    assert_eq "[$mode] the mount table is exactly as before" "$before" "$(mount_snapshot)"
    assert_eq "[$mode] no file is left in the run dir" "" "$(find "$rd" -mindepth 1 2>&1)"
    check_fails "[$mode] /dev/kmsg is gone" test -e /dev/kmsg
    check_fails "[$mode] /proc/sys/kernel/panic is gone" test -e /proc/sys/kernel/panic
    assert_eq "[$mode] /sys/fs/cgroup is empty again" "/sys/fs/cgroup/*" "$(echo /sys/fs/cgroup/*)"
    check "[$mode] teardown again is harmless" "$KIG" vkernel teardown --run-dir "$rd"
    finish
}

if [ "${1:-}" = --inside ]; then
    inside "$2" "$3"
    exit
fi

require_root
work=$(mktemp -d /tmp/kig-test-vkernel.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
for f in "$CGROUPFS" "$TRACE"; do
    [ -x "$f" ] || { echo "not ok - $f is not built (ninja -C $KIG_BUILD_DIR)"; exit 1; }
done

# On the host: a full Linux needs nothing, and probing leaves no mount behind.
before=$(mount_snapshot)
mkdir -p "$work/host"
plan=$("$KIG" vkernel plan --run-dir "$work/host" --json)
assert_eq "host ($(uname -r)): the plan is empty" "0 actions, 0 trace rules" \
    "$(echo "$plan" | json_get - 'str(len(d["actions"])) + " actions, " + str(len(d["trace"])) + " trace rules"')"
assert_eq "host: probing leaves the mount table as it was" "$before" "$(mount_snapshot)"
check "host: apply and teardown in a private mount namespace" unshare -m --propagation private sh -c \
    "'$KIG' vkernel apply --run-dir '$work/host' && '$KIG' vkernel teardown --run-dir '$work/host'"
assert_eq "host: nothing left in the run dir" "" "$(find "$work/host" -mindepth 1)"
assert_eq "host: the mount table is still as it was" "$before" "$(mount_snapshot)"

# Inside gVisor, with FUSE (runsc --fuse) and without.
for mode in fuse nofuse; do
    flags=(--timeout 1200)
    [ "$mode" = fuse ] && flags+=(--fuse)
    mkdir -p "$work/$mode"
    out=$(in_bed "${flags[@]}" -- "$0" --inside "$mode" "$work/$mode" 2>&1)
    rc=$?
    echo "$out" | grep -E '^(ok|not ok|#)' | sed "s/^/  /"
    if [ "$rc" = 0 ]; then
        _report ok "inside gVisor ($mode): $(echo "$out" | tail -n 1)"
    else
        _report fail "inside gVisor ($mode), exit $rc" "$(echo "$out" | grep -v '^ok' | tail -n 30)"
    fi
done
finish
