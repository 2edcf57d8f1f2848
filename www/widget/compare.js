// Compare runs: a second model trained beside the page's own, in a worker of its own — ReLU
// against leaky ReLU by default, or another learning rate, batch size or noise — step for step with
// the first, its validation curve live on the same plot, its reconstructions of the same digits
// under the strip, and a one-line verdict from the two models' validation losses at the same
// step. Both start afresh from the same seed (the same initial weights, batches and noise), so
// the settings are the only difference.
import { el } from './dom.js';
import { WorkerClient } from './client.js';
import { drawStrip } from './strip.js';

const ACTIVATIONS = [['leaky_relu', 'leaky ReLU'], ['relu', 'ReLU']];
/** Two validation losses closer than this are a tie: the same recipe on two machines ended
 *  0.0004 apart after 25 epochs (README, "ReLU against leaky ReLU"). */
const TIE = 0.0005;

const nameOf = (pairs, value) => pairs.find(([v]) => String(v) === String(value))?.[1] ?? String(value);

export class Compare {
  /** `view`: the train view whose run this one is compared with. */
  constructor(view) {
    this.view = view;
    this.host = view.host;
    this.client = null; // the second model's worker, while comparing
    this.curve = null; // its validation curve {label, xs, val}, drawn with the run's
    this.settings = null;
    this.steps = 0;
    this.lastVal = null;
    this.epochLosses = []; // the second model's epoch-end validations, drawn with the first's
    const h = this.host;
    this.$open = el('button', { type: 'button', part: 'button', text: 'Compare…', disabled: true });
    this.$stop = el('button', { type: 'button', part: 'button', text: 'Stop comparing', hidden: true });
    // One control group with Train: the `controls` attribute shows or hides both buttons' place.
    this.buttons = el('span', { class: 'row', 'data-group': 'train' }, this.$open, this.$stop);
    // The choices exist only while the panel is open: the page has one "Batch" field otherwise.
    this.$panel = el('div', { class: 'confirm', role: 'group', 'aria-label': 'Compare runs', hidden: true });
    this.$verdict = el('p', { class: 'verdict', hidden: true });
    this.$row = el('canvas', { class: 'strip', role: 'img', width: '224', height: '28', hidden: true, part: 'panel panel-second', 'aria-label': 'reconstructed by the second model: not drawn yet' });
    this.$rowLabel = el('span', { text: 'second model', hidden: true });
    h.on(this.$open, 'click', () => this.open());
    h.on(this.$panel, 'keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); this.close(); this.$open.focus(); } });
    h.on(this.$stop, 'click', () => { this.end(); this.$open.focus(); });
  }

  /** The choices, preset to the other activation and this run's rate, batch and noise. */
  open() {
    const v = this.view;
    const h = this.host;
    const select = (name, pairs, value) => el('select', { name }, ...pairs.map(([p, t]) => el('option', { value: String(p), text: t, selected: String(p) === String(value) })));
    const current = v.$activation.dataset.current ?? 'leaky_relu';
    const activation = select('compare-activation', ACTIVATIONS, current === 'relu' ? 'leaky_relu' : 'relu');
    const lr = select('compare-lr', [...v.$lr.options].map((o) => [o.value, o.text]), v.$lr.value);
    const batch = select('compare-batch', [...v.$batch.options].map((o) => [o.value, o.text]), v.$batch.value);
    const noises = Array.from({ length: 11 }, (_, i) => { const n = (i / 10).toFixed(1); return [n, n]; });
    const noise = select('compare-noise', noises, (Math.round(h.noiseValue * 10) / 10).toFixed(1));
    const go = el('button', { type: 'button', class: 'primary', part: 'button', text: 'Start comparing' });
    const cancel = el('button', { type: 'button', part: 'button', text: 'Cancel' });
    this.$panel.replaceChildren(
      el('p', { text: 'Train a second model beside this one, from the same start, step for step. Its settings:' }),
      el('div', { class: 'row' }, el('label', {}, 'Activation', activation), el('label', {}, 'Learning rate', lr),
        el('label', {}, 'Batch', batch), el('label', {}, 'Training noise', noise), go, cancel));
    h.on(cancel, 'click', () => { this.close(); this.$open.focus(); }, { once: true });
    h.on(go, 'click', () => {
      const settings = { activation: activation.value, learning_rate: Number(lr.value), batch_size: Number(batch.value), noise_factor: Number(noise.value) };
      const rate = lr.selectedOptions[0].text;
      this.close();
      this.begin(settings, rate).catch((e) => h.fail(e));
    }, { once: true });
    this.$panel.hidden = false;
    activation.focus();
  }

  close() {
    this.$panel.hidden = true;
    this.$panel.replaceChildren();
  }

  /** Starts both models afresh (the run there is now stays on the plot as an earlier curve,
   *  after a confirmation when it has trained), then the second one in its own worker. */
  async begin(settings, rate) {
    const v = this.view;
    // Neither model steps until both exist: they go step for step from the same start.
    const wasPlaying = v.playing;
    v.stopLoop();
    await v.ensureData();
    const fresh = await v.askReset('Comparing starts two new models from the same start.', { asker: this.$open });
    if (!v.alive) return;
    if (!fresh) { if (wasPlaying) v.play().catch(() => {}); return; }
    const h = this.host;
    h.say('Starting the second model…');
    const client = new WorkerClient();
    try {
      await client.call('load-data', { urls: v.dataUrls() });
      await client.call('create', { options: { ...v.sessionOptions(h.info?.backend ?? 'cpu'), ...settings } });
    } catch (e) {
      client.terminate();
      throw e;
    }
    if (!v.alive) { client.terminate(); return; }
    const act = nameOf(ACTIVATIONS, settings.activation);
    this.attach(client, settings, { label: `second model: ${act}, rate ${rate}, batch ${settings.batch_size}, noise ${settings.noise_factor.toFixed(1)}`, xs: [], val: [] });
    this.steps = 0;
    await this.validate(v.run.lastVal);
    await h.refreshPanels();
    h.log(`Comparing with a second model: ${act}, learning rate ${rate}, batch ${settings.batch_size}, training noise ${settings.noise_factor.toFixed(1)}.`);
    if (wasPlaying) v.play().catch(() => {}); else h.say('Ready: press Train to train both.');
  }

  /** What the run's snapshot keeps of the comparison (null when there is none): the second
   *  model's weights and session state, its settings and its curve. */
  async saved() {
    if (!this.client) return null;
    const [weights, state] = [await this.client.call('save'), await this.client.call('state')];
    return { weights, state, settings: this.settings, curve: this.curve };
  }

  /** Continues a comparison kept in a run's snapshot, beside the resumed first model. */
  async restore(saved) {
    const v = this.view;
    const h = this.host;
    const client = new WorkerClient();
    try {
      await client.call('load-data', { urls: v.dataUrls() });
      await client.call('continue', { state: saved.state, weights: saved.weights, backend: h.info?.backend ?? 'cpu' });
    } catch (e) {
      client.terminate();
      throw e;
    }
    if (!v.alive) { client.terminate(); return; }
    this.attach(client, saved.settings, saved.curve);
    this.steps = saved.state.steps;
    this.lastVal = saved.curve.val.at(-1) ?? null;
    this.say(v.run.lastVal);
  }

  /** Shows a comparison with `client`'s model, of `settings`, its curve so far `curve`. */
  attach(client, settings, curve) {
    this.client = client;
    this.settings = settings;
    this.curve = curve;
    this.view.run.rival = curve;
    this.$open.hidden = true;
    this.$stop.hidden = false;
    this.$row.hidden = this.$rowLabel.hidden = false;
    this.$verdict.hidden = false;
  }

  /** One step of the second model beside the first's (none once its epochs are done). */
  async step() {
    if (!this.client) return null;
    const r = await this.client.call('train', { steps: 1 }).catch((e) => {
      if (!/epochs left/.test(e.message)) {
        // The first model goes on alone; the second's curve so far stays.
        this.host.log(`The second model failed (${e.message}); the comparison ended.`);
        this.end();
      }
      return null; // its run is over (or failed): the first goes on
    });
    if (!r) return null;
    this.steps = r.status.steps;
    this.epochLosses.push(...r.epochs.map((record) => record.val_loss));
    return r;
  }

  /** The first model's step is accounted for (`first`: its epoch-end validation, if it closed
   *  an epoch): the second's epoch-end points go on the plot at the same place. */
  afterStep(first) {
    for (const loss of this.epochLosses.splice(0)) this.point(loss, first);
  }

  /** Validates the second model now; `first`: the first model's loss at the same step. */
  async validate(first) {
    if (!this.client) return;
    const v = await this.client.call('validate', {});
    this.point(v.loss, first);
  }

  point(loss, first = this.view.run.lastVal) {
    const run = this.view.run;
    this.curve.xs.push(run.xs.length ? run.xs[run.xs.length - 1] : run.offset);
    this.curve.val.push(loss);
    this.lastVal = loss;
    this.say(first);
    this.view.plot.draw(run, true);
  }

  /** The verdict: both losses at the same step, which is lower and by how much. */
  say(first) {
    const v = this.view;
    if (first == null || this.lastVal == null) return;
    const a = nameOf(ACTIVATIONS, v.$activation.dataset.current ?? 'leaky_relu');
    const b = nameOf(ACTIVATIONS, this.settings.activation);
    const [one, two] = a === b ? ['this model', 'the second'] : [a, b];
    const diff = first - this.lastVal;
    const lead = Math.abs(diff) < TIE ? 'too close to call (under 0.0005 apart)'
      : `${diff < 0 ? one : two} is ahead by ${Math.abs(diff).toFixed(4)} (${((100 * Math.abs(diff)) / Math.max(first, this.lastVal)).toFixed(1)}%)`;
    // Another batch size ends its epochs at other steps: then each model's count is said.
    const [n, m] = [v.run.steps, this.steps];
    const when = n === m ? `After ${n.toLocaleString('en')} steps each` : `After ${n.toLocaleString('en')} steps of ${one} and ${m.toLocaleString('en')} of ${two}`;
    this.$verdict.textContent = `${when}, validation loss: ${one} ${first.toFixed(4)}, ${two} ${this.lastVal.toFixed(4)} — ${lead}.`;
    this.host.dataset.compared = String(v.run.steps);
  }

  /** The second model's reconstructions of the strip's digits. */
  async onPanels(indices, noise, seed) {
    if (!this.client) return;
    const r = await this.client.call('panels', { indices, noise, seed });
    drawStrip(this.$row, r.denoised, indices.length);
    this.$row.setAttribute('aria-label', `reconstructed by the second model: test digits ${Array.from(r.labels).join(', ')}`);
  }

  /** Stops comparing: the second model's worker ends, its curve stays as an earlier one. */
  end() {
    if (!this.client) return;
    this.client.terminate();
    this.client = null;
    const run = this.view.run;
    if (run.rival === this.curve && this.curve.val.length) run.ghosts = [this.curve, ...run.ghosts];
    run.rival = null;
    this.curve = null;
    this.$open.hidden = false;
    this.$stop.hidden = true;
    this.$row.hidden = this.$rowLabel.hidden = true;
    this.view.showGhostControls();
    this.view.plot.draw(run, true);
  }
}
