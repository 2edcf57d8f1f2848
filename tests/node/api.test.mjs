// The built package (pkg/, wasm-pack --target web) in Node 20 on the CPU backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import init, { Denoiser, add_noise, parameter_count } from '../../www/pkg/mnist_dae.js';
import { PIXELS, floats, fnv1a, readMnist } from '../support/mnist.mjs';

await init({ module_or_path: readFileSync(new URL('../../www/pkg/mnist_dae_bg.wasm', import.meta.url)) });
const mnist = readMnist('t10k');
const clean = floats(mnist, 0, 64);
const noisy = add_noise(clean, 0.5, 1);

test('parameter_count is 37,601', () => {
  assert.equal(parameter_count(), 37601);
});

test('add_noise gives the same stream as the native build (golden FNV-1a)', () => {
  const grey = new Float32Array(2 * PIXELS).fill(0.5);
  const out = add_noise(grey, 0.5, 2024);
  assert.ok(out instanceof Float32Array);
  assert.equal(out.length, grey.length);
  const golden = readFileSync(new URL('../fixtures/noise-seed2024.txt', import.meta.url), 'utf8').trim();
  assert.equal(fnv1a(out), golden);
  assert.throws(() => add_noise(grey, 0.5, 1.5), /seed: expected an integer/);
  assert.throws(() => add_noise(grey.subarray(0, 10), 0.5, 1), /got 10 floats \(0 × 784 \+ 10\)/);
});

test('create: cpu runs, auto falls back to the CPU and says why, webgpu rejects clearly', async () => {
  const cpu = await Denoiser.create({ backend: 'cpu' });
  assert.equal(cpu.backend, 'cpu');
  assert.match(cpu.backend_note, /CPU/);
  const auto = await Denoiser.create();
  assert.equal(auto.backend, 'cpu');
  assert.match(auto.backend_note, /WebGPU not used: .*navigator\.gpu/);
  await assert.rejects(Denoiser.create({ backend: 'webgpu' }), /backend "webgpu" requested, but .*navigator\.gpu/);
  await assert.rejects(Denoiser.create({ backend: 'gpu' }), /options\.backend: expected "auto", "webgpu" or "cpu", got "gpu"/);
  await assert.rejects(Denoiser.create({ activation: 'tanh' }), /options\.activation: expected "leaky_relu" or "relu", got "tanh"/);
  await assert.rejects(Denoiser.create({ learnig_rate: 0.1 }), /unknown key "learnig_rate"/);
  await assert.rejects(Denoiser.create({ seed: -1 }), /seed: expected an integer/);
  const relu = await Denoiser.create({ backend: 'cpu', activation: 'relu' });
  assert.equal(await relu.activation(), 'relu');
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
    [() => d.load_weights(before.subarray(0, before.length - 9)), /invalid weights/],
    [() => d.load_weights(new TextEncoder().encode('not a weights file at all')), /invalid weights/],
  ];
  for (const [call, message] of cases) {
    await assert.rejects(call(), (e) => e instanceof Error && message.test(e.message));
  }
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
