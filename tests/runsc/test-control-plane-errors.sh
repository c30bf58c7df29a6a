#!/usr/bin/env bash
# Bad input to the cluster commands inside gVisor: each case is one line on stderr naming the cause and
# the fix, a non-zero exit, and no change to existing cluster data. Cases: the full node mode, invalid
# flags, a missing etcd or apiserver binary, the API port in use, an unwritable data dir, a data dir of
# another cluster (--name), a damaged cluster.json, a half-present or damaged PKI, a PKI without
# cluster.json, and `kig down --purge` on a directory kig did not create.
. "$(dirname "$0")/lib.sh"
require_root

KUBECTL=${KIG_KUBECTL:-$(command -v kubectl || echo /usr/bin/kubectl)}
export KUBECTL

# expect_error NAME EXPECTED_EXIT TEXT CMD...: CMD exits EXPECTED_EXIT ("nonzero" for any failure) with
# exactly one line on stderr, which contains TEXT, and nothing on stdout.
expect_error() {
    local name=$1 want=$2 text=$3 out err rc lines
    shift 3
    out=$("$@" 2>"$W/err")
    rc=$?
    err=$(cat "$W/err")
    lines=$(grep -c '' "$W/err")
    if { [ "$want" = nonzero ] && [ "$rc" = 0 ]; } || { [ "$want" != nonzero ] && [ "$rc" != "$want" ]; }; then
        _report fail "$name" "exit $rc (wanted $want): $err"
    elif [ "$lines" != 1 ] || [ -n "$out" ]; then
        _report fail "$name" "wanted one line on stderr and none on stdout, got: $out / $err"
    else
        case "$err" in
        *"$text"*) _report ok "$name" ;;
        *) _report fail "$name" "'$text' not in: $err" ;;
        esac
    fi
}

# Everything that is cluster data (logs and run state are not).
data_sum() { (cd "$D" && find . -path ./logs -prune -o -path ./run -prune -o -type f -print | sort | xargs sha256sum); }

no_cluster_yet() {
    expect_error "a missing kig-trace (the node's syscall supervisor) names the variable to fix" 1 \
        "kig-trace not found: KIG_TRACE=/nonexistent/kig-trace is not an executable file; fix or unset it" \
        env KIG_TRACE=/nonexistent/kig-trace "$KIG" up --data-dir "$D"
    expect_error "an invalid --name is a usage error" 2 "invalid --name 'Bad_Name'" \
        "$KIG" up --control-plane-only --name Bad_Name --data-dir "$D"
    expect_error "an invalid --port is a usage error" 2 "invalid --port '70000'" \
        "$KIG" up --control-plane-only --port 70000 --data-dir "$D"
    expect_error "a missing etcd names the variable to fix" 1 \
        "etcd not found: KIG_ETCD=/nonexistent/etcd is not an executable file; fix or unset it" \
        env KIG_ETCD=/nonexistent/etcd "$KIG" up --control-plane-only --data-dir "$D"
    expect_error "a missing apiserver says how to build it" 1 \
        "kube-apiserver not found: run scripts/build-kubernetes.sh (builds into /nonexistent) or set KIG_KUBE_APISERVER" \
        env KIG_K8S_BIN_DIR=/nonexistent "$KIG" up --control-plane-only --data-dir "$D"
    check_fails "...and none of these created the data dir" test -e "$D"

    rm -f "$W/listening"
    python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 6443)); s.listen(); open(sys.argv[1], "w").close(); time.sleep(120)' "$W/listening" &
    local holder=$!
    check "a program listens on 6443" wait_for 90 test -e "$W/listening"
    expect_error "the API port in use is named with the flag to change it" 1 \
        "port 6443 on 127.0.0.1 is already in use: stop what listens there, or choose another API port with --port" \
        "$KIG" up --control-plane-only --data-dir "$D"
    kill "$holder"
    wait "$holder" 2>/dev/null

    if command -v setpriv >/dev/null; then
        expect_error "an unwritable data dir names the directory and the flag" 1 \
            "cannot write data dir /var/lib/kig-unwritable-$$ (/var/lib/kig-unwritable-$$: Permission denied): run kig as a user who can write there, or choose another directory with --data-dir" \
            setpriv --reuid=65534 --regid=65534 --clear-groups "$KIG" up --control-plane-only \
            --data-dir "/var/lib/kig-unwritable-$$"
    fi
    : >"$W/a-file"
    expect_error "a data dir that is a file" 1 "data dir $W/a-file exists but is not a directory" \
        "$KIG" up --control-plane-only --data-dir "$W/a-file"
    expect_error "kig status without a cluster" 1 "no cluster in data dir $D (no cluster.json)" \
        "$KIG" status --data-dir "$D"
    expect_error "kig logs without a cluster" 1 "no cluster in data dir $D" "$KIG" logs etcd --data-dir "$D"
    local out
    out=$("$KIG" down --data-dir "$D" 2>&1)
    assert_eq "kig down without a cluster has nothing to do (exit 0)" "0 no cluster in $D: nothing to stop" "$? $out"
}

