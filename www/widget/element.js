// <mnist-dae>: the element itself — attributes, lifecycle, the worker, the status line and the
// event log, and what both modes share (the digit strip, the noise control, the draw pad). What
// differs between the modes is a view: `DenoiseView` (denoise-view.js) or `TrainView`
// (train-view.js).
import { DEFAULT_DATA, DEFAULT_WEIGHTS } from './assets.js';
import { WorkerClient } from './client.js';
import { el } from './dom.js';
import { Pad } from './pad.js';
import { Strip } from './strip.js';
import { STYLE } from './style.js';
import { DenoiseView } from './denoise-view.js';
import { TrainView } from './train-view.js';


export class MnistDaeElement extends HTMLElement {
  static observedAttributes = ['noise', 'backend', 'digits'];

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this.cleanups = [];
    this.view = null;
  }

  get mode() { return this.getAttribute('mode') === 'train' ? 'train' : 'denoise'; }
  get digits() { return Math.min(16, Math.max(1, Number.parseInt(this.getAttribute('digits') ?? '', 10) || (this.mode === 'train' ? 8 : 6))); }
  get noise() { const v = Number.parseFloat(this.getAttribute('noise') ?? ''); return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0.5; }
  get backend() { const b = this.getAttribute('backend'); return ['webgpu', 'cpu'].includes(b) ? b : 'auto'; }
  get weightsUrl() { return this.getAttribute('weights') ? new URL(this.getAttribute('weights'), document.baseURI).href : DEFAULT_WEIGHTS; }
  get dataUrl() { return this.getAttribute('data') ? new URL(this.getAttribute('data'), document.baseURI).href : DEFAULT_DATA; }
  /** IndexedDB key of this widget's saved training: its id, or the page's path. */
  get storeKey() { return `${location.pathname}#${this.id || 'mnist-dae'}`; }
  /** The noise the panels and the pad show (the slider's value). */
  get noiseValue() { return Number(this.$noise.value); }

  connectedCallback() {
    if (this.view) return;
    this.client = new WorkerClient();
    this.client.onEvent = (event) => this.view?.onWorkerEvent?.(event);
    this.noiseSeed = 1;
    this.digitStart = 0;
    this.lastPanels = 0;
    const view = this.mode === 'train' ? new TrainView(this) : new DenoiseView(this);
    this.view = view;
    this.render();
    view.start().catch((e) => this.fail(e));
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
  }

  /** addEventListener that disconnectedCallback undoes. */
  on(target, type, fn, opts) {
    target.addEventListener(type, fn, opts);
    this.cleanups.push(() => target.removeEventListener(type, fn, opts));
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true })); }

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

  fail(e) {
    if (!this.view) return;
    const message = e instanceof Error ? e.message : String(e);
    this.say(message, 'error');
    this.emit('error', { message });
    return message;
  }

  call(type, args, progress) {
    if (!this.client) return Promise.reject(new Error('the widget was removed'));
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
    this.pad = new Pad(this, () => this.denoisePad().catch((e) => this.fail(e)));
    const newDigits = el('button', { type: 'button', part: 'button', text: 'New digits' });
    const newNoise = el('button', { type: 'button', part: 'button', text: 'New noise' });
    this.on(newDigits, 'click', () => { this.digitStart += this.digits; this.refreshPanels().catch((e) => this.fail(e)); });
    this.on(newNoise, 'click', () => { this.noiseSeed++; this.refreshPanels().catch((e) => this.fail(e)); });
    this.view.render(root, {
      noise: el('label', {}, 'Noise', this.$noise, this.$noiseOut),
      buttons: [newDigits, newNoise],
    });
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
    this.dataset.panels = String((Number(this.dataset.panels) || 0) + 1);
  }

  /** Denoises what is on the pad with the current model (nothing when it is blank). */
  async denoisePad() {
    const view = this.view;
    const image = view && this.pad.image();
    if (!image) return;
    const r = await this.call('denoise', { images: image, noise: this.noiseValue, seed: this.noiseSeed });
    if (this.view !== view) return;
    this.pad.show(r.noisy, r.denoised);
  }
}
