#!/usr/bin/env bash
# `kig up --control-plane-only` inside gVisor, used only through kubectl (a client that is not part of kig):
# the API works (namespaces, a Deployment, a ConfigMap, a Secret, a CRD, server-side apply dry-run), the
# controller-manager and the scheduler do their jobs, RBAC denies a restricted user until a RoleBinding,
# the status/logs/kubeconfig subcommands work, `kig down` leaves no process and no mount, and a second
# `kig up` brings back every object; `kig down --purge` removes the data dir.
#
# Everything runs in one sandbox: this script re-runs itself there with --inside.
. "$(dirname "$0")/lib.sh"
require_root

KUBECTL=${KIG_KUBECTL:-$(command -v kubectl || echo /usr/bin/kubectl)}
export KUBECTL

kc() { "$KUBECTL" --request-timeout=30s "$@"; }
as_alice() { "$KUBECTL" --request-timeout=30s --kubeconfig "$W/alice.kubeconfig" "$@"; }
no_cluster_processes() { [ -z "$(kig_processes)" ]; }
has_output() { [ -n "$("$@" 2>/dev/null)" ]; }

create_objects() {
    check "kubectl creates a Deployment" kc create deployment web --image=registry.k8s.io/pause:3.2 --replicas=2
    check "kubectl creates a ConfigMap" kc create configmap app-config --from-literal=color=blue
    check "kubectl creates a Secret" kc create secret generic app-secret --from-literal=password=s3cr3t
    cat >"$W/crd.yaml" <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
YAML
    check "kubectl creates a CRD" kc apply -f "$W/crd.yaml"
    check "the CRD becomes established" kc wait --for=condition=Established --timeout=60s crd/widgets.example.com
    cat >"$W/widget.yaml" <<'YAML'
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: 3}
YAML
    check "kubectl creates a custom resource" kc apply -f "$W/widget.yaml"
    cat >"$W/dry.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: dry-only}
data: {k: v}
YAML
    local out
    out=$(kc apply --server-side --dry-run=server -f "$W/dry.yaml" 2>&1)
    assert_contains "kubectl apply --server-side --dry-run=server is accepted" "$out" "serverside-applied (server dry run)"
    check_fails "...and the dry run created nothing" kc get configmap dry-only
}

check_objects() { # WHEN
    assert_eq "$1: the ConfigMap is there" blue "$(kc get configmap app-config -o jsonpath='{.data.color}' 2>&1)"
    assert_eq "$1: the Secret is there" s3cr3t \
        "$(kc get secret app-secret -o jsonpath='{.data.password}' 2>&1 | base64 -d 2>&1)"
    assert_eq "$1: the Deployment is there" 2 "$(kc get deployment web -o jsonpath='{.spec.replicas}' 2>&1)"
    assert_eq "$1: the custom resource is there" 3 "$(kc get widget w1 -o jsonpath='{.spec.size}' 2>&1)"
}

check_controllers() {
    check "the controller-manager creates the Deployment's ReplicaSet" \
        wait_for 120 has_output kc get replicasets -l app=web -o name
    check "the controller-manager creates its pods" wait_for 120 has_output kc get pods -l app=web -o name
    # No node exists, so the scheduler can only say so: that event proves it watches and decides.
    check "the scheduler reports the pods unschedulable (no nodes)" \
        wait_for 120 has_output kc get events --field-selector reason=FailedScheduling -o name
    check "the token controller gives the default service account a token" \
        wait_for 120 has_output kc get serviceaccount default -o jsonpath='{.secrets[0].name}'
}

