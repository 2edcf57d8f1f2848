// The module Web Worker that owns one `Denoiser` and its data, so that training never blocks
// the page. Protocol: the page posts `{id, type, ...args}` and gets back exactly one
// `{id, ok: true, result}` or `{id, ok: false, error}`; requests are handled one at a time, in
// order. While a dataset downloads, `{id, progress: {loaded, total}}` messages precede the reply.
// Two builds of one crate. The CPU-only module (www/pkg-cpu, ≈ 1 MB gzipped) is all a widget
// needs to denoise and to train on the CPU; the full one (www/pkg, with burn-wgpu, ≈ 4 MB) is
// fetched only when a model is put on WebGPU. Importing a module's JavaScript glue costs a few
// KB; its .wasm is fetched by its init, on first use.
import initCpu, * as cpuModule from './pkg-cpu/mnist_dae.js';
import initFull, * as fullModule from './pkg/mnist_dae.js';

const PIXELS = 784;

let dae = null;             // the Denoiser
let api = null;             // the module `dae` comes from (its Denoiser, add_noise)
let options = {};           // what `create` was asked for: backend, activation, seed, learning_rate
const sets = {};            // name → { images: Uint8Array (n × 784), labels: Uint8Array, n }
// Training cursor: the tutorial's shuffled batches over the training set, epoch after epoch.
const run = { epoch: 0, stepInEpoch: 0, order: null, batch: 64, noise: 0.5, seed: 1, steps: 0 };

/** A uint32 stream (mulberry32): shuffles and noise seeds, reproducible from `run.seed`. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0);
  };
}

function shuffle(n, seed) {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const next = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Images `indices` of `set` as floats in [0, 1], flat `indices.length × 784`. */
function gather(set, indices) {
  const out = new Float32Array(indices.length * PIXELS);
  indices.forEach((index, k) => {
    const src = set.images.subarray(index * PIXELS, (index + 1) * PIXELS);
    for (let p = 0; p < PIXELS; p++) out[k * PIXELS + p] = src[p] / 255;
  });
  return out;
}

function need(name) {
  const set = sets[name];
  if (!set) throw new Error(`dataset "${name}" is not loaded yet (expected a "load-data" request first)`);
  return set;
}

function needModel() {
  if (!dae) throw new Error('no model yet (expected a "create" request first)');
  return dae;
}

