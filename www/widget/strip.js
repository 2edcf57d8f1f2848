// The original · noisy · reconstructed strip: three canvases of `n` digits each, labelled for
// screen readers with the digits they show.
import { el } from './dom.js';

const PIXELS = 784;
const ROWS = ['original', 'noisy', 'reconstructed'];

/** Draws `n` 28 × 28 images (floats in [0, 1]) side by side into a canvas. */
export function drawStrip(canvas, images, n) {
  canvas.width = 28 * n;
  canvas.height = 28;
  // The stylesheet sizes the strip from its column count (CSSOM, so a strict CSP allows it).
  canvas.style.setProperty('--n', String(n));
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

export class Strip {
  constructor(n) {
    this.rows = ROWS.map((name) => el('canvas', {
      class: 'strip', role: 'img', width: String(28 * n), height: '28', 'aria-label': `${name} digits: not drawn yet`, part: `panel panel-${name}`,
    }));
    for (const c of this.rows) c.style.setProperty('--n', String(n));
    this.element = el('div', { class: 'panels' }, ...ROWS.flatMap((name, i) => [el('span', { text: name }), this.rows[i]]));
  }

  /** Draws `{clean, noisy, denoised, labels}` for `n` digits. */
  draw({ clean, noisy, denoised, labels }, n, what = 'test digits') {
    [clean, noisy, denoised].forEach((images, i) => drawStrip(this.rows[i], images, n));
    this.rows.forEach((c, i) => c.setAttribute('aria-label', `${ROWS[i]} ${what} ${Array.from(labels).join(', ')}`));
  }
}
