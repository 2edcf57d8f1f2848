#!/usr/bin/env bash
# Soak (a benchmark, not a test): bench/soak.mjs trains SOAK_STEPS (10,000) steps on the CPU-only
# module and SOAK_GPU_STEPS (500) on WebGPU in headless Chromium, sampling wasm memory, the JS
# heap and the browser processes' resident memory; prints the samples and each target's plateau.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
bash scripts/build.sh >/dev/null
node bench/soak.mjs
