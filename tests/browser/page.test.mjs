// The demo page (www/index.html) in headless Chromium: it loads MNIST, trains on the CPU and on
// WebGPU (SwiftShader here; "skipped" without an adapter), draws its panels and plot, stays
// responsive, and keeps, saves, loads and resumes weights. Screenshots go to test-results/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve, repoRoot } from '../support/server.mjs';
import { keepWorkerDevices, launch, open } from '../support/chromium.mjs';
import { mse, panelPixels, widgetReady } from '../support/widget.mjs';
import { axeViolations } from '../support/axe.mjs';

const artifacts = join(repoRoot, 'test-results');
mkdirSync(artifacts, { recursive: true });

let server;
before(async () => { server = await serve(join(repoRoot, 'www')); });
after(async () => { await server?.close(); });

/** Evaluates `fn(widget, arg)` in the page, `widget` being the first <mnist-dae>. */
const W = (page, fn, arg) => page.locator('mnist-dae').first().evaluate(fn, arg);

const widget = (page) => page.locator('mnist-dae').first();
const status = (page) => widget(page).locator('[part="status"]').textContent();
/** The visible text of one of the stats ("Step", "Val. loss", …). */
const stat = (page, name) => widget(page).locator('.stats div', { hasText: name }).locator('dd').textContent();
/** Steps taken, as the "Step" stat shows them ("1,234 (10/860)"). */
const steps = async (page) => Number((await stat(page, 'Step')).split(' ')[0].replace(/,/g, ''));
/** The validation loss shown (4 decimals). */
const validation = async (page) => Number(await stat(page, 'Val. loss'));
const playing = async (page) => (await widget(page).getByRole('button', { name: /^(Train|Pause)$/ }).getAttribute('aria-pressed')) === 'true';
/** Waits until the widget's list of recent events (what it confirms) has an item matching `re`. */
const logged = (page, re, timeout = 120_000) => widget(page).getByRole('list', { name: 'Recent events' })
  .getByText(re).first().waitFor({ timeout });

const ready = (page) => widgetReady(page.locator('mnist-dae').first());

/** Presses Train and waits until the "Step" stat shows at least `n` more steps. */
async function trainSteps(page, n, timeout = 120_000) {
  const target = (await steps(page)) + n;
  if (!(await playing(page))) await widget(page).getByRole('button', { name: 'Train', exact: true }).click();
  const deadline = Date.now() + timeout;
  while ((await steps(page)) < target) {
    if (Date.now() > deadline) throw new Error(`fewer than ${target} steps after ${timeout} ms`);
    await page.waitForTimeout(100);
  }
}

/** Presses Pause and waits until the widget says it stopped, validated and saved. */
async function pause(page) {
  if (await playing(page)) await widget(page).getByRole('button', { name: 'Pause' }).click();
  await widget(page).locator('[part="status"]').getByText(/^Paused at step [\d,]+: validation loss \d\.\d{4}; saved in this browser\.$/).waitFor({ timeout: 120_000 })
    .catch(async (e) => {
      throw new Error(`pause: expected "Paused at step N: validation loss X; saved in this browser." within 120 s, got status "${await status(page)}" (recent events: ${await widget(page).locator('[part="log"]').textContent()})`, { cause: e });
    });
}

/** Collects the widget's `step` events (their losses) into `window.stepEvents`. */
const recordSteps = (page) => W(page, (w) => { window.stepEvents = []; w.addEventListener('step', (e) => window.stepEvents.push(e.detail)); });
const stepEvents = (page) => page.evaluate(() => window.stepEvents);
const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;

/** Pixels of the three panel rows: [original, noisy, reconstructed] as arrays of grey levels. */
const panels = (page) => panelPixels(page.locator('mnist-dae').first());


/** A fresh browser profile with the demo page on the CPU backend, ready, 1440 px wide. */
async function cpuPage() {
  const context = await launch();
  const { page, errors } = await open(context, `${server.url}/?backend=cpu`);
  await page.setViewportSize({ width: 1440, height: 1400 });
  await ready(page);
  return { context, page, errors };
}

