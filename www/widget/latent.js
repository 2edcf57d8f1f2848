// "The latent space", train mode's picture of the codes: the first 1,000 test digits placed by
// the two principal axes of their 1,568-number codes (the session's `latent-map`), coloured by
// label, and an interpolation strip decoded from blends of two digits' codes (`interpolate`).
// Redrawn with the strip: at once when the model changes, at most once an epoch (or every
// 20 s) while it trains, since a map encodes a thousand digits.
import { el } from './dom.js';
import { drawStrip } from './strip.js';

const MAP_IMAGES = 1000;
const SIZE = 320; // the map's canvas, in its own pixels
const MARGIN = 8;
const BLEND_STEPS = 10;
const TRAINING_INTERVAL_MS = 20_000;

// Tableau 10 (Tableau Software's default categorical palette), one colour per digit 0–9.
export const DIGIT_COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

const percent = (v) => `${(100 * v).toFixed(1)}%`;
const article = (d) => (d === 8 ? 'an' : 'a');

/** Canvas pixel of each point: both axes on one scale (distances on the map are distances on
 *  the plane), the points' bounding box centred within MARGIN, y upwards. */
export function mapPixels(x, y, size = SIZE, margin = MARGIN) {
  const range = (v) => { let lo = Infinity, hi = -Infinity; for (const a of v) { if (a < lo) lo = a; if (a > hi) hi = a; } return [lo, hi]; };
  const [[x0, x1], [y0, y1]] = [range(x), range(y)];
  const span = Math.max(x1 - x0, y1 - y0);
  const scale = span > 0 ? (size - 2 * margin) / span : 0;
  const [cx, cy] = [(size - scale * (x1 - x0)) / 2, (size - scale * (y1 - y0)) / 2];
  return Array.from(x, (_, i) => [Math.round(cx + scale * (x[i] - x0)), Math.round(size - cy - scale * (y[i] - y0))]);
}

/** +1 or −1: the sign that keeps `now` pointing the way `before` did (the same images). */
function orientation(before, now) {
  if (!before || before.length !== now.length) return 1;
  let dot = 0;
  for (let i = 0; i < now.length; i++) dot += before[i] * now[i];
  return dot < 0 ? -1 : 1;
}

export class Latent {
  /** `host`: the element (its worker calls, its train view). */
  constructor(host) {
    this.host = host;
    this.drawn = null; // {run, steps, epoch, images, at}: the model the map shows
    this.busy = false;
    this.pending = false; // asked again while a map was on its way: draw once more after it
    this.blends = 0; // the latest strip asked for: an older answer is not drawn over it
    this.shown = null; // the coordinates last drawn, to keep their orientation
    this.$map = el('canvas', { class: 'map', role: 'img', width: String(SIZE), height: String(SIZE), part: 'latent-map', 'aria-label': 'Latent map: not drawn yet' });
    this.$about = el('p', { class: 'note', text: 'Each dot is a test digit, placed by its latent code (1,568 numbers) projected onto the two directions in which the codes of these digits vary most (principal component analysis). Dots close together have similar codes along those two directions; dots that overlap may still differ in the other 1,566, and the axes have no units. Colours are the digits\u2019 labels, which the model never sees.' });
    this.$status = el('p', { class: 'note', 'aria-live': 'off', text: 'The map is drawn when the model is ready.' });
    this.$legend = el('ul', { class: 'legend', 'aria-label': 'Colours of the digits' },
      ...DIGIT_COLOURS.map((c, d) => {
        const swatch = el('span', { class: 'swatch' });
        swatch.style.background = c; // CSSOM, not a style attribute: a strict CSP allows it
        return el('li', {}, swatch, String(d));
      }));
    const digitSelect = (name, value) => el('select', { name }, ...DIGIT_COLOURS.map((_, d) => el('option', { value: String(d), selected: d === value, text: String(d) })));
    this.$from = digitSelect('blend-from', 3);
    this.$to = digitSelect('blend-to', 8);
    for (const s of [this.$from, this.$to]) host.on(s, 'change', () => this.drawBlend().catch((e) => host.fail(e)));
    this.$blend = el('canvas', { class: 'strip', role: 'img', width: String(28 * BLEND_STEPS), height: '28', part: 'latent-blend', 'aria-label': 'Interpolation: not drawn yet' });
    this.$blendNote = el('p', { class: 'note', text: '' });
    this.element = el('section', { 'aria-label': 'The latent space', 'data-group': 'latent', class: 'latent' },
      el('h3', { text: 'The latent space' }),
      el('div', { class: 'latent-map' }, this.$map, this.$legend), this.$status, this.$about,
      el('h4', { text: 'Between two digits' }),
      el('div', { class: 'row' }, el('label', {}, 'From', this.$from), el('label', {}, 'to', this.$to)),
      el('div', { class: 'scroll' }, this.$blend), this.$blendNote);
  }

