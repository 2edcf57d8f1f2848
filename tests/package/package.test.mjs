// The npm package as users get it: `npm pack`, installed into a scratch project, then used
// (a) from Node 20 (both builds, and the default entry as the README has it), (b) from a Vite 7 app, (c) with the one-line embed on a plain page, and
// (d) twice on a host page with hostile CSS, (e) from another origin, as from a CDN, (f) by a
// TypeScript app checked against the shipped typings. Also checks what the tarball holds and
// its size.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, serve } from '../support/server.mjs';
import { launch, open } from '../support/chromium.mjs';
import { mse, panelPixels, widgetReady } from '../support/widget.mjs';

const VITE = '7.3.8';
const TYPESCRIPT = '5.9.3';
const scratch = mkdtempSync(join(tmpdir(), 'mnist-dae-package-'));
const run = (cmd, args, cwd = scratch) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
let pack, tarball, context;

before(async () => {
  // The package is built by `npm test` before this suite (scripts/build.sh): no prepack again.
  [pack] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], repoRoot));
  tarball = join(scratch, pack.filename);
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, `vite@${VITE}`, `typescript@${TYPESCRIPT}`]);
  context = await launch();
});
after(async () => { await context?.close(); });

test('the tarball ships the API, the widget, the weights and the sample, and nothing else', (t) => {
  const files = pack.files.map((f) => f.path).sort();
  t.diagnostic(`${pack.filename}: ${(pack.size / 1048576).toFixed(2)} MiB packed, ${(pack.unpackedSize / 1048576).toFixed(2)} MiB unpacked, ${files.length} files`);
  console.log(`# tarball ${pack.filename}: ${pack.size} bytes packed, ${pack.unpackedSize} unpacked`);
  for (const f of ['package.json', 'www/pkg/mnist_dae.js', 'www/pkg/mnist_dae.d.ts', 'www/pkg/mnist_dae_bg.wasm',
    'www/pkg-cpu/mnist_dae.js', 'www/pkg-cpu/mnist_dae.d.ts', 'www/pkg-cpu/mnist_dae_bg.wasm', 'www/pkg-cpu-relaxed/mnist_dae_bg.wasm', 'www/lib/cpu-wasm.js',
    'www/mnist-dae.js', 'www/mnist-dae.d.ts', 'www/mnist-dae-cpu.js', 'www/mnist-dae-cpu.d.ts', 'www/lib/guard.js', 'www/lib/full.js',
    'www/widget.js', 'www/widget.d.ts', 'www/mnst.js', 'www/mnst.d.ts', 'www/client.js', 'www/client.d.ts', 'www/client-worker.js',
    'www/lib/cross-origin-worker.js', 'www/worker.js', 'www/worker/modules.js', 'www/vendor/uPlot.min.js', 'www/pretrained/mnist-dae.safetensors',
    'www/pretrained/history.csv', 'www/data/sample.bin.gz', 'LICENSE-MIT', 'LICENSE-APACHE', 'NOTICE.md', 'README.md']) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  assert.deepEqual(files.filter((f) => /^tests?\/|\.test\.|^src\/|^runs\/|mnist-(train|test)|idx[13]-ubyte/.test(f)), [],
    'no tests, sources, runs or full datasets');
  assert.deepEqual(files.filter((f) => /_bg\.wasm\.d\.ts$|uPlot\.esm\.js$/.test(f)), [],
    'nothing no import reaches: no typings of the raw wasm exports, no unminified uPlot');
  const data = pack.files.filter((f) => f.path.startsWith('www/data/'));
  assert.deepEqual(data.map((f) => f.path), ['www/data/sample.bin.gz']);
  assert.ok(data[0].size < 64 * 1024, `sample is small (${data[0].size} bytes)`);
});

