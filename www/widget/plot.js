// The loss plot: smoothed training loss and validation loss per epoch, settings changes as
// dashed lines, earlier runs' validation curves in grey (until cleared), and a label that says
// the same in words. uPlot is loaded on first use.
import { el } from './dom.js';

const UPLOT_CSS = new URL('../vendor/uPlot.min.css', import.meta.url).href;

/** Where a learner's curve is headed, drawn as dotted lines: the validation loss the LearnOpenCV
 *  tutorial reports after 25 epochs, and the shipped weights' on all 10,000 test images
 *  (README, "Shipped weights"). */
export const REFERENCES = [
  { loss: 0.1171, text: 'tutorial, 25 epochs' },
  { loss: 0.0947, text: 'shipped model' },
];

/** Colours of earlier runs' curves, newest first: greys and muted tones that stay behind the
 *  current run's blue and orange. */
const GHOSTS = ['#6b7280', '#a16207', '#7c3aed', '#0f766e', '#9f1239'];
export const MAX_GHOSTS = GHOSTS.length;

export class LossPlot {
  /** `host` owns the shadow root (for uPlot's stylesheet) and the clean-ups. */
  constructor(host) {
    this.host = host;
    this.element = el('div', { class: 'plot', role: 'img', 'aria-label': 'Loss plot: no data yet', part: 'plot' });
    this.plot = null;
    this.last = 0;
    this.marks = [];
    this.epochs = 1;
    // Earlier curves: [{label, xs, val}], shown in grey behind the current run.
    this.ghosts = [];
    this.ghostKey = '';
    // The epochs a drag on the plot zoomed into, [from, to], until a double-click (or a new plot).
    this.zoom = null;
    this.summary = '';
    // A double-click shows every epoch again: uPlot rescales on it, so the zoom ends first (in
    // the capture phase, before uPlot's own listener on its overlay).
    host.on(this.element, 'dblclick', () => { if (this.zoom) { this.zoom = null; this.describe(); } }, true);
  }

  /** The label: the last drawn summary, and the span of epochs shown. */
  describe() {
    const span = this.zoom
      ? `; zoomed to epochs ${this.zoom[0].toFixed(2)} to ${this.zoom[1].toFixed(2)} of 0 to ${this.epochs} (double-click the plot to see all)`
      : `; epochs 0 to ${this.epochs} across`;
    this.element.setAttribute('aria-label', this.summary + span);
  }

  /** The plot's columns: the run's, and each earlier curve's joined on one x axis. */
  data(run) {
    const own = [run.xs, run.train, run.val];
    if (!this.ghosts.length) return own;
    return this.uPlot.join([own, ...this.ghosts.map((g) => [g.xs, g.val])]);
  }

  /** Redraws from `run` ({steps, smooth, xs, train, val, marks}); at most twice a second
   *  unless `force`. */
  async draw(run, force = false) {
    const now = performance.now();
    if (!force && now - this.last < 500) return;
    this.last = now;
    this.marks = run.marks;
    this.epochs = (run.offset ?? 0) + run.epochs;
    this.rival = run.rival ?? null;
    this.ghosts = [run.rival, run.history, ...(run.ghosts ?? [])].filter(Boolean);
    const last = [...run.val].reverse().find((v) => v != null);
    const n = run.marks.length;
    const marks = n ? `; settings changed ${n} time${n > 1 ? 's' : ''} (${run.marks.map((m) => m.text).join(' ')})` : '';
    const refs = REFERENCES.map((r) => `${r.text} ${r.loss}`).join(', ');
    const earlier = this.ghosts.filter((g) => g !== this.rival);
    const rival = this.rival ? `; ${this.rival.label}, last validation ${this.rival.val.at(-1)?.toFixed(4) ?? '—'}` : '';
    const ghosts = (earlier.length
      ? `; earlier curves: ${earlier.map((g) => `${g.label}, last validation ${g.val.at(-1)?.toFixed(4)}`).join('; ')}` : '') + rival;
    this.summary = `Loss plot: ${run.steps} steps; training loss ${run.smooth?.toFixed(4) ?? '—'}, validation loss ${last?.toFixed(4) ?? '—'}${marks}; reference lines: ${refs}${ghosts}`;
    this.describe();
    // Other curves need other series: uPlot is built again for them.
    const key = this.ghosts.map((g) => g.label).join('|');
    if (this.plot && key !== this.ghostKey) this.destroy();
    this.ghostKey = key;
    // New points keep a zoomed view where it is (uPlot would otherwise rescale to the data).
    if (this.plot) { this.plot.setData(this.data(run), !this.zoom); return; }
    const { default: uPlot } = await import('../vendor/uPlot.min.js');
    this.uPlot = uPlot;
    if (this.plot || !this.host.isConnected) return;
    if (!this.styled) { this.host.shadowRoot.append(el('link', { rel: 'stylesheet', href: UPLOT_CSS })); this.styled = true; }
    const width = () => Math.max(260, this.element.clientWidth || 400);
    this.plot = new uPlot({
      width: width(), height: 220,
      // The loss axis always reaches the reference lines, so that an early curve shows how far
      // it has to go.
      // The x axis spans the epochs chosen (and a loaded model's own), so a run shows how far
      // along it is. From the data, not the `max` uPlot passes: for a single x value it passes
      // that value + 100. A drag zooms into the epochs it spans: uPlot reports the selection
      // (`setSelect`) just before it sets the scale to it.
      scales: {
        x: { time: false, range: (u) => this.zoom ?? [0, Math.max(this.epochs, u.data[0].at(-1) ?? 0)] },
        y: { range: (u, min, max) => [Math.min(min ?? 0.09, 0.09), Math.max(max ?? 0.7, 0.13)] },
      },
      hooks: {
        draw: [(u) => this.drawMarks(u), (u) => this.drawReferences(u)],
        setSelect: [(u) => {
          const { left, width } = u.select;
          if (width > 0) { this.zoom = [u.posToVal(left, 'x'), u.posToVal(left + width, 'x')]; this.describe(); }
        }],
      },
      axes: [{ label: 'epoch' }, { label: 'loss', size: 56 }],
      series: [
        // The legend shows values under the cursor, and nothing (not "—") where there are none.
        { label: 'epoch', value: (u, v) => v?.toFixed(2) ?? '' },
        { label: 'training (smoothed)', stroke: '#2563eb', width: 1.5, value: (u, v) => v?.toFixed(4) ?? '' },
        { label: 'validation', stroke: '#ea580c', width: 2, spanGaps: true, points: { show: true, size: 5 }, value: (u, v) => v?.toFixed(4) ?? '' },
        // The second model of a comparison solid and purple, earlier curves dashed.
        ...this.ghosts.map((g, i) => (g === this.rival
          ? { label: g.label, stroke: '#7c3aed', width: 2, spanGaps: true, points: { show: true, size: 5 }, value: (u, v) => v?.toFixed(4) ?? '' }
          : { label: g.label, stroke: GHOSTS[i % GHOSTS.length], width: 1.25, dash: [6, 3], spanGaps: true,
            points: { show: true, size: 4 }, value: (u, v) => v?.toFixed(4) ?? '' })),
      ],
    }, this.data(run), this.element);
    const ro = new ResizeObserver(() => this.plot?.setSize({ width: width(), height: 220 }));
    ro.observe(this.element);
    this.ro = ro;
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

  clear() { this.destroy(); }

  destroy() { this.ro?.disconnect(); this.plot?.destroy(); this.plot = null; this.zoom = null; }
}
