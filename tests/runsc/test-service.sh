#!/usr/bin/env bash
# kig-proxy inside gVisor against a real control plane (kig up --control-plane-only): Services with manual
# Endpoints pointing at three TCP/UDP servers on addresses added to lo. Checks that a ClusterIP balances
# across them (TCP and UDP), that NodePort answers, that sessionAffinity ClientIP sticks, that a port
# without endpoints refuses at once, that half-close and bulk data pass intact, that changing Endpoints
# stops traffic to a removed endpoint without dropping an established connection, that cluster DNS
# answers (our client, and busybox nslookup), and that after SIGKILL a restarted kig-proxy removes what
# went stale while it was dead and serves again.
#
# Everything runs in one sandbox: this script re-runs itself there with --inside.
. "$(dirname "$0")/lib.sh"
require_root

KIG_PROXY=${KIG_PROXY:-$KIG_BUILD_DIR/src/kig-proxy/kig-proxy}
SVC_TOOL=$KIG_SOURCE_DIR/tests/kig-proxy/svc-tool.py
KUBECTL=${KIG_KUBECTL:-$(command -v kubectl || true)}
BUSYBOX=$(command -v busybox || true)
# The distribution's interpreter, not a version-manager shim: a shim that forks dozens of helpers per call
# costs seconds each inside gVisor.
PYTHON=${KIG_PYTHON:-$(if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi)}
export KIG_PROXY SVC_TOOL KUBECTL BUSYBOX PYTHON

tool() { "$PYTHON" "$SVC_TOOL" "$@"; }
kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_PATH" "$@"; }
lo_addresses() { ip -4 -o addr show dev lo | awk '{print $4}' | sort | tr '\n' ' '; }
# "name count" lines, sorted, on one line: "b1 10 b2 10 b3 10"
tally() { sort | uniq -c | awk '{print $2, $1}' | tr '\n' ' ' | sed 's/ $//'; }
healthy() { [ "$(curl -s -m 2 http://127.0.0.1:10256/healthz)" = ok ]; }
log_has() { grep -q -- "$1" "$W/proxy.log"; }

pids=()
proxy_pid=
start_proxy() { # [RESOLV_CONF]
    "$KIG_PROXY" --kubeconfig "$KUBECONFIG_PATH" --resolv-conf "${1:-$W/resolv-unreachable.conf}" \
        >>"$W/proxy.log" 2>&1 &
    proxy_pid=$!
    pids+=("$proxy_pid")
}
stop_all() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    pids=()
    timeout 120 "$KIG" down --data-dir "$W/data" >"$W/down.log" 2>&1 ||
        echo "# kig down did not finish cleanly: $(tail -n 1 "$W/down.log")"
}

manifests() {
    local addrs='[{"ip":"10.244.0.2"},{"ip":"10.244.0.3"},{"ip":"10.244.0.4"}]'
    local http='{"name":"http","port":8080,"protocol":"TCP"}' udp='{"name":"echo-udp","port":5300,"protocol":"UDP"}'
    cat <<JSON
{"apiVersion":"v1","kind":"List","items":[
 {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
  "spec":{"clusterIP":"10.96.100.10","ports":[{"name":"http","port":80,"protocol":"TCP"},
          {"name":"echo-udp","port":5353,"protocol":"UDP"}]}},
 {"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"web","namespace":"default"},
  "subsets":[{"addresses":$addrs,"ports":[$http,$udp]}]},
 {"apiVersion":"v1","kind":"Service","metadata":{"name":"sticky","namespace":"default"},
  "spec":{"clusterIP":"10.96.100.11","sessionAffinity":"ClientIP",
          "sessionAffinityConfig":{"clientIP":{"timeoutSeconds":60}},
          "ports":[{"name":"http","port":80,"protocol":"TCP"}]}},
 {"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"sticky","namespace":"default"},
  "subsets":[{"addresses":$addrs,"ports":[$http]}]},
 {"apiVersion":"v1","kind":"Service","metadata":{"name":"np","namespace":"default"},
  "spec":{"type":"NodePort","clusterIP":"10.96.100.12",
          "ports":[{"name":"http","port":80,"protocol":"TCP","nodePort":30080},
                   {"name":"echo-udp","port":5353,"protocol":"UDP","nodePort":30053}]}},
 {"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"np","namespace":"default"},
  "subsets":[{"addresses":$addrs,"ports":[$http,$udp]}]},
 {"apiVersion":"v1","kind":"Service","metadata":{"name":"empty","namespace":"default"},
  "spec":{"clusterIP":"10.96.100.13","ports":[{"name":"http","port":80,"protocol":"TCP"}]}},
 {"apiVersion":"v1","kind":"Service","metadata":{"name":"db","namespace":"default"},
  "spec":{"clusterIP":"None","ports":[{"name":"pg","port":5432,"protocol":"TCP"}]}},
 {"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"db","namespace":"default"},
  "subsets":[{"addresses":[{"ip":"10.244.0.2","hostname":"db-0"},{"ip":"10.244.0.3"}],
              "ports":[{"name":"pg","port":5432,"protocol":"TCP"}]}]},
 {"apiVersion":"v1","kind":"Service","metadata":{"name":"ext","namespace":"default"},
  "spec":{"type":"ExternalName","externalName":"example.com"}}
]}
JSON
}

