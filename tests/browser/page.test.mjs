// The demo page (www/index.html) in headless Chromium: it loads MNIST, trains on the CPU and on
// WebGPU (SwiftShader here; "skipped" without an adapter), draws its panels and plot, stays
// responsive, and keeps, saves, loads and resumes weights. Screenshots go to test-results/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve, repoRoot } from '../support/server.mjs';
import { launch, open } from '../support/chromium.mjs';
import { mse, panelPixels, widgetReady } from '../support/widget.mjs';

const artifacts = join(repoRoot, 'test-results');
mkdirSync(artifacts, { recursive: true });

let server;
before(async () => { server = await serve(join(repoRoot, 'www')); });
after(async () => { await server?.close(); });

/** Evaluates `fn(widget, arg)` in the page, `widget` being the first <mnist-dae>. */
const W = (page, fn, arg) => page.locator('mnist-dae').first().evaluate(fn, arg);

const status = (page) => W(page, (w) => w.shadowRoot.querySelector('.status').textContent);
const steps = (page) => W(page, (w) => w.state.steps);

const ready = (page) => widgetReady(page.locator('mnist-dae').first());

/** Presses Train and waits until at least `n` more steps are done. */
async function trainSteps(page, n, timeout = 120_000) {
  const start = await steps(page);
  if (!(await W(page, (w) => w.state.playing))) await page.locator('mnist-dae button.primary').first().click();
  await page.waitForFunction((target) => document.querySelector('mnist-dae').state.steps >= target, start + n, { timeout });
}

async function pause(page) {
  if (await W(page, (w) => w.state.playing)) await page.getByRole('button', { name: 'Pause' }).click();
  // The loop finishes the step it has on its way, then stops and saves: wait for all three.
  await page.waitForFunction(() => { const s = document.querySelector('mnist-dae').state; return !s.playing && !s.looping && !s.dirty; }, null, { timeout: 120_000 });
}

/** Pixels of the three panel rows: [original, noisy, reconstructed] as arrays of grey levels. */
const panels = (page) => panelPixels(page.locator('mnist-dae').first());

const validate = (page) => W(page, async (w) => (await w.validate()).loss);

