// mnist-dae/client: the package's `Denoiser`, run in a module worker of its own, for pages that
// want training and denoising off their main thread. The same methods and promises as
// `mnist-dae`'s Denoiser (no `init()` to call: the worker loads the wasm); `backend`,
// `backend_note` and `fallback` say where the model ran at its last reply. Arguments are copied
// to the worker, never taken from the caller; results come back without a copy. `free()` ends
// the worker, and every later call rejects with code "freed".
import { crossOriginWorker } from './lib/cross-origin-worker.js';
import { daeError } from './lib/guard.js';

// The worker's path, from this file (see startWorker for the literal bundlers look for).
const WORKER = './client-worker.js';

function startWorker() {
  const url = new URL(WORKER, import.meta.url);
  if (url.origin === location.origin) {
    return { worker: new Worker(new URL('./client-worker.js', import.meta.url), { type: 'module', name: 'mnist-dae-client' }), blob: null, url };
  }
  return { ...crossOriginWorker(url, { type: 'module', name: 'mnist-dae-client' }), url };
}

export class Denoiser {
  #worker; #blob; #pending = new Map(); #next = 1; #info = null; #failed = null;

  constructor(token) {
    if (token !== Denoiser.#token) throw daeError('invalid_input', 'Denoiser: expected Denoiser.create(), got new Denoiser()');
    const { worker, blob, url } = startWorker();
    [this.#worker, this.#blob] = [worker, blob];
    worker.addEventListener('message', ({ data }) => {
      const p = this.#pending.get(data.id);
      if (!p) return;
      this.#pending.delete(data.id);
      if (data.info) this.#info = data.info;
      if (data.ok) p.resolve(data.result); else p.reject(daeError(data.code, data.error));
    });
    worker.addEventListener('error', (e) => {
      this.#fail(daeError('backend', `mnist-dae/client: expected ${url.href} and its modules to load and run, got ${e.message || 'a failed load (missing file, or no CORS headers from another origin)'}`));
    });
  }

  static #token = Symbol('create');

  /** A model in its own worker, placed by the backend policy (`options` as `Denoiser.create`). */
  static async create(options) {
    const d = new Denoiser(Denoiser.#token);
    try {
      await d.#call('create', { options });
    } catch (e) {
      d.free();
      throw e;
    }
    return d;
  }

  get backend() { return this.#info?.backend ?? null; }
  get backend_note() { return this.#info?.backend_note ?? null; }
  get fallback() { return this.#info?.fallback ?? null; }
  get software_adapter() { return this.#info?.software_adapter ?? false; }

  train_step(noisy, clean) { return this.#call('train_step', { noisy, clean }); }
  evaluate(noisy, clean) { return this.#call('evaluate', { noisy, clean }); }
  denoise(noisy) { return this.#call('denoise', { noisy }); }
  trace(images) { return this.#call('trace', { images }); }
  parameters() { return this.#call('parameters'); }
  encode(images) { return this.#call('encode', { images }); }
  decode(codes) { return this.#call('decode', { codes }); }
  interpolate(from, to, steps) { return this.#call('interpolate', { from, to, steps }); }
  latent_map(images) { return this.#call('latent_map', { images }); }
  load_weights(file) { return this.#call('load_weights', { file }); }
  save_weights() { return this.#call('save_weights'); }
  set_learning_rate(learningRate) { return this.#call('set_learning_rate', { learning_rate: learningRate }); }
  activation() { return this.#call('activation'); }
  steps() { return this.#call('steps'); }

  /** Ends the worker and the model in it; every later call rejects with code "freed". */
  free() {
    if (!this.#worker) return;
    this.#worker.terminate();
    if (this.#blob) URL.revokeObjectURL(this.#blob);
    this.#worker = null;
    this.#fail(daeError('freed', 'Denoiser: expected a live Denoiser, got one that was freed (free() was called)'));
  }

  [Symbol.dispose]() { this.free(); }

  #fail(error) {
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
    this.#failed = error;
  }

  #call(type, args = {}) {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        this.#worker.postMessage({ id, type, ...args });
      } catch (e) {
        // Something that cannot be copied to a worker (a function, a DOM node).
        this.#pending.delete(id);
        reject(daeError('invalid_input', `Denoiser.${type}: expected typed arrays and plain values, got one the browser cannot copy to a worker (${e.message})`));
      }
    });
  }
}
