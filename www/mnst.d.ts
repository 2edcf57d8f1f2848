// Typings of `mnist-dae/data` (www/mnst.js): the compact MNIST files ("MNST").

export interface MnstFile {
  /** Images in the file. */
  n: number;
  rows: 28;
  cols: 28;
  /** n labels, 0–9. */
  labels: Uint8Array;
  /** n × 784 grey levels, 0 = background, row-major. */
  pixels: Uint8Array;
  /** The whole (ungzipped) file: what `Session.create` takes. */
  bytes: Uint8Array;
  /** Images [start, start + count) as count × 784 values in [0, 1] (what `Denoiser` takes). */
  images(start?: number, count?: number): Float32Array;
}

/** Reads an ungzipped MNST file; throws an Error with `code` "invalid_input" naming what is wrong. */
export function parseMnst(bytes: Uint8Array | ArrayBuffer, what?: string): MnstFile;

/** Fetches a gzipped MNST file and reads it; `onProgress` gets the gzipped bytes so far. */
export function fetchMnst(url: string | URL, options?: { onProgress?: (loaded: number, total: number) => void }): Promise<MnstFile>;
