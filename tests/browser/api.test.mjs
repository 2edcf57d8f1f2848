// The full JS API in headless Chromium, on the CPU backend and on WebGPU (SwiftShader here).
// Without a WebGPU adapter the WebGPU tests report "skipped", never "passed".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '../support/server.mjs';
import { launch, open } from '../support/chromium.mjs';
import { floats, readMnist } from '../support/mnist.mjs';

const mnist = readMnist('t10k');
// Plain arrays cross into the page; the page turns them back into Float32Arrays.
const clean = Array.from(floats(mnist, 0, 64));

let server, context, page, errors, adapter;
before(async () => {
  server = await serve();
  context = await launch();
  ({ page, errors } = await open(context, `${server.url}/tests/browser/harness.html`));
  await page.waitForFunction(() => window.daeReady === true, null, { timeout: 60_000 });
  adapter = await page.evaluate(async () => {
    const a = await navigator.gpu?.requestAdapter();
    const i = a?.info ?? {};
    return a ? ([i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' ') || 'unnamed adapter') : null;
  });
  console.log(`WebGPU adapter: ${adapter ?? 'none'}`);
});
after(async () => {
  await context?.close();
  await server?.close();
});

/** Creates a denoiser in the page as `window[name]` and trains `steps` steps; returns numbers. */
function trainIn(name, options, steps) {
  return page.evaluate(async ({ name, options, steps, clean }) => {
    const { Denoiser, add_noise } = window.dae;
    const c = new Float32Array(clean);
    const x = await add_noise(c, 0.5, 7);
    const d = await Denoiser.create(options);
    window[name] = d;
    const before = await d.evaluate(x, c);
    const t0 = performance.now();
    const losses = [];
    for (let i = 0; i < steps; i++) losses.push(await d.train_step(x, c));
    const ms = (performance.now() - t0) / steps;
    const after = await d.evaluate(x, c);
    const out = await d.denoise(x.subarray(0, 2 * 784));
    return {
      backend: d.backend, note: d.backend_note, software: d.software_adapter, before, after, losses, ms,
      outLength: out.length, outInRange: out.every((v) => v > 0 && v < 1),
    };
  }, { name, options, steps, clean });
}

test('CPU backend: train steps lower the loss, denoise and weights work', async () => {
  const r = await trainIn('cpu', { backend: 'cpu', seed: 1 }, 5);
  console.log(`cpu: loss ${r.before.toFixed(4)} → ${r.after.toFixed(4)}, ${r.ms.toFixed(0)} ms/step`);
  assert.equal(r.backend, 'cpu');
  assert.ok(r.after < r.before * 0.95, `loss ${r.before} → ${r.after}`);
  assert.equal(r.outLength, 2 * 784);
  assert.ok(r.outInRange);
  const roundTrip = await page.evaluate(async () => {
    const bytes = await window.cpu.save_weights();
    const other = await window.dae.Denoiser.create({ backend: 'cpu', seed: 9 });
    await other.load_weights(bytes);
    const again = await other.save_weights();
    return bytes.length === again.length && bytes.every((b, i) => b === again[i]);
  });
  assert.ok(roundTrip, 'save → load → save is bit-exact');
  assert.deepEqual(errors, []);
});

test('WebGPU backend: train steps lower the loss, denoise and async save work', async (t) => {
  if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
  const r = await trainIn('gpu', { backend: 'webgpu', seed: 1 }, 3);
  console.log(`webgpu (${r.note}): loss ${r.before.toFixed(4)} → ${r.after.toFixed(4)}, ${r.ms.toFixed(0)} ms/step`);
  assert.equal(r.backend, 'webgpu');
  assert.match(r.note, /^WebGPU on /);
  assert.ok(r.after < r.before, `loss ${r.before} → ${r.after}`);
  assert.equal(r.outLength, 2 * 784);
  assert.ok(r.outInRange);
  // Same seed, same initial weights on both backends: the whole trajectory agrees closely
  // (this is what caught burn's fusion computing wrong updates on WebGPU).
  const cpu = await trainIn('cpu2', { backend: 'cpu', seed: 1 }, 3);
  for (let i = 0; i < 3; i++) {
    assert.ok(Math.abs(cpu.losses[i] - r.losses[i]) < 1e-4, `step ${i} loss: cpu ${cpu.losses[i]} vs webgpu ${r.losses[i]}`);
  }
  assert.ok(Math.abs(cpu.after - r.after) < 1e-4, `loss after 3 steps: cpu ${cpu.after} vs webgpu ${r.after}`);
  const bytes = await page.evaluate(async () => (await window.gpu.save_weights()).length);
  assert.ok(bytes > 150_000, `safetensors of ${bytes} bytes`);
  assert.deepEqual(errors, []);
});

