// <mnist-dae>: the denoising autoencoder as a custom element. One UI for the demo page, the
// tutorial and anyone who embeds it:
//
//   <script type="module" src="…/mnist-dae/www/widget.js"></script>
//   <mnist-dae mode="denoise"></mnist-dae>
//
// Attributes: mode ("train" | "denoise"), backend ("auto" | "webgpu" | "cpu"), noise (0–1),
// digits (panel columns), weights (URL of a safetensors file; default: the shipped pretrained
// weights), data (base URL of the compact MNIST files; default www/data/), autoplay (train:
// start training when ready), epochs (train), controls (the groups shown). Events: ready, data,
// step, validated, epoch, backend, error. Methods: train(), pause(), loadWeights(bytes | url),
// saveWeights(). The README's "Embed the widget" has each one. Shadow DOM, no globals; each
// element runs its own module worker, terminated when the element is removed.
// Styling: CSS custom properties --mnist-dae-* and ::part().
//
// This file only defines the element (its path is what embedders use); the element and its
// parts are in widget/: element.js (attributes, lifecycle, status, log), client.js (the worker
// protocol), denoise-view.js and train-view.js (one view per mode), strip.js, pad.js, plot.js,
// style.js.
import { MnistDaeElement } from './widget/element.js';

export { MnistDaeElement };

if (!customElements.get('mnist-dae')) customElements.define('mnist-dae', MnistDaeElement);
