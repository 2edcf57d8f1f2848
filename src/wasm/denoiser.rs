//! `Denoiser`: one model with its optimiser, for JavaScript developers who bring their own data.

use wasm_bindgen::prelude::*;

use super::input::{bytes, floats, number};
use super::options::{ModelOptions, parse};
use super::queue::Serial;
use super::{gpu, promise};
use crate::backend::Placement;
use crate::input::{MAX_IMAGES, MAX_TRAIN_BATCH};
use crate::train::Trainer;

/// A denoising autoencoder with its optimiser, on WebGPU or the CPU. Calls settle in the order
/// they were made.
#[wasm_bindgen]
pub struct Denoiser {
    trainer: Serial<Trainer>,
    placement: Placement,
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
            let placement = gpu::place(options.backend).await?;
            let device = gpu::device(&placement).await?;
            let trainer = Trainer::new(config, &device)?;
            Ok(Denoiser { trainer: Serial::new(trainer), placement }.into())
        })
    }

    /// `"webgpu"` or `"cpu"`: what actually runs.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.placement.name().into()
    }

    /// The adapter's description, or why the model is on the CPU.
    #[wasm_bindgen(getter)]
    pub fn backend_note(&self) -> String {
        self.placement.note().into()
    }

    /// True when WebGPU runs on a software adapter (SwiftShader, lavapipe, llvmpipe).
    #[wasm_bindgen(getter)]
    pub fn software_adapter(&self) -> bool {
        self.placement.software()
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
            let loss = t.lock().await.train_step(&noisy, &clean).await?;
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
            let eval = t.lock().await.evaluate(&noisy, &clean).await?;
            Ok(JsValue::from_f64(eval.loss))
        })
    }

    /// Reconstruction of `noisy` (flat `n × 784` in [0, 1], n ≤ 16,384): flat `n × 784` sigmoid
    /// outputs.
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn denoise(&self, #[wasm_bindgen(unchecked_param_type = "Float32Array")] noisy: JsValue) -> js_sys::Promise {
        self.trainer.call(floats("noisy", &noisy, MAX_IMAGES), |t, noisy| async move {
            let out = t.lock().await.denoise(&noisy).await?;
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
            t.lock().await.load_weights(&file)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The weights as a safetensors file (f32, PyTorch names and layouts).
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array>")]
    pub fn save_weights(&self) -> js_sys::Promise {
        self.trainer.call(Ok(()), |t, ()| async move {
            let file = t.lock().await.save_weights().await?;
            Ok(js_sys::Uint8Array::from(file.as_slice()).into())
        })
    }

    /// Changes Adam's step size from the next step on (a number in (0, 1]).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn set_learning_rate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] learning_rate: JsValue,
    ) -> js_sys::Promise {
        self.trainer.call(number("learning_rate", &learning_rate), |t, lr| async move {
            t.lock().await.set_learning_rate(lr)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The hidden activation: `"leaky_relu"` or `"relu"` (a loaded file may set it).
    #[wasm_bindgen(unchecked_return_type = "Promise<\"leaky_relu\" | \"relu\">")]
    pub fn activation(&self) -> js_sys::Promise {
        self.trainer
            .call(Ok(()), |t, ()| async move { Ok(JsValue::from_str(t.lock().await.model().activation().name())) })
    }

    /// Optimiser steps since creation or the last `load_weights`.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn steps(&self) -> js_sys::Promise {
        self.trainer.call(Ok(()), |t, ()| async move { Ok(JsValue::from_f64(t.lock().await.steps() as f64)) })
    }
}
