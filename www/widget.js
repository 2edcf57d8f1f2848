// <mnist-dae>: the denoising autoencoder as a custom element. One UI for the demo page, the
// tutorial and anyone who embeds it:
//
//   <script type="module" src="…/mnist-dae/www/widget.js"></script>
//   <mnist-dae mode="denoise"></mnist-dae>
//
// Attributes: mode ("train" | "denoise"), backend ("auto" | "webgpu" | "cpu"), noise (0–1),
// digits (panel columns), weights (URL of a safetensors file; default: the shipped pretrained
// weights), data (base URL of the compact MNIST files; default ./data/ beside this file),
// autoplay (train: start training when ready). Events: ready, step ({step, loss}), error
// ({message}). Shadow DOM, no globals; each element runs its own module worker, terminated
// when the element is removed. Styling: CSS custom properties --mnist-dae-* and ::part().

const PIXELS = 784;
// Literal `new URL('./…', import.meta.url)`: bundlers (Vite, webpack, Parcel) see these and ship
// the files with the bundle; without a bundler they resolve next to this file.
const DEFAULT_WEIGHTS = new URL('./pretrained/mnist-dae.safetensors', import.meta.url).href;
const SAMPLE = new URL('./data/sample.bin.gz', import.meta.url).href;
const UPLOT_CSS = new URL('./vendor/uPlot.min.css', import.meta.url).href;
// The full training set is not part of the npm package (only the sample is): train mode looks for
// it in ./data/ beside this file unless the `data` attribute says where (`npx mnist-dae-data DIR`
// writes the files).
const DEFAULT_DATA = import.meta.url.replace(/[^/]*$/, '') + 'data/';

