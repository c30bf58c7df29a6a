#!/usr/bin/env bash
# kig doctor, inside gVisor and on the host: the report must state the measured facts of Debian's runsc
# 20221219 (docs/gvisor-facts) inside, the opposite on this Linux 6.x host wherever the kernel has the
# feature (cross-checked with independent tools), and leave nothing behind in either place.
. "$(dirname "$0")/lib.sh"
require_root

work=$(mktemp -d /tmp/kig-test-doctor.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT

# Python starts slowly here (pyenv shims, a busy machine): parse each report once, into bash arrays.
PY=$(command -v /usr/bin/python3 || command -v python3)
declare -A S E
# load FILE: S[id]=status, E[id]=evidence for every probe; prints the parse error if the file is not JSON
load() {
    S=() E=()
    local id st ev
    while IFS=$'\t' read -r id st ev; do
        S[$id]=$st
        E[$id]=$ev
    done < <("$PY" -c '
import json, sys
for p in json.load(open(sys.argv[1]))["probes"]:
    print("\t".join(p[k].replace("\t", " ") for k in ("id", "status", "evidence")))' "$1")
}
# py FILE EXPR: one Python expression over the parsed document d
py() { "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); v = eval(sys.argv[2]); print(json.dumps(v) if not isinstance(v, str) else v)' "$1" "$2"; }
expect() { # ID STATUS WHY (against the last load)
    assert_eq "$3: $1 is $2" "$2" "${S[$1]:-absent}"
}
# the kig-doctor traces a run could leave: scratch directories and mounts
doctor_dirs() { find /tmp -maxdepth 1 -name 'kig-doctor.*' 2>/dev/null | sort; }

# ---------------------------------------------------------------------------------------------------------
# Inside gVisor (--network=none): the report, and the sandbox's mount table and processes around the run.
# ---------------------------------------------------------------------------------------------------------
dirs_before=$(doctor_dirs)
in_bed --timeout 120 -- sh -c '
    w=$1; shift
    cat /proc/self/mountinfo >"$w/mounts.before"
    echo /proc/[0-9]* >"$w/pids.before"
    "$@" >"$w/gvisor.json" 2>"$w/gvisor.err"
    echo $? >"$w/gvisor.rc"
    cat /proc/self/mountinfo >"$w/mounts.after"
    echo /proc/[0-9]* >"$w/pids.after"
' sh "$work" "$KIG" doctor --json
assert_eq "the sandbox ran" 0 $?
g=$work/gvisor.json
assert_eq "kig doctor --json exits 0 inside gVisor" 0 "$(cat "$work/gvisor.rc")"
assert_eq "nothing on stderr inside gVisor" "" "$(cat "$work/gvisor.err")"
load "$g"

assert_eq "schema is 1" 1 "$(py "$g" "d['schema']")"
assert_eq "in_gvisor is true" true "$(py "$g" "d['in_gvisor']")"
assert_eq "uname_release is 4.4.0" 4.4.0 "$(py "$g" "d['uname_release']")"
assert_eq "every probe has the five string fields and a known status" true "$(py "$g" \
    "all(set(p) == {'id','category','status','evidence','strategy'} and all(isinstance(v, str) for v in p.values()) and p['status'] in ('present','missing','partial','error') for p in d['probes'])")"
assert_eq "probe ids are unique" true "$(py "$g" "len({p['id'] for p in d['probes']}) == len(d['probes'])")"
assert_eq "every probe that is not present names a strategy other than native" true "$(py "$g" \
    "all(p['strategy'] and (p['status'] == 'present' or p['strategy'] != 'native') for p in d['probes'])")"
assert_eq "no probe ended in error (as root in gVisor)" "[]" "$(py "$g" "[p['id'] for p in d['probes'] if p['status'] == 'error']")"
"$KIG" doctor --list --json >"$work/list.json"
assert_eq "the report has exactly the probes kig doctor --list names" true "$("$PY" -c '
import json, sys
listed = [p["id"] for p in json.load(open(sys.argv[1]))]
ran = [p["id"] for p in json.load(open(sys.argv[2]))["probes"]]
print("true" if listed == ran else "false")' "$work/list.json" "$g")"

expect system.gvisor present "gVisor detected"
expect cgroup.v1.memory present "memory cgroup mounts"
expect cgroup.v1.cpu present "cpu cgroup mounts"
expect cgroup.v1.devices missing "no devices cgroup"
expect cgroup.v1.freezer missing "no freezer cgroup"
expect cgroup.v2 missing "no cgroup2"
expect cgroup.statfs_file missing "statfs on a cgroup file fails"
assert_contains "statfs on a cgroup file gives ENOSYS" "${E[cgroup.statfs_file]}" "statfs(file) ENOSYS"
expect cgroup.file.cpuacct.usage_percpu missing "no cpuacct.usage_percpu"
expect sysctl.kernel.cap_last_cap missing "no cap_last_cap"
expect sysctl.kernel.panic missing "no kernel/panic"
expect sysctl.vm.overcommit_memory partial "overcommit_memory read-only"
assert_contains "overcommit_memory write gives EIO" "${E[sysctl.vm.overcommit_memory]}" "EIO"
expect sysctl.kernel_tmpfs present "a tmpfs mounts over /proc/sys/kernel"
for ns in net mnt pid ipc uts user cgroup; do
    expect "setns.$ns" missing "setns unsupported"
done
assert_contains "setns into a netns gives EOPNOTSUPP" "${E[setns.net]}" "EOPNOTSUPP"
expect ns.mnt.isolation missing "CLONE_NEWNS is a silent no-op"
expect mount.ms_rec missing "MS_REC refused"
assert_contains "MS_REC gives EINVAL" "${E[mount.ms_rec]}" "EINVAL"
expect mount.ms_shared present "plain MS_SHARED works"
expect mount.overlay present "overlay mounts"
expect mount.proc_fd missing "a mount on /proc/self/fd/N lands on the link"
expect mount.devpts missing "devpts newinstance refused"
expect net.tap present "TAP works"
expect net.veth missing "veth unsupported"
expect net.bridge missing "bridge unsupported"
expect net.netns present "a new netns works"
expect dev.kmsg missing "no /dev/kmsg"
expect process.subreaper missing "no subreaper below pid 1"
expect process.keyring missing "keyrings refused"
expect trace.seccomp_ret_trace present "SECCOMP_RET_TRACE works"
expect trace.seccomp_user_notif missing "no seccomp user notification"
expect caps.net_raw missing "no CAP_NET_RAW without --net-raw"
expect iptables.nat missing "no iptables tables without --net-raw"

assert_eq "the sandbox's mount table is unchanged by the run" "$(cat "$work/mounts.before")" "$(cat "$work/mounts.after")"
assert_eq "no process is left in the sandbox" "$(cat "$work/pids.before")" "$(cat "$work/pids.after")"
assert_eq "no scratch directory is left" "$dirs_before" "$(doctor_dirs)"

# Probes that hang with their mount in place (fault injection) are killed at their timeout; since mount
# namespaces do not isolate in gVisor, the runner must sweep the mounts up itself: in the scratch directory,
# over /proc/sys/kernel (which would hide every sysctl from the sandbox), and on a /proc/PID/fd/N link.
in_bed --timeout 180 -- sh -c '
    w=$1; shift
    cat /proc/self/mountinfo >"$w/fault.before"
    cat /proc/sys/kernel/hostname >"$w/fault.hostname.before"
    KIG_DOCTOR_FAULT=hang-after-mount "$@" >"$w/fault.json" 2>"$w/fault.err"
    echo $? >"$w/fault.rc"
    cat /proc/self/mountinfo >"$w/fault.after"
    cat /proc/sys/kernel/hostname >"$w/fault.hostname.after"
' sh "$work" "$KIG" doctor --json --only mount.tmpfs --only sysctl.kernel_tmpfs --only mount.proc_fd
assert_eq "hung probes do not fail the run" 0 "$(cat "$work/fault.rc")"
load "$work/fault.json"
for id in mount.tmpfs sysctl.kernel_tmpfs mount.proc_fd; do
    expect "$id" error "a hung probe is reported"
    assert_contains "$id: the evidence says it timed out" "${E[$id]}" "timed out"
done
assert_eq "the runner says it removed three leftover mounts" 3 "$(grep -c 'left a tmpfs mount' "$work/fault.err")"
assert_eq "the hung probes' mounts were swept up" "$(cat "$work/fault.before")" "$(cat "$work/fault.after")"
assert_eq "/proc/sys/kernel is the sandbox's again (kernel/hostname reads as before)" \
    "$(cat "$work/fault.hostname.before")" "$(cat "$work/fault.hostname.after" 2>&1)"

# ---------------------------------------------------------------------------------------------------------
# Inside gVisor with --net (runsc --net-raw): iptables tables exist; REDIRECT works, DNAT does not.
# ---------------------------------------------------------------------------------------------------------
in_bed --net --timeout 120 -- "$KIG" doctor --json --only iptables --only caps.net_raw >"$work/net.json"
assert_eq "kig doctor --json exits 0 in a --net sandbox" 0 $?
load "$work/net.json"
expect caps.net_raw present "--net-raw gives CAP_NET_RAW"
expect iptables.nat present "nat table with --net-raw"
expect iptables.nat.redirect present "REDIRECT works"
expect iptables.nat.dnat missing "DNAT rejected"
expect iptables.match.comment missing "comment match rejected"

# ---------------------------------------------------------------------------------------------------------
# The table, --only and --list, and usage errors (inside gVisor, output to a pipe).
# ---------------------------------------------------------------------------------------------------------
table=$(in_bed --timeout 60 -- "$KIG" doctor --only cgroup.v1.memory --only setns.net)
assert_eq "kig doctor (table) exits 0" 0 $?
assert_contains "the table has a header" "$(head -n1 <<<"$table")" "PROBE"
assert_eq "the header names the four columns" "PROBE STATUS EVIDENCE STRATEGY" "$(head -n1 <<<"$table" | tr -s ' ')"
assert_eq "--only selects exactly the two probes" "cgroup.v1.memory present
setns.net missing" "$(sed -n '2,3p' <<<"$table" | awk '{print $1, $2}')"
assert_eq "columns are aligned: the status starts at the same place in every row" 1 \
    "$(sed -n '1,3p' <<<"$table" | awk '{print index($0, $2)}' | sort -u | wc -l)"
assert_not_contains "a pipe gets no colour" "$table" $'\033'
assert_contains "a summary line closes the table" "$table" "2 probes: 1 present, 0 partial, 1 missing, 0 error. Inside gVisor (uname 4.4.0)."

"$KIG" doctor --json --only setns >"$work/only.json"
assert_eq "--only CATEGORY-PREFIX selects all setns probes" \
    '["setns.net", "setns.mnt", "setns.pid", "setns.ipc", "setns.uts", "setns.user", "setns.cgroup"]' \
    "$(py "$work/only.json" "[p['id'] for p in d['probes']]")"
"$KIG" doctor --json --only iptables.nat >"$work/only.json"
assert_eq "--only with an exact id that is also a prefix selects that probe alone" '["iptables.nat"]' \
    "$(py "$work/only.json" "[p['id'] for p in d['probes']]")"

list=$("$KIG" doctor --list)
assert_eq "--list prints a header and one line per probe" \
    "$(( $(py "$work/list.json" "len(d)") + 1 ))" "$(wc -l <<<"$list")"
assert_contains "--list shows ids with what they check" "$list" "cgroup.statfs_file"
assert_eq "--list --only sysctl lists only sysctl probes" 0 \
    "$("$KIG" doctor --list --only sysctl | tail -n +2 | grep -vc '^sysctl\.')"

usage() { # NAME EXPECTED_IN_MESSAGE ARGS...
    local name=$1 needle=$2 out err rc
    shift 2
    out=$("$KIG" doctor "$@" 2>"$work/usage.err")
    rc=$?
    err=$(cat "$work/usage.err")
    assert_eq "$name: exit 2" 2 "$rc"
    assert_eq "$name: nothing on stdout" "" "$out"
    assert_eq "$name: one line on stderr" 1 "$(wc -l <"$work/usage.err")"
    assert_contains "$name: the line names the cause" "$err" "$needle"
}
usage "unknown flag" "unknown option '--bogus'" --bogus
usage "unknown probe" "unknown probe 'nosuch'" --only nosuch
usage "--only without a value" "needs a value" --only
usage "stray argument" "unexpected argument 'extra'" extra

# ---------------------------------------------------------------------------------------------------------
# On the host (Linux 6.x, root): the opposite wherever the kernel has the feature, and nothing left behind.
# ---------------------------------------------------------------------------------------------------------
# Host mounts may change under other tests running in parallel: compare only what a probe could leave.
probe_mounts() { awk '{print $5, $9}' /proc/self/mountinfo | grep -E '^(/tmp/kig-doctor|/proc/sys|/proc/[0-9]+/fd/)' | sort; }
iptables_rules() { iptables-legacy-save 2>/dev/null | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//'; }
mounts_before=$(probe_mounts)
rules_before=$(iptables_rules)
netns_before=$(ip netns list 2>/dev/null)
"$KIG" doctor --json >"$work/host.json" 2>"$work/host.err"
assert_eq "kig doctor --json exits 0 on the host" 0 $?
h=$work/host.json
assert_eq "nothing on stderr on the host" "" "$(cat "$work/host.err")"
load "$h"
assert_eq "in_gvisor is false on the host" false "$(py "$h" "d['in_gvisor']")"
assert_eq "uname_release is the host's" "$(uname -r)" "$(py "$h" "d['uname_release']")"
expect system.gvisor missing "not gVisor"
assert_eq "no probe ended in error (as root on the host)" "[]" "$(py "$h" "[p['id'] for p in d['probes'] if p['status'] == 'error']")"

# each feature the host kernel has, shown independently of kig
if unshare -n ip link add kigt0 type veth peer name kigt1 2>/dev/null; then
    expect net.veth present "ip link add veth works on the host"
fi
if unshare -n ip link add kigt0 type bridge 2>/dev/null; then
    expect net.bridge present "ip link add bridge works on the host"
fi
if grep -qw cgroup2 /proc/filesystems; then
    expect cgroup.v2 present "the host kernel has cgroup2"
fi
unshare -n -m --propagation private sleep 10 &
holder=$!
sleep 0.2
if nsenter -t "$holder" -n true 2>/dev/null; then
    expect setns.net present "nsenter -n works on the host"
fi
if nsenter -t "$holder" -m true 2>/dev/null; then
    expect setns.mnt present "nsenter -m works on the host"
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
if [ -e /proc/sys/kernel/cap_last_cap ]; then
    expect sysctl.kernel.cap_last_cap present "the host has cap_last_cap"
fi
if [ -c /dev/net/tun ]; then
    expect net.tap present "the host has /dev/net/tun"
fi
if [ -e /dev/kmsg ]; then
    expect dev.kmsg present "the host has /dev/kmsg"
fi
expect ns.mnt.isolation present "mount namespaces isolate on Linux"
expect mount.ms_rec present "MS_REC works on Linux"
expect mount.proc_fd present "Linux follows /proc/self/fd/N for mount"
expect cgroup.statfs_file present "statfs on a cgroup file works on Linux"
expect trace.seccomp_user_notif present "seccomp user notification on Linux 6.x"

assert_eq "host: no mount left at a probe's paths" "$mounts_before" "$(probe_mounts)"
assert_eq "host: iptables rules unchanged" "$rules_before" "$(iptables_rules)"
assert_eq "host: no probe link (kigdoc*) left behind" 0 "$(ip -o link show | grep -c kigdoc)"
assert_eq "host: no named netns left behind" "$netns_before" "$(ip netns list 2>/dev/null)"
KIG_DOCTOR_FAULT=hang-after-mount "$KIG" doctor --json --only mount.tmpfs >"$work/host-fault.json" 2>/dev/null
load "$work/host-fault.json"
expect mount.tmpfs error "a hung probe is reported on the host too"
assert_eq "host: a hung probe's mount stayed in its private namespace" "$mounts_before" "$(probe_mounts)"
assert_eq "host: no scratch directory left" "$dirs_before" "$(doctor_dirs)"
assert_eq "host: no kig doctor process left" "" "$(pgrep -f "$KIG doctor" || true)"

finish
