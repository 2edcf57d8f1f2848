// Typings of `mnist-dae/client` (www/client.js): the package's Denoiser in a module worker.
import type { DenoiserOptions, Fallback, LatentMap, NamedArray } from './pkg/mnist_dae.js';

export type { DenoiserOptions, Fallback, LatentMap, NamedArray };

/** The Denoiser of `mnist-dae`, run in its own worker: the same methods and promises; failures
 *  reject with an Error whose `code` is the module's ("invalid_input", "invalid_weights",
 *  "backend", "freed"). */
export class Denoiser {
  private constructor();
  /** A model in its own worker, placed by the backend policy. */
  static create(options?: DenoiserOptions): Promise<Denoiser>;
  /** "webgpu" or "cpu": where the model ran at its last reply. */
  readonly backend: 'webgpu' | 'cpu';
  /** The adapter's description, or why the model is on the CPU. */
  readonly backend_note: string;
  /** How the model left a failed GPU, if it did. */
  readonly fallback: Fallback | null;
  /** True when WebGPU runs on a software adapter. */
  readonly software_adapter: boolean;
  /** One Adam step; resolves to the batch's loss before the update. */
  train_step(noisy: Float32Array, clean: Float32Array): Promise<number>;
  /** Loss of the reconstruction of `noisy` against `clean`; the weights are not touched. */
  evaluate(noisy: Float32Array, clean: Float32Array): Promise<number>;
  /** Reconstruction of `noisy` (flat n × 784 in [0, 1]). */
  denoise(noisy: Float32Array): Promise<Float32Array>;
  /** Every stage's maps of the forward pass over `images` (n ≤ 16), in order. */
  trace(images: Float32Array): Promise<NamedArray[]>;
  /** The parameters with their names and shapes, in the weights file's order. */
  parameters(): Promise<NamedArray[]>;
  /** Latent codes of `images`: flat n × 1568 (each image's [32, 7, 7] code). */
  encode(images: Float32Array): Promise<Float32Array>;
  /** Images the decoder makes of `codes` (flat n × 1568): flat n × 784. */
  decode(codes: Float32Array): Promise<Float32Array>;
  /** `steps` (2 to 32) images decoded from blends of the codes of `from` and `to` (784 each). */
  interpolate(from: Float32Array, to: Float32Array, steps: number): Promise<Float32Array>;
  /** Where the codes of `images` (n ≥ 2) lie on their own two principal axes. */
  latent_map(images: Float32Array): Promise<LatentMap>;
  /** Replaces the weights with a safetensors file; on rejection nothing changed. */
  load_weights(file: Uint8Array | ArrayBuffer | DataView): Promise<void>;
  /** The weights as a safetensors file. */
  save_weights(): Promise<Uint8Array>;
  /** Adam's step size from the next step on. */
  set_learning_rate(learning_rate: number): Promise<void>;
  /** The hidden activation. */
  activation(): Promise<'leaky_relu' | 'relu'>;
  /** Optimiser steps since creation or the last load_weights. */
  steps(): Promise<number>;
  /** Ends the worker; every later call rejects with code "freed". */
  free(): void;
  [Symbol.dispose](): void;
}