test('(a) Node 20: both modules (full and CPU-only) create on the CPU, load the shipped weights, denoise the sample read by mnist-dae/data', () => {
  writeFileSync(join(scratch, 'node-check.mjs'), `
    import { readFileSync } from 'node:fs';
    import { gunzipSync } from 'node:zlib';
    import { fileURLToPath } from 'node:url';
    import * as full from 'mnist-dae';
    import * as cpu from 'mnist-dae/cpu';
    import { parseMnst } from 'mnist-dae/data';
    const file = (spec) => readFileSync(fileURLToPath(import.meta.resolve(spec)));
    const sample = parseMnst(gunzipSync(file('mnist-dae/sample')));
    const n = sample.n;
    const clean = sample.images();
    const digits = Array.from({ length: 10 }, (_, d) => sample.labels.filter((l) => l === d).length);
    let bad = '';
    try { parseMnst(new Uint8Array(20)); } catch (e) { bad = e.code + ': ' + e.message; }
    let gzipped = '';
    try { parseMnst(file('mnist-dae/sample')); } catch (e) { gzipped = e.message; }
    let cut = '';
    try { parseMnst(new TextEncoder().encode('MNST\u0001')); } catch (e) { cut = e.message; }
    const mse = (a, b) => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / a.length;
    const results = [];
    for (const [api, wasm] of [[full, 'mnist-dae/wasm'], [cpu, 'mnist-dae/wasm-cpu']]) {
      await api.default({ module_or_path: file(wasm) });
      const dae = await api.Denoiser.create({ backend: 'cpu' });
      await dae.load_weights(file('mnist-dae/weights'));
      const noisy = await api.add_noise(clean, 0.5, 1);
      const out = await dae.denoise(noisy);
      let refused = '';
      if (!api.has_webgpu()) await api.Denoiser.create({ backend: 'webgpu' }).catch((e) => { refused = e.message; });
      results.push({ wasm, n, digits, bad, gzipped, cut, length: out.length, backend: dae.backend, webgpu: api.has_webgpu(), refused, noisy: mse(noisy, clean), denoised: mse(out, clean), out: Array.from(out.subarray(0, 784)) });
    }
    console.log(JSON.stringify(results));
  `);
  const [full, cpu] = JSON.parse(run('node', ['node-check.mjs']).trim().split('\n').at(-1));
  for (const r of [full, cpu]) {
    assert.equal(r.backend, 'cpu', r.wasm);
    assert.equal(r.n, 100);
    assert.deepEqual(r.digits, Array(10).fill(10), 'ten of each digit');
    assert.equal(r.bad, 'invalid_input: MNST file: expected an "MNST" file (4d 4e 53 54 …), got 20 bytes starting 00 00 00 00');
    assert.equal(r.cut, 'MNST file: expected a 16-byte header, got a file of 5 bytes');
    assert.match(r.gzipped, /^MNST file: expected an "MNST" file \(4d 4e 53 54 …\), got \d+ bytes starting 1f 8b 08 \w\w \(gzip: decompress it first\)$/);
    assert.equal(r.length, 100 * 784);
    assert.ok(r.denoised < r.noisy / 3, `${r.wasm}: denoised MSE ${r.denoised} vs noisy ${r.noisy}`);
  }
  assert.deepEqual([full.webgpu, cpu.webgpu], [true, false], 'has_webgpu() tells the two modules apart');
  assert.match(cpu.refused, /CPU-only module.*www\/pkg/, 'the CPU-only module refuses "webgpu" and names the full one');
  // One crate, two builds: the same weights and input give the same image (LTO may reorder
  // float work, so equal to rounding, not bit for bit).
  const diff = Math.max(...full.out.map((v, i) => Math.abs(v - cpu.out[i])));
  assert.ok(diff < 1e-5, `the two modules agree (max difference ${diff})`);
});

test('(a) Node 20, as the README has it: init({ cpu }) loads the CPU-only module, "auto" runs there, "webgpu" is refused by the policy', () => {
  writeFileSync(join(scratch, 'node-lazy.mjs'), `
    import { readFileSync } from 'node:fs';
    import { gunzipSync } from 'node:zlib';
    import { fileURLToPath } from 'node:url';
    import init, { Denoiser, add_noise, has_webgpu } from 'mnist-dae';
    import { parseMnst } from 'mnist-dae/data';
    const file = (spec) => readFileSync(fileURLToPath(import.meta.resolve(spec)));
    const early = await Denoiser.create().catch((e) => e.code + ': ' + e.message);
    // A module that fails to load leaves init to be called again.
    const bad = await init({ cpu: new Uint8Array([0, 97, 115, 109]) }).then(() => 'loaded', (e) => e.constructor.name);
    await init({ cpu: file('mnist-dae/wasm-cpu'), webgpu: new URL('file:///nowhere.wasm') });
    const clean = parseMnst(gunzipSync(file('mnist-dae/sample'))).images();
    const dae = await Denoiser.create();
    await dae.load_weights(file('mnist-dae/weights'));
    const noisy = await add_noise(clean, 0.5, 1);
    const out = await dae.denoise(noisy);
    const mse = (a, b) => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / a.length;
    const refused = await Denoiser.create({ backend: 'webgpu' }).catch((e) => e.code + ': ' + e.message);
    console.log(JSON.stringify({ early, bad, backend: dae.backend, note: dae.backend_note, webgpu: has_webgpu(), refused, noisy: mse(noisy, clean), denoised: mse(out, clean) }));
  `);
  const r = JSON.parse(run('node', ['node-lazy.mjs']).trim().split('\n').at(-1));
  assert.equal(r.early, 'invalid_input: Denoiser.create: expected init() to have been called first, got a call before it');
  assert.equal(r.bad, 'CompileError', 'bad bytes reject init, and the next init loads');
  assert.equal(r.backend, 'cpu');
  assert.match(r.note, /no WebGPU here/);
  assert.equal(r.webgpu, true, 'the default entry can go to WebGPU');
  assert.match(r.refused, /^backend: backend error: backend "webgpu": expected a WebGPU adapter, got none/, 'the policy refuses before any fetch of the WebGPU module');
  assert.ok(r.denoised < r.noisy / 3, `denoised MSE ${r.denoised} vs noisy ${r.noisy}`);
});

