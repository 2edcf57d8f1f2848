// The element as a script drives it (headless Chromium, CPU): the training set downloaded only
// when training starts (or when the element is seen), methods called before it is ready,
// the `data`, `validated` and `epoch` events, the `epochs` and `controls` attributes, weights in
// and out as bytes or a URL, and each refusal as a rejected promise with a `code`. Training runs
// on a tiny training set (128 images: two steps an epoch), served from another origin with CORS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { serve } from '../support/server.mjs';
import { launch, open } from '../support/chromium.mjs';
import { mnst, readMnist } from '../support/mnist.mjs';

const dir = mkdtempSync(join(tmpdir(), 'mnist-dae-element-'));
writeFileSync(join(dir, 'mnist-train.bin.gz'), gzipSync(mnst(readMnist('train'), 0, 128)));
writeFileSync(join(dir, 'mnist-test.bin.gz'), gzipSync(mnst(readMnist('t10k'), 0, 600)));
writeFileSync(join(dir, 'sample.bin.gz'), gzipSync(mnst(readMnist('t10k'), 600, 100)));

let site, data, context, page, errors;
before(async () => {
  [site, data] = [await serve(), await serve(dir, { headers: { 'access-control-allow-origin': '*' } })];
  context = await launch();
  ({ page, errors } = await open(context, `${site.url}/tests/browser/element.html`));
  await page.waitForFunction(() => customElements.get('mnist-dae'));
});
after(async () => {
  await context?.close();
  await Promise.all([site?.close(), data?.close()]);
});

const trainer = () => page.locator('#api');
const statusText = () => trainer().locator('[part="status"]').textContent();
const events = (type) => page.evaluate((type) => window.events.filter((e) => e.type === type), type);
const stat = (name) => trainer().locator('.stats div', { hasText: name }).locator('dd').textContent();
/** What a call on the element settles to: `{ok, value}` or `{ok: false, code, message}`. */
const settle = (fn, arg) => page.evaluate(async ({ fn, arg }) => {
  try {
    const value = await new Function('el', 'arg', `return (${fn})(el, arg)`)(document.querySelector('#api'), arg);
    return { ok: true, value: value instanceof Uint8Array ? { bytes: value.length, header: Number(new DataView(value.buffer).getBigUint64(0, true)) } : value ?? null };
  } catch (e) {
    return { ok: false, name: e.name, code: e.code, message: e.message };
  }
}, { fn: fn.toString(), arg });

test('train() before the element is ready starts it once it is; data, validated and epoch events; Finished at the last epoch', async () => {
  await page.evaluate((dataUrl) => {
    const el = Object.assign(document.createElement('mnist-dae'), { id: 'api' });
    for (const [k, v] of Object.entries({ mode: 'train', backend: 'cpu', epochs: '2', controls: 'stats plot log', data: dataUrl })) el.setAttribute(k, v);
    window.events = [];
    for (const type of ['ready', 'data', 'validated', 'epoch', 'error']) el.addEventListener(type, (e) => window.events.push({ type, ...e.detail }));
    document.body.append(el);
    window.started = el.train().then(() => 'started', (e) => e.message);
  }, `${data.url}/`);
  assert.equal(await page.evaluate(() => window.started), 'started');
  await trainer().locator('[part="status"]').getByText(/^Finished 2 epochs at step 4: validation loss \d\.\d{4}; saved in this browser\.$/).waitFor({ timeout: 120_000 });
  // The ready event carries what the typings name (MnistDaeReadyDetail), nothing more.
  const [ready] = await events('ready');
  assert.deepEqual(Object.keys(ready).sort(), ['backend', 'backendNote', 'cpuKernels', 'mode', 'softwareAdapter', 'type']);
  assert.deepEqual([ready.mode, ready.backend, ready.softwareAdapter], ['train', 'cpu', false]);
  assert.match(ready.cpuKernels, /^wasm SIMD128/);
  // The sample first (100 digits), the training set when training started.
  assert.deepEqual((await events('data')).map(({ train, test: n }) => [train, n]), [[0, 100], [128, 600]]);
  const epochs = await events('epoch');
  assert.deepEqual(epochs.map((e) => [e.epoch, e.step]), [[1, 2], [2, 4]]);
  const validated = await events('validated');
  for (const e of epochs) {
    assert.ok([e.trainLoss, e.valLoss, e.psnrNoisy, e.psnr].every((v) => Number.isFinite(v) && v > 0), JSON.stringify(e));
    assert.ok(validated.some((v) => v.step === e.step && v.loss === e.valLoss), `the epoch's validation is a validated event too: ${JSON.stringify(e)}`);
  }
  assert.deepEqual([validated[0].step, validated[0].count], [0, 100], 'validated on the sample at first');
  assert.deepEqual([validated[1].step, validated[1].count], [0, 500], 'validated on the test images before training');
  assert.equal(validated.at(-1).step, 4);
  assert.equal(validated.at(-1).count, 500);
  assert.equal(validated.at(-1).loss.toFixed(4), await stat('Val. loss'), 'the event says what the element shows');
  assert.deepEqual(await settle((el) => el.pause()), { ok: true, value: null }, 'pause() when nothing trains resolves');
  assert.deepEqual(await events('error'), []);
});

