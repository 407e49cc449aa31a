#!/usr/bin/env bash
# Bounded fuzzing of the parsers that face attackers (cargo-fuzz, libFuzzer):
# refresh-token opening, JWT decoding on the hardened path, cookie and
# X-Forwarded-For parsing, the bridge/refresh/logout JSON bodies. Prints
# executions and coverage per target (FUZZING.md keeps the reported runs).
#
#   FUZZ_SECONDS=600 scripts/fuzz.sh          # the benchmark-style run
#   FUZZ_SECONDS=10 scripts/fuzz.sh           # the CI smoke run (.ci/run)
#   FUZZ_TARGETS="jwt refresh_token" ...      # a subset
#
# This machine has only a stable toolchain. cargo-fuzz passes nightly-only
# rustc flags (-Z...) when building; RUSTC_BOOTSTRAP=1 lets the stable
# compiler accept them, and --sanitizer none skips AddressSanitizer (the
# crates under test are safe Rust; a panic or failed assertion is the crash).
# A crash leaves its input in fuzz/artifacts/<target>/ and fails this script:
# turn it into a regression test before fixing.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$version"; then
  echo "==> installing cargo-fuzz $version"
  cargo install --locked cargo-fuzz --version "$version"
fi

export RUSTC_BOOTSTRAP=1
# Instrumented builds never share a target dir with normal ones.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/fuzz}"
seconds="${FUZZ_SECONDS:-60}"
targets="${FUZZ_TARGETS:-$(cargo fuzz list --fuzz-dir fuzz)}"
logs="$CARGO_TARGET_DIR/fuzz-logs"
mkdir -p "$logs"

cargo fuzz build --fuzz-dir fuzz --sanitizer none
summary=()
for target in $targets; do
  corpus="$CARGO_TARGET_DIR/corpus/$target"
  mkdir -p "$corpus" "fuzz/seeds/$target"
  echo "==> fuzzing $target for ${seconds}s"
  if ! cargo fuzz run --fuzz-dir fuzz --sanitizer none "$target" "$corpus" "fuzz/seeds/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      >"$logs/$target.log" 2>&1; then
    tail -40 "$logs/$target.log"
    echo "fuzz target $target found a crash: see fuzz/artifacts/$target/" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$target.log" | grep -o '[0-9]*$' | tail -1)
  last=$(grep -E '^#[0-9]+' "$logs/$target.log" | tail -1)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  features=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  entries=$(find "$corpus" -type f | wc -l)
  summary+=("$(printf '%-16s %6ss %12s execs %8s edges %8s features %6s corpus' \
    "$target" "$seconds" "${runs:-?}" "${cov:-?}" "${features:-?}" "$entries")")
done
echo "==> fuzzing summary (no crashes)"
printf '%s\n' "${summary[@]}"