/** Fetches a compact MNIST file (see scripts/data.mjs), reporting download progress. */
async function fetchSet(url, report) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: expected an MNIST file (npx mnist-dae-data writes them; the widget's data attribute says where they are), got HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length')) || 0;
  let loaded = 0;
  const counted = response.body.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      loaded += chunk.byteLength;
      report(loaded, total);
      controller.enqueue(chunk);
    },
  }));
  // Served as .gz files (not Content-Encoding), so the page decompresses them itself.
  const bytes = new Uint8Array(await new Response(counted.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  const view = new DataView(bytes.buffer);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  const n = view.getUint32(4, true);
  if (magic !== 'MNST' || view.getUint32(8, true) !== 28 || view.getUint32(12, true) !== 28
      || bytes.length !== 16 + n * (1 + PIXELS)) {
    throw new Error(`${url}: expected an "MNST" file of 28 × 28 images, got ${bytes.length} bytes starting "${magic}"`);
  }
  return { n, labels: bytes.subarray(16, 16 + n), images: bytes.subarray(16 + n) };
}

/** Mean sigmoid cross-entropy from probabilities (clamped to [1e-7, 1 − 1e-7], as Keras does)
 *  and mean per-image PSNR (dB, peak 1) of `noisy` and `denoised` against `clean`. */
function scores(clean, noisy, denoised) {
  const n = clean.length / PIXELS;
  let bce = 0, psnrNoisy = 0, psnrDenoised = 0;
  for (let i = 0; i < n; i++) {
    let seNoisy = 0, seDenoised = 0;
    for (let p = i * PIXELS; p < (i + 1) * PIXELS; p++) {
      const z = clean[p], q = Math.min(Math.max(denoised[p], 1e-7), 1 - 1e-7);
      bce -= z * Math.log(q) + (1 - z) * Math.log(1 - q);
      seNoisy += (noisy[p] - z) ** 2;
      seDenoised += (denoised[p] - z) ** 2;
    }
    psnrNoisy += Math.min(100, 10 * Math.log10(PIXELS / Math.max(seNoisy, 1e-30)));
    psnrDenoised += Math.min(100, 10 * Math.log10(PIXELS / Math.max(seDenoised, 1e-30)));
  }
  return { loss: bce / clean.length, psnrNoisy: psnrNoisy / n, psnrDenoised: psnrDenoised / n };
}

const modules = {};
/** The initialised module for `kind` ("cpu" | "full"); each is fetched and compiled once. */
function wasm(kind) {
  modules[kind] ??= kind === 'cpu'
    ? initCpu({ module_or_path: new URL('./pkg-cpu/mnist_dae_bg.wasm', import.meta.url) }).then(() => cpuModule)
    : initFull({ module_or_path: new URL('./pkg/mnist_dae_bg.wasm', import.meta.url) }).then(() => fullModule);
  return modules[kind];
}

let probed = null;
/** What WebGPU this browser offers, asked in JavaScript so that the full module is not fetched
 *  just to find out: `{available, software, name, why}`. "software" is a CPU renderer
 *  (SwiftShader, lavapipe, llvmpipe), on which the wasm CPU backend trains ≈ 35× faster (README,
 *  bench); `why` says why "auto" stays on the CPU when it does. */
function probeGpu() {
  probed ??= (async () => {
    const adapter = await self.navigator?.gpu?.requestAdapter?.().catch(() => null);
    if (!adapter) return { available: false, software: false, name: '', why: 'no WebGPU adapter here' };
    const info = adapter.info ?? {};
    const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
    const software = Boolean(info.isFallbackAdapter || adapter.isFallbackAdapter) || /swiftshader|lavapipe|llvmpipe/i.test(name);
    const why = software ? `WebGPU here is a software renderer (${name}), so auto chose the CPU; pick WebGPU to use it anyway` : '';
    return { available: true, software, name, why };
  })();
  return probed;
}

/** A new Denoiser for `opts`, from the module that backend needs. "auto" means WebGPU on a
 *  hardware adapter and the CPU otherwise; the CPU never needs the full module. */
async function build(opts) {
  let backend = opts.backend ?? 'auto';
  let why = '';
  if (backend === 'auto') {
    const gpu = await probeGpu();
    if (gpu.available && !gpu.software) backend = 'webgpu';
    else [backend, why] = ['cpu', gpu.why];
  }
  const mod = await wasm(backend === 'cpu' ? 'cpu' : 'full');
  const d = await mod.Denoiser.create({ ...opts, backend });
  return { d, mod, why };
}

async function describe(d, why = '') {
  return {
    backend: d.backend,
    backendNote: why ? `${d.backend_note}; ${why}` : d.backend_note,
    softwareAdapter: d.software_adapter,
    gpu: await probeGpu(),
  };
}

// ---- IndexedDB: the latest weights of each widget, so a reload can resume ----
function db() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('mnist-dae', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('snapshots');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function store(mode, key, value) {
  const conn = await db();
  try {
    return await new Promise((resolve, reject) => {
      const tx = conn.transaction('snapshots', mode);
      const os = tx.objectStore('snapshots');
      const req = value === undefined ? os.get(key) : value === null ? os.delete(key) : os.put(value, key);
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    conn.close();
  }
}

const handlers = {
  /** Builds a fresh model: `{backend, activation, seed, learning_rate}` (all optional). */
  async create(args) {
    options = { ...options, ...args.options };
    const { d, mod, why } = await build(options);
    dae?.free();
    dae = d;
    api = mod;
    Object.assign(run, { epoch: 0, stepInEpoch: 0, order: null, steps: 0 });
    return describe(dae, why);
  },

  /** Moves the current weights to another backend (a new Denoiser), keeping what was learned. */
  async backend({ backend }) {
    const old = needModel();
    const bytes = await old.save_weights();
    const { d: next, mod, why } = await build({ ...options, backend });
    try {
      await next.load_weights(bytes);
    } catch (e) {
      next.free();
      throw e;
    }
    options.backend = backend;
    old.free();
    dae = next;
    api = mod;
    return describe(dae, why);
  },

  /** Downloads `{name: url}` datasets (compact MNIST files) not loaded yet. */
  async 'load-data'({ urls }, progress) {
    const loaded = {};
    for (const [name, url] of Object.entries(urls)) {
      if (!sets[name]) sets[name] = await fetchSet(url, (bytes, total) => progress({ name, loaded: bytes, total }));
      loaded[name] = sets[name].n;
    }
    return loaded;
  },

  /** Batch size, noise factor, learning rate and shuffle seed for the next steps. */
  async configure({ batch, noise, learningRate, seed }) {
    if (batch !== undefined) {
      if (!Number.isInteger(batch) || batch < 1 || batch > 1024) throw new Error(`batch: expected an integer in [1, 1024], got ${batch}`);
      if (batch !== run.batch) { run.batch = batch; run.stepInEpoch = 0; run.order = null; }
    }
    if (noise !== undefined) {
      if (!(noise >= 0 && noise <= 1)) throw new Error(`noise: expected a number in [0, 1], got ${noise}`);
      run.noise = noise;
    }
    if (learningRate !== undefined) {
      await needModel().set_learning_rate(learningRate);
      options.learning_rate = learningRate;
    }
    if (seed !== undefined) run.seed = seed >>> 0;
    return { batch: run.batch, noise: run.noise };
  },

  /** `steps` training steps on shuffled batches of the "train" set with fresh noise. */
  async train({ steps = 1 }) {
    const d = needModel();
    const set = need('train');
    const stepsPerEpoch = Math.ceil(set.n / run.batch);
    const losses = [];
    const t0 = performance.now();
    let images = 0;
    for (let s = 0; s < steps; s++) {
      if (!run.order) run.order = shuffle(set.n, run.seed * 1000 + run.epoch);
      const start = run.stepInEpoch * run.batch;
      const indices = run.order.subarray(start, Math.min(start + run.batch, set.n));
      const clean = gather(set, indices);
      const noisy = api.add_noise(clean, run.noise, (run.seed * 1_000_003 + run.steps) % 2 ** 52);
      losses.push(await d.train_step(noisy, clean));
      images += indices.length;
      run.steps++;
      if (++run.stepInEpoch >= stepsPerEpoch) { run.epoch++; run.stepInEpoch = 0; run.order = null; }
    }
    return {
      losses, steps: run.steps, epoch: run.epoch, stepInEpoch: run.stepInEpoch, stepsPerEpoch,
      seconds: (performance.now() - t0) / 1000, images,
    };
  },

  /** Images `indices` of a loaded set, noised with `seed`, and the model's reconstructions. */
  async panels({ set: name = 'test', indices, noise = run.noise, seed }) {
    const set = need(name);
    const clean = gather(set, indices);
    const noisy = api.add_noise(clean, noise, seed);
    const denoised = await needModel().denoise(noisy);
    const labels = Array.from(indices, (i) => set.labels[i]);
    return { clean, noisy, denoised, labels };
  },

  /** Noises and denoises caller-supplied images (flat `n × 784` in [0, 1]). */
  async denoise({ images, noise = run.noise, seed = 0 }) {
    const noisy = api.add_noise(images, noise, seed);
    const denoised = await needModel().denoise(noisy);
    return { noisy, denoised };
  },

  /** Loss and PSNR on the first `count` test images with fixed-seed noise: comparable over time. */
  async validate({ count = 500, noise = run.noise, seed = 20_240 }) {
    const set = need('test');
    const indices = Array.from({ length: Math.min(count, set.n) }, (_, i) => i);
    const clean = gather(set, indices);
    const noisy = api.add_noise(clean, noise, seed);
    const denoised = await needModel().denoise(noisy);
    return { count: indices.length, ...scores(clean, noisy, denoised) };
  },

  /** A random image of a set with its label: the tutorial's sanity check. */
  async sample({ set: name, index }) {
    const set = need(name);
    const i = index ?? Math.floor(Math.random() * set.n);
    return { index: i, label: set.labels[i], image: gather(set, [i]) };
  },

  async save() {
    return needModel().save_weights();
  },

  /** Loads safetensors bytes; a bad file leaves the model (and the run) as it was. */
  async load({ bytes }) {
    const d = needModel();
    await d.load_weights(bytes);
    options.activation = await d.activation();
    return { activation: options.activation };
  },

  /** Fetches a weights file and loads it. */
  async 'load-url'({ url }) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: expected a safetensors file, got HTTP ${response.status}`);
    return handlers.load({ bytes: new Uint8Array(await response.arrayBuffer()) });
  },

  /** Keeps the current weights and `meta` (the page's progress and plot) under `key`. */
  async snapshot({ key, meta }) {
    const weights = await needModel().save_weights();
    const cursor = { epoch: run.epoch, stepInEpoch: run.stepInEpoch, steps: run.steps, batch: run.batch, seed: run.seed };
    await store('readwrite', key, { weights, meta, cursor, activation: await dae.activation(), savedAt: Date.now() });
    return { bytes: weights.length };
  },

  /** What is stored under `key` (without the weights), or null. */
  async peek({ key }) {
    const s = await store('readonly', key);
    return s ? { meta: s.meta, cursor: s.cursor, savedAt: s.savedAt, activation: s.activation } : null;
  },

  /** Loads the weights and training cursor stored under `key`; returns its meta. */
  async restore({ key }) {
    const s = await store('readonly', key);
    if (!s) throw new Error(`no saved training under "${key}"`);
    await needModel().load_weights(s.weights);
    Object.assign(run, s.cursor, { order: null });
    options.activation = s.activation;
    return { meta: s.meta, cursor: s.cursor, activation: s.activation };
  },

  async forget({ key }) {
    await store('readwrite', key, null);
    return true;
  },
};

let queue = Promise.resolve();
self.onmessage = ({ data }) => {
  const { id, type } = data;
  // One request at a time: each waits for the previous one, whatever it awaits inside.
  queue = queue.then(async () => {
    try {
      const handler = handlers[type];
      if (!handler) throw new Error(`unknown request type "${type}" (expected one of ${Object.keys(handlers).join(', ')})`);
      const result = await handler(data, (progress) => self.postMessage({ id, progress }));
      const transfer = [];
      for (const v of Object.values(result ?? {})) if (ArrayBuffer.isView(v)) transfer.push(v.buffer);
      if (ArrayBuffer.isView(result)) transfer.push(result.buffer);
      self.postMessage({ id, ok: true, result }, transfer);
    } catch (e) {
      self.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  });
};
