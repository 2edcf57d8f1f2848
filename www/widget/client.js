// The widget's side of its worker's protocol: `{id, type, ...}` out, exactly one
// `{id, ok, result | error, code}` back, `{id, progress}` before it while a download runs, and
// `{event, ...}` messages that belong to no request (`onEvent`).

import { crossOriginWorker } from '../lib/cross-origin-worker.js';

// The worker's path, from this file. Bundlers see the literal `new Worker(new URL('…',
// import.meta.url))` below and ship the worker with its imports; this name is for the rest.
const WORKER = '../worker.js';

/** A module worker running worker.js, from the page's origin or, from another, through a Blob. */
function startWorker(url) {
  if (url.origin === location.origin) {
    return { worker: new Worker(new URL('../worker.js', import.meta.url), { type: 'module', name: 'mnist-dae' }), blob: null };
  }
  return crossOriginWorker(url, { type: 'module', name: 'mnist-dae' });
}

/** What the widget's promises reject with and its `error` events carry: an Error named
 *  MnistDaeError with a stable `code`. */
export const failure = (code, message) => Object.assign(new Error(message), { name: 'MnistDaeError', code });

export class WorkerClient {
  constructor() {
    const url = new URL(WORKER, import.meta.url);
    this.pending = new Map();
    this.next = 1;
    this.onEvent = null;
    this.onMessage = ({ data }) => {
      if (data.event) { this.onEvent?.(data); return; }
      const p = this.pending.get(data.id);
      if (!p) return;
      if (data.progress) { p.progress?.(data.progress); return; }
      this.pending.delete(data.id);
      if (data.ok) p.resolve(data.result); else p.reject(failure(data.code, data.error));
    };
    this.onError = (e) => {
      this.fail(failure('error', `the widget's worker failed: expected ${url.href} and its modules to load and run, got ${e.message || 'a failed load (missing file, or no CORS headers from another origin)'}`));
    };
    try {
      ({ worker: this.worker, blob: this.blob } = startWorker(url));
    } catch (e) {
      // E.g. a Content-Security-Policy without worker-src blob:, or no Worker at all.
      this.worker = null;
      this.fail(failure('error', `the widget could not start its worker: expected a module worker for ${url.href}, got ${e.name ?? 'Error'}: ${e.message ?? e}`));
      return;
    }
    this.worker.addEventListener('message', this.onMessage);
    this.worker.addEventListener('error', this.onError);
  }

  /** Rejects what is pending and every later call with `error`. */
  fail(error) {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.failed = error;
  }

  /** Sends one request; resolves to its result, rejects with its error. */
  call(type, args = {}, progress) {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, progress });
      this.worker.postMessage({ id, type, ...args });
    });
  }

  terminate() {
    if (this.worker) {
      this.worker.removeEventListener('message', this.onMessage);
      this.worker.removeEventListener('error', this.onError);
      this.worker.terminate();
    }
    if (this.blob) URL.revokeObjectURL(this.blob);
    this.fail(failure('not_connected', 'the widget was removed'));
  }
}
