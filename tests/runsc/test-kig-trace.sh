#!/usr/bin/env bash
# kig-trace inside real gVisor (ptrace platform: ptrace there is gVisor's own implementation). Runs the
# same checks as the host test (tests/kig-trace/check.sh) plus, with --gvisor, proof that each rule is
# needed: the probe fails in gVisor without it.
. "$(dirname "$0")/lib.sh"
require_root

KT=$KIG_BUILD_DIR/src/kig-trace/kig-trace
PROBES=$KIG_BUILD_DIR/tests/kig-trace
CHECK=$KIG_SOURCE_DIR/tests/kig-trace/check.sh
for f in "$KT" "$PROBES/probe-process"; do
    [ -x "$f" ] || { echo "# $f is not built: run ninja first"; exit 1; }
done

# The Go probe is built on the host: building inside the sandbox would only measure gVisor's compiler speed.
work=$(mktemp -d /tmp/kig-trace-runsc.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
goargs=()
if command -v go >/dev/null; then
    if (cd "$KIG_SOURCE_DIR/tests/kig-trace/goprobe" &&
        GOPATH=$work/gopath GO111MODULE=off GOCACHE=$work/gocache GOFLAGS= go build -o "$work/goprobe" .) >"$work/go.log" 2>&1; then
        goargs=(--goprobe "$work/goprobe")
    else
        _report fail "Go probe builds on the host" "$(cat "$work/go.log")"
    fi
fi

out=$(in_bed --timeout 900 -- "$CHECK" --gvisor --kig-trace "$KT" --probes "$PROBES" "${goargs[@]}" 2>&1)
rc=$?
while IFS= read -r line; do
    case "$line" in
    "ok - "*) _report ok "gVisor: ${line#ok - }" ;;
    "not ok - "*) _report fail "gVisor: ${line#not ok - }" ;;
    "#"*) echo "$line" ;;
    esac
done <<<"$out"
case "$out" in
*"kig-trace: "*" passed, "*) ;;
*) _report fail "check.sh ran to its end inside gVisor (exit $rc)" "$out" ;;
esac
finish
