#!/usr/bin/env bash
# The part of test-runtime.sh that runs inside gVisor: `bash test-runtime-inner.sh WORK`, where WORK holds
# the bundles hello/, sleeper/, forced/, broken/ and norootfs/ and KIG_RUNTIME names the binary. Prints TAP
# lines, then "# inner script done".
#
# Sandbox setup made here: the minimum crun needs in gVisor 20221219, until kig's vkernel provides it:
#   - a tmpfs on /sys/fs/cgroup with the real cpu, cpuacct, cpuset, memory and pids hierarchies;
#   - a tmpfs over /proc/sys/kernel holding copies of its files plus cap_last_cap (crun reads it);
#   - a PID namespace whose init is a small reaper (python) with its own /proc: containerd-shim is a
#     subreaper and learns its containers' exit codes that way, which gVisor allows only to PID 1 (kig-trace
#     emulates it for the shim). Here the reaper plays the shim's part and logs "PID EXIT-CODE" lines.
# kig-trace is not used: where mount(2) cannot reach /proc/self/fd targets, kig-runtime makes the
# container's mounts itself, and it does exec itself where setns is missing.
set -uo pipefail
work=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$work/root

if [ "${KIG_RUNTIME_INNER:-}" != body ]; then
    mount_cgroup_hierarchies || { echo "not ok - mount a tmpfs on /sys/fs/cgroup"; exit 1; }
    cat >"$work/reaper.py" <<'PY'
import os, sys
log = open(sys.argv[1], "a", buffering=1)
child = os.fork()
if child == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
rc = 1
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        break
    code = os.waitstatus_to_exitcode(status)
    code = code if code >= 0 else 128 - code
    if pid == child:
        rc = code
        break
    log.write("%d %d\n" % (pid, code))
sys.exit(rc)
PY
    KIG_RUNTIME_INNER=body unshare --pid --fork sh -c 'mount -t proc kig-test-proc /proc && exec "$@"' sh \
        python3 "$work/reaper.py" "$work/reaped" bash "$0" "$work"
    rc=$?
    umount /proc 2>/dev/null
    exit $rc
fi

# In the new /proc (the PID namespace's own).
provide_cap_last_cap "$work" || echo "# cannot provide /proc/sys/kernel/cap_last_cap"

