// "Inside the model", train mode's look at what the encoder keeps: the 32 learned 3×3 filters of
// enc1, and the 32 maps of each stage of the forward pass over one digit (the one picked in the
// strip, or the pad's), from the encoder's 28 × 28 maps down to the 7 × 7 latent code and back
// up through the decoder. Every tile is drawn from the session's own numbers (`trace`,
// `parameters`) and redrawn with the strip while the model trains.
import { el } from './dom.js';
import { drawStrip } from './strip.js';

const PIXELS = 784;
const COLUMNS = 8; // 32 maps as 8 × 4 tiles
const GAP = 1;

// The stages shown, in order, with what a learner reads under each (shapes from the model).
const STAGES = [
  ['enc1', 'after enc1: 32 maps of 28 × 28, one per filter'],
  ['enc2', 'after pooling and enc2: 32 maps of 14 × 14'],
  ['latent', 'the latent code after the second pooling: 32 maps of 7 × 7, 1,568 numbers'],
  ['dec1', 'after dec1: 32 maps of 7 × 7'],
  ['up1', 'after the first transposed convolution: 32 maps of 14 × 14'],
  ['up2', 'after the second: 32 maps of 28 × 28, which the last layer sums into the output'],
];

/** Grey level of `v` on a stage's scale [lo, hi]. */
const grey = (v, lo, hi) => Math.round(255 * (hi > lo ? (v - lo) / (hi - lo) : 0));

/** A filter weight on a diverging scale: white at 0, red for positive, blue for negative, full
 *  colour at ± `max` (the largest |weight| of the 32 filters). */
function diverging(v, max) {
  const t = max > 0 ? Math.max(-1, Math.min(1, v / max)) : 0;
  const fade = Math.round(255 * (1 - Math.abs(t)));
  return t >= 0 ? [255, fade, fade] : [fade, fade, 255];
}

/** `count` tiles of `side` × `side` from `values` (channel-major), 8 to a row, into `canvas`;
 *  `colour(v)` gives [r, g, b]. */
