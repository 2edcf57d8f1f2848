//! `Session`: the whole training run in the browser — the same [`crate::session::Session`] the
//! native trainer runs, over the compact MNIST files held in wasm memory.

use std::cell::RefCell;
use std::rc::Rc;

use burn::prelude::Device;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::fallback::{Fallback, Guarded, Movable, Outcome, Where};
use super::input::{blend_args, bytes, floats, index, indices, integer, number};
use super::options::{
    ModelOptions, SessionOptions, Settings, f32s, fallback_object, latent_map_object, named_arrays, object, parse,
    to_js,
};
use super::queue::Serial;
use super::{gpu, promise};
use crate::data::Mnist;
use crate::error::DaeError;
use crate::input::{MAX_IMAGES, MAX_TRACE_IMAGES, check_seed};
use crate::latent::MAP_CODES;
use crate::session::{EpochRecord, SessionState, Split, StepReport};

type Core = crate::session::Session;

impl Movable for Core {
    /// The state and the weights (Adam's moments start afresh from a copy).
    type Copy = (SessionState, Vec<u8>);

    fn steps(&self) -> u64 {
        Core::steps(self)
    }

    async fn copy(&self) -> Result<Self::Copy, DaeError> {
        Ok((self.state(), self.save_weights().await?))
    }