describe('demo page on the CPU backend', () => {
  let context, page, errors, initialVal;
  before(async () => {
    context = await launch();
    ({ page, errors } = await open(context, `${server.url}/?backend=cpu`));
    await page.setViewportSize({ width: 1440, height: 1400 });
    await ready(page);
    initialVal = await W(page, (w) => w.state.lastVal);
  });
  after(async () => { await context?.close(); });

  test('loads MNIST with no console errors and runs on the CPU', async () => {
    const note = await W(page, (w) => w.shadowRoot.querySelector('.bar .note').textContent);
    assert.match(note, /55,000 training and 10,000 test images/);
    const info = await W(page, (w) => w.info);
    assert.equal(info.backend, 'cpu');
    assert.ok(initialVal > 0.6 && initialVal < 0.8, `untrained validation loss ≈ ln 2, got ${initialVal}`);
    assert.deepEqual(errors, []);
  });

  test('trains ≥ 30 steps: the plotted loss falls, the panels are drawn and denoise', async () => {
    await trainSteps(page, 40);
    await page.screenshot({ path: join(artifacts, 'page-1440.png'), fullPage: true });
    await page.setViewportSize({ width: 360, height: 800 });
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(artifacts, 'page-360.png'), fullPage: true });
    await page.setViewportSize({ width: 1440, height: 1400 });
    const plotted = await W(page, (w) => w.plot.data[1].filter((v) => v != null));
    assert.ok(plotted.length >= 30, `≥ 30 plotted training losses, got ${plotted.length}`);
    assert.ok(plotted.at(-1) < plotted[0] - 0.05, `plotted loss falls: ${plotted[0]} → ${plotted.at(-1)}`);
    const [original, noisy, rec] = await panels(page);
    const spread = (a) => Math.max(...a) - Math.min(...a);
    for (const [name, row] of [['original', original], ['noisy', noisy], ['reconstructed', rec]]) {
      assert.ok(spread(row) > 50, `${name} panel is not blank (grey-level spread ${spread(row)})`);
    }
    const diff = rec.reduce((s, v, i) => s + Math.abs(v - noisy[i]), 0) / rec.length;
    assert.ok(diff > 10, `reconstruction differs from the noisy input (mean |Δ| ${diff.toFixed(1)} grey levels)`);
    assert.deepEqual(errors, []);
  });

  test('no main-thread task over 50 ms during 10 s of training', async () => {
    await page.evaluate(() => {
      window.longTasks = [];
      new PerformanceObserver((list) => { for (const e of list.getEntries()) window.longTasks.push(e.duration); })
        .observe({ type: 'longtask' });
    });
    const s0 = await steps(page);
    await trainSteps(page, 1);
    await page.waitForTimeout(10_000);
    const s1 = await steps(page);
    const long = await page.evaluate(() => window.longTasks);
    assert.ok(s1 - s0 >= 10, `it kept training (${s1 - s0} steps in 10 s)`);
    assert.deepEqual(long.filter((d) => d > 50), [], `long tasks: ${long.map((d) => d.toFixed(0)).join(', ')} ms`);
  });

  test('Pause stops the step counter', async () => {
    await pause(page);
    const a = await steps(page);
    await page.waitForTimeout(2_000);
    assert.equal(await steps(page), a);
    assert.equal(await page.getByRole('button', { name: 'Train', exact: true }).getAttribute('aria-pressed'), 'false');
  });

  test('the noise slider changes the noisy panel', async () => {
    const before = (await panels(page))[1];
    const count = await W(page, (w) => Number(w.dataset.panels));
    await page.getByRole('slider', { name: /Noise/ }).fill('0.9');
    await page.waitForFunction((c) => Number(document.querySelector('mnist-dae').dataset.panels) > c, count);
    const after = (await panels(page))[1];
    const changed = after.filter((v, i) => v !== before[i]).length;
    assert.ok(changed > after.length / 4, `${changed} of ${after.length} noisy pixels changed`);
    await page.getByRole('slider', { name: /Noise/ }).fill('0.5');
  });

  test('save → load weights round-trips; a corrupt file is refused and training goes on', async () => {
    const val = await validate(page);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Save weights' }).click()]);
    const saved = join(artifacts, 'saved.safetensors');
    await download.saveAs(saved);
    await trainSteps(page, 5);
    await pause(page);
    const moved = await validate(page);
    assert.notEqual(moved, val, 'training changed the weights');
    await page.getByLabel('Load weights file').setInputFiles(saved);
    await page.waitForFunction(() => /Loaded saved\.safetensors/.test(document.querySelector('mnist-dae').shadowRoot.querySelector('.status').textContent));
    assert.ok(Math.abs((await W(page, (w) => w.state.lastVal)) - val) < 1e-6, 'validation loss is back to the saved one');

    const corrupt = join(artifacts, 'corrupt.safetensors');
    writeFileSync(corrupt, Buffer.from('this is not a safetensors file at all'));
    await W(page, (w) => { window.widgetErrors = []; w.addEventListener('error', (e) => window.widgetErrors.push(e.detail.message)); });
    await page.getByLabel('Load weights file').setInputFiles(corrupt);
    await page.waitForFunction(() => /Could not load corrupt\.safetensors/.test(document.querySelector('mnist-dae').shadowRoot.querySelector('.status').textContent));
    assert.match(await status(page), /invalid weights: expected a safetensors file/);
    assert.match((await page.evaluate(() => window.widgetErrors)).join(), /Could not load corrupt\.safetensors: invalid weights/, 'an error event');
    assert.ok(Math.abs((await validate(page)) - val) < 1e-6, 'the model is unchanged');
    await trainSteps(page, 3);
    await pause(page);
  });

  test('a reload offers to resume, and resuming gives the same validation loss', async () => {
    const val = await validate(page);
    const at = await steps(page);
    await page.reload();
    await ready(page);
    const offer = page.getByRole('group', { name: 'Resume training' });
    await offer.waitFor({ state: 'visible' });
    assert.match(await offer.textContent(), new RegExp(`step ${at}\\b`));
    await offer.getByRole('button', { name: 'Resume' }).click();
    await page.waitForFunction(() => /Resumed at step/.test(document.querySelector('mnist-dae').shadowRoot.querySelector('.status').textContent));
    assert.equal(await steps(page), at);
    const resumed = await W(page, (w) => w.state.lastVal);
    assert.ok(Math.abs(resumed - val) < 1e-6, `validation loss ${val} before, ${resumed} after resume`);
  });

  test('"Load pretrained" loads the shipped weights and the panels come out clean', async () => {
    await page.getByRole('button', { name: 'Load pretrained' }).click();
    await page.waitForFunction(() => /Loaded pretrained weights/.test(document.querySelector('mnist-dae').shadowRoot.querySelector('.status').textContent));
    const val = await W(page, (w) => w.state.lastVal);
    assert.ok(val < 0.11, `validation loss with the pretrained weights: ${val}`);
    const [original, noisy, rec] = await panels(page);
    assert.ok(mse(rec, original) < mse(noisy, original) / 4, `reconstruction MSE ${mse(rec, original)} vs noisy ${mse(noisy, original)}`);
  });

  test('Reset brings the loss back to the untrained level', async () => {
    const trained = await validate(page);
    assert.ok(trained < initialVal - 0.05, `trained ${trained} vs initial ${initialVal}`);
    await page.getByRole('button', { name: 'Reset' }).click();
    await page.getByRole('button', { name: 'Discard and reset' }).click();
    await page.waitForFunction(() => /^Reset:/.test(document.querySelector('mnist-dae').shadowRoot.querySelector('.status').textContent));
    const reset = await W(page, (w) => w.state.lastVal);
    assert.ok(Math.abs(reset - initialVal) < 1e-4, `after Reset ${reset}, initially ${initialVal}`);
    assert.equal(await steps(page), 0);
    assert.deepEqual(errors, []);
  });
});

