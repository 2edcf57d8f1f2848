// Train mode: the tutorial's training run in the page — controls, live stats, the loss plot,
// the digit strip and the pad redrawn as the model learns, a look at the data, weights in and
// out, and the run kept in this browser. Every number shown comes from the worker's session
// and describes the current model: after a reset, a load, a resume or a backend switch it is
// validated again at once.
import { el, fmtTime, reducedMotion } from './dom.js';
import { LossPlot, MAX_GHOSTS } from './plot.js';
import { drawStrip } from './strip.js';
import { Inside } from './inside.js';
import { Latent } from './latent.js';
import { Compare } from './compare.js';
import { failure } from './client.js';
import { DEFAULT_HISTORY, DEFAULT_WEIGHTS } from './assets.js';

// The page validates on the first 500 test images (under a second on the CPU backend here), with
// the fixed noise the native trainer gives them in its 10,000: the same computation on a subset.
const VAL_IMAGES = 500;
const VAL_NOISE = 0.5;

/** The file name (without `.safetensors`) for weights loaded as `what`: the shipped ones, a
 *  file's or a URL's name; null for bytes from a script (the page's own step name then). */
function savedName(what) {
  if (what === 'pretrained weights') return 'mnist-dae-pretrained';
  if (/ bytes of weights$/.test(what)) return null;
  const base = what.split(/[?#]/)[0].split('/').pop().replace(/\.safetensors$/i, '');
  return /^[\w.-]{1,80}$/.test(base) ? base : null;
}

/** For promises whose failure the widget has already shown and fired as `error`. */
const reported = () => {};

/** What the page shows of the run, beside what the session holds. */
function freshRun() {
  return {
    steps: 0, epoch: 0, epochs: 25, stepsPerEpoch: 0, stepInEpoch: 0, elapsed: 0, finished: false,
    imagesPerSecond: 0, loss: null, smooth: null, lastVal: null,
    xs: [], train: [], val: [], marks: [],
    lastSnapshot: 0, lastValidateStep: 0, dirty: false,
    // The run's key in this browser's saved training: made at its first snapshot.
    key: null,
    // The weights the run started from, when it started from loaded ones: its saved file's name.
    from: null,
    // The loaded model's own training (the shipped weights': www/pretrained/history.csv) as a
    // curve {label, xs, val}, and the epochs it took: this run's epochs are drawn after them.
    history: null, offset: 0,
    // Earlier runs' validation curves, newest first, until cleared.
    ghosts: [],
    // The second model's live curve while comparing (compare.js).
    rival: null,
  };
}

/** Time left, rounded as a person says it: "≈ 38 min", "≈ 1 h 5 min", "≈ 40 s". */
function fmtLeft(s) {
  if (s < 59.5) return `≈ ${Math.max(1, Math.round(s))} s`;
  const minutes = Math.round(s / 60);
  return minutes < 60 ? `≈ ${minutes} min` : `≈ ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The shipped model's training as a curve: validation loss per epoch from its history.csv
 *  (columns epoch, steps, train_loss, val_loss, …), or null when there is none. */
async function shippedHistory(weightsUrl) {
  try {
    const r = await fetch(weightsUrl === DEFAULT_WEIGHTS ? DEFAULT_HISTORY : new URL('history.csv', weightsUrl));
    if (!r.ok) return null;
    const rows = (await r.text()).trim().split('\n').slice(1).map((line) => line.split(',').map(Number));
    const xs = rows.map((c) => c[0]), val = rows.map((c) => c[3]);
    if (!xs.length || ![...xs, ...val].every(Number.isFinite)) return null;
    return { label: `shipped model's training (${xs.length} epochs, native trainer)`, xs, val };
  } catch {
    return null;
  }
}

export class TrainView {
  constructor(host) {
    this.host = host;
    this.run = freshRun();
    this.playing = false;
    this.looping = false;
    this.waiting = []; // pause() calls from scripts, until the model is settled
    this.full = false; // the session is on the full MNIST sets (else on the sample digits)
    this.fetching = null; // the download of the full sets, once started
    this.moving = null; // the session's move onto them, once started
    this.testImages = 10_000;
    this.plot = new LossPlot(host);
    this.inside = new Inside(host);
    this.latent = new Latent(host);
  }

  get alive() { return this.host.view === this; }

  // ---------------------------------------------------------------- layout
  render(root, { noise, buttons }) {
    const h = this.host;
    h.$log = el('ol', { class: 'log', 'aria-label': 'Recent events', part: 'log' });
    this.$psnr = el('p', { class: 'note', text: 'PSNR: —' });
    this.$clearGhosts = el('button', { type: 'button', part: 'button', text: 'Clear earlier curves', hidden: true });
    h.on(this.$clearGhosts, 'click', () => {
      this.run.ghosts = [];
      this.run.dirty = true;
      this.showGhostControls();
      this.plot.draw(this.run, true);
      h.log('Earlier curves cleared.');
    });
    const meaning = el('p', { class: 'note' },
      'Loss: how far each reconstructed pixel is from the clean digit\u2019s (sigmoid cross-entropy, averaged); lower is better. It cannot reach 0: MNIST\u2019s grey edge pixels are neither black nor white. ',
      'PSNR (peak signal-to-noise ratio): how close an image is to the clean digit, in decibels; higher is better, and 10 dB more means a tenth of the squared error.');
    h.$log.dataset.group = 'log';
    root.append(this.renderControls(noise), h.$status, h.$log, el('div', { class: 'grid train' },
      el('section', { 'aria-label': 'Test digits', 'data-group': 'digits' }, el('h3', { text: 'Test digits: original · noisy · reconstructed' }), h.strip.element,
        el('div', { class: 'panels' }, this.compare.$rowLabel, this.compare.$row),
        el('div', { class: 'row bar' }, ...buttons)),
      el('section', { 'aria-label': 'Loss', 'data-group': 'plot' }, el('h3', { text: 'Loss (sigmoid cross-entropy) per epoch' }), this.plot.element, this.compare.$verdict, this.$psnr, meaning,
        el('div', { class: 'row' }, this.$clearGhosts)),
      el('section', { 'aria-label': 'Draw a digit', 'data-group': 'pad' }, el('h3', { text: 'Draw your own' }), h.pad.element),
      this.inside.element,
      this.latent.element,
      this.renderSanity(),
      this.renderWeights()));
  }

  renderControls(noise) {
    const h = this.host;
    const select = (name, values, value, label) => {
      const s = el('select', { name }, ...values.map(([v, t]) => el('option', { value: v, selected: v === value, text: t })));
      return [s, el('label', { 'data-group': name === 'backend' ? 'backend' : 'settings' }, label, s)];
    };
    this.$play = el('button', { type: 'button', class: 'primary', 'aria-pressed': 'false', part: 'button', text: 'Train', disabled: true, 'data-group': 'train' });
    this.$reset = el('button', { type: 'button', part: 'button', text: 'Reset', disabled: true, 'data-group': 'train' });
    this.$epochs = el('input', { type: 'number', min: '1', max: '1000', value: String(h.epochs), name: 'epochs' });
    let batchLabel, lrLabel, actLabel, backendLabel;
    [this.$batch, batchLabel] = select('batch', [['16', '16'], ['32', '32'], ['64', '64'], ['128', '128']], '64', 'Batch');
    [this.$lr, lrLabel] = select('lr', [['0.0001', '1e-4'], ['0.0003', '3e-4'], ['0.001', '1e-3'], ['0.003', '3e-3']], '0.001', 'Learning rate');
    [this.$activation, actLabel] = select('activation', [['leaky_relu', 'leaky ReLU'], ['relu', 'ReLU']], 'leaky_relu', 'Activation');
    [this.$backend, backendLabel] = select('backend', [['auto', 'auto'], ['webgpu', 'WebGPU'], ['cpu', 'CPU']], h.backend, 'Backend');
    h.on(this.$play, 'click', () => (this.playing ? this.pause() : this.play().catch(reported)));
    h.on(this.$reset, 'click', () => this.askReset());
    const setting = (settings, text) => h.call('configure', { settings })
      .then((status) => { this.adoptStatus(status); this.mark(text); this.besides('settings', null); })
      .catch((e) => this.besides('settings', h.fail(e)));
    h.on(this.$batch, 'change', () => setting({ batch_size: Number(this.$batch.value) }, `Batch size set to ${this.$batch.value}.`));
    h.on(this.$lr, 'change', () => setting({ learning_rate: Number(this.$lr.value) }, `Learning rate set to ${this.$lr.selectedOptions[0].text}.`));
    h.on(this.$epochs, 'change', () => this.onEpochsField(setting));
    h.on(this.$activation, 'change', () => this.askReset(`Switching to ${this.$activation.selectedOptions[0].text} starts a new model.`));
    h.on(this.$backend, 'change', () => this.switchBackend());
    // Where the model runs in plain words, and what the backend policy said on demand.
    this.$backendLine = document.createTextNode('Backend: starting…');
    this.$backendNote = el('span', { text: '' });
    this.$backendDetails = el('details', { hidden: true }, el('summary', { text: 'Details' }), this.$backendNote);
    this.$backendInfo = el('div', { class: 'note backend', 'data-group': 'backend' }, this.$backendLine, ' ', this.$backendDetails);
    this.$warn = el('p', { class: 'warn', hidden: true });
    // Not control groups: shown only while they hold a failure (besides()).
    const slot = () => el('p', { class: 'field-error', hidden: true });
    this.$errors = { settings: slot(), backend: slot(), weights: slot() };
    // Beside Train: where the run stands, so that a tap on Train shows more than its label.
    this.$runLine = el('span', { class: 'run-line', 'data-group': 'train', text: '' });
    this.compare = new Compare(this);
    this.$confirm = el('div', { class: 'confirm', hidden: true, role: 'group', 'aria-label': 'Confirm' });
    h.on(this.$confirm, 'keydown', (e) => { if (e.key === 'Escape' && this.cancelConfirm) { e.preventDefault(); this.cancelConfirm(); } });
    this.$resume = el('div', { class: 'confirm', hidden: true, role: 'group', 'aria-label': 'Resume training' });
    this.$dataBar = el('progress', { max: '1', value: '0', 'aria-label': 'MNIST download' });
    this.$dataNote = el('span', { class: 'note', text: 'MNIST: waiting' });
    this.$stats = {};
    const stat = (key, label) => { const dd = el('dd', { text: '—' }); this.$stats[key] = dd; return el('div', {}, el('dt', { text: label }), dd); };
    return el('div', { part: 'controls' },
      el('div', { class: 'row' }, this.$play, this.$reset, this.compare.buttons, this.$runLine,
        el('label', { 'data-group': 'settings' }, 'Epochs', this.$epochs), batchLabel, lrLabel, noise, actLabel, backendLabel),
      this.$errors.settings, this.$errors.backend,
      this.$confirm, this.compare.$panel, this.$resume,
      el('div', { class: 'bar', 'data-group': 'data' }, this.$dataBar, this.$dataNote),
      this.$backendInfo, this.$warn,
      el('dl', { class: 'stats', 'data-group': 'stats' }, stat('epoch', 'Epoch'), stat('step', 'Step'), stat('loss', 'Train loss'),
        stat('val', 'Val. loss'), stat('rate', 'Images/s'), stat('elapsed', 'Elapsed'), stat('left', 'Time left')));
  }

  renderSanity() {
    const h = this.host;
    this.$trainDigit = el('canvas', { class: 'digit', role: 'img', 'aria-label': 'A random training image', width: '28', height: '28' });
    this.$testDigit = el('canvas', { class: 'digit', role: 'img', 'aria-label': 'A random test image', width: '28', height: '28' });
    this.$trainLabel = el('figcaption', { text: 'training image' });
    this.$testLabel = el('figcaption', { text: 'test image' });
    const again = el('button', { type: 'button', part: 'button', text: 'Another pair' });
    h.on(again, 'click', () => this.refreshSanity().catch((e) => h.fail(e)));
    return el('section', { 'aria-label': 'Sanity check', 'data-group': 'data' }, el('h3', { text: 'Sanity check: the data' }),
      el('div', { class: 'sanity' }, el('figure', {}, this.$trainDigit, this.$trainLabel), el('figure', {}, this.$testDigit, this.$testLabel), again));
  }

  renderWeights() {
    const h = this.host;
    this.$pretrained = el('button', { type: 'button', part: 'button', text: 'Load pretrained', disabled: true });
    const save = el('button', { type: 'button', part: 'button', text: 'Save weights' });
    this.$file = el('input', { type: 'file', accept: '.safetensors,application/octet-stream', 'aria-label': 'Load weights file' });
    h.on(this.$pretrained, 'click', () => this.loadWeights(() => h.call('load-url', { url: h.weightsUrl }), 'pretrained weights').catch(reported));
    h.on(save, 'click', () => this.saveWeights());
    h.on(this.$file, 'change', () => {
      const file = this.$file.files?.[0];
      if (file) this.loadWeights(async () => h.call('load', { bytes: new Uint8Array(await file.arrayBuffer()) }), file.name).catch(reported);
      this.$file.value = '';
    });
    return el('section', { 'aria-label': 'Weights', 'data-group': 'weights' }, el('h3', { text: 'Weights' }),
      el('div', { class: 'row' }, this.$pretrained, save, el('label', { class: 'file' }, 'Load weights file', this.$file)),
      this.$errors.weights,
      el('p', { class: 'note', text: 'Training is kept in this browser every few seconds; a reload offers to resume.' }));
  }

  // ---------------------------------------------------------------- start-up
  /** The epochs field's whole number from 1 to 1000, else null. */
  fieldEpochs() {
    const text = this.$epochs.value.trim();
    const n = Number(text);
    return text !== '' && Number.isInteger(n) && n >= 1 && n <= 1000 ? n : null;
  }

  /** The run's epochs: the session's once it has answered, else the last asked for (field or attribute). */
  runEpochs() { return this.run.stepsPerEpoch ? this.run.epochs : this.pendingEpochs ?? this.host.epochs; }

  /** The epochs of a new session: the field's, else the run's. */
  epochs() { return this.fieldEpochs() ?? this.runEpochs(); }

  /** An entry in the epochs field: a whole number from 1 to 1000 becomes the run's length; anything
   *  else is refused beside the settings and the field goes back to what the run has. */
  onEpochsField(setting) {
    const n = this.fieldEpochs();
    if (n !== null) {
      if (this.run.stepsPerEpoch) setting({ epochs: n }, `Epochs set to ${n}.`);
      else { this.pendingEpochs = n; this.besides('settings', null); } // between runs: see adoptStatus
      return;
    }
    // A number field's value is a number or empty (what no browser could read as one).
    const got = this.$epochs.value.trim() || 'nothing';
    const current = this.runEpochs();
    this.$epochs.value = String(current);
    this.besides('settings', this.host.fail(failure('invalid_input', `Epochs: expected a whole number from 1 to 1000, got ${got}; still ${current}`)));
  }

  /** The `epochs` attribute changed: the run's length follows, as from the field. */
  onEpochs(n) {
    this.$epochs.value = String(n);
    if (!this.run.stepsPerEpoch) { this.pendingEpochs = n; return; } // between runs: see adoptStatus
    this.configureEpochs(n);
  }

  /** The session runs `n` epochs from now on, marked on the plot and in the recent events. */
  configureEpochs(n) {
    this.host.call('configure', { settings: { epochs: n } })
      .then((status) => { this.adoptStatus(status); this.mark(`Epochs set to ${n}.`); })
      .catch((e) => this.besides('settings', this.host.fail(e)));
  }

  /** The session's options from the controls. */
  sessionOptions(backend) {
    return { backend, noise_factor: this.host.noiseValue, val_images: Math.min(VAL_IMAGES, this.testImages), activation: this.$activation.value,
      learning_rate: Number(this.$lr.value), batch_size: Number(this.$batch.value), epochs: this.epochs() };
  }

  async start() {
    const h = this.host;
    h.say('Loading the model…');
    // "auto" is the backend policy's (Rust's `backend::resolve`): WebGPU on a hardware adapter,
    // the CPU otherwise. On top of it this loading strategy: start on the small CPU-only module,
    // then move to WebGPU (fetching the full module after `ready`) when the policy says so.
    const placement = h.backend === 'auto' ? await h.call('placement', { backend: 'auto' }) : null;
    const upgrade = placement?.backend === 'webgpu';
    this.checkPretrained();
    if (h.load === 'eager') {
      await this.fetchFull();
      this.full = true;
    } else {
      // The sample digits stand in until Train (or, with load="visible", until the element is
      // seen): a reader who never trains never downloads the training set.
      const got = await h.call('load-data', { urls: { test: h.sampleUrl } });
      this.testImages = got.test;
      this.$dataBar.hidden = true;
      this.$dataNote.textContent = `MNIST: ${got.test} sample digits for now; the training set (≈ 10 MB) downloads when training starts`;
      h.emit('data', { train: 0, test: got.test });
    }
    const info = await h.call('create', { options: this.sessionOptions(h.backend === 'auto' ? 'cpu' : h.backend) });
    this.showBackend(placement && !upgrade ? { ...info, backendNote: placement.note } : info);
    this.adoptStatus(info.status);
    await this.validate();
    await h.refreshPanels();
    await this.refreshSanity();
    this.$play.disabled = false;
    this.$reset.disabled = false;
    this.compare.$open.disabled = false;
    const runs = (await h.call('runs', { base: h.storeKey })).filter((r) => r.steps > 0);
    if (runs.length) this.offerResume(runs);
    h.say('Ready: press Train.');
    h.ready();
    // Kept when the tab is hidden or left, not only every few seconds.
    const keep = () => { if (this.run.dirty && document.visibilityState === 'hidden') this.snapshot(); };
    h.on(document, 'visibilitychange', keep);
    h.on(window, 'pagehide', () => { if (this.run.dirty) this.snapshot(); });
    if (upgrade) await this.upgradeToGpu();
    if (h.load === 'visible' && !this.full) this.whenVisible(() => this.ensureData().catch(reported));
    if (h.hasAttribute('autoplay') && !runs.length) this.play().catch(reported);
  }

  /** Calls `fn` once, when the element first scrolls into view. */
  whenVisible(fn) {
    const seen = new IntersectionObserver((entries) => {
      if (!entries.some((e) => e.isIntersecting)) return;
      seen.disconnect();
      fn();
    });
    seen.observe(this.host);
    this.host.cleanups.push(() => seen.disconnect());
  }

  /** The full MNIST sets' addresses. */
  dataUrls() {
    const h = this.host;
    return { train: new URL('mnist-train.bin.gz', h.dataUrl).href, test: new URL('mnist-test.bin.gz', h.dataUrl).href };
  }

  /** Downloads the full MNIST sets into the worker, once, showing its progress. */
  fetchFull() {
    const h = this.host;
    this.fetching ??= (async () => {
      const urls = this.dataUrls();
      h.say('Downloading MNIST…');
      this.$dataBar.hidden = false;
      const got = await h.call('load-data', { urls }, ({ name, loaded, total }) => {
        this.$dataBar.max = total || 1;
        this.$dataBar.value = loaded;
        this.$dataNote.textContent = `MNIST ${name}: ${(loaded / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MB`;
      });
      this.testImages = got.test;
      this.$dataBar.hidden = true;
      this.$dataNote.textContent = `MNIST: ${got.train.toLocaleString('en')} training and ${got.test.toLocaleString('en')} test images`;
      h.emit('data', { train: got.train, test: got.test });
    })().catch((e) => {
      this.fetching = null;
      this.$dataBar.hidden = true;
      this.$dataNote.textContent = 'MNIST: the download failed (press Train to try again)';
      throw e;
    });
    return this.fetching;
  }

  /** The session on the full sets: downloads them, then moves the model there (its weights, so
   *  a model loaded before training keeps them; nothing was trained on the sample), validated
   *  on the test images. The Train button says what is happening meanwhile. */
  ensureData() {
    if (this.full) return Promise.resolve();
    const h = this.host;
    this.moving ??= (async () => {
      this.$play.disabled = true;
      this.$play.textContent = 'Downloading…';
      try {
        await this.fetchFull();
        if (this.full || !this.alive) return;
        h.say('Moving the model onto the training set…');
        const weights = await h.call('save');
        const info = await h.call('create', { options: this.sessionOptions(h.info?.backend ?? 'cpu') });
        this.showBackend({ ...info, backendNote: h.info?.backendNote ?? info.backendNote });
        this.adoptStatus(await h.call('load', { bytes: weights }));
        this.full = true;
        // The same model on the full sets: a new curve, but the weights it started from stay named.
        const { from, history, offset } = this.run;
        this.clearRun();
        Object.assign(this.run, { from, history, offset });
        this.adoptStatus(await h.call('status'));
        await this.validate();
        await h.refreshPanels();
        await this.refreshSanity();
      } finally {
        this.moving = null;
        if (this.alive) {
          this.$play.disabled = false;
          this.$play.textContent = this.playing ? 'Pause' : 'Train';
        }
      }
    })();
    return this.moving;
  }

  /** Moves the session to WebGPU (the policy chose it for "auto"), weights and place included. */
  async upgradeToGpu() {
    const h = this.host;
    try {
      h.say('Ready on the CPU; moving to WebGPU (downloading its module)…');
      const info = await h.call('backend', { backend: 'webgpu' });
      this.showBackend(info);
      this.run.imagesPerSecond = 0;
      this.adoptStatus(info.status);
      h.say('Ready on WebGPU: press Train.');
      h.log('Moved to WebGPU; the weights came along.');
      h.emit('backend', { backend: info.backend, note: info.backendNote, fallback: null });
    } catch (e) {
      // The CPU session is intact (the worker only swaps after the new one has the weights).
      h.say(`Staying on the CPU: WebGPU failed (${e.message ?? e}).`);
    }
  }

  showBackend(info) {
    this.host.info = info;
    const plain = info.backend !== 'webgpu' ? 'CPU — this computer\u2019s processor, in WebAssembly'
      // A software adapter is named once, by the warning below.
      : info.softwareAdapter ? 'WebGPU' : 'WebGPU — the graphics card';
    this.$backendLine.textContent = `Running on: ${plain}.`;
    const kernels = info.cpuKernels ? `CPU kernels: ${info.cpuKernels}.` : '';
    this.$backendNote.textContent = [info.backendNote, kernels].filter(Boolean).join(' ');
    this.$backendDetails.hidden = !info.backendNote && !kernels;
    this.$backend.value = this.$backend.value === 'auto' ? 'auto' : info.backend;
    this.$warn.hidden = !info.softwareAdapter;
    this.$warn.textContent = info.softwareAdapter
      ? 'This WebGPU adapter is a software renderer (no GPU reached the browser): training will be far slower than on the CPU backend.'
      : '';
  }

  async checkPretrained() {
    const unavailable = () => { this.$pretrained.disabled = true; this.$pretrained.textContent = 'Pretrained weights not available'; };
    try {
      const r = await fetch(this.host.weightsUrl, { method: 'HEAD' });
      if (!this.alive) return;
      this.$pretrained.disabled = !r.ok;
      if (!r.ok) unavailable();
    } catch {
      if (this.alive) unavailable();
    }
  }

  // ---------------------------------------------------------------- training loop
  /** Train: starts the loop, first bringing the full training set when it is not here yet.
   *  Rejects (after showing it) when that fails. */
  async play() {
    if (this.playing) return;
    if (!this.full) {
      try {
        await this.ensureData();
      } catch (e) {
        this.host.fail(e);
        throw e;
      }
      if (this.playing || !this.alive) return;
    }
    this.playing = true;
    this.quiet = false;
    // The offer goes; the saved runs stay, and a reload offers them again.
    this.$resume.hidden = true;
    this.$play.textContent = 'Pause';
    this.$play.setAttribute('aria-pressed', 'true');
    this.host.say('Training…');
    this.startLoop();
  }

  /** Runs the training loop unless one is already running (a pause followed quickly by a play
   *  must not leave two loops sending steps). */
  startLoop() {
    if (this.looping) return;
    this.looping = true;
    this.loop()
      .catch((e) => {
        this.stopLoop();
        this.host.fail(e);
        for (const w of this.waiting.splice(0)) w.reject(e);
      })
      .finally(() => {
        this.looping = false;
        if (!this.alive) return;
        // Play was pressed again while the loop was on its way out.
        if (this.playing) this.startLoop();
        else if (!this.quiet) this.settle().catch((e) => this.host.fail(e));
        else if (this.run.dirty) this.snapshot();
      });
  }

  /** Stops training at the end of the current step, without a word (reset, load, switch). */
  stopLoop() {
    this.playing = false;
    this.quiet = true;
    this.$play.textContent = 'Train';
    this.$play.setAttribute('aria-pressed', 'false');
  }

  /** `pause()` for scripts: resolves once the model is validated and saved (at once when it is
   *  not training). */
  pauseAndSettle() {
    const done = new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.pause();
    return done;
  }

  /** Pause (or the last epoch done): the step on its way finishes, then the model is validated
   *  and saved, and the status says where it stands. */
  pause(reason = 'Paused') {
    this.stopLoop();
    this.quiet = false;
    this.reason = reason;
    if (this.looping) this.host.say(`${reason}: finishing the current step…`);
    else this.settle().catch((e) => this.host.fail(e));
  }

  async settle() {
    const waiting = this.waiting.splice(0);
    try {
      const run = this.run;
      const saved = run.dirty ? await this.snapshot() : run.key !== null;
      const v = await this.validate();
      if (this.alive && !this.playing) {
        const where = saved ? 'saved in this browser' : 'not saved in this browser (see Recent events)';
        this.host.say(`${this.reason ?? 'Paused'} at step ${run.steps.toLocaleString('en')}: validation loss ${v.loss.toFixed(4)}; ${where}.`);
      }
      for (const w of waiting) w.resolve();
    } catch (e) {
      for (const w of waiting) w.reject(e);
      throw e;
    }
  }

  /** Takes the session's own account of where it stands: steps, epochs, settings. */
  adoptStatus(status) {
    if (!status) return;
    Object.assign(this.run, { steps: status.steps, epoch: status.epoch, stepsPerEpoch: status.steps_per_epoch,
      stepInEpoch: status.steps_in_epoch, epochs: status.epochs, elapsed: status.total_seconds, finished: status.finished,
      batch: status.batch_size });
    // Touch the controls only when the session's settings differ: this runs after every step.
    const set = (control, value) => { if (control.value !== value) control.value = value; };
    set(this.$activation, status.activation);
    this.$activation.dataset.current = status.activation;
    set(this.$batch, String(status.batch_size));
    if (document.activeElement !== this.host || this.host.shadowRoot.activeElement !== this.$epochs) set(this.$epochs, String(status.epochs));
    this.showProgress();
    // Epochs asked for while no run was there to take them (before the first status, or while a
    // new run was being set up): the session now answering is made to follow.
    const pending = this.pendingEpochs;
    this.pendingEpochs = undefined;
    if (pending !== undefined && pending !== status.epochs) this.configureEpochs(pending);
  }

  async loop() {
    const h = this.host;
    const run = this.run;
    while (this.alive && this.playing && this.run === run) {
      if (run.finished) { this.pause(`Finished ${run.epochs} epochs`); break; }
      // Comparing: the second model takes its step at the same time, in its own worker.
      const [r] = await Promise.all([h.call('train', { steps: 1 }), this.compare.step()]);
      if (!this.alive || this.run !== run) return;
      run.dirty = true;
      for (const step of r.reports) {
        run.loss = step.loss;
        // Exponential moving average over ≈ 20 steps: single batches are noisy.
        run.smooth = run.smooth == null ? step.loss : 0.95 * run.smooth + 0.05 * step.loss;
        run.imagesPerSecond = step.images_per_second;
        run.xs.push(run.offset + step.epoch + step.steps_in_epoch / step.steps_per_epoch);
        run.train.push(run.smooth);
        run.val.push(null);
      }
      this.adoptStatus(r.status);
      for (const record of r.epochs) {
        h.log(`Epoch ${record.epoch}: validation loss ${record.val_loss.toFixed(4)}, PSNR ${record.psnr_denoised.toFixed(2)} dB.`);
        this.showValidation({ count: r.status.val_images, loss: record.val_loss, psnr_noisy: record.psnr_noisy, psnr_denoised: record.psnr_denoised });
        h.emit('epoch', { epoch: record.epoch, step: run.steps, trainLoss: record.train_loss, valLoss: record.val_loss, psnrNoisy: record.psnr_noisy, psnr: record.psnr_denoised });
      }
      this.compare.afterStep(r.epochs.at(-1)?.val_loss);
      h.emit('step', { step: run.steps, loss: run.loss });
      const now = performance.now();
      if (!r.epochs.length && run.steps - run.lastValidateStep >= 100) await this.validate();
      if (now - h.lastPanels > (reducedMotion() ? 10_000 : 2_000)) await h.refreshPanels();
      // The first snapshot right after the first step, then every 10 s.
      if (run.key === null || now - run.lastSnapshot > 10_000) await this.snapshot();
    }
  }

  showProgress() {
    const run = this.run;
    this.$stats.epoch.textContent = `${Math.min(run.epoch + 1, run.epochs)} / ${run.epochs}`;
    this.$stats.step.textContent = run.stepsPerEpoch
      ? `${run.steps.toLocaleString('en')} (${run.stepInEpoch}/${run.stepsPerEpoch})` : run.steps.toLocaleString('en');
    this.$stats.loss.textContent = run.smooth == null ? '—' : run.smooth.toFixed(4);
    this.$stats.rate.textContent = run.imagesPerSecond ? run.imagesPerSecond.toFixed(0) : '—';
    this.$stats.elapsed.textContent = fmtTime(run.elapsed);
    // The images still to train on at the current speed (validation time not counted).
    const stepsLeft = Math.max(0, (run.epochs - run.epoch) * run.stepsPerEpoch - run.stepInEpoch);
    this.$stats.left.textContent = run.finished ? 'done' : run.imagesPerSecond && run.batch
      ? fmtLeft((stepsLeft * run.batch) / run.imagesPerSecond) : '—';
    const share = run.stepsPerEpoch ? Math.floor((100 * run.stepInEpoch) / run.stepsPerEpoch) : 0;
    this.$runLine.textContent = run.finished ? `Step ${run.steps.toLocaleString('en')} · all ${run.epochs} epochs done`
      : `Step ${run.steps.toLocaleString('en')} · epoch ${run.epoch + 1} of ${run.epochs}, ${share}%`;
    this.plot.draw(run);
  }

  /** Validates the current model now (the session's validation images, fixed noise). */
  async validate() {
    const run = this.run;
    const v = await this.host.call('validate', {});
    if (this.alive && this.run === run) this.showValidation(v);
    if (this.alive && this.run === run) await this.compare.validate(v.loss);
    return v;
  }

  showValidation(v) {
    const run = this.run;
    run.lastValidateStep = run.steps;
    run.lastVal = v.loss;
    if (run.xs.length) run.val[run.val.length - 1] = v.loss;
    else { run.xs.push(run.offset + run.epoch + run.stepInEpoch / (run.stepsPerEpoch || 1)); run.train.push(null); run.val.push(v.loss); }
    this.$stats.val.textContent = v.loss.toFixed(4);
    this.$psnr.textContent = `Validation on the first ${v.count.toLocaleString('en')} ${this.full ? 'test images' : 'sample digits'} (fixed noise ${VAL_NOISE}): PSNR noisy ${v.psnr_noisy.toFixed(2)} dB → reconstructed ${v.psnr_denoised.toFixed(2)} dB`;
    this.plot.draw(run, true);
    this.host.emit('validated', { step: run.steps, count: v.count, loss: v.loss, psnrNoisy: v.psnr_noisy, psnr: v.psnr_denoised });
  }

  /** Marks a settings change on the plot (the curves before and after differ for a reason). */
  mark(text) {
    const run = this.run;
    run.marks.push({ x: run.xs.length ? run.xs[run.xs.length - 1] : run.offset, text });
    this.host.log(text);
    this.plot.draw(run, true);
  }

  /** The noise slider in train mode: the training noise from the next step on. The validation
   *  noise stays fixed, so the plot gets a mark instead of a jump. */
  async onNoise(v) {
    if (!this.run.stepsPerEpoch) return;
    const status = await this.host.call('configure', { settings: { noise_factor: v } });
    this.adoptStatus(status);
    this.mark(`Training noise set to ${v.toFixed(2)}.`);
  }

  /** The worker's own news: the session's GPU failed, and it went on on the CPU from its host
   *  copy. The plot forgets the steps the copy does not hold. */
  onWorkerEvent({ event, fallback, info }) {
    if (event !== 'fallback') return;
    const h = this.host;
    const run = this.run;
    const lost = Math.min(fallback.steps_lost, run.xs.length);
    if (lost) for (const series of [run.xs, run.train, run.val]) series.splice(series.length - lost, lost);
    this.showBackend(info);
    this.$backend.value = this.$backend.value === 'auto' ? 'auto' : 'cpu';
    const steps = fallback.steps_lost === 1 ? '1 step' : `${fallback.steps_lost} steps`;
    this.mark(`WebGPU failed at step ${fallback.failed_at} (${fallback.reason}). Continued on the CPU from step ${fallback.resumed_at}: ${steps} lost.`);
    run.dirty = true;
    h.emit('backend', { backend: info.backend, note: info.backendNote, fallback });
  }

  // ---------------------------------------------------------------- kept in this browser
  /** Keeps the run in this browser under its own key (this tab's, until it moves on).
   *  Resolves to whether it was kept; a failure (quota, IndexedDB, another tab) is reported in
   *  the events list and as an `error` event, and training goes on. */
  async snapshot() {
    const h = this.host;
    const run = this.run;
    // On the sample nothing has been trained: the run begins on the training set.
    if (!this.full) return false;
    run.lastSnapshot = performance.now();
    run.key ??= `${h.storeKey}/${crypto.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`}`;
    try {
      // A comparison is kept with the run: the second model's weights and state in its meta.
      const second = await this.compare.saved();
      const meta = { xs: run.xs, train: run.train, val: run.val, smooth: run.smooth, marks: run.marks,
        from: run.from, history: run.history, offset: run.offset, ghosts: run.ghosts, second };
      await h.call('snapshot', { key: run.key, meta });
      run.dirty = false;
      return true;
    } catch (e) {
      const message = `Not saved in this browser: ${e.message ?? e}`;
      h.log(message);
      h.emit('error', { message, code: e.code ?? 'storage' });
      return false;
    }
  }

  /** Offers the saved runs (newest first): one chosen in the list is resumed or discarded. */
  offerResume(runs) {
    const h = this.host;
    const label = (r) => {
      const s = r.settings;
      const act = s.activation === 'relu' ? 'ReLU' : 'leaky ReLU';
      return `step ${r.steps.toLocaleString('en')}, epoch ${r.epoch + 1} · ${new Date(r.savedAt).toLocaleString()} · ${act}, batch ${s.batch_size}, rate ${s.learning_rate.toExponential()}, noise ${s.noise_factor}${r.elsewhere ? ' · open in another tab' : ''}`;
    };
    const choice = el('select', { name: 'saved-run' }, ...runs.map((r) => el('option', { value: r.key, text: label(r), disabled: r.elsewhere })));
    const first = runs.find((r) => !r.elsewhere);
    if (first) choice.value = first.key;
    const yes = el('button', { type: 'button', class: 'primary', part: 'button', text: 'Resume', disabled: !first });
    const no = el('button', { type: 'button', part: 'button', text: 'Discard', disabled: !first });
    const count = runs.length === 1 ? 'Saved training found:' : `${runs.length} saved runs found (newest first):`;
    this.$resume.replaceChildren(el('label', {}, count, ' ', choice), ' ', yes, ' ', no);
    this.$resume.hidden = false;
    h.on(yes, 'click', () => this.resume(choice.value).catch((e) => h.fail(e)));
    h.on(no, 'click', async () => {
      const key = choice.value;
      try {
        await h.call('forget', { key });
      } catch (e) {
        h.fail(e);
        return;
      }
      const rest = runs.filter((r) => r.key !== key);
      h.log('Saved training discarded.');
      if (rest.some((r) => !r.elsewhere)) this.offerResume(rest);
      else this.$resume.hidden = true;
    });
    (first ? yes : choice).focus();
  }

  async resume(key) {
    const h = this.host;
    this.compare.end();
    await this.fetchFull();
    const r = await h.call('restore', { key });
    this.full = true;
    this.$resume.hidden = true;
    this.run = { ...freshRun(), smooth: r.meta.smooth, xs: r.meta.xs ?? [], train: r.meta.train ?? [], val: r.meta.val ?? [],
      marks: r.meta.marks ?? [], key, from: r.meta.from ?? null, history: r.meta.history ?? null, offset: r.meta.offset ?? 0,
      ghosts: r.meta.ghosts ?? [] };
    this.showGhostControls();
    this.adoptStatus(r.status);
    // The comparison comes back with its run; if the second model cannot, the first goes on alone.
    const second = r.meta.second && await this.compare.restore(r.meta.second).then(() => true, (e) => {
      h.log(`The comparison could not be resumed (${e.message ?? e}); this model goes on alone.`);
      return false;
    });
    const v = await this.validate();
    await h.refreshPanels();
    await h.denoisePad();
    h.log(`Resumed at step ${this.run.steps}: validation loss ${v.loss.toFixed(4)}${second ? '; the comparison goes on' : ''}.`);
    h.say('Ready: press Train.');
  }

  // ---------------------------------------------------------------- a new model
  /** Resets after a confirmation when the run has trained; resolves to whether it did.
   *  `asker`: the control that asked (focus goes back to it on Cancel). */
  askReset(reason = '', { asker: by = null } = {}) {
    const h = this.host;
    if (this.run.steps === 0) return this.reset().then(() => true);
    let answer;
    const answered = new Promise((resolve) => { answer = resolve; });
    const yes = el('button', { type: 'button', class: 'primary', part: 'button', text: 'Discard and reset' });
    const no = el('button', { type: 'button', part: 'button', text: 'Cancel' });
    this.$confirm.replaceChildren(el('span', { text: `${reason} This discards ${this.run.steps} steps of training (save the weights first to keep them). ` }), yes, ' ', no);
    this.$confirm.hidden = false;
    const asker = by ?? (reason ? this.$activation : this.$reset);
    const close = () => { this.$confirm.hidden = true; this.cancelConfirm = null; };
    this.cancelConfirm = () => {
      close();
      this.$activation.value = this.$activation.dataset.current ?? 'leaky_relu';
      asker.focus();
      answer(false);
    };
    h.on(yes, 'click', () => { close(); this.reset().then(() => answer(true)); }, { once: true });
    h.on(no, 'click', () => this.cancelConfirm?.(), { once: true });
    // Focus starts on the choice that loses nothing; Esc is Cancel (WAI-ARIA APG, dialog pattern).
    no.focus();
    return answered;
  }

  /** Starts the page's account afresh: curve, marks, averages describe the new model only. */
  clearRun() {
    const old = this.run;
    this.run = { ...freshRun(), ghosts: [this.curveOf(old), ...old.ghosts].filter(Boolean).slice(0, MAX_GHOSTS - 1) };
    this.plot.clear();
    this.showGhostControls();
  }

  /** A run's validation curve, labelled by its settings, to keep on the plot once it is gone;
   *  null for a run that trained nothing. */
  curveOf(run) {
    if (!run.steps) return null;
    const xs = [], val = [];
    run.val.forEach((v, i) => { if (v != null) { xs.push(run.xs[i]); val.push(v); } });
    if (!val.length) return null;
    const act = this.$activation.dataset.current === 'relu' ? 'ReLU' : 'leaky ReLU';
    const lr = [...this.$lr.options].find((o) => Number(o.value) === Number(this.$lr.value))?.text ?? this.$lr.value;
    return { label: `${act}, noise ${this.host.noiseValue.toFixed(2)}, rate ${lr}, batch ${this.$batch.value}, ${run.steps.toLocaleString('en')} steps`, xs, val };
  }

  /** A failure shown beside the controls that caused it (`where`: "settings", "backend",
   *  "weights"), as well as in the status line; null clears it. */
  besides(where, message) {
    const slot = this.$errors[where];
    slot.textContent = message ?? '';
    slot.hidden = !message;
  }

  /** "Clear earlier curves" shows while there are some. */
  showGhostControls() {
    this.$clearGhosts.hidden = !this.run.ghosts.length;
  }

  async reset() {
    const h = this.host;
    const wasPlaying = this.playing;
    this.stopLoop();
    this.compare.end();
    try {
      const info = await h.call('create', { options: this.sessionOptions(this.$backend.value) });
      this.$resume.hidden = true;
      this.showBackend(info);
      // "Discard and reset": this run's saved copy goes too (never another tab's).
      if (this.run.key) await h.call('forget', { key: this.run.key });
      this.clearRun();
      this.adoptStatus(info.status);
      const v = await this.validate();
      await h.refreshPanels();
      await h.denoisePad();
      h.log(`Reset: a new model (validation loss ${v.loss.toFixed(4)}).`);
      if (wasPlaying) this.play().catch(reported); else h.say('Ready: press Train.');
    } catch (e) {
      h.fail(e);
    }
  }

  async switchBackend() {
    const h = this.host;
    const wasPlaying = this.playing;
    this.stopLoop();
    h.say('Switching backend…');
    try {
      const info = await h.call('backend', { backend: this.$backend.value });
      this.showBackend(info);
      // The new session measures its own speed: the old backend's rate is not this one's.
      this.run.imagesPerSecond = 0;
      this.adoptStatus(info.status);
      await this.validate();
      await h.refreshPanels();
      h.log(`Now on ${info.backend === 'webgpu' ? 'WebGPU' : 'the CPU'}; the weights came along.`);
      h.emit('backend', { backend: info.backend, note: info.backendNote, fallback: null });
      if (wasPlaying) this.play().catch(reported); else h.say('Ready: press Train.');
    } catch (e) {
      this.$backend.value = h.info?.backend ?? 'auto';
      this.besides('backend', h.fail(e));
      return;
    }
    this.besides('backend', null);
  }

  /** Loads weights (`get` asks the worker): a new run at step 0, validated at once. Rejects,
   *  with the model unchanged, when they are refused; training goes on as it was. */
  async loadWeights(get, what) {
    const h = this.host;
    const wasPlaying = this.playing;
    this.stopLoop();
    let error = null;
    try {
      const status = await get();
      // A comparison was with the model that is now gone: it ends (its curve stays).
      this.compare.end();
      // A loaded model starts a new run at step 0: the old curve described another model.
      this.clearRun();
      this.run.from = savedName(what);
      if (what === 'pretrained weights') {
        this.run.history = await shippedHistory(h.weightsUrl);
        this.run.offset = this.run.history?.xs.at(-1) ?? 0;
      }
      this.adoptStatus(status);
      this.run.dirty = true;
      const v = await this.validate();
      await h.refreshPanels();
      await h.denoisePad();
      h.log(`Loaded ${what}: validation loss ${v.loss.toFixed(4)}.`);
      if (!wasPlaying) h.say('Ready: press Train.');
      this.besides('weights', null);
    } catch (e) {
      error = h.loadFailed(e, what);
      this.besides('weights', error.message);
    }
    if (wasPlaying) this.play().catch(reported);
    if (error) throw error;
  }

  async saveWeights() {
    const h = this.host;
    try {
      const bytes = await h.call('save');
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      // Named for what the weights are: a loaded file (the shipped one: "mnist-dae-pretrained")
      // plus the steps trained on it since, or a run of this page's own.
      const { from, steps } = this.run;
      const name = from ? (steps ? `${from}-plus-${steps}-steps` : from) : `mnist-dae-step${steps}`;
      const a = el('a', { href: url, download: `${name}.safetensors` });
      h.shadowRoot.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      h.log(`Saved ${bytes.length.toLocaleString('en')} bytes of weights.`);
      this.besides('weights', null);
    } catch (e) {
      this.besides('weights', h.fail(e));
    }
  }

  async refreshSanity() {
    const h = this.host;
    const [a, b] = [await h.call('sample', { set: 'train' }), await h.call('sample', { set: 'test' })];
    if (!this.alive) return;
    drawStrip(this.$trainDigit, a.image, 1);
    drawStrip(this.$testDigit, b.image, 1);
    this.$trainLabel.textContent = `${this.full ? 'training' : 'sample'} #${a.index}: label ${a.label}`;
    this.$testLabel.textContent = `test #${b.index}: label ${b.label}`;
    this.$trainDigit.setAttribute('aria-label', `${this.full ? 'Training image' : 'Sample digit'} ${a.index}, labelled ${a.label}`);
    this.$testDigit.setAttribute('aria-label', `Test image ${b.index}, labelled ${b.label}`);
  }

  stop() {
    this.playing = false;
    this.compare.end();
    this.plot.destroy();
  }
}