test('controls shows only the groups it names, and follows the attribute', async () => {
  const train = trainer().getByRole('button', { name: 'Train', exact: true });
  const visible = async () => ({
    train: await train.isVisible(),
    stats: await trainer().getByText('Val. loss').isVisible(),
    plot: await trainer().getByRole('heading', { name: /^Loss/ }).isVisible(),
    pad: await trainer().getByRole('heading', { name: 'Draw your own' }).isVisible(),
    weights: await trainer().getByRole('button', { name: 'Save weights' }).isVisible(),
    settings: await trainer().getByLabel('Batch').isVisible(),
  });
  assert.deepEqual(await visible(), { train: false, stats: true, plot: true, pad: false, weights: false, settings: false });
  await page.evaluate(() => document.querySelector('#api').setAttribute('controls', 'train settings'));
  assert.deepEqual(await visible(), { train: true, stats: false, plot: false, pad: false, weights: false, settings: true });
  await page.evaluate(() => document.querySelector('#api').removeAttribute('controls'));
  assert.deepEqual(await visible(), { train: true, stats: true, plot: true, pad: true, weights: true, settings: true });
});

test('the epochs attribute lengthens the run; train() and pause() from script', async () => {
  await page.evaluate(() => document.querySelector('#api').setAttribute('epochs', '3'));
  await trainer().getByRole('list', { name: 'Recent events' }).getByText('Epochs set to 3.').waitFor();
  assert.equal(await stat('Epoch'), '3 / 3');
  assert.deepEqual(await settle((el) => el.train()), { ok: true, value: null });
  await trainer().locator('[part="status"]').getByText(/^Finished 3 epochs at step 6:/).waitFor({ timeout: 120_000 });
  assert.deepEqual((await events('epoch')).map((e) => e.epoch), [1, 2, 3]);
});

