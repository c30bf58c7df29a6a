#!/usr/bin/env bash
# kig-cni as containerd runs it: environment + stdin in, a CNI document out.
set -uo pipefail
plugin=${1:?usage: test-plugin.sh PATH-TO-kig-cni}
fails=0
ok() { echo "ok - $1"; }
bad() { echo "not ok - $1: $2"; fails=$((fails + 1)); }
conf='{"cniVersion":"1.0.0","name":"kig","type":"kig-cni","strategy":"host","nodeIP":"10.200.0.1"}'

out=$(CNI_COMMAND=VERSION "$plugin" </dev/null)
case "$out" in *'"1.0.0"'*) ok VERSION ;; *) bad VERSION "$out" ;; esac

out=$(echo "$conf" | CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/proc/1/ns/net CNI_IFNAME=eth0 "$plugin")
rc=$?
case "$rc:$out" in 0:*'"address":"10.200.0.1/32"'*) ok "ADD returns the node address" ;; *) bad ADD "$rc $out" ;; esac

for i in 1 2; do
    echo "$conf" | CNI_COMMAND=DEL CNI_CONTAINERID=c1 CNI_IFNAME=eth0 "$plugin" >/dev/null \
        && ok "DEL #$i is idempotent" || bad "DEL #$i" "exit $?"
done

out=$(echo "$conf" | CNI_COMMAND=CHECK CNI_CONTAINERID=c1 CNI_NETNS=/proc/1/ns/net CNI_IFNAME=eth0 "$plugin")
[ $? = 0 ] && ok CHECK || bad CHECK "$out"

out=$(echo '{"cniVersion":"1.0.0","name":"kig","type":"kig-cni","strategy":"warp"}' |
    CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/x CNI_IFNAME=eth0 "$plugin" 2>/dev/null)
rc=$?
case "$rc:$out" in 1:*'"code":7'*warp*) ok "unknown strategy is error 7" ;; *) bad "unknown strategy" "$rc $out" ;; esac

out=$(echo 'not json' | CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/x CNI_IFNAME=eth0 "$plugin" 2>/dev/null)
case "$?:$out" in 1:*'"code":6'*) ok "garbage stdin is error 6" ;; *) bad "garbage stdin" "$out" ;; esac

err=$("$plugin" </dev/null 2>&1 >/dev/null)
case "$?:$err" in 1:*CNI_COMMAND*) ok "no CNI_COMMAND: one-line error" ;; *) bad "no CNI_COMMAND" "$err" ;; esac

dir=$(mktemp -d)
ln -s "$(readlink -f "$plugin")" "$dir/loopback"
out=$(echo '{"cniVersion":"0.4.0","name":"cni-loopback","type":"loopback"}' |
    CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/proc/1/ns/net CNI_IFNAME=lo "$dir/loopback")
case "$?:$out" in 0:*'"name":"lo"'*'"address":"127.0.0.1/8"'*'"version":"4"'*) ok "installed as loopback, answers for lo" ;;
*) bad "loopback" "$out" ;; esac
rm -rf "$dir"

echo "kig-cni: $(( 8 - fails )) passed, $fails failed"
[ "$fails" = 0 ]
