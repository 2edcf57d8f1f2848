#!/usr/bin/env bash
# Benchmarks (not tests): native CPU, wasm CPU in Chromium, WebGPU in Chromium, and the size of
# www/pkg/*.wasm raw and gzipped. Medians over BENCH_RUNS runs (default 30 native, 15 browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
bash scripts/build.sh >/dev/null

out=$(mktemp)
echo "== native (cargo bench --bench native) ==" >&2
cargo bench --bench native 2>&1 >>"$out" | grep -v '^\s*\(Compiling\|Finished\|Running\)' >&2 || true
echo "== headless Chromium ==" >&2
node bench/browser.mjs >>"$out"
wasm=www/pkg/mnist_dae_bg.wasm
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
js=$(cat www/pkg/mnist_dae.js | wc -c)

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem/{print $2}') GiB"
echo
echo "| target | train_step, batch 64 (median ms) | denoise, batch 256 (median ms) | runs |"
echo "|---|---|---|---|"
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.startsWith("{"));
  for (const l of lines) {
    const r = JSON.parse(l);
    if (r.skipped) { console.log(`| ${r.target} | skipped: ${r.skipped} | | |`); continue; }
    console.log(`| ${r.target} | ${r.train_step_64_ms} | ${r.denoise_256_ms} | ${r.runs} |`);
  }' "$out"
echo
echo "| file | raw | gzip -9 |"
echo "|---|---|---|"
echo "| $wasm | $(( raw / 1024 )) KiB | $(( gz / 1024 )) KiB |"
echo "| www/pkg/mnist_dae.js | $(( js / 1024 )) KiB | $(( $(gzip -9 -c www/pkg/mnist_dae.js | wc -c) / 1024 )) KiB |"
rm -f "$out"
