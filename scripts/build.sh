#!/usr/bin/env bash
# Builds everything www/ needs, once: the WebAssembly packages www/pkg-cpu/ (CPU only), its
# relaxed-SIMD twin www/pkg-cpu-relaxed/ and www/pkg/ (CPU + WebGPU) (ES modules for
# --target web, with .d.ts; a stamp of the Rust sources
# lets every later call reuse them), the compact MNIST files in www/data/ (scripts/data.mjs) and
# uPlot in www/vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Native-only sources (the trainer binary, experiment.rs) are left out: the wasm build never sees them.
stamp=$(cat Cargo.toml Cargo.lock .cargo/config.toml $(find src -type f -not -path 'src/bin/*' -not -name experiment.rs | sort) | sha256sum | cut -c1-16)

site() {
  node scripts/data.mjs
  mkdir -p www/vendor
  # uPlot's minified build as an ES module: its IIFE (a `var uPlot` at the top, module-scoped
  # here) plus an export, a third of the size of its unminified ESM file (51 KB against 145 KB).
  { cat node_modules/uplot/dist/uPlot.iife.min.js; printf '\nexport default uPlot;\n'; } > www/vendor/uPlot.min.js
  rm -f www/vendor/uPlot.esm.js
  cp node_modules/uplot/dist/uPlot.min.css www/vendor/
  cp node_modules/uplot/LICENSE www/vendor/uPlot.LICENSE
}

# wasm-pack takes the first wasm-opt on PATH, and Debian's binaryen 108 must never be it: its
# output fails to load (WebAssembly.Table.set: Argument 1 is invalid). A native wasm-opt from
# crates.io (`cargo install wasm-opt`, binaryen 116) is used when present: ≈ 3 min on this module.
# Otherwise the npm package binaryen's (v132, compiled to JavaScript): ≈ 12 min, nothing to install.
if [[ -x "$HOME/.cargo/bin/wasm-opt" ]] && "$HOME/.cargo/bin/wasm-opt" --version | grep -q 'version 1[1-9][0-9]'; then
  export PATH="$HOME/.cargo/bin:$PATH"
else
  export PATH="$PWD/node_modules/.bin:$PATH"
fi

# pkg DIR WASM-PACK-ARGS...: one build of the crate into www/DIR, skipped when its stamp (the
# sources and these arguments) is unchanged.
pkg() {
  local dir=www/$1; shift
  local want
  want=$(echo "$stamp $*" | sha256sum | cut -c1-16)
  if [[ -f $dir/.stamp && "$(cat "$dir/.stamp")" == "$want" && -f $dir/mnist_dae_bg.wasm ]]; then
    echo "[build] $dir/ is up to date ($want)"
    return
  fi
  echo "[build] $dir/: wasm-pack $* (wasm-opt: $(command -v wasm-opt), $(wasm-opt --version))"
  rm -rf "$dir"
  local start
  start=$(date +%s)
  WASM_PACK_CACHE="${WASM_PACK_CACHE:-$HOME/.cache/wasm-pack}" \
    wasm-pack --verbose build --target web --out-dir "$dir" --no-pack --mode no-install "$@"
  rm -f "$dir/.gitignore"
  echo "$want" > "$dir/.stamp"
  echo "[build] $dir/ built in $(( $(date +%s) - start )) s:"
  ls -l "$dir/"
}

# The CPU-only module the widget loads first (≈ 0.9 MB gzipped) and the full one with burn-wgpu
# for WebGPU (≈ 2.9 MB gzipped), fetched only when a model goes there; with the LTO profiles of
# Cargo.toml (the WebGPU one also optimised for size).
pkg pkg-cpu --profile wasm
# The CPU-only module again with relaxed SIMD: its GEMM fuses multiply and add
# (src/ops/flex/wasm_gemm.rs). The package loads it where WebAssembly.validate accepts relaxed SIMD
# (Chrome 114+, Firefox 145+; Safari refuses a module that contains it) and pkg-cpu elsewhere
# (www/lib/cpu-wasm.js). Only its .wasm ships: it runs under pkg-cpu's glue, which must
# therefore come out the same.
pkg pkg-cpu-relaxed --profile wasm -- --features relaxed-simd
if ! cmp -s www/pkg-cpu/mnist_dae.js www/pkg-cpu-relaxed/mnist_dae.js; then
  echo "expected www/pkg-cpu-relaxed/mnist_dae.js to equal www/pkg-cpu/mnist_dae.js (one glue for both CPU modules), got a difference:" >&2
  diff www/pkg-cpu/mnist_dae.js www/pkg-cpu-relaxed/mnist_dae.js | head -20 >&2
  exit 1
fi
pkg pkg --profile wasm-gpu -- --features webgpu
site
