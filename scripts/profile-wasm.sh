#!/usr/bin/env bash
# Where a wasm train step spends its time in Chromium, per Rust function: builds the CPU-only
# module with its function names kept (release profile, `wasm-bindgen --keep-debug`, no wasm-opt,
# which would inline small functions away and drop the names) into www/pkg-profile/, then runs
# bench/wasm-profile.mjs (Chrome DevTools' sampling profiler over PROFILE_STEPS train steps).
# Mark a function `#[inline(never)]` to see it on its own line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=www/pkg-profile
cargo build --release --target wasm32-unknown-unknown --lib
target_dir=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
rm -rf "$out"
wasm-bindgen --target web --keep-debug --out-dir "$out" "$target_dir/wasm32-unknown-unknown/release/mnist_dae.wasm"
node bench/wasm-profile.mjs
