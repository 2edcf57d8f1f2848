// mnist-dae/data: the compact MNIST files the widget and `Session` take — `sample.bin.gz` in the
// package (100 test digits, ten of each), and the full sets `npx mnist-dae-data DIR` writes
// (mnist-train.bin.gz: 55,000 images, mnist-test.bin.gz: 10,000). Each is gzipped; inside:
// "MNST", then u32 little-endian count n, rows (28) and columns (28), then n labels (u8), then
// n × 784 pixels (u8, 0 = background), row-major.

const HEADER = 16;

/** An Error with a stable `code`, as the package's API rejects with. */
const invalid = (message) => Object.assign(new Error(message), { name: 'MnistDaeError', code: 'invalid_input' });

/** Reads an ungzipped MNST file: `{n, rows, cols, labels, pixels, bytes, images(start, count)}`
 *  where `images` gives Float32Array of count × 784 values in [0, 1] (what `Denoiser` takes). */
export function parseMnst(bytes, what = 'MNST file') {
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
  if (!(bytes instanceof Uint8Array)) throw invalid(`${what}: expected a Uint8Array or an ArrayBuffer, got ${bytes === null ? 'null' : typeof bytes}`);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic === 'MNST' && bytes.length < HEADER) throw invalid(`${what}: expected a ${HEADER}-byte header, got a file of ${bytes.length} bytes`);
  if (magic !== 'MNST') {
    const start = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    // RFC 1952: a gzip member starts 1f 8b; the files are shipped gzipped (fetchMnst unpacks them).
    const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (gzip: decompress it first)' : '';
    throw invalid(`${what}: expected an "MNST" file (4d 4e 53 54 …), got ${bytes.length} bytes${start ? ` starting ${start}` : ''}${gzip}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [n, rows, cols] = [view.getUint32(4, true), view.getUint32(8, true), view.getUint32(12, true)];
  const size = rows * cols;
  if (rows !== 28 || cols !== 28) throw invalid(`${what}: expected 28 × 28 images, got ${rows} × ${cols}`);
  if (bytes.length !== HEADER + n * (1 + size)) throw invalid(`${what}: expected ${HEADER + n * (1 + size)} bytes for ${n} images, got ${bytes.length}`);
  const labels = bytes.subarray(HEADER, HEADER + n);
  const pixels = bytes.subarray(HEADER + n);
  return {
    n, rows, cols, labels, pixels, bytes,
    images(start = 0, count = n - start) {
      if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > n) {
        throw invalid(`images: expected a range within 0..${n}, got start ${start}, count ${count}`);
      }
      return Float32Array.from(pixels.subarray(start * size, (start + count) * size), (v) => v / 255);
    },
  };
}

/** Fetches a gzipped MNST file (`onProgress(loaded, total)` as it downloads, in gzipped bytes)
 *  and reads it, as `parseMnst`. Works in browsers, workers and Node 20. */
export async function fetchMnst(url, { onProgress } = {}) {
  const response = await fetch(url);
  if (!response.ok) {
    throw Object.assign(new Error(`${url}: expected an MNIST file (npx mnist-dae-data writes them; the widget's data attribute says where they are), got HTTP ${response.status}`), { name: 'MnistDaeError', code: 'network' });
  }
  const total = Number(response.headers.get('content-length')) || 0;
  let loaded = 0;
  const counted = response.body.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      loaded += chunk.byteLength;
      onProgress?.(loaded, total);
      controller.enqueue(chunk);
    },
  }));
  const bytes = new Uint8Array(await new Response(counted.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  return parseMnst(bytes, String(url));
}
