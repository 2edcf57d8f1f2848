// mnist-dae: `import init, { Denoiser, Session } from 'mnist-dae'`. One API over the crate's two
// builds: init() loads the CPU-only module (www/pkg-cpu, a fifth of the size; its relaxed-SIMD
// build www/pkg-cpu-relaxed where the engine runs it), which runs every
// model on the CPU and answers the backend policy; the full one (www/pkg, with burn-wgpu) is
// fetched and compiled the first time a model goes to WebGPU, so a page on the CPU never pays
// for it. `mnist-dae/cpu` is the CPU-only module alone.
import initCpu, * as cpu from './pkg-cpu/mnist_dae.js';
import initFull, * as full from './pkg/mnist_dae.js';
import { loadCpu } from './lib/cpu-wasm.js';
import { daeError, guardedOver } from './lib/guard.js';

let mode = null;         // "lazy" (the CPU module now, the full one on demand) | "full"
let cpuReady = null;     // the CPU module's init
let fullReady = null;    // the full module's init, once asked for
let fullLoaded = false;
let fullInput;           // where the full module's .wasm is (undefined: beside its glue)
let fault = false;       // inject_conv_fault's last word, for a full module loaded later

// wasm-bindgen's own forms: anything but a plain object (a URL, a Request, a Response, bytes, a
// Module, a promise of one: its own test), or a plain object naming `module_or_path`/`module`.
const legacy = (options) => options !== undefined && (typeof options !== 'object' || options === null
  || Object.getPrototypeOf(options) !== Object.prototype || 'module_or_path' in options || 'module' in options);

/**
 * Loads the package. `init()` or `init({ cpu, webgpu })`: the CPU-only module now (from `cpu`:
 * a URL, bytes, a Response or a WebAssembly.Module, as wasm-bindgen's init takes; by default the
 * file beside its glue), the full one from `webgpu` only when a model goes to WebGPU.
 * `init({ module_or_path })` is wasm-bindgen's own form: that is the full module, loaded now, and
 * everything runs on it (as this entry did before it was lazy). Calling init again is a no-op.
 */
export default function init(options) {
  if (mode === 'full') return fullReady;
  if (mode === 'lazy') return cpuReady;
  // A load that fails leaves the package as before init, so that init can be called again.
  const again = (e) => { mode = null; cpuReady = fullReady = null; throw e; };
  if (legacy(options)) {
    mode = 'full';
    fullReady = initFull(options).catch(again);
    return fullReady;
  }
  mode = 'lazy';
  fullInput = options?.webgpu;
  cpuReady = loadCpu(initCpu, options?.cpu).catch(again);
  return cpuReady;
}

/** wasm-bindgen's initSync: `{ cpu }` (bytes or a Module) loads the CPU module now and leaves
 *  the full one to `webgpu` on demand; `{ module }` is the full module, run for everything. */
export function initSync(options) {
  if (mode) return undefined;
  // The mode is set only once the module is in: a throw leaves the package as before.
  if (options && typeof options === 'object' && 'cpu' in options) {
    const exports = cpu.initSync({ module: options.cpu });
    [mode, fullInput, cpuReady] = ['lazy', options.webgpu, Promise.resolve(exports)];
    return exports;
  }
  const exports = full.initSync(options);
  [mode, fullReady] = ['full', Promise.resolve(exports)];
  return exports;
}

const notReady = (what) => daeError('invalid_input', `${what}: expected init() to have been called first, got a call before it`);

/** The module that answers calls that do not depend on the backend. */
function base(what) {
  if (mode === 'full') return full;
  if (mode === 'lazy') return cpu;
  throw notReady(what);
}

/** The full module, fetched and compiled on first use (again after a failed attempt). */
function fullModule() {
  if (mode === 'full') return fullReady.then(() => full);
  fullReady ??= initFull({ module_or_path: fullInput }).then(
    () => { fullLoaded = true; full.inject_conv_fault(fault); return full; },
    (e) => {
      fullReady = null;
      throw daeError('backend', `backend "webgpu": expected the WebGPU module (mnist-dae/wasm) to load, got ${String(e?.message ?? e).split('\n')[0]}`);
    },
  );
  return fullReady;
}

// Where each static factory takes its options (`{ backend, … }`).
const optionsAt = { Denoiser: { create: 0 }, Session: { create: 2, resume: 4 } };

/** The wasm-bindgen class a static call runs on: the full module's when the call's backend goes
 *  to WebGPU by the one policy (asked through the CPU module, which never fetches the other), the
 *  CPU module's otherwise, so that its own refusals (bad options…) are what the caller sees. */
async function pick(name, key, args) {
  if (mode === 'full') return (await fullReady, full[name]);
  if (mode !== 'lazy') throw notReady(`${name}.${key}`);
  await cpuReady;
  const options = args[optionsAt[name]?.[key]];
  const backend = options !== null && typeof options === 'object' ? options.backend ?? 'auto' : 'auto';
  if (backend === 'webgpu' || backend === 'auto') {
    let placement;
    try {
      placement = await cpu.resolve_backend(backend);
    } catch (e) {
      if (backend === 'webgpu') throw e; // no adapter: the policy's own refusal
    }
    if (placement?.backend === 'webgpu') return (await fullModule())[name];
  }
  return cpu[name];
}

export const { Denoiser, Session } = guardedOver(cpu, pick);

/** `name` of the module that answers calls not tied to a backend, as a promise (a rejected one
 *  before init). */
const onBase = (name) => (...args) => {
  try {
    return base(name)[name](...args);
  } catch (e) {
    return Promise.reject(e);
  }
};

/** Gaussian noise, clipped to [0, 1] (the same stream in every build). */
export const add_noise = onBase('add_noise');

/** The backend policy's answer here; fetches nothing. */
export const resolve_backend = onBase('resolve_backend');

/** True: a model asked onto WebGPU goes there (the full module is fetched then). */
export const has_webgpu = () => true;

/** The vector instructions the CPU module's kernels run with: "wasm SIMD128 + relaxed (fused
 *  multiply-add)" where the relaxed-SIMD build loaded, "wasm SIMD128" otherwise. */
export const simd_level = () => base('simd_level').simd_level();

/** Trainable parameters of the model: 37,601. */
export const parameter_count = () => base('parameter_count').parameter_count();

/** For tests of the WebGPU self-check (see the full module's); kept for a full module loaded later. */
export function inject_conv_fault(on) {
  fault = Boolean(on);
  if (mode === 'full' || fullLoaded) full.inject_conv_fault(fault);
}
