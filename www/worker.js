// The module Web Worker that owns one training `Session` (the crate's, over MNIST in wasm
// memory), so that training never blocks the page. Protocol: the page posts `{id, type, ...}`
// and gets back exactly one `{id, ok: true, result}` or `{id, ok: false, error, code}`;
// requests are handled one at a time, in order. While a dataset downloads,
// `{id, progress: {name, loaded, total}}` messages precede the reply; when the session's GPU
// failed during a request, `{event: "fallback", fallback, info}` does.
import { fetchMnst } from './mnst.js';
import { moduleFor, place } from './worker/modules.js';
import { heldElsewhere, own, release } from './worker/owner.js';
import { list, read, remove, write } from './worker/store.js';

const sets = {};          // name → {bytes, n}: "train", "test" (or the sample as "test")
let session = null;       // the Session
let note = '';            // why the policy put it where it is
let reported = null;      // the session's fallback last told to the page, as JSON
let kernels = null;       // simd_level() of the module the session came from

function needSession() {
  if (!session) throw new Error('no session yet (expected a "create" request first)');
  return session;
}

function data() {
  if (!sets.test) throw new Error('no data yet (expected a "load-data" request first)');
  // A widget that only denoises has the sample alone: it serves as both sets.
  return [(sets.train ?? sets.test).bytes, sets.test.bytes];
}

/** The module the next session comes from, and the vector instructions of its CPU kernels. */
async function using(backend) {
  const mod = await moduleFor(backend);
  kernels = mod.simd_level();
  return mod;
}

function describe(placement) {
  return {
    backend: session.backend,
    backendNote: placement?.note ?? session.backend_note,
    softwareAdapter: session.software_adapter,
    // On the CPU (also after a WebGPU loss, in the full module): which build's kernels run.
    cpuKernels: session.backend === 'cpu' ? kernels : null,
  };
}

/** Swaps in `next`, freeing the old session only once the new one exists. */
function adopt(next, placement) {
  session?.free();
  session = next;
  reported = null;
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
  const { Session } = await using(placement.backend);
  const next = await Session.resume(state, weights, ...data(), { backend: placement.backend });
  return adopt(next, backend === 'auto' ? placement : null);
}

/** Runs kept per widget: the newest, and never one that a tab has open. */
const KEEP_RUNS = 5;

async function prune(base) {
  const busy = await heldElsewhere();
  const runs = (await list(base)).sort(([, a], [, b]) => (b?.savedAt ?? 0) - (a?.savedAt ?? 0));
  for (const [key] of runs.slice(KEEP_RUNS)) {
    if (!busy.has(key) && (await own(key))) { await remove(key); release(key); }
  }
}

