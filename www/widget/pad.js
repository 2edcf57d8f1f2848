// "Draw your own": a pad to draw a digit on, turned into an MNIST-like image and shown with
// noise and denoised beside it.
import { el } from './dom.js';
import { drawStrip } from './strip.js';

const PIXELS = 784;
const SIDE = 140;

/** The pad's ink as an MNIST-like image: the bounding box scaled into 20 × 20, centred by its
 *  centre of mass in 28 × 28 (how MNIST's digits were normalised); null when nothing is drawn. */
export function padToMnist(canvas) {
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

export class Pad {
  /** `host.on` registers listeners the element removes when it is disconnected; `onDrawn` runs
   *  when a stroke ends, `onCleared` when Clear empties the pad. */
  constructor(host, onDrawn, onCleared = () => {}) {
    // Not a Tab stop: no key draws on it. Keyboard users get the same look at the model from the
    // strip's digits (and "Inside the model"'s Next digit).
    this.canvas = el('canvas', { class: 'draw', width: String(SIDE), height: String(SIDE), role: 'img',
      'aria-label': 'Drawing pad: draw a digit with the mouse, a pen or a finger' });
    this.hint = el('p', { class: 'note', text: 'Draw a digit on the black square: it is noised and denoised beside it.' });
    this.noisy = el('canvas', { class: 'digit', role: 'img', 'aria-label': 'Your digit with noise', width: '28', height: '28' });
    this.out = el('canvas', { class: 'digit', role: 'img', 'aria-label': 'Your digit denoised', width: '28', height: '28' });
    const clear = el('button', { type: 'button', part: 'button', text: 'Clear' });
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    const blank = () => { ctx.fillStyle = '#000'; ctx.fillRect(0, 0, SIDE, SIDE); };
    blank();
    let last = null;
    const at = (e) => {
      const r = this.canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * SIDE / r.width, (e.clientY - r.top) * SIDE / r.height];
    };
    host.on(this.canvas, 'pointerdown', (e) => { last = at(e); this.canvas.setPointerCapture(e.pointerId); });
    host.on(this.canvas, 'pointermove', (e) => {
      if (!last) return;
      const p = at(e);
      ctx.strokeStyle = '#fff'; ctx.lineWidth = 11; ctx.lineCap = 'round';
      ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(...p); ctx.stroke();
      last = p;
    });
    const up = () => { if (last) { last = null; this.hint.hidden = true; onDrawn(); } };
    host.on(this.canvas, 'pointerup', up);
    host.on(this.canvas, 'pointercancel', up);
    host.on(clear, 'click', () => {
      blank();
      this.hint.hidden = false;
      this.show(new Float32Array(PIXELS), new Float32Array(PIXELS));
      onCleared();
    });
    this.element = el('div', {}, this.hint, el('div', { class: 'pad' }, this.canvas,
      el('figure', {}, this.noisy, el('figcaption', { text: 'noisy' })),
      el('figure', {}, this.out, el('figcaption', { text: 'denoised' })), clear));
  }

  /** The drawn digit as an MNIST image, or null. */
  image() { return padToMnist(this.canvas); }

  show(noisy, denoised) {
    drawStrip(this.noisy, noisy, 1);
    drawStrip(this.out, denoised, 1);
  }
}
