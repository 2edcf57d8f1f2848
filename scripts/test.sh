#!/usr/bin/env bash
# Runs the style checks, then every suite: native engine, session and trainer tests (cargo), the package in Node 20, the API and
# the demo page in headless Chromium (CPU and WebGPU), and the npm package as users install it
# (Node, a Vite 7 app, plain and hostile host pages). Installs whatever is missing first and
# builds www/ (wasm package, data, vendor) once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
bash scripts/build.sh

echo "== style: cargo fmt, clippy (native, the wasm module with WebGPU, the relaxed-SIMD one), rustdoc links, eslint =="
cargo fmt --check
cargo clippy --release --all-targets -- -D warnings
cargo clippy --release --lib --target wasm32-unknown-unknown --features webgpu-probe,relaxed-simd -- -D warnings
# Every intra-doc link resolves (private items included); --release reuses clippy's dependency
# metadata instead of checking the dependencies again.
RUSTDOCFLAGS="-D warnings" cargo doc --release --no-deps --document-private-items
npx eslint .

echo "== native: engine, session and trainer (cargo test --release, CPU backend) =="
cargo test --release

# The kernels pick their AVX-512 versions where the CPU has it, so on such a machine the run above
# tested none of the AVX2 ones (what AVX2-only CPUs run): run the suite again with AVX-512 hidden.
echo "== native again as on an AVX2 CPU: the kernels' AVX2 versions (scripts/avx2-only.sh) =="
if ! grep -qw avx512f /proc/cpuinfo; then
  echo "this CPU has no AVX-512: the run above ran the kernels' AVX2 (or narrower) versions"
elif ! grep -qw cpuid_fault /proc/cpuinfo; then
  echo "skipped: this CPU cannot fault CPUID (no cpuid_fault in /proc/cpuinfo), so AVX-512 cannot be hidden"
elif ! probe=$(bash scripts/avx2-only.sh true 2>&1) && [[ "$probe" == *"expected CPUID faulting"* ]]; then
  echo "skipped: the kernel refused CPUID faulting here, so AVX-512 cannot be hidden ($probe)"
else
  CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$PWD/scripts/avx2-only.sh" cargo test --release
fi

echo "== Node 20: the built package on the CPU =="
node --test --test-reporter=spec tests/node/

echo "== headless Chromium: the API and the demo page, on CPU and WebGPU =="
node --test --test-concurrency=1 --test-reporter=spec tests/browser/

echo "== the npm package: packed, installed, used from Node, Vite 7 and plain pages =="
node --test --test-concurrency=1 --test-reporter=spec tests/package/
