#!/usr/bin/env bash
# kig-runtime on a full Linux host, with crun: the pass-through path. The probe finds everything a runtime
# needs, the container's config reaches crun unchanged (no rewritten bundle), namespaces stay, exec is crun's
# own, and delete leaves nothing. Runs on the host, not in gVisor, in a private mount and PID namespace.
#
# Only for this test: crun 1.8.1 refuses a "hybrid" cgroup host (cgroup2 mounted beside v1 with controllers
# in it, as on this CI machine); the private mount namespace unmounts /sys/fs/cgroup/unified for it.
. "$(dirname "$0")/lib.sh"
require_root

KIG_RUNTIME=${KIG_RUNTIME:-$KIG_BUILD_DIR/src/kig-runtime/kig-runtime}
[ -x "$KIG_RUNTIME" ] || { echo "# kig-runtime not built at $KIG_RUNTIME"; exit 77; }
command -v crun >/dev/null || { echo "# crun is not installed: apt-get install crun"; exit 77; }
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' ||
    { echo "# /bin/busybox is not static: apt-get install busybox-static"; exit 77; }

if [ "${KIG_RUNTIME_HOST_INNER:-}" != 1 ]; then
    work=$(mktemp -d /tmp/kig-runtime-host.XXXXXX)
    chmod 0755 "$work"
    trap 'rm -rf "$work"' EXIT
    KIG_RUNTIME_HOST_INNER=1 WORK=$work unshare --mount --propagation private --pid --fork --mount-proc \
        bash "$0"
    exit $?
fi

work=$WORK
root=$work/root
kr() { "$KIG_RUNTIME" --root "$root" "$@"; }
[ -e /sys/fs/cgroup/unified ] && umount /sys/fs/cgroup/unified 2>/dev/null

# What the host offers: everything the rewriter looks at.
probe=$(kr probe)
assert_eq "probe: setns works on the host" true "$(json_get - 'd["setns"]' <<<"$probe")"
assert_eq "probe: mount namespaces isolate" true "$(json_get - 'd["mount_namespace"]' <<<"$probe")"
assert_eq "probe: mounts through /proc/self/fd reach their target" true \
    "$(json_get - 'd["mount_via_proc_fd"]' <<<"$probe")"
assert_eq "probe: read-only bind remounts work" true "$(json_get - 'd["bind_remount"]' <<<"$probe")"
assert_eq "probe: no mount flag is rejected" "[]" "$(json_get - 'd["mount_flags_rejected"]' <<<"$probe")"
check "the probe left nothing mounted in its scratch directory" test -z "$(grep "$root" /proc/self/mountinfo)"

mkdir -p "$work/c1/rootfs/bin" "$work/c1/rootfs/proc" "$work/c1/rootfs/dev"
cp /bin/busybox "$work/c1/rootfs/bin/"
for a in sh echo cat hostname readlink sleep; do ln -s busybox "$work/c1/rootfs/bin/$a"; done
echo marker >"$work/c1/rootfs/marker"
(cd "$work/c1" && crun spec && python3 - <<'PY'
import json
d = json.load(open("config.json"))
d["process"]["terminal"] = False
d["process"]["args"] = ["sh", "-c", "hostname; sleep 60"]
d["process"]["env"].append("FOO=bar")
d["hostname"] = "kig-host-test"
d["linux"]["cgroupsPath"] = "/kig-runtime-host-test"
d["linux"]["namespaces"].append({"type": "network"})
json.dump(d, open("config.json", "w"), indent=1)
PY
)
out=$(kr rewrite --host "$work/c1/config.json")
assert_eq "rewrite with a host's features: config unchanged" true \
    "$(python3 -c 'import json,sys; o=json.load(sys.stdin); print("true" if o["config"] == json.load(open(sys.argv[1])) and o["rewrites"] == [] and o["kigMounts"] is None else "false")' \
        "$work/c1/config.json" <<<"$out")"
out=$(kr rewrite "$work/c1/config.json")
assert_eq "rewrite with this host's probed features: nothing to relax" "[]" "$(json_get - 'd["rewrites"]' <<<"$out")"

mounts_before=$(mount_snapshot)
kr create --bundle "$work/c1" --pid-file "$work/c1.pid" c1 >"$work/c1.out" 2>&1
assert_eq "create" 0 $?
check "no rewritten bundle: the runtime got the caller's config" test ! -e "$root/kig/c1/bundle"
check "... and there is no rewrites file" test ! -e "$root/kig/c1/rewrites"
assert_eq "crun itself records the original bundle" "$work/c1" \
    "$(crun --root "$root/crun" state c1 | json_get - 'd["bundle"]')"
kr --debug --log "$work/c1-start.log" start c1
assert_eq "start" 0 $?
assert_contains "start released crun's init itself (no crun start)" "$(cat "$work/c1-start.log")" \
    "container c1: started through $root/crun/c1/exec.fifo"
sleep 0.5
assert_eq "the container has its own UTS namespace (hostname kept)" "kig-host-test" "$(cat "$work/c1.out")"
pid=$(cat "$work/c1.pid")
out=$(kr exec c1 sh -c 'hostname; readlink /proc/self/ns/net; echo $FOO; cat /marker')
assert_eq "exec goes through crun (setns): the container's hostname, network namespace, env and files" \
    "kig-host-test $(readlink /proc/"$pid"/ns/net) bar marker" "$(echo $out)"
