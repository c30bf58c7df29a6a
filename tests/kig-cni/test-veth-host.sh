#!/usr/bin/env bash
# kig-cni's veth strategy on a real Linux kernel, in a throwaway network namespace (the "node") with two
# pod namespaces made by `ip netns add`: ADD wires each pod, the pods talk through the node, DEL removes
# everything and is idempotent. Traffic stays inside namespaces this test makes.
#   test-veth-host.sh PATH-TO-kig-cni PATH-TO-netbench
set -uo pipefail
plugin=$(readlink -f "${1:?usage: test-veth-host.sh KIG-CNI NETBENCH}")
netbench=$(readlink -f "${2:?usage: test-veth-host.sh KIG-CNI NETBENCH}")

if [ "${KIG_VETH_INNER:-}" != 1 ]; then
    if [ "$(id -u)" != 0 ] || ! unshare -n -m true 2>/dev/null; then
        echo "# needs root and network namespaces; skipped"
        exit 77
    fi
    if [ "$(uname -r)" = 4.4.0 ]; then
        echo "# inside gVisor: no veth here; skipped"
        exit 77
    fi
    exec env KIG_VETH_INNER=1 unshare -n -m --propagation private "$0" "$@"
fi

passed=0
failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
bad() { echo "not ok - $1"; [ -n "${2:-}" ] && printf '#   %s\n' "$2"; failed=$((failed + 1)); }
check() { local name=$1 out; shift; if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$out"; fi; }

work=$(mktemp -d)
mount -t tmpfs kig-veth-test /run 2>/dev/null || true
mkdir -p /run/netns
ip link set lo up
conf="{\"cniVersion\":\"1.0.0\",\"name\":\"kig\",\"type\":\"kig-cni\",\"strategy\":\"veth\",\"podCIDR\":\"10.244.7.0/24\",\"dataDir\":\"$work/ipam\"}"

cni() { # CMD ID NETNS
    echo "$conf" | CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=${3:-} CNI_IFNAME=eth0 CNI_PATH=/nonexistent "$plugin"
}

ip netns add pod-a && ip netns add pod-b
out=$(cni ADD ctr-a /run/netns/pod-a)
case "$?:$out" in 0:*'"address":"10.244.7.2/32"'*'"gateway":"10.244.7.1"'*) ok "ADD pod a: 10.244.7.2/32 via 10.244.7.1" ;;
*) bad "ADD pod a" "$out" ;; esac
out=$(cni ADD ctr-b /run/netns/pod-b)
case "$?:$out" in 0:*'"address":"10.244.7.3/32"'*) ok "ADD pod b: 10.244.7.3/32" ;; *) bad "ADD pod b" "$out" ;; esac

out=$(cni ADD ctr-a /run/netns/pod-a 2>&1)
case "$out" in *'"code"'*'already exists'*) ok "a second ADD of a wired pod fails clearly" ;; *) bad "second ADD" "$out" ;; esac

check "pod a has its address and default route" \
    sh -c "ip netns exec pod-a ip -4 addr show eth0 | grep -q 10.244.7.2/32 && ip netns exec pod-a ip route | grep -q 'default via 10.244.7.1'"
check "the node routes pod a's /32 to its veth" sh -c "ip route | grep -q '^10.244.7.2 dev kig'"
check "no bridge and no promiscuous link on the node" sh -c "! ip -d link | grep -Eq 'bridge|PROMISC'"

ip netns exec pod-b "$netbench" serve 7000 --label pod-b --udp >/dev/null 2>&1 &
srv=$!
"$netbench" serve 7001 --bind 10.244.7.1 --label node >/dev/null 2>&1 &
node_srv=$!
sleep 0.5
out=$(ip netns exec pod-a "$netbench" hello 10.244.7.3 7000 2>&1)
[ "$out" = "pod-b 10.244.7.2" ] && ok "TCP pod a -> pod b sees pod a's address" || bad "TCP pod to pod" "$out"
out=$(ip netns exec pod-a "$netbench" udp 10.244.7.3 7000 ping 2>&1)
[ "$out" = "pod-b ping" ] && ok "UDP pod a -> pod b" || bad "UDP pod to pod" "$out"
out=$(ip netns exec pod-a "$netbench" hello 10.244.7.1 7001 2>&1)
[ "$out" = "node 10.244.7.2" ] && ok "pod a reaches the node" || bad "pod to node" "$out"
out=$("$netbench" hello 10.244.7.3 7000 2>&1)
[ "$out" = "pod-b 10.244.7.1" ] && ok "the node reaches pod b" || bad "node to pod" "$out"
kill "$srv" "$node_srv" 2>/dev/null
wait 2>/dev/null

check "CHECK passes for a wired pod" sh -c "echo '$conf' | CNI_COMMAND=CHECK CNI_CONTAINERID=ctr-a CNI_NETNS=/run/netns/pod-a CNI_IFNAME=eth0 '$plugin'"
check "DEL pod a" cni DEL ctr-a /run/netns/pod-a
check "DEL pod a again (idempotent)" cni DEL ctr-a /run/netns/pod-a
check "DEL of a pod never added" cni DEL ctr-never ""
check "pod a's namespace has no eth0 left" sh -c "! ip netns exec pod-a ip link show eth0 2>/dev/null"
n=$(ip -o link | grep -c ' kig')
[ "$n" = 1 ] && ok "one node-side veth left (pod b's)" || bad "node-side veths after DEL" "$(ip -o link)"
[ ! -e "$work/ipam/10.244.7.2" ] && ok "pod a's address is free again" || bad "address released" "$(ls "$work/ipam")"
check "DEL pod b" cni DEL ctr-b /run/netns/pod-b
n=$(ip -o link | grep -c ' kig')
[ "$n" = 0 ] && ok "no veth left on the node" || bad "veths left" "$(ip -o link)"

ip netns del pod-a
ip netns del pod-b
rm -rf "$work"
echo "veth-host: $passed passed, $failed failed"
[ "$failed" = 0 ]
