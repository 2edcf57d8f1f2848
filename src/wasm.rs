//! The JavaScript API, and the only file that knows about wasm-bindgen.
//!
//! Every method copies its typed arrays in at call time and returns a promise. Calls on one
//! `Denoiser` are queued behind an async mutex, so overlapping calls run one after the other
//! instead of tripping wasm-bindgen's "recursive use of an object" guard.

use std::cell::RefCell;
use std::rc::Rc;

use burn::prelude::Device;
use futures_util::lock::Mutex;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::DaeError;
use crate::input::{check_range, check_seed};
use crate::model::Activation;
use crate::train::{Trainer, TrainerConfig};

#[wasm_bindgen(typescript_custom_section)]
const TS_OPTIONS: &'static str = r#"
/** Options of `Denoiser.create`; every field is optional. */
export interface DenoiserOptions {
  /** "auto" (default): WebGPU when an adapter and device can be had, else the CPU.
   *  "webgpu": WebGPU or a rejected promise. "cpu": burn's flex backend in wasm. */
  backend?: "auto" | "webgpu" | "cpu";
  /** Seed of the initial weights (integer, 0 ≤ seed < 2^53); default 0. */
  seed?: number;
  /** Adam step size; default 1e-3 (the tutorial's). */
  learning_rate?: number;
  /** Hidden activation; default "leaky_relu" (the tutorial's, slope 0.1). */
  activation?: "leaky_relu" | "relu";
}
"#;

fn js_error(e: DaeError) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// Reads an optional field of the options object, refusing values of the wrong JS type.
fn field(options: &JsValue, key: &str) -> Result<Option<JsValue>, DaeError> {
    let value = Reflect::get(options, &JsValue::from_str(key))
        .map_err(|_| DaeError::Input(format!("options.{key}: could not be read")))?;
    Ok((!value.is_undefined()).then_some(value))
}

fn string_field(options: &JsValue, key: &str, allowed: &str) -> Result<Option<String>, DaeError> {
    match field(options, key)? {
        None => Ok(None),
        Some(v) => v.as_string().map(Some).ok_or_else(|| {
            DaeError::Input(format!("options.{key}: expected {allowed}, got {v:?}"))
        }),
    }
}

fn number_field(options: &JsValue, key: &str) -> Result<Option<f64>, DaeError> {
    match field(options, key)? {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| DaeError::Input(format!("options.{key}: expected a number, got {v:?}"))),
    }
}

/// Parsed `DenoiserOptions`.
struct Options {
    backend: String,
    config: TrainerConfig,
}

fn parse_options(options: &JsValue) -> Result<Options, DaeError> {
    let mut config = TrainerConfig::tutorial(Activation::LeakyRelu);
    if options.is_undefined() || options.is_null() {
        return Ok(Options { backend: "auto".into(), config });
    }
    if !options.is_object() {
        return Err(DaeError::Input(format!("options: expected an object, got {options:?}")));
    }
    const KNOWN: [&str; 4] = ["backend", "seed", "learning_rate", "activation"];
    for key in Object::keys(options.unchecked_ref::<Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !KNOWN.contains(&key.as_str()) {
            return Err(DaeError::Input(format!(
                "options: expected only keys {KNOWN:?}, got unknown key {key:?}"
            )));
        }
    }
    let backend = string_field(options, "backend", "\"auto\", \"webgpu\" or \"cpu\"")?
        .unwrap_or_else(|| "auto".into());
    if !["auto", "webgpu", "cpu"].contains(&backend.as_str()) {
        return Err(DaeError::Input(format!(
            "options.backend: expected \"auto\", \"webgpu\" or \"cpu\", got {backend:?}"
        )));
    }
    if let Some(seed) = number_field(options, "seed")? {
        config.seed = check_seed(seed)?;
    }
    if let Some(lr) = number_field(options, "learning_rate")? {
        config.learning_rate = check_range("options.learning_rate", lr, f64::MIN_POSITIVE, 1.0)?;
    }
    if let Some(name) = string_field(options, "activation", "\"leaky_relu\" or \"relu\"")? {
        config.model.activation = Activation::parse(&name).ok_or_else(|| {
            DaeError::Input(format!(
                "options.activation: expected \"leaky_relu\" or \"relu\", got {name:?}"
            ))
        })?;
    }
    Ok(Options { backend, config })
}

/// What a WebGPU device came with: the burn device and a line about the adapter.
#[derive(Clone)]
struct Gpu {
    device: Device,
    note: String,
    software: bool,
}

thread_local! {
    /// burn registers one wgpu runtime per page (or worker): initialised once, then shared by
    /// every `Denoiser` created there.
    static GPU: RefCell<Option<Gpu>> = const { RefCell::new(None) };
}

