#!/usr/bin/env bash
# Pod networking with the tap strategy inside real gVisor: kig-cni ADD (as containerd would run it) makes
# two pods through kig-switch, which exchange TCP and UDP, serve the same port at once, reach the node and
# the "outside" (through the NAT), are reached from the node, survive a SIGKILLed switch, and are cleaned
# up by DEL. The "outside" is 192.0.2.1 (TEST-NET-1) on the sandbox's own lo: nothing leaves the sandbox.
. "$(dirname "$0")/lib.sh"
require_root

SWITCH=$KIG_BUILD_DIR/src/kig-switch/kig-switch
CNI=$KIG_BUILD_DIR/src/kig-cni/kig-cni
NETBENCH=$KIG_BUILD_DIR/tests/kig-switch/netbench

if [ "${1:-}" != --inner ]; then
    for b in "$SWITCH" "$CNI" "$NETBENCH"; do
        [ -x "$b" ] || { echo "# $b is missing: build first (ninja -C $KIG_BUILD_DIR)"; exit 1; }
    done
    in_bed --timeout 500 -- bash "$0" --inner
    exit $?
fi

# ---- inside gVisor from here ----
D=$(mktemp -d /tmp/kig-podnet.XXXXXX)
mount -t tmpfs kig-podnet "$D" # sandbox-wide, gone with the sandbox: nothing lands on the host
mkdir -p "$D/ready"
SW_DIR=$D/switch
CONF="{\"cniVersion\":\"1.0.0\",\"name\":\"kig\",\"type\":\"kig-cni\",\"strategy\":\"tap\",\"podCIDR\":\"10.244.0.0/24\",\"dataDir\":\"$D/ipam\",\"switchDir\":\"$SW_DIR\"}"

