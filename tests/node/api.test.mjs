// The package's API (www/mnist-dae.js given the full module, wasm-bindgen's `{ module_or_path }`) in
// Node 20 on the CPU backend: the Denoiser's promises (order, freed objects, refusals), the
// noise, and the training Session the native trainer runs too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import init, { Denoiser, Session, add_noise, parameter_count, resolve_backend } from '../../www/mnist-dae.js';
import { PIXELS, floats, fnv1a, mnst, readMnist } from '../support/mnist.mjs';

await init({ module_or_path: readFileSync(new URL('../../www/pkg/mnist_dae_bg.wasm', import.meta.url)) });
const mnist = readMnist('t10k');
const clean = floats(mnist, 0, 64);
const noisy = await add_noise(clean, 0.5, 1);

/** `fn` rejects (never throws) with an Error of `code` whose one-line message matches `re`. */
async function refuses(fn, code, re) {
  let promise;
  assert.doesNotThrow(() => { promise = fn(); }, 'no synchronous throw');
  assert.ok(promise instanceof Promise, 'a promise');
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Error, `an Error, got ${e}`);
    assert.equal(e.code, code, `code of "${e.message}"`);
    assert.equal(e.name, 'MnistDaeError');
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return true;
  });
}

test('parameter_count is 37,601', () => {
  assert.equal(parameter_count(), 37601);
});

test('add_noise gives the same stream as the native build (golden FNV-1a)', async () => {
  const grey = new Float32Array(2 * PIXELS).fill(0.5);
  const out = await add_noise(grey, 0.5, 2024);
  assert.ok(out instanceof Float32Array);
  assert.equal(out.length, grey.length);
  const golden = readFileSync(new URL('../fixtures/noise-seed2024.txt', import.meta.url), 'utf8').trim();
  assert.equal(fnv1a(out), golden);
  await refuses(() => add_noise(grey, 0.5, 1.5), 'invalid_input', /seed: expected an integer/);
  await refuses(() => add_noise(grey.subarray(0, 10), 0.5, 1), 'invalid_input', /got 10 floats \(0 × 784 \+ 10\)/);
});