function drawTiles(canvas, values, count, side, colour) {
  const rows = Math.ceil(count / COLUMNS);
  canvas.width = Math.min(COLUMNS, count) * (side + GAP) - GAP;
  canvas.height = rows * (side + GAP) - GAP;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(canvas.width, canvas.height);
  for (let c = 0; c < count; c++) {
    const x0 = (c % COLUMNS) * (side + GAP);
    const y0 = Math.floor(c / COLUMNS) * (side + GAP);
    for (let p = 0; p < side * side; p++) {
      const [r, g, b] = colour(values[c * side * side + p]);
      const o = 4 * ((y0 + Math.floor(p / side)) * canvas.width + x0 + (p % side));
      img.data[o] = r; img.data[o + 1] = g; img.data[o + 2] = b; img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

export class Inside {
  /** `host`: the element (its worker calls, its strip). */
  constructor(host) {
    this.host = host;
    this.pick = { from: 'strip', index: 0 };
    this.noisy = null; // the strip's noisy digits, as last drawn
    this.$filters = el('canvas', { class: 'tiles', role: 'img', 'aria-label': 'Filters of enc1: not drawn yet', 'data-stage': 'enc1.weight', part: 'inside-filters' });
    this.$input = el('canvas', { class: 'tiles', role: 'img', width: '28', height: '28', 'aria-label': 'The digit traced: none yet', 'data-stage': 'input' });
    this.$about = el('p', { class: 'note', text: 'Click a digit in the strip above, or draw one, to see what the model computes for it.' });
    this.$next = el('button', { type: 'button', part: 'button', text: 'Next digit' });
    host.on(this.$next, 'click', () => this.pickDigit(this.pick.from === 'strip' ? (this.pick.index + 1) % host.digits : 0)?.catch((e) => host.fail(e)));
    this.$maps = Object.fromEntries(STAGES.map(([name]) => [name,
      el('canvas', { class: 'tiles', role: 'img', 'aria-label': `${name}: not drawn yet`, 'data-stage': name, part: `inside-${name}` })]));
    const figure = (canvas, caption) => el('figure', {}, canvas, el('figcaption', { text: caption }));
    this.element = el('section', { 'aria-label': 'Inside the model', 'data-group': 'inside', class: 'inside' },
      el('h3', { text: 'Inside the model' }), el('div', { class: 'row' }, this.$about, this.$next),
      el('div', { class: 'inside-grid' },
        figure(this.$input, 'the input (the noisy digit)'),
        figure(this.$filters, 'the 32 learned 3 × 3 filters of enc1 (red positive, blue negative)'),
        ...STAGES.map(([name, caption]) => figure(this.$maps[name], caption))));
  }

  /** The strip was redrawn with `noisy` (n digits): trace the picked one again. */
  onPanels(noisy) {
    this.noisy = noisy;
    if (this.pick.from === 'pad' && this.padImage) return this.draw(this.padImage, 'your drawing');
    // The strip may have shrunk (the `digits` attribute) since the digit was picked.
    const index = Math.min(this.pick.from === 'strip' ? this.pick.index : 0, noisy.length / PIXELS - 1);
    this.pick = { from: 'strip', index };
    return this.draw(noisy.subarray(index * PIXELS, (index + 1) * PIXELS), `test digit ${index + 1} of the strip`);
  }

  /** Digit `index` of the strip was clicked. */
  pickDigit(index) {
    this.pick = { from: 'strip', index };
    return this.noisy ? this.onPanels(this.noisy) : undefined;
  }

  /** The pad was denoised (its noisy image, 784 floats): traced when `drawn` (a stroke just
   *  ended) or when the pad is what this view shows already. */
  onPad(noisy, drawn) {
    this.padImage = noisy;
    if (drawn) this.pick = { from: 'pad' };
    return this.pick.from === 'pad' ? this.draw(noisy, 'your drawing') : undefined;
  }

  /** The pad was cleared: back to the strip's digit. */
  onPadCleared() {
    this.padImage = null;
    if (this.pick.from === 'pad') return this.pickDigit(0);
    return undefined;
  }

  async draw(image, what) {
    if (this.element.hidden) return; // left out by the `controls` attribute: nothing to draw
    const h = this.host;
    const view = h.view;
    let maps, params;
    try {
      [maps, params] = [await h.call('trace', { images: image }), await h.call('parameters')];
    } catch (e) {
      // Said here, beside the view; the strip, training and loading go on without it.
      this.$about.textContent = `Could not look inside the model: ${e?.message ?? e}`;
      return;
    }
    if (h.view !== view) return;
    const weights = params.find((p) => p.name === 'enc1.weight');
    const max = weights.values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    drawTiles(this.$filters, weights.values, weights.shape[0], weights.shape[2], (v) => diverging(v, max));
    this.$filters.setAttribute('aria-label', `The 32 learned 3 × 3 filters of enc1, weights from ${(-max).toFixed(2)} (blue) to ${max.toFixed(2)} (red)`);
    drawStrip(this.$input, image, 1);
    this.$input.setAttribute('aria-label', `The digit traced: ${what}`);
    for (const [name] of STAGES) {
      const map = maps.find((m) => m.name === name);
      const [, channels, side] = map.shape;
      let lo = Infinity, hi = -Infinity;
      for (const v of map.values) { if (v < lo) lo = v; if (v > hi) hi = v; }
      drawTiles(this.$maps[name], map.values, channels, side, (v) => { const g = grey(v, lo, hi); return [g, g, g]; });
      this.$maps[name].setAttribute('aria-label', `${name} for ${what}: ${channels} maps of ${side} × ${side}, values from ${lo.toFixed(2)} (black) to ${hi.toFixed(2)} (white)`);
    }
    this.$about.textContent = `What the model computes for ${what}, with its weights at step ${h.view?.run?.steps ?? 0}. Click another digit in the strip, or draw one.`;
    h.dataset.inside = String((Number(h.dataset.inside) || 0) + 1);
  }
}
