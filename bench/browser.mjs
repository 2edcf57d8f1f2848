// Browser benchmark: median ms per train_step (batch 64) and per denoise (batch 256) on the CPU
// (wasm) and WebGPU backends in headless Chromium. Prints one JSON line per backend.
import { serve } from '../tests/support/server.mjs';
import { launch, open } from '../tests/support/chromium.mjs';
import { floats, readMnist } from '../tests/support/mnist.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 15);
const gpuRuns = Number(process.env.BENCH_GPU_RUNS ?? 5);
const clean = Array.from(floats(readMnist('train'), 0, 256));
const server = await serve();
const context = await launch();
try {
  const { page } = await open(context, `${server.url}/tests/browser/harness.html`);
  await page.waitForFunction(() => window.daeReady === true, null, { timeout: 60_000 });
  const hasAdapter = await page.evaluate(async () => !!(await navigator.gpu?.requestAdapter()));
  for (const backend of ['cpu', 'webgpu']) {
    if (backend === 'webgpu' && !hasAdapter) {
      console.log(JSON.stringify({ target: 'chromium-webgpu', skipped: 'no WebGPU adapter' }));
      continue;
    }
    const n = backend === 'cpu' ? runs : gpuRuns;
    const r = await page.evaluate(async ({ backend, n, clean }) => {
      const { Denoiser, add_noise } = window.dae;
      const c = new Float32Array(clean);
      const x = add_noise(c, 0.5, 1);
      const d = await Denoiser.create({ backend });
      const median = (v) => { v.sort((a, b) => a - b); const m = v.length >> 1; return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
      const b = 64 * 784;
      const train = [];
      for (let i = 0; i < n + 2; i++) {
        const at = (i % 4) * b;
        const t = performance.now();
        await d.train_step(x.subarray(at, at + b), c.subarray(at, at + b));
        if (i >= 2) train.push(performance.now() - t);
      }
      const den = [];
      for (let i = 0; i < n + 1; i++) {
        const t = performance.now();
        await d.denoise(x);
        if (i >= 1) den.push(performance.now() - t);
      }
      return { note: d.backend_note, train: median(train), denoise: median(den) };
    }, { backend, n, clean });
    console.error(`chromium ${backend} (${r.note}): train_step(64) median ${r.train.toFixed(1)} ms, denoise(256) median ${r.denoise.toFixed(1)} ms, ${n} runs`);
    console.log(JSON.stringify({ target: `chromium-${backend}`, train_step_64_ms: +r.train.toFixed(2), denoise_256_ms: +r.denoise.toFixed(2), runs: n, note: r.note }));
  }
} finally {
  await context.close();
  await server.close();
}