async function checkDenoiseWidget(page, selector = 'mnist-dae') {
  const widget = page.locator(selector);
  await widgetReady(widget);
  const [original, noisy, rec] = await panelPixels(widget);
  assert.ok(Math.max(...rec) - Math.min(...rec) > 50, 'reconstruction drawn');
  assert.ok(mse(rec, original) < mse(noisy, original) / 3, `reconstruction closer to the original (${mse(rec, original)}) than the noisy input (${mse(noisy, original)})`);
}

test('(b) a Vite 7 app imports the package and the widget; its build renders and denoises', async () => {
  mkdirSync(join(scratch, 'vite-app'), { recursive: true });
  writeFileSync(join(scratch, 'vite-app', 'index.html'), `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>vite</title></head>
    <body><mnist-dae mode="denoise" backend="cpu"></mnist-dae><script type="module" src="./main.js"></script></body></html>`);
  writeFileSync(join(scratch, 'vite-app', 'main.js'), `
    import 'mnist-dae/widget';
    import init, { parameter_count, simd_level } from 'mnist-dae';
    init().then(() => { document.body.dataset.parameters = String(parameter_count()); document.body.dataset.simd = simd_level(); });
  `);
  run(join(scratch, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], join(scratch, 'vite-app'));
  const server = await serve(join(scratch, 'vite-app', 'dist'));
  try {
    // Vite names both builds' .wasm mnist_dae_bg-[hash]: the full one is the asset of its size.
    const fullSize = pack.files.find((f) => f.path === 'www/pkg/mnist_dae_bg.wasm').size;
    const assets = join(scratch, 'vite-app', 'dist', 'assets');
    const fullAsset = readdirSync(assets).filter((f) => f.endsWith('.wasm') && statSync(join(assets, f)).size === fullSize);
    assert.equal(fullAsset.length, 1, 'the build ships the WebGPU module as an asset, for when a model goes there');
    const fetched = [];
    const { page, errors } = await open(context, `${server.url}/`, (pg) => pg.on('request', (r) => fetched.push(r.url())));
    await checkDenoiseWidget(page);
    await page.waitForFunction(() => document.body.dataset.parameters === '37601');
    // The bundle carries the relaxed-SIMD build too, and Chromium gets it.
    assert.equal(await page.evaluate(() => document.body.dataset.simd), 'wasm SIMD128 + relaxed (fused multiply-add)');
    assert.deepEqual(errors, []);
    assert.deepEqual(fetched.filter((u) => u.endsWith(fullAsset[0])), [], 'neither init() nor the CPU widget fetches the WebGPU module');
    await page.close();
  } finally {
    await server.close();
  }
});

