// Typings of `mnist-dae/widget`: the <mnist-dae> custom element (www/widget.js), its events and
// methods. Importing the module defines the element; the README's "Embed the widget" describes
// each attribute, event and method.

/** A control group the `controls` attribute can name. */
export type MnistDaeControlGroup =
  | 'train' | 'settings' | 'noise' | 'backend' | 'stats' | 'log' | 'digits' | 'plot' | 'pad' | 'inside' | 'latent' | 'data' | 'weights';

/** How a model left a failed GPU (the API's `Fallback`). */
export interface MnistDaeFallback {
  reason: string;
  failed_at: number;
  resumed_at: number;
  steps_lost: number;
}

export interface MnistDaeReadyDetail {
  mode: 'train' | 'denoise';
  backend: 'webgpu' | 'cpu';
  backendNote: string;
  softwareAdapter: boolean;
  /** On the CPU, the vector instructions the model's kernels run with ("wasm SIMD128 + relaxed
   *  (fused multiply-add)" where the browser runs relaxed SIMD, "wasm SIMD128" otherwise); null
   *  on WebGPU. */
  cpuKernels: string | null;
}
export interface MnistDaeDataDetail { train: number; test: number }
export interface MnistDaeStepDetail { step: number; loss: number }
export interface MnistDaeValidatedDetail { step: number; count: number; loss: number; psnrNoisy: number; psnr: number }
export interface MnistDaeEpochDetail {
  epoch: number; step: number; trainLoss: number; valLoss: number; psnrNoisy: number; psnr: number;
}
export interface MnistDaeBackendDetail { backend: 'webgpu' | 'cpu'; note: string; fallback: MnistDaeFallback | null }
export interface MnistDaeErrorDetail { message: string; code: string }

/** The element's own events (bubbling, composed); its `error` is this CustomEvent, not the
 *  ErrorEvent of HTMLElementEventMap. */
export interface MnistDaeElementEventMap {
  ready: CustomEvent<MnistDaeReadyDetail>;
  data: CustomEvent<MnistDaeDataDetail>;
  step: CustomEvent<MnistDaeStepDetail>;
  validated: CustomEvent<MnistDaeValidatedDetail>;
  epoch: CustomEvent<MnistDaeEpochDetail>;
  backend: CustomEvent<MnistDaeBackendDetail>;
  error: CustomEvent<MnistDaeErrorDetail>;
}

/** What a method rejects with: `code` is "mode", "not_connected", "invalid_input",
 *  "invalid_weights", "network" (a weights URL that did not answer with a file), or the
 *  worker's own. */
export interface MnistDaeError extends Error { code: string }

export class MnistDaeElement extends HTMLElement {
  /** The `mode` attribute: "denoise" unless it says "train". */
  readonly mode: 'train' | 'denoise';
  /** The `backend` attribute: "auto" unless it says "webgpu" or "cpu". */
  readonly backend: 'auto' | 'webgpu' | 'cpu';
  /** The `noise` attribute, 0–1 (0.5). */
  readonly noise: number;
  /** The `digits` attribute, 1–16. */
  readonly digits: number;
  /** The `epochs` attribute, 1–1000 (25). */
  readonly epochs: number;
  /** The control groups shown (the `controls` attribute's, else all of this mode's). */
  readonly controls: MnistDaeControlGroup[];
  /** The `heading-level` attribute, 1–5 (3): the level of the section headings. */
  readonly headingLevel: number;

  /** Train mode: starts training once the element is ready. */
  train(): Promise<void>;
  /** Train mode: pauses; resolves when the step on its way is done, validated and saved. */
  pause(): Promise<void>;
  /** Loads safetensors weights from bytes or a URL (relative to the page); refused weights
   *  reject and leave the model as it was. */
  loadWeights(source: Uint8Array | ArrayBuffer | DataView | string | URL): Promise<void>;
  /** The current weights as a safetensors file. */
  saveWeights(): Promise<Uint8Array>;

  addEventListener<K extends keyof MnistDaeElementEventMap>(type: K,
    listener: (this: MnistDaeElement, ev: MnistDaeElementEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions): void;
  addEventListener<K extends keyof HTMLElementEventMap>(type: K,
    listener: (this: MnistDaeElement, ev: HTMLElementEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof MnistDaeElementEventMap>(type: K,
    listener: (this: MnistDaeElement, ev: MnistDaeElementEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions): void;
  removeEventListener<K extends keyof HTMLElementEventMap>(type: K,
    listener: (this: MnistDaeElement, ev: HTMLElementEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'mnist-dae': MnistDaeElement;
  }
}