check "... which is not the host's network namespace" test "$(readlink /proc/"$pid"/ns/net)" != "$(readlink /proc/self/ns/net)"
kr delete --force c1
assert_eq "delete --force" 0 $?
assert_eq "no mount left" "$mounts_before" "$(mount_snapshot)"
check "no state left" test ! -e "$root/kig/c1" -a ! -e "$root/crun/c1"

# runc: kig-runtime's start releases runc's init the way runc does (read its byte from the exec fifo).
if command -v runc >/dev/null; then
    mkdir -p "$work/r1"
    (cd "$work/c1" && python3 -c '
import json, sys; d = json.load(open("config.json")); d["process"]["args"] = ["sh", "-c", "hostname; exit 7"]
d["linux"]["cgroupsPath"] = "/kig-runtime-host-test-runc"; d["root"]["path"] = sys.argv[1] + "/rootfs"
# c1 names the network namespace twice (crun spec has one): runc refuses that.
d["linux"]["namespaces"] = [dict(t) for t in dict.fromkeys(tuple(sorted(n.items())) for n in d["linux"]["namespaces"])]
json.dump(d, open(sys.argv[2], "w"))' "$work/c1" "$work/r1/config.json")
    KIG_OCI_RUNTIME=runc kr create --bundle "$work/r1" --pid-file "$work/r1.pid" r1 >"$work/r1.out" 2>&1
    assert_eq "runc: create" 0 $?
    assert_eq "runc: created, not running yet" created "$(kr state r1 | json_get - 'd["status"]')"
    kr --debug --log "$work/r1-start.log" start r1
    assert_eq "runc: start" 0 $?
    assert_contains "runc: start released runc's init itself (no runc start)" "$(cat "$work/r1-start.log")" \
        "container r1: started through $root/runc/r1/exec.fifo"
    for _ in $(seq 50); do [ "$(kr state r1 | json_get - 'd["status"]')" = stopped ] && break; sleep 0.1; done
    assert_eq "runc: the process ran (its output)" kig-host-test "$(cat "$work/r1.out")"
    err=$(kr start r1 2>&1)
    assert_eq "runc: a second start fails" 1 $?
    assert_contains "... with runc's words" "$err" "stopped"
    kr delete r1
    assert_eq "runc: delete" 0 $?
    check "runc: no state left" test ! -e "$root/kig/r1" -a ! -e "$root/runc/r1"
fi

# KIG_TRACE: every runtime call goes through the supervisor. A stand-in records its command line and runs
# what follows "--", as kig-trace does.
cat >"$work/fake-trace" <<'EOF'
#!/bin/sh
echo "$*" >>"$TRACE_LOG"
while [ $# -gt 0 ] && [ "$1" != "--" ]; do shift; done
shift
exec "$@"
EOF
chmod +x "$work/fake-trace"
export KIG_TRACE=$work/fake-trace KIG_TRACE_ARGS="--rule mount  --log $work/t.log" TRACE_LOG=$work/trace.log
kr create --bundle "$work/c1" c2 >/dev/null 2>&1 && kr start c2 && kr delete --force c2
assert_eq "create, start, delete under KIG_TRACE" 0 $?
crun_path=$(command -v crun)
assert_contains "the runtime runs as: \$KIG_TRACE \$KIG_TRACE_ARGS -- crun --root ..." "$(head -n 1 "$work/trace.log")" \
    "--rule mount --log $work/t.log -- $crun_path --root $root/crun"
assert_contains "... for create" "$(cat "$work/trace.log")" "create --bundle $work/c1"
assert_contains "... and for delete" "$(cat "$work/trace.log")" "delete --force c2"
unset KIG_TRACE KIG_TRACE_ARGS

# kig-pause as PID 1 of a namespace: the zombies reparented to it go, SIGTERM ends it with 0.
PAUSE=${KIG_PAUSE:-$KIG_BUILD_DIR/src/kig-pause/kig-pause}
if [ -x "$PAUSE" ]; then
    unshare --pid --fork sh -c 'sh -c "sleep 0.2 & sleep 0.3 & exit 0"; exec "$0"' "$PAUSE" &
    unshare_pid=$!
    sleep 1.5
    pause_pid=$(pgrep -P $unshare_pid -x kig-pause)
    check "kig-pause runs as the namespace's init" test -n "$pause_pid"
    assert_eq "kig-pause reaps the orphans reparented to it (no zombie child)" "" \
        "$(ps -o stat= --ppid "$pause_pid" | grep Z)"
    kill -TERM "$pause_pid"
    wait $unshare_pid
    assert_eq "kig-pause exits 0 on SIGTERM" 0 $?
    assert_contains "kig-pause -v" "$("$PAUSE" -v)" "kig-pause "
    err=$("$PAUSE" extra 2>&1)
    assert_eq "kig-pause refuses arguments" 1 $?
    assert_contains "... in one line" "$err" "kig-pause takes none"
fi
finish