test('(c) a plain page with the one-line embed renders and denoises, also inside an iframe', async () => {
  writeFileSync(join(scratch, 'plain.html'), `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>plain</title>
    <script type="module" src="./node_modules/mnist-dae/www/widget.js"></script></head>
    <body><p>Before.</p><mnist-dae mode="denoise"></mnist-dae><p>After.</p></body></html>`);
  const server = await serve(scratch);
  try {
    const { page, errors } = await open(context, `${server.url}/plain.html`);
    await checkDenoiseWidget(page);
    assert.deepEqual(errors, []);
    await page.close();
    writeFileSync(join(scratch, 'framed.html'), `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>framed</title></head>
      <body><iframe src="plain.html" title="embedded widget" style="width: 700px; height: 600px"></iframe></body></html>`);
    const framed = await open(context, `${server.url}/framed.html`);
    const inFrame = framed.page.frameLocator('iframe').locator('mnist-dae');
    await widgetReady(inFrame);
    const [original, noisy, rec] = await panelPixels(inFrame);
    assert.ok(mse(rec, original) < mse(noisy, original) / 3, 'denoises inside an iframe');
    assert.deepEqual(framed.errors, []);
    await framed.page.close();
  } finally {
    await server.close();
  }
});

test('(d) two widgets among hostile CSS: both work, the host is untouched, removing one ends its worker', async () => {
  writeFileSync(join(scratch, 'hostile.html'), `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>hostile</title>
    <style>
      * { all: unset; }
      html, body, p, div { display: block; }
      body { font-size: 48px; line-height: 3; color: rgb(255, 0, 255); background: rgb(0, 255, 0); }
      canvas, button { border: 9px dotted red !important; }
      #probe { width: 300px; }
      #w2 { --mnist-dae-accent: rgb(4, 5, 6); }
      #w2::part(root) { border-top-color: rgb(1, 2, 3); }
    </style></head>
    <body><p id="probe">Host text before the widgets.</p>
    <div id="one"><mnist-dae id="w1" mode="denoise" backend="cpu" digits="4"></mnist-dae></div>
    <div id="two"><mnist-dae id="w2" mode="denoise" backend="cpu" digits="3" noise="0.3"></mnist-dae></div>
    <button id="hostbutton">host button</button></body></html>`);
  const server = await serve(scratch);
  try {
    const { page, errors } = await open(context, `${server.url}/hostile.html`);
    const hostState = () => page.evaluate(() => {
      const probe = document.getElementById('probe').getBoundingClientRect();
      const b = getComputedStyle(document.getElementById('hostbutton'));
      return { probe: [probe.x, probe.y, probe.width, probe.height], button: [b.fontSize, b.color, b.borderTopStyle, b.display] };
    });
    const before = await hostState(); // the widgets are not defined yet: no script on the page
    await page.addScriptTag({ type: 'module', url: './node_modules/mnist-dae/www/widget.js' });
    await checkDenoiseWidget(page, '#w1');
    await checkDenoiseWidget(page, '#w2');
    assert.deepEqual(await hostState(), before, 'host element boxes and styles unchanged');
    const sizes = await page.evaluate(() => ['#w1', '#w2'].map((s) => document.querySelector(s).shadowRoot.querySelectorAll('canvas.strip')[0].width));
    assert.deepEqual(sizes, [4 * 28, 3 * 28], 'each widget has its own columns');
    const font = await page.evaluate(() => getComputedStyle(document.querySelector('#w1').shadowRoot.querySelector('.root')).fontSize);
    assert.equal(font, '14px', 'the widget keeps its own font size');
    const themed = await page.evaluate(() => {
      const root = document.querySelector('#w2').shadowRoot;
      return [getComputedStyle(root.querySelector('.root')).borderTopColor, getComputedStyle(root.querySelector('button')).color];
    });
    assert.deepEqual(themed, ['rgb(1, 2, 3)', 'rgb(4, 5, 6)'], '::part and custom properties style the widget');
    assert.equal(page.workers().length, 2, 'one worker per widget');
    // Whichever of the two is w1's (Playwright lists workers as they attach, in no set order).
    const closed = Promise.race(page.workers().map((w) => new Promise((resolve) => w.once('close', resolve))));
    await page.evaluate(() => document.getElementById('w1').remove());
    await Promise.race([closed, page.waitForTimeout(30_000).then(() => assert.fail('no worker ended within 30 s of removing its widget'))]);
    assert.equal(page.workers().length, 1, 'the removed widget\'s worker ended');
    // The other one still works.
    const w2 = page.locator('#w2');
    const count = await w2.evaluate((w) => Number(w.dataset.panels));
    await w2.getByRole('button', { name: 'New noise' }).click();
    await page.waitForFunction((c) => Number(document.querySelector('#w2').dataset.panels) > c, count);
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await server.close();
  }
});