kr() { "$KIG_RUNTIME" --root "$root" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Waits until the reaper reports PID; prints its exit code, or "never". One process: every process start
# is expensive in gVisor.
wait_reaped() { # PID [SECONDS]
    python3 - "$work/reaped" "${1:-none}" "${2:-30}" <<'PY'
import sys, time
path, pid, end = sys.argv[1], sys.argv[2], time.time() + float(sys.argv[3])
while time.time() < end:
    try:
        codes = [l.split()[1] for l in open(path) if l.split()[0] == pid]
    except FileNotFoundError:
        codes = []
    if codes:
        print(codes[-1])
        sys.exit(0)
    time.sleep(0.05)
print("never")
PY
}

one_line() { [ "$(printf '%s' "$1" | grep -c .)" = 1 ]; }

# ---- a container's whole life ----
mounts_before=$(mount_snapshot)
t0=$(now_ms)
kr --log "$work/hello.log" --log-format json create --bundle "$work/hello" --pid-file "$work/hello.pid" hello \
    >"$work/hello.out" 2>"$work/hello.err"
assert_eq "create a busybox container" 0 $?
t_create=$(($(now_ms) - t0))
assert_eq "with --log, create writes nothing to stderr (the shim gives it the container's stdio)" "" \
    "$(cat "$work/hello.err")"
state=$(kr state hello)
assert_eq "state says created" created "$(json_get - 'd["status"]' <<<"$state")"
assert_eq "state reports the caller's bundle, not kig-runtime's rewritten one" "$work/hello" \
    "$(json_get - 'd["bundle"]' <<<"$state")"
assert_eq "the pid file holds the init's pid" "$(json_get - 'd["pid"]' <<<"$state")" "$(cat "$work/hello.pid")"
assert_contains "the rewrites file says what was relaxed" "$(cat "$root/kig/hello/rewrites")" \
    "network namespace removed"
assert_contains "each rewrite is logged in runc's JSON log format" "$(cat "$work/hello.log")" \
    '"level":"info","msg":"container hello: relaxed for this sandbox: CAP_NET_RAW dropped'
assert_eq "the original config.json is not touched" 5 \
    "$(json_get "$work/hello/config.json" 'len(d["linux"]["namespaces"])')"
check "nothing left for crun: kig-runtime runs the init itself (no crun state)" test ! -e "$root/crun/hello"
assert_contains "... as its rewrites say" "$(cat "$root/kig/hello/rewrites")" \
    "container run by kig-runtime itself, without crun"
t0=$(now_ms)
kr start hello
assert_eq "start" 0 $?
assert_eq "the container exits with its own code (3), seen by the reaper" 3 "$(wait_reaped "$(cat "$work/hello.pid")")"
t_run=$(($(now_ms) - t0))
assert_eq "it printed hello with its environment, HOME from its /etc/passwd as runc and crun set it, and its mounts" \
    "hello from bar home=/root host=hello proc dev shm" "$(echo $(cat "$work/hello.out"))"
assert_eq "state says stopped" stopped "$(kr state hello | json_get - 'd["status"]')"
err=$(kr kill hello KILL 2>&1)
assert_eq "kill of a stopped container fails" 1 $?
assert_contains "... with runc's words, which containerd recognizes" "$err" "container not running"
t0=$(now_ms)
kr delete hello
assert_eq "delete" 0 $?
t_delete=$(($(now_ms) - t0))
err=$(kr state hello 2>&1)
assert_contains "after delete the container does not exist" "$err" 'container "hello" does not exist'
assert_eq "delete left no mount behind (mountinfo as before create)" "$mounts_before" "$(mount_snapshot)"
check "delete removed kig-runtime's state" test ! -e "$root/kig/hello"
check "the runtime removed the container's cgroup" test ! -e /sys/fs/cgroup/memory/kigtest/hello
t0=$(now_ms)
/bin/true
t_true=$(($(now_ms) - t0))
echo "# figure: create ${t_create} ms, start until exit ${t_run} ms, delete ${t_delete} ms" \
    "(baseline in this sandbox now: /bin/true ${t_true} ms)"

# ---- exec into a running container ----
# crun's init this time, to see kig-runtime release it and exec into it.
KIG_CONTAINER_INIT=runtime kr create --bundle "$work/sleeper" --pid-file "$work/sleeper.pid" sleeper \
    >"$work/sleeper.out" 2>&1 && kr --debug --log "$work/sleeper-start.log" start sleeper
assert_eq "create and start a sleeping container" 0 $?
check "KIG_CONTAINER_INIT=runtime: crun created it" test -d "$root/crun/sleeper"
assert_contains "start released crun's init itself, in gVisor too (no crun start)" \
    "$(cat "$work/sleeper-start.log")" "container sleeper: started through $root/crun/sleeper/exec.fifo"
assert_eq "state says running (crun alone says stopped without a freezer cgroup)" running \
    "$(kr state sleeper | json_get - 'd["status"]')"
t0=$(now_ms)
out=$(kr exec sleeper sh -c 'echo FOO=$FOO; cat /marker; pwd; grep -c . /proc/self/cgroup >/dev/null && cat /proc/self/cgroup')
assert_eq "exec" 0 $?
t_exec=$(($(now_ms) - t0))
assert_contains "exec sees the container's environment" "$out" "FOO=bar"
assert_contains "exec sees the container's filesystem" "$out" "marker-in-rootfs"
assert_contains "exec joined the container's cgroup" "$out" ":/kigtest/sleeper"
kr exec sleeper sh -c 'exit 5'
assert_eq "exec returns the process's exit code" 5 $?
err=$(kr exec sleeper mkdir /tmp/refused 2>&1)
assert_contains "exec'd processes run under the container's seccomp profile (mkdir refused)" "$err" \
    "Operation not permitted"
cat >"$work/process.json" <<'EOF'
{"args": ["sh", "-c", "id -u; id -g; id -G; pwd; echo $X"],
 "env": ["PATH=/bin", "X=from-process-json"], "cwd": "/dev",
 "user": {"uid": 1000, "gid": 1001, "additionalGids": [5, 7]},
 "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"],
                  "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]},
 "noNewPrivileges": true, "oomScoreAdj": -998}
EOF
out=$(kr exec --process "$work/process.json" sleeper 2>&1)
assert_eq "exec --process FILE (user, groups, cwd, env; ambient capabilities dropped: gVisor has none)" \
    "1000 1001 1001 5 7 /dev from-process-json" "$(echo $out)"
cat >"$work/process-caps.json" <<'EOF'
{"args": ["sh", "-c", "grep -E 'CapEff|CapBnd' /proc/self/status"], "env": ["PATH=/bin"], "cwd": "/",
 "capabilities": {"bounding": ["CAP_KILL", "CAP_NET_RAW"], "effective": ["CAP_KILL", "CAP_NET_RAW"],
                  "permitted": ["CAP_KILL", "CAP_NET_RAW"]}}
EOF
out=$(kr exec --process "$work/process-caps.json" sleeper 2>&1)
assert_eq "exec sets the capability sets (CAP_NET_RAW, which the sandbox lacks, dropped rather than refused)" \
    "CapEff: 0000000000000020 CapBnd: 0000000000000020" "$(echo $out)"
