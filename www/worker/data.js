// The compact MNIST files for the worker: fetched with progress and read by the package's own
// loader (www/mnst.js); the wasm session parses and checks the bytes again.
import { fetchMnst } from '../mnst.js';

/** `{bytes: Uint8Array, n}` of the file at `url`; `report(loaded, total)` as it downloads. */
export async function fetchSet(url, report) {
  const { bytes, n } = await fetchMnst(url, { onProgress: report });
  return { bytes, n };
}