const handlers = {
  /** The backend policy's answer for `backend` in this browser. */
  placement: ({ backend }) => place(backend),

  /** Downloads `{name: url}` datasets not loaded yet; resolves to their image counts. */
  async 'load-data'({ urls }, progress) {
    const counts = {};
    for (const [name, url] of Object.entries(urls)) {
      if (!sets[name] || sets[name].url !== url) {
        const { bytes, n } = await fetchMnst(url, { onProgress: (loaded, total) => progress({ name, loaded, total }) });
        sets[name] = { bytes, n, url };
      }
      counts[name] = sets[name].n;
    }
    return counts;
  },

  /** A new session on the loaded data: `options` are `SessionOptions` (backend included). */
  async create({ options = {} }) {
    const placement = await resolve(options.backend);
    const { Session } = await using(placement.backend);
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
  /** Every stage's maps for `images` (n ≤ 16) and the parameters: what the lab draws. */
  trace: ({ images }) => needSession().trace(images),
  parameters: () => needSession().parameters(),
  /** The first `count` test digits (default 1,000) on the two principal axes of their codes. */
  'latent-map': ({ count }) => needSession().latent_map(count),
  /** The decoded blends of two images' codes: `steps` images from `from` to `to`. */
  interpolate: ({ from, to, steps }) => needSession().interpolate(from, to, steps),
  save: () => needSession().save_weights(),
  /** What `resume` takes beside the weights: the session's settings, place and history. */
  state: () => needSession().state(),

  /** A session continued from `state` and `weights` (as `state` and `save` gave them), on
   *  `backend`: how a comparison's second model comes back after a reload. */
  async continue({ state, weights, backend = 'cpu' }) {
    const placement = await resolve(backend);
    const { Session } = await using(placement.backend);
    const next = await Session.resume(state, weights, ...data(), { backend: placement.backend });
    return { ...adopt(next, placement.note ? placement : null), status: await session.status() };
  },

  /** Image `index` (default: a random one) of "train" or "test", with its label. */
  async sample({ set, index }) {
    const n = (set === 'train' ? sets.train ?? sets.test : sets.test)?.n ?? 1;
    const i = index ?? Math.floor(Math.random() * n);
    return { index: i, ...(await needSession().image(set, i)) };
  },

  /** Loads safetensors bytes: the session starts over from step 0 with them. */
  load: ({ bytes }) => needSession().load_weights(bytes),

  /** Fetches a weights file and loads it. Every refusal names the URL; a server that did not
   *  give the file (or nothing that answered) has code "network". */
  async 'load-url'({ url }) {
    const network = (got) => Object.assign(new Error(`expected a safetensors file, got ${got}`), { code: 'network' });
    try {
      const response = await fetch(url).catch((e) => { throw network(`no response (${e?.message ?? e})`); });
      if (!response.ok) throw network(`HTTP ${response.status}`);
      const bytes = await response.arrayBuffer().catch((e) => { throw network(`a broken response (${e?.message ?? e})`); });
      return await needSession().load_weights(new Uint8Array(bytes));
    } catch (e) {
      throw Object.assign(new Error(`${url}: ${e?.message ?? e}`), { code: e?.code ?? 'error' });
    }
  },

  /** Keeps the weights, the session's state and `meta` (the page's plot) under `key`, which
   *  this tab owns from then on (refused when another tab does). */
  async snapshot({ key, meta }) {
    const s = needSession();
    if (!(await own(key, { only: true }))) throw new Error(`saved training "${key}" belongs to another tab (expected one of this tab's own)`);
    const [weights, state] = [await s.save_weights(), await s.state()];
    await write(key, { weights, state, meta, savedAt: Date.now() });
    await prune(key.slice(0, key.lastIndexOf('/')));
    return { bytes: weights.length };
  },

  /** The runs saved under `base`, newest first: `{key, steps, epoch, savedAt, settings, elsewhere}`
   *  (`elsewhere`: another tab has it open). */
  async runs({ base }) {
    const [saved, busy] = [await list(base), await heldElsewhere()];
    return saved.filter(([, v]) => v?.state).map(([key, { state, savedAt }]) => ({
      key, savedAt, steps: state.steps, epoch: state.progress.epoch, elsewhere: busy.has(key),
      settings: { activation: state.config.activation, batch_size: state.config.batch_size,
        learning_rate: state.config.learning_rate, noise_factor: state.config.noise_factor },
    })).sort((a, b) => b.savedAt - a.savedAt);
  },

  /** Continues the training stored under `key` on the current backend; this tab owns it then. */
  async restore({ key }) {
    if (!(await own(key, { only: true }))) throw new Error(`saved training "${key}" is open in another tab (expected one no other tab has open)`);
    const saved = await read(key);
    if (!saved?.state) throw new Error(`no saved training under "${key}"`);
    const { Session } = await using(needSession().backend);
    const next = await Session.resume(saved.state, saved.weights, ...data(), { backend: session.backend });
    adopt(next, note ? { note } : null);
    return { meta: saved.meta, status: await session.status() };
  },

  /** Deletes the run under `key`, unless another tab has it open. */
  async forget({ key }) {
    if (!(await own(key))) throw new Error(`saved training "${key}" is open in another tab: it was kept`);
    await remove(key);
    release(key);
    return true;
  },
};

/** Typed arrays in a result travel without a copy. */
function transferables(result) {
  const out = [];
  const visit = (v) => { if (ArrayBuffer.isView(v)) out.push(v.buffer); };
  visit(result);
  if (Array.isArray(result)) result.forEach((a) => visit(a?.values));
  else if (result && typeof result === 'object') Object.values(result).forEach(visit);
  return out;
}

/** Tells the page, before the reply, that the session left a failed GPU during a request: it
 *  went on on the CPU from its host copy (`fallback`: {reason, failed_at, resumed_at, steps_lost}). */
function reportFallback(before) {
  const fallback = session?.fallback;
  // The getter builds a new object on every read: a fallback is told once, by what it says.
  const said = fallback && JSON.stringify(fallback);
  if (session === before && said && said !== reported) {
    reported = said;
    self.postMessage({ event: 'fallback', fallback, info: describe() });
  }
}
let queue = Promise.resolve();
self.onmessage = ({ data: message }) => {
  const { id, type } = message;
  // One request at a time: each waits for the previous one, whatever it awaits inside.
  queue = queue.then(async () => {
    const before = session;
    try {
      const handler = handlers[type];
      if (!handler) throw new Error(`unknown request type "${type}" (expected one of ${Object.keys(handlers).join(', ')})`);
      const result = await handler(message, (progress) => self.postMessage({ id, progress }));
      reportFallback(before);
      self.postMessage({ id, ok: true, result }, transferables(result));
    } catch (e) {
      reportFallback(before);
      self.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e), code: e?.code ?? 'error' });
    }
  });
};
