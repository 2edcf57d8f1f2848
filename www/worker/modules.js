// The two builds of one crate, each fetched and compiled once, on first use. The CPU-only
// module (www/pkg-cpu or, where relaxed SIMD runs, www/pkg-cpu-relaxed; ≈ 1 MB gzipped) is all a widget needs to denoise and to train on the
// CPU, and it answers the backend policy without fetching anything else; the full one (www/pkg,
// with burn-wgpu, ≈ 4 MB) only when a session goes to WebGPU.
import initCpu, * as cpuModule from '../mnist-dae-cpu.js';
import initFull, * as fullModule from '../lib/full.js';

const loading = {};

/** The initialised API for `kind` ("cpu" | "full"). */
export function wasm(kind) {
  loading[kind] ??= kind === 'cpu'
    ? initCpu().then(() => cpuModule)
    : initFull({ module_or_path: new URL('../pkg/mnist_dae_bg.wasm', import.meta.url) }).then(() => fullModule);
  return loading[kind];
}

/** The module that runs `backend` ("webgpu" | "cpu"). */
export const moduleFor = (backend) => wasm(backend === 'webgpu' ? 'full' : 'cpu');

/** The backend policy's answer for `backend` here (Rust's `backend::resolve`, asked through
 *  the CPU-only module): `{backend, note, software}`. */
export async function place(backend = 'auto') {
  return (await wasm('cpu')).resolve_backend(backend);
}
