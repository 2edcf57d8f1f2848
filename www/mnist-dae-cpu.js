// mnist-dae/cpu: the CPU-only module (no WebGPU; what the widget loads first).
import init, * as raw from './pkg-cpu/mnist_dae.js';
import { guarded } from './lib/guard.js';

export default init;
export const { initSync, add_noise, resolve_backend, has_webgpu, parameter_count, inject_conv_fault } = raw;
export const { Denoiser, Session } = guarded(raw);
