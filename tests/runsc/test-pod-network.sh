#!/usr/bin/env bash
# Pod networking and Services in a real `kig up` cluster inside gVisor (tap strategy: kig-switch, netns
# holders): two pods on their own addresses exchange TCP and UDP both ways; three replicas of a server run on
# the same port at once (a Deployment, no hostNetwork); a ClusterIP Service balances across all three (round
# robin), its NodePort answers on the node address; cluster DNS answers Services, headless Services, pod
# hostnames and a-b-c-d.<ns>.pod names from inside a pod; after SIGKILL of kig-switch and of kig-proxy kig
# restarts them (the restarts counter) and pods reach each other and the Service again; `kubectl
# port-forward` reaches a pod's port from the node; `kig down` leaves no process and no mount.
#
# The pods run a static build of tests/kig-switch/netbench (a hostPath volume): busybox has no UDP netcat,
# and its static wget crashes in getaddrinfo. Everything runs in one sandbox: this script re-runs itself
# there with --inside.
. "$(dirname "$0")/lib.sh"
require_root

KUBECTL=${KIG_KUBECTL:-$(command -v kubectl || echo /usr/bin/kubectl)}
export KUBECTL
NETBENCH_SRC=$KIG_SOURCE_DIR/tests/kig-switch/netbench.c
IMAGE=localhost/kig/busybox:latest

kc() { "$KUBECTL" --request-timeout=60s "$@"; }
component_field() { # NAME FIELD
    "$KIG" status --json --data-dir "$D" | json_get - "[c[\"$2\"] for c in d[\"components\"] if c[\"name\"] == \"$1\"][0]"
}
pod_ip() { kc get pod "$1" -o jsonpath='{.status.podIP}'; }
# pexec POD CMD...: runs CMD in POD's only container; a hung exec ends after 90 s.
pexec() {
    local pod=$1
    shift
    timeout 90 "$KUBECTL" exec "$pod" -- "$@"
}
nb() { # POD NETBENCH-ARGS...
    local pod=$1
    shift
    pexec "$pod" timeout 20 /kb/netbench "$@"
}
# "name count" pairs of the first words of N hellos from POD to ADDR PORT
tally_hellos() { # POD ADDR PORT N
    local i
    for i in $(seq "$4"); do nb "$1" hello "$2" "$3" 2>&1 | awk '{print $1}'; done | sort | uniq -c | awk '{print $2, $1}'
}
distinct() { awk 'NF == 2 && $1 ~ /^echo-/' | wc -l; }
nslook() { # POD NAME: the addresses busybox nslookup prints for NAME (after the server's own lines)
    pexec "$1" nslookup "$2" 10.96.0.10 2>&1 | awk '/^Name:/ {n = 1} n && /^Address/ {print $NF}' | sort | tr '\n' ' ' | sed 's/ $//'
}
restart_component() { # NAME: SIGKILLs it, waits for kig to start it again and for it to be ready
    local name=$1 pid restarts
    pid=$(component_field "$name" pid)
    restarts=$(component_field "$name" restarts)
    kill -KILL "$pid"
    check "kig restarts $name after SIGKILL (restarts counter)" wait_for 90 sh -c \
        "[ \"\$('$KIG' status --json --data-dir '$D' | python3 -c 'import json,sys; d=json.load(sys.stdin); c=[c for c in d[\"components\"] if c[\"name\"]==\"$name\"][0]; print(c[\"restarts\"], c[\"ready\"], c[\"pid\"])')\" != '$restarts True $pid' ] &&
         '$KIG' status --json --data-dir '$D' | python3 -c 'import json,sys; d=json.load(sys.stdin); c=[c for c in d[\"components\"] if c[\"name\"]==\"$name\"][0]; sys.exit(0 if c[\"restarts\"] > $restarts and c[\"ready\"] and c[\"pid\"] != $pid else 1)'"
}