kr exec --detach --pid-file "$work/exec.pid" sleeper sleep 60
assert_eq "exec --detach returns at once" 0 $?
exec_pid=$(cat "$work/exec.pid" 2>/dev/null)
assert_contains "ps lists the detached process in the container's cgroup" \
    "$(kr ps --format json sleeper)" "$exec_pid"
python3 - "$work/console.sock" >"$work/console.out" 2>&1 <<'PY' &
import array, os, select, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1); s.settimeout(30)
conn, _ = s.accept()
fds = array.array("i")
msg, anc, _, _ = conn.recvmsg(256, socket.CMSG_LEN(fds.itemsize))
fds.frombytes(anc[0][2][:fds.itemsize])
print("name:", msg.decode())
out, end = b"", time.time() + 20
while time.time() < end and b"tty-done" not in out:
    if select.select([fds[0]], [], [], 1)[0]:
        try:
            out += os.read(fds[0], 4096)
        except OSError:
            break
print(out.decode(errors="replace"))
PY
listener=$!
for _ in $(seq 50); do [ -S "$work/console.sock" ] && break; sleep 0.1; done
kr exec --tty --detach --console-socket "$work/console.sock" --pid-file "$work/tty.pid" sleeper \
    sh -c 'tty; test -t 0 && echo stdin-is-a-tty; echo tty-done; sleep 1'
assert_eq "exec --tty --console-socket" 0 $?
wait $listener
console=$(cat "$work/console.out")
assert_contains "the pty master arrives over the console socket" "$console" "name: /dev/pts/"
assert_contains "the process runs on that terminal" "$console" "stdin-is-a-tty"
err=$(kr exec sleeper nosuchcommand 2>&1)
assert_eq "exec of a missing command fails" 1 $?
assert_contains "... saying why" "$err" 'exec: "nosuchcommand": executable file not found in $PATH'
check "... in one line" one_line "$err"
kr kill --all sleeper KILL
assert_eq "kill --all" 0 $?
assert_eq "the init dies of SIGKILL" 137 "$(wait_reaped "$(cat "$work/sleeper.pid")")"
assert_eq "so does the detached exec" 137 "$(wait_reaped "$exec_pid")"
kr delete sleeper
assert_eq "delete after exec" 0 $?
assert_eq "no mount left after exec and delete" "$mounts_before" "$(mount_snapshot)"
echo "# figure: exec of a shell command ${t_exec} ms"

# ---- delete of a running container ----
kr create --bundle "$work/forced" --pid-file "$work/forced.pid" forced >/dev/null 2>&1 && kr start forced
assert_eq "create and start another" 0 $?
err=$(kr delete forced 2>&1)
assert_eq "delete of a running container without --force fails" 1 $?
assert_contains "... saying so" "$err" "cannot delete container forced that is not stopped: running"
kr delete --force forced
assert_eq "delete --force" 0 $?
assert_eq "the init was killed" 137 "$(wait_reaped "$(cat "$work/forced.pid")")"
assert_eq "delete --force left no mount" "$mounts_before" "$(mount_snapshot)"

# ---- a pod sandbox whose init kig-runtime runs itself (no namespace, no mount left for a runtime) ----
wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }
kr create --bundle "$work/pod" --pid-file "$work/pod.pid" pod >"$work/pod.out" 2>&1
assert_eq "create a pod sandbox container" 0 $?
check "... without crun: crun has no state of it" test ! -e "$root/crun/pod"
assert_contains "... as its rewrites say" "$(cat "$root/kig/pod/rewrites")" \
    "pod sandbox container run by kig-runtime itself, without crun"
state=$(kr state pod)
pod_pid=$(cat "$work/pod.pid")
assert_eq "state says created" created "$(json_get - 'd["status"]' <<<"$state")"
assert_eq "... with the init's pid, as in the pid file" "$pod_pid" "$(json_get - 'd["pid"]' <<<"$state")"
check "the init waits for start: its command has not run" test ! -e "$work/pod/rootfs/started"
assert_contains "the init is in the container's cgroup" "$(cat "/proc/$pod_pid/cgroup")" ":/kigtest/pod"
assert_eq "the container's CPU shares are written" 2 "$(cat /sys/fs/cgroup/cpu/kigtest/pod/cpu.shares)"
assert_eq "... and its memory limit" 268435456 \
    "$(cat /sys/fs/cgroup/memory/kigtest/pod/memory.limit_in_bytes)"
