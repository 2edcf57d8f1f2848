#!/usr/bin/env bash
# Builds the WebAssembly package into pkg/ (ES module for --target web, with .d.ts), once:
# a stamp of the Rust sources lets every later call (each test suite, npm start) reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

stamp=$(cat Cargo.toml Cargo.lock .cargo/config.toml $(find src -type f | sort) | sha256sum | cut -c1-16)
if [[ -f pkg/.stamp && "$(cat pkg/.stamp)" == "$stamp" && -f pkg/mnist_dae_bg.wasm ]]; then
  echo "[build] pkg/ is up to date ($stamp)"
  exit 0
fi

# wasm-pack takes the first wasm-opt on PATH: the npm package binaryen's (v132) must win over
# Debian's binaryen 108, whose output fails to load (WebAssembly.Table.set: Argument 1 is invalid).
export PATH="$PWD/node_modules/.bin:$PATH"
start=$(date +%s)
WASM_PACK_CACHE="${WASM_PACK_CACHE:-$HOME/.cache/wasm-pack}" \
  wasm-pack --verbose build --release --target web --out-dir pkg --no-pack --mode no-install
rm -f pkg/.gitignore
echo "$stamp" > pkg/.stamp
echo "[build] pkg/ built in $(( $(date +%s) - start )) s:"
ls -l pkg/