  /** The strip was redrawn: draws the map again when it no longer shows the current model. */
  async onPanels() {
    const view = this.host.view;
    if (this.element.hidden || !view) return;
    if (this.busy) { this.pending = true; return; }
    const run = view.run;
    const d = this.drawn;
    const same = d && d.run === run && d.images === view.testImages;
    if (same && d.steps === run.steps) return;
    if (same && view.looping && d.epoch === run.epoch && performance.now() - d.at < TRAINING_INTERVAL_MS) return;
    this.busy = true;
    try {
      await this.draw(view);
    } finally {
      this.busy = false;
    }
    // A model that changed while the map was being made (a load, a reset) is drawn now.
    if (this.pending) {
      this.pending = false;
      await this.onPanels();
    }
  }

  async draw(view) {
    const h = this.host;
    const run = view.run;
    const key = { run, steps: run.steps, epoch: run.epoch, images: view.testImages };
    let map;
    try {
      map = await h.call('latent-map', { count: Math.min(MAP_IMAGES, view.testImages) });
    } catch (e) {
      this.$status.textContent = `Could not map the latent space: ${e?.message ?? e}`;
      return;
    }
    if (h.view !== view) return;
    // A principal axis has no inherent sign: keep the one the last map had, so that a model
    // that changed a little does not show its map mirrored.
    const sx = orientation(this.shown?.x, map.x), sy = orientation(this.shown?.y, map.y);
    const x = sx < 0 ? map.x.map((v) => -v) : map.x;
    const y = sy < 0 ? map.y.map((v) => -v) : map.y;
    this.shown = { x, y };
    this.map = { ...map, x, y };
    const ctx = this.$map.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, SIZE, SIZE);
    mapPixels(x, y).forEach(([px, py], i) => {
      ctx.fillStyle = DIGIT_COLOURS[map.labels[i]];
      ctx.fillRect(px - 1, py - 1, 3, 3);
    });
    const n = map.x.length.toLocaleString('en');
    const [a, b] = map.explained.map(percent);
    this.$map.setAttribute('aria-label', `Latent map of ${n} test digits at step ${key.steps.toLocaleString('en')}, coloured by digit: the first axis holds ${a} of the codes' variance, the second ${b}`);
    this.$status.textContent = `${n} test digits at step ${key.steps.toLocaleString('en')}: the horizontal axis holds ${a} of the variance of their codes, the vertical ${b}.`;
    this.drawn = { ...key, at: performance.now() };
    h.dataset.latent = String((Number(h.dataset.latent) || 0) + 1);
    await this.drawBlend();
  }

  /** The interpolation strip between the first mapped test digits of the chosen labels. */
  async drawBlend() {
    const h = this.host;
    const view = h.view;
    if (!this.map || !view) return;
    const [from, to] = [Number(this.$from.value), Number(this.$to.value)];
    const asked = ++this.blends;
    const first = (d) => this.map.labels.indexOf(d);
    const [i, j] = [first(from), first(to)];
    if (i < 0 || j < 0) {
      this.$blendNote.textContent = `None of the mapped digits is ${i < 0 ? `${article(from)} ${from}` : `${article(to)} ${to}`}.`;
      return;
    }
    let strip;
    try {
      const [a, b] = [await h.call('sample', { set: 'test', index: i }), await h.call('sample', { set: 'test', index: j })];
      strip = await h.call('interpolate', { from: a.image, to: b.image, steps: BLEND_STEPS });
    } catch (e) {
      this.$blendNote.textContent = `Could not decode the blends: ${e?.message ?? e}`;
      return;
    }
    if (h.view !== view || asked !== this.blends) return;
    drawStrip(this.$blend, strip, BLEND_STEPS);
    this.$blend.setAttribute('aria-label', `${BLEND_STEPS} images decoded from blends of the codes of test digit ${i + 1} (${article(from)} ${from}) and test digit ${j + 1} (${article(to)} ${to})`);
    this.$blendNote.textContent = `Left: the model's reconstruction of test digit ${i + 1}, ${article(from)} ${from}; right: of test digit ${j + 1}, ${article(to)} ${to}. Between them, the decoder's images of codes part-way from one to the other, not a cross-fade of the pixels. Nothing in training asks the codes between two digits to be digits too: where the middle images look like neither, the model has not learned that part of the space.`;
    h.dataset.blend = String((Number(h.dataset.blend) || 0) + 1);
  }
}
