// The loss plot: smoothed training loss and validation loss per epoch, settings changes as
// dashed lines, and a label that says the same in words. uPlot is loaded on first use.
import { el } from './dom.js';

const UPLOT_CSS = new URL('../vendor/uPlot.min.css', import.meta.url).href;

/** Where a learner's curve is headed, drawn as dotted lines: the validation loss the LearnOpenCV
 *  tutorial reports after 25 epochs, and the shipped weights' on all 10,000 test images
 *  (README, "Shipped weights"). */
export const REFERENCES = [
  { loss: 0.1171, text: 'tutorial, 25 epochs' },
  { loss: 0.0947, text: 'shipped model' },
];

export class LossPlot {
  /** `host` owns the shadow root (for uPlot's stylesheet) and the clean-ups. */
  constructor(host) {
    this.host = host;
    this.element = el('div', { class: 'plot', role: 'img', 'aria-label': 'Loss plot: no data yet', part: 'plot' });
    this.plot = null;
    this.last = 0;
    this.marks = [];
  }

  /** Redraws from `run` ({steps, smooth, xs, train, val, marks}); at most twice a second
   *  unless `force`. */
  async draw(run, force = false) {
    const now = performance.now();
    if (!force && now - this.last < 500) return;
    this.last = now;
    this.marks = run.marks;
    const last = [...run.val].reverse().find((v) => v != null);
    const n = run.marks.length;
    const marks = n ? `; settings changed ${n} time${n > 1 ? 's' : ''} (${run.marks.map((m) => m.text).join(' ')})` : '';
    const refs = REFERENCES.map((r) => `${r.text} ${r.loss}`).join(', ');
    this.element.setAttribute('aria-label',
      `Loss plot: ${run.steps} steps; training loss ${run.smooth?.toFixed(4) ?? '—'}, validation loss ${last?.toFixed(4) ?? '—'}${marks}; reference lines: ${refs}`);
    if (this.plot) { this.plot.setData([run.xs, run.train, run.val]); return; }
    const { default: uPlot } = await import('../vendor/uPlot.min.js');
    if (this.plot || !this.host.isConnected) return;
    this.host.shadowRoot.append(el('link', { rel: 'stylesheet', href: UPLOT_CSS }));
    const width = () => Math.max(260, this.element.clientWidth || 400);
    this.plot = new uPlot({
      width: width(), height: 220,
      // The loss axis always reaches the reference lines, so that an early curve shows how far
      // it has to go.
      scales: { x: { time: false }, y: { range: (u, min, max) => [Math.min(min ?? 0.09, 0.09), Math.max(max ?? 0.7, 0.13)] } },
      hooks: { draw: [(u) => this.drawMarks(u), (u) => this.drawReferences(u)] },
      axes: [{ label: 'epoch' }, { label: 'loss', size: 56 }],
      series: [
        // The legend shows values under the cursor, and nothing (not "—") where there are none.
        { label: 'epoch', value: (u, v) => v?.toFixed(2) ?? '' },
        { label: 'training (smoothed)', stroke: '#2563eb', width: 1.5, value: (u, v) => v?.toFixed(4) ?? '' },
        { label: 'validation', stroke: '#ea580c', width: 2, spanGaps: true, points: { show: true, size: 5 }, value: (u, v) => v?.toFixed(4) ?? '' },
      ],
    }, [run.xs, run.train, run.val], this.element);
    const ro = new ResizeObserver(() => this.plot?.setSize({ width: width(), height: 220 }));
    ro.observe(this.element);
    this.host.cleanups.push(() => ro.disconnect());
  }

  /** Settings changes as dashed vertical lines. */
  drawMarks(u) {
    if (!this.marks.length) return;
    const { ctx, bbox } = u;
    ctx.save();
    ctx.strokeStyle = '#6b7280';
    ctx.setLineDash([4, 4]);
    for (const m of this.marks) {
      const x = u.valToPos(m.x, 'x', true);
      ctx.beginPath(); ctx.moveTo(x, bbox.top); ctx.lineTo(x, bbox.top + bbox.height); ctx.stroke();
    }
    ctx.restore();
  }

  /** The reference losses as dotted horizontal lines, labelled at their right end. */
  drawReferences(u) {
    const { ctx, bbox } = u;
    ctx.save();
    ctx.strokeStyle = '#15803d';
    ctx.fillStyle = '#15803d';
    ctx.setLineDash([2, 3]);
    ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
    ctx.textAlign = 'right';
    // The higher line labelled above it, the lower below: the two are a few pixels apart.
    REFERENCES.forEach((r, i) => {
      const y = u.valToPos(r.loss, 'y', true);
      ctx.beginPath(); ctx.moveTo(bbox.left, y); ctx.lineTo(bbox.left + bbox.width, y); ctx.stroke();
      ctx.fillText(`${r.text} ${r.loss}`, bbox.left + bbox.width - 4, y + (i === 0 ? -4 : 13) * devicePixelRatio);
    });
    ctx.restore();
  }

  clear() { this.plot?.setData([[], [], []]); }

  destroy() { this.plot?.destroy(); this.plot = null; }
}