check_security() {
    local pki=$D/pki code etcd_port
    code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$pki/ca.crt" https://127.0.0.1:6443/api)
    assert_eq "anonymous requests are refused (401)" 401 "$code"
    check_fails "there is no insecure HTTP port" curl -s --max-time 5 http://127.0.0.1:8080/api
    etcd_port=$("$KIG" status --json --data-dir "$D" | json_get - '[c["port"] for c in d["components"] if c["name"]=="etcd"][0]')
    check "etcd answers its own client cert" curl -sf --max-time 10 --cacert "$pki/etcd-ca.crt" \
        --cert "$pki/apiserver-etcd-client.crt" --key "$pki/apiserver-etcd-client.key" "https://127.0.0.1:$etcd_port/health"
    check_fails "etcd refuses a cluster-CA client cert (admin)" curl -sf --max-time 10 --cacert "$pki/etcd-ca.crt" \
        --cert "$pki/admin.crt" --key "$pki/admin.key" "https://127.0.0.1:$etcd_port/health"
    check_fails "etcd refuses a client without a cert" curl -sf --max-time 10 --cacert "$pki/etcd-ca.crt" \
        "https://127.0.0.1:$etcd_port/health"
    assert_eq "every file in pki/ is 0600" "" "$(find "$pki" -type f ! -perm 0600)"
    assert_eq "kubeconfigs are 0600" "" "$(find "$D/kubeconfig" -type f ! -perm 0600)"
}

check_rbac() {
    check "kig kubeconfig --user alice --group dev mints a kubeconfig" \
        sh -c "'$KIG' kubeconfig --data-dir '$D' --user alice --group dev >'$W/alice.kubeconfig'"
    assert_eq "alice may not list pods before a RoleBinding" no "$(as_alice auth can-i list pods -n default 2>&1)"
    local out
    out=$(as_alice get pods -n default 2>&1)
    assert_contains "a real request by alice is Forbidden" "$out" 'User "alice" cannot list resource "pods"'
    check "the admin binds the view role to group dev" \
        kc create rolebinding dev-view --clusterrole=view --group=dev -n default
    check "alice may list pods after the RoleBinding" wait_for 30 as_alice get pods -n default
    assert_eq "auth can-i agrees" yes "$(as_alice auth can-i list pods -n default 2>&1)"
    assert_contains "alice reads ConfigMaps in default" "$(as_alice get configmaps -n default 2>&1)" app-config
    assert_eq "alice is still denied in kube-system" no "$(as_alice auth can-i list pods -n kube-system 2>&1)"
    assert_eq "view does not include Secrets" no "$(as_alice auth can-i get secrets -n default 2>&1)"
}

check_subcommands() {
    local out rc
    out=$("$KIG" status --data-dir "$D" 2>&1)
    rc=$?
    assert_eq "kig status exits 0 when up" 0 "$rc"
    assert_contains "kig status lists the apiserver" "$out" kube-apiserver
    out=$("$KIG" status --json --data-dir "$D")
    assert_eq "status --json: running and ready" "true true" \
        "$(json_get - 'str(d["running"]).lower() + " " + str(d["ready"]).lower()' <<<"$out")"
    assert_eq "status --json: four components, each with a pid and ready" "4 4" \
        "$(json_get - 'str(len(d["components"])) + " " + str(len([c for c in d["components"] if c["pid"] > 0 and c["ready"]]))' <<<"$out")"
    assert_contains "kig logs kube-apiserver shows its log" "$("$KIG" logs kube-apiserver --data-dir "$D")" \
        "Serving securely on 127.0.0.1:6443"
    out=$("$KIG" up --control-plane-only --data-dir "$D" 2>&1)
    rc=$?
    assert_eq "a second kig up exits 0" 0 "$rc"
    assert_contains "...and says the cluster is already up" "$out" "is already up"
    check "kig kubeconfig prints a working admin kubeconfig" \
        sh -c "'$KIG' kubeconfig --data-dir '$D' >'$W/printed.kubeconfig' && '$KUBECTL' --kubeconfig '$W/printed.kubeconfig' get ns default"
    mkdir -p "$W/home"
    check "kig kubeconfig --merge adds a context to ~/.kube/config" \
        env HOME="$W/home" KUBECONFIG= "$KIG" kubeconfig --merge --data-dir "$D"
    check "kubectl --context kig works with the merged config" \
        env HOME="$W/home" KUBECONFIG= "$KUBECTL" --context kig get ns default
}

