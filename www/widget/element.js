// <mnist-dae>: the element itself — attributes, lifecycle, the worker, the status line and the
// event log, and what both modes share (the digit strip, the noise control, the draw pad). What
// differs between the modes is a view: `DenoiseView` (denoise-view.js) or `TrainView`
// (train-view.js).
import { DEFAULT_DATA, DEFAULT_WEIGHTS, SAMPLE } from './assets.js';
import { WorkerClient, failure } from './client.js';
import { el } from './dom.js';
import { Pad } from './pad.js';
import { Strip } from './strip.js';
import { STYLE } from './style.js';
import { DenoiseView } from './denoise-view.js';
import { TrainView } from './train-view.js';


/** The control groups of each mode, for the `controls` attribute (all of them by default). */
export const CONTROL_GROUPS = {
  train: ['train', 'settings', 'noise', 'backend', 'stats', 'log', 'digits', 'plot', 'pad', 'inside', 'latent', 'data', 'weights'],
  denoise: ['digits', 'noise', 'pad'],
};

/** An Error with a stable `code` a program can test. */

export class MnistDaeElement extends HTMLElement {
  static observedAttributes = ['noise', 'backend', 'digits', 'epochs', 'controls', 'heading-level'];

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this.cleanups = [];
    this.view = null;
  }

  get mode() { return this.getAttribute('mode') === 'train' ? 'train' : 'denoise'; }
  /** Panel columns, 1–16: a number out of range is clamped (as `noise` and `epochs` are), anything else is the default. */
  get digits() { const v = Number.parseInt(this.getAttribute('digits') ?? '', 10); return Number.isFinite(v) ? Math.min(16, Math.max(1, v)) : (this.mode === 'train' ? 8 : 6); }
  get noise() { const v = Number.parseFloat(this.getAttribute('noise') ?? ''); return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0.5; }
  get backend() { const b = this.getAttribute('backend'); return ['webgpu', 'cpu'].includes(b) ? b : 'auto'; }
  /** Train mode: when the full training set downloads — "lazy" (on Train or a resume),
   *  "visible" (when the element scrolls into view) or "eager" (at once). */
  get load() { const v = this.getAttribute('load'); return ['eager', 'visible'].includes(v) ? v : 'lazy'; }
  /** Train mode: the epochs of a new run, 1–1000. */
  get epochs() { const v = Number.parseInt(this.getAttribute('epochs') ?? '', 10); return Number.isFinite(v) ? Math.min(1000, Math.max(1, v)) : 25; }
  /** The control groups shown: the `controls` attribute's names of this mode, else all. */
  get controls() {
    const all = CONTROL_GROUPS[this.mode];
    const asked = (this.getAttribute('controls') ?? '').split(/[\s,]+/).filter((g) => all.includes(g));
    return this.hasAttribute('controls') ? asked : all;
  }
  get weightsUrl() { return this.getAttribute('weights') ? new URL(this.getAttribute('weights'), document.baseURI).href : DEFAULT_WEIGHTS; }
  get dataUrl() { return this.getAttribute('data') ? new URL(this.getAttribute('data'), document.baseURI).href : DEFAULT_DATA; }
  /** The 100 sample digits: beside the `data` attribute's files, else the package's. */
  get sampleUrl() { return this.getAttribute('data') ? new URL('sample.bin.gz', this.dataUrl).href : SAMPLE; }
  /** IndexedDB key of this widget's saved training: its id, or the page's path. */
  get storeKey() { return `${location.pathname}#${this.id || 'mnist-dae'}`; }
  /** The level of the widget's section headings, 1–5 (default 3): the host page's outline
   *  goes on under its own heading; sub-headings are one level deeper. */
  get headingLevel() { const v = Number.parseInt(this.getAttribute('heading-level') ?? '', 10); return Number.isFinite(v) ? Math.min(5, Math.max(1, v)) : 3; }
  /** The noise the panels and the pad show (the slider's value). */
  get noiseValue() { return Number(this.$noise.value); }

  connectedCallback() {
    if (this.view) return;
    this.whenReady = new Promise((resolve, reject) => { this.markReady = resolve; this.markFailed = reject; });
    this.whenReady.catch(() => {}); // a script that never calls a method is told by `error`
    this.client = new WorkerClient();
    this.client.onEvent = (event) => this.view?.onWorkerEvent?.(event);
    this.noiseSeed = 1;
    this.digitStart = 0;
    this.lastPanels = 0;
    const view = this.mode === 'train' ? new TrainView(this) : new DenoiseView(this);
    this.view = view;
    this.render();
    view.start().catch((e) => { this.markFailed(e); this.fail(e); });
  }

  disconnectedCallback() {
    if (!this.view) return;
    this.view.stop();
    this.view = null;
    for (const off of this.cleanups.splice(0)) off();
    this.client?.terminate();
    this.client = null;
    this.shadowRoot.replaceChildren();
  }

  attributeChangedCallback(name, old, value) {
    if (!this.view || old === value) return;
    if (name === 'noise' && this.$noise) { this.$noise.value = String(this.noise); this.onNoise(); }
    if (name === 'digits') { this.digitStart = 0; this.refreshPanels().catch((e) => this.fail(e)); }
    if (name === 'controls') this.showControls();
    if (name === 'heading-level') this.showHeadings();
    if (name === 'epochs') this.view.onEpochs?.(this.epochs);
  }

  // ---------------------------------------------------------------- for scripts
  /** The view, once the element is ready; rejects when it is not in a document, failed to
   *  start, or (`train`) is not in train mode. */
  async readyView(method, train = false) {
    if (!this.view) throw failure('not_connected', `${method}: expected the element in a document, got a detached <mnist-dae>`);
    if (train && this.mode !== 'train') throw failure('mode', `${method}: expected mode="train", got mode="${this.mode}"`);
    const view = this.view;
    await this.whenReady;
    if (this.view !== view) throw failure('not_connected', `${method}: the element was removed`);
    return view;
  }

  /** Starts training once the element is ready (train mode). */
  async train() { await (await this.readyView('train()', true)).play(); }

  /** Pauses training; resolves when the step on its way is done, validated and saved. */
  async pause() { await (await this.readyView('pause()', true)).pauseAndSettle(); }

  /** Loads safetensors weights from bytes (Uint8Array, ArrayBuffer, DataView: what the API's
   *  load_weights takes) or a URL (string or URL, relative to the page); rejects, with the model
   *  unchanged, when they are refused. */
  async loadWeights(source) {
    let get, what;
    if (source instanceof ArrayBuffer) source = new Uint8Array(source);
    if (source instanceof DataView) source = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    if (source instanceof Uint8Array) {
      [get, what] = [() => this.call('load', { bytes: source }), `${source.length.toLocaleString('en')} bytes of weights`];
    } else if (typeof source === 'string' || source instanceof URL) {
      const url = new URL(source, document.baseURI).href;
      [get, what] = [() => this.call('load-url', { url }), 'weights']; // the worker's refusal names the URL
    } else {
      throw failure('invalid_input', `loadWeights: expected a Uint8Array, an ArrayBuffer, a DataView or a URL, got ${source === null ? 'null' : typeof source === 'object' ? source.constructor?.name ?? 'object' : typeof source}`);
    }
    const view = await this.readyView('loadWeights()');
    await view.loadWeights(get, what);
  }

  /** The current weights as a safetensors file (the bytes "Save weights" downloads). */
  async saveWeights() {
    await this.readyView('saveWeights()');
    return this.call('save');
  }

  /** Section headings (written as h3 in the views) and their sub-headings (h4) at the
   *  `heading-level`: real h1–h6 elements, which every tool reads as such. */
  showHeadings() {
    const level = this.headingLevel;
    for (const h of this.shadowRoot.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
      h.dataset.depth ??= h.tagName === 'H4' ? '1' : '0';
      const tag = `H${level + Number(h.dataset.depth)}`;
      if (h.tagName === tag) continue;
      const next = document.createElement(tag);
      for (const a of h.attributes) next.setAttribute(a.name, a.value);
      next.append(...h.childNodes);
      h.replaceWith(next);
    }
  }

  /** Shows the control groups the `controls` attribute names (each element marked with
   *  `data-group`). */
  showControls() {
    const shown = new Set(this.controls);
    for (const e of this.shadowRoot.querySelectorAll('[data-group]')) e.hidden = !shown.has(e.dataset.group);
  }

  /** addEventListener that disconnectedCallback undoes. */
  on(target, type, fn, opts) {
    target.addEventListener(type, fn, opts);
    this.cleanups.push(() => target.removeEventListener(type, fn, opts));
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true })); }

  /** The view is ready: methods called before now go ahead, and `ready` fires. */
  ready() {
    this.markReady();
    // The fields the typings name (MnistDaeReadyDetail), not the worker's whole answer.
    const { backend, backendNote, softwareAdapter, cpuKernels } = this.info ?? {};
    this.emit('ready', { mode: this.mode, backend, backendNote, softwareAdapter, cpuKernels: cpuKernels ?? null });
  }

  /** The status line: what is happening now. */
  say(text, kind = '') {
    if (!this.$status) return;
    this.$status.textContent = text;
    this.$status.className = `status ${kind}`;
  }

  /** A confirmation that stays readable: the last five, newest first, under the status line. */
  log(text) {
    if (!this.$log) { this.say(text); return; }
    this.$log.prepend(el('li', { text }));
    while (this.$log.children.length > 5) this.$log.lastElementChild.remove();
  }

  /** A refused weights file, shown and fired as `error`: the rejection its loader passes on. */
  loadFailed(e, what) {
    const error = failure(e.code ?? 'error', `Could not load ${what}: ${e.message}. The model is unchanged.`);
    this.fail(error);
    return error;
  }

  fail(e) {
    if (!this.view) return;
    const message = e instanceof Error ? e.message : String(e);
    this.say(message, 'error');
    this.emit('error', { message, code: e?.code ?? 'error' });
    return message;
  }

  call(type, args, progress) {
    if (!this.client) return Promise.reject(failure('not_connected', 'the widget was removed'));
    return this.client.call(type, args, progress);
  }

  render() {
    const root = el('div', { class: `root ${this.mode}`, part: 'root' });
    this.shadowRoot.replaceChildren(el('style', { text: STYLE }), root);
    this.$status = el('div', { class: 'status', role: 'status', 'aria-live': 'polite', part: 'status' });
    this.$noise = el('input', { type: 'range', min: '0', max: '1', step: '0.05', value: String(this.noise), 'aria-describedby': 'noise-out' });
    this.$noiseOut = el('output', { id: 'noise-out', text: this.noise.toFixed(2) });
    this.on(this.$noise, 'input', () => this.onNoise());
    this.strip = new Strip(this.digits);
    this.pad = new Pad(this, () => this.denoisePad({ drawn: true }).catch((e) => this.fail(e)),
      () => this.view?.inside?.onPadCleared()?.catch((e) => this.fail(e)));
    const newDigits = el('button', { type: 'button', part: 'button', text: 'New digits' });
    const newNoise = el('button', { type: 'button', part: 'button', text: 'New noise' });
    this.on(newDigits, 'click', () => { this.digitStart += this.digits; this.refreshPanels().catch((e) => this.fail(e)); });
    // A digit clicked in the strip is the one train mode looks inside.
    this.on(this.strip.element, 'click', (e) => {
      if (!(e.target instanceof HTMLCanvasElement) || !this.view?.inside) return;
      const box = e.target.getBoundingClientRect();
      const index = Math.min(this.digits - 1, Math.max(0, Math.floor(((e.clientX - box.left) / box.width) * this.digits)));
      this.view.inside.pickDigit(index)?.catch((err) => this.fail(err));
    });
    this.on(newNoise, 'click', () => { this.noiseSeed++; this.refreshPanels().catch((e) => this.fail(e)); });
    this.view.render(root, {
      noise: el('label', { 'data-group': 'noise' }, 'Noise', this.$noise, this.$noiseOut),
      buttons: [newDigits, newNoise],
    });
    this.showControls();
    this.showHeadings();
    this.nameRegions();
  }

  /** Region names unique on the page (axe's landmark-unique): with other widgets there, each
   *  section's name starts with the element's own `aria-label`, else "Trainer" or "Denoiser"
   *  (numbered from the second of a mode). */
  nameRegions() {
    const widgets = [...document.querySelectorAll('mnist-dae')];
    if (widgets.length < 2 && !this.hasAttribute('aria-label')) return;
    const same = widgets.filter((w) => w.mode === this.mode && !w.hasAttribute('aria-label'));
    const n = same.indexOf(this);
    const prefix = this.getAttribute('aria-label') || `${this.mode === 'train' ? 'Trainer' : 'Denoiser'}${n > 0 ? ` ${n + 1}` : ''}`;
    for (const section of this.shadowRoot.querySelectorAll('section[aria-label]')) {
      section.dataset.name ??= section.getAttribute('aria-label');
      section.setAttribute('aria-label', `${prefix}: ${section.dataset.name}`);
    }
  }

  /** The noise slider: the view's part first (training noise), then the panels and the pad. */
  onNoise() {
    const v = this.noiseValue;
    this.$noiseOut.textContent = v.toFixed(2);
    Promise.resolve(this.view?.onNoise(v))
      .then(() => this.refreshPanels())
      .then(() => this.denoisePad())
      .catch((e) => this.fail(e));
  }

  /** Redraws the strip with the current model; `data-panels` counts the redraws. */
  async refreshPanels() {
    const view = this.view;
    if (!view) return;
    this.lastPanels = performance.now();
    const n = this.digits;
    const total = view.testImages;
    const indices = Array.from({ length: n }, (_, i) => (this.digitStart + i) % total);
    const r = await this.call('panels', { indices, noise: this.noiseValue, seed: this.noiseSeed });
    if (this.view !== view) return;
    this.strip.draw(r, n);
    await view.compare?.onPanels(indices, this.noiseValue, this.noiseSeed);
    await view.inside?.onPanels(r.noisy);
    await view.latent?.onPanels();
    if (this.view !== view) return;
    this.dataset.panels = String((Number(this.dataset.panels) || 0) + 1);
  }

  /** Denoises what is on the pad with the current model (nothing when it is blank); `drawn`:
   *  a stroke just ended, so the look inside the model turns to the drawing. */
  async denoisePad({ drawn = false } = {}) {
    const view = this.view;
    const image = view && this.pad.image();
    if (!image) return;
    const r = await this.call('denoise', { images: image, noise: this.noiseValue, seed: this.noiseSeed });
    if (this.view !== view) return;
    this.pad.show(r.noisy, r.denoised);
    await view.inside?.onPad(r.noisy, drawn);
  }
}