describe('demo page on the CPU backend', () => {
  let context, page, errors, initialVal;
  before(async () => {
    context = await launch();
    ({ page, errors } = await open(context, `${server.url}/?backend=cpu`));
    await page.setViewportSize({ width: 1440, height: 1400 });
    await ready(page);
    initialVal = await validation(page);
    await recordSteps(page);
  });
  after(async () => { await context?.close(); });

  test('loads MNIST with no console errors and runs on the CPU', async () => {
    const note = await widget(page).getByText(/^MNIST: /).textContent();
    assert.match(note, /55,000 training and 10,000 test images/);
    // Chromium runs relaxed SIMD: the widget's worker loaded the fused multiply-add build.
    assert.match(await widget(page).getByText(/^Running on:/).textContent(),
      /^Running on: CPU — this computer’s processor, in WebAssembly\. Details.*CPU kernels: wasm SIMD128 \+ relaxed \(fused multiply-add\)\./);
    assert.ok(initialVal > 0.6 && initialVal < 0.8, `untrained validation loss ≈ ln 2, got ${initialVal}`);
    assert.deepEqual(errors, []);
  });

  test('trains ≥ 30 steps: the plotted loss falls, the panels are drawn and denoise', async () => {
    await trainSteps(page, 40);
    // The chosen epochs at the measured speed, in words.
    assert.match(await stat(page, 'Time left'), /^≈ ([1-9]|[1-5]\d) s$|^≈ ([1-9]|[1-5]\d) min$|^≈ \d+ h ([0-9]|[1-5]\d) min$/);
    const label = await widget(page).getByRole('img', { name: /^Loss plot/ }).getAttribute('aria-label');
    assert.ok(Number(/(\d+) steps/.exec(label)[1]) >= 30, label);
    const losses = (await stepEvents(page)).map((e) => e.loss);
    assert.ok(mean(losses.slice(-5)) < mean(losses.slice(0, 5)) - 0.05, `the loss falls: ${losses.slice(0, 5)} … ${losses.slice(-5)}`);
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
    assert.equal(await validation(page), Number(/validation loss (\d\.\d{4})/.exec(await status(page))[1]), 'the stats show the paused model');
  });

  test('a drag across the loss plot zooms into the epochs it spans, new points keep the view, a double-click shows all', async () => {
    const plot = widget(page).getByRole('img', { name: /^Loss plot/ });
    const label = () => plot.getAttribute('aria-label');
    assert.match(await label(), /; epochs 0 to 25 across$/);
    const box = await plot.locator('.u-over').boundingBox();
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + 0.2 * box.width, y);
    await page.mouse.down();
    await page.mouse.move(box.x + 0.4 * box.width, y, { steps: 5 });
    await page.mouse.move(box.x + 0.6 * box.width, y, { steps: 5 });
    await page.mouse.up();
    const zoomed = /; zoomed to epochs (\d+\.\d\d) to (\d+\.\d\d) of 0 to 25 \(double-click the plot to see all\)$/.exec(await label());
    assert.ok(zoomed, await label());
    const [from, to] = [Number(zoomed[1]), Number(zoomed[2])];
    assert.ok(Math.abs(from - 5) < 0.5 && Math.abs(to - 15) < 0.5, `the dragged fifth to three fifths of 25 epochs, got ${from} to ${to}`);
    await trainSteps(page, 3);
    await pause(page);
    assert.match(await label(), new RegExp(`; zoomed to epochs ${zoomed[1].replace('.', '\\.')} to ${zoomed[2].replace('.', '\\.')} of 0 to 25`));
    await plot.locator('.u-over').dblclick();
    assert.match(await label(), /; epochs 0 to 25 across$/);
    assert.deepEqual(errors, []);
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
    const val = await validation(page);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Save weights' }).click()]);
    const saved = join(artifacts, 'saved.safetensors');
    await download.saveAs(saved);
    // The shown loss has four decimals; near a plateau five steps can leave it where it was, so
    // train on (up to 25 steps) until it moves: the round trip below must start from other weights.
    let moved = val;
    for (let round = 0; round < 5 && moved === val; round++) {
      await trainSteps(page, 5);
      await pause(page);
      moved = await validation(page);
    }
    assert.notEqual(moved, val, 'training changed the weights');
    await page.getByLabel('Load weights file').setInputFiles(saved);
    await logged(page, /Loaded saved\.safetensors/);
    assert.equal(await validation(page), val, 'validation loss is back to the saved one');
    assert.equal(await steps(page), 0, 'a loaded model starts a new run');

    const corrupt = join(artifacts, 'corrupt.safetensors');
    writeFileSync(corrupt, Buffer.from('this is not a safetensors file at all'));
    await W(page, (w) => { window.widgetErrors = []; w.addEventListener('error', (e) => window.widgetErrors.push(e.detail.message)); });
    await page.getByLabel('Load weights file').setInputFiles(corrupt);
    await page.waitForFunction(() => /Could not load corrupt\.safetensors/.test(document.querySelector('mnist-dae').shadowRoot.querySelector('.status').textContent));
    assert.match(await status(page), /invalid weights: expected a safetensors file/);
    assert.match((await page.evaluate(() => window.widgetErrors)).join(), /Could not load corrupt\.safetensors: invalid weights/, 'an error event');
    assert.equal(await validation(page), val, 'the model is unchanged');
    // Said beside the weights controls too, where the file was chosen; a good file clears it.
    const weights = widget(page).getByRole('region', { name: 'Weights' });
    assert.match(await weights.getByText(/^Could not load corrupt\.safetensors/).textContent(), /invalid weights/);
    await page.getByLabel('Load weights file').setInputFiles(saved);
    await weights.getByText(/^Could not load/).waitFor({ state: 'hidden' });
    assert.equal(await validation(page), val, 'cleared by a file that loads');
    await trainSteps(page, 3);
    await pause(page);
  });

  test('a reload offers to resume, and resuming gives the same validation loss', async () => {
    const val = await validation(page);
    const at = await steps(page);
    await page.reload();
    await ready(page);
    const offer = page.getByRole('group', { name: 'Resume training' });
    await offer.waitFor({ state: 'visible' });
    assert.match(await offer.textContent(), new RegExp(`step ${at}\\b`));
    await offer.getByRole('button', { name: 'Resume' }).click();
    await logged(page, /Resumed at step/);
    assert.equal(await steps(page), at);
    const resumed = await validation(page);
    assert.equal(resumed, val, `validation loss ${val} before, ${resumed} after resume`);
  });

  test('"Load pretrained" loads the shipped weights and the panels come out clean', async () => {
    await page.getByRole('button', { name: 'Load pretrained' }).click();
    await logged(page, /Loaded pretrained weights/);
    const val = await validation(page);
    assert.ok(val < 0.11, `validation loss with the pretrained weights: ${val}`);
    const [original, noisy, rec] = await panels(page);
    assert.ok(mse(rec, original) < mse(noisy, original) / 4, `reconstruction MSE ${mse(rec, original)} vs noisy ${mse(noisy, original)}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Save weights' }).click()]);
    assert.equal(download.suggestedFilename(), 'mnist-dae-pretrained.safetensors', 'saved under the name of what it is');
    // Its own 25 epochs (www/pretrained/history.csv) come first on the plot; this page's
    // epochs follow them, and the axis spans both.
    const label = await widget(page).getByRole('img', { name: /^Loss plot/ }).getAttribute('aria-label');
    assert.match(label, /earlier curves: shipped model's training \(25 epochs, native trainer\), last validation 0\.0947;/);
    assert.match(label, /; epochs 0 to 50 across$/);
  });

  test('"Inside the model" draws the learned filters and every stage of the clicked digit, as the API computes them', async () => {
    if (await playing(page)) await pause(page);
    // Noise 0: the traced input is the clean digit, which the "original" row shows exactly (MNIST
    // pixels are bytes).
    const drawn = async () => Number(await widget(page).getAttribute('data-inside')) || 0;
    let before = await drawn();
    await W(page, (w) => w.setAttribute('noise', '0'));
    const inside = widget(page).getByRole('region', { name: 'Inside the model' });
    const strip = widget(page).getByRole('img', { name: /^original test digits/ });
    const box = await strip.boundingBox();
    const n = Number(await W(page, (w) => w.digits));
    await page.waitForFunction(([b]) => Number(document.querySelector('mnist-dae').dataset.inside) > b, [before]);
    before = await drawn();
    await strip.click({ position: { x: (3.5 / n) * box.width, y: box.height / 2 } });
    await page.waitForFunction(([b]) => Number(document.querySelector('mnist-dae').dataset.inside) > b, [before]);
    assert.equal(await inside.getByRole('img', { name: /^The digit traced/ }).getAttribute('aria-label'), 'The digit traced: test digit 4 of the strip');
    const r = await W(page, async (w) => {
      const canvases = Object.fromEntries([...w.shadowRoot.querySelectorAll('canvas.tiles')].map((c) => [c.dataset.stage,
        { w: c.width, h: c.height, px: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) }]));
      const original = w.shadowRoot.querySelector('canvas.strip');
      const row = original.getContext('2d').getImageData(0, 0, original.width, 28).data;
      const image = new Float32Array(784);
      for (let p = 0; p < 784; p++) image[p] = row[4 * ((p / 28 | 0) * original.width + 3 * 28 + (p % 28))] / 255;
      // The same weights, traced by the package's API on this page's thread.
      const api = await import('/mnist-dae-cpu.js');
      await api.default();
      const d = await api.Denoiser.create({ backend: 'cpu' });
      await d.load_weights(new Uint8Array(await (await fetch('/pretrained/mnist-dae.safetensors')).arrayBuffer()));
      const maps = (await d.trace(image)).map((m) => ({ name: m.name, shape: m.shape, values: Array.from(m.values) }));
      const weights = (await d.parameters())[0];
      d.free();
      return { canvases, maps, weights: { shape: weights.shape, values: Array.from(weights.values) } };
    });
    // The widget's encoding (README, "Inside the model"): 8 tiles to a row with 1-pixel gaps;
    // maps grey from the stage's minimum (black) to its maximum (white); filters white at 0,
    // red up to +max|w|, blue down to −max|w|.
    const tile = (canvas, c, side, p) => 4 * ((Math.floor(c / 8) * (side + 1) + Math.floor(p / side)) * canvas.w + (c % 8) * (side + 1) + (p % side));
    const max = r.weights.values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const filters = r.canvases['enc1.weight'];
    let worst = 0;
    for (let c = 0; c < 32; c++) {
      for (let p = 0; p < 9; p++) {
        const t = r.weights.values[c * 9 + p] / max;
        const want = t >= 0 ? [255, 255 * (1 - t), 255 * (1 - t)] : [255 * (1 + t), 255 * (1 + t), 255];
        const o = tile(filters, c, 3, p);
        for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(filters.px[o + k] - want[k]));
      }
    }
    assert.ok(worst <= 1, `filter tiles are enc1.weight of the loaded file (worst colour error ${worst})`);
    for (const name of ['enc1', 'enc2', 'latent', 'dec1', 'up1', 'up2']) {
      const map = r.maps.find((m) => m.name === name);
      const [, channels, side] = map.shape;
      const canvas = r.canvases[name];
      assert.equal(canvas.w, 8 * (side + 1) - 1, `${name}: 8 tiles of ${side} to a row`);
      const lo = Math.min(...map.values), hi = Math.max(...map.values);
      let err = 0;
      for (let c = 0; c < channels; c++) {
        for (let p = 0; p < side * side; p++) {
          const want = 255 * (map.values[c * side * side + p] - lo) / (hi - lo);
          err = Math.max(err, Math.abs(canvas.px[tile(canvas, c, side, p)] - want));
        }
      }
      assert.ok(err <= 2, `${name}: tiles are the API's trace of the digit (worst grey error ${err.toFixed(2)})`);
    }
    const latent = inside.getByRole('img', { name: /^latent for test digit 4/ });
    assert.match(await latent.getAttribute('aria-label'), /32 maps of 7 × 7, values from -?\d+\.\d\d \(black\) to \d+\.\d\d \(white\)$/);
    const traced = () => inside.getByRole('img', { name: /^The digit traced/ }).getAttribute('aria-label');
    // A strip that shrinks below the picked digit: its last one is traced instead.
    before = await drawn();
    await W(page, (w) => w.setAttribute('digits', '2'));
    await page.waitForFunction(([b]) => Number(document.querySelector('mnist-dae').dataset.inside) > b, [before]);
    assert.equal(await traced(), 'The digit traced: test digit 2 of the strip');
    await W(page, (w) => w.removeAttribute('digits'));
    // A stroke on the pad turns the view to the drawing; Clear turns it back to the strip.
    const pad = widget(page).getByRole('img', { name: /Drawing pad/ });
    const padBox = await pad.boundingBox();
    await page.mouse.move(padBox.x + padBox.width * 0.5, padBox.y + padBox.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(padBox.x + padBox.width * 0.5, padBox.y + padBox.height * 0.8, { steps: 8 });
    await page.mouse.up();
    await page.waitForFunction(() => /your drawing/.test(document.querySelector('mnist-dae').shadowRoot.querySelector('canvas[data-stage="input"]').getAttribute('aria-label')));
    await widget(page).getByRole('button', { name: 'Clear', exact: true }).click();
    await page.waitForFunction(() => /test digit 1 of the strip/.test(document.querySelector('mnist-dae').shadowRoot.querySelector('canvas[data-stage="input"]').getAttribute('aria-label')));
    await W(page, (w) => w.setAttribute('noise', '0.5'));
    assert.deepEqual(errors, []);
  });

  test('"The latent space" maps 1,000 test digits and decodes blends of two codes, as the API computes them', async () => {
    if (await playing(page)) await pause(page);
    const region = widget(page).getByRole('region', { name: 'The latent space' });
    const map = region.getByRole('img', { name: /^Latent map of 1,000 test digits at step 0,/ });
    await map.waitFor({ timeout: 120_000 });
    const blends = async () => Number(await widget(page).getAttribute('data-blend')) || 0;
    // The strip of this map: drawn after it, for the digits the pretrained weights make.
    await region.getByRole('img', { name: /decoded from blends/ }).waitFor();
    // The same weights on the same test digits, through the package's API on the page thread.
    const r = await W(page, async (w) => {
      const c = w.shadowRoot.querySelector('canvas[part="latent-map"]');
      const b = w.shadowRoot.querySelector('canvas[part="latent-blend"]');
      const px = (canvas) => ({ w: canvas.width, h: canvas.height, px: Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data) });
      const api = await import('/mnist-dae-cpu.js');
      const { fetchMnst } = await import('/mnst.js');
      await api.default();
      const { bytes } = await fetchMnst('/data/mnist-test.bin.gz');
      const s = await api.Session.create(bytes, bytes, { backend: 'cpu', val_images: 16 });
      await s.load_weights(new Uint8Array(await (await fetch('/pretrained/mnist-dae.safetensors')).arrayBuffer()));
      const m = await s.latent_map();
      const [i, j] = [m.labels.indexOf(3), m.labels.indexOf(8)];
      const [a, bb] = [await s.image('test', i), await s.image('test', j)];
      const strip = await s.interpolate(a.image, bb.image, 10);
      s.free();
      return { map: px(c), blend: px(b), x: Array.from(m.x), y: Array.from(m.y), labels: Array.from(m.labels), explained: m.explained, strip: Array.from(strip), i, j };
    });
    assert.equal(r.x.length, 1000);
    // The README's encoding: 320 × 320, one scale for both axes, the bounding box centred within
    // 8 px, y upwards, 3 × 3 dots in test-set order, Tableau 10 by label; each axis may be
    // mirrored (it keeps the last map's sign).
    const colours = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac']
      .map((h) => [1, 3, 5].map((k) => parseInt(h.slice(k, k + 2), 16)));
    const mismatches = (sx, sy) => {
      const x = r.x.map((v) => sx * v), y = r.y.map((v) => sy * v);
      const [x0, x1, y0, y1] = [Math.min(...x), Math.max(...x), Math.min(...y), Math.max(...y)];
      const scale = (320 - 16) / Math.max(x1 - x0, y1 - y0);
      const [cx, cy] = [(320 - scale * (x1 - x0)) / 2, (320 - scale * (y1 - y0)) / 2];
      const at = x.map((_, i) => [Math.round(cx + scale * (x[i] - x0)), Math.round(320 - cy - scale * (y[i] - y0))]);
      let bad = 0;
      at.forEach(([px, py], i) => {
        // The dot drawn last over this pixel sets its colour.
        let top = i;
        for (let k = i + 1; k < at.length; k++) if (Math.abs(at[k][0] - px) <= 1 && Math.abs(at[k][1] - py) <= 1) top = k;
        const o = 4 * (py * 320 + px);
        if (colours[r.labels[top]].some((v, k) => Math.abs(r.map.px[o + k] - v) > 1)) bad++;
      });
      return bad;
    };
    const best = Math.min(...[[1, 1], [1, -1], [-1, 1], [-1, -1]].map(([sx, sy]) => mismatches(sx, sy)));
    assert.equal(best, 0, `every dot is the API's point in its digit's colour (${best} of 1,000 off)`);
    const pct = (v) => `${(100 * v).toFixed(1)}%`;
    assert.match(await map.getAttribute('aria-label'), new RegExp(`first axis holds ${pct(r.explained[0]).replace('.', '\\.')} of the codes' variance, the second ${pct(r.explained[1]).replace('.', '\\.')}$`));
    assert.ok(r.explained[0] >= r.explained[1] && r.explained[1] > 0);
    await region.getByText(/principal component analysis/).waitFor();
    // The strip: the decoded blends between the first 3 and the first 8, to a grey level.
    assert.equal(r.blend.w, 280);
    let worst = 0;
    for (let k = 0; k < 10; k++) {
      for (let p = 0; p < 784; p++) {
        const o = 4 * (Math.floor(p / 28) * 280 + k * 28 + (p % 28));
        worst = Math.max(worst, Math.abs(r.blend.px[o] - 255 * r.strip[k * 784 + p]));
      }
    }
    assert.ok(worst <= 1, `blend tiles are the API's interpolation (worst grey error ${worst.toFixed(2)})`);
    assert.equal(await region.getByRole('img', { name: /decoded from blends/ }).getAttribute('aria-label'),
      `10 images decoded from blends of the codes of test digit ${r.i + 1} (a 3) and test digit ${r.j + 1} (an 8)`);
    // Choosing other digits redraws the strip between them.
    const before = await blends();
    await region.getByRole('combobox', { name: 'From' }).selectOption('1');
    await page.waitForFunction(([b]) => Number(document.querySelector('mnist-dae').dataset.blend) > b, [before]);
    assert.match(await region.getByRole('img', { name: /decoded from blends/ }).getAttribute('aria-label'), /\(a 1\) and test digit \d+ \(an 8\)$/);
    // The README's screenshots: the page with the pretrained model, at 1440 and 360 px.
    await page.screenshot({ path: join(artifacts, 'page-1440.png'), fullPage: true });
    await page.setViewportSize({ width: 360, height: 800 });
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(artifacts, 'page-360.png'), fullPage: true });
    await page.setViewportSize({ width: 1440, height: 1400 });
    assert.deepEqual(errors, []);
  });

  test('at 360 px: digits of at least 40 px, touch targets of at least 44 px, where the run stands beside Train', async () => {
    await page.setViewportSize({ width: 360, height: 800 });
    await page.waitForTimeout(300);
    try {
      const r = await W(page, (w) => {
        const root = w.shadowRoot;
        const small = [...root.querySelectorAll('button, select, input, summary')].filter((e) => e.checkVisibility())
          .map((e) => ({ what: e.textContent.trim() || e.getAttribute('aria-label') || e.name || e.type, height: Math.round(e.getBoundingClientRect().height) }))
          .filter((e) => e.height < 44);
        // Nothing is cut off: every canvas fits in the element, or in a box that scrolls.
        const right = w.getBoundingClientRect().right;
        const cut = [...root.querySelectorAll('canvas')].filter((c) => c.checkVisibility()).filter((c) => {
          const box = c.parentElement;
          return c.getBoundingClientRect().right > right + 0.5 && !(getComputedStyle(box).overflowX === 'auto' && box.getBoundingClientRect().right <= right + 0.5);
        }).map((c) => c.getAttribute('aria-label') ?? c.className);
        return { tile: root.querySelector('canvas.strip').getBoundingClientRect().width / w.digits, small, cut };
      });
      assert.ok(r.tile >= 40, `a digit is ${r.tile.toFixed(1)} px wide`);
      assert.deepEqual(r.small, [], 'every control at least 44 px tall');
      assert.deepEqual(r.cut, [], 'no canvas cut off at the element\'s edge');
      const line = widget(page).getByText(/^Step [\d,]+ · epoch \d+ of \d+, \d+%$/);
      const train = widget(page).getByRole('button', { name: /^(Train|Pause)$/ });
      const [a, b] = [await line.boundingBox(), await train.boundingBox()];
      assert.ok(Math.abs(a.y - b.y) < 120 && a.y < 800, `the run's place is shown beside Train (at y ${a.y}, Train at ${b.y})`);
    } finally {
      await page.setViewportSize({ width: 1440, height: 1400 });
    }
  });

  test('axe-core finds no moderate-or-worse violation on the page, every view drawn', async () => {
    assert.deepEqual(await axeViolations(page), []);
    // heading-level="2" here, under the page's h1; the attribute moves every heading.
    await widget(page).getByRole('heading', { level: 2, name: 'The latent space' }).waitFor();
    await W(page, (w) => w.setAttribute('heading-level', '4'));
    await widget(page).getByRole('heading', { level: 4, name: 'The latent space' }).waitFor();
    await widget(page).getByRole('heading', { level: 5, name: 'Between two digits' }).waitFor();
    await W(page, (w) => w.setAttribute('heading-level', '2'));
  });

  test('Reset brings the loss back to the untrained level', async () => {
    await trainSteps(page, 30);
    await pause(page);
    const trained = await validation(page);
    assert.ok(trained < initialVal - 0.05, `trained ${trained} vs initial ${initialVal}`);
    await page.getByRole('button', { name: 'Reset' }).click();
    await page.getByRole('button', { name: 'Discard and reset' }).click();
    await logged(page, /^Reset:/);
    const reset = await validation(page);
    assert.equal(reset, initialVal, `after Reset ${reset}, initially ${initialVal}`);
    assert.equal(await steps(page), 0);
    // The discarded run stays on the plot, labelled by its settings, until cleared.
    const plot = widget(page).getByRole('img', { name: /^Loss plot/ });
    const label = await plot.getAttribute('aria-label');
    assert.match(label, /; earlier curves: leaky ReLU, noise 0\.50, rate 1e-3, batch 64, \d+ steps, last validation \d\.\d{4}[;]/, 'the newest first');
    assert.match(label, /; epochs 0 to 25 across$/);
    await widget(page).getByRole('button', { name: 'Clear earlier curves' }).click();
    assert.doesNotMatch(await plot.getAttribute('aria-label'), /earlier curves/);
    assert.equal(await widget(page).getByRole('button', { name: 'Clear earlier curves' }).count(), 0, 'hidden once there are none');
    assert.deepEqual(errors, []);
  });
});