/// This module was built without burn's WebGPU backend (`www/pkg-cpu/`, the small module the
/// widget loads first): "auto" runs on the CPU and "webgpu" is refused, naming the full module.
#[cfg(not(feature = "webgpu"))]
async fn webgpu() -> Result<Gpu, String> {
    Err("this is the CPU-only module (www/pkg-cpu, built without the `webgpu` feature); \
         WebGPU needs the full module in www/pkg"
        .into())
}

#[cfg(feature = "webgpu")]
async fn webgpu() -> Result<Gpu, String> {
    if let Some(gpu) = GPU.with(|g| g.borrow().clone()) {
        return Ok(gpu);
    }
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap_or(JsValue::UNDEFINED);
    let gpu = if navigator.is_undefined() {
        JsValue::UNDEFINED
    } else {
        Reflect::get(&navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED)
    };
    if gpu.is_undefined() {
        return Err("this JavaScript environment has no navigator.gpu (WebGPU)".into());
    }
    let (device, setup) = Device::wgpu_options()
        .graphics_api(burn::tensor::wgpu::WgpuBackend::WebGpu)
        .init_with_setup_async()
        .await
        .map_err(|e| format!("no WebGPU adapter or device could be had: {e}"))?;
    let info = setup.adapter.get_info();
    let name = [info.name.as_str(), info.driver.as_str(), info.driver_info.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let lower = name.to_lowercase();
    // Chromium's fallback rasteriser and Mesa's CPU drivers show up under these names.
    let software = info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu
        || ["swiftshader", "lavapipe", "llvmpipe"].iter().any(|s| lower.contains(s));
    let name = if name.is_empty() { "unnamed adapter".to_string() } else { name };
    let note = if software {
        format!("WebGPU on {name} — a software adapter: expect it to be slower than the CPU backend")
    } else {
        format!("WebGPU on {name}")
    };
    let gpu = Gpu { device, note, software };
    GPU.with(|g| *g.borrow_mut() = Some(gpu.clone()));
    Ok(gpu)
}

/// A denoising autoencoder with its optimiser, on WebGPU or the CPU.
#[wasm_bindgen]
pub struct Denoiser {
    trainer: Rc<Mutex<Trainer>>,
    backend: String,
    note: String,
    software: bool,
}

#[wasm_bindgen]
impl Denoiser {
    /// Builds a model (37,601 parameters, Glorot-uniform from `seed`) on the requested backend.
    #[wasm_bindgen(unchecked_return_type = "Promise<Denoiser>")]
    pub fn create(
        #[wasm_bindgen(unchecked_optional_param_type = "DenoiserOptions")] options: Option<JsValue>,
    ) -> js_sys::Promise {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        future_to_promise(async move {
            let Options { backend, config } = parse_options(&options).map_err(js_error)?;
            let cpu_note = "CPU: burn flex backend in WebAssembly (SIMD, one thread)";
            let (device, backend, note, software) = match backend.as_str() {
                "cpu" => (crate::cpu_device(), "cpu", cpu_note.to_string(), false),
                "webgpu" => {
                    let gpu = webgpu().await.map_err(|e| {
                        js_error(DaeError::Backend(format!(
                            "backend \"webgpu\" requested, but {e}; use \"auto\" or \"cpu\" to run on the CPU"
                        )))
                    })?;
                    (gpu.device, "webgpu", gpu.note, gpu.software)
                }
                _ => match webgpu().await {
                    Ok(gpu) => (gpu.device, "webgpu", gpu.note, gpu.software),
                    Err(why) => (crate::cpu_device(), "cpu", format!("{cpu_note}; WebGPU not used: {why}"), false),
                },
            };
            let trainer = Trainer::new(config, &device).map_err(js_error)?;
            Ok(Denoiser {
                trainer: Rc::new(Mutex::new(trainer)),
                backend: backend.to_string(),
                note,
                software,
            }
            .into())
        })
    }

    /// `"webgpu"` or `"cpu"`: what actually runs.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// The adapter's description, or why WebGPU was not used.
    #[wasm_bindgen(getter)]
    pub fn backend_note(&self) -> String {
        self.note.clone()
    }

    /// True when WebGPU runs on a software adapter (SwiftShader, lavapipe, llvmpipe).
    #[wasm_bindgen(getter)]
    pub fn software_adapter(&self) -> bool {
        self.software
    }

    /// One Adam step. `noisy`, `clean`: flat `n × 784` values in [0, 1] (n ≥ 1, same length).
    /// Resolves to the batch's mean sigmoid cross-entropy before the update.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn train_step(&self, noisy: Vec<f32>, clean: Vec<f32>) -> js_sys::Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let mut t = trainer.lock().await;
            let loss = t.train_step(&noisy, &clean).await.map_err(js_error)?;
            Ok(JsValue::from_f64(loss as f64))
        })
    }

    /// Mean sigmoid cross-entropy of the reconstruction of `noisy` against `clean` (flat
    /// `n × 784` in [0, 1]); the weights are not touched.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn evaluate(&self, noisy: Vec<f32>, clean: Vec<f32>) -> js_sys::Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let t = trainer.lock().await;
            let loss = t.evaluate(&noisy, &clean).await.map_err(js_error)?;
            Ok(JsValue::from_f64(loss as f64))
        })
    }

    /// Reconstruction of `noisy` (flat `n × 784` in [0, 1]): flat `n × 784` sigmoid outputs.
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn denoise(&self, noisy: Vec<f32>) -> js_sys::Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let t = trainer.lock().await;
            let out = t.denoise(&noisy).await.map_err(js_error)?;
            Ok(js_sys::Float32Array::from(out.as_slice()).into())
        })
    }

    /// Replaces the weights with a safetensors file (names and shapes in the README). Validates
    /// everything first: on rejection the model and optimiser are exactly as before.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn load_weights(&self, bytes: Vec<u8>) -> js_sys::Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            trainer.lock().await.load_weights(&bytes).map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The weights as a safetensors file (f32, PyTorch names and layouts).
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array>")]
    pub fn save_weights(&self) -> js_sys::Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            let bytes = trainer.lock().await.save_weights().await.map_err(js_error)?;
            Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// Changes Adam's step size from the next step on (finite, in (0, 1]).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn set_learning_rate(&self, learning_rate: f64) -> js_sys::Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            trainer.lock().await.set_learning_rate(learning_rate).map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The hidden activation: `"leaky_relu"` or `"relu"` (a loaded file may set it).
    #[wasm_bindgen(unchecked_return_type = "Promise<\"leaky_relu\" | \"relu\">")]
    pub fn activation(&self) -> js_sys::Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move {
            Ok(JsValue::from_str(trainer.lock().await.model().activation().name()))
        })
    }

    /// Optimiser steps since creation or the last `load_weights`.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn steps(&self) -> js_sys::Promise {
        let trainer = self.trainer.clone();
        future_to_promise(async move { Ok(JsValue::from_f64(trainer.lock().await.steps() as f64)) })
    }
}