manifests() { # W
    cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  replicas: 3
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: echo
        image: $IMAGE
        imagePullPolicy: Never
        # the pod's name, passed in: the label must not depend on how the runtime sets the pod's hostname
        command: [sh, -c, 'exec /kb/netbench serve 8080 --udp --label \$POD_NAME']
        env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
        ports: [{containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 2}
        volumeMounts: [{name: kb, mountPath: /kb}]
      volumes: [{name: kb, hostPath: {path: $1/bin, type: Directory}}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: $IMAGE
    imagePullPolicy: Never
    command: [sh, -c, '/kb/netbench serve 7000 --udp --label client & exec sleep 100000']
    volumeMounts: [{name: kb, mountPath: /kb}]
  volumes: [{name: kb, hostPath: {path: $1/bin, type: Directory}}]
---
apiVersion: v1
kind: Pod
metadata: {name: named, labels: {app: named}}
spec:
  hostname: web
  subdomain: named-hl
  terminationGracePeriodSeconds: 1
  containers:
  - name: named
    image: $IMAGE
    imagePullPolicy: Never
    command: [sh, -c, 'exec /kb/netbench serve 8080 --label named']
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 2}
    volumeMounts: [{name: kb, mountPath: /kb}]
  volumes: [{name: kb, hostPath: {path: $1/bin, type: Directory}}]
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  type: NodePort
  selector: {app: echo}
  ports:
  - {name: tcp, port: 80, targetPort: 8080, protocol: TCP}
  - {name: udp, port: 80, targetPort: 8080, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: echo-hl}
spec:
  clusterIP: None
  selector: {app: echo}
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: named-hl}
spec:
  clusterIP: None
  selector: {app: named}
  ports: [{port: 8080}]
EOF
}

