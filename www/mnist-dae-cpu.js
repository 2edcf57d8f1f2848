// mnist-dae/cpu: the CPU-only module (no WebGPU; what the widget loads first).
import initRaw, * as raw from './pkg-cpu/mnist_dae.js';
import { loadCpu } from './lib/cpu-wasm.js';
import { guarded } from './lib/guard.js';

/** wasm-bindgen's init; with no module named (`init()`, `init({})`), the relaxed-SIMD build where
 *  this engine runs it, the plain one otherwise (www/lib/cpu-wasm.js). */
export default function init(options) {
  const named = options !== undefined && (typeof options !== 'object' || options === null
    || Object.getPrototypeOf(options) !== Object.prototype || options.module_or_path !== undefined || 'module' in options);
  return named ? initRaw(options) : loadCpu(initRaw);
}
export const { initSync, add_noise, resolve_backend, has_webgpu, parameter_count, inject_conv_fault, simd_level } = raw;
export const { Denoiser, Session } = guarded(raw);