test('saveWeights() gives the bytes; loadWeights takes bytes or a URL; refusals reject with a code and change nothing', async () => {
  const before = { step: await stat('Step'), val: await stat('Val. loss') };
  const saved = await settle(async (el) => { window.saved = await el.saveWeights(); return window.saved; });
  assert.ok(saved.ok && saved.value.bytes > 37_601 * 4 && saved.value.header > 0, JSON.stringify(saved));
  const bad = await settle((el) => el.loadWeights(new Uint8Array([1, 2, 3])));
  assert.deepEqual([bad.ok, bad.name, bad.code], [false, 'MnistDaeError', 'invalid_weights']);
  assert.match(bad.message, /^Could not load 3 bytes of weights: .+\. The model is unchanged\.$/);
  assert.deepEqual({ step: await stat('Step'), val: await stat('Val. loss') }, before, 'the model and its run are as they were');
  const odd = await settle((el) => el.loadWeights(42));
  assert.deepEqual([odd.ok, odd.code, odd.message], [false, 'invalid_input', 'loadWeights: expected a Uint8Array, an ArrayBuffer, a DataView or a URL, got number']);
  // A URL that does not answer with a file: code "network", the URL named once.
  const missing = await settle((el) => el.loadWeights('/nowhere.safetensors'));
  assert.deepEqual([missing.ok, missing.name, missing.code], [false, 'MnistDaeError', 'network']);
  assert.match(missing.message, /^Could not load weights: http:\/\/[^ ]+\/nowhere\.safetensors: expected a safetensors file, got HTTP 404\. The model is unchanged\.$/);
  assert.deepEqual((await events('error')).at(-1), { type: 'error', message: missing.message, code: 'network' });
  assert.deepEqual({ step: await stat('Step'), val: await stat('Val. loss') }, before, 'still as they were');
  // A DataView, as the API's load_weights takes: a view into a larger buffer, at an offset.
  assert.deepEqual(await settle((el) => {
    const big = new Uint8Array(window.saved.length + 32);
    big.set(window.saved, 16);
    return el.loadWeights(new DataView(big.buffer, 16, window.saved.length));
  }), { ok: true, value: null });

  assert.deepEqual(await settle((el) => el.loadWeights(window.saved.buffer)), { ok: true, value: null });
  assert.equal(await stat('Step'), '0 (0/2)', 'loaded weights start a new run');
  assert.ok(Math.abs(Number(await stat('Val. loss')) - Number(before.val)) < 2e-4, 'the same weights, the same validation');
  assert.deepEqual(await settle((el) => el.loadWeights('/www/pretrained/mnist-dae.safetensors')), { ok: true, value: null });
  const pretrained = (await events('validated')).at(-1);
  assert.ok(pretrained.loss < Number(before.val) - 0.1, `the pretrained weights validate lower: ${pretrained.loss} vs ${before.val}`);
  assert.match(await statusText(), /^Ready/);
});

test('a denoise widget takes weights too but has nothing to train; a detached element says so', async () => {
  const r = await page.evaluate(async () => {
    const el = Object.assign(document.createElement('mnist-dae'), { id: 'strip' });
    el.setAttribute('backend', 'cpu');
    document.body.append(el);
    const out = {};
    await el.train().catch((e) => { out.train = [e.code, e.message]; });
    out.saved = (await el.saveWeights()).length;
    const loose = document.createElement('mnist-dae');
    await loose.saveWeights().catch((e) => { out.loose = [e.code, e.message]; });
    return out;
  });
  assert.deepEqual(r.train, ['mode', 'train(): expected mode="train", got mode="denoise"']);
  assert.ok(r.saved > 37_601 * 4);
  assert.deepEqual(r.loose, ['not_connected', 'saveWeights(): expected the element in a document, got a detached <mnist-dae>']);
  // The one console error is the browser's note of the 404 asked for above.
  assert.deepEqual(errors.filter((e) => !/404/.test(e)), []);
});

test('lazy by default: no training set until Train; load="visible" fetches it when the element is seen', async () => {
  const asked = [];
  const listen = (r) => { if (r.url().startsWith(data.url)) asked.push(new URL(r.url()).pathname); };
  context.on('request', listen);
  try {
    await page.evaluate((dataUrl) => {
      for (const [id, load, style] of [['lazy', 'lazy', ''], ['seen', 'visible', 'display: block; margin-top: 4000px']]) {
        const el = Object.assign(document.createElement('mnist-dae'), { id });
        for (const [k, v] of Object.entries({ mode: 'train', backend: 'cpu', data: dataUrl, load, style })) el.setAttribute(k, v);
        document.body.append(el);
      }
    }, `${data.url}/`);
    const [lazy, seen] = [page.locator('#lazy'), page.locator('#seen')];
    for (const w of [lazy, seen]) await w.locator('[part="status"]').getByText(/^Ready/).waitFor({ timeout: 60_000 });
    assert.ok(Number(await lazy.evaluate((w) => w.dataset.panels)) >= 1, 'the sample digits are drawn at once');
    assert.match(await lazy.getByText(/^MNIST: /).textContent(), /^MNIST: 100 sample digits for now/);
    await page.waitForTimeout(500);
    assert.deepEqual(asked.filter((p) => p !== '/sample.bin.gz'), [], 'nothing but the sample before Train or a scroll');
    await lazy.getByRole('button', { name: 'Train', exact: true }).click();
    await lazy.getByRole('button', { name: 'Pause' }).click();
    await lazy.locator('[part="status"]').getByText(/^Paused at step [1-9]/).waitFor({ timeout: 60_000 });
    assert.match(await lazy.getByText(/^MNIST: /).textContent(), /^MNIST: 128 training and 600 test images$/);
    assert.deepEqual(asked.filter((p) => p !== '/sample.bin.gz').sort(), ['/mnist-test.bin.gz', '/mnist-train.bin.gz'], 'Train fetched the sets');
    await seen.scrollIntoViewIfNeeded();
    await seen.getByText(/^MNIST: 128 training and 600 test images$/).waitFor({ timeout: 60_000 });
    assert.equal(await seen.locator('.stats div', { hasText: 'Step' }).locator('dd').textContent(), '0 (0/2)', 'ready to train, untouched');
  } finally {
    context.off('request', listen);
    await page.evaluate(() => { document.querySelector('#lazy')?.remove(); document.querySelector('#seen')?.remove(); });
  }
});

