#!/usr/bin/env bash
# CI's fuzz smoke run (docs/FUZZING.md): builds the fuzz targets (nightly + cargo-fuzz) and runs
# each for SECONDS from its seed corpus; any crash, accepted tampered proof, timeout or RSS
# blow-up fails. Skips, with a message, when no nightly toolchain is installed.
# Usage: bash fuzz/smoke.sh [SECONDS_PER_TARGET] [ZKINFER_BINARY_FOR_FIXTURES]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-30}"
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz smoke: skipped (no nightly toolchain; cargo-fuzz needs one)"
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz@0.13.2
fi
bash fuzz/make_fixtures.sh ${2:+"$2"}
# No sanitizer here: the workspace denies `unsafe` (one reviewed exception, the read-only mmap
# of a model file), so AddressSanitizer mostly watches dependencies, and it makes this
# from-scratch build and the short runs slower; panics, timeouts and RSS blow-ups are caught
# without it. The hour-long campaigns of docs/FUZZING.md build with it (cargo-fuzz's default).
cargo +nightly fuzz build -O --debug-assertions -s none
BIN=fuzz/target/x86_64-unknown-linux-gnu/release
mkdir -p fuzz/artifacts fuzz/logs
for t in $(cargo +nightly fuzz list); do
  mkdir -p "fuzz/corpus/$t"
  log="fuzz/logs/smoke-$t.log"
  if ! "$BIN/$t" "fuzz/corpus/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
      -max_len=1048576 -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t-" > "$log" 2>&1; then
    echo "fuzz smoke: $t FAILED"
    tail -40 "$log"
    exit 1
  fi
  echo "fuzz smoke: $t clean, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}') executions in ${SECS} s"
done
echo "fuzz smoke: every target ran ${SECS} s without a finding"
