// The worker behind mnist-dae/client (www/client.js): one Denoiser of the package's API, one
// request at a time — `{id, type, ...}` in, `{id, ok, result | error, code, info}` out, `info`
// being where the model runs now. The backend policy answers through the small CPU-only module
// (worker/modules.js); the full one is fetched only when the model goes to WebGPU.
import { moduleFor, place } from './worker/modules.js';

let model = null;
let note = null; // the policy's reason when "auto" chose the CPU

const need = () => {
  if (!model) throw Object.assign(new Error('expected Denoiser.create() first, got a call before it'), { code: 'invalid_input' });
  return model;
};
const info = () => (model ? { backend: model.backend, backend_note: note ?? model.backend_note, fallback: model.fallback ?? null, software_adapter: model.software_adapter } : null);

const handlers = {
  async create({ options = {} }) {
    const placement = (options?.backend ?? 'auto') === 'auto' ? await place('auto') : { backend: options.backend, note: null };
    const { Denoiser } = await moduleFor(placement.backend);
    model = await Denoiser.create({ ...options, backend: placement.backend });
    note = placement.backend === 'cpu' && options?.backend !== 'cpu' ? placement.note : null;
    return null;
  },
  train_step: ({ noisy, clean }) => need().train_step(noisy, clean),
  evaluate: ({ noisy, clean }) => need().evaluate(noisy, clean),
  denoise: ({ noisy }) => need().denoise(noisy),
  trace: ({ images }) => need().trace(images),
  parameters: () => need().parameters(),
  encode: ({ images }) => need().encode(images),
  decode: ({ codes }) => need().decode(codes),
  interpolate: ({ from, to, steps }) => need().interpolate(from, to, steps),
  latent_map: ({ images }) => need().latent_map(images),
  load_weights: ({ file }) => need().load_weights(file),
  save_weights: () => need().save_weights(),
  set_learning_rate: ({ learning_rate: rate }) => need().set_learning_rate(rate),
  activation: () => need().activation(),
  steps: () => need().steps(),
};

let queue = Promise.resolve();
self.onmessage = ({ data: message }) => {
  const { id, type } = message;
  queue = queue.then(async () => {
    try {
      const handler = handlers[type];
      if (!handler) throw Object.assign(new Error(`unknown request "${type}" (expected one of ${Object.keys(handlers).join(', ')})`), { code: 'invalid_input' });
      const result = await handler(message);
      const transfer = ArrayBuffer.isView(result) ? [result.buffer]
        : Array.isArray(result) ? result.map((a) => a?.values?.buffer).filter(Boolean)
          : result && typeof result === 'object' ? Object.values(result).filter((v) => ArrayBuffer.isView(v)).map((v) => v.buffer) : [];
      self.postMessage({ id, ok: true, result, info: info() }, transfer);
    } catch (e) {
      self.postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e), code: e?.code ?? 'error', info: info() });
    }
  });
};