    fn restore(&mut self, (state, weights): Self::Copy, device: &Device) -> Result<(), DaeError> {
        Core::restore(self, state, &weights, device)
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TS_SESSION: &'static str = r#"
/** Where a session stands: what the page shows. */
export interface SessionStatus {
  steps: number; epoch: number; epochs: number; steps_in_epoch: number; steps_per_epoch: number;
  images_in_epoch: number; train_images: number; val_images: number; batch_size: number;
  noise_factor: number; val_noise_factor: number; learning_rate: number;
  activation: "leaky_relu" | "relu"; total_seconds: number; finished: boolean;
}
/** One training step. */
export interface StepReport {
  loss: number; steps: number; epoch: number; steps_in_epoch: number; steps_per_epoch: number;
  images: number; seconds: number; learning_rate: number; images_per_second: number;
}
/** One finished epoch: the row the native trainer writes to history.csv. */
export interface EpochRecord {
  epoch: number; steps: number; train_loss: number; val_loss: number; psnr_noisy: number;
  psnr_denoised: number; learning_rate: number; seconds: number;
}
/** Loss and PSNR (dB) on validation images. */
export interface Evaluation { count: number; loss: number; psnr_noisy: number; psnr_denoised: number; }
/** What `Session.train` did. `fallback`: the WebGPU device failed during the call, and the
 *  session went back to its host copy on the CPU; `reports` and `epochs` keep only what the copy
 *  holds, and the call stopped there. */
export interface TrainReport {
  reports: StepReport[]; epochs: EpochRecord[]; status: SessionStatus; fallback?: Fallback;
}
"#;

/// A training run over MNIST: the shuffled epochs, the training noise, the validation set with
/// its fixed noise, the schedule and the history. Calls settle in the order they were made.
#[wasm_bindgen]
pub struct Session {
    inner: Serial<Guarded<Core>>,
    at: Rc<RefCell<Where>>,
}

impl Session {
    fn new(session: Guarded<Core>) -> Self {
        Self { at: session.at.clone(), inner: Serial::new(session) }
    }
}

#[derive(Serialize)]
struct Status<'a> {
    steps: u64,
    epoch: usize,
    epochs: usize,
    steps_in_epoch: usize,
    steps_per_epoch: usize,
    images_in_epoch: usize,
    train_images: usize,
    val_images: usize,
    batch_size: usize,
    noise_factor: f64,
    val_noise_factor: f64,
    learning_rate: f64,
    activation: &'a str,
    total_seconds: f64,
    finished: bool,
}

/// An f32 setting as the number it was given as (0.9, not 0.8999999761581421): its shortest
/// decimal form, read as an f64.
fn shortest(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(v as f64)
}

fn status(s: &crate::session::Session) -> Result<JsValue, DaeError> {
    let (c, p) = (s.config(), s.progress());
    to_js(&Status {
        steps: s.steps(),
        epoch: p.epoch,
        epochs: c.epochs,
        steps_in_epoch: p.steps_in_epoch,
        steps_per_epoch: c.steps_per_epoch(),
        images_in_epoch: p.images_in_epoch,
        train_images: c.train_images,
        val_images: c.val_images,
        batch_size: c.batch_size,
        noise_factor: shortest(c.noise_factor),
        val_noise_factor: shortest(c.val_noise_factor),
        learning_rate: c.learning_rate,
        activation: c.activation.name(),
        total_seconds: p.total_seconds,
        finished: s.finished(),
    })
}

#[derive(Serialize)]
struct TrainReport {
    reports: Vec<StepReport>,
    epochs: Vec<EpochRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback: Option<Fallback>,
}

fn datasets(train: &JsValue, test: &JsValue) -> Result<(Mnist, Mnist), DaeError> {
    let train = Mnist::from_mnst(&bytes("train", train)?).map_err(|e| e.within("train"))?;
    let test = Mnist::from_mnst(&bytes("test", test)?).map_err(|e| e.within("test"))?;
    if train.is_empty() || test.is_empty() {
        return Err(DaeError::Input(format!(
            "datasets: expected at least one training and one test image, got {} and {}",
            train.len(),
            test.len()
        )));
    }
    Ok((train, test))
}

#[wasm_bindgen]
impl Session {
    /// A new session where the backend policy puts it (`options.backend`, default "auto"),
    /// training on `train` and validating on the first `val_images` of `test`: compact MNIST
    /// files ("MNST", uncompressed; `mnist-dae-data` writes them gzipped) as bytes.
    #[wasm_bindgen(unchecked_return_type = "Promise<Session>")]
    pub fn create(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] train: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] test: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "SessionOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let args = parse::<SessionOptions>("options", &options).and_then(|o| Ok((o, datasets(&train, &test)?)));
        promise(async move {
            let (options, (train, test)) = args?;
            let config = options.config(train.len(), test.len())?;
            let (placement, target) = gpu::place(options.backend).await?;
            let session = Core::new(config, train, test, &target.device())?;
            Ok(Session::new(Guarded::new(session, target, placement, None).await?).into())
        })
    }

    /// Continues a session from `state` (what `state()` gave) and `weights` (what
    /// `save_weights()` gave), on `options.backend` (the other fields of `options` are refused:
    /// the state holds them). Adam's moments start afresh.
    #[wasm_bindgen(unchecked_return_type = "Promise<Session>")]
    pub fn resume(
        #[wasm_bindgen(unchecked_param_type = "object")] state: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer | DataView")] weights: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] train: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] test: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{backend?: \"auto\" | \"webgpu\" | \"cpu\"}")] options: JsValue,
    ) -> js_sys::Promise {
        let args = (|| {
            let saved = |at: &str, why: &str| {
                DaeError::Weights(format!("saved training{at} (what Session.state() gave): {why}"))
            };
            let state = super::options::deep_copy(&state).map_err(|why| saved("", &why))?;
            let state: SessionState = super::options::from_object(&state).map_err(|(at, why)| saved(&at, &why))?;
            let options = parse::<ModelOptions>("options", &options)?;
            if options.seed.is_some() || options.learning_rate.is_some() || options.activation.is_some() {
                return Err(DaeError::Input("options: expected only \"backend\" (the state holds the rest)".into()));
            }
            Ok((state, bytes("weights", &weights)?, datasets(&train, &test)?, options.backend))
        })();
        promise(async move {
            let (state, weights, (train, test), backend) = args?;
            let (placement, target) = gpu::place(backend).await?;
            let copy = (state.clone(), weights.clone());
            let session = Core::resume(state, &weights, train, test, &target.device())?;
            Ok(Session::new(Guarded::new(session, target, placement, Some(copy)).await?).into())
        })
    }

    /// `"webgpu"` or `"cpu"`: what actually runs.
    #[wasm_bindgen(getter, unchecked_return_type = "\"webgpu\" | \"cpu\"")]
    pub fn backend(&self) -> String {
        self.at.borrow().placement.name().into()
    }

    /// The adapter's description, or why the session is on the CPU.
    #[wasm_bindgen(getter)]
    pub fn backend_note(&self) -> String {
        self.at.borrow().placement.note().into()
    }

    /// True when WebGPU runs on a software adapter.
    #[wasm_bindgen(getter)]
    pub fn software_adapter(&self) -> bool {
        self.at.borrow().placement.software()
    }

    /// How the session left WebGPU, if it did: `{reason, failed_at, resumed_at, steps_lost}`, or
    /// null. On WebGPU the session keeps a host copy at most 5 steps old; when the device fails,
    /// it goes on on the CPU from that copy.
    #[wasm_bindgen(getter, unchecked_return_type = "Fallback | null")]
    pub fn fallback(&self) -> JsValue {
        fallback_object(self.at.borrow().fallback.as_ref())
    }

    /// Up to `steps` (1 to 1,000) training steps; an epoch that completes is closed at once with
    /// a validation on every validation image. Stops early when the last epoch is done.
    #[wasm_bindgen(unchecked_return_type = "Promise<TrainReport>")]
    pub fn train(&self, #[wasm_bindgen(unchecked_param_type = "number")] steps: JsValue) -> js_sys::Promise {
        let args = integer("steps", &steps, 1, 1000);
        self.inner.call(args, |s, steps| async move {
            let mut s = s.lock().await;
            let mut report = TrainReport { reports: Vec::new(), epochs: Vec::new(), fallback: None };
            for _ in 0..steps {
                if s.get().finished() {
                    break;
                }
                let step = async |s: &mut Core| {
                    let r = s.step().await?;
                    let e = if s.epoch_complete() { Some(s.finish_epoch().await?) } else { None };
                    Ok((r, e))
                };
                match s.attempt(false, step).await? {
                    Outcome::Done((r, e)) => {
                        report.reports.push(r);
                        report.epochs.extend(e);
                    }
                    Outcome::FellBack(f) => {
                        // What the copy does not hold did not happen.
                        report.reports.retain(|r| r.steps <= f.resumed_at);
                        let epochs = s.get().history().len();
                        report.epochs.retain(|e| e.epoch <= epochs);
                        report.fallback = Some(f);
                        break;
                    }
                }
            }
            let out = to_js(&report)?;
            let _ = js_sys::Reflect::set(&out, &"status".into(), &status(s.get())?);
            Ok(out)
        })
    }

    /// Loss and PSNR on the first `count` validation images (default: all of the session's),
    /// with the session's fixed validation noise.
    #[wasm_bindgen(unchecked_return_type = "Promise<Evaluation>")]
    pub fn validate(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] count: JsValue,
    ) -> js_sys::Promise {
        let args = if count.is_undefined() { Ok(None) } else { integer("count", &count, 0, 10_000).map(Some) };
        self.inner.call(args, |s, count| async move {
            to_js(&s.lock().await.run(false, async |s| s.validate(count).await).await?)
        })
    }

    /// Test images `indices` with noise of `noise` from `seed`, and their reconstructions:
    /// `{clean, noisy, denoised: Float32Array, labels: Uint8Array}`.
    #[wasm_bindgen(
        unchecked_return_type = "Promise<{clean: Float32Array, noisy: Float32Array, denoised: Float32Array, labels: Uint8Array}>"
    )]
    pub fn panels(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number[] | Uint32Array")] image_indices: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] noise: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
    ) -> js_sys::Promise {
        let args = (|| {
            let list = indices("indices", &image_indices, usize::MAX)?;
            Ok::<_, DaeError>((list, number("noise", &noise)? as f32, check_seed(number("seed", &seed)?)?))
        })();
        self.inner.call(args, |s, (list, noise, seed)| async move {
            let p = s.lock().await.run(false, async |s| s.panels(&list, noise, seed).await).await?;
            Ok(object(&[
                ("clean", f32s(&p.clean)),
                ("noisy", f32s(&p.noisy)),
                ("denoised", f32s(&p.denoised)),
                ("labels", js_sys::Uint8Array::from(p.labels.as_slice()).into()),
            ]))
        })
    }

    /// Caller-supplied images (flat `n × 784` in [0, 1]) with noise of `noise` from `seed`, and
    /// their reconstructions: `{noisy, denoised}`.
    #[wasm_bindgen(unchecked_return_type = "Promise<{noisy: Float32Array, denoised: Float32Array}>")]
    pub fn denoise(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Float32Array")] images: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] noise: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
    ) -> js_sys::Promise {
        let args = (|| {
            let images = floats("images", &images, MAX_IMAGES)?;
            Ok::<_, DaeError>((images, number("noise", &noise)? as f32, check_seed(number("seed", &seed)?)?))
        })();
        self.inner.call(args, |s, (images, noise, seed)| async move {
            let noisy = crate::noise::add_noise(&images, noise, seed)?;
            let denoised = s.lock().await.run(false, async |s| s.trainer().denoise(&noisy).await).await?;
            Ok(object(&[("noisy", f32s(&noisy)), ("denoised", f32s(&denoised))]))
        })
    }

    /// Every stage's maps of the current model's forward pass over `images` (flat `n × 784` in
    /// [0, 1], n ≤ 16): as `Denoiser.trace`.
    #[wasm_bindgen(unchecked_return_type = "Promise<NamedArray[]>")]
    pub fn trace(&self, #[wasm_bindgen(unchecked_param_type = "Float32Array")] images: JsValue) -> js_sys::Promise {
        self.inner.call(floats("images", &images, MAX_TRACE_IMAGES), |s, images| async move {
            let maps = s.lock().await.run(false, async |s| s.trainer().trace(&images).await).await?;
            Ok(named_arrays(&maps))
        })
    }

    /// Where the codes of the first `count` test images (default 1,000, at most the test
    /// set) lie on their own two principal axes, with the images' labels:
    /// `{x, y, explained, labels}`.
    #[wasm_bindgen(unchecked_return_type = "Promise<LatentMap & {labels: Uint8Array}>")]
    pub fn latent_map(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] count: JsValue,
    ) -> js_sys::Promise {
        let args = if count.is_undefined() { Ok(MAP_CODES) } else { integer("count", &count, 2, MAX_IMAGES) };
        self.inner.call(args, |s, count| async move {
            let (map, labels) = s.lock().await.run(false, async |s| s.latent_map(count).await).await?;
            Ok(latent_map_object(&map, Some(&labels)))
        })
    }

    /// An interpolation strip between two images with the current model: as
    /// `Denoiser.interpolate`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn interpolate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Float32Array")] from: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Float32Array")] to: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] steps: JsValue,
    ) -> js_sys::Promise {
        self.inner.call(blend_args(&from, &to, &steps), |s, (from, to, steps)| async move {
            let strip = s.lock().await.run(false, async |s| s.trainer().interpolate(&from, &to, steps).await).await?;
            Ok(f32s(&strip))
        })
    }

    /// The current model's parameters with their names and shapes: as `Denoiser.parameters`.
    #[wasm_bindgen(unchecked_return_type = "Promise<NamedArray[]>")]
    pub fn parameters(&self) -> js_sys::Promise {
        self.inner.call(Ok(()), |s, ()| async move {
            let params = s.lock().await.run(false, async |s| s.trainer().parameters().await).await?;
            Ok(named_arrays(&params))
        })
    }

    /// Image `index` of `"train"` or `"test"` with its label: `{image, label}`.
    #[wasm_bindgen(unchecked_return_type = "Promise<{image: Float32Array, label: number}>")]
    pub fn image(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"train\" | \"test\"")] split: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] at: JsValue,
    ) -> js_sys::Promise {
        let args = match split.as_string().as_deref() {
            Some("train") => Ok(Split::Train),
            Some("test") => Ok(Split::Test),
            _ => Err(DaeError::Input(format!(
                "split: expected \"train\" or \"test\", got {}",
                super::input::describe(&split)
            ))),
        }
        .and_then(|split| Ok((split, number("index", &at)?)));
        self.inner.call(args, |s, (split, at)| async move {
            let s = s.lock().await;
            let s = s.get();
            let i = index("index", &JsValue::from_f64(at), s.len(split))?;
            let (image, label) = s.image(split, i)?;
            Ok(object(&[("image", f32s(&image)), ("label", JsValue::from(label))]))
        })
    }

    /// Where the session stands.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionStatus>")]
    pub fn status(&self) -> js_sys::Promise {
        self.inner.call(Ok(()), |s, ()| async move { status(s.lock().await.get()) })
    }

    /// Changes settings from the next step on (all checked first: on rejection none changes);
    /// resolves to the new status. The validation noise is not among them: it stays fixed.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionStatus>")]
    pub fn configure(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SessionSettings")] settings: JsValue,
    ) -> js_sys::Promise {
        self.inner.call(parse::<Settings>("settings", &settings), |s, set| async move {
            let mut s = s.lock().await;
            let s = s.get_mut();
            let mut config = s.config().clone();
            if let Some(v) = set.epochs {
                config.epochs = v;
            }
            if let Some(v) = set.batch_size {
                config.batch_size = v;
            }
            if let Some(v) = set.noise_factor {
                config.noise_factor = v;
            }
            if let Some(v) = set.learning_rate {
                config.learning_rate = v;
            }
            config.validate()?;
            s.set_epochs(config.epochs)?;
            s.set_batch_size(config.batch_size)?;
            s.set_noise_factor(config.noise_factor)?;
            s.set_learning_rate(config.learning_rate)?;
            status(s)
        })
    }

    /// Everything but the weights needed to continue (`Session.resume`): a plain object that
    /// survives JSON and IndexedDB.
    #[wasm_bindgen(unchecked_return_type = "Promise<object>")]
    pub fn state(&self) -> js_sys::Promise {
        self.inner.call(Ok(()), |s, ()| async move { to_js(&s.lock().await.get().state()) })
    }

    /// One row per finished epoch.
    #[wasm_bindgen(unchecked_return_type = "Promise<EpochRecord[]>")]
    pub fn history(&self) -> js_sys::Promise {
        self.inner.call(Ok(()), |s, ()| async move { to_js(&s.lock().await.get().history()) })
    }

    /// The weights as a safetensors file.
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array>")]
    pub fn save_weights(&self) -> js_sys::Promise {
        self.inner.call(Ok(()), |s, ()| async move {
            let file = s.lock().await.run(false, async |s| s.save_weights().await).await?;
            Ok(js_sys::Uint8Array::from(file.as_slice()).into())
        })
    }

    /// Replaces the weights (validated first: on rejection nothing changes) and starts the
    /// session over from step 0 with them; resolves to the new status.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionStatus>")]
    pub fn load_weights(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer | DataView")] file: JsValue,
    ) -> js_sys::Promise {
        self.inner.call(bytes("weights", &file), |s, file| async move {
            let mut s = s.lock().await;
            s.run(true, async |s| s.load_weights(&file)).await?;
            status(s.get())
        })
    }
}
