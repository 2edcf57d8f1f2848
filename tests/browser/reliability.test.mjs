// What happens when WebGPU fails, at the API (headless Chromium, SwiftShader's adapter): a device
// destroyed mid-training (`GPUDevice.destroy()` on the device the module requested) and a kernel
// that computes wrong (`inject_conv_fault`). Without a WebGPU adapter every test here reports
// "skipped", never "passed".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '../support/server.mjs';
import { keepDevices, launch } from '../support/chromium.mjs';
import { floats, mnst, readMnist } from '../support/mnist.mjs';

const train = readMnist('train');
const test10k = readMnist('t10k');

let server, context, page, errors, adapter;
before(async () => {
  server = await serve();
  context = await launch();
  page = await context.newPage();
  errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Every device the module requests is kept, so that a test can destroy the one in use.
  await page.addInitScript(keepDevices);
  await page.goto(`${server.url}/tests/browser/harness.html`);
  await page.waitForFunction(() => window.daeReady === true, null, { timeout: 60_000 });
  adapter = await page.evaluate(async () => Boolean(await navigator.gpu?.requestAdapter()));
  await page.evaluate(({ trainSet, testSet, clean }) => {
    window.sets = [new Uint8Array(trainSet), new Uint8Array(testSet)];
    window.clean = new Float32Array(clean);
  }, { trainSet: Array.from(mnst(train, 0, 320)), testSet: Array.from(mnst(test10k, 0, 64)), clean: Array.from(floats(test10k, 0, 8)) });
});
after(async () => {
  await context?.close();
  await server?.close();
});

test('a device lost mid-training: the session goes on on the CPU from its copy, at most 5 steps lost', async (t) => {
  if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
  const r = await page.evaluate(async () => {
    const { Session } = window.dae;
    const s = await Session.create(...window.sets, { backend: 'webgpu', seed: 3, batch_size: 8, val_images: 32 });
    const on = { backend: s.backend, fallback: s.fallback, devices: window.gpuDevices.length };
    const first = await s.train(7);
    window.gpuDevices.at(-1).destroy();
    const lost = await s.train(3);
    const moved = { backend: s.backend, note: s.backend_note, fallback: s.fallback };
    const next = await s.train(3);
    const validation = await s.validate();
    const weights = (await s.save_weights()).length;
    // A new model never lands on the dead device: a fresh one is requested (and self-checked).
    const fresh = await Session.create(...window.sets, { backend: 'webgpu', seed: 3, batch_size: 8, val_images: 32 });
    const freshStep = await fresh.train(1);
    return {
      on, first: first.status.steps, lost, moved, next: next.reports.map((x) => x.steps), validation, weights,
      fresh: { backend: fresh.backend, devices: window.gpuDevices.length, steps: freshStep.status.steps },
    };
  });
  assert.deepEqual([r.on.backend, r.on.fallback], ['webgpu', null]);
  assert.equal(r.first, 7);
  // Copies at steps 0 and 5: the failed step 8 is not counted, steps 6 and 7 are lost.
  assert.deepEqual(r.lost.fallback, { reason: r.lost.fallback.reason, failed_at: 7, resumed_at: 5, steps_lost: 2 });
  assert.ok(r.lost.fallback.steps_lost <= 5);
  assert.deepEqual(r.lost.reports, [], 'nothing reported past the copy');
  assert.equal(r.lost.status.steps, 5);
  assert.equal(r.moved.backend, 'cpu');
  assert.match(r.moved.note, /WebGPU failed at step 7 \(.+\); continued from the copy of step 5/);
  assert.deepEqual(r.moved.fallback, r.lost.fallback);
  assert.deepEqual(r.next, [6, 7, 8], 'training goes on on the CPU, no reload');
  assert.ok(r.validation.loss > 0 && r.validation.loss < 1, JSON.stringify(r.validation));
  assert.ok(r.weights > 100_000);
  assert.deepEqual(r.fresh, { backend: 'webgpu', devices: r.on.devices + 1, steps: 1 });
  assert.deepEqual(errors, []);
});

test('a Denoiser whose device is lost answers the same call on the CPU from its copy', async (t) => {
  if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
  const r = await page.evaluate(async () => {
    const { Denoiser, add_noise } = window.dae;
    const x = await add_noise(window.clean, 0.5, 7);
    const d = await Denoiser.create({ backend: 'webgpu', seed: 1 });
    for (let i = 0; i < 3; i++) await d.train_step(x, window.clean);
    window.gpuDevices.at(-1).destroy();
    const loss = await d.train_step(x, window.clean);
    const out = await d.denoise(x);
    return { loss, backend: d.backend, fallback: d.fallback, steps: await d.steps(), out: out.length };
  });
  assert.ok(r.loss > 0 && r.loss < 1, `loss ${r.loss}`);
  assert.equal(r.backend, 'cpu');
  assert.deepEqual([r.fallback.failed_at, r.fallback.resumed_at, r.fallback.steps_lost], [3, 0, 3]);
  assert.equal(r.steps, 1, 'the step ran again on the CPU from the copy of step 0');
  assert.equal(r.out, 8 * 784);
});

test('a kernel that computes wrong fails the self-check: the model stays on the CPU, saying why', async (t) => {
  if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
  const r = await page.evaluate(async () => {
    const { Session, inject_conv_fault } = window.dae;
    // The device in use passed its check already: lose it, so that the next model needs a new one.
    window.gpuDevices.at(-1).destroy();
    inject_conv_fault(true);
    const bad = await Session.create(...window.sets, { backend: 'webgpu', batch_size: 8, val_images: 32 });
    const badStep = await bad.train(1);
    inject_conv_fault(false);
    const t0 = performance.now();
    const good = await Session.create(...window.sets, { backend: 'webgpu', batch_size: 8, val_images: 32 });
    const ms = performance.now() - t0;
    return { bad: [bad.backend, bad.backend_note, badStep.status.steps], good: good.backend, ms };
  });
  console.log(`a fresh WebGPU device with its self-check: ${r.ms.toFixed(0)} ms`);
  assert.equal(r.bad[0], 'cpu');
  assert.match(r.bad[1], /WebGPU on .+ failed its self-check \(.*reconstruction: expected a difference from the CPU of at most 1e-4, got [0-9.]+e-?\d+\)/);
  assert.equal(r.bad[2], 1, 'and trains there');
  assert.equal(r.good, 'webgpu', 'once the fault is gone a new device passes');
});