describe('demo page on WebGPU', () => {
  let context, page, errors, adapter;
  before(async () => {
    context = await launch();
    ({ page, errors } = await open(context, `${server.url}/?backend=webgpu`));
    adapter = await page.evaluate(async () => Boolean(await navigator.gpu?.requestAdapter()));
  });
  after(async () => { await context?.close(); });

  test('trains ≥ 30 steps on WebGPU and the loss falls', async (t) => {
    if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
    await ready(page);
    const info = await W(page, (w) => w.info);
    assert.equal(info.backend, 'webgpu');
    if (info.softwareAdapter) {
      assert.equal(await W(page, (w) => w.shadowRoot.querySelector('.warn').hidden), false, 'software adapter warning shown');
    }
    // Batch 16 keeps SwiftShader's steps short; the page's own control sets it.
    await page.getByLabel('Batch').selectOption('16');
    await trainSteps(page, 30, 400_000);
    await pause(page);
    const plotted = await W(page, (w) => w.state.train.filter((v) => v != null));
    assert.ok(plotted.at(-1) < plotted[0] - 0.05, `loss falls on WebGPU: ${plotted[0]} → ${plotted.at(-1)}`);
    const [, noisy, rec] = await panels(page);
    assert.ok(Math.max(...rec) - Math.min(...rec) > 50, 'reconstruction drawn');
    assert.ok(rec.some((v, i) => v !== noisy[i]));
    assert.deepEqual(errors, []);
  });
});

