#!/bin/sh
# run-fuzz.sh FUZZER SEED_DIR SECONDS: runs one libFuzzer target for SECONDS, starting from the checked-in
# seeds. New inputs go to a corpus directory in the build tree, never into the source tree.
set -eu
fuzzer=$1 seeds=$2 seconds=$3
corpus="$(dirname "$fuzzer")/corpus-$(basename "$fuzzer")"
mkdir -p "$corpus"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$corpus" "$seeds"
