#!/usr/bin/env bash
# Benchmarks (not tests): native CPU, wasm CPU in Chromium (both modules), WebGPU in Chromium,
# the cold load to the first denoised panel with what it downloads, and the modules' sizes.
# Medians over BENCH_RUNS runs (default 30 native, 15 browser) and BENCH_LOADS cold loads (7).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
bash scripts/build.sh >/dev/null

out=$(mktemp)
echo "== native (cargo bench --bench native) ==" >&2
cargo bench --bench native 2>&1 >>"$out" | grep -v '^\s*\(Compiling\|Finished\|Running\)' >&2 || true
echo "== headless Chromium ==" >&2
node bench/browser.mjs >>"$out"

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
    if (r.target === "first-panel") continue;
    console.log(`| ${r.target} | ${r.train_step_64_ms} | ${r.denoise_256_ms} | ${r.runs} |`);
  }
  for (const l of lines) {
    const r = JSON.parse(l);
    if (r.target !== "first-panel") continue;
    console.log(`\nCold load of bench/first-panel.html to the first denoised panel: median ${r.first_panel_ms} ms over ${r.loads} loads; downloaded before it: ${r.files} files, ${(r.gzip_bytes / 1048576).toFixed(2)} MiB gzipped (${(r.raw_bytes / 1048576).toFixed(2)} MiB raw).`);
  }' "$out"
echo
echo "| file | raw | gzip -9 |"
echo "|---|---|---|"
for f in www/pkg-cpu/mnist_dae_bg.wasm www/pkg-cpu/mnist_dae.js www/pkg/mnist_dae_bg.wasm www/pkg/mnist_dae.js; do
  echo "| $f | $(( $(stat -c %s "$f") / 1024 )) KiB | $(( $(gzip -9 -c "$f" | wc -c) / 1024 )) KiB |"
done
rm -f "$out"
