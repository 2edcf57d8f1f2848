#!/usr/bin/env bash
# `npm run fuzz [SECONDS]`: runs each cargo-fuzz target (fuzz/: the weights loader, the compact
# MNIST reader) for SECONDS (default 60) on nightly, from the tracked seeds plus the shipped
# weights, and prints libFuzzer's totals. Installs cargo-fuzz from crates.io when missing.
# `cargo test` replays the tracked corpus without nightly (tests/corpus.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in weights mnst; do
  mkdir -p "$work/$target"
  cp fuzz/corpus/$target/* "$work/$target/"
  [[ $target == weights ]] && cp www/pretrained/mnist-dae.safetensors "$work/$target/seed-shipped"
  echo "== fuzz $target for ${seconds} s =="
  status=0
  (cd fuzz && cargo +nightly fuzz run "$target" "$work/$target" -- -max_total_time="$seconds" -print_final_stats=1) \
    > "$work/$target.log" 2>&1 || status=$?
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)" "$work/$target.log" || true
  if [[ $status != 0 ]]; then
    tail -40 "$work/$target.log"
    echo "fuzz $target: failed (exit $status); the input is in fuzz/artifacts/$target/" >&2
    exit "$status"
  fi
done