describe('backend auto on a hardware adapter (simulated)', () => {
  // No GPU reaches this machine's browser, so the worker is served with a prelude that makes
  // SwiftShader's adapter report itself as hardware: the path a reader with a real GPU takes.
  test('auto starts on the CPU-only module, then moves the model to WebGPU with the full one', async (t) => {
    const context = await launch();
    try {
      const prelude = `{
        const gpu = self.navigator.gpu, real = gpu.requestAdapter.bind(gpu);
        const info = { vendor: 'test', architecture: 'pretend-hardware', device: '', description: 'pretend hardware GPU', isFallbackAdapter: false };
        gpu.requestAdapter = async (o) => {
          const a = await real(o);
          return a && new Proxy(a, { get: (t, k) => k === 'info' ? info : (typeof t[k] === 'function' ? t[k].bind(t) : t[k]) });
        };
      }\n`;
      await context.route('**/worker.js', async (route) => {
        const response = await route.fetch();
        await route.fulfill({ response, body: prelude + await response.text() });
      });
      const wasm = [];
      context.on('request', (r) => { if (r.url().endsWith('.wasm')) wasm.push(new URL(r.url()).pathname); });
      const { page, errors } = await open(context, `${server.url}/`);
      if (!(await page.evaluate(async () => Boolean(await navigator.gpu?.requestAdapter())))) {
        t.skip('no WebGPU adapter in this Chromium');
        return;
      }
      await ready(page);
      await page.waitForFunction(() => document.querySelector('mnist-dae').info?.backend === 'webgpu', null, { timeout: 240_000 });
      assert.deepEqual(wasm, ['/pkg-cpu/mnist_dae_bg.wasm', '/pkg/mnist_dae_bg.wasm'], 'the CPU module first, the full one after');
      await page.waitForFunction(() => /Ready on WebGPU/.test(document.querySelector('mnist-dae').shadowRoot.querySelector('.status').textContent), null, { timeout: 60_000 });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});

describe('tutorial page', () => {
  test('both embedded widgets come up: the denoise strip cleans digits, the trainer trains', async () => {
    const context = await launch();
    try {
      const wasm = [];
      context.on('request', (r) => { if (r.url().endsWith('.wasm')) wasm.push(new URL(r.url()).pathname); });
      const { page, errors } = await open(context, `${server.url}/tutorial.html`);
      const strip = page.locator('mnist-dae#try');
      const trainer = page.locator('mnist-dae#train');
      for (const w of [strip, trainer]) await widgetReady(w);
      // backend "auto": the small CPU-only module; the full WebGPU one only for a hardware adapter
      // (this machine has none: SwiftShader is software, so the widgets say why they chose the CPU).
      const gpu = await strip.evaluate((w) => w.info.gpu);
      assert.ok(wasm.includes('/pkg-cpu/mnist_dae_bg.wasm'), `the CPU-only module was fetched: ${wasm}`);
      if (!gpu.available || gpu.software) {
        assert.ok(!wasm.includes('/pkg/mnist_dae_bg.wasm'), `no full module without a hardware adapter: ${wasm}`);
        for (const w of [strip, trainer]) assert.equal(await w.evaluate((e) => e.info.backend), 'cpu');
      }
      if (gpu.software) {
        assert.match(await trainer.evaluate((w) => w.info.backendNote), /software renderer/);
      }
      const rows = await panelPixels(strip);
      assert.equal(rows[0].length, 6 * 784, 'digits="6"');
      assert.ok(mse(rows[2], rows[0]) < mse(rows[1], rows[0]) / 3, 'the denoise widget cleans the digits');
      const steps = [];
      await page.exposeFunction('recordStep', (s) => steps.push(s));
      await trainer.evaluate((w) => w.addEventListener('step', (e) => window.recordStep(e.detail)));
      await trainer.getByRole('button', { name: 'Train', exact: true }).click();
      await page.waitForFunction(() => document.querySelector('#train').state.steps >= 5, null, { timeout: 60_000 });
      await trainer.getByRole('button', { name: 'Pause' }).click();
      assert.ok(steps.length >= 5 && steps.every((s) => Number.isFinite(s.loss) && s.step >= 1), `step events: ${JSON.stringify(steps.slice(0, 3))}`);
      // The figures are lazy-loaded below the fold: ask for them now.
      const images = await page.evaluate(() => Promise.all([...document.images].map(async (i) => {
        i.loading = 'eager';
        await i.decode().catch(() => {});
        return [i.getAttribute('src'), i.naturalWidth];
      })));
      assert.ok(images.length === 2 && images.every(([, w]) => w > 0), `figures load: ${JSON.stringify(images)}`);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