test('weights move between backends and denoise agrees within 1e-4', async (t) => {
  if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
  const r = await page.evaluate(async ({ clean }) => {
    const { Denoiser, add_noise } = window.dae;
    const x = await add_noise(new Float32Array(clean).subarray(0, 16 * 784), 0.5, 3);
    const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    // Trained on the CPU, loaded on WebGPU …
    const fromCpu = await window.cpu.save_weights();
    const gpu = await Denoiser.create({ backend: 'webgpu' });
    await gpu.load_weights(fromCpu);
    const cpuToGpu = maxDiff(await window.cpu.denoise(x), await gpu.denoise(x));
    // … and trained on WebGPU, loaded on the CPU.
    const fromGpu = await window.gpu.save_weights();
    const cpu = await Denoiser.create({ backend: 'cpu' });
    await cpu.load_weights(fromGpu);
    const gpuToCpu = maxDiff(await window.gpu.denoise(x), await cpu.denoise(x));
    return { cpuToGpu, gpuToCpu };
  }, { clean });
  console.log(`max |Δ| cpu→webgpu ${r.cpuToGpu.toExponential(2)}, webgpu→cpu ${r.gpuToCpu.toExponential(2)}`);
  assert.ok(r.cpuToGpu < 1e-4, `cpu → webgpu: max difference ${r.cpuToGpu}`);
  assert.ok(r.gpuToCpu < 1e-4, `webgpu → cpu: max difference ${r.gpuToCpu}`);
  assert.deepEqual(errors, []);
});

/** In the page: trace and parameters of `window[name]`, with the weights file they came from. */
function inspectIn(name) {
  return page.evaluate(async ({ name, clean }) => {
    const d = window[name];
    const x = new Float32Array(clean).subarray(0, 2 * 784);
    const maps = await d.trace(x);
    const denoised = await d.denoise(x);
    const params = await d.parameters();
    // The safetensors file save_weights writes: an 8-byte header length, a JSON header, the data.
    const file = await d.save_weights();
    const view = new DataView(file.buffer, file.byteOffset);
    const headerLen = Number(view.getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLen)));
    const data = file.slice(8 + headerLen).buffer;
    const fileMatches = params.every((p) => {
      const entry = header[p.name];
      if (!entry || JSON.stringify(entry.shape) !== JSON.stringify(p.shape)) return false;
      const values = new Float32Array(data.slice(entry.data_offsets[0], entry.data_offsets[1]));
      return values.length === p.values.length && values.every((v, i) => v === p.values[i]);
    });
    const last = maps.at(-1).values;
    return {
      maps: maps.map((m) => ({ name: m.name, shape: m.shape, isF32: m.values instanceof Float32Array, values: Array.from(m.values) })),
      outputIsDenoise: last.length === denoised.length && last.every((v, i) => v === denoised[i]),
      params: params.map((p) => ({ name: p.name, shape: p.shape, n: p.values.length })),
      fileMatches,
    };
  }, { name, clean });
}

