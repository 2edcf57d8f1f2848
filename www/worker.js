// The module Web Worker that owns one training `Session` (the crate's, over MNIST in wasm
// memory), so that training never blocks the page. Protocol: the page posts `{id, type, ...}`
// and gets back exactly one `{id, ok: true, result}` or `{id, ok: false, error, code}`;
// requests are handled one at a time, in order. While a dataset downloads,
// `{id, progress: {name, loaded, total}}` messages precede the reply.
import { fetchSet } from './worker/data.js';
import { moduleFor, place } from './worker/modules.js';
import { store } from './worker/store.js';

const sets = {};          // name → {bytes, n}: "train", "test" (or the sample as "test")
let session = null;       // the Session
let note = '';            // why the policy put it where it is

function needSession() {
  if (!session) throw new Error('no session yet (expected a "create" request first)');
  return session;
}

function data() {
  if (!sets.test) throw new Error('no data yet (expected a "load-data" request first)');
  // A widget that only denoises has the sample alone: it serves as both sets.
  return [(sets.train ?? sets.test).bytes, sets.test.bytes];
}

function describe(placement) {
  return {
    backend: session.backend,
    backendNote: placement?.note ?? session.backend_note,
    softwareAdapter: session.software_adapter,
  };
}

/** Swaps in `next`, freeing the old session only once the new one exists. */
function adopt(next, placement) {
  session?.free();
  session = next;
  note = placement?.note ?? '';
  return describe(placement);
}

/** Where `backend` runs: "auto" asks the policy; "cpu" and "webgpu" are what they say. */
async function resolve(backend = 'auto') {
  return backend === 'auto' ? place('auto') : { backend, note: null };
}

/** Moves the current session (weights, cursor, history) to `backend`, in the module it needs. */
async function move(backend, placement) {
  const old = needSession();
  const [state, weights] = [await old.state(), await old.save_weights()];
  const { Session } = await moduleFor(placement.backend);
  const next = await Session.resume(state, weights, ...data(), { backend: placement.backend });
  return adopt(next, backend === 'auto' ? placement : null);
}

const handlers = {
  /** The backend policy's answer for `backend` in this browser. */
  placement: ({ backend }) => place(backend),

  /** Downloads `{name: url}` datasets not loaded yet; resolves to their image counts. */
  async 'load-data'({ urls }, progress) {
    const counts = {};
    for (const [name, url] of Object.entries(urls)) {
      if (!sets[name] || sets[name].url !== url) {
        sets[name] = { ...(await fetchSet(url, (loaded, total) => progress({ name, loaded, total }))), url };
      }
      counts[name] = sets[name].n;
    }
    return counts;
  },

  /** A new session on the loaded data: `options` are `SessionOptions` (backend included). */
  async create({ options = {} }) {
    const placement = await resolve(options.backend);
    const { Session } = await moduleFor(placement.backend);
    const next = await Session.create(...data(), { ...options, backend: placement.backend });
    return { ...adopt(next, placement.note ? placement : null), status: await session.status() };
  },

  /** Moves the session to another backend, keeping what was learned and where it stands. */
  async backend({ backend }) {
    const placement = await resolve(backend);
    const info = await move(backend, placement);
    return { ...info, status: await session.status() };
  },

  configure: ({ settings }) => needSession().configure(settings),
  status: () => needSession().status(),
  train: ({ steps = 1 }) => needSession().train(steps),
  validate: ({ count }) => needSession().validate(count),
  panels: ({ indices, noise, seed }) => needSession().panels(indices, noise, seed),
  denoise: ({ images, noise, seed }) => needSession().denoise(images, noise, seed),
  history: () => needSession().history(),
  save: () => needSession().save_weights(),

  /** Image `index` (default: a random one) of "train" or "test", with its label. */
  async sample({ set, index }) {
    const n = (set === 'train' ? sets.train ?? sets.test : sets.test)?.n ?? 1;
    const i = index ?? Math.floor(Math.random() * n);
    return { index: i, ...(await needSession().image(set, i)) };
  },

  /** Loads safetensors bytes: the session starts over from step 0 with them. */
  load: ({ bytes }) => needSession().load_weights(bytes),

  /** Fetches a weights file and loads it. */
  async 'load-url'({ url }) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: expected a safetensors file, got HTTP ${response.status}`);
    return needSession().load_weights(new Uint8Array(await response.arrayBuffer()));
  },

  /** Keeps the weights, the session's state and `meta` (the page's plot) under `key`. */
  async snapshot({ key, meta }) {
    const s = needSession();
    const [weights, state] = [await s.save_weights(), await s.state()];
    await store('readwrite', key, { weights, state, meta, savedAt: Date.now() });
    return { bytes: weights.length };
  },

  /** What is stored under `key` (without the weights), or null. */
  async peek({ key }) {
    const saved = await store('readonly', key);
    return saved?.state ? { meta: saved.meta, state: saved.state, savedAt: saved.savedAt } : null;
  },

  /** Continues the training stored under `key` on the current backend. */
  async restore({ key }) {
    const saved = await store('readonly', key);
    if (!saved?.state) throw new Error(`no saved training under "${key}"`);
    const { Session } = await moduleFor(needSession().backend);
    const next = await Session.resume(saved.state, saved.weights, ...data(), { backend: session.backend });
    adopt(next, note ? { note } : null);
    return { meta: saved.meta, status: await session.status() };
  },

  async forget({ key }) {
    await store('readwrite', key, null);
    return true;
  },
};

/** Typed arrays in a result travel without a copy. */
function transferables(result) {
  const out = [];
  const visit = (v) => { if (ArrayBuffer.isView(v)) out.push(v.buffer); };
  visit(result);
  if (result && typeof result === 'object') Object.values(result).forEach(visit);
  return out;
}

let queue = Promise.resolve();
self.onmessage = ({ data: message }) => {
  const { id, type } = message;
  // One request at a time: each waits for the previous one, whatever it awaits inside.
  queue = queue.then(async () => {
    try {
      const handler = handlers[type];
      if (!handler) throw new Error(`unknown request type "${type}" (expected one of ${Object.keys(handlers).join(', ')})`);
      const result = await handler(message, (progress) => self.postMessage({ id, progress }));
      self.postMessage({ id, ok: true, result }, transferables(result));
    } catch (e) {
      self.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e), code: e?.code ?? 'error' });
    }
  });
};