describe('compare runs (CPU)', () => {
  let context, page, errors;
  before(async () => { ({ context, page, errors } = await cpuPage()); });
  after(async () => { await context?.close(); });

  test('a second model trains step for step beside the first: both curves, its reconstructions, a verdict from the measured losses', async () => {
    await widget(page).getByRole('button', { name: 'Compare…' }).click();
    const panel = widget(page).getByRole('group', { name: 'Compare runs' });
    assert.equal(await panel.getByRole('combobox', { name: 'Activation' }).inputValue(), 'relu', 'ReLU against leaky ReLU by default');
    assert.equal(await panel.getByRole('combobox', { name: 'Training noise' }).inputValue(), '0.5', 'the slider\'s noise by default');
    await panel.getByRole('button', { name: 'Start comparing' }).click();
    await logged(page, /^Comparing with a second model: ReLU, learning rate 1e-3, batch 64, training noise 0\.5\.$/);
    await trainSteps(page, 50);
    await pause(page);
    const verdict = await widget(page).getByText(/^After [\d,]+ steps each, validation loss:/).textContent();
    const m = /^After ([\d,]+) steps each, validation loss: leaky ReLU (\d\.\d{4}), ReLU (\d\.\d{4}) — (.*)\.$/.exec(verdict);
    assert.ok(m, verdict);
    const n = Number(m[1].replace(/,/g, ''));
    assert.ok(n >= 50, `${n} steps each`);
    assert.equal(n, await steps(page));
    assert.equal(Number(m[2]), await validation(page), 'the first number is the first model\'s validation loss');
    // The second model's number is the API's for the same settings after the same steps (the
    // CPU backend is deterministic for a seed).
    const api = await W(page, async (w, steps) => {
      const mod = await import('/mnist-dae-cpu.js');
      const { fetchMnst } = await import('/mnst.js');
      await mod.default();
      const [train, test] = await Promise.all([fetchMnst('/data/mnist-train.bin.gz'), fetchMnst('/data/mnist-test.bin.gz')]);
      const s = await mod.Session.create(train.bytes, test.bytes,
        { backend: 'cpu', activation: 'relu', noise_factor: 0.5, val_images: 500, learning_rate: 0.001, batch_size: 64, epochs: 25 });
      await s.train(steps);
      const v = await s.validate();
      s.free();
      return v.loss;
    }, n);
    assert.equal(m[3], api.toFixed(4), `the second model's ${m[3]} is the API's ${api}`);
    const lead = Number(m[2]) - Number(m[3]);
    assert.match(m[4], Math.abs(lead) < 0.0005 ? /^too close to call/
      : new RegExp(`^${lead < 0 ? 'leaky ReLU' : 'ReLU'} is ahead by ${Math.abs(lead).toFixed(4).replace('.', '\\.')} `));
    // Both curves on one plot, and the second model's reconstructions of the same digits.
    const plot = widget(page).getByRole('img', { name: /^Loss plot/ });
    assert.match(await plot.getAttribute('aria-label'), new RegExp(`; second model: ReLU, rate 1e-3, batch 64, noise 0\\.5, last validation ${m[3].replace('.', '\\.')};`));
    const row = await W(page, (w) => {
      const c = w.shadowRoot.querySelector('canvas[part~="panel-second"]');
      const noisy = w.shadowRoot.querySelector('canvas[part~="panel-noisy"]');
      const grey = (canvas) => Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, 28).data).filter((_, i) => i % 4 === 0);
      return { label: c.getAttribute('aria-label'), second: grey(c), noisy: grey(noisy) };
    });
    assert.match(row.label, /^reconstructed by the second model: test digits \d/);
    assert.ok(Math.max(...row.second) - Math.min(...row.second) > 50, 'the row is drawn');
    assert.ok(row.second.reduce((a, v, i) => a + Math.abs(v - row.noisy[i]), 0) / row.second.length > 10, 'and it is not the noisy input');
    // Kept like a single run: a reload resumes both models, and the verdict comes back the same
    // (both validated again from their saved weights).
    await page.reload();
    await ready(page);
    await widget(page).getByRole('group', { name: 'Resume training' }).getByRole('button', { name: 'Resume' }).click();
    await logged(page, /^Resumed at step [\d,]+: validation loss \d\.\d{4}; the comparison goes on\.$/);
    assert.equal(await widget(page).getByText(/^After [\d,]+ steps each, validation loss:/).textContent(), verdict);
    await trainSteps(page, 3);
    await pause(page);
    const again = /^After ([\d,]+) steps each/.exec(await widget(page).getByText(/^After [\d,]+ steps each/).textContent());
    assert.equal(Number(again[1].replace(/,/g, '')), await steps(page), 'both went on together');
    // Stopping keeps the second curve as an earlier one.
    await widget(page).getByRole('button', { name: 'Stop comparing' }).click();
    assert.match(await plot.getAttribute('aria-label'), /earlier curves: second model: ReLU, rate 1e-3, batch 64, noise 0\.5, last validation \d\.\d{4}/);
    assert.equal(await widget(page).getByRole('button', { name: 'Compare…' }).isVisible(), true);
    assert.deepEqual(errors, []);
  });
});

