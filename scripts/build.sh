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

# wasm-pack takes the first wasm-opt on PATH, and Debian's binaryen 108 must never be it: its
# output fails to load (WebAssembly.Table.set: Argument 1 is invalid). A native wasm-opt from
# crates.io (`cargo install wasm-opt`, binaryen 116) is used when present: ≈ 3 min on this module.
# Otherwise the npm package binaryen's (v132, compiled to JavaScript): ≈ 12 min, nothing to install.
if [[ -x "$HOME/.cargo/bin/wasm-opt" ]] && "$HOME/.cargo/bin/wasm-opt" --version | grep -q 'version 1[1-9][0-9]'; then
  export PATH="$HOME/.cargo/bin:$PATH"
else
  export PATH="$PWD/node_modules/.bin:$PATH"
fi
echo "[build] wasm-opt: $(command -v wasm-opt) ($(wasm-opt --version))"
rm -rf pkg
start=$(date +%s)
WASM_PACK_CACHE="${WASM_PACK_CACHE:-$HOME/.cache/wasm-pack}" \
  wasm-pack --verbose build --release --target web --out-dir pkg --no-pack --mode no-install
rm -f pkg/.gitignore
echo "$stamp" > pkg/.stamp
echo "[build] pkg/ built in $(( $(date +%s) - start )) s:"
ls -l pkg/
