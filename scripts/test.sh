#!/usr/bin/env bash
# Runs every suite: native engine tests (cargo), the package in Node 20, and the API in headless
# Chromium on the CPU and WebGPU backends. Installs whatever is missing first, builds pkg/ once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
bash scripts/build.sh

echo "== native engine tests (cargo test --release, CPU backend) =="
cargo test --release

echo "== Node 20: the built package on the CPU =="
node --test --test-reporter=spec tests/node/

echo "== headless Chromium: the API on CPU and WebGPU =="
node --test --test-concurrency=1 --test-reporter=spec tests/browser/