test('numeric attributes out of range are clamped, 0 included; anything else is the default', async () => {
  const read = await page.evaluate(() => {
    const el = document.createElement('mnist-dae');
    const out = {};
    for (const [name, values] of [['digits', ['0', '1', '16', '99', '-2', 'abc']], ['epochs', ['0', '7', '5000', 'abc']], ['noise', ['-1', '0.3', '2', 'abc']]]) {
      out[name] = values.map((v) => { el.setAttribute(name, v); return el[name]; });
    }
    return out;
  });
  assert.deepEqual(read, { digits: [1, 1, 16, 16, 1, 6], epochs: [1, 7, 1000, 25], noise: [0, 0.3, 1, 0.5] });
});

test('size and theme: digits capped by --mnist-dae-digit-size and never under 28 px; a dark theme reaches the slider, the pad ring and the font', async () => {
  const look = await page.evaluate(async () => {
    const el = Object.assign(document.createElement('mnist-dae'), { id: 'dark' });
    el.setAttribute('backend', 'cpu');
    el.setAttribute('digits', '4');
    el.style.cssText = '--mnist-dae-bg: rgb(17, 17, 17); --mnist-dae-fg: rgb(238, 238, 238); --mnist-dae-accent: rgb(138, 180, 248); --mnist-dae-pad-border: rgb(200, 200, 200); --mnist-dae-font-size: 16px; --mnist-dae-digit-size: 50px';
    document.body.append(el);
    await new Promise((resolve) => el.addEventListener('ready', resolve, { once: true }));
    const root = el.shadowRoot;
    const css = (sel) => getComputedStyle(root.querySelector(sel));
    const strip = root.querySelector('canvas.strip').getBoundingClientRect().width;
    el.setAttribute('digits', '16');
    await new Promise((resolve) => setTimeout(resolve, 300));
    return {
      strip, sixteen: root.querySelector('canvas.strip').getBoundingClientRect().width,
      box: root.querySelector('.panels').getBoundingClientRect().width,
      accent: css('input[type=range]').accentColor, ring: css('canvas.draw').boxShadow,
      bg: css('.root').backgroundColor, font: css('.root').fontSize,
    };
  });
  assert.equal(look.strip, 4 * 50, 'four digits of 50 px, not stretched to the box');
  assert.ok(look.sixteen <= look.box && look.sixteen >= Math.min(look.box, 16 * 28), `sixteen digits fit the box: ${JSON.stringify(look)}`);
  assert.equal(look.accent, 'rgb(138, 180, 248)');
  assert.match(look.ring, /^rgb\(200, 200, 200\) 0px 0px 0px 2px$/);
  assert.deepEqual([look.bg, look.font], ['rgb(17, 17, 17)', '16px']);
  await page.setViewportSize({ width: 360, height: 800 });
  const narrow = await page.evaluate(() => {
    const root = document.querySelector('#dark').shadowRoot;
    return { strip: root.querySelector('canvas.strip').getBoundingClientRect().width, scroll: root.querySelector('.panels').scrollWidth };
  });
  assert.ok(narrow.strip >= 16 * 28, `at 360 px the digits keep their 28 pixels and the strip scrolls: ${JSON.stringify(narrow)}`);
  await page.evaluate(() => document.querySelector('#dark').remove());
});
