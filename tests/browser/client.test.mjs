// mnist-dae/client in headless Chromium: the Denoiser in a worker of its own — it trains and
// denoises as the module's does, the page's timers keep running while it trains, `auto` follows
// the policy without fetching the WebGPU module for the CPU, refusals carry the module's codes,
// and a freed one rejects.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '../support/server.mjs';
import { launch, open } from '../support/chromium.mjs';
import { floats, readMnist } from '../support/mnist.mjs';

let server, context, page, errors;
const wasm = [];
before(async () => {
  server = await serve();
  context = await launch();
  context.on('request', (r) => { if (r.url().endsWith('.wasm')) wasm.push(new URL(r.url()).pathname); });
  ({ page, errors } = await open(context, `${server.url}/tests/browser/element.html`));
  await page.evaluate((clean) => { window.clean = new Float32Array(clean); }, Array.from(floats(readMnist('train'), 0, 64)));
});
after(async () => {
  await context?.close();
  await server?.close();
});

test('trains off the main thread: the loss falls, the page\'s timers keep firing, denoise and weights round-trip', async () => {
  const r = await page.evaluate(async () => {
    const { Denoiser } = await import('/www/client.js');
    const { add_noise, default: init } = await import('/www/mnist-dae-cpu.js');
    // The build the worker picks too (relaxed SIMD here), so that the traces can be equal.
    await init();
    const clean = window.clean;
    const noisy = await add_noise(clean, 0.5, 1);
    const d = await Denoiser.create({ backend: 'cpu', seed: 2 });
    const before = await d.evaluate(noisy, clean);
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 5);
    const start = performance.now();
    for (let i = 0; i < 10; i++) await d.train_step(noisy, clean);
    const ms = performance.now() - start;
    clearInterval(timer);
    const after = await d.evaluate(noisy, clean);
    const out = await d.denoise(noisy.subarray(0, 784 * 4));
    const maps = await d.trace(noisy.subarray(0, 784));
    const params = await d.parameters();
    const direct = await (await import('/www/mnist-dae-cpu.js')).Denoiser.create({ backend: 'cpu' });
    const weights = await d.save_weights();
    await direct.load_weights(weights);
    const directMaps = await direct.trace(noisy.subarray(0, 784));
    const traced = { names: maps.map((m) => m.name).join(' '), same: maps.every((m, i) => m.values.every((v, j) => v === directMaps[i].values[j])), params: params.length, latent: maps[3].shape };
    direct.free();
    const again = await Denoiser.create({ backend: 'cpu', seed: 9 });
    await again.load_weights(weights);
    const same = await again.evaluate(noisy, clean);
    const result = { before, after, same, ms, ticks, steps: await d.steps(), out: out.length, range: [Math.min(...out), Math.max(...out)], backend: d.backend, note: d.backend_note, untouched: clean.length, traced };
    d.free();
    again.free();
    return result;
  });
  assert.equal(r.backend, 'cpu');
  assert.equal(r.steps, 10);
  assert.ok(r.after < r.before - 0.05, `10 steps lower the loss: ${r.before} → ${r.after}`);
  assert.ok(Math.abs(r.same - r.after) < 1e-6, `its saved weights give the same loss elsewhere: ${r.same} vs ${r.after}`);
  assert.equal(r.out, 4 * 784);
  assert.ok(r.range[0] >= 0 && r.range[1] <= 1, `sigmoid outputs: ${r.range}`);
  assert.equal(r.untouched, 64 * 784, 'the caller\'s arrays are copied, not taken');
  assert.equal(r.traced.names, 'enc1 pool1 enc2 latent dec1 up1 up2 output');
  assert.deepEqual(r.traced.latent, [1, 32, 7, 7]);
  assert.ok(r.traced.same, 'the worker\'s trace equals the same weights traced on this thread');
  assert.equal(r.traced.params, 12);
  // A step on the page's thread would hold the timer for its whole ≈ 100 ms; in the worker the
  // timer fires throughout (at least one tick per 20 ms of training, against ≈ one per 5 ms).
  assert.ok(r.ticks >= r.ms / 20, `${r.ticks} timer ticks during ${r.ms.toFixed(0)} ms of training`);
});

test('auto follows the policy and fetches no WebGPU module for the CPU; refusals carry codes; a freed one rejects', async () => {
  wasm.length = 0;
  const r = await page.evaluate(async () => {
    const { Denoiser } = await import('/www/client.js');
    const software = await (async () => {
      const a = await navigator.gpu?.requestAdapter();
      return !a || Boolean(a.info?.isFallbackAdapter) || /swiftshader|lavapipe|llvmpipe/i.test(`${a.info?.vendor} ${a.info?.architecture} ${a.info?.description}`);
    })();
    const d = await Denoiser.create();
    const out = { software, backend: d.backend, note: d.backend_note };
    const settle = (p) => p.then(() => null, (e) => [e.code, e.message]);
    out.short = await settle(d.train_step(new Float32Array(784), new Float32Array(10)));
    out.bytes = await settle(d.load_weights(new Uint8Array([1, 2, 3])));
    out.steps = await d.steps();
    out.odd = await settle(d.denoise(() => 1));
    out.bad = await settle(Denoiser.create({ backend: 'tpu' }));
    d.free();
    out.freed = await settle(d.denoise(new Float32Array(784)));
    return out;
  });
  if (r.software) {
    assert.equal(r.backend, 'cpu');
    assert.match(r.note, /CPU/);
    assert.ok(!wasm.includes('/www/pkg/mnist_dae_bg.wasm'), `no WebGPU module for a model on the CPU: ${wasm}`);
  }
  assert.equal(r.short[0], 'invalid_input');
  assert.match(r.short[1], /clean: expected 784 floats/);
  assert.equal(r.bytes[0], 'invalid_weights');
  assert.equal(r.steps, 0, 'refused calls changed nothing');
  assert.equal(r.odd[0], 'invalid_input');
  assert.equal(r.bad[0], 'invalid_input');
  assert.match(r.bad[1], /backend/);
  assert.deepEqual(r.freed, ['freed', 'Denoiser: expected a live Denoiser, got one that was freed (free() was called)']);
  assert.deepEqual(errors, []);
});