describe('demo page on WebGPU', () => {
  let context, page, errors, adapter;
  const workers = [];
  before(async () => {
    context = await launch();
    ({ page, errors } = await open(context, `${server.url}/?backend=webgpu`, keepWorkerDevices(workers)));
    adapter = await page.evaluate(async () => Boolean(await navigator.gpu?.requestAdapter()));
  });
  after(async () => { await context?.close(); });

  test('trains ≥ 30 steps on WebGPU and the loss falls', async (t) => {
    if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
    await ready(page);
    assert.match(await widget(page).getByText(/^Running on:/).textContent(), /^Running on: WebGPU/);
    if (/swiftshader|lavapipe|llvmpipe/i.test(await page.evaluate(async () => { const i = (await navigator.gpu.requestAdapter()).info; return `${i.vendor} ${i.architecture} ${i.description}`; }))) {
      await widget(page).getByText(/^This WebGPU adapter is a software renderer/).waitFor();
    }
    await recordSteps(page);
    // Batch 16 keeps SwiftShader's steps short; the page's own control sets it.
    await page.getByLabel('Batch').selectOption('16');
    await trainSteps(page, 30, 400_000);
    await pause(page);
    const losses = (await stepEvents(page)).map((e) => e.loss);
    assert.ok(mean(losses.slice(-5)) < mean(losses.slice(0, 5)) - 0.05, `loss falls on WebGPU: ${losses.slice(0, 5)} … ${losses.slice(-5)}`);
    const [, noisy, rec] = await panels(page);
    assert.ok(Math.max(...rec) - Math.min(...rec) > 50, 'reconstruction drawn');
    assert.ok(rec.some((v, i) => v !== noisy[i]));
    assert.deepEqual(errors, []);
  });

  test('switching to the CPU keeps the run, validates at once and measures the CPU afresh', async (t) => {
    if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
    const [at, val] = [await steps(page), await validation(page)];
    await page.getByLabel('Backend').selectOption('cpu');
    await logged(page, /^Now on the CPU; the weights came along\./);
    assert.match(await widget(page).getByText(/^Running on:/).textContent(), /^Running on: CPU/);
    assert.equal(await steps(page), at, 'the place in the run came along');
    assert.ok(Math.abs(await validation(page) - val) < 2e-4, `validated on the CPU: ${await validation(page)} vs ${val} on WebGPU`);
    assert.equal(await stat(page, 'Images/s'), '—', "the WebGPU rate is not shown as the CPU's");
    await trainSteps(page, 3);
    await pause(page);
    assert.ok(Number(await stat(page, 'Images/s')) > 0, 'the CPU rate, once measured');
    assert.deepEqual(errors, []);
  });

  test('a GPU lost mid-training: the widget goes on on the CPU and says so, at most 5 steps lost, no reload', async (t) => {
    if (!adapter) { t.skip('no WebGPU adapter in this Chromium'); return; }
    await page.getByLabel('Backend').selectOption('webgpu');
    await logged(page, /^Now on WebGPU; the weights came along\./);
    await W(page, (w) => { window.backendEvents = []; w.addEventListener('backend', (e) => window.backendEvents.push(e.detail)); });
    await trainSteps(page, 3, 200_000);
    const worker = workers.at(-1);
    assert.ok(await worker.evaluate(() => self.gpuDevices?.length > 0), 'the worker requested a device');
    const at = await steps(page);
    await worker.evaluate(() => self.gpuDevices.at(-1).destroy());
    await logged(page, /^WebGPU failed at step \d+ \(.+\)\. Continued on the CPU from step \d+: \d steps? lost\.$/);
    // It goes on in the full module, whose CPU kernels are the plain SIMD build's.
    assert.match(await widget(page).getByText(/^Running on:/).textContent(), /^Running on: CPU .*WebGPU failed at step.*CPU kernels: wasm SIMD128\./);
    const [event] = await page.evaluate(() => window.backendEvents);
    assert.equal(event.backend, 'cpu');
    assert.ok(event.fallback.steps_lost <= 5 && event.fallback.failed_at >= at, JSON.stringify(event.fallback));
    assert.ok(await playing(page), 'training goes on');
    await trainSteps(page, 5);
    await pause(page);
    assert.ok(await steps(page) >= event.fallback.resumed_at + 5);
    const told = await page.evaluate(() => window.backendEvents);
    assert.equal(told.length, 1, `one backend event for one fallback: ${JSON.stringify(told)}`);
    // The browser reports the lost device in the console; nothing else went wrong.
    assert.deepEqual(errors.filter((e) => !/WebGPU|wgpu|device/i.test(e)), []);
  });
});