make_cluster() {
    check "kig up --name dev --port 7443 creates a cluster" "$KIG" up --control-plane-only --name dev --port 7443 --data-dir "$D"
    assert_contains "its kubeconfig points at port 7443" "$(cat "$D/kubeconfig/admin.kubeconfig")" "https://127.0.0.1:7443"
    check "kubectl works on port 7443" "$KUBECTL" --kubeconfig "$D/kubeconfig/admin.kubeconfig" create configmap keep-me --from-literal=k=v
    check "kig down" "$KIG" down --data-dir "$D"
}

existing_cluster() {
    local sum
    sum=$(data_sum)
    expect_error "a data dir of another cluster is refused, naming both names" 1 \
        "data dir $D belongs to cluster 'dev', not 'other': use --name dev, or another --data-dir for a new cluster" \
        "$KIG" up --control-plane-only --name other --data-dir "$D"
    assert_eq "...and changes nothing" "$sum" "$(data_sum)"

    cp "$D/cluster.json" "$W/cluster.json.good"
    echo '{"format": 1, "name": "dev",' >"$D/cluster.json"
    sum=$(data_sum)
    expect_error "a damaged cluster.json is refused with the way out" 1 \
        "data dir $D is damaged: $D/cluster.json is invalid (not valid JSON" \
        "$KIG" up --control-plane-only --data-dir "$D"
    assert_eq "...and is left as it was" "$sum" "$(data_sum)"
    expect_error "kig status reports it too" 1 "is invalid (not valid JSON" "$KIG" status --data-dir "$D"
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d["port"] = "x"; json.dump(d, open(sys.argv[2], "w"))' \
        "$W/cluster.json.good" "$D/cluster.json"
    expect_error "a cluster.json with a bad field names the field" 1 '"port" is not a TCP port number' \
        "$KIG" up --control-plane-only --data-dir "$D"
    cp "$W/cluster.json.good" "$D/cluster.json"

    mv "$D/pki/ca.key" "$W/ca.key.good"
    sum=$(data_sum)
    expect_error "a half-present PKI names the missing file" 1 \
        "data dir $D is damaged: $D/pki/ca.key is missing (kig never regenerates a PKI that clients may trust)" \
        "$KIG" up --control-plane-only --data-dir "$D"
    assert_eq "...and nothing is regenerated" "$sum" "$(data_sum)"
    mv "$W/ca.key.good" "$D/pki/ca.key"

    cp -p "$D/pki/apiserver.crt" "$W/apiserver.crt.good"
    echo garbage >"$D/pki/apiserver.crt"
    expect_error "a damaged certificate is named" 1 "$D/pki/apiserver.crt" "$KIG" up --control-plane-only --data-dir "$D"
    assert_eq "...and not regenerated" garbage "$(cat "$D/pki/apiserver.crt")"
    cp -p "$W/apiserver.crt.good" "$D/pki/apiserver.crt"

    mv "$D/cluster.json" "$W/cluster.json.moved"
    sum=$(data_sum)
    expect_error "a PKI without cluster.json is refused" 1 \
        "data dir $D is damaged: it holds cluster data (pki/ or etcd/) but no cluster.json" \
        "$KIG" up --control-plane-only --data-dir "$D"
    assert_eq "...and nothing is created" "$sum" "$(data_sum)"
    mv "$W/cluster.json.moved" "$D/cluster.json"

    check "with everything restored, kig up works (the name from cluster.json, a new --port)" \
        "$KIG" up --control-plane-only --port 7444 --data-dir "$D"
    assert_eq "cluster.json records the new port" 7444 "$(json_get "$D/cluster.json" 'd["port"]')"
    assert_contains "the admin kubeconfig follows it" "$(cat "$D/kubeconfig/admin.kubeconfig")" "https://127.0.0.1:7444"
    assert_eq "...and the data is there" v \
        "$("$KUBECTL" --kubeconfig "$D/kubeconfig/admin.kubeconfig" get configmap keep-me -o jsonpath='{.data.k}' 2>&1)"
    check "kig down" "$KIG" down --data-dir "$D"
}

purge_safety() {
    mkdir -p "$W/precious"
    echo data >"$W/precious/thesis.txt"
    expect_error "kig down --purge refuses a directory kig did not create" 1 \
        "not deleting $W/precious: it holds 'thesis.txt', which kig did not create" \
        "$KIG" down --purge --data-dir "$W/precious"
    assert_eq "...and the file is still there" data "$(cat "$W/precious/thesis.txt")"
    check "kig down --purge deletes the cluster's data dir" "$KIG" down --purge --data-dir "$D"
    check_fails "...which is gone" test -e "$D"
}

inside() {
    W=$1
    D=$W/data
    no_cluster_yet
    make_cluster
    existing_cluster
    purge_safety
    assert_eq "no process is left" "" "$(kig_processes)"
    finish
}

if [ "${1:-}" = --inside ]; then
    inside "$2"
    exit
fi

[ -x "$KIG" ] || { echo "not ok - kig not built at $KIG"; exit 1; }
for c in /usr/bin/etcd "${KIG_K8S_BIN_DIR:-/var/cache/kig/kubernetes-1.20.2/bin}/kube-apiserver" "$KUBECTL"; do
    [ -x "$c" ] || { echo "# $_test_name: $c missing (apt-get install etcd-server kubernetes-client; scripts/build-kubernetes.sh)"; exit 77; }
done
make_work_dir kig-test-cp-errors
in_bed --timeout 1200 -- bash "$0" --inside "$work"
rc=$?
assert_eq "every check inside gVisor passed" 0 "$rc"
finish
