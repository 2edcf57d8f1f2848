// Browser benchmark in headless Chromium: median ms per train_step (batch 64) and per denoise
// (batch 256) on the CPU (wasm: the CPU-only module the widget loads, in its relaxed-SIMD and plain
// SIMD builds, and the full module) and on
// WebGPU; then cold loads of bench/first-panel.html: ms to the first denoised panel and the bytes
// fetched before it (gzip -9 of each file). Prints one JSON line per target.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { serve, repoRoot } from '../tests/support/server.mjs';
import { launch, open } from '../tests/support/chromium.mjs';
import { floats, readMnist } from '../tests/support/mnist.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 15);
const gpuRuns = Number(process.env.BENCH_GPU_RUNS ?? 5);
const loads = Number(process.env.BENCH_LOADS ?? 7);
const clean = Array.from(floats(readMnist('train'), 0, 256));
const server = await serve();
const median = (v) => { v = [...v].sort((a, b) => a - b); const m = v.length >> 1; return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
const context = await launch();
try {
  for (const [pkg, backend, target] of [['pkg-cpu-relaxed', 'cpu', 'chromium-cpu-relaxed'], ['pkg-cpu', 'cpu', 'chromium-cpu'], ['pkg', 'cpu', 'chromium-cpu-full-module'], ['pkg', 'webgpu', 'chromium-webgpu']]) {
    const { page } = await open(context, `${server.url}/tests/browser/harness.html?pkg=${pkg}`);
    await page.waitForFunction(() => window.daeReady === true, null, { timeout: 60_000 });
    const hasAdapter = await page.evaluate(async () => !!(await navigator.gpu?.requestAdapter()));
    if (backend === 'webgpu' && !hasAdapter) {
      console.log(JSON.stringify({ target, skipped: 'no WebGPU adapter' }));
      await page.close();
      continue;
    }
    const n = backend === 'cpu' ? runs : gpuRuns;
    const r = await page.evaluate(async ({ backend, n, clean }) => {
      const { Denoiser, add_noise } = window.dae;
      const c = new Float32Array(clean);
      const x = await add_noise(c, 0.5, 1);
      const d = await Denoiser.create({ backend });
      const median = (v) => { v.sort((a, b) => a - b); const m = v.length >> 1; return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
      const b = 64 * 784;
      // Warm-up: at least 2 calls and 3 s. Chromium first runs wasm in its baseline compiler
      // and moves hot functions to the optimising one in the background: on this 2-core machine
      // the first 10–20 CPU steps (2–4 s) take 1.5–2× the steady time. The peers get the same
      // (TensorFlow.js: 5 warm-up steps ≈ 3 s; Keras: 10 steps).
      const warm = async (f) => {
        const start = performance.now();
        for (let i = 0; i < 2 || performance.now() - start < 3000; i++) await f(i);
      };
      const step = (i) => {
        const at = (i % 4) * b;
        return d.train_step(x.subarray(at, at + b), c.subarray(at, at + b));
      };
      await warm(step);
      const train = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await step(i);
        train.push(performance.now() - t);
      }
      await warm(() => d.denoise(x));
      const den = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await d.denoise(x);
        den.push(performance.now() - t);
      }
      return { note: d.backend_note, simd: window.dae.simd_level(), train: median(train), denoise: median(den) };
    }, { backend, n, clean });
    console.error(`${target} (www/${pkg}; ${r.note}; ${r.simd}): train_step(64) median ${r.train.toFixed(1)} ms, denoise(256) median ${r.denoise.toFixed(1)} ms, ${n} runs`);
    console.log(JSON.stringify({ target, train_step_64_ms: +r.train.toFixed(2), denoise_256_ms: +r.denoise.toFixed(2), runs: n, note: r.note, simd: r.simd }));
    await page.close();
  }
} finally {
  await context.close();
}

// Cold loads: a fresh profile each time (no HTTP or compiled-wasm cache), as a first visit.
try {
  const times = [];
  let files = [];
  for (let i = 0; i < loads; i++) {
    const cold = await launch();
    try {
      const seen = [];
      cold.on('requestfinished', (r) => seen.push(new URL(r.url()).pathname));
      const { page } = await open(cold, `${server.url}/bench/first-panel.html`);
      await page.waitForFunction(() => window.firstPanelMs !== undefined, null, { timeout: 60_000 });
      times.push(await page.evaluate(() => window.firstPanelMs));
      files = seen;
    } finally {
      await cold.close();
    }
  }
  const sizes = [...new Set(files)].map((path) => {
    const bytes = readFileSync(join(repoRoot, decodeURIComponent(path)));
    return { path, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
  const gz = sizes.reduce((s, f) => s + f.gzip, 0);
  for (const f of sizes.sort((a, b) => b.gzip - a.gzip)) console.error(`  ${f.path}: ${f.raw} bytes, ${f.gzip} gzipped`);
  console.error(`first denoised panel (cold load): median ${median(times).toFixed(0)} ms over ${loads} loads; ${sizes.length} files, ${(gz / 1048576).toFixed(2)} MiB gzipped`);
  console.log(JSON.stringify({ target: 'first-panel', first_panel_ms: +median(times).toFixed(0), loads, files: sizes.length, gzip_bytes: gz, raw_bytes: sizes.reduce((s, f) => s + f.raw, 0) }));
} finally {
  await server.close();
}
