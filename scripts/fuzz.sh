#!/usr/bin/env bash
# Long fuzzing campaign: scripts/fuzz.sh MINUTES
# Runs the model fuzzer (core/tests/fuzz_model.rs) and the decoder targets
# (core/tests/decoders.rs) in release, in rounds of random seeds, until
# MINUTES have passed. Prints executions per round and a total; every
# failing or hanging input is saved to core/tests/fuzz-regressions/found/
# (move it to fuzz-regressions/model/ with a fix to make it a regression case).
set -uo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-60}
round_ms=${ROUND_MS:-120000}
found="$PWD/core/tests/fuzz-regressions/found"
mkdir -p "$found"
log_dir=${FUZZ_LOG_DIR:-/tmp/axon-fuzz}
mkdir -p "$log_dir"
cargo test --release -p axon-core --test fuzz_model --test decoders --no-run >/dev/null 2>&1 || { echo "build failed"; exit 1; }
end=$(( $(date +%s) + minutes * 60 ))
total=0; findings=0; round=0
while [ "$(date +%s)" -lt "$end" ]; do
  round=$((round + 1))
  left=$(( (end - $(date +%s)) * 1000 ))
  ms=$(( left < round_ms ? left : round_ms ))
  [ "$ms" -lt 1000 ] && break
  for t in fuzz_model decoders; do
    out="$log_dir/round-$round-$t.log"
    budget=$ms; [ "$t" = decoders ] && budget=$(( ms / 10 ))
    AXON_FUZZ_FINDINGS="$found" ARBTEST_BUDGET_MS=$budget timeout $(( budget / 1000 * 12 + 300 )) \
      cargo test --release -q -p axon-core --test "$t" -- --nocapture >"$out" 2>&1
    rc=$?
    n=$(grep -o '[0-9]* executions' "$out" | awk '{s+=$1} END {print s+0}')
    total=$((total + n))
    if [ $rc -ne 0 ]; then
      findings=$((findings + 1))
      echo "round $round $t: FINDING (rc $rc), log $out"; grep -m3 -A3 'panicked at\|Seed' "$out"
      [ $rc -eq 124 ] && for c in "$found"/*.current; do [ -e "$c" ] && mv "$c" "${c%.current}-hang-$round.bin"; done
    fi
    echo "round $round $t: $n executions (total $total)"
  done
done
echo "fuzz: $total executions in $round rounds, $findings findings; saved inputs in $found"