/** Talks to one worker: `{id, type, ...}` out, `{id, ok, result | error}` back. */
class WorkerClient {
  constructor() {
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'mnist-dae' });
    this.pending = new Map();
    this.next = 1;
    this.onMessage = ({ data }) => {
      const p = this.pending.get(data.id);
      if (!p) return;
      if (data.progress) { p.progress?.(data.progress); return; }
      this.pending.delete(data.id);
      if (data.ok) p.resolve(data.result); else p.reject(new Error(data.error));
    };
    this.onError = (e) => {
      const error = new Error(`worker failed: ${e.message || 'could not load worker.js or the wasm module'}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      this.failed = error;
    };
    this.worker.addEventListener('message', this.onMessage);
    this.worker.addEventListener('error', this.onError);
  }

  call(type, args = {}, progress) {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, progress });
      this.worker.postMessage({ id, type, ...args });
    });
  }

  terminate() {
    this.worker.removeEventListener('message', this.onMessage);
    this.worker.removeEventListener('error', this.onError);
    this.worker.terminate();
    const error = new Error('the widget was removed');
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.failed = error;
  }
}

const STYLE = `
:host { display: block; contain: content; }
:host([hidden]) { display: none; }
.root {
  all: initial; display: block; box-sizing: border-box; max-width: 100%;
  font: 14px/1.45 var(--mnist-dae-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  color: var(--mnist-dae-fg, #1d232b); background: var(--mnist-dae-bg, #fff);
  border: 1px solid var(--mnist-dae-border, #d5dae1); border-radius: var(--mnist-dae-radius, 10px);
  padding: 14px;
}
.root *, .root *::before, .root *::after { box-sizing: border-box; }
h3 { font-size: 13px; font-weight: 600; margin: 0 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--mnist-dae-muted, #5b6570); }
button, select, input { font: inherit; color: inherit; }
button {
  border: 1px solid var(--mnist-dae-accent, #2563eb); background: var(--mnist-dae-bg, #fff);
  color: var(--mnist-dae-accent, #2563eb); border-radius: 6px; padding: 5px 11px; cursor: pointer; min-height: 32px;
}
button.primary { background: var(--mnist-dae-accent, #2563eb); color: var(--mnist-dae-on-accent, #fff); }
button:disabled { opacity: .5; cursor: not-allowed; }
button:focus-visible, select:focus-visible, input:focus-visible, canvas:focus-visible { outline: 3px solid var(--mnist-dae-focus, #f59e0b); outline-offset: 2px; }
select, input[type=number] { border: 1px solid var(--mnist-dae-border, #c3cad3); border-radius: 6px; padding: 4px 6px; background: var(--mnist-dae-bg, #fff); min-height: 32px; }
input[type=number] { width: 5.5em; }
label { display: inline-flex; align-items: center; gap: 6px; }
.row { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; }
.grid { display: grid; gap: 16px; grid-template-columns: 1fr; margin-top: 12px; }
@media (min-width: 900px) { .grid.train { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); } }
section { min-width: 0; }
.status { min-height: 1.45em; font-weight: 500; }
.status.error { color: var(--mnist-dae-error, #b42318); }
.note { color: var(--mnist-dae-muted, #5b6570); font-size: 13px; }
.warn { color: var(--mnist-dae-warn, #9a3412); font-size: 13px; }
.bar { display: flex; gap: 10px; align-items: center; margin-top: 8px; }
progress { width: 100%; height: 8px; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(90px, 1fr)); gap: 6px; margin: 10px 0 0; }
.stats div { background: var(--mnist-dae-tile, #f3f5f8); border-radius: 6px; padding: 4px 8px; }
.stats dt { font-size: 11px; color: var(--mnist-dae-muted, #5b6570); }
.stats dd { margin: 0; font-variant-numeric: tabular-nums; font-weight: 600; }
.panels { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 4px 8px; align-items: center; }
.panels span { font-size: 12px; color: var(--mnist-dae-muted, #5b6570); }
canvas.strip, canvas.digit { width: 100%; image-rendering: pixelated; background: #000; border-radius: 3px; display: block; }
canvas.digit { width: 84px; height: 84px; }
.pad { display: flex; gap: 10px; align-items: flex-end; flex-wrap: wrap; }
.pad canvas.draw { width: 140px; height: 140px; touch-action: none; background: #000; border-radius: 6px; cursor: crosshair; }
.pad figure, .sanity figure { margin: 0; text-align: center; font-size: 12px; }
.sanity { display: flex; gap: 14px; flex-wrap: wrap; align-items: flex-end; }
.plot { min-height: 220px; }
.confirm { background: var(--mnist-dae-tile, #fff7ed); border: 1px solid var(--mnist-dae-warn, #fdba74); border-radius: 6px; padding: 8px; margin-top: 8px; }
.denoise .panels { margin-top: 6px; }
@media (prefers-reduced-motion: reduce) { * { transition: none !important; animation: none !important; } }
`;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k === 'text') e.textContent = v; else e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...children);
  return e;
}

/** Draws `n` 28 × 28 images (floats in [0, 1]) side by side into a canvas. */
function drawStrip(canvas, images, n) {
  canvas.width = 28 * n;
  canvas.height = 28;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(28 * n, 28);
  for (let k = 0; k < n; k++) {
    for (let p = 0; p < PIXELS; p++) {
      const v = Math.round(Math.min(1, Math.max(0, images[k * PIXELS + p] ?? 0)) * 255);
      const o = 4 * ((p / 28 | 0) * 28 * n + k * 28 + (p % 28));
      img.data[o] = img.data[o + 1] = img.data[o + 2] = v;
      img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

/** Turns the draw pad into an MNIST-like image: the ink's bounding box scaled into 20 × 20,
 *  centred by its centre of mass in 28 × 28 (how MNIST's digits were normalised). */
function padToMnist(canvas) {
  const { width, height } = canvas;
  const src = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    if (src[4 * (y * width + x)] > 20) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  }
  const out = new Float32Array(PIXELS);
  if (x1 < 0) return null;
  const side = Math.max(x1 - x0 + 1, y1 - y0 + 1);
  const tmp = new OffscreenCanvas(20, 20);
  const t = tmp.getContext('2d');
  const w = ((x1 - x0 + 1) / side) * 20, h = ((y1 - y0 + 1) / side) * 20;
  t.drawImage(canvas, x0, y0, x1 - x0 + 1, y1 - y0 + 1, (20 - w) / 2, (20 - h) / 2, w, h);
  const small = t.getImageData(0, 0, 20, 20).data;
  let mass = 0, cx = 0, cy = 0;
  for (let i = 0; i < 400; i++) { const v = small[4 * i] / 255; mass += v; cx += v * (i % 20); cy += v * (i / 20 | 0); }
  const dx = Math.round(14 - cx / mass), dy = Math.round(14 - cy / mass);
  for (let i = 0; i < 400; i++) {
    const x = (i % 20) + dx, y = (i / 20 | 0) + dy;
    if (x >= 0 && x < 28 && y >= 0 && y < 28) out[y * 28 + x] = small[4 * i] / 255;
  }
  return out;
}

function fmtTime(s) {
  const m = Math.floor(s / 60);
  return m ? `${m} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`;
}

const reducedMotion = () => globalThis.matchMedia?.('(prefers-reduced-motion: reduce)').matches;

export class MnistDaeElement extends HTMLElement {
  static observedAttributes = ['noise', 'backend', 'digits'];

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this.cleanups = [];
    this.state = null;
  }

  get mode() { return this.getAttribute('mode') === 'train' ? 'train' : 'denoise'; }
  get digits() { return Math.min(16, Math.max(1, Number.parseInt(this.getAttribute('digits') ?? '', 10) || (this.mode === 'train' ? 8 : 6))); }
  get noise() { const v = Number.parseFloat(this.getAttribute('noise') ?? ''); return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0.5; }
  get backend() { const b = this.getAttribute('backend'); return ['webgpu', 'cpu'].includes(b) ? b : 'auto'; }
  get weightsUrl() { return this.getAttribute('weights') ? new URL(this.getAttribute('weights'), document.baseURI).href : DEFAULT_WEIGHTS; }
  get dataUrl() { return this.getAttribute('data') ? new URL(this.getAttribute('data'), document.baseURI).href : DEFAULT_DATA; }
  /** IndexedDB key of this widget's saved training: its id, or the page's path. */
  get storeKey() { return `${location.pathname}#${this.id || 'mnist-dae'}`; }

  connectedCallback() {
    if (this.state) return;
    this.client = new WorkerClient();
    this.state = {
      steps: 0, epoch: 0, stepsPerEpoch: 0, elapsed: 0, imagesPerSecond: 0, loss: null, smooth: null,
      playing: false, noiseSeed: 1, digitStart: 0, xs: [], train: [], val: [], psnr: null,
      lastPanels: 0, lastSnapshot: 0, lastPlot: 0, lastValidateStep: 0, dirty: false,
    };
    this.render();
    this.start().catch((e) => this.fail(e));
  }

  disconnectedCallback() {
    if (!this.state) return;
    this.state.playing = false;
    for (const off of this.cleanups.splice(0)) off();
    this.plot?.destroy();
    this.plot = null;
    this.client?.terminate();
    this.client = null;
    this.state = null;
    this.shadowRoot.replaceChildren();
  }

  attributeChangedCallback(name, old, value) {
    if (!this.state || old === value) return;
    if (name === 'noise' && this.$noise) { this.$noise.value = String(this.noise); this.onNoise(); }
    if (name === 'digits') { this.state.digitStart = 0; this.refreshPanels().catch((e) => this.fail(e)); }
  }

  /** addEventListener that disconnectedCallback undoes. */
  on(target, type, fn, opts) {
    target.addEventListener(type, fn, opts);
    this.cleanups.push(() => target.removeEventListener(type, fn, opts));
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true })); }

  say(text, kind = '') {
    if (!this.$status) return;
    this.$status.textContent = text;
    this.$status.className = `status ${kind}`;
  }

  fail(e) {
    if (!this.state) return;
    const message = e instanceof Error ? e.message : String(e);
    this.say(message, 'error');
    this.emit('error', { message });
    return message;
  }

  call(type, args, progress) {
    if (!this.client) return Promise.reject(new Error('the widget was removed'));
    return this.client.call(type, args, progress);
  }

  // ---------------------------------------------------------------- layout
  render() {
    const root = el('div', { class: `root ${this.mode}`, part: 'root' });
    this.shadowRoot.replaceChildren(el('style', { text: STYLE }), root);
    this.$status = el('div', { class: 'status', role: 'status', 'aria-live': 'polite', part: 'status' });
    this.$noise = el('input', { type: 'range', min: '0', max: '1', step: '0.05', value: String(this.noise), 'aria-describedby': 'noise-out' });
    this.$noiseOut = el('output', { id: 'noise-out', text: this.noise.toFixed(2) });
    this.on(this.$noise, 'input', () => this.onNoise());
    const noiseLabel = el('label', {}, 'Noise', this.$noise, this.$noiseOut);

    const n = this.digits;
    this.$rows = ['original', 'noisy', 'reconstructed'].map((name) => el('canvas', {
      class: 'strip', role: 'img', width: String(28 * n), height: '28', 'aria-label': `${name} digits: not drawn yet`, part: `panel panel-${name}`,
    }));
    const panels = el('div', { class: 'panels' },
      ...['original', 'noisy', 'reconstructed'].flatMap((name, i) => [el('span', { text: name }), this.$rows[i]]));
    this.$newDigits = el('button', { type: 'button', part: 'button', text: 'New digits' });
    this.$newNoise = el('button', { type: 'button', part: 'button', text: 'New noise' });
    this.on(this.$newDigits, 'click', () => { this.state.digitStart += n; this.refreshPanels().catch((e) => this.fail(e)); });
    this.on(this.$newNoise, 'click', () => { this.state.noiseSeed++; this.refreshPanels().catch((e) => this.fail(e)); });

    const pad = this.renderPad();
    if (this.mode === 'denoise') {
      root.append(
        el('section', { 'aria-label': 'Denoising' },
          el('h3', { text: 'Original · noisy · reconstructed' }), panels,
          el('div', { class: 'row bar' }, this.$newDigits, this.$newNoise, noiseLabel)),
        el('section', { 'aria-label': 'Draw a digit', style: 'margin-top:12px' }, el('h3', { text: 'Draw your own' }), pad),
        this.$status,
      );
      return;
    }
    root.append(this.renderControls(noiseLabel), this.$status);
    this.$grid = el('div', { class: 'grid train' });
    this.$plot = el('div', { class: 'plot', role: 'img', 'aria-label': 'Loss plot: no data yet', part: 'plot' });
    this.$psnr = el('p', { class: 'note', text: 'PSNR: —' });
    this.$grid.append(
      el('section', { 'aria-label': 'Test digits' }, el('h3', { text: 'Test digits: original · noisy · reconstructed' }), panels,
        el('div', { class: 'row bar' }, this.$newDigits, this.$newNoise)),
      el('section', { 'aria-label': 'Loss' }, el('h3', { text: 'Loss (sigmoid cross-entropy) per epoch' }), this.$plot, this.$psnr),
      el('section', { 'aria-label': 'Draw a digit' }, el('h3', { text: 'Draw your own' }), pad),
      this.renderSanity(),
      this.renderWeights(),
    );
    root.append(this.$grid);
  }

  renderControls(noiseLabel) {
    const s = (name, values, value, label) => {
      const select = el('select', { name }, ...values.map(([v, t]) => el('option', { value: v, selected: v === value, text: t })));
      return [select, el('label', {}, label, select)];
    };
    this.$play = el('button', { type: 'button', class: 'primary', 'aria-pressed': 'false', part: 'button', text: 'Train', disabled: true });
    this.$reset = el('button', { type: 'button', part: 'button', text: 'Reset', disabled: true });
    this.$epochs = el('input', { type: 'number', min: '1', max: '100', value: '25', name: 'epochs' });
    let batchLabel, lrLabel, actLabel, backendLabel;
    [this.$batch, batchLabel] = s('batch', [['16', '16'], ['32', '32'], ['64', '64'], ['128', '128']], '64', 'Batch');
    [this.$lr, lrLabel] = s('lr', [['0.0001', '1e-4'], ['0.0003', '3e-4'], ['0.001', '1e-3'], ['0.003', '3e-3']], '0.001', 'Learning rate');
    [this.$activation, actLabel] = s('activation', [['leaky_relu', 'leaky ReLU'], ['relu', 'ReLU']], 'leaky_relu', 'Activation');
    [this.$backend, backendLabel] = s('backend', [['auto', 'auto'], ['webgpu', 'WebGPU'], ['cpu', 'CPU']], this.backend, 'Backend');
    this.on(this.$play, 'click', () => (this.state.playing ? this.pause() : this.play()));
    this.on(this.$reset, 'click', () => this.askReset());
    this.on(this.$batch, 'change', () => this.call('configure', { batch: Number(this.$batch.value) }).catch((e) => this.fail(e)));
    this.on(this.$lr, 'change', () => this.call('configure', { learningRate: Number(this.$lr.value) }).catch((e) => this.fail(e)));
    this.on(this.$activation, 'change', () => this.askReset(`Switching to ${this.$activation.selectedOptions[0].text} starts a new model.`));
    this.on(this.$backend, 'change', () => this.switchBackend());
    this.$backendInfo = el('p', { class: 'note', text: 'Backend: starting…' });
    this.$warn = el('p', { class: 'warn', hidden: true });
    this.$confirm = el('div', { class: 'confirm', hidden: true, role: 'group', 'aria-label': 'Confirm' });
    this.$resume = el('div', { class: 'confirm', hidden: true, role: 'group', 'aria-label': 'Resume training' });
    this.$dataBar = el('progress', { max: '1', value: '0', 'aria-label': 'MNIST download' });
    this.$dataNote = el('span', { class: 'note', text: 'MNIST: waiting' });
    this.$stats = {};
    const stat = (key, label) => { const dd = el('dd', { text: '—' }); this.$stats[key] = dd; return el('div', {}, el('dt', { text: label }), dd); };
    return el('div', { part: 'controls' },
      el('div', { class: 'row' }, this.$play, this.$reset,
        el('label', {}, 'Epochs', this.$epochs), batchLabel, lrLabel, noiseLabel, actLabel, backendLabel),
      this.$confirm, this.$resume,
      el('div', { class: 'bar' }, this.$dataBar, this.$dataNote),
      this.$backendInfo, this.$warn,
      el('dl', { class: 'stats' }, stat('epoch', 'Epoch'), stat('step', 'Step'), stat('loss', 'Train loss'),
        stat('val', 'Val. loss'), stat('rate', 'Images/s'), stat('elapsed', 'Elapsed')));
  }

  renderPad() {
    this.$pad = el('canvas', { class: 'draw', width: '140', height: '140', tabindex: '0', role: 'img',
      'aria-label': 'Drawing pad: draw a digit with the mouse, a pen or a finger' });
    this.$padNoisy = el('canvas', { class: 'digit', role: 'img', 'aria-label': 'Your digit with noise', width: '28', height: '28' });
    this.$padOut = el('canvas', { class: 'digit', role: 'img', 'aria-label': 'Your digit denoised', width: '28', height: '28' });
    const clear = el('button', { type: 'button', part: 'button', text: 'Clear' });
    const ctx = this.$pad.getContext('2d', { willReadFrequently: true });
    const reset = () => { ctx.fillStyle = '#000'; ctx.fillRect(0, 0, 140, 140); };
    reset();
    let last = null;
    const at = (e) => { const r = this.$pad.getBoundingClientRect(); return [(e.clientX - r.left) * 140 / r.width, (e.clientY - r.top) * 140 / r.height]; };
    this.on(this.$pad, 'pointerdown', (e) => { last = at(e); this.$pad.setPointerCapture(e.pointerId); });
    this.on(this.$pad, 'pointermove', (e) => {
      if (!last) return;
      const p = at(e);
      ctx.strokeStyle = '#fff'; ctx.lineWidth = 11; ctx.lineCap = 'round';
      ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(...p); ctx.stroke();
      last = p;
    });
    const up = () => { if (last) { last = null; this.denoisePad().catch((e) => this.fail(e)); } };
    this.on(this.$pad, 'pointerup', up);
    this.on(this.$pad, 'pointercancel', up);
    this.on(clear, 'click', () => { reset(); drawStrip(this.$padNoisy, new Float32Array(PIXELS), 1); drawStrip(this.$padOut, new Float32Array(PIXELS), 1); });
    return el('div', { class: 'pad' }, this.$pad,
      el('figure', {}, this.$padNoisy, el('figcaption', { text: 'noisy' })),
      el('figure', {}, this.$padOut, el('figcaption', { text: 'denoised' })), clear);
  }

  renderSanity() {
    this.$trainDigit = el('canvas', { class: 'digit', role: 'img', 'aria-label': 'A random training image', width: '28', height: '28' });
    this.$testDigit = el('canvas', { class: 'digit', role: 'img', 'aria-label': 'A random test image', width: '28', height: '28' });
    this.$trainLabel = el('figcaption', { text: 'training image' });
    this.$testLabel = el('figcaption', { text: 'test image' });
    const again = el('button', { type: 'button', part: 'button', text: 'Another pair' });
    this.on(again, 'click', () => this.refreshSanity().catch((e) => this.fail(e)));
    return el('section', { 'aria-label': 'Sanity check' }, el('h3', { text: 'Sanity check: the data' }),
      el('div', { class: 'sanity' }, el('figure', {}, this.$trainDigit, this.$trainLabel), el('figure', {}, this.$testDigit, this.$testLabel), again));
  }

  renderWeights() {
    this.$pretrained = el('button', { type: 'button', part: 'button', text: 'Load pretrained', disabled: true });
    const save = el('button', { type: 'button', part: 'button', text: 'Save weights' });
    this.$file = el('input', { type: 'file', accept: '.safetensors,application/octet-stream', 'aria-label': 'Load weights file' });
    const fileLabel = el('label', {}, 'Load weights file', this.$file);
    this.on(this.$pretrained, 'click', () => this.loadWeights(() => this.call('load-url', { url: this.weightsUrl }), 'pretrained weights'));
    this.on(save, 'click', () => this.saveWeights());
    this.on(this.$file, 'change', () => {
      const file = this.$file.files?.[0];
      if (file) this.loadWeights(async () => this.call('load', { bytes: new Uint8Array(await file.arrayBuffer()) }), file.name);
      this.$file.value = '';
    });
    return el('section', { 'aria-label': 'Weights' }, el('h3', { text: 'Weights' }),
      el('div', { class: 'row' }, this.$pretrained, save, fileLabel),
      el('p', { class: 'note', text: 'Training is kept in this browser every few seconds; a reload offers to resume.' }));
  }

  // ---------------------------------------------------------------- start-up
  async start() {
    this.say('Loading the model…');
    // "auto" starts on the small CPU-only module: the first panels need nothing more. On a
    // hardware adapter a training widget then moves to WebGPU (the full module is fetched in the
    // background, after `ready`); on a software one (SwiftShader, lavapipe) the wasm CPU backend
    // trains ≈ 35× faster (README, bench), so it stays there and says why.
    let info = await this.call('create', { options: { backend: this.backend === 'auto' ? 'cpu' : this.backend } });
    const gpu = info.gpu;
    const upgrade = this.backend === 'auto' && this.mode === 'train' && gpu.available && !gpu.software;
    if (this.backend === 'auto' && gpu.available && gpu.software) {
      info = { ...info, backendNote: `${info.backendNote}; ${gpu.why}` };
    } else if (this.backend === 'auto' && gpu.available && this.mode === 'denoise') {
      info = { ...info, backendNote: `${info.backendNote}; a few digits need no GPU` };
    }
    this.showBackend(info);
    if (this.$backend) this.$backend.value = this.backend;
    await this.call('configure', { noise: this.noise });
    if (this.mode === 'denoise') {
      this.say('Loading the sample digits and the pretrained weights…');
      const sample = this.getAttribute('data') ? new URL('sample.bin.gz', this.dataUrl).href : SAMPLE;
      await this.call('load-data', { urls: { test: sample } });
      await this.call('load-url', { url: this.weightsUrl });
      await this.refreshPanels();
      this.say(`Ready: denoising on ${info.backend === 'webgpu' ? 'WebGPU' : 'the CPU'}.`);
      this.emit('ready', { mode: this.mode, ...info });
      return;
    }
    this.checkPretrained();
    const urls = { train: new URL('mnist-train.bin.gz', this.dataUrl).href, test: new URL('mnist-test.bin.gz', this.dataUrl).href };
    this.say('Downloading MNIST…');
    const got = await this.call('load-data', { urls }, ({ name, loaded, total }) => {
      this.$dataBar.max = total || 1;
      this.$dataBar.value = loaded;
      this.$dataNote.textContent = `MNIST ${name}: ${(loaded / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MB`;
    });
    this.$dataBar.max = 1; this.$dataBar.value = 1;
    this.$dataNote.textContent = `MNIST: ${got.train.toLocaleString('en')} training and ${got.test.toLocaleString('en')} test images`;
    await this.validate();
    await this.refreshPanels();
    await this.refreshSanity();
    this.$play.disabled = false;
    this.$reset.disabled = false;
    const saved = await this.call('peek', { key: this.storeKey });
    if (saved && saved.cursor.steps > 0) this.offerResume(saved);
    this.say('Ready: press Train.');
    this.emit('ready', { mode: this.mode, ...info });
    if (upgrade) await this.upgradeToGpu();
    if (this.hasAttribute('autoplay') && !saved) this.play();
  }

  /** Moves the model to WebGPU (a hardware adapter, backend "auto"), weights included. */
  async upgradeToGpu() {
    try {
      this.say('Ready on the CPU; moving to WebGPU (downloading its module)…');
      const info = await this.call('backend', { backend: 'webgpu' });
      this.showBackend(info);
      this.say('Ready on WebGPU: press Train.');
    } catch (e) {
      // The CPU model is intact (the worker only swaps after the new one has the weights).
      this.say(`Staying on the CPU: WebGPU failed (${e.message ?? e}).`);
    }
  }

  showBackend(info) {
    this.info = info;
    if (!this.$backendInfo) return;
    const name = info.backend === 'webgpu' ? 'WebGPU' : 'CPU (WebAssembly)';
    this.$backendInfo.textContent = `Running on: ${name} — ${info.backendNote}`;
    this.$warn.hidden = !info.softwareAdapter;
    this.$warn.textContent = info.softwareAdapter
      ? 'This WebGPU adapter is a software renderer (no GPU reached the browser): training will be far slower than on the CPU backend.'
      : '';
  }

  async checkPretrained() {
    try {
      const r = await fetch(this.weightsUrl, { method: 'HEAD' });
      if (!this.state) return;
      this.$pretrained.disabled = !r.ok;
      if (!r.ok) this.$pretrained.textContent = 'Pretrained weights not available';
    } catch {
      if (this.$pretrained) { this.$pretrained.disabled = true; this.$pretrained.textContent = 'Pretrained weights not available'; }
    }
  }

  // ---------------------------------------------------------------- training loop
  play() {
    const s = this.state;
    if (s.playing) return;
    s.playing = true;
    this.$play.textContent = 'Pause';
    this.$play.setAttribute('aria-pressed', 'true');
    this.say('Training…');
    this.startLoop();
  }

  /** Runs the training loop unless one is already running (a pause followed quickly by a play
   *  must not leave two loops sending steps). */
  startLoop() {
    const s = this.state;
    if (!s || s.looping) return;
    s.looping = true;
    this.loop()
      .catch((e) => { this.pause(); this.fail(e); })
      .finally(() => {
        s.looping = false;
        if (this.state !== s) return;
        // Play was pressed again while the loop was on its way out.
        if (s.playing) this.startLoop();
        // Paused: the step that was on its way when Pause was pressed is in; save it too.
        else if (s.dirty) this.snapshot().catch(() => {});
      });
  }

  pause(message = 'Paused.') {
    const s = this.state;
    if (!s) return;
    s.playing = false;
    this.$play.textContent = 'Train';
    this.$play.setAttribute('aria-pressed', 'false');
    this.say(message);
    // While a step is on its way back the loop is still running; it saves when it stops.
    if (s.dirty && !s.looping) this.snapshot().catch(() => {});
  }

  async loop() {
    const s = this.state;
    const epochs = () => Math.max(1, Number(this.$epochs.value) || 25);
    while (this.state === s && s.playing) {
      if (s.epoch >= epochs()) { this.pause(`Finished ${epochs()} epochs.`); break; }
      const r = await this.call('train', { steps: 1 });
      if (this.state !== s) return;
      const before = s.epoch;
      s.steps = r.steps; s.epoch = r.epoch; s.stepsPerEpoch = r.stepsPerEpoch; s.dirty = true;
      s.elapsed += r.seconds;
      s.imagesPerSecond = s.imagesPerSecond ? 0.9 * s.imagesPerSecond + 0.1 * (r.images / r.seconds) : r.images / r.seconds;
      for (const loss of r.losses) {
        s.loss = loss;
        // Exponential moving average over ≈ 20 steps: single batches are noisy.
        s.smooth = s.smooth == null ? loss : 0.95 * s.smooth + 0.05 * loss;
      }
      s.xs.push(r.epoch + r.stepInEpoch / r.stepsPerEpoch);
      s.train.push(s.smooth);
      s.val.push(null);
      this.emit('step', { step: r.steps, loss: s.loss });
      const now = performance.now();
      if (r.epoch !== before || r.steps - s.lastValidateStep >= 100) await this.validate();
      if (now - s.lastPanels > (reducedMotion() ? 10_000 : 2_000)) await this.refreshPanels();
      if (now - s.lastSnapshot > 10_000) await this.snapshot();
      this.showProgress();
    }
  }

  showProgress() {
    const s = this.state;
    if (!s || !this.$stats) return;
    const per = s.stepsPerEpoch || 1;
    this.$stats.epoch.textContent = `${Math.min(s.epoch + 1, Math.max(1, Number(this.$epochs.value) || 25))} / ${this.$epochs.value}`;
    this.$stats.step.textContent = `${s.steps.toLocaleString('en')} (${s.steps % per}/${per})`;
    this.$stats.loss.textContent = s.smooth == null ? '—' : s.smooth.toFixed(4);
    this.$stats.rate.textContent = s.imagesPerSecond ? s.imagesPerSecond.toFixed(0) : '—';
    this.$stats.elapsed.textContent = fmtTime(s.elapsed);
    this.drawPlot();
  }

  async validate() {
    const s = this.state;
    const v = await this.call('validate', { count: 500 });
    if (this.state !== s) return v;
    s.lastValidateStep = s.steps;
    s.psnr = v;
    s.lastVal = v.loss;
    if (s.xs.length) s.val[s.val.length - 1] = v.loss;
    else { s.xs.push(0); s.train.push(null); s.val.push(v.loss); }
    if (this.$stats) this.$stats.val.textContent = v.loss.toFixed(4);
    if (this.$psnr) this.$psnr.textContent = `PSNR on ${v.count} test images: noisy ${v.psnrNoisy.toFixed(2)} dB → reconstructed ${v.psnrDenoised.toFixed(2)} dB`;
    this.drawPlot(true);
    return v;
  }

  async drawPlot(force = false) {
    const s = this.state;
    if (!s || !this.$plot) return;
    const now = performance.now();
    if (!force && now - s.lastPlot < 500) return;
    s.lastPlot = now;
    const last = [...s.val].reverse().find((v) => v != null);
    this.$plot.setAttribute('aria-label', `Loss plot: ${s.steps} steps; training loss ${s.smooth?.toFixed(4) ?? '—'}, validation loss ${last?.toFixed(4) ?? '—'}`);
    if (!this.plot) {
      const { default: uPlot } = await import('./vendor/uPlot.esm.js');
      if (!this.state || this.plot) return;
      this.shadowRoot.append(el('link', { rel: 'stylesheet', href: UPLOT_CSS }));
      const width = () => Math.max(260, this.$plot.clientWidth || 400);
      this.plot = new uPlot({
        width: width(), height: 220,
        scales: { x: { time: false } },
        axes: [{ label: 'epoch' }, { label: 'loss', size: 56 }],
        series: [
          { label: 'epoch', value: (u, v) => v?.toFixed(2) ?? '—' },
          { label: 'training (smoothed)', stroke: '#2563eb', width: 1.5, value: (u, v) => v?.toFixed(4) ?? '—' },
          { label: 'validation', stroke: '#ea580c', width: 2, spanGaps: true, points: { show: true, size: 5 }, value: (u, v) => v?.toFixed(4) ?? '—' },
        ],
      }, [s.xs, s.train, s.val], this.$plot);
      const ro = new ResizeObserver(() => this.plot?.setSize({ width: width(), height: 220 }));
      ro.observe(this.$plot);
      this.cleanups.push(() => ro.disconnect());
    } else {
      this.plot.setData([s.xs, s.train, s.val]);
    }
  }

  async snapshot() {
    const s = this.state;
    s.lastSnapshot = performance.now();
    const meta = { xs: s.xs, train: s.train, val: s.val, elapsed: s.elapsed, smooth: s.smooth, lastVal: s.lastVal,
      epochs: Number(this.$epochs?.value) || 25 };
    await this.call('snapshot', { key: this.storeKey, meta });
    s.dirty = false;
  }

  offerResume(saved) {
    const when = new Date(saved.savedAt).toLocaleString();
    const yes = el('button', { type: 'button', class: 'primary', part: 'button', text: 'Resume' });
    const no = el('button', { type: 'button', part: 'button', text: 'Discard' });
    this.$resume.replaceChildren(
      el('span', { text: `Saved training found: epoch ${saved.cursor.epoch + 1}, step ${saved.cursor.steps} (${when}). ` }), yes, ' ', no);
    this.$resume.hidden = false;
    this.on(yes, 'click', () => this.resume().catch((e) => this.fail(e)), { once: true });
    this.on(no, 'click', async () => {
      this.$resume.hidden = true;
      await this.call('forget', { key: this.storeKey }).catch((e) => this.fail(e));
      this.say('Saved training discarded.');
    }, { once: true });
    yes.focus();
  }

  async resume() {
    const s = this.state;
    const r = await this.call('restore', { key: this.storeKey });
    this.$resume.hidden = true;
    Object.assign(s, { steps: r.cursor.steps, epoch: r.cursor.epoch, elapsed: r.meta.elapsed ?? 0, smooth: r.meta.smooth,
      xs: r.meta.xs ?? [], train: r.meta.train ?? [], val: r.meta.val ?? [], dirty: false });
    s.stepsPerEpoch = Math.ceil(55_000 / r.cursor.batch);
    this.$batch.value = String(r.cursor.batch);
    this.$activation.value = r.activation;
    if (r.meta.epochs) this.$epochs.value = String(r.meta.epochs);
    await this.validate();
    await this.refreshPanels();
    this.showProgress();
    this.say(`Resumed at step ${s.steps}: validation loss ${s.lastVal.toFixed(4)}.`);
  }

  askReset(reason = '') {
    const s = this.state;
    if (s.steps === 0) { this.reset(); return; }
    const yes = el('button', { type: 'button', class: 'primary', part: 'button', text: 'Discard and reset' });
    const no = el('button', { type: 'button', part: 'button', text: 'Cancel' });
    this.$confirm.replaceChildren(el('span', { text: `${reason} This discards ${s.steps} steps of training (save the weights first to keep them). ` }), yes, ' ', no);
    this.$confirm.hidden = false;
    this.on(yes, 'click', () => { this.$confirm.hidden = true; this.reset(); }, { once: true });
    this.on(no, 'click', () => {
      this.$confirm.hidden = true;
      this.$activation.value = this.$activation.dataset.current ?? 'leaky_relu';
    }, { once: true });
    yes.focus();
  }

  async reset() {
    const s = this.state;
    const wasPlaying = s.playing;
    s.playing = false;
    try {
      const info = await this.call('create', { options: { backend: this.$backend.value, activation: this.$activation.value, learning_rate: Number(this.$lr.value) } });
      this.$activation.dataset.current = this.$activation.value;
      this.showBackend(info);
      await this.call('configure', { batch: Number(this.$batch.value), noise: this.noise });
      await this.call('forget', { key: this.storeKey });
      Object.assign(s, { steps: 0, epoch: 0, elapsed: 0, smooth: null, loss: null, imagesPerSecond: 0, xs: [], train: [], val: [], dirty: false, lastValidateStep: 0 });
      this.plot?.setData([[], [], []]);
      await this.validate();
      await this.refreshPanels();
      this.showProgress();
      this.say(`Reset: a new model (validation loss ${s.lastVal.toFixed(4)}).`);
      if (wasPlaying) this.play();
    } catch (e) {
      this.fail(e);
    }
  }

  async switchBackend() {
    const wasPlaying = this.state.playing;
    this.pause('Switching backend…');
    try {
      const info = await this.call('backend', { backend: this.$backend.value });
      this.showBackend(info);
      this.say(`Now on ${info.backend === 'webgpu' ? 'WebGPU' : 'the CPU'}; the weights came along.`);
      if (wasPlaying) this.play();
    } catch (e) {
      this.$backend.value = this.info?.backend ?? 'auto';
      this.fail(e);
    }
  }

  async loadWeights(get, what) {
    const s = this.state;
    const wasPlaying = s.playing;
    if (wasPlaying) { s.playing = false; }
    try {
      const r = await get();
      if (this.$activation) { this.$activation.value = r.activation; this.$activation.dataset.current = r.activation; }
      s.dirty = true;
      const v = this.mode === 'train' ? await this.validate() : null;
      await this.refreshPanels();
      this.say(`Loaded ${what}${v ? `: validation loss ${v.loss.toFixed(4)}` : ''}.`);
    } catch (e) {
      this.fail(new Error(`Could not load ${what}: ${e.message}. The model is unchanged.`));
    }
    if (wasPlaying) this.play();
  }

  async saveWeights() {
    try {
      const bytes = await this.call('save');
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      const a = el('a', { href: url, download: `mnist-dae-step${this.state.steps}.safetensors` });
      this.shadowRoot.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      this.say(`Saved ${bytes.length.toLocaleString('en')} bytes of weights.`);
    } catch (e) {
      this.fail(e);
    }
  }

  // ---------------------------------------------------------------- panels
  onNoise() {
    const v = Number(this.$noise.value);
    this.$noiseOut.textContent = v.toFixed(2);
    this.call('configure', { noise: v })
      .then(() => this.refreshPanels())
      .then(() => this.denoisePad())
      .catch((e) => this.fail(e));
  }

  async refreshPanels() {
    const s = this.state;
    if (!s) return;
    s.lastPanels = performance.now();
    const n = this.digits;
    const total = this.mode === 'train' ? 10_000 : 100;
    const indices = Array.from({ length: n }, (_, i) => (s.digitStart + i) % total);
    const r = await this.call('panels', { indices, noise: Number(this.$noise.value), seed: s.noiseSeed });
    if (this.state !== s) return;
    [r.clean, r.noisy, r.denoised].forEach((images, i) => drawStrip(this.$rows[i], images, n));
    const names = ['original', 'noisy', 'reconstructed'];
    this.$rows.forEach((c, i) => c.setAttribute('aria-label', `${names[i]} test digits ${r.labels.join(', ')}`));
    this.dataset.panels = String((Number(this.dataset.panels) || 0) + 1);
  }

  async refreshSanity() {
    const [a, b] = [await this.call('sample', { set: 'train' }), await this.call('sample', { set: 'test' })];
    if (!this.state) return;
    drawStrip(this.$trainDigit, a.image, 1);
    drawStrip(this.$testDigit, b.image, 1);
    this.$trainLabel.textContent = `training #${a.index}: label ${a.label}`;
    this.$testLabel.textContent = `test #${b.index}: label ${b.label}`;
    this.$trainDigit.setAttribute('aria-label', `Training image ${a.index}, labelled ${a.label}`);
    this.$testDigit.setAttribute('aria-label', `Test image ${b.index}, labelled ${b.label}`);
  }

  async denoisePad() {
    const image = padToMnist(this.$pad);
    if (!image) return;
    const r = await this.call('denoise', { images: image, noise: Number(this.$noise.value), seed: this.state.noiseSeed });
    if (!this.state) return;
    drawStrip(this.$padNoisy, r.noisy, 1);
    drawStrip(this.$padOut, r.denoised, 1);
  }
}

if (!customElements.get('mnist-dae')) customElements.define('mnist-dae', MnistDaeElement);
