// Where the widget's files are. Literal `new URL('…', import.meta.url)`: bundlers (Vite, webpack,
// Parcel) see these and ship the files with the bundle; without a bundler they resolve inside
// the package's www/.
export const DEFAULT_WEIGHTS = new URL('../pretrained/mnist-dae.safetensors', import.meta.url).href;
// The shipped weights' training, one row per epoch: the plot shows it after "Load pretrained".
export const DEFAULT_HISTORY = new URL('../pretrained/history.csv', import.meta.url).href;
export const SAMPLE = new URL('../data/sample.bin.gz', import.meta.url).href;
// The full training set is not part of the npm package (only the sample is): train mode looks for
// it in www/data/ unless the `data` attribute says where (`npx mnist-dae-data DIR` writes it).
export const DEFAULT_DATA = new URL('../data/', import.meta.url).href;
