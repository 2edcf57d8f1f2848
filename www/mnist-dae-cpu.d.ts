// The API of mnist-dae/cpu: the same as mnist-dae's, from the CPU-only build.
export * from './pkg-cpu/mnist_dae.js';
export { default } from './pkg-cpu/mnist_dae.js';
