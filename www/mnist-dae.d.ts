// The API of mnist-dae: wasm-bindgen's typings of the full build (both builds share one shape),
// whose classes www/lib/guard.js wraps without changing it (a freed object rejects instead of
// throwing), with this entry's own init: the CPU-only module now, the WebGPU one on demand.
import type { InitInput, SyncInitInput } from './pkg/mnist_dae.js';

export * from './pkg/mnist_dae.js';

/** Where each build's `.wasm` comes from (a URL, bytes, a Response or a compiled Module); by
 *  default the file beside its glue, which bundlers and browsers resolve themselves. */
export interface InitOptions {
  /** The CPU-only module (`mnist-dae/wasm-cpu`), loaded by init() itself. */
  cpu?: InitInput | Promise<InitInput>;
  /** The full module (`mnist-dae/wasm`), fetched the first time a model goes to WebGPU. */
  webgpu?: InitInput | Promise<InitInput>;
}

/** Loads the CPU-only module; the WebGPU one waits until a model goes there. wasm-bindgen's own
 *  `{ module_or_path }` names the full module instead: loaded now, and everything runs on it. */
export default function init(options?: InitOptions | { module_or_path: InitInput | Promise<InitInput> }): Promise<unknown>;

/** `{ cpu }`: the CPU-only module now, the full one from `webgpu` on demand; `{ module }`: the
 *  full module, for everything. */
export function initSync(options: { cpu: SyncInitInput; webgpu?: InitInput | Promise<InitInput> } | { module: SyncInitInput }): unknown;