test('create: cpu runs, auto is the CPU here and says why, webgpu rejects clearly', async () => {
  const cpu = await Denoiser.create({ backend: 'cpu' });
  assert.equal(cpu.backend, 'cpu');
  assert.match(cpu.backend_note, /CPU/);
  const auto = await Denoiser.create();
  assert.equal(auto.backend, 'cpu');
  assert.match(auto.backend_note, /no WebGPU here \(.*navigator\.gpu/);
  assert.deepEqual(await resolve_backend('auto'), { backend: 'cpu', note: auto.backend_note, software: false });
  await refuses(() => Denoiser.create({ backend: 'webgpu' }), 'backend', /backend "webgpu": expected a WebGPU adapter, got none \(.*navigator\.gpu/);
  await refuses(() => Denoiser.create({ backend: 'gpu' }), 'invalid_input', /options\.backend: expected one of "auto", "webgpu", "cpu", got "gpu"$/);
  await refuses(() => Denoiser.create({ backend: null }), 'invalid_input', /options\.backend: expected "auto", "webgpu" or "cpu", got null$/);
  await refuses(() => Denoiser.create({ activation: 'tanh' }), 'invalid_input', /options\.activation: expected "leaky_relu" or "relu", got "tanh"/);
  await refuses(() => Denoiser.create({ learnig_rate: 0.1 }), 'invalid_input', /options: unknown field "learnig_rate", expected one of "backend", "seed", "learning_rate", "activation"$/);
  await refuses(() => Denoiser.create({ seed: -1 }), 'invalid_input', /seed: expected an integer/);
  const relu = await Denoiser.create({ backend: 'cpu', activation: 'relu' });
  assert.equal(await relu.activation(), 'relu');
});

test('no coercion: wrong types are refused, naming what came, as rejected promises', async () => {
  const d = await Denoiser.create({ backend: 'cpu' });
  const image = clean.subarray(0, PIXELS);
  await refuses(() => add_noise(image, null, 1), 'invalid_input', /factor: expected a number, got null/);
  await refuses(() => add_noise(image, '0.5', 1), 'invalid_input', /factor: expected a number, got "0\.5"$/);
  await refuses(() => add_noise(image, 'x'.repeat(5000), 1), 'invalid_input', /factor: expected a number, got a string starting "x{40}"…$/);
  await refuses(() => d.set_learning_rate(true), 'invalid_input', /learning_rate: expected a number, got true/);
  await refuses(() => d.set_learning_rate(0), 'invalid_input', /expected a finite number in \(0, 1\], got 0$/);
  await refuses(() => Denoiser.create([]), 'invalid_input', /options: expected a plain object, got Array\(0\)/);
  await refuses(() => Denoiser.create(new Map([['seed', 1]])), 'invalid_input', /options: expected a plain object, got an object \(Map\)/);
  await refuses(() => Denoiser.create({ seed: true }), 'invalid_input', /options\.seed: expected a number, got true$/);
  await refuses(() => Denoiser.create({ seed: '1' }), 'invalid_input', /options\.seed: expected a number, got "1"$/);
  const trap = new Proxy({}, { ownKeys() { throw new Error('trap'); } });
  await refuses(() => Denoiser.create(trap), 'invalid_input', /options: expected a readable object, got one that threw: trap/);
  await refuses(() => d.denoise(Array(784).fill(null)), 'invalid_input', /noisy: expected a Float32Array .*, got Array\(784\)/);
  await refuses(() => d.denoise(new Float64Array(784)), 'invalid_input', /got Float64Array\(784\)/);
  await refuses(() => d.denoise(null), 'invalid_input', /got null/);
  await refuses(() => d.train_step(noisy, undefined), 'invalid_input', /clean: expected a Float32Array .*, got undefined/);
  await refuses(() => d.load_weights(new Float32Array(4)), 'invalid_input', /weights: expected bytes \(a Uint8Array, ArrayBuffer or DataView\), got Float32Array\(4\)/);
  // Bytes come as a Uint8Array, an ArrayBuffer or a DataView alike.
  const file = await d.save_weights();
  const copy = file.slice();
  await d.load_weights(copy.buffer);
  await d.load_weights(new DataView(copy.buffer));
  assert.deepEqual(await d.save_weights(), file);
});

test('a typed array of 2 GiB or more is refused before it is copied, and the module goes on', async () => {
  const d = await Denoiser.create({ backend: 'cpu' });
  const huge = new Float32Array(2 ** 29); // 2 GiB, never touched: no memory is committed
  await refuses(() => d.denoise(huge), 'invalid_input', /noisy: expected at most 16384 images \(12845056 floats\), got 536870912 floats/);
  await refuses(() => d.evaluate(huge, huge), 'invalid_input', /at most 16384 images/);
  await refuses(() => d.train_step(huge, huge), 'invalid_input', /noisy: expected at most 256 images/);
  await refuses(() => add_noise(huge, 0.5, 1), 'invalid_input', /clean: expected at most 16384 images/);
  await refuses(() => d.load_weights(new Uint8Array(2 ** 31)), 'invalid_input', /weights: expected at most 268435456 bytes, got 2147483648/);
  assert.equal((await d.denoise(clean.subarray(0, PIXELS))).length, PIXELS);
});

test('calls settle in the order they were made, a refused one too', async () => {
  const d = await Denoiser.create({ backend: 'cpu', seed: 6 });
  const order = [];
  const note = (name) => (v) => { order.push(`${name}:${v instanceof Uint8Array ? 'bytes' : v}`); };
  const fail = (name) => (e) => { order.push(`${name}:${e.code}`); };
  const file = await d.save_weights();
  await Promise.all([
    d.train_step(noisy, clean).then(() => order.push('a')).then(() => d.steps().then(note('after-a'))),
    d.train_step(noisy, clean).then(() => order.push('b')),
    d.steps().then(note('c')),
    d.denoise(new Float32Array(3)).catch(fail('d')),
    d.load_weights(file).then(() => order.push('e')),
    d.steps().then(note('f')),
  ]);
  assert.deepEqual(order, ['a', 'b', 'c:2', 'd:invalid_input', 'e', 'f:0', 'after-a:0']);
});

test('a freed Denoiser rejects every call, 10,000 times, and the module is unharmed', async () => {
  const d = await Denoiser.create({ backend: 'cpu' });
  const backend = d.backend;
  d.free();
  assert.equal(d.backend, backend, 'it still says where it ran');
  const methods = [() => d.train_step(noisy, clean), () => d.denoise(noisy), () => d.evaluate(noisy, clean),
    () => d.save_weights(), () => d.load_weights(new Uint8Array(8)), () => d.steps(), () => d.activation(),
    () => d.set_learning_rate(0.1)];
  let rejected = 0;
  for (let i = 0; i < 10_000; i++) {
    await methods[i % methods.length]().catch((e) => { if (e.code === 'freed' && /freed/.test(e.message)) rejected++; });
  }
  assert.equal(rejected, 10_000);
  d.free();
  const fresh = await Denoiser.create({ backend: 'cpu', seed: 1 });
  assert.ok(Number.isFinite(await fresh.train_step(noisy, clean)));
  assert.equal((await fresh.denoise(noisy)).length, noisy.length);
  assert.throws(() => new Denoiser(), /Denoiser\.create\(\)/);
});

test('train_step lowers the loss; denoise has n × 784 outputs in (0, 1)', async () => {
  const d = await Denoiser.create({ backend: 'cpu', seed: 3 });
  const before = await d.evaluate(noisy, clean);
  const losses = [];
  for (let i = 0; i < 8; i++) losses.push(await d.train_step(noisy, clean));
  const after = await d.evaluate(noisy, clean);
  assert.ok(Math.abs(losses[0] - before) < 1e-5, `first step reports the pre-update loss (${losses[0]} vs ${before})`);
  assert.ok(after < before * 0.9, `loss ${before} → ${after}`);
  assert.equal(await d.steps(), 8);
  const out = await d.denoise(noisy.subarray(0, 3 * PIXELS));
  assert.ok(out instanceof Float32Array);
  assert.equal(out.length, 3 * PIXELS);
  assert.ok(out.every((v) => v > 0 && v < 1));
});

test('weights round-trip bit-exact between two denoisers', async () => {
  const a = await Denoiser.create({ backend: 'cpu', seed: 1 });
  await a.train_step(noisy, clean);
  const bytes = await a.save_weights();
  assert.ok(bytes instanceof Uint8Array);
  const b = await Denoiser.create({ backend: 'cpu', seed: 2 });
  await b.load_weights(bytes);
  assert.deepEqual(await b.save_weights(), bytes);
  assert.deepEqual(await b.denoise(noisy), await a.denoise(noisy));
});

test('bad input rejects with a message naming expected and got, and changes nothing', async () => {
  const d = await Denoiser.create({ backend: 'cpu', seed: 4 });
  await d.train_step(noisy, clean);
  const before = await d.save_weights();
  const nan = noisy.slice(); nan[3] = NaN;
  const cases = [
    [() => d.train_step(noisy.subarray(0, 50000), clean.subarray(0, 50000)), /got 50000 floats \(63 × 784 \+ 608\)/],
    [() => d.train_step(new Float32Array(0), new Float32Array(0)), /n ≥ 1.*got 0 floats/],
    [() => d.train_step(nan, clean), /got NaN \(not finite\) at index 3/],
    [() => d.train_step(noisy, clean.subarray(0, PIXELS)), /expected 50176 floats \(64 × 784\) to match noisy, got 784 floats \(1 × 784\)/],
    [() => d.evaluate(noisy.map((v) => v * 2), clean), /expected values in \[0, 1\]/],
    [() => d.denoise(new Float32Array(10)), /got 10 floats/],
    [() => d.load_weights(before.subarray(0, before.length - 9)), /invalid weights/, 'invalid_weights'],
    [() => d.load_weights(new TextEncoder().encode('not a weights file at all')), /invalid weights/, 'invalid_weights'],
  ];
  for (const [call, message, code = 'invalid_input'] of cases) await refuses(call, code, message);
  assert.deepEqual(await d.save_weights(), before);
  assert.equal(await d.steps(), 1);
});

test('overlapping calls queue instead of failing', async () => {
  const d = await Denoiser.create({ backend: 'cpu', seed: 5 });
  const calls = [
    d.train_step(noisy, clean), d.denoise(noisy), d.evaluate(noisy, clean),
    d.save_weights(), d.train_step(noisy, clean), d.steps(),
  ];
  const results = await Promise.all(calls);
  assert.equal(results[5], 2, 'steps() ran after both queued train steps');
  assert.ok(results[4] < results[0], 'second step saw the first update');
});

const train = readMnist('train');

test('Session: shuffled epochs, validation on a fixed-noise subset, history, state and resume', async () => {
  const session = await Session.create(mnst(train, 0, 320), mnst(mnist, 0, 1000),
    { backend: 'cpu', seed: 3, batch_size: 32, epochs: 2, val_images: 64 });
  assert.equal(session.backend, 'cpu');
  const first = await session.validate();
  assert.equal(first.count, 64);
  assert.ok(first.loss > 0.6 && first.psnr_denoised < first.psnr_noisy, JSON.stringify(first));
  const r = await session.train(12);
  assert.equal(r.reports.length, 12);
  assert.deepEqual(r.reports.map((s) => s.steps), Array.from({ length: 12 }, (_, i) => i + 1));
  assert.equal(r.epochs.length, 1, 'the epoch of 10 steps closed with its validation');
  assert.deepEqual([r.epochs[0].epoch, r.epochs[0].steps], [1, 10]);
  assert.deepEqual([r.status.steps, r.status.epoch, r.status.steps_in_epoch, r.status.steps_per_epoch], [12, 1, 2, 10]);
  assert.ok(r.reports.every((s) => s.images === 32 && s.images_per_second > 0));
  assert.equal((await session.validate(16)).count, 16);
  // The training noise changes, the validation noise stays: the same model scores the same.
  const before = await session.validate();
  const status = await session.configure({ noise_factor: 0.9, batch_size: 64 });
  assert.deepEqual([status.noise_factor, status.batch_size, status.steps_per_epoch], [0.9, 64, 5]);
  assert.deepEqual(await session.validate(), before);
  await refuses(() => session.configure({ batch_size: 0 }), 'invalid_input', /batch size: expected 1 to 256, got 0/);
  await refuses(() => session.configure({ speed: 2 }), 'invalid_input', /unknown field "speed"/);
  await refuses(() => session.configure({ epochs: 2.5 }), 'invalid_input', /^invalid input: settings\.epochs: expected a whole number ≥ 0, got the number 2\.5$/);
  assert.equal((await session.status()).batch_size, 64, 'a refused change changes nothing');
  // State and weights continue the run in another session (another module, in the widget).
  const [state, weights] = [await session.state(), await session.save_weights()];
  const again = await Session.resume(JSON.parse(JSON.stringify(state)), weights, mnst(train, 0, 320), mnst(mnist, 0, 1000));
  assert.deepEqual(await again.status(), await session.status());
  assert.deepEqual(await again.validate(), before);
  assert.deepEqual(await again.history(), r.epochs);
  const panels = await again.panels([0, 1, 2], 0.5, 7);
  assert.deepEqual(Array.from(panels.labels), [7, 2, 1]);
  assert.equal(panels.denoised.length, 3 * PIXELS);
  await refuses(() => again.panels([1000], 0.5, 7), 'invalid_input', /index: expected an image index below 1000, got 1000/);
  await refuses(() => again.image('val', 0), 'invalid_input', /split: expected "train" or "test", got "val"$/);
  await refuses(() => Session.create(new Uint8Array(10), mnst(mnist, 0, 10)), 'invalid_input',
    /^invalid input: train: MNIST file: expected an "MNST" file \(4d 4e 53 54 …\), got 10 bytes starting 00 00 00 00$/);
  // The files are shipped gzipped: passing one as it was downloaded says so.
  await refuses(() => Session.create(mnst(train, 0, 10), gzipSync(mnst(mnist, 0, 10))), 'invalid_input',
    /^invalid input: test: MNIST file: .*, got \d+ bytes starting 1f 8b 08 00 \(gzip: decompress it first\)$/);
  await refuses(() => Session.resume({ nonsense: 1 }, weights, mnst(train, 0, 320), mnst(mnist, 0, 10)), 'invalid_weights',
    /^invalid weights: saved training \(what Session\.state\(\) gave\): expected a field "config", got an object without it$/);
  await refuses(() => Session.resume({ ...JSON.parse(JSON.stringify(state)), steps: '5' }, weights, mnst(train, 0, 320), mnst(mnist, 0, 10)),
    'invalid_weights', /^invalid weights: saved training\.steps \(what Session\.state\(\) gave\): expected a whole number ≥ 0, got "5"$/);
  await refuses(() => Session.resume({ ...JSON.parse(JSON.stringify(state)), history: null }, weights, mnst(train, 0, 320), mnst(mnist, 0, 10)),
    'invalid_weights', /^invalid weights: saved training\.history \(what Session\.state\(\) gave\): expected an object or an Array, got null$/);
  // A field inside a list is named by its path, the value found there described.
  await refuses(() => Session.resume({ ...JSON.parse(JSON.stringify(state)), history: [{ epoch: 'a' }] }, weights, mnst(train, 0, 320), mnst(mnist, 0, 10)),
    'invalid_weights', /^invalid weights: saved training\.history\[0\]\.epoch \(what Session\.state\(\) gave\): expected a whole number ≥ 0, got "a"$/);
  await refuses(() => Session.resume([], weights, mnst(train, 0, 320), mnst(mnist, 0, 10)), 'invalid_weights', /^invalid weights: saved training \(what Session\.state\(\) gave\): expected a field "config", got Array\(0\) without it$/);
  // A getter that throws, however deep, is refused with what it threw; a Proxy that reads as the
  // state (a framework's reactive copy of it) resumes as the state does.
  const history = JSON.parse(JSON.stringify(state.history));
  Object.defineProperty(history[0], 'val_loss', { enumerable: true, get() { throw new Error('no access\nsecond line'); } });
  await refuses(() => Session.resume({ ...JSON.parse(JSON.stringify(state)), history }, weights, mnst(train, 0, 320), mnst(mnist, 0, 10)),
    'invalid_weights', /^invalid weights: saved training \(what Session\.state\(\) gave\): expected a readable object, got one that threw: no access$/);
  const reactive = (o) => (typeof o === 'object' && o !== null ? new Proxy(o, { get: (t, k) => reactive(Reflect.get(t, k)) }) : o);
  const viaProxy = await Session.resume(reactive(JSON.parse(JSON.stringify(state))), weights, mnst(train, 0, 320), mnst(mnist, 0, 1000));
  assert.deepEqual(await viaProxy.status(), await session.status());
  assert.deepEqual(await viaProxy.history(), r.epochs);
});

test('Session: the shipped weights score what the native trainer recorded (same validation)', async () => {
  const session = await Session.create(mnst(train, 0, 64), mnst(mnist, 0, 10000), { backend: 'cpu', val_images: 1000 });
  const status = await session.load_weights(readFileSync(new URL('../../www/pretrained/mnist-dae.safetensors', import.meta.url)));
  assert.equal(status.steps, 0);
  const csv = readFileSync(new URL('../../www/pretrained/history.csv', import.meta.url), 'utf8').trim().split('\n');
  const recorded = Number(csv.at(-1).split(',')[3]);
  const v = await session.validate();
  assert.ok(Math.abs(v.loss - recorded) < 0.005, `validation on the first 1,000 test images ${v.loss}, recorded on 10,000: ${recorded}`);
  assert.ok(v.psnr_denoised > v.psnr_noisy + 8, JSON.stringify(v));
});
