// Denoise mode: the pretrained model on the sample digits and the pad, nothing to train.
import { el } from './dom.js';

export class DenoiseView {
  constructor(host) {
    this.host = host;
    this.testImages = 100; // the sample: ten of each digit
  }

  render(root, { noise, buttons }) {
    const h = this.host;
    root.append(
      el('section', { 'aria-label': 'Denoising' },
        el('div', { 'data-group': 'digits' }, el('h3', { text: 'Original · noisy · reconstructed' }), h.strip.element),
        el('div', { class: 'row bar' }, ...buttons.map((b) => { b.dataset.group = 'digits'; return b; }), noise)),
      el('section', { 'aria-label': 'Draw a digit', style: 'margin-top:12px', 'data-group': 'pad' }, el('h3', { text: 'Draw your own' }), h.pad.element),
      h.$status,
    );
  }

  async start() {
    const h = this.host;
    h.say('Loading the sample digits and the pretrained weights…');
    // "auto" (the backend policy, Rust's `backend::resolve`): a few digits need no GPU, so this
    // mode stays on the small CPU-only module whatever the policy would pick for training.
    const placement = h.backend === 'auto' ? await h.call('placement', { backend: 'auto' }) : null;
    const got = await h.call('load-data', { urls: { test: h.sampleUrl } });
    h.emit('data', { train: 0, test: got.test });
    const info = await h.call('create', { options: { backend: h.backend === 'auto' ? 'cpu' : h.backend, noise_factor: h.noise } });
    h.info = placement && placement.backend === 'webgpu' ? { ...info, backendNote: `${info.backendNote}; a few digits need no GPU` }
      : placement ? { ...info, backendNote: placement.note } : info;
    await h.call('load-url', { url: h.weightsUrl });
    await h.refreshPanels();
    h.say(`Ready: denoising on ${info.backend === 'webgpu' ? 'WebGPU' : 'the CPU'}.`);
    h.ready();
  }

  onNoise() {}

  /** Loads weights (`get` asks the worker); the panels and the pad show them. Rejects, with the
   *  model unchanged, when they are refused. */
  async loadWeights(get, what) {
    const h = this.host;
    try {
      await get();
      await h.refreshPanels();
      await h.denoisePad();
      h.say(`Ready: denoising with ${what}.`);
    } catch (e) {
      throw h.loadFailed(e, what);
    }
  }

  stop() {}
}
