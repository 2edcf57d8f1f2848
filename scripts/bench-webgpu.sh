#!/usr/bin/env bash
# What stands between burn-wgpu and the adapter's speed on this model: builds the module with
# `probe_webgpu_ops` (feature `webgpu-probe`; release, no wasm-opt) into www/pkg-probe/, then
# runs bench/webgpu-ceiling.mjs in headless Chromium: hand-tiled WGSL GEMMs for one 32 → 32
# convolution at batch 64, then burn-wgpu's kernels for each layer of the model (forward, and
# forward + backward) and for the same GEMM.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
out=www/pkg-probe
cargo build --release --target wasm32-unknown-unknown --lib --features webgpu-probe
target_dir=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
rm -rf "$out"
wasm-bindgen --target web --out-dir "$out" "$target_dir/wasm32-unknown-unknown/release/mnist_dae.wasm"
node bench/webgpu-ceiling.mjs