inside() {
    W=$1
    D=$W/data
    local out err rc mounts_before uid ca_sum logs_pid
    mounts_before=$(mount_snapshot)

    out=$("$KIG" up --control-plane-only --data-dir "$D" 2>"$W/up1.err")
    rc=$?
    err=$(cat "$W/up1.err")
    assert_eq "kig up --control-plane-only exits 0" 0 "$rc"
    echo "# first kig up: $(grep -o 'ready in [0-9.]*s' <<<"$out")"
    assert_contains "it prints how to use the kubeconfig" "$out" "export KUBECONFIG=$D/kubeconfig/admin.kubeconfig"
    assert_contains "progress (on a pipe) shows etcd ready" "$err" "] etcd ready"
    assert_contains "progress shows the apiserver ready" "$err" "] kube-apiserver ready"
    assert_contains "progress shows the default service account" "$err" "the default service account has its token"
    export KUBECONFIG=$D/kubeconfig/admin.kubeconfig
    for ns in default kube-system kube-public kube-node-lease; do
        assert_contains "kubectl get ns lists $ns" "$(kc get ns -o name 2>&1)" "namespace/$ns"
    done
    assert_contains "the system priority classes exist" "$(kc get priorityclasses -o name 2>&1)" system-node-critical
    out=$("$KIG" up --data-dir "$D" 2>&1)
    rc=$?
    assert_eq "kig up (a node) on this control-plane-only cluster fails" 1 "$rc"
    assert_contains "...with one line telling what to run" "$out" \
        "holds a control-plane-only cluster: run 'kig up --control-plane-only'"

    create_objects
    check_objects "while up"
    check_controllers
    check_security
    check_rbac
    check_subcommands

    ("$KIG" logs etcd -f --data-dir "$D" >"$W/etcd-follow.log" 2>&1; echo $? >"$W/follow.rc") &
    logs_pid=$!
    uid=$(json_get "$D/cluster.json" 'd["uid"]')
    ca_sum=$(sha256sum <"$D/pki/ca.crt")
    out=$("$KIG" down --data-dir "$D" 2>&1)
    rc=$?
    assert_eq "kig down exits 0" 0 "$rc"
    assert_contains "...and says the cluster stopped" "$out" "cluster 'kig' stopped"
    check "kig logs -f ends when the supervisor goes away" wait_for 10 test -e "$W/follow.rc"
    wait "$logs_pid"
    assert_eq "no kig, etcd or kube-* process is left" "" "$(kig_processes)"
    assert_eq "no mount was left behind" "$mounts_before" "$(mount_snapshot)"
    assert_contains "...after following etcd's log" "$(cat "$W/etcd-follow.log")" "serving client traffic securely"
    "$KIG" status --data-dir "$D" >/dev/null 2>&1
    assert_eq "kig status exits 1 when the cluster is down" 1 $?

    out=$("$KIG" up --control-plane-only --data-dir "$D" 2>"$W/up2.err")
    rc=$?
    assert_eq "kig up again exits 0" 0 "$rc"
    echo "# second kig up: $(grep -o 'ready in [0-9.]*s' <<<"$out")"
    assert_contains "...reusing the certificates" "$(cat "$W/up2.err")" "certificates verified"
    assert_eq "the cluster identity is unchanged" "$uid" "$(json_get "$D/cluster.json" 'd["uid"]')"
    assert_eq "the CA is unchanged" "$ca_sum" "$(sha256sum <"$D/pki/ca.crt")"
    check_objects "after kig down and up"
    check "the RoleBinding survived too" kc get rolebinding dev-view -n default

    out=$("$KIG" down --purge --data-dir "$D" 2>&1)
    rc=$?
    assert_eq "kig down --purge exits 0" 0 "$rc"
    check_fails "...and deletes the data dir" test -e "$D"
    assert_eq "no process is left after the purge" "" "$(kig_processes)"
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
make_work_dir kig-test-cp
in_bed --timeout 1500 -- bash "$0" --inside "$work"
rc=$?
assert_eq "every check inside gVisor passed" 0 "$rc"
finish
