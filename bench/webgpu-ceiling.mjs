// WebGPU in headless Chromium: hand-tiled WGSL GEMMs for the multiply-adds of one 32 → 32
// convolution at 28 × 28, batch 64 (bench/webgpu-ceiling.html: what the adapter can do), then
// burn-wgpu's own kernels for each layer of the model and for the same GEMM (`probe_webgpu_ops`,
// in www/pkg-probe/, which scripts/bench-webgpu.sh builds). Prints one JSON line per measurement.
// Without a WebGPU adapter it prints "skipped" and exits 0.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { serve, repoRoot } from '../tests/support/server.mjs';
import { launch, open } from '../tests/support/chromium.mjs';

const reps = Number(process.env.BENCH_GPU_RUNS ?? 5);
const server = await serve();
const context = await launch();
try {
  const { page, errors } = await open(context, `${server.url}/bench/webgpu-ceiling.html?reps=${reps}`);
  await page.waitForFunction(() => window.ceiling, null, { timeout: 600_000 });
  const ceiling = await page.evaluate(() => window.ceiling);
  if (ceiling.error) throw new Error(`webgpu-ceiling.html: ${ceiling.error} (console: ${errors.join(' | ')})`);
  if (ceiling.skipped) {
    console.log(JSON.stringify({ target: 'webgpu-ceiling', skipped: ceiling.skipped }));
  } else {
    for (const r of ceiling.results) console.log(JSON.stringify({ target: 'wgsl-gemm', adapter: ceiling.adapter, gflop: ceiling.gflop, ...r }));
    if (existsSync(join(repoRoot, 'www/pkg-probe/mnist_dae_bg.wasm'))) {
      const probe = await open(context, `${server.url}/tests/browser/harness.html?pkg=pkg-probe`);
      await probe.page.waitForFunction(() => window.daeReady === true, null, { timeout: 120_000 });
      // A panic in the module leaves the promise pending: a page error ends the wait instead.
      const crashed = new Promise((_, reject) => probe.page.on('pageerror', (e) => reject(new Error(`probe page: ${e}`))));
      const ops = await Promise.race([probe.page.evaluate((n) => window.dae.probe_webgpu_ops(n), reps), crashed]);
      for (const [op, ms] of Object.entries(ops)) console.log(JSON.stringify({ target: 'burn-wgpu', op, ms: Math.round(ms) }));
      if (probe.errors.length) throw new Error(`probe page: ${probe.errors.join(' | ')}`);
    } else {
      console.log(JSON.stringify({ target: 'burn-wgpu', skipped: 'www/pkg-probe/ not built (bash scripts/bench-webgpu.sh builds it)' }));
    }
  }
} finally {
  await context.close();
  await server.close();
}