test('trace gives every stage\'s maps (the last is denoise\'s output) and parameters are the weights file, on the CPU', async () => {
  const r = await inspectIn('cpu');
  assert.deepEqual(r.maps.map((m) => [m.name, m.shape.join('×')]), [
    ['enc1', '2×32×28×28'], ['pool1', '2×32×14×14'], ['enc2', '2×32×14×14'], ['latent', '2×32×7×7'],
    ['dec1', '2×32×7×7'], ['up1', '2×32×14×14'], ['up2', '2×32×28×28'], ['output', '2×1×28×28'],
  ]);
  assert.ok(r.maps.every((m) => m.isF32 && m.values.length === m.shape.reduce((a, b) => a * b, 1)));
  assert.ok(r.outputIsDenoise, 'the output map is what denoise returns');
  assert.equal(r.params.map((p) => p.name).join(' '),
    'enc1.weight enc1.bias enc2.weight enc2.bias dec1.weight dec1.bias up1.weight up1.bias up2.weight up2.bias out.weight out.bias');
  assert.deepEqual(r.params[0].shape, [32, 1, 3, 3]);
  assert.equal(r.params.reduce((a, p) => a + p.n, 0), 37_601);
  assert.ok(r.fileMatches, 'every parameter equals the tensor of that name in save_weights\' file');
  const refused = await page.evaluate(async () => {
    const before = await window.cpu.save_weights();
    const e = await window.cpu.trace(new Float32Array(17 * 784)).catch((e) => e);
    const after = await window.cpu.save_weights();
    return { code: e.code, message: e.message, same: before.every((b, i) => b === after[i]) };
  });
  assert.equal(refused.code, 'invalid_input');
  assert.match(refused.message, /^invalid input: images: expected at most 16 images/);
  assert.ok(refused.same);
  assert.deepEqual(errors, []);
});

test('trace on WebGPU gives the CPU\'s maps within 1e-4 for the same weights', async (t) => {
  if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
  await page.evaluate(async () => {
    window.gpuTrace = await window.dae.Denoiser.create({ backend: 'webgpu' });
    await window.gpuTrace.load_weights(await window.cpu.save_weights());
  });
  const [cpu, gpu] = [await inspectIn('cpu'), await inspectIn('gpuTrace')];
  assert.deepEqual(gpu.maps.map((m) => m.name), cpu.maps.map((m) => m.name));
  for (const [i, m] of gpu.maps.entries()) {
    const ref = cpu.maps[i].values;
    const scale = ref.reduce((a, v) => Math.max(a, Math.abs(v)), 1);
    const diff = m.values.reduce((a, v, j) => Math.max(a, Math.abs(v - ref[j])), 0);
    assert.ok(diff <= 1e-4 * scale, `${m.name}: max |webgpu − cpu| = ${diff} (scale ${scale})`);
  }
  assert.ok(gpu.outputIsDenoise && gpu.fileMatches);
  assert.deepEqual(errors, []);
});

/** In the page: the latent API of `window[name]` over the first 64 test digits. */
function latentIn(name) {
  return page.evaluate(async ({ name, clean }) => {
    const d = window[name];
    const x = new Float32Array(clean);
    const codes = await d.encode(x.subarray(0, 2 * 784));
    const traced = (await d.trace(x.subarray(0, 2 * 784))).find((m) => m.name === 'latent').values;
    const decoded = await d.decode(codes);
    const denoised = await d.denoise(x.subarray(0, 2 * 784));
    const strip = await d.interpolate(x.subarray(0, 784), x.subarray(784, 1568), 5);
    const map = await d.latent_map(x);
    const max = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    const refusals = await Promise.all([
      d.interpolate(x.subarray(0, 784), x.subarray(784, 1568), 1), d.decode(new Float32Array(100)),
      d.latent_map(x.subarray(0, 784)), d.encode(new Float64Array(784)), d.encode(new Float32Array(100)),
      d.interpolate(x.subarray(0, 1568), x.subarray(0, 784), 3),
    ].map((p) => p.then(() => null, (e) => `${e.code}: ${e.message}`)));
    return {
      codes: Array.from(codes), codesAreTrace: max(codes, traced) === 0, decodeIsDenoise: max(decoded, denoised),
      strip: Array.from(strip), ends: [max(strip.subarray(0, 784), denoised.subarray(0, 784)), max(strip.subarray(4 * 784), denoised.subarray(784))],
      map: { x: Array.from(map.x), y: Array.from(map.y), explained: map.explained }, refusals,
    };
  }, { name, clean });
}

