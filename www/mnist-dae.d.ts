// The API of mnist-dae: wasm-bindgen's typings, whose classes www/lib/guard.js wraps without
// changing their shape (a freed object rejects instead of throwing).
export * from './pkg/mnist_dae.js';
export { default } from './pkg/mnist_dae.js';
