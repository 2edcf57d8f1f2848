//! `Denoiser`: one model with its optimiser, for JavaScript developers who bring their own data.

use wasm_bindgen::prelude::*;

use std::cell::RefCell;
use std::rc::Rc;

use burn::prelude::Device;

use super::fallback::{Guarded, Movable, Where};
use super::input::{blend_args, bytes, codes_arg, floats, number};
use super::options::{ModelOptions, f32s, fallback_object, latent_map_object, named_arrays, parse};
use super::queue::Serial;
use super::{gpu, promise};
use crate::error::DaeError;
use crate::input::{MAX_IMAGES, MAX_TRACE_IMAGES, MAX_TRAIN_BATCH};
use crate::train::Trainer;

impl Movable for Trainer {
    /// The weights and the step count (Adam's moments start afresh from a copy).
    type Copy = (Vec<u8>, u64);

    fn steps(&self) -> u64 {
        Trainer::steps(self)
    }

    async fn copy(&self) -> Result<Self::Copy, DaeError> {
        Ok((self.save_weights().await?, Trainer::steps(self)))
    }

    fn restore(&mut self, (weights, steps): Self::Copy, device: &Device) -> Result<(), DaeError> {
        let mut trainer = Trainer::new(self.config().clone(), device)?;
        trainer.load_weights_at(&weights, steps)?;
        *self = trainer;
        Ok(())
    }
}

/// A denoising autoencoder with its optimiser, on WebGPU or the CPU. Calls settle in the order
/// they were made.
#[wasm_bindgen]
pub struct Denoiser {
    trainer: Serial<Guarded<Trainer>>,
    at: Rc<RefCell<Where>>,
}

#[wasm_bindgen]
impl Denoiser {
    /// Builds a model (37,601 parameters, Glorot-uniform from `seed`) where the backend policy
    /// puts it (`options.backend`, default "auto").
    #[wasm_bindgen(unchecked_return_type = "Promise<Denoiser>")]
    pub fn create(
        #[wasm_bindgen(unchecked_optional_param_type = "DenoiserOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let options = parse::<ModelOptions>("options", &options);
        promise(async move {
            let options = options?;
            let config = options.trainer()?;
            let (placement, target) = gpu::place(options.backend).await?;
            let trainer = Guarded::new(Trainer::new(config, &target.device())?, target, placement, None).await?;
            Ok(Denoiser { at: trainer.at.clone(), trainer: Serial::new(trainer) }.into())
        })
    }

    /// `"webgpu"` or `"cpu"`: what actually runs.
    #[wasm_bindgen(getter, unchecked_return_type = "\"webgpu\" | \"cpu\"")]
    pub fn backend(&self) -> String {
        self.at.borrow().placement.name().into()
    }

    /// The adapter's description, or why the model is on the CPU.
    #[wasm_bindgen(getter)]
    pub fn backend_note(&self) -> String {
        self.at.borrow().placement.note().into()
    }

    /// True when WebGPU runs on a software adapter (SwiftShader, lavapipe, llvmpipe).
    #[wasm_bindgen(getter)]
    pub fn software_adapter(&self) -> bool {
        self.at.borrow().placement.software()
    }

    /// How the model left WebGPU, if it did: `{reason, failed_at, resumed_at, steps_lost}`, or
    /// null. When the device fails under a call, the model goes on on the CPU from its host copy
    /// (at most 5 steps old) and the call runs again there.
    #[wasm_bindgen(getter, unchecked_return_type = "Fallback | null")]
    pub fn fallback(&self) -> JsValue {
        fallback_object(self.at.borrow().fallback.as_ref())
    }