/// `clip(clean + factor · N(0, 1), 0, 1)` for flat `n × 784` images in [0, 1]; `factor` in
/// [0, 10]; `seed` an integer in [0, 2^53): the same seed gives the same noise here and natively.
#[wasm_bindgen]
pub fn add_noise(clean: &[f32], factor: f32, seed: f64) -> Result<Vec<f32>, JsError> {
    let seed = check_seed(seed).map_err(|e| JsError::new(&e.to_string()))?;
    crate::noise::add_noise(clean, factor, seed).map_err(|e| JsError::new(&e.to_string()))
}

/// Whether this module can run WebGPU at all: true for the full module (`www/pkg`, built with
/// the `webgpu` feature), false for the CPU-only one (`www/pkg-cpu`). Whether the browser has an
/// adapter is a separate question, answered by `Denoiser.create`.
#[wasm_bindgen]
pub fn has_webgpu() -> bool {
    cfg!(feature = "webgpu")
}

/// Trainable parameters of the model: 37,601.
#[wasm_bindgen]
pub fn parameter_count() -> u32 {
    use burn::module::Module;
    crate::DaeConfig::new().init(&crate::cpu_device(), 0).num_params() as u32
}

#[wasm_bindgen(start)]
fn start() {
    // Panics become readable console errors instead of a bare "unreachable".
    console_error_panic_hook::set_once();
    // Warnings and errors only: the WebGPU backend reports shader compile errors this way.
    let _ = console_log::init_with_level(log::Level::Warn);
}