check_balancing() {
    assert_eq "ClusterIP TCP: 30 connections, round robin over the 3 endpoints" "b1 10 b2 10 b3 10" \
        "$(tool tcp-names 10.96.100.10 80 30 | tally)"
    assert_eq "ClusterIP UDP: 9 new flows, round robin, replies come from the ClusterIP" "b1 3 b2 3 b3 3" \
        "$(tool udp-names 10.96.100.10 5353 9 | tally)"
    assert_eq "NodePort on 127.0.0.1:30080 balances too" "b1 2 b2 2 b3 2" \
        "$(tool tcp-names 127.0.0.1 30080 6 | tally)"
    assert_eq "...and answers on the node IP" "b1 1 b2 1 b3 1" "$(tool tcp-names 10.200.0.1 30080 3 | tally)"
    assert_eq "UDP NodePort answers from the address each client sent to" "b1 2 b2 2 b3 2" \
        "$( (tool udp-names 127.0.0.1 30053 3; tool udp-names 10.200.0.1 30053 3) | tally)"
    local a b
    a=$(tool tcp-names 10.96.100.11 80 10 --src 127.0.0.5 | tally)
    b=$(tool tcp-names 10.96.100.11 80 10 --src 127.0.0.6 | tally)
    case "$a|$b" in
    "b"[123]" 10|b"[123]" 10") _report ok "sessionAffinity ClientIP: each client sticks to one endpoint ($a; $b)" ;;
    *) _report fail "sessionAffinity ClientIP: each client sticks to one endpoint" "got '$a' and '$b'" ;;
    esac
    assert_eq "...while without affinity the same client is spread" "b1 3 b2 3 b3 3" \
        "$(tool tcp-names 10.96.100.10 80 9 --src 127.0.0.5 | tally)"
    assert_contains "4 MiB echoed intact through the ClusterIP after a half-close" \
        "$(tool echo 10.96.100.10 80 4194304)" "ok b"
    assert_eq "a port without endpoints refuses at once" refused "$(tool refused 10.96.100.13 80)"
}

check_dns() {
    local out
    out=$(tool dns 10.96.0.10 web.default.svc.cluster.local A)
    assert_eq "DNS A for a service: its ClusterIP" "rcode=0
A 10.96.100.10" "$out"
    out=$(tool dns 10.96.0.10 web.default.svc.cluster.local A --tcp)
    assert_eq "...also over TCP" "rcode=0
A 10.96.100.10" "$out"
    out=$(tool dns 10.96.0.10 db.default.svc.cluster.local A)
    assert_eq "DNS A for a headless service: the endpoint IPs" "rcode=0
A 10.244.0.2
A 10.244.0.3" "$out"
    out=$(tool dns 10.96.0.10 db-0.db.default.svc.cluster.local A)
    assert_eq "DNS A for a headless endpoint's hostname" "rcode=0
A 10.244.0.2" "$out"
    out=$(tool dns 10.96.0.10 _http._tcp.web.default.svc.cluster.local SRV)
    assert_eq "DNS SRV for a named port" "rcode=0
SRV 80 web.default.svc.cluster.local" "$out"
    out=$(tool dns 10.96.0.10 10-244-0-9.default.pod.cluster.local A)
    assert_eq "DNS A for a pod name" "rcode=0
A 10.244.0.9" "$out"
    out=$(tool dns 10.96.0.10 ext.default.svc.cluster.local A)
    assert_eq "DNS for an ExternalName service: a CNAME" "rcode=0
CNAME example.com" "$out"
    assert_eq "DNS NXDOMAIN for a missing service" "rcode=3" "$(tool dns 10.96.0.10 missing.default.svc.cluster.local A)"
    assert_eq "DNS AAAA for a service: no records, no error" "rcode=0" \
        "$(tool dns 10.96.0.10 web.default.svc.cluster.local AAAA)"
    assert_eq "DNS for a name outside the cluster without a network: NXDOMAIN" "rcode=3" \
        "$(tool dns 10.96.0.10 example.com A)"
    if [ -n "$BUSYBOX" ]; then
        out=$("$BUSYBOX" nslookup web.default.svc.cluster.local 10.96.0.10 2>&1)
        assert_contains "busybox nslookup resolves the service name" "$out" "10.96.100.10"
    else
        echo "# busybox not found: nslookup check skipped (apt-get install busybox-static)"
    fi
}

