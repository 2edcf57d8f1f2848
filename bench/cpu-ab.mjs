// A/B of CPU builds in one headless Chromium, alternating: for each build named on the command
// line (folders under www/ that tests/browser/harness.html serves, e.g. pkg-profile pkg-probe),
// ROUNDS times (default 3) in turn, a fresh page warms a CPU model up for 3 s, then times 25
// train steps (batch 64) and 9 denoise calls (batch 256) and prints their medians (and the
// fastest step). Differences under ≈ 3 % are within run-to-run noise on a 2-core machine.
//
//   cargo build --release --target wasm32-unknown-unknown --lib --features relaxed-simd
//   wasm-bindgen --target web --out-dir www/pkg-probe <target>/wasm32-unknown-unknown/release/mnist_dae.wasm
//   (the same into www/pkg-profile from the other version of the code)
//   node bench/cpu-ab.mjs pkg-profile pkg-probe
import { serve } from '../tests/support/server.mjs';
import { launch, open } from '../tests/support/chromium.mjs';
import { floats, readMnist } from '../tests/support/mnist.mjs';

const builds = process.argv.slice(2);
if (builds.length === 0) throw new Error('expected one or more build folders (e.g. pkg-profile pkg-probe), got none');
const rounds = Number(process.env.ROUNDS ?? 3);
const clean = Array.from(floats(readMnist('train'), 0, 256));
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const server = await serve();
const context = await launch();
try {
  for (let round = 0; round < rounds; round++) {
    for (const build of builds) {
      const { page } = await open(context, `${server.url}/tests/browser/harness.html?pkg=${build}`);
      await page.waitForFunction(() => window.daeReady === true, null, { timeout: 60_000 });
      const { train, denoise } = await page.evaluate(async (clean) => {
        const { Denoiser, add_noise } = window.dae;
        const images = new Float32Array(clean);
        const noisy = await add_noise(images, 0.5, 1);
        const model = await Denoiser.create({ backend: 'cpu' });
        const b = 64 * 784;
        const step = (i) => model.train_step(noisy.subarray((i % 4) * b, (i % 4 + 1) * b), images.subarray((i % 4) * b, (i % 4 + 1) * b));
        const start = performance.now();
        for (let i = 0; performance.now() - start < 3000; i++) await step(i);
        const timed = async (n, f) => {
          const ms = [];
          for (let i = 0; i < n; i++) {
            const t = performance.now();
            await f(i);
            ms.push(performance.now() - t);
          }
          return ms;
        };
        return { train: await timed(25, step), denoise: await timed(9, () => model.denoise(noisy)) };
      }, clean);
      console.log(`round ${round} ${build}: train_step(64) median ${median(train).toFixed(1)} ms (fastest ${Math.min(...train).toFixed(1)}), denoise(256) median ${median(denoise).toFixed(1)} ms`);
      await page.close();
    }
  }
} finally {
  await context.close();
  await server.close();
}