/// Times burn-wgpu's own kernels on this browser's WebGPU device: each of the model's layers at
/// batch 64, forward and forward + backward (input and weight gradients), and a few single ops
/// (`bench/webgpu-ceiling.mjs` sets the 32 → 32 convolution beside hand-tiled WGSL for the same
/// multiply-adds). Only in the probe build (`scripts/bench-webgpu.sh`, feature `webgpu-probe`),
/// never in a shipped module. Resolves to `{ name: median ms }` over `reps` calls after one
/// warm-up call; each call ends with one-element readbacks of its results, which wait for the queue.
#[cfg(feature = "webgpu-probe")]
#[wasm_bindgen(unchecked_return_type = "Promise<Record<string, number>>")]
pub fn probe_webgpu_ops(reps: u32) -> js_sys::Promise {
    use burn::tensor::module::{conv_transpose2d, conv2d, max_pool2d};
    use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, MaxPoolOptions};
    use burn::tensor::{Distribution, Tensor};
    async fn wait<const D: usize>(t: Tensor<D>) {
        t.flatten::<1>(0, D - 1).slice(0..1).into_data_async().await.expect("probe_webgpu_ops: a readback failed");
    }
    async fn median<F: std::future::Future<Output = ()>>(reps: u32, f: impl Fn() -> F) -> f64 {
        f().await;
        let mut ms = Vec::new();
        for _ in 0..reps.max(1) {
            let start = js_sys::Date::now();
            f().await;
            ms.push(js_sys::Date::now() - start);
        }
        ms.sort_by(f64::total_cmp);
        ms[ms.len() / 2]
    }
    /// A layer of the model: (name, c_in, side, c_out, transposed).
    const LAYERS: [(&str, usize, usize, usize, bool); 6] = [
        ("enc1 conv 1→32 @28", 1, 28, 32, false),
        ("enc2 conv 32→32 @14", 32, 14, 32, false),
        ("dec1 conv 32→32 @7", 32, 7, 32, false),
        ("up1 conv-transpose 7→14", 32, 7, 32, true),
        ("up2 conv-transpose 14→28", 32, 14, 32, true),
        ("out conv 32→1 @28", 32, 28, 1, false),
    ];
    future_to_promise(async move {
        let d = webgpu().await.map_err(|e| JsValue::from(JsError::new(&e)))?.device;
        let random = |shape: [usize; 4]| Tensor::<4>::random(shape, Distribution::Default, &d);
        let results = Object::new();
        let set = |name: &str, ms: f64| Reflect::set(&results, &name.into(), &ms.into()).map(|_| ());
        let conv = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let up = ConvTransposeOptions::new([2, 2], [1, 1], [1, 1], [1, 1], 1);
        let layer = |x: Tensor<4>, w: Tensor<4>, b: Tensor<1>, transposed: bool| {
            if transposed { conv_transpose2d(x, w, Some(b), up.clone()) } else { conv2d(x, w, Some(b), conv.clone()) }
        };
        for (name, c_in, side, c_out, transposed) in LAYERS {
            let x = random([64, c_in, side, side]);
            let w = random(if transposed { [c_in, c_out, 3, 3] } else { [c_out, c_in, 3, 3] });
            let b = Tensor::<1>::random([c_out], Distribution::Default, &d);
            set(&format!("{name}: forward"), median(reps, || wait(layer(x.clone(), w.clone(), b.clone(), transposed))).await)?;
            let (xa, wa, ba) = (x.autodiff().require_grad(), w.autodiff().require_grad(), b.autodiff().require_grad());
            let both = || async {
                let grads = layer(xa.clone(), wa.clone(), ba.clone(), transposed).sum().backward();
                for g in [xa.grad(&grads), wa.grad(&grads)].into_iter().flatten() {
                    wait(g).await;
                }
            };
            set(&format!("{name}: forward + backward"), median(reps, both).await)?;
        }
        let x = random([64, 32, 28, 28]);
        let xa = x.clone().autodiff().require_grad();
        let pool = MaxPoolOptions::new([2, 2]);
        let pooled = || async {
            let grads = max_pool2d(xa.clone(), pool.clone()).sum().backward();
            wait(xa.grad(&grads).expect("probe_webgpu_ops: x requires a gradient")).await;
        };
        set("max-pool 28→14: forward + backward", median(reps, pooled).await)?;
        let leaky = || async {
            let grads = crate::model::leaky(xa.clone(), 0.1).sum().backward();
            wait(xa.grad(&grads).expect("probe_webgpu_ops: x requires a gradient")).await;
        };
        set("leaky ReLU @28 × 32 (model::leaky): forward + backward", median(reps, leaky).await)?;
        set("x · 2 + 1 on [64, 32, 28, 28]", median(reps, || wait(x.clone() * 2.0 + 1.0)).await)?;
        // One 32 → 32 convolution at 28 × 28, 2 · 64 · 784 · 32 · 288 = 0.925 GFLOP: as burn's
        // direct convolution, and as one im2col GEMM [64 · 784, 288] × [288, 32] through burn's
        // matmul (what bench/webgpu-ceiling.html runs as hand-tiled WGSL).
        let w = random([32, 32, 3, 3]);
        let b = Tensor::<1>::random([32], Distribution::Default, &d);
        set("conv 32→32 @28 (0.925 GFLOP): forward", median(reps, || wait(conv2d(x.clone(), w.clone(), Some(b.clone()), conv.clone()))).await)?;
        let lhs = Tensor::<2>::random([64 * 784, 288], Distribution::Default, &d);
        let rhs = Tensor::<2>::random([288, 32], Distribution::Default, &d);
        set("matmul [50176, 288] × [288, 32] (0.925 GFLOP)", median(reps, || wait(lhs.clone().matmul(rhs.clone()))).await)?;
        Ok(results.into())
    })
}