# An established connection survives changes to its Service and Endpoints that leave its endpoint valid;
# removed endpoints get no new traffic.
check_live_changes() {
    mkfifo "$W/hold.in"
    tool hold 10.96.100.10 80 "$W/hold.in" >"$W/hold.out" 2>&1 &
    local hold_pid=$!
    pids+=("$hold_pid")
    exec 7>"$W/hold.in"
    wait_for 10 grep -q '^name ' "$W/hold.out"
    local held removed keep
    held=$(sed -n 's/^name //p' "$W/hold.out")
    case "$held" in b1) removed=b3 ;; *) removed=b1 ;; esac
    keep='{"ip":"10.244.0.2"},{"ip":"10.244.0.3"},{"ip":"10.244.0.4"}'
    case "$removed" in
    b1) keep='{"ip":"10.244.0.3"},{"ip":"10.244.0.4"}' ;;
    b3) keep='{"ip":"10.244.0.2"},{"ip":"10.244.0.3"}' ;;
    esac
    # Remove one endpoint, and add a port to the Service, at the same time.
    kc apply -f - >"$W/apply2.log" 2>&1 <<JSON
{"apiVersion":"v1","kind":"List","items":[
 {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
  "spec":{"clusterIP":"10.96.100.10","ports":[{"name":"http","port":80,"protocol":"TCP"},
          {"name":"alt","port":81,"protocol":"TCP"}]}},
 {"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"web","namespace":"default"},
  "subsets":[{"addresses":[$keep],"ports":[{"name":"http","port":8080,"protocol":"TCP"},
                                           {"name":"alt","port":8080,"protocol":"TCP"}]}]}
]}
JSON
    check "the updated Service and Endpoints are applied" test $? = 0
    if ! wait_for 20 log_has "updated default/web:http:TCP: 10.96.100.10:80 -> 2 ready endpoints"; then
        _report fail "kig-proxy sees the endpoint removal" "$(tail -n 20 "$W/proxy.log")"
    fi
    wait_for 10 sh -c "'$PYTHON' '$SVC_TOOL' refused 10.96.100.10 81 | grep -q connected"
    echo "still-there" >&7
    wait_for 10 grep -q '^echo ' "$W/hold.out"
    assert_eq "the established connection to $held still works after the change" "echo still-there" \
        "$(grep '^echo ' "$W/hold.out" | head -n 1)"
    local names
    names=$(tool tcp-names 10.96.100.10 80 30 | tally)
    assert_not_contains "no new connection reaches the removed endpoint $removed" "$names" "$removed"
    assert_eq "...and the 2 left share the traffic" 2 "$(wc -w <<<"${names//[0-9]/}")"
    assert_eq "the added port serves at once" "3" "$(tool tcp-names 10.96.100.10 81 3 | grep -c '^b')"
    assert_eq "UDP on the port removed from the Service is refused" "error: Connection refused" \
        "$(tool udp-names 10.96.100.10 5353 1)"
}