    /// One Adam step. `noisy`, `clean`: Float32Arrays of flat `n × 784` values in [0, 1]
    /// (1 ≤ n ≤ 256, same length). Resolves to the batch's mean sigmoid cross-entropy before the
    /// update.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn train_step(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Float32Array")] noisy: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Float32Array")] clean: JsValue,
    ) -> js_sys::Promise {
        let args =
            floats("noisy", &noisy, MAX_TRAIN_BATCH).and_then(|n| Ok((n, floats("clean", &clean, MAX_TRAIN_BATCH)?)));
        self.trainer.call(args, |t, (noisy, clean)| async move {
            let loss = t.lock().await.run(false, async |t| t.train_step(&noisy, &clean).await).await?;
            Ok(JsValue::from_f64(loss as f64))
        })
    }

    /// Mean sigmoid cross-entropy of the reconstruction of `noisy` against `clean` (flat
    /// `n × 784` in [0, 1], n ≤ 16,384); the weights are not touched.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn evaluate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Float32Array")] noisy: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Float32Array")] clean: JsValue,
    ) -> js_sys::Promise {
        let args = floats("noisy", &noisy, MAX_IMAGES).and_then(|n| Ok((n, floats("clean", &clean, MAX_IMAGES)?)));
        self.trainer.call(args, |t, (noisy, clean)| async move {
            let eval = t.lock().await.run(false, async |t| t.evaluate(&noisy, &clean).await).await?;
            Ok(JsValue::from_f64(eval.loss))
        })
    }

    /// Reconstruction of `noisy` (flat `n × 784` in [0, 1], n ≤ 16,384): flat `n × 784` sigmoid
    /// outputs.
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn denoise(&self, #[wasm_bindgen(unchecked_param_type = "Float32Array")] noisy: JsValue) -> js_sys::Promise {
        self.trainer.call(floats("noisy", &noisy, MAX_IMAGES), |t, noisy| async move {
            let out = t.lock().await.run(false, async |t| t.denoise(&noisy).await).await?;
            Ok(js_sys::Float32Array::from(out.as_slice()).into())
        })
    }

    /// Replaces the weights with a safetensors file (a Uint8Array, ArrayBuffer or DataView;
    /// names and shapes in the README). Validates everything first: on rejection the model and
    /// optimiser are exactly as before.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn load_weights(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer | DataView")] file: JsValue,
    ) -> js_sys::Promise {
        self.trainer.call(bytes("weights", &file), |t, file| async move {
            t.lock().await.run(true, async |t| t.load_weights(&file)).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The weights as a safetensors file (f32, PyTorch names and layouts).
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array>")]
    pub fn save_weights(&self) -> js_sys::Promise {
        self.trainer.call(Ok(()), |t, ()| async move {
            let file = t.lock().await.run(false, async |t| t.save_weights().await).await?;
            Ok(js_sys::Uint8Array::from(file.as_slice()).into())
        })
    }

    /// Every stage's maps of the forward pass over `images` (flat `n × 784` in [0, 1], n ≤ 16):
    /// `[{name, shape, values}]` in order, `enc1` `[n, 32, 28, 28]` … `latent` `[n, 32, 7, 7]` …
    /// `output` `[n, 1, 28, 28]` (the reconstruction). The weights are not touched.
    #[wasm_bindgen(unchecked_return_type = "Promise<NamedArray[]>")]
    pub fn trace(&self, #[wasm_bindgen(unchecked_param_type = "Float32Array")] images: JsValue) -> js_sys::Promise {
        self.trainer.call(floats("images", &images, MAX_TRACE_IMAGES), |t, images| async move {
            let maps = t.lock().await.run(false, async |t| t.trace(&images).await).await?;
            Ok(named_arrays(&maps))
        })
    }

    /// The latent codes of `images` (flat `n × 784` in [0, 1], n ≤ 16,384): flat `n × 1568`
    /// values, each image's `[32, 7, 7]` code in channel-major order (the trace's `latent`).
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn encode(&self, #[wasm_bindgen(unchecked_param_type = "Float32Array")] images: JsValue) -> js_sys::Promise {
        self.trainer.call(floats("images", &images, MAX_IMAGES), |t, images| async move {
            let codes = t.lock().await.run(false, async |t| t.encode(&images).await).await?;
            Ok(f32s(&codes))
        })
    }

    /// The images the decoder makes of `codes` (flat `n × 1568`, as `encode` gives them, or
    /// any blend of them): flat `n × 784` sigmoid outputs.
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn decode(&self, #[wasm_bindgen(unchecked_param_type = "Float32Array")] codes: JsValue) -> js_sys::Promise {
        let args = codes_arg(&codes);
        self.trainer.call(args, |t, codes| async move {
            let images = t.lock().await.run(false, async |t| t.decode(&codes).await).await?;
            Ok(f32s(&images))
        })
    }

    /// An interpolation strip between two images (784 floats each in [0, 1]): the images
    /// decoded from `steps` (2 to 32) blends `(1 − t)·code(from) + t·code(to)`, t from 0 to 1,
    /// flat `steps × 784`. The first is the reconstruction of `from`, the last that of `to`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn interpolate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Float32Array")] from: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Float32Array")] to: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] steps: JsValue,
    ) -> js_sys::Promise {
        let args = blend_args(&from, &to, &steps);
        self.trainer.call(args, |t, (from, to, steps)| async move {
            let strip = t.lock().await.run(false, async |t| t.interpolate(&from, &to, steps).await).await?;
            Ok(f32s(&strip))
        })
    }

    /// Where the codes of `images` (flat `n × 784` in [0, 1], 2 ≤ n ≤ 16,384) lie on their own
    /// two principal axes: `{x, y, explained}`.
    #[wasm_bindgen(unchecked_return_type = "Promise<LatentMap>")]
    pub fn latent_map(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Float32Array")] images: JsValue,
    ) -> js_sys::Promise {
        self.trainer.call(floats("images", &images, MAX_IMAGES), |t, images| async move {
            let map = t.lock().await.run(false, async |t| t.latent_map(&images).await).await?;
            Ok(latent_map_object(&map, None))
        })
    }

    /// The parameters: `[{name, shape, values}]` in the weights file's order (`enc1.weight`
    /// `[32, 1, 3, 3]`, `enc1.bias` `[32]`, …), the same values `save_weights` writes.
    #[wasm_bindgen(unchecked_return_type = "Promise<NamedArray[]>")]
    pub fn parameters(&self) -> js_sys::Promise {
        self.trainer.call(Ok(()), |t, ()| async move {
            let params = t.lock().await.run(false, async |t| t.parameters().await).await?;
            Ok(named_arrays(&params))
        })
    }

    /// Changes Adam's step size from the next step on (a number in (0, 1]).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn set_learning_rate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] learning_rate: JsValue,
    ) -> js_sys::Promise {
        self.trainer.call(number("learning_rate", &learning_rate), |t, lr| async move {
            t.lock().await.get_mut().set_learning_rate(lr)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The hidden activation: `"leaky_relu"` or `"relu"` (a loaded file may set it).
    #[wasm_bindgen(unchecked_return_type = "Promise<\"leaky_relu\" | \"relu\">")]
    pub fn activation(&self) -> js_sys::Promise {
        self.trainer.call(Ok(()), |t, ()| async move {
            Ok(JsValue::from_str(t.lock().await.get().model().activation().name()))
        })
    }

    /// Optimiser steps since creation or the last `load_weights`.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn steps(&self) -> js_sys::Promise {
        self.trainer
            .call(Ok(()), |t, ()| async move { Ok(JsValue::from_f64(Trainer::steps(t.lock().await.get()) as f64)) })
    }
}
