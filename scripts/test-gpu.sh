#!/usr/bin/env bash
# The model's WebGPU kernels natively: tests/kernels.rs built with --features webgpu (cubecl compiles
# them to WGSL, as in the browser, and wgpu runs them on Vulkan), each against burn's own op in
# values and gradients with both tile profiles (software adapter, GPU), and the whole model against
# the CPU. Runs on this machine's Vulkan adapter: a GPU, or a CPU renderer: Mesa's lavapipe
# (Debian's mesa-vulkan-drivers, installed here when no Vulkan driver is), or the SwiftShader that
# Chromium ships, with VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json. The first build
# takes ≈ 15 min on 2 cores (burn's wgpu stack); `npm test` runs the same file on the CPU only.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${VK_ICD_FILENAMES:-}" ]] && ! compgen -G '/usr/share/vulkan/icd.d/*.json' >/dev/null; then
  echo "[test-gpu] installing Debian's mesa-vulkan-drivers (lavapipe: Vulkan on the CPU)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq mesa-vulkan-drivers >/dev/null
fi
# Mesa's window-system layer looks for a runtime directory even with no window.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo test --release --features webgpu --test kernels -- --nocapture