check_restart() {
    kill -KILL "$proxy_pid"
    wait "$proxy_pid" 2>/dev/null
    echo "after-kill" >&7
    wait_for 10 grep -q -v -e '^name ' -e '^echo still-there' "$W/hold.out"
    assert_contains "a connection through the killed kig-proxy ends (clients must reconnect)" \
        "$(tail -n 1 "$W/hold.out")" "EOF"
    echo quit >&7
    exec 7>&-
    # While it is dead: delete a Service. Its address is stale on lo until kig-proxy is back.
    kc delete service sticky >/dev/null 2>&1
    assert_contains "the killed kig-proxy left its addresses on lo" "$(lo_addresses)" "10.96.100.11/32"
    local start=$SECONDS
    # The new instance forwards other names to a resolver on loopback (reachable without a network).
    echo "nameserver 127.0.0.53" >"$W/resolv-local.conf"
    tool fake-dns 127.0.0.53 >"$W/fake-dns.log" 2>&1 &
    pids+=($!)
    start_proxy "$W/resolv-local.conf"
    if wait_for 60 healthy; then
        _report ok "kig-proxy restarted after SIGKILL is healthy ($((SECONDS - start)) s)"
    else
        _report fail "kig-proxy restarted after SIGKILL is healthy" "$(tail -n 20 "$W/proxy.log")"
    fi
    assert_not_contains "the restart removed the stale address of the deleted Service" "$(lo_addresses)" \
        "10.96.100.11/32"
    assert_eq "clients reconnect through the restarted kig-proxy" 6 \
        "$(tool tcp-names 10.96.100.10 80 6 | grep -c '^b')"
    assert_eq "DNS answers again" "rcode=0
A 10.96.100.10" "$(tool dns 10.96.0.10 web.default.svc.cluster.local A)"
    assert_eq "DNS forwards other names to the upstream of its resolv.conf" "rcode=0
A 192.0.2.1" "$(tool dns 10.96.0.10 www.example.org A)"
    assert_eq "...also for queries that came over TCP" "rcode=0
A 192.0.2.1" "$(tool dns 10.96.0.10 www.example.org A --tcp)"
    assert_eq "an upstream that does not answer gets SERVFAIL" "rcode=2" "$(tool dns 10.96.0.10 slow.example.org A)"
    kc delete service np >/dev/null 2>&1
    wait_for 20 tool refused 127.0.0.1 30080
    assert_eq "a deleted NodePort Service stops answering" refused "$(tool refused 127.0.0.1 30080)"
    wait_for 10 sh -c "! ip -4 -o addr show dev lo | grep -q 10.96.100.12/"
    assert_not_contains "...and its ClusterIP leaves lo" "$(lo_addresses)" "10.96.100.12/32"
    kill -TERM "$proxy_pid"
    wait "$proxy_pid" 2>/dev/null
    assert_eq "SIGTERM: kig-proxy exits 0" 0 "$?"
    # Built with -Db_sanitize=address,undefined, kig-proxy reports memory errors and leaks here.
    assert_not_contains "kig-proxy logged no sanitizer report" "$(cat "$W/proxy.log")" "Sanitizer"
    assert_not_contains "...and no undefined behaviour" "$(cat "$W/proxy.log")" "runtime error:"
    assert_eq "...and takes every service address off lo" \
        "10.200.0.1/32 10.244.0.2/32 10.244.0.3/32 10.244.0.4/32 127.0.0.1/8 " \
        "$(lo_addresses)"
}

inside() {
    W=$1
    trap stop_all EXIT
    local start=$SECONDS
    if ! "$KIG" up --control-plane-only --data-dir "$W/data" --timeout 240 >"$W/up.log" 2>&1; then
        _report fail "kig up --control-plane-only" "$(tail -n 20 "$W/up.log")"
        finish
        return
    fi
    echo "# control plane ready after $((SECONDS - start)) s"
    KUBECONFIG_PATH=$W/data/kubeconfig/admin.kubeconfig
    local i
    ip addr add 10.200.0.1/32 dev lo # the node IP, as kig gives one to a sandbox without a network
    # A resolver that is not on loopback cannot be reached without a network.
    echo "nameserver 192.0.2.53" >"$W/resolv-unreachable.conf"
    for i in 1 2 3; do
        ip addr add "10.244.0.$((i + 1))/32" dev lo
        tool serve "b$i" "10.244.0.$((i + 1))" 8080 5300 >"$W/b$i.log" 2>&1 &
        pids+=($!)
    done
    manifests | kc apply -f - >"$W/apply.log" 2>&1
    check "Services and manual Endpoints are created" test $? = 0
    start_proxy
    if ! wait_for 60 healthy; then
        _report fail "kig-proxy becomes healthy" "$(tail -n 30 "$W/proxy.log")"
        finish
        return
    fi
    _report ok "kig-proxy becomes healthy"
    local addrs
    addrs=$(lo_addresses)
    for a in 10.96.100.10 10.96.100.11 10.96.100.12 10.96.100.13 10.96.0.10; do
        assert_contains "ClusterIP $a is on lo" "$addrs" "$a/32"
    done
    wait_for 10 sh -c "'$PYTHON' '$SVC_TOOL' tcp-names 10.244.0.4 8080 1 | grep -q b3"
    check_balancing
    check_dns
    check_live_changes
    check_restart
    echo "# kig-proxy log:"
    sed 's/^/#   /' "$W/proxy.log" | tail -n 40
    finish
}

if [ "${1:-}" = --inside ]; then
    inside "$2"
    exit
fi

[ -x "$KIG_PROXY" ] || { echo "not ok - kig-proxy not built at $KIG_PROXY (ninja -C $KIG_BUILD_DIR)"; exit 1; }
[ -n "$KUBECTL" ] || { echo "# $_test_name: kubectl not found"; exit 77; }
# KIG_TEST_KEEP=1 keeps the logs for a look after a failure.
make_work_dir kig-test-service
# Most of the time goes to starting Python and kubectl inside gVisor; on a busy machine that is slow.
in_bed --timeout 1800 -- bash "$0" --inside "$work"
rc=$?
assert_eq "every check inside gVisor passed" 0 "$rc"
finish
