// The full module (CPU and WebGPU, www/pkg) behind the guard, as one build: what the default
// entry (www/mnist-dae.js) and the widget's worker load when a model goes to WebGPU.
import init, * as raw from '../pkg/mnist_dae.js';
import { guarded } from './guard.js';

export default init;
export const { initSync, add_noise, resolve_backend, has_webgpu, parameter_count, inject_conv_fault, simd_level } = raw;
export const { Denoiser, Session } = guarded(raw);
