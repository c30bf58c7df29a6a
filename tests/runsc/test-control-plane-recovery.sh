#!/usr/bin/env bash
# The supervisor inside gVisor: SIGKILL etcd, the apiserver, the controller-manager and the scheduler in
# turn; kig restarts each, the API is healthy again and no object is lost (the recovery times are printed:
# the goal is 15 s each). A killed supervisor takes its components with it and `kig up` starts again
# cleanly; an interrupted `kig up` stops what it started; `kig up --foreground` stops in order on SIGTERM.
. "$(dirname "$0")/lib.sh"
require_root

KUBECTL=${KIG_KUBECTL:-$(command -v kubectl || echo /usr/bin/kubectl)}
export KUBECTL
RECOVERY_GOAL_S=15
RECOVERY_LIMIT_S=120

kc() { "$KUBECTL" --request-timeout=20s "$@"; }
status_json() { "$KIG" status --json --data-dir "$D" 2>/dev/null; }
component_field() { # NAME FIELD
    status_json | json_get - "[c[\"$2\"] for c in d[\"components\"] if c[\"name\"] == \"$1\"][0]"
}
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }

# Back: kig's log shows the component started again and ready since the kill (the log is read from
# line FROM on), and the apiserver answers /readyz. Only grep and curl: python and kubectl start slowly
# in a loaded sandbox and would inflate the figure.
recovered() { # NAME FROM
    tail -n +"$2" "$D/logs/kig.log" | grep -q "started $1 (pid [0-9]*) again" &&
        tail -n +"$2" "$D/logs/kig.log" | grep -q " $1 is ready" &&
        [ "$(curl -s --max-time 5 --cacert "$D/pki/ca.crt" --cert "$D/pki/admin.crt" --key "$D/pki/admin.key" \
            https://127.0.0.1:6443/readyz)" = ok ]
}

check_objects() { # WHEN
    assert_eq "$1: the ConfigMap is intact" blue "$(kc get configmap app-config -o jsonpath='{.data.color}' 2>&1)"
    assert_eq "$1: the Secret is intact" s3cr3t \
        "$(kc get secret app-secret -o jsonpath='{.data.password}' 2>&1 | base64 -d 2>&1)"
    assert_eq "$1: the Deployment is intact" 2 "$(kc get deployment web -o jsonpath='{.spec.replicas}' 2>&1)"
}

kill_and_recover() { # NAME
    local name=$1 pid t0 t1 took from
    pid=$(component_field "$name" pid)
    from=$(($(wc -l <"$D/logs/kig.log") + 1))
    t0=$(now)
    kill -KILL "$pid"
    if wait_for "$RECOVERY_LIMIT_S" recovered "$name" "$from"; then
        t1=$(now)
        took=$(elapsed "$t0" "$t1")
        _report ok "$name is restarted after SIGKILL and the API is healthy again (${took}s)"
    else
        took=never
        _report fail "$name recovers after SIGKILL" "$(status_json)"
    fi
    RECOVERY="$RECOVERY $name=${took}s"
    echo "# recovery after SIGKILL of $name: ${took}s (goal: ${RECOVERY_GOAL_S}s)"
    assert_eq "$name: kig counted one restart" 1 "$(component_field "$name" restarts)"
    assert_contains "$name: kig recorded why it died" "$(component_field "$name" lastExit)" "killed by signal 9"
    check_objects "after killing $name"
}

check_supervisor_killed() {
    local sup
    sup=$(status_json | json_get - 'd["supervisor"]["pid"]')
    kill -KILL "$sup"
    check "a SIGKILLed supervisor takes every component with it" wait_for 30 sh -c '[ -z "$(ps -eo comm= | grep -E "^(etcd|kube-)")" ]'
    "$KIG" status --data-dir "$D" >/dev/null 2>&1
    assert_eq "kig status then says not running" 1 $?
    local out
    out=$("$KIG" up --control-plane-only --data-dir "$D" 2>&1)
    assert_eq "kig up starts the cluster again" 0 $?
    check_objects "after the supervisor was killed"
}

check_interrupted_up() {
    check "kig down" "$KIG" down --data-dir "$D"
    "$KIG" up --control-plane-only --data-dir "$D" >"$W/interrupted.out" 2>&1 &
    local up=$!
    # The apiserver takes seconds to become ready even on an idle machine: the interrupt lands while
    # kig up waits for it.
    check "kig up starts the apiserver" wait_for 120 grep -q "starting kube-apiserver" "$W/interrupted.out"
    kill -INT "$up"
    wait "$up"
    assert_eq "an interrupted kig up exits 130" 130 $?
    assert_contains "...saying it stops what it started" "$(cat "$W/interrupted.out")" "interrupted: stopping what was started"
    assert_eq "...and leaves no process" "" "$(kig_processes)"
    "$KIG" status --data-dir "$D" >/dev/null 2>&1
    assert_eq "...and kig status says not running" 1 $?
}

check_foreground() {
    local from
    from=$(($(wc -l <"$D/logs/kig.log") + 1))
    "$KIG" up --control-plane-only --foreground --data-dir "$D" >"$W/fg.out" 2>&1 &
    local fg=$!
    check "kig up --foreground brings the cluster up and stays" \
        wait_for 300 grep -q "running in the foreground" "$W/fg.out"
    check "...attached (its process is still there)" kill -0 "$fg"
    check_objects "in the foreground"
    kill -TERM "$fg"
    wait "$fg"
    assert_eq "kig up --foreground exits 0 after SIGTERM" 0 $?
    assert_eq "...having stopped every process" "" "$(kig_processes)"
    local order
    order=$(tail -n +"$from" "$D/logs/kig.log" | grep -o 'stopping [a-z-]* (pid' | awk '{print $2}' | tr '\n' ' ')
    assert_eq "...in order" "kube-scheduler kube-controller-manager kube-apiserver etcd " "$order"
}

inside() {
    W=$1
    D=$W/data
    export KUBECONFIG=$D/kubeconfig/admin.kubeconfig
    RECOVERY=""
    check "kig up --control-plane-only" "$KIG" up --control-plane-only --data-dir "$D"
    check "create a ConfigMap" kc create configmap app-config --from-literal=color=blue
    check "create a Secret" kc create secret generic app-secret --from-literal=password=s3cr3t
    check "create a Deployment" kc create deployment web --image=registry.k8s.io/pause:3.2 --replicas=2
    for c in etcd kube-apiserver kube-controller-manager kube-scheduler; do
        kill_and_recover "$c"
    done
    echo "# recovery times:$RECOVERY"
    check "the controller-manager still works: it makes a ReplicaSet for a new Deployment" sh -c \
        "'$KUBECTL' create deployment after --image=registry.k8s.io/pause:3.2 && until '$KUBECTL' get rs -l app=after -o name | grep -q .; do sleep 1; done"
    check_supervisor_killed
    check_interrupted_up
    check_foreground
    check "kig down --purge" "$KIG" down --purge --data-dir "$D"
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
make_work_dir kig-test-cp-recovery
in_bed --timeout 2400 -- bash "$0" --inside "$work"
rc=$?
assert_eq "every check inside gVisor passed" 0 "$rc"
finish