kr start pod
assert_eq "start" 0 $?
check "the command runs" wait_file "$work/pod/rootfs/started"
assert_eq "... in the rootfs, with its environment and the pod's hostname" "FOO=bar host=pod" \
    "$(cat "$work/pod/rootfs/started")"
assert_eq "state says running" running "$(kr state pod | json_get - 'd["status"]')"
assert_eq "the init became the command (same pid)" sleep "$(cat "/proc/$pod_pid/comm")"
assert_contains "ps lists it" "$(kr ps --format json pod)" "$pod_pid"
err=$(kr start pod 2>&1)
assert_eq "a second start fails" 1 $?
assert_contains "... saying why" "$err" "it is running already"
err=$(kr pause pod 2>&1)
assert_eq "pause fails" 1 $?
assert_contains "... naming the reason" "$err" "has an init kig-runtime runs itself"
assert_eq "exec into it" "in-pod" "$(kr exec pod sh -c 'echo in-pod' 2>&1)"
kr kill pod KILL
assert_eq "kill" 0 $?
assert_eq "the init dies of SIGKILL, seen by the reaper" 137 "$(wait_reaped "$pod_pid")"
assert_eq "state says stopped" stopped "$(kr state pod | json_get - 'd["status"]')"
kr delete pod
assert_eq "delete" 0 $?
check "delete removed kig-runtime's state" test ! -e "$root/kig/pod"
check "... and the container's cgroups" test ! -e /sys/fs/cgroup/cpu/kigtest/pod -a ! -e /sys/fs/cgroup/memory/kigtest/pod
rm -f "$work/pod/rootfs/started"
kr create --bundle "$work/pod" --pid-file "$work/pod2.pid" pod2 >/dev/null 2>&1
assert_eq "create another" 0 $?
kr delete pod2
assert_eq "delete of a created, never started, sandbox" 0 $?
assert_eq "... kills its init" 137 "$(wait_reaped "$(cat "$work/pod2.pid")")"
check "... before it ran anything" test ! -e "$work/pod/rootfs/started"
KIG_SANDBOX_INIT=runtime kr create --bundle "$work/pod" --pid-file "$work/pod3.pid" pod3 >/dev/null 2>&1
assert_eq "KIG_SANDBOX_INIT=runtime: create" 0 $?
check "... crun creates it" test -d "$root/crun/pod3"
kr delete --force pod3
assert_eq "... delete --force" 0 $?
err=$(kr create --bundle "$work/podbad" podbad 2>&1)
assert_eq "a sandbox whose command does not exist: create fails" 1 $?
assert_contains "... saying why" "$err" 'exec: "/nonexistent"'
check "... in one line (after the lines of what was relaxed)" one_line "$(grep -v 'relaxed for this sandbox' <<<"$err")"
check "... leaving no state" test ! -e "$root/kig/podbad"
check "... and no cgroup" test ! -e /sys/fs/cgroup/cpu/kigtest/podbad
assert_eq "no mount left by the pod sandboxes" "$mounts_before" "$(mount_snapshot)"

# ---- errors: one line, non-zero, never a crash ----
err=$(kr create --bundle "$work/broken" broken 2>&1)
rc=$?
assert_eq "malformed config.json: exit 1" 1 $rc
assert_contains "... naming the file and the fault" "$err" "$work/broken/config.json is not valid JSON"
check "... in one line" one_line "$err"
check "... leaving no state behind" test ! -e "$root/kig/broken"
err=$(kr --log "$work/broken.log" --log-format json create --bundle "$work/broken" broken 2>&1)
assert_eq "with --log-format json: nothing on stderr" "" "$err"
last=$(tail -n 1 "$work/broken.log")
assert_eq "... the error is the log's last line, at level error (what the shim reports)" error \
    "$(json_get - 'd["level"]' <<<"$last")"
assert_contains "... with the cause" "$(json_get - 'd["msg"]' <<<"$last")" "is not valid JSON"
err=$(kr create --bundle "$work/norootfs" norootfs 2>&1)
assert_eq "missing rootfs: exit 1" 1 $?
assert_contains "... naming it and the fix" "$err" "rootfs $work/norootfs/rootfs does not exist"
check "... in one line" one_line "$err"
err=$(kr frobnicate x 2>&1)
assert_eq "unknown command: exit 1" 1 $?
assert_contains "... in one line" "$err" "unknown command 'frobnicate'"
err=$(kr delete nosuch 2>&1)
assert_contains "delete of an unknown container says it does not exist (containerd ignores that)" "$err" \
    'container "nosuch" does not exist'
err=$(kr create --bundle "$work/hello" ../escape 2>&1)
assert_contains "a container id that is not a plain name is refused" "$err" "invalid container id"
assert_eq "no mount left after all this" "$mounts_before" "$(mount_snapshot)"
echo "# inner script done"