test('encode, decode, interpolate and latent_map: codes are the traced latent maps, blends run from one reconstruction to the other', async () => {
  const r = await latentIn('cpu');
  assert.equal(r.codes.length, 2 * 1568);
  assert.ok(r.codesAreTrace, 'encode gives the trace\'s latent stage');
  assert.ok(r.decodeIsDenoise < 1e-6, `decode(encode(x)) = denoise(x): ${r.decodeIsDenoise}`);
  assert.equal(r.strip.length, 5 * 784);
  assert.ok(r.ends[0] < 1e-6 && r.ends[1] < 1e-6, `the strip's ends are the reconstructions: ${r.ends}`);
  assert.equal(r.map.x.length, 64);
  assert.ok(r.map.explained[0] >= r.map.explained[1] && r.map.explained[1] > 0 && r.map.explained[0] + r.map.explained[1] < 1);
  assert.deepEqual(r.refusals, [
    'invalid_input: invalid input: steps: expected an integer from 2 to 32, got 1',
    'invalid_input: invalid input: codes: expected n × 1568 floats with 1 ≤ n ≤ 16384 (flat [32, 7, 7] codes), got 100 floats',
    'invalid_input: invalid input: images: expected at least 2 images to map, got 1',
    'invalid_input: invalid input: images: expected a Float32Array of n × 784 values in [0, 1], got Float64Array(784)',
    'invalid_input: invalid input: images: expected n × 784 floats with n ≥ 1 (flat 28×28 images), got 100 floats (0 × 784 + 100)',
    'invalid_input: invalid input: from: expected one image (784 floats), got 1568 floats (2 × 784)',
  ]);
  assert.deepEqual(errors, []);
});

test('the latent API on WebGPU gives the CPU\'s codes, blends and map within 1e-4', async (t) => {
  if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
  const [cpu, gpu] = [await latentIn('cpu'), await latentIn('gpuTrace')];
  const diff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  const scale = cpu.codes.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  assert.ok(diff(gpu.codes, cpu.codes) <= 1e-4 * scale, `codes: ${diff(gpu.codes, cpu.codes)}`);
  assert.ok(diff(gpu.strip, cpu.strip) <= 1e-4, `blends: ${diff(gpu.strip, cpu.strip)}`);
  // An axis found from slightly different codes may point the other way.
  for (const k of ['x', 'y']) {
    const sign = gpu.map[k].reduce((s, v, i) => s + v * cpu.map[k][i], 0) < 0 ? -1 : 1;
    const range = cpu.map[k].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const d = gpu.map[k].reduce((m, v, i) => Math.max(m, Math.abs(sign * v - cpu.map[k][i])), 0);
    assert.ok(d <= 1e-3 * range, `map ${k}: ${d} of ${range}`);
  }
  assert.ok(gpu.codesAreTrace && gpu.decodeIsDenoise < 1e-6);
  assert.deepEqual(errors, []);
});