test('(e) from a CDN: the package on one origin (with CORS), the page on another; a broken CDN says so in the element', async () => {
  const pkg = join(scratch, 'node_modules', 'mnist-dae');
  const broken = join(scratch, 'cdn-broken');
  cpSync(pkg, broken, { recursive: true, dereference: true });
  rmSync(join(broken, 'www', 'worker.js'));
  const cors = { headers: { 'access-control-allow-origin': '*' } };
  const [cdn, bad] = [await serve(pkg, cors), await serve(broken, cors)];
  mkdirSync(join(scratch, 'host'), { recursive: true });
  const embed = (from) => `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>cdn</title></head>
    <body><mnist-dae mode="denoise"></mnist-dae>
    <script>window.widgetErrors = []; document.querySelector('mnist-dae').addEventListener('error', (e) => window.widgetErrors.push(e.detail.message));</script>
    <script type="module" src="${from}/www/widget.js"></script></body></html>`;
  writeFileSync(join(scratch, 'host', 'cdn.html'), embed(cdn.url));
  writeFileSync(join(scratch, 'host', 'broken.html'), embed(bad.url));
  const host = await serve(join(scratch, 'host'));
  // Another host name as well as another port: the page's origin is not the package's.
  const hostUrl = host.url.replace('127.0.0.1', 'localhost');
  try {
    const { page, errors } = await open(context, `${hostUrl}/cdn.html`);
    await checkDenoiseWidget(page);
    assert.deepEqual(await page.evaluate(() => window.widgetErrors), []);
    assert.deepEqual(errors, []);
    await page.close();

    const failed = await open(context, `${hostUrl}/broken.html`);
    const widget = failed.page.locator('mnist-dae');
    await failed.page.waitForFunction(() => window.widgetErrors.length > 0, null, { timeout: 30_000 });
    const [message] = await failed.page.evaluate(() => window.widgetErrors);
    assert.match(message, /^the widget's worker failed: expected http:\/\/127\.0\.0\.1:\d+\/www\/worker\.js and its modules to load and run, got /);
    // Its status line (the noise slider's <output> is a status too).
    assert.equal(await widget.getByRole('status').filter({ hasText: /^the widget's worker/ }).textContent(), message, 'the element shows what went wrong');
    await failed.page.close();
  } finally {
    await Promise.all([cdn.close(), bad.close(), host.close()]);
  }
});

test('(f) a TypeScript app type-checks against the shipped typings (tsc --noEmit, strict), and wrong uses do not', () => {
  mkdirSync(join(scratch, 'ts-app'), { recursive: true });
  writeFileSync(join(scratch, 'ts-app', 'tsconfig.json'), JSON.stringify({
    // The shipped .d.ts files are checked too (skipLibCheck off); wasm-bindgen's classes declare
    // [Symbol.dispose], hence esnext.disposable (README, "Use from JavaScript").
    compilerOptions: { target: 'es2022', module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'esnext.disposable', 'dom'], strict: true, noEmit: true, skipLibCheck: false, types: [] },
    include: ['main.ts'],
  }));
  writeFileSync(join(scratch, 'ts-app', 'main.ts'), `
    import init, { Denoiser, add_noise } from 'mnist-dae';
    import { Session } from 'mnist-dae/cpu';
    import { MnistDaeElement, type MnistDaeEpochDetail } from 'mnist-dae/widget';
    import { fetchMnst, parseMnst } from 'mnist-dae/data';
    import { Denoiser as OffThread, type NamedArray } from 'mnist-dae/client';

    const el = document.createElement('mnist-dae');
    const same: MnistDaeElement = el;
    el.setAttribute('mode', 'train');
    el.addEventListener('validated', (e) => { const loss: number = e.detail.loss; const db: number = e.detail.psnr; console.log(loss, db); });
    el.addEventListener('epoch', (e) => { const d: MnistDaeEpochDetail = e.detail; console.log(d.valLoss); });
    el.addEventListener('backend', (e) => console.log(e.detail.fallback?.steps_lost ?? 0));
    el.addEventListener('error', (e) => console.log(e.detail.code));
    const saved: Promise<Uint8Array> = el.saveWeights();
    void el.loadWeights(new URL('/weights.safetensors', location.href));
    void el.train().then(() => el.pause());

    // @ts-expect-error: a step event has no PSNR
    el.addEventListener('step', (e) => console.log(e.detail.psnr));
    // @ts-expect-error: loadWeights takes bytes or a URL, not a number
    void el.loadWeights(42);
    // @ts-expect-error: the mode is one of two
    const mode: 'classify' = el.mode;

    await init();
    void init({ cpu: new URL('/cpu.wasm', location.href), webgpu: fetch('/gpu.wasm') });
    // @ts-expect-error: the builds are "cpu" and "webgpu"
    void init({ gpu: '/gpu.wasm' });
    const d = await Denoiser.create({ backend: 'cpu' });
    const runsOn: 'webgpu' | 'cpu' = d.backend;
    const noisy: Float32Array = await add_noise(new Float32Array(784), 0.5, 1);
    const out: Float32Array = await d.denoise(noisy);
    const latent: number[] = (await d.trace(noisy)).find((m) => m.name === 'latent')!.shape;
    const kernel: Float32Array = (await d.parameters())[0].values;
    const set = await fetchMnst(new URL('sample.bin.gz', location.href), { onProgress: (loaded, total) => console.log(loaded / total) });
    const first: Float32Array = set.images(0, 1);
    const again = parseMnst(set.bytes);
    const s = await Session.create(set.bytes, again.bytes, { backend: 'cpu' });
    const off = await OffThread.create({ backend: 'cpu' });
    const loss: number = await off.train_step(first, first);
    const where: 'webgpu' | 'cpu' = off.backend;
    const maps: NamedArray[] = await off.trace(first);
    // @ts-expect-error: the worker's Denoiser takes no Session data
    await off.denoise(set.bytes);
    off.free();
    const sessionOn: 'webgpu' | 'cpu' = s.backend;
    console.log(same, saved, mode, runsOn, sessionOn, out.length, first.length, loss, where, latent, kernel, maps);
  `);
  const tsc = join(scratch, 'node_modules', '.bin', 'tsc');
  try {
    run(tsc, ['-p', '.'], join(scratch, 'ts-app'));
  } catch (e) {
    assert.fail(`tsc --noEmit failed:\n${e.stdout}${e.stderr}`);
  }
  // Without the typings' event map each listener's detail is untyped and the expectations above
  // go unmet: the check proves the types, not only that the file parses.
  writeFileSync(join(scratch, 'ts-app', 'main.ts'), `
    import 'mnist-dae/widget';
    const el = document.createElement('mnist-dae');
    el.addEventListener('step', (e) => { const s: string = e.detail.step; console.log(s); });
  `);
  assert.throws(() => run(tsc, ['-p', '.'], join(scratch, 'ts-app')), (e) => /TS2322: Type 'number' is not assignable to type 'string'/.test(e.stdout));
});

test('(g) the typings of each entry declare exactly the values it exports (Node; the .d.ts as TypeScript reads it)', () => {
  // What `export *` in a .d.ts pulls in must exist at run time: a name declared but not exported
  // type-checks and then fails as the import of a missing binding.
  // Every entry Node can import (mnist-dae/widget defines a custom element: browsers only).
  const entries = ['mnist-dae', 'mnist-dae/cpu', 'mnist-dae/data', 'mnist-dae/client'];
  writeFileSync(join(scratch, 'exports-probe.ts'), entries.map((e, i) => `import * as m${i} from '${e}';\nconsole.log(m${i});`).join('\n'));
  writeFileSync(join(scratch, 'exports-check.mjs'), `
    import ts from 'typescript';
    const entries = ${JSON.stringify(entries)};
    const program = ts.createProgram(['exports-probe.ts'], { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022, noEmit: true });
    const checker = program.getTypeChecker();
    const file = program.getSourceFile('exports-probe.ts');
    const out = {};
    for (const decl of file.statements.filter(ts.isImportDeclaration)) {
      const spec = decl.moduleSpecifier.text;
      const symbols = checker.getExportsOfModule(checker.getSymbolAtLocation(decl.moduleSpecifier));
      const values = symbols.filter((s) => {
        const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
        return target.flags & ts.SymbolFlags.Value;
      }).map((s) => s.name).sort();
      out[spec] = { typed: values, runtime: Object.keys(await import(spec)).sort() };
    }
    console.log(JSON.stringify(out));
  `);
  const found = JSON.parse(run('node', ['exports-check.mjs']).trim().split('\n').at(-1));
  assert.deepEqual(Object.keys(found), entries);
  for (const [entry, { typed, runtime }] of Object.entries(found)) {
    assert.ok(runtime.length > 0, `${entry} exports something`);
    assert.deepEqual(typed, runtime, `${entry}: declared in the typings vs exported`);
  }
});
