// mnist-dae, the full module (CPU and WebGPU): `import init, { Denoiser, Session } from
// 'mnist-dae'`. The CPU-only module, a fraction of the size, is `mnist-dae/cpu`.
import init, * as raw from './pkg/mnist_dae.js';
import { guarded } from './lib/guard.js';

export default init;
export const { initSync, add_noise, resolve_backend, has_webgpu, parameter_count, inject_conv_fault } = raw;
export const { Denoiser, Session } = guarded(raw);
