// The compact MNIST files (scripts/data.mjs writes them): fetched with progress, gunzipped here
// (they are served as .gz files, not with Content-Encoding) and handed to the wasm session as
// bytes, which parses and checks them.

/** `{bytes: Uint8Array, n}` of the file at `url`; `report(loaded, total)` as it downloads. */
export async function fetchSet(url, report) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`${url}: expected an MNIST file (npx mnist-dae-data writes them; the widget's data attribute says where they are), got HTTP ${response.status}`);
  }
  const total = Number(response.headers.get('content-length')) || 0;
  let loaded = 0;
  const counted = response.body.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      loaded += chunk.byteLength;
      report(loaded, total);
      controller.enqueue(chunk);
    },
  }));
  const bytes = new Uint8Array(await new Response(counted.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== 'MNST' || bytes.length < 16) {
    throw new Error(`${url}: expected an "MNST" file, got ${bytes.length} bytes starting "${magic}"`);
  }
  return { bytes, n: new DataView(bytes.buffer).getUint32(4, true) };
}
