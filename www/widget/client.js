// The widget's side of its worker's protocol: `{id, type, ...}` out, exactly one
// `{id, ok, result | error, code}` back, `{id, progress}` before it while a download runs, and
// `{event, ...}` messages that belong to no request (`onEvent`).

export class WorkerClient {
  constructor() {
    // A literal `new URL('…', import.meta.url)`: bundlers see it and ship the worker.
    this.worker = new Worker(new URL('../worker.js', import.meta.url), { type: 'module', name: 'mnist-dae' });
    this.pending = new Map();
    this.next = 1;
    this.onEvent = null;
    this.onMessage = ({ data }) => {
      if (data.event) { this.onEvent?.(data); return; }
      const p = this.pending.get(data.id);
      if (!p) return;
      if (data.progress) { p.progress?.(data.progress); return; }
      this.pending.delete(data.id);
      if (data.ok) p.resolve(data.result); else p.reject(Object.assign(new Error(data.error), { code: data.code }));
    };
    this.onError = (e) => {
      const error = new Error(`worker failed: ${e.message || 'could not load worker.js or the wasm module'}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      this.failed = error;
    };
    this.worker.addEventListener('message', this.onMessage);
    this.worker.addEventListener('error', this.onError);
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
    this.worker.removeEventListener('message', this.onMessage);
    this.worker.removeEventListener('error', this.onError);
    this.worker.terminate();
    const error = new Error('the widget was removed');
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.failed = error;
  }
}
