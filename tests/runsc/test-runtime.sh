#!/usr/bin/env bash
# kig-runtime inside real gVisor, without kig-trace: a busybox container's whole life (create, start, state,
# kill, delete), exec into a running container (environment, filesystem, exit codes, --process, --detach,
# --tty with --console-socket), a delete that leaves no mount, and one-line errors.
#
# The part inside the sandbox is test-runtime-inner.sh; this script builds the bundle on the host and relays
# the inner script's results. See that script for the sandbox setup it makes itself (cgroups,
# /proc/sys/kernel/cap_last_cap) until kig's vkernel provides it.
. "$(dirname "$0")/lib.sh"
require_root

KIG_RUNTIME=${KIG_RUNTIME:-$KIG_BUILD_DIR/src/kig-runtime/kig-runtime}
if [ ! -x "$KIG_RUNTIME" ]; then
    echo "# kig-runtime not built at $KIG_RUNTIME"
    exit 77
fi
if ! command -v crun >/dev/null; then
    echo "# crun is not installed: apt-get install crun"
    exit 77
fi
BUSYBOX=${BUSYBOX:-/bin/busybox}
if ! file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked'; then
    echo "# $BUSYBOX is not a static busybox: apt-get install busybox-static"
    exit 77
fi

work=$(mktemp -d /tmp/kig-runtime-test.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT

# A bundle: a busybox-static rootfs and a config.json shaped like the one containerd 1.6's CRI plugin writes
# (namespaces, masked and read-only paths, devices cgroup, devpts, cgroup mount, NET_RAW, oomScoreAdj).
make_bundle() { # DIR ARGS_JSON
    local dir=$1 args=$2
    mkdir -p "$dir/rootfs/bin" "$dir/rootfs/etc"
    cp "$BUSYBOX" "$dir/rootfs/bin/busybox"
    local applet
    for applet in $("$BUSYBOX" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$applet"
    done
    echo "marker-in-rootfs" >"$dir/rootfs/marker"
    echo "root:x:0:0:root:/root:/bin/sh" >"$dir/rootfs/etc/passwd"
    python3 - "$dir/config.json" "$args" "$(basename "$dir")" <<'PY'
import json, sys
path, args, name = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE"]
def m(dest, typ, src, opts): return {"destination": dest, "type": typ, "source": src, "options": opts}
spec = {
    "ociVersion": "1.0.2-dev",
    "process": {"user": {"uid": 0, "gid": 0}, "args": args, "env": ["PATH=/bin", "FOO=bar"], "cwd": "/",
                "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
                "noNewPrivileges": True, "oomScoreAdj": -998},
    "root": {"path": "rootfs"},
    "hostname": name,
    "mounts": [m("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
               m("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
               m("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]),
               m("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
               m("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
               m("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
               m("/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "relatime", "ro"]),
               m("/run", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"])],
    "linux": {"resources": {"devices": [{"allow": False, "access": "rwm"}], "memory": {"limit": 268435456}},
              "cgroupsPath": "/kigtest/" + name,
              "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
              "maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
              "readonlyPaths": ["/proc/sys", "/proc/bus"]},
}
json.dump(spec, open(path, "w"), indent=1)
PY
}

make_bundle "$work/hello" '["sh", "-c", "echo hello from $FOO home=$HOME host=$(hostname); test -r /proc/self/status && echo proc; test -c /dev/null && echo dev; test -d /dev/shm && echo shm; exit 3"]'
make_bundle "$work/sleeper" '["sleep", "120"]'
# A seccomp profile that refuses mkdir: processes exec'd into the container must get it too.
python3 - "$work/sleeper/config.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                         "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
json.dump(d, open(sys.argv[1], "w"), indent=1)
PY
make_bundle "$work/forced" '["sleep", "120"]'
# Pod sandbox containers (containerd's annotation), whose init kig-runtime runs itself where it can.
make_bundle "$work/pod" '["sh", "-c", "echo FOO=$FOO host=$(hostname) >/started; exec sleep 120"]'
make_bundle "$work/podbad" '["/nonexistent"]'
for b in pod podbad; do
    python3 - "$work/$b/config.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["annotations"] = {"io.kubernetes.cri.container-type": "sandbox"}
d["linux"]["resources"] = {"cpu": {"shares": 2}, "memory": {"limit": 268435456}}
json.dump(d, open(sys.argv[1], "w"), indent=1)
PY
done
mkdir -p "$work/broken/rootfs" "$work/norootfs"
echo '{"ociVersion": "1.0.2", "process": ' >"$work/broken/config.json"
echo '{"ociVersion": "1.0.2", "root": {"path": "rootfs"}}' >"$work/norootfs/config.json"

# The inner script prints TAP lines; each becomes one of this test's results.
out=$(KIG_RUNTIME="$KIG_RUNTIME" in_bed --timeout 600 -- bash "$KIG_SOURCE_DIR/tests/runsc/test-runtime-inner.sh" \
    "$work" 2>"$work/bed.err")
rc=$?
while IFS= read -r line; do
    case "$line" in
    "ok - "*) _report ok "${line#ok - }" ;;
    "not ok - "*) _report fail "${line#not ok - }" ;;
    *) echo "$line" ;;
    esac
done <<<"$out"
assert_contains "the inner script ran to its end in gVisor (exit $rc)" "$out" "# inner script done"
[ "$rc" = 0 ] || sed 's/^/#   /' "$work/bed.err" | tail -n 30
finish
