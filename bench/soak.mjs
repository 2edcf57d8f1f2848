// Soak (a benchmark, not a test): a long training run in headless Chromium through the package's
// `Session`, in the pattern the widget keeps — one step a call, a validation every 100 steps,
// panels and a snapshot (`state()` + `save_weights()`) every chunk — first on the CPU-only module,
// then on WebGPU. Between chunks it collects garbage and samples the wasm linear memory, the
// page's JS heap (DevTools protocol) and the resident memory of the renderer and GPU processes.
// Prints one JSON line per sample and one summary line per target.
//
// SOAK_STEPS (10000), SOAK_BATCH (64: the widget's default), SOAK_GPU_STEPS (500),
// SOAK_GPU_BATCH (8: SwiftShader takes ≈ 5.5 s a step at batch 64), SOAK_EVERY (100 CPU, 25 GPU:
// steps between samples).
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { serve } from '../tests/support/server.mjs';
import { launch, open } from '../tests/support/chromium.mjs';

const env = (name, fallback) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: expected a positive integer, got ${process.env[name]}`);
  return v;
};
const targets = [
  { target: 'chromium-cpu', pkg: 'pkg-cpu', backend: 'cpu', steps: env('SOAK_STEPS', 10_000), batch: env('SOAK_BATCH', 64), every: env('SOAK_EVERY', 100) },
  { target: 'chromium-webgpu', pkg: 'pkg', backend: 'webgpu', steps: env('SOAK_GPU_STEPS', 500), batch: env('SOAK_GPU_BATCH', 8), every: env('SOAK_EVERY', 25) },
];

/** Resident memory (MiB) of this process's Chromium descendants, by Chromium process type. */
function chromiumRss() {
  const parent = new Map();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch { /* gone */ }
  }
  const mine = (pid) => { for (let p = pid; p && p !== '1'; p = parent.get(p)) if (p === String(process.pid)) return true; return false; };
  const out = { renderer: 0, gpu: 0 };
  for (const pid of parent.keys()) {
    if (pid === String(process.pid) || !mine(pid)) continue;
    try {
      const type = /--type=([\w-]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1];
      const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
      if (type === 'renderer') out.renderer = Math.max(out.renderer, rss);
      if (type === 'gpu-process') out.gpu = rss;
    } catch { /* gone */ }
  }
  return out;
}

const mib = (bytes) => +(bytes / 1048576).toFixed(2);
console.error(`machine: ${cpus().length} cores, ${cpus()[0]?.model}; flags: ${(/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').split(' ').filter((f) => /^(avx2|avx512f|avx512bw|avx512vl|fma)$/.test(f)).join(' ')}`);
const server = await serve();
const context = await launch();
try {
  for (const t of targets) {
    const { page, errors } = await open(context, `${server.url}/tests/browser/harness.html?pkg=${t.pkg}`);
    await page.waitForFunction(() => window.daeReady === true, null, { timeout: 60_000 });
    if (t.backend === 'webgpu' && !(await page.evaluate(async () => Boolean(await navigator.gpu?.requestAdapter())))) {
      console.log(JSON.stringify({ target: t.target, skipped: 'no WebGPU adapter' }));
      await page.close();
      continue;
    }
    const cdp = await context.newCDPSession(page);
    const note = await page.evaluate(async ({ backend, steps, batch }) => {
      const { fetchMnst } = await import('/www/mnst.js');
      const [train, test] = [await fetchMnst('/www/data/mnist-train.bin.gz'), await fetchMnst('/www/data/mnist-test.bin.gz')];
      const s = await window.dae.Session.create(train.bytes, test.bytes, { backend, batch_size: batch, seed: 1 });
      const { steps_per_epoch: perEpoch } = await s.status();
      await s.configure({ epochs: Math.ceil(steps / perEpoch) + 1 });
      window.soak = { s, done: 0 };
      return s.backend_note;
    }, t);
    const sample = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      const heap = await cdp.send('Runtime.getHeapUsage');
      const { done, wasm } = await page.evaluate(() => ({ done: window.soak.done, wasm: window.dae.wasmMemory.buffer.byteLength }));
      const rss = chromiumRss();
      return { target: t.target, step: done, wasm_mib: mib(wasm), js_heap_mib: mib(heap.usedSize), renderer_rss_mib: +rss.renderer.toFixed(1), gpu_rss_mib: +rss.gpu.toFixed(1) };
    };
    const samples = [await sample()];
    console.log(JSON.stringify(samples[0]));
    const start = Date.now();
    while (samples.at(-1).step < t.steps) {
      await page.evaluate(async (n) => {
        const { s } = window.soak;
        for (let i = 0; i < n; i++) {
          await s.train(1);
          if (++window.soak.done % 100 === 0) await s.validate();
        }
        await s.panels([0, 1, 2, 3, 4, 5, 6, 7], 0.5, window.soak.done);
        await s.state();
        await s.save_weights();
      }, Math.min(t.every, t.steps - samples.at(-1).step));
      samples.push(await sample());
      console.log(JSON.stringify(samples.at(-1)));
    }
    const seconds = (Date.now() - start) / 1000;
    const fallback = await page.evaluate(() => window.soak.s.fallback);
    await page.evaluate(() => window.soak.s.free());
    // The plateau: the peak of the second half of the run against the peak between warm-up (the
    // first tenth) and the middle. Peaks, not single samples: the GPU process's memory swings
    // with each validation.
    const [tenth, half] = [Math.ceil(samples.length / 10), Math.floor(samples.length / 2)];
    const peak = (from, to, k) => Math.max(...samples.slice(from, to).map((x) => x[k]));
    const span = (k) => ({ at_warm: samples[tenth][k], first_half_peak: peak(tenth, half, k), second_half_peak: peak(half, samples.length, k), last: samples.at(-1)[k], growth: +(peak(half, samples.length, k) - peak(tenth, half, k)).toFixed(2) });
    const summary = { target: t.target, summary: true, steps: t.steps, batch: t.batch, seconds: +seconds.toFixed(0), note, fallback, errors, wasm_mib: span('wasm_mib'), js_heap_mib: span('js_heap_mib'), renderer_rss_mib: span('renderer_rss_mib'), gpu_rss_mib: span('gpu_rss_mib') };
    console.log(JSON.stringify(summary));
    console.error(`${t.target}: ${t.steps} steps at batch ${t.batch} in ${summary.seconds} s; wasm ${JSON.stringify(summary.wasm_mib)} MiB; JS heap ${JSON.stringify(summary.js_heap_mib)} MiB; renderer RSS ${JSON.stringify(summary.renderer_rss_mib)} MiB; GPU process RSS ${JSON.stringify(summary.gpu_rss_mib)} MiB`);
    await page.close();
  }
} finally {
  await context.close();
  await server.close();
}