cni() { # COMMAND CONTAINER-ID
    echo "$CONF" | CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/var/run/netns/cni-$2 CNI_IFNAME=eth0 \
        CNI_PATH=/nonexistent "$CNI"
}
in_pod() { "$SWITCH" exec --dir "$SW_DIR" "$@"; }
ctl() { "$SWITCH" ctl --dir "$SW_DIR" "$1"; }
holder_pid() { ctl "{\"op\":\"status\",\"id\":\"$1\"}" | json_get - 'd["pod"]["holderPid"]'; }
start_switch() {
    "$SWITCH" --dir "$SW_DIR" --pod-cidr 10.244.0.0/24 --node-route 10.200.0.1/32 --nat >>"$D/switch.log" 2>&1 &
    SW_PID=$!
    wait_for 20 ctl '{"op":"list"}'
}
# Starts a netbench server in the background and waits until it listens; its pid lands in $D/ready/NAME.pid.
serve() { # NAME RUNNER... -- NETBENCH-ARGS
    local name=$1
    shift
    local runner=()
    while [ "$1" != -- ]; do runner+=("$1"); shift; done
    shift
    "${runner[@]}" sh -c "$NETBENCH serve $* --ready-file $D/ready/$name >/dev/null 2>&1 & echo \$! > $D/ready/$name.pid"
    wait_for 20 test -e "$D/ready/$name"
}
tun_fds() { # how many fds of all processes point at /dev/net/tun
    local n=0 p f
    for p in /proc/[0-9]*; do
        for f in "$p"/fd/*; do
            [ "$(readlink "$f" 2>/dev/null)" = /dev/net/tun ] && n=$((n + 1))
        done
    done
    echo "$n"
}

ip addr add 10.200.0.1/32 dev lo # the node IP
ip addr add 192.0.2.1/32 dev lo  # stands in for an address outside the node

probe=$("$CNI" --probe)
assert_eq "kig-cni --probe recommends tap in this gVisor" tap "$(echo "$probe" | json_get - 'd["recommended"]')"

start_switch
assert_eq "kig-switch starts and answers" 0 $?
tun_before=$(tun_fds)
assert_eq "the switch holds one TAP, the node's" 1 "$tun_before"

out=$(cni ADD pod-a)
assert_contains "ADD pod a: address with the /0 prefix" "$out" '"address":"10.244.0.2/0"'
assert_contains "ADD pod a: the node is the gateway" "$out" '"gateway":"10.244.0.1"'
out=$(cni ADD pod-b)
assert_contains "ADD pod b: next address" "$out" '"address":"10.244.0.3/0"'
out=$(cni ADD pod-a)
assert_contains "ADD pod a again returns the same address" "$out" '"address":"10.244.0.2/0"'
assert_eq "pod a has its TAP with its address in its own namespace" "1" \
    "$(in_pod pod-a ip -4 addr show eth0 | grep -c 'inet 10.244.0.2/0')"
assert_eq "the switch maps containerd's netns path to pod a" /var/run/netns/cni-pod-a \
    "$(ctl '{"op":"status","id":"pod-a"}' | json_get - 'd["pod"]["netns"]')"
assert_eq "pod a's namespace is not the node's (no kig0 there)" "0" "$(in_pod pod-a ip link | grep -c kig0)"

check "pod a serves on port 5001" serve a in_pod pod-a -- 5001 --label A --udp
check "pod b serves on the same port 5001 at the same time" serve b in_pod pod-b -- 5001 --label B --udp
check "the node serves on 10.200.0.1:6000" serve node env -- 6000 --bind 10.200.0.1 --label NODE
check "the outside serves on 192.0.2.1:7000" serve out env -- 7000 --bind 192.0.2.1 --label OUT --udp

assert_eq "TCP pod a -> pod b, seen from pod a's address" "B 10.244.0.2" "$(in_pod pod-a "$NETBENCH" hello 10.244.0.3 5001)"
assert_eq "TCP pod b -> pod a" "A 10.244.0.3" "$(in_pod pod-b "$NETBENCH" hello 10.244.0.2 5001)"
assert_eq "UDP pod a -> pod b" "B ping-b" "$(in_pod pod-a "$NETBENCH" udp 10.244.0.3 5001 ping-b)"
assert_eq "UDP pod b -> pod a" "A ping-a" "$(in_pod pod-b "$NETBENCH" udp 10.244.0.2 5001 ping-a)"
assert_eq "a pod's own port 5001 on lo is its own server" "A 127.0.0.1" "$(in_pod pod-a "$NETBENCH" hello 127.0.0.1 5001)"
assert_eq "pod -> node IP" "NODE 10.244.0.2" "$(in_pod pod-a "$NETBENCH" hello 10.200.0.1 6000)"
assert_eq "node -> pod (kubelet probes, port-forward)" "B 10.244.0.1" "$("$NETBENCH" hello 10.244.0.3 5001)"
assert_eq "TCP pod -> outside through the NAT" "OUT 192.0.2.1" "$(in_pod pod-a "$NETBENCH" hello 192.0.2.1 7000)"
assert_eq "UDP pod -> outside through the NAT" "OUT via-nat" "$(in_pod pod-b "$NETBENCH" udp 192.0.2.1 7000 via-nat)"
out=$(in_pod pod-a "$NETBENCH" stream 10.244.0.3 5001 1)
assert_contains "a bulk TCP stream between pods arrives whole" "$out" "stream_mbps="

pid_a=$(holder_pid pod-a)
pid_b=$(holder_pid pod-b)
kill -9 "$SW_PID"
wait "$SW_PID" 2>/dev/null
start_switch
assert_eq "kig-switch restarts after SIGKILL" 0 $?
list=$(ctl '{"op":"list"}')
assert_eq "the restarted switch recovered both pods, alive" "2 2" \
    "$(echo "$list" | json_get - '"%d %d" % (len(d["pods"]), sum(p["alive"] for p in d["pods"]))')"
assert_eq "the holders are the same processes" "$pid_a $pid_b" "$(holder_pid pod-a) $(holder_pid pod-b)"
assert_eq "pod a -> pod b after the restart" "B 10.244.0.2" "$(in_pod pod-a "$NETBENCH" hello 10.244.0.3 5001)"
assert_eq "node -> pod a after the restart" "A 10.244.0.1" "$("$NETBENCH" hello 10.244.0.2 5001)"

kill "$(cat "$D/ready/b.pid")"
kill -9 "$pid_b"
wait_for 10 sh -c "\"$SWITCH\" ctl --dir \"$SW_DIR\" '{\"op\":\"status\",\"id\":\"pod-b\"}' | grep -q '\"alive\":false'"
assert_eq "the switch notices pod b's holder died" "false" \
    "$(ctl '{"op":"status","id":"pod-b"}' | json_get - 'd["pod"]["alive"]')"
check_fails "CHECK reports pod b's network as down" cni CHECK pod-b
check "CHECK passes for pod a" cni CHECK pod-a
check "DEL pod b" cni DEL pod-b
check "pod b's address is free" test ! -e "$D/ipam/10.244.0.3"

kill "$(cat "$D/ready/a.pid")"
check "DEL pod a" cni DEL pod-a
check "DEL pod a again (idempotent)" cni DEL pod-a
check "DEL of a pod never added" cni DEL pod-never
check_fails "pod a's holder is gone" kill -0 "$pid_a"
check "pod a's holder socket is gone" test ! -e "$SW_DIR/pods/pod-a.sock"
check "pod a's address is free" test ! -e "$D/ipam/10.244.0.2"
assert_eq "no pod TAP is left open (only the node's)" "$tun_before" "$(tun_fds)"
assert_eq "the switch has no pods left" "0" "$(ctl '{"op":"list"}' | json_get - 'len(d["pods"])')"

kill -9 "$SW_PID"
wait "$SW_PID" 2>/dev/null
check "DEL with the switch down still succeeds" cni DEL pod-a
kill "$(cat "$D/ready/node.pid")" "$(cat "$D/ready/out.pid")" 2>/dev/null
grep -q "lost its network" "$D/switch.log" && _report ok "the switch logged pod b's lost holder" ||
    _report fail "the switch logged pod b's lost holder" "$(tail -5 "$D/switch.log")"
finish
