#!/usr/bin/env bash
# Builds everything www/ needs, once: the WebAssembly package in www/pkg/ (ES module for
# --target web, with .d.ts; a stamp of the Rust sources lets every later call reuse it), the
# compact MNIST files in www/data/ (scripts/data.mjs) and uPlot in www/vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Native-only sources (the trainer binary, experiment.rs) are left out: the wasm build never sees them.
stamp=$(cat Cargo.toml Cargo.lock .cargo/config.toml $(find src -type f -not -path 'src/bin/*' -not -name experiment.rs | sort) | sha256sum | cut -c1-16)

site() {
  node scripts/data.mjs
  mkdir -p www/vendor
  cp node_modules/uplot/dist/uPlot.esm.js node_modules/uplot/dist/uPlot.min.css www/vendor/
  cp node_modules/uplot/LICENSE www/vendor/uPlot.LICENSE
}

if [[ -f www/pkg/.stamp && "$(cat www/pkg/.stamp)" == "$stamp" && -f www/pkg/mnist_dae_bg.wasm ]]; then
  echo "[build] www/pkg/ is up to date ($stamp)"
  site
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
rm -rf www/pkg
start=$(date +%s)
WASM_PACK_CACHE="${WASM_PACK_CACHE:-$HOME/.cache/wasm-pack}" \
  wasm-pack --verbose build --release --target web --out-dir www/pkg --no-pack --mode no-install
rm -f www/pkg/.gitignore
echo "$stamp" > www/pkg/.stamp
echo "[build] www/pkg/ built in $(( $(date +%s) - start )) s:"
ls -l www/pkg/
site