describe('saved training belongs to its tab (two tabs, one profile)', () => {
  let context, a, b;
  const url = () => `${server.url}/?backend=cpu`;
  before(async () => {
    context = await launch();
    [a, b] = [await open(context, url()), await open(context, url())];
    await Promise.all([ready(a.page), ready(b.page)]);
  });
  after(async () => { await context?.close(); });

  /** The runs a widget offers to resume, as its list shows them. */
  const offered = async (page) => {
    const offer = page.getByRole('group', { name: 'Resume training' });
    await offer.waitFor({ state: 'visible' });
    return offer.getByRole('combobox').locator('option').allTextContents();
  };

  test('the first snapshot is kept within 2 s of Train: another tab sees the run at once', async () => {
    await widget(a.page).getByRole('button', { name: 'Train', exact: true }).click();
    await a.page.waitForTimeout(2_000);
    const c = await open(context, url());
    await ready(c.page);
    const runs = await offered(c.page);
    assert.equal(runs.length, 1, runs.join(' | '));
    assert.match(runs[0], /^step [1-9][\d,]*, epoch 1 · .* · leaky ReLU, batch 64, rate 1e-3, noise 0\.5 · open in another tab$/);
    assert.ok(await widget(c.page).getByRole('button', { name: 'Resume' }).isDisabled(), 'another tab\'s run is not offered');
    await c.page.close();
    await pause(a.page);
  });

  test('each tab keeps its own run; a reload offers both, newest first; Discard removes only the one chosen', async () => {
    const atA = await steps(a.page);
    await trainSteps(b.page, 5);
    await pause(b.page);
    const atB = await steps(b.page);
    await a.page.reload();
    await ready(a.page);
    let runs = await offered(a.page);
    assert.equal(runs.length, 2, runs.join(' | '));
    assert.match(runs[0], new RegExp(`^step ${atB}, .* · open in another tab$`), 'B\'s, newest, still open there');
    assert.match(runs[1], new RegExp(`^step ${atA}, `));
    assert.ok(!/another tab/.test(runs[1]));
    await widget(a.page).getByRole('button', { name: 'Resume' }).click();
    await logged(a.page, new RegExp(`^Resumed at step ${atA}:`));
    assert.equal(await steps(a.page), atA, 'A resumed its own run, not B\'s');

    // B reloads: A's run is open in A, so B can discard only its own.
    await b.page.reload();
    await ready(b.page);
    runs = await offered(b.page);
    assert.equal(runs.length, 2, runs.join(' | '));
    assert.match(runs[1], /open in another tab$/, 'A\'s run, open in A');
    await widget(b.page).getByRole('button', { name: 'Discard' }).click();
    await logged(b.page, /^Saved training discarded\.$/);
    await a.page.reload();
    await ready(a.page);
    runs = await offered(a.page);
    assert.equal(runs.length, 1, `only B's run went: ${runs.join(' | ')}`);
    assert.match(runs[0], new RegExp(`^step ${atA}, `));
    assert.deepEqual([...a.errors, ...b.errors], []);
  });
});

