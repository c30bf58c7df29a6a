#!/usr/bin/env bash
# The test bed itself: every other integration test trusts what it reports.
. "$(dirname "$0")/lib.sh"
require_root

out=$(in_bed -- uname -r)
assert_eq "bed runs the command inside gVisor (uname 4.4.0)" "4.4.0" "$out"

in_bed -- sh -c 'exit 7'
assert_eq "bed returns the command's exit code" 7 $?

err=$(in_bed -- sh -c 'echo to-stderr >&2' 2>&1 >/dev/null)
assert_eq "bed passes stderr through" "to-stderr" "$err"

out=$(in_bed -- sh -c 'i=0; while [ $i -lt 5000 ]; do echo line$i; i=$((i+1)); done' | wc -l)
assert_eq "bed keeps every line of a long output" 5000 "$out"

in_bed -- sh -c 'kill -9 $$'
assert_eq "a command killed by a signal reports 128+signal" 137 $?

before=$(ps -eo comm= | grep -c '^runsc' || true)
in_bed --timeout 3 -- sleep 60 2>/dev/null
assert_eq "bed enforces its timeout with exit 124" 124 $?
sleep 1
after=$(ps -eo comm= | grep -c '^runsc' || true)
assert_eq "a timed-out sandbox leaves no runsc process" "$before" "$after"

out=$(KIG_BED_PROBE=passed in_bed -- sh -c 'echo $KIG_BED_PROBE; pwd')
assert_eq "environment and working directory reach the command" "passed
$PWD" "$out"

out=$(in_bed --net -- sh -c 'ip -4 -o addr show | grep -v " lo " | wc -l; iptables-legacy -t nat -S >/dev/null && echo nat')
assert_eq "--net gives a non-loopback interface and iptables tables (--net-raw)" "1
nat" "$out"

out=$(in_bed -- sh -c 'ip -4 -o addr show | grep -v " lo " | wc -l')
assert_eq "default sandbox has loopback only" 0 "$out"

finish
