// The loss plot: smoothed training loss and validation loss per epoch, settings changes as
// dashed lines, and a label that says the same in words. uPlot is loaded on first use.
import { el } from './dom.js';

const UPLOT_CSS = new URL('../vendor/uPlot.min.css', import.meta.url).href;

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
    this.element.setAttribute('aria-label',
      `Loss plot: ${run.steps} steps; training loss ${run.smooth?.toFixed(4) ?? '—'}, validation loss ${last?.toFixed(4) ?? '—'}${marks}`);
    if (this.plot) { this.plot.setData([run.xs, run.train, run.val]); return; }
    const { default: uPlot } = await import('../vendor/uPlot.min.js');
    if (this.plot || !this.host.isConnected) return;
    this.host.shadowRoot.append(el('link', { rel: 'stylesheet', href: UPLOT_CSS }));
    const width = () => Math.max(260, this.element.clientWidth || 400);
    this.plot = new uPlot({
      width: width(), height: 220,
      scales: { x: { time: false } },
      hooks: { draw: [(u) => this.drawMarks(u)] },
      axes: [{ label: 'epoch' }, { label: 'loss', size: 56 }],
      series: [
        { label: 'epoch', value: (u, v) => v?.toFixed(2) ?? '—' },
        { label: 'training (smoothed)', stroke: '#2563eb', width: 1.5, value: (u, v) => v?.toFixed(4) ?? '—' },
        { label: 'validation', stroke: '#ea580c', width: 2, spanGaps: true, points: { show: true, size: 5 }, value: (u, v) => v?.toFixed(4) ?? '—' },
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

  clear() { this.plot?.setData([[], [], []]); }

  destroy() { this.plot?.destroy(); this.plot = null; }
}