inside() {
    W=$1
    D=$W/data
    local out rc mounts_before
    mounts_before=$(mount_snapshot)

    out=$("$KIG" up --data-dir "$D" 2>"$W/up.err")
    rc=$?
    assert_eq "kig up exits 0" 0 "$rc"
    if [ "$rc" != 0 ]; then
        tail -5 "$W/up.err" | sed 's/^/#   /'
        finish
        return
    fi
    export KUBECONFIG=$D/kubeconfig/admin.kubeconfig
    assert_contains "kig chose the tap pod network" "$(cat "$D/logs/kig.log")" "pod network: tap"
    local sock=$D/node/containerd/containerd.sock
    check "the pause image loads" ctr -a "$sock" -n k8s.io images import "$W/images/kig-pause.oci.tar"
    check "the busybox image loads" ctr -a "$sock" -n k8s.io images import "$W/images/kig-busybox.oci.tar"

    manifests "$W" >"$W/manifests.yaml"
    check "the Deployment, pods and Services are created" kc apply -f "$W/manifests.yaml"
    check "three echo replicas, the client and the named pod become Ready" \
        kc wait --for=condition=Ready pod -l 'app in (echo, client, named)' --timeout=400s
    kc get pods -o wide | sed 's/^/#   /'
    local pods echo1 echo2 ip1 ip2 ipc ipn cluster_ip node_port
    pods=$(kc get pods -l app=echo -o jsonpath='{.items[*].metadata.name}')
    assert_eq "three echo pods" 3 "$(wc -w <<<"$pods")"
    echo1=$(awk '{print $1}' <<<"$pods")
    echo2=$(awk '{print $2}' <<<"$pods")
    ip1=$(pod_ip "$echo1")
    ip2=$(pod_ip "$echo2")
    ipc=$(pod_ip client)
    ipn=$(pod_ip named)
    assert_eq "the five pods have distinct addresses in the pod CIDR" 5 \
        "$(kc get pods -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}' | grep '^10\.244\.0\.' | sort -u | wc -l)"
    assert_eq "no pod uses the host network" "" \
        "$(kc get pods -o jsonpath='{range .items[*]}{.spec.hostNetwork}{end}')"

    # Pod to pod, both ways, TCP and UDP; the servers see the client pod's own address.
    assert_eq "TCP client -> echo replica 1 (seen from the client's address)" "$echo1 $ipc" "$(nb client hello "$ip1" 8080 2>&1)"
    assert_eq "TCP echo replica 1 -> client" "client $ip1" "$(nb "$echo1" hello "$ipc" 7000 2>&1)"
    assert_eq "UDP client -> echo replica 2" "$echo2 ping-2" "$(nb client udp "$ip2" 8080 ping-2 2>&1)"
    assert_eq "UDP echo replica 2 -> client" "client ping-c" "$(nb "$echo2" udp "$ipc" 7000 ping-c 2>&1)"
    assert_eq "TCP replica 1 -> replica 2 on the same port" "$echo2 $ip1" "$(nb "$echo1" hello "$ip2" 8080 2>&1)"
    # One second of sending, but what sits in both netstacks' socket buffers then (megabytes) drains at the
    # switch's pace, under a second on an idle node and over twenty on a loaded one: the check is that it
    # arrives whole, so the stream gets more time than nb's other calls.
    out=$(pexec client timeout 75 /kb/netbench stream "$ip2" 8080 1 2>&1)
    assert_contains "a bulk TCP stream between pods arrives whole" "$out" "stream_mbps="
    assert_eq "the node reaches a pod" "$echo1 10.244.0.1" "$(timeout 20 "$W/bin/netbench" hello "$ip1" 8080 2>&1)"

    # Services
    cluster_ip=$(kc get svc echo -o jsonpath='{.spec.clusterIP}')
    node_port=$(kc get svc echo -o jsonpath='{.spec.ports[0].nodePort}')
    check "the echo Service has three endpoints" wait_for 60 sh -c \
        "[ \$('$KUBECTL' get endpoints echo -o jsonpath='{.subsets[*].addresses[*].ip}' | wc -w) = 3 ]"
    check "kig-proxy serves the ClusterIP" wait_for 60 sh -c "timeout 5 '$W/bin/netbench' hello $cluster_ip 80"
    out=$(tally_hellos client "$cluster_ip" 80 6)
    assert_eq "6 TCP connections to the ClusterIP from a pod reach all three replicas, two each (round robin)" \
        "3 2 2 2" "$(distinct <<<"$out") $(awk '{print $2}' <<<"$out" | tr '\n' ' ' | sed 's/ $//')"
    [ "$(distinct <<<"$out")" = 3 ] || echo "$out" | sed 's/^/#   /'
    out=$(for i in 1 2 3; do nb client udp "$cluster_ip" 80 "u$i" 2>&1 | awk '{print $1}'; done | sort -u | grep -c '^echo-')
    assert_eq "UDP to the ClusterIP from a pod (three flows) reaches three replicas" 3 "$out"
    out=$(for i in 1 2 3; do timeout 20 "$W/bin/netbench" hello 10.200.0.1 "$node_port" 2>&1 | awk '{print $1}'; done | sort -u | grep -c '^echo-')
    assert_eq "the NodePort answers on the node address, from every replica" 3 "$out"
    # The apiserver binds 127.0.0.1 only and so publishes no endpoint for the kubernetes Service: kig-proxy
    # serves it from --kubernetes-endpoint, which `kig up` has to pass.
    if tr '\0' ' ' <"/proc/$(component_field kig-proxy pid)/cmdline" | grep -q -- --kubernetes-endpoint; then
        out=$(pexec client sh -c "printf 'x' | nc -w 5 10.96.0.1 443 >/dev/null 2>/dev/null; echo \$?" 2>&1)
        assert_eq "a pod connects to the kubernetes Service (10.96.0.1:443)" 0 "$out"
    else
        echo "ok - a pod connects to the kubernetes Service # SKIP kig up does not pass kig-proxy --kubernetes-endpoint"
    fi

    # DNS from a pod
    assert_eq "DNS: the Service name gives the ClusterIP" "$cluster_ip" "$(nslook client echo.default.svc.cluster.local)"
    assert_eq "DNS: the headless Service gives the three replicas" \
        "$(kc get pods -l app=echo -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}' | sort | tr '\n' ' ' | sed 's/ $//')" \
        "$(nslook client echo-hl.default.svc.cluster.local)"
    assert_eq "DNS: a pod's hostname.subdomain" "$ipn" "$(nslook client web.named-hl.default.svc.cluster.local)"
    assert_eq "DNS: a-b-c-d.default.pod.cluster.local" "$ip1" "$(nslook client "${ip1//./-}.default.pod.cluster.local")"
    # The search path: kubelet's resolv.conf for the pod, kig-proxy's NXDOMAIN for the names tried before the
    # right one. busybox's nslookup applies the search list only to names without a dot (it ignores ndots),
    # so a dotted short name goes through the C library's resolver (netbench resolve: getaddrinfo), which
    # with ndots:5 tries echo.default.default.svc.cluster.local (NXDOMAIN) before echo.default.svc.cluster.local.
    assert_contains "the pod's /etc/hosts names the pod" \
        "$(pexec client cat /etc/hosts 2>&1)" "$ipc	client"
    out=$(pexec client cat /etc/resolv.conf 2>&1)
    assert_contains "the pod's resolv.conf searches its namespace's Service domain" "$out" "search default.svc.cluster.local svc.cluster.local cluster.local"
    assert_eq "DNS: the search path of the pod's resolv.conf (echo.default, C library resolver)" "$cluster_ip" \
        "$(nb client resolve echo.default 2>&1 | sort -u | tr '\n' ' ' | sed 's/ $//')"
    assert_eq "DNS: the search path for a single label (busybox nslookup echo)" "$cluster_ip" \
        "$(pexec client sh -c 'nslookup echo 2>&1' | awk '/^Name:/ {n = 1} n && /^Address/ {print $NF}' | sort -u | tr '\n' ' ' | sed 's/ $//')"
    assert_eq "DNS: a name outside the cluster without upstream is NXDOMAIN, not a hang" 1 \
        "$(nb client resolve no-such-name.invalid >/dev/null 2>&1; echo $?)"
    assert_eq "a pod connects to a Service by its DNS name's address" "named $ipc" "$(nb client hello "$ipn" 8080 2>&1)"

    # kubectl port-forward into a pod's own network namespace: containerd's setns and its connect to
    # localhost:PORT are done by kig-trace's netns-enter rule (docs/tracer.md), so the pod's server sees the
    # node's address on kig0.
    kc port-forward "pod/$echo1" 18080:8080 >"$W/port-forward.log" 2>&1 &
    local pf=$!
    check "kubectl port-forward listens on the node" wait_for 60 grep -q "Forwarding from 127.0.0.1:18080" "$W/port-forward.log"
    assert_eq "kubectl port-forward reaches the pod's port 8080" "$echo1 10.244.0.1" \
        "$(timeout 30 "$W/bin/netbench" hello 127.0.0.1 18080 2>&1)"
    assert_eq "kubectl port-forward: a second connection" "$echo1 10.244.0.1" \
        "$(timeout 30 "$W/bin/netbench" hello 127.0.0.1 18080 2>&1)"
    kill "$pf" 2>/dev/null
    wait "$pf" 2>/dev/null

    # Restarts
    restart_component kig-switch
    assert_eq "after the switch's restart: pod -> pod" "$echo1 $ipc" "$(nb client hello "$ip1" 8080 2>&1)"
    assert_eq "after the switch's restart: pod -> pod, UDP" "$echo2 again" "$(nb client udp "$ip2" 8080 again 2>&1)"
    assert_eq "after the switch's restart: pod -> ClusterIP" echo "$(nb client hello "$cluster_ip" 80 2>&1 | cut -c1-4)"
    assert_eq "after the switch's restart: node -> pod" "$echo2 10.244.0.1" "$(timeout 20 "$W/bin/netbench" hello "$ip2" 8080 2>&1)"

    restart_component kig-proxy
    check "after kig-proxy's restart: the ClusterIP answers the node" wait_for 60 sh -c "timeout 5 '$W/bin/netbench' hello $cluster_ip 80"
    out=$(tally_hellos client "$cluster_ip" 80 3)
    assert_eq "after kig-proxy's restart: a pod reaches all three replicas through the ClusterIP" 3 "$(distinct <<<"$out")"
    assert_eq "after kig-proxy's restart: DNS answers a pod" "$cluster_ip" "$(nslook client echo.default.svc.cluster.local)"
    assert_eq "after kig-proxy's restart: NodePort" echo "$(timeout 20 "$W/bin/netbench" hello 10.200.0.1 "$node_port" 2>&1 | cut -c1-4)"

    kc delete -f "$W/manifests.yaml" --wait=false >/dev/null 2>&1
    assert_down_leaves_nothing "$D" "$mounts_before"
    assert_eq "no netbench or holder process is left" "" "$(ps -eo pid=,comm= | awk '$2 ~ /^(netbench|sleep|pause|kig-pause)$/' || true)"
    finish
}

if [ "${1:-}" = --inside ]; then
    inside "$2"
    exit
fi

require_programs "apt-get install etcd-server containerd kubernetes-client busybox-static; scripts/build-kubernetes.sh" \
    /usr/bin/etcd /usr/bin/containerd /usr/bin/ctr "${KIG_K8S_BIN_DIR:-/var/cache/kig/kubernetes-1.20.2/bin}/kubelet" \
    "$KUBECTL" /bin/busybox
make_work_dir kig-test-pod-network
mkdir -p "$work/bin" "$work/images"
# (the linker's warning that a static getaddrinfo wants glibc's NSS modules at run time is expected: the
# busybox image has none, and glibc >= 2.34 resolves DNS without them)
${CC:-cc} -static -O2 -pthread -D_GNU_SOURCE -o "$work/bin/netbench" "$NETBENCH_SRC" 2>"$work/netbench-cc.log" ||
    { sed 's/^/# /' "$work/netbench-cc.log"; echo "# cannot build a static netbench (libc.a missing?)"; exit 77; }
"$KIG_SOURCE_DIR/scripts/build-images.sh" --pause "$KIG_BUILD_DIR/src/kig-pause/kig-pause" "$work/images" >/dev/null ||
    { echo "not ok - scripts/build-images.sh failed"; exit 1; }
in_bed --timeout 1400 -- bash "$0" --inside "$work"
rc=$?
assert_eq "every check inside gVisor passed" 0 "$rc"
finish
