#!/usr/bin/env bash
# The whole test suite, from a fresh Debian bookworm machine: installs dependencies, builds the Kubernetes
# components (cached in /var/cache/kig), builds kig with gcc, clang and ASan+UBSan, and runs
#   - unit tests under all three builds,
#   - the integration tests that run kig inside real gVisor (suite 'runsc') with the gcc build,
#   - the libFuzzer targets for a short while (clang build),
# then prints one closing line: "N passed, N failed".
#
#   scripts/test.sh [--no-deps] [--suite NAME]...
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
deps=1
suites=()
while [ $# -gt 0 ]; do
    case "$1" in
    --no-deps) deps=0 ;;
    --suite) suites+=("${2:?--suite needs a name}"); shift ;;
    *) echo "test.sh: error: unknown option '$1'; usage: scripts/test.sh [--no-deps] [--suite NAME]..." >&2; exit 2 ;;
    esac
    shift
done
[ ${#suites[@]} -gt 0 ] || suites=(unit runsc fuzz)
want() { local s; for s in "${suites[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

step() { printf '\n=== %s\n' "$*"; }
die() { echo "test.sh: error: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

if [ "$deps" = 1 ]; then
    step "dependencies"
    scripts/install-deps.sh || die "installing dependencies failed"
    step "Kubernetes v1.20.2 components (cached in ${KIG_CACHE:-/var/cache/kig})"
    scripts/build-kubernetes.sh || die "building the Kubernetes components failed"
fi

setup() { # DIR [meson options...]
    local dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
    fi
    ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -n 60 "$dir.build.log"; return 1; }
}

results=()
run_suite() { # BUILD_DIR SUITE [meson test options...]
    local dir=$1 suite=$2
    shift 2
    step "tests: suite '$suite' in $dir"
    meson test -C "$dir" --suite "$suite" --print-errorlogs --logbase "kig-$suite" "$@"
    results+=("$dir/meson-logs/kig-$suite.json")
}

build_failures=0
step "build: gcc"
CC=gcc setup build || build_failures=$((build_failures + 1))
step "build: clang"
CC=clang setup build-clang || build_failures=$((build_failures + 1))
step "build: gcc with ASan+UBSan"
CC=gcc setup build-asan -Db_sanitize=address,undefined -Db_lundef=false || build_failures=$((build_failures + 1))
if want fuzz; then
    step "build: clang with libFuzzer"
    CC=clang setup build-fuzz -Dfuzz=true -Db_lundef=false || build_failures=$((build_failures + 1))
fi

# ASan needs to report leaks and UB as failures, not warnings.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if want unit; then
    [ -f build/build.ninja ] && run_suite build unit
    [ -f build-clang/build.ninja ] && run_suite build-clang unit
    [ -f build-asan/build.ninja ] && run_suite build-asan unit
fi
if want runsc && [ -f build/build.ninja ]; then
    run_suite build runsc
fi
if want fuzz && [ -f build-fuzz/build.ninja ]; then
    run_suite build-fuzz fuzz
fi

step "summary"
python3 - "$build_failures" "${results[@]}" <<'PY'
import json, sys
build_failures = int(sys.argv[1])
passed = failed = skipped = 0
for path in sys.argv[2:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        print(f"missing test log {path}: counted as a failure")
        failed += 1
        continue
    for line in lines:
        t = json.loads(line)
        r = t.get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
            print(f"FAILED: {t.get('name')} ({r}) in {path.split('/meson-logs')[0]}")
if build_failures:
    print(f"{build_failures} build(s) failed")
failed += build_failures
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
