// Samples Chromium's profiler over wasm train steps (batch 64, CPU) of the module in
// www/pkg-profile/ (scripts/profile-wasm.sh builds it) and prints each function's share of the
// samples, largest first: self time, so a function's callees count on their own lines.
import { serve } from '../tests/support/server.mjs';
import { launch, open } from '../tests/support/chromium.mjs';
import { floats, readMnist } from '../tests/support/mnist.mjs';

const steps = Number(process.env.PROFILE_STEPS ?? 15);
const top = Number(process.env.PROFILE_TOP ?? 25);
const clean = Array.from(floats(readMnist('train'), 0, 256));
const server = await serve();
const context = await launch();
try {
  const { page } = await open(context, `${server.url}/tests/browser/harness.html?pkg=pkg-profile`);
  await page.waitForFunction(() => window.daeReady === true, null, { timeout: 60_000 });
  // Two warm-up steps outside the profile (first-call allocations, JIT tiers).
  await page.evaluate(async (clean) => {
    const { Denoiser, add_noise } = window.dae;
    window.clean = new Float32Array(clean);
    window.noisy = await add_noise(window.clean, 0.5, 1);
    window.model = await Denoiser.create({ backend: 'cpu' });
    for (let i = 0; i < 2; i++) await window.model.train_step(window.noisy.subarray(0, 64 * 784), window.clean.subarray(0, 64 * 784));
  }, clean);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 }); // µs
  await cdp.send('Profiler.start');
  const ms = await page.evaluate(async (steps) => {
    const b = 64 * 784;
    const t = performance.now();
    for (let i = 0; i < steps; i++) {
      const at = (i % 4) * b;
      await window.model.train_step(window.noisy.subarray(at, at + b), window.clean.subarray(at, at + b));
    }
    return (performance.now() - t) / steps;
  }, steps);
  const { profile } = await cdp.send('Profiler.stop');
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const share = new Map();
  for (const id of profile.samples) {
    const name = nodes.get(id).callFrame.functionName.replace(/::h[0-9a-f]{16}$/, '') || '(unnamed)';
    share.set(name, (share.get(name) ?? 0) + 1);
  }
  const total = profile.samples.length;
  console.log(`${steps} train steps, ${ms.toFixed(1)} ms each (profiler on, module without wasm-opt), ${total} samples`);
  for (const [name, n] of [...share].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(100 * n / total).toFixed(1).padStart(5)} %  ${name}`);
  }
} finally {
  await context.close();
  await server.close();
}