test('the CPU module is the relaxed-SIMD build where Chromium runs it, and agrees with the plain SIMD build within 1e-5', async () => {
  // The default entry (this page) picks the build; `?pkg=pkg-cpu` names the plain one.
  assert.equal(await page.evaluate(() => window.dae.simd_level()), 'wasm SIMD128 + relaxed (fused multiply-add)');
  const { page: plain } = await open(context, `${server.url}/tests/browser/harness.html?pkg=pkg-cpu`);
  try {
    await plain.waitForFunction(() => window.daeReady === true, null, { timeout: 60_000 });
    assert.equal(await plain.evaluate(() => window.dae.simd_level()), 'wasm SIMD128');
    const run = (p) => p.evaluate(async (clean) => {
      const { Denoiser, add_noise } = window.dae;
      const c = new Float32Array(clean);
      const x = await add_noise(c, 0.5, 3);
      const d = await Denoiser.create({ backend: 'cpu', seed: 5 });
      const denoised = Array.from(await d.denoise(x));
      const losses = [];
      for (let i = 0; i < 3; i++) losses.push(await d.train_step(x, c));
      const after = Array.from(await d.denoise(x));
      const params = (await d.parameters()).map((a) => ({ name: a.name, values: Array.from(a.values) }));
      d.free();
      return { denoised, losses, after, params };
    }, clean);
    const [fma, mulAdd] = [await run(page), await run(plain)];
    const worst = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    const diffs = {
      denoise: worst(fma.denoised, mulAdd.denoised),
      losses: worst(fma.losses, mulAdd.losses),
      'denoise after 3 steps': worst(fma.after, mulAdd.after),
      weights: Math.max(...fma.params.map((p, i) => worst(p.values, mulAdd.params[i].values))),
    };
    console.log(`relaxed vs plain SIMD, largest differences: ${Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
    assert.equal(fma.denoised.length, 64 * 784);
    for (const [what, d] of Object.entries(diffs)) assert.ok(d <= 1e-5, `${what}: expected within 1e-5 of the plain build, got ${d}`);
  } finally {
    await plain.close();
  }
  // A host that did not copy the relaxed build (its file fails to load) gets the plain one.
  const { page: missing } = await open(context, `${server.url}/tests/browser/harness.html`,
    (p) => p.route('**/pkg-cpu-relaxed/**', (route) => route.fulfill({ status: 404, body: 'not here' })));
  try {
    await missing.waitForFunction(() => window.daeReady === true, null, { timeout: 60_000 });
    assert.equal(await missing.evaluate(() => window.dae.simd_level()), 'wasm SIMD128');
    assert.ok(await missing.evaluate(async () => (await window.dae.Denoiser.create({ backend: 'cpu' })).backend === 'cpu'));
  } finally {
    await missing.close();
  }
});

test('auto follows the one backend policy: WebGPU on a hardware adapter, the CPU on a software one', async (t) => {
  if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
  const r = await page.evaluate(async () => {
    const d = await window.dae.Denoiser.create();
    return { backend: d.backend, note: d.backend_note, software: d.software_adapter, policy: await window.dae.resolve_backend('auto') };
  });
  if (/swiftshader|lavapipe|llvmpipe/i.test(adapter)) {
    assert.equal(r.backend, 'cpu', `a software adapter trains far slower than the CPU: ${r.note}`);
    assert.match(r.note, /CPU renderer/);
  } else {
    assert.equal(r.backend, 'webgpu', r.note);
  }
  assert.equal(r.policy.backend, r.backend, 'resolve_backend says what create does');
});

test('the default entry fetches the WebGPU module only when a model goes to WebGPU', async () => {
  // A page of its own, so that every request it makes is seen from the start.
  const fetched = [];
  const { page: p, errors: errs } = await open(context, `${server.url}/tests/browser/harness.html`,
    (pg) => pg.on('request', (r) => fetched.push(new URL(r.url()).pathname)));
  await p.waitForFunction(() => window.daeReady === true, null, { timeout: 60_000 });
  const full = () => fetched.filter((f) => f === '/www/pkg/mnist_dae_bg.wasm').length;
  // Its relaxed-SIMD build here (Chromium runs relaxed SIMD), and not the plain one as well.
  assert.ok(fetched.includes('/www/pkg-cpu-relaxed/mnist_dae_bg.wasm'), 'init() loads the CPU-only module');
  assert.ok(!fetched.includes('/www/pkg-cpu/mnist_dae_bg.wasm'), 'init() loads one build of the CPU-only module');
  assert.equal(full(), 0, 'init() leaves the WebGPU module alone');
  const onCpu = await p.evaluate(async () => {
    const { Denoiser, Session, add_noise, parameter_count, has_webgpu } = window.dae;
    const d = await Denoiser.create({ backend: 'cpu', seed: 1 });
    const x = await add_noise(new Float32Array(8 * 784).fill(0.5), 0.5, 1);
    const loss = await d.train_step(x, x);
    const bad = await Session.create(new Uint8Array(3), new Uint8Array(3), { backend: 'cpu' }).catch((e) => e.code);
    return { backend: d.backend, loss, instance: d instanceof Denoiser, params: parameter_count(), webgpu: has_webgpu(), bad };
  });
  assert.deepEqual({ ...onCpu, loss: onCpu.loss > 0 }, { backend: 'cpu', loss: true, instance: true, params: 37601, webgpu: true, bad: 'invalid_input' });
  assert.equal(full(), 0, 'a model on the CPU does not fetch the WebGPU module');
  const auto = await p.evaluate(async () => (await window.dae.Denoiser.create()).backend);
  assert.equal(full(), auto === 'webgpu' ? 1 : 0, `"auto" (${auto}) fetches the WebGPU module only when it goes there`);
  const gpu = await p.evaluate(async () => {
    const { Denoiser } = window.dae;
    try {
      const d = await Denoiser.create({ backend: 'webgpu', seed: 1 });
      const again = await Denoiser.create({ backend: 'webgpu', seed: 1 });
      const x = new Float32Array(4 * 784).fill(0.5);
      return { backend: d.backend, instance: d instanceof Denoiser && again instanceof Denoiser, loss: await d.train_step(x, x) };
    } catch (e) {
      return { code: e.code, message: e.message };
    }
  });
  if (adapter) {
    assert.equal(gpu.backend, 'webgpu', JSON.stringify(gpu));
    assert.ok(gpu.instance && gpu.loss > 0, JSON.stringify(gpu));
    assert.equal(full(), 1, 'the WebGPU module is fetched once, for the first model there');
  } else {
    assert.equal(gpu.code, 'backend', gpu.message);
    assert.match(gpu.message, /expected a WebGPU adapter, got none/);
    assert.equal(full(), 0, 'no adapter: nothing fetched');
  }
  assert.deepEqual(errs, []);
  await p.close();
});

test('calls settle in the order they were made on WebGPU as on the CPU', async (t) => {
  const backends = adapter ? ['cpu', 'webgpu'] : ['cpu'];
  for (const backend of backends) {
    const order = await page.evaluate(async ({ backend, clean }) => {
      const { Denoiser } = window.dae;
      const x = new Float32Array(clean).subarray(0, 8 * 784);
      const d = await Denoiser.create({ backend, seed: 2 });
      const file = await d.save_weights();
      const order = [];
      const mark = (name) => (v) => { order.push(typeof v === 'number' ? `${name}:${v}` : name); };
      await Promise.all([
        d.train_step(x, x).then(mark('a')).then(() => d.train_step(x, x)).then(mark('a2')),
        d.train_step(x, x).then(mark('b')),
        d.steps().then(mark('c:steps')),
        d.save_weights().then(mark('d:save')),
        d.load_weights(file).then(mark('e:load')),
        d.steps().then(mark('f:steps')),
        d.denoise(new Float32Array(5)).catch((e) => order.push(`g:${e.code}`)),
      ]);
      order.push(`steps=${await d.steps()}`);
      d.free();
      return order.map((o) => o.replace(/^(a|b|a2):.*/, '$1'));
    }, { backend, clean });
    console.log(`${backend}: ${order.join(' ')}`);
    assert.deepEqual(order, ['a', 'b', 'c:steps:2', 'd:save', 'e:load', 'f:steps:0', 'g:invalid_input', 'a2', 'steps=1'], backend);
  }
  if (!adapter) t.skip('no WebGPU adapter in this Chromium: the CPU only');
});

test('a freed Denoiser on WebGPU rejects 10,000 calls and a new one still trains', async (t) => {
  if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
  const r = await page.evaluate(async ({ clean }) => {
    const { Denoiser } = window.dae;
    const x = new Float32Array(clean).subarray(0, 4 * 784);
    const d = await Denoiser.create({ backend: 'webgpu' });
    d.free();
    let freed = 0;
    for (let i = 0; i < 10_000; i++) await (i % 2 ? d.denoise(x) : d.steps()).catch((e) => { if (e.code === 'freed') freed++; });
    const fresh = await Denoiser.create({ backend: 'webgpu', seed: 1 });
    const loss = await fresh.train_step(x, x);
    return { freed, loss };
  }, { clean });
  assert.equal(r.freed, 10_000);
  assert.ok(Number.isFinite(r.loss) && r.loss > 0, `a new Denoiser trains: ${r.loss}`);
});

test('bad input on WebGPU rejects cleanly and leaves the weights as they were', async (t) => {
  if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
  const r = await page.evaluate(async () => {
    const d = window.gpu;
    const before = await d.save_weights();
    const messages = [];
    for (const call of [
      () => d.train_step(new Float32Array(100), new Float32Array(100)),
      () => d.denoise(new Float32Array(784).fill(2)),
      () => d.load_weights(before.subarray(0, 100)),
    ]) {
      try { await call(); messages.push('resolved'); } catch (e) { messages.push(e instanceof Error ? e.message : String(e)); }
    }
    const afterBytes = await d.save_weights();
    return { messages, same: before.length === afterBytes.length && before.every((b, i) => b === afterBytes[i]) };
  });
  assert.match(r.messages[0], /got 100 floats/);
  assert.match(r.messages[1], /expected values in \[0, 1\], got 2/);
  assert.match(r.messages[2], /invalid weights/);
  assert.ok(r.messages.every((m) => !m.includes('\n')), 'one-line messages');
  assert.ok(r.same, 'weights unchanged');
});