describe('the page always describes the current model (CPU)', () => {
  // Read as a learner reads it: the stats' visible text, the plot's label, the list of recent
  // events, the panels' and the pad's pixels.
  let context, page, errors;
  const shown = (name) => stat(page, name);
  const here = () => widget(page);
  const padOut = () => W(page, (w) => {
    const c = w.shadowRoot.querySelector('canvas[aria-label="Your digit denoised"]');
    return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0));
  });
  before(async () => { ({ context, page, errors } = await cpuPage()); });
  after(async () => { await context?.close(); });

  test('before training: step 0 of a whole epoch, the untrained validation shown with its size', async () => {
    assert.match(await shown('Step'), /^0 \(0\/860\)$/);
    assert.match(await shown('Val. loss'), /^0\.6\d{3}$/);
    assert.match(await here().getByText(/Validation on the first 500 test images/).textContent(), /PSNR noisy \d+\.\d\d dB → reconstructed \d+\.\d\d dB/);
    // The plot: the two reference losses named and drawn (dotted green lines), and a legend
    // with no "—" where the cursor has no value.
    const plot = here().getByRole('img', { name: /^Loss plot/ });
    assert.match(await plot.getAttribute('aria-label'), /; reference lines: tutorial, 25 epochs 0\.1171, shipped model 0\.0947; epochs 0 to 25 across$/);
    const drawn = await plot.evaluate((p) => {
      const c = p.querySelector('canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let green = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && d[i + 1] > 100 && d[i] < 80 && d[i + 2] < 100) green++;
      return { green, legend: p.querySelector('.u-legend')?.textContent ?? '' };
    });
    assert.ok(drawn.green > 100, `reference lines drawn: ${drawn.green} green pixels`);
    assert.ok(drawn.legend.includes('validation') && !drawn.legend.includes('—'), `legend: "${drawn.legend}"`);
  });

  test('the noise slider changes the training noise, not the validation: a mark instead of a jump', async () => {
    await trainSteps(page, 3);
    await pause(page);
    const val = await shown('Val. loss');
    await page.getByRole('slider', { name: /Noise/ }).fill('0.8');
    await logged(page, /Training noise set to 0\.80/);
    assert.equal(await shown('Val. loss'), val);
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    await page.getByRole('button', { name: 'Pause' }).click();
    await pause(page);
    // One more step moved the model a little; the validation noise did not move with the slider.
    assert.ok(Math.abs(await validation(page) - Number(val)) < 0.05, `validation ${await validation(page)} vs ${val}`);
    assert.match(await here().getByRole('img', { name: /Loss plot/ }).getAttribute('aria-label'), /settings changed 1 time \(Training noise set to 0\.80\.\)/);
    await page.getByRole('slider', { name: /Noise/ }).fill('0.5');
    await logged(page, /Training noise set to 0\.50/);
  });

  test('Reset re-validates at once and the pad shows the new model', async () => {
    const pad = here().getByRole('img', { name: /Drawing pad/ });
    const hint = here().getByText('Draw a digit on the black square: it is noised and denoised beside it.');
    assert.ok(await hint.isVisible(), 'the empty pad says what to do');
    assert.equal(await pad.getAttribute('tabindex'), null, 'no Tab stop where no key draws');
    const box = await pad.boundingBox();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.8, { steps: 8 });
    await page.mouse.up();
    await page.waitForFunction(() => true);
    await hint.waitFor({ state: 'hidden' });
    await trainSteps(page, 20);
    await pause(page);
    await page.waitForTimeout(300);
    const trainedPad = await padOut();
    const trainedVal = Number(await shown('Val. loss'));
    await page.getByRole('button', { name: 'Reset' }).click();
    await page.getByRole('button', { name: 'Discard and reset' }).click();
    await logged(page, /^Reset: a new model \(validation loss 0\.6\d{3}\)/);
    const resetVal = Number(await shown('Val. loss'));
    assert.ok(resetVal > trainedVal + 0.02, `Val. loss after Reset ${resetVal}, trained ${trainedVal}`);
    assert.match(await shown('Step'), /^0 \(0\/860\)$/);
    const resetPad = await padOut();
    assert.ok(mse(resetPad, trainedPad) > 1e-4, 'the pad was redrawn by the new model');
    assert.match(await here().getByRole('img', { name: /Loss plot/ }).getAttribute('aria-label'), /^Loss plot: 0 steps; training loss —/);
  });

  test('a confirmation stays readable while training goes on', async () => {
    await page.getByRole('button', { name: 'Load pretrained' }).click();
    await logged(page, /Loaded pretrained weights: validation loss 0\.0\d{3}/);
    await trainSteps(page, 3);
    assert.match(await status(page), /Training/);
    await logged(page, /Loaded pretrained weights/, 1_000);
    await pause(page);
  });

  test('a confirmation starts on Cancel and Esc cancels it, focus back where it was asked; the focus ring is ≥ 3:1', async () => {
    const before = await steps(page);
    assert.ok(before > 0, 'a run to lose');
    const focused = () => W(page, (w) => { const e = w.shadowRoot.activeElement; return e?.tagName === 'SELECT' ? e.name : e?.textContent; });
    const confirm = widget(page).getByRole('group', { name: 'Confirm' });
    await widget(page).getByRole('button', { name: 'Reset' }).click();
    await confirm.waitFor();
    assert.equal(await focused(), 'Cancel', 'focus starts on the choice that loses nothing');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'hidden' });
    assert.equal(await focused(), 'Reset');
    assert.equal(await steps(page), before, 'Esc kept the run');
    await page.getByLabel('Activation').selectOption('relu');
    await confirm.waitFor();
    assert.equal(await focused(), 'Cancel');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'hidden' });
    assert.equal(await page.getByLabel('Activation').inputValue(), 'leaky_relu', 'Esc puts the activation back');
    assert.equal(await focused(), 'activation');
    // The ring as the keyboard shows it, against the element's background (WCAG 1.4.11: 3:1).
    await page.keyboard.press('Tab');
    const ratio = await W(page, (w) => {
      const parse = (c) => c.match(/[\d.]+/g).slice(0, 3).map(Number);
      const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
        .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
      const ring = parse(getComputedStyle(w.shadowRoot.activeElement).outlineColor);
      const bg = parse(getComputedStyle(w.shadowRoot.querySelector('.root')).backgroundColor);
      const [a, b] = [lum(ring), lum(bg)].sort((x, y) => y - x);
      return (a + 0.05) / (b + 0.05);
    });
    assert.ok(ratio >= 3, `focus ring contrast ${ratio.toFixed(2)}:1`);
  });

  test('a saved ReLU run resumes as ReLU: the activation shown is the model\'s', async () => {
    await page.getByLabel('Activation').selectOption('relu');
    await page.getByRole('button', { name: 'Discard and reset' }).click();
    await logged(page, /^Reset: a new model/);
    await trainSteps(page, 3);
    await pause(page);
    await page.reload();
    await ready(page);
    assert.equal(await page.getByLabel('Activation').inputValue(), 'leaky_relu', 'a fresh page starts with the default');
    const offer = page.getByRole('group', { name: 'Resume training' });
    await offer.getByRole('button', { name: 'Resume' }).click();
    await logged(page, /^Resumed at step/);
    assert.equal(await page.getByLabel('Activation').inputValue(), 'relu');
  });

  test('a resume offer goes away when a new run starts instead', async () => {
    await page.reload();
    await ready(page);
    const offer = page.getByRole('group', { name: 'Resume training' });
    await offer.waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Train', exact: true }).click();
    await offer.waitFor({ state: 'hidden', timeout: 10_000 });
    await pause(page);
    assert.deepEqual(errors, []);
  });

  test('the epochs field takes a whole number from 1 to 1000; anything else is refused, naming what came, and the run keeps its length', async () => {
    const field = here().getByRole('spinbutton', { name: 'Epochs' });
    const before = await shown('Epoch');
    const epochs = before.split(' / ')[1];
    for (const [typed, got] of [['0', '0'], ['1001', '1001'], ['2.5', '2.5'], ['-3', '-3'], ['', 'nothing']]) {
      await field.fill(typed);
      await field.blur();
      await here().getByText(`Epochs: expected a whole number from 1 to 1000, got ${got}; still ${epochs}`).first().waitFor({ timeout: 5_000 });
      assert.equal(await field.inputValue(), epochs, `after "${typed}" the field shows the run's epochs again`);
      assert.equal(await shown('Epoch'), before);
    }
    await field.fill('30');
    await field.blur();
    await logged(page, /^Epochs set to 30\./);
    assert.equal(await shown('Epoch'), `${before.split(' / ')[0]} / 30`);
    assert.equal(await field.inputValue(), '30');
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
      await widget(page).locator('[part="status"]').getByText(/^Ready on WebGPU/).waitFor({ timeout: 240_000 });
      assert.deepEqual(wasm, ['/pkg-cpu-relaxed/mnist_dae_bg.wasm', '/pkg/mnist_dae_bg.wasm'], 'the CPU module (its relaxed-SIMD build) first, the full one after');
      assert.match(await widget(page).getByText(/^Running on:/).textContent(), /^Running on: WebGPU — the graphics card\. Details\s*WebGPU on test pretend-hardware/);
      await logged(page, /Moved to WebGPU/);
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
      const gpu = await page.evaluate(async () => {
        const a = await navigator.gpu?.requestAdapter();
        const info = a?.info ?? {};
        return { available: Boolean(a), software: Boolean(info.isFallbackAdapter) || /swiftshader|lavapipe|llvmpipe/i.test(`${info.vendor} ${info.architecture} ${info.description}`) };
      });
      assert.ok(wasm.includes('/pkg-cpu-relaxed/mnist_dae_bg.wasm'), `the CPU-only module (its relaxed-SIMD build) was fetched: ${wasm}`);
      if (!gpu.available || gpu.software) {
        assert.ok(!wasm.includes('/pkg/mnist_dae_bg.wasm'), `no full module without a hardware adapter: ${wasm}`);
        assert.match(await trainer.getByText(/^Running on:/).textContent(), /^Running on: CPU/);
        assert.match(await strip.locator('[part="status"]').textContent(), /on the CPU/);
      }
      if (gpu.software) {
        assert.match(await trainer.getByText(/^Running on:/).textContent(), /CPU renderer/);
      }
      const rows = await panelPixels(strip);
      assert.equal(rows[0].length, 6 * 784, 'digits="6"');
      assert.ok(mse(rows[2], rows[0]) < mse(rows[1], rows[0]) / 3, 'the denoise widget cleans the digits');
      const steps = [];
      await page.exposeFunction('recordStep', (s) => steps.push(s));
      await trainer.evaluate((w) => { window.stepCount = 0; w.addEventListener('step', (e) => { window.stepCount++; window.recordStep(e.detail); }); });
      await trainer.getByRole('button', { name: 'Train', exact: true }).click();
      await page.waitForFunction(() => window.stepCount >= 5, null, { timeout: 60_000 });
      await trainer.getByRole('button', { name: 'Pause' }).click();
      assert.ok(steps.length >= 5 && steps.every((s) => Number.isFinite(s.loss) && s.step >= 1), `step events: ${JSON.stringify(steps.slice(0, 3))}`);
      // The figures are lazy-loaded below the fold: ask for them now.
      const images = await page.evaluate(() => Promise.all([...document.images].map(async (i) => {
        i.loading = 'eager';
        await i.decode().catch(() => {});
        return [i.getAttribute('src'), i.naturalWidth];
      })));
      assert.ok(images.length === 4 && images.every(([, w]) => w > 0), `figures load: ${JSON.stringify(images)}`);
      // Two widgets, the page's headings around them: no moderate-or-worse violation
      // (heading-order, landmark-unique included).
      assert.deepEqual(await axeViolations(page), []);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});
