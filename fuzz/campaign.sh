#!/usr/bin/env bash
# Runs fuzz targets one after another, SECONDS each, one libFuzzer process (one core), and
# appends one line per run to fuzz/campaign.log: date, target, seconds, executions, coverage,
# corpus size, and the result (clean, or the artifact of a finding).
# Usage: bash fuzz/campaign.sh SECONDS TARGET...   (after `bash fuzz/make_fixtures.sh` and
#        `cargo +nightly fuzz build -O --debug-assertions`)
set -uo pipefail
cd "$(dirname "$0")/.."
SECS="$1"; shift
BIN=fuzz/target/x86_64-unknown-linux-gnu/release
mkdir -p fuzz/artifacts fuzz/logs
for t in "$@"; do
  mkdir -p "fuzz/corpus/$t"
  log="fuzz/logs/$t-$(date -u +%Y%m%dT%H%M%S).log"
  start=$(date -u +%FT%TZ)
  "$BIN/$t" "fuzz/corpus/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
    -max_len=1048576 -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t-" > "$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}')
  done_line=$(grep -E '#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
  cov=$(echo "$done_line" | grep -o 'cov: [0-9]*' | awk '{print $2}')
  corp=$(echo "$done_line" | grep -o 'corp: [0-9]*' | awk '{print $2}')
  if [ "$rc" -eq 0 ]; then
    result=clean
  else
    result="FINDING rc=$rc $(grep -o 'Test unit written to [^ ]*' "$log" | tail -1)"
  fi
  echo "$start $t ${SECS}s execs=${execs:-?} cov=${cov:-?} corpus=${corp:-?} $result" >> fuzz/campaign.log
done
