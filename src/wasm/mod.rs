//! The JavaScript API, and the only module that knows about wasm-bindgen: [`Denoiser`] (a model
//! and its optimiser), [`Session`] (a whole training run over MNIST, the one the native trainer
//! runs), the backend policy's answer for this browser, and the noise.
//!
//! Promises everywhere: every call copies and checks its arguments when it is made, then waits
//! its turn behind the object's earlier calls ([`queue::Fifo`]), so calls settle in the order they
//! were made — a refused argument too. A failure rejects with an `Error` whose `code` is the
//! error's stable kind ([`crate::ErrorKind::code`]) and whose message is one line.

mod denoiser;
mod fallback;
mod gpu;
mod input;
mod options;
#[cfg(feature = "webgpu-probe")]
mod probe;
mod queue;
mod session;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::DaeError;

pub use denoiser::Denoiser;
pub use session::Session;

#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR: &'static str = r#"
/** How every promise of this module rejects: an Error with a stable `code`. */
export interface MnistDaeError extends Error {
  name: "MnistDaeError";
  /** "invalid_input": an argument was refused; "invalid_weights": a weights file or saved
   *  training was refused; "backend": the backend failed; "freed": the object was freed. */
  code: "invalid_input" | "invalid_weights" | "backend" | "freed";
}
/** A named array read back from the model: row-major `values` of `shape`. */
export interface NamedArray {
  /** A stage of the forward pass ("enc1", "pool1", "enc2", "latent", "dec1", "up1", "up2",
   *  "output"), or a parameter ("enc1.weight", "enc1.bias", …). */
  name: string;
  shape: number[];
  values: Float32Array;
}
/** Where latent codes lie on their two principal axes (PCA of the codes themselves). */
export interface LatentMap {
  /** Coordinates along the first and the second axis, one per image. */
  x: Float32Array; y: Float32Array;
  /** Share of the codes' total variance along each axis, in [0, 1]. */
  explained: [number, number];
}
/** How a model left WebGPU when its device failed: it went on on the CPU from its host copy. */
export interface Fallback {
  /** What the device said, or the call that failed on it. */
  reason: string;
  /** Steps taken when it failed; the step of the copy it went on from; the difference. */
  failed_at: number; resumed_at: number; steps_lost: number;
}
"#;

/// The JavaScript form of an error: `Error` named `MnistDaeError`, with `code`.
pub(crate) fn js_error(e: DaeError) -> JsValue {
    let error = js_sys::Error::new(&e.to_string());
    error.set_name("MnistDaeError");
    // Setting a data property on a fresh Error cannot fail.
    let _ = js_sys::Reflect::set(&error, &"code".into(), &e.kind().code().into());
    error.into()
}

/// A promise of `f`'s result, rejected with [`js_error`] on failure.
pub(crate) fn promise<F>(f: F) -> js_sys::Promise
where
    F: std::future::Future<Output = Result<JsValue, DaeError>> + 'static,
{
    future_to_promise(async move { f.await.map_err(js_error) })
}

/// `clip(clean + factor · N(0, 1), 0, 1)` for a Float32Array of flat `n × 784` images in [0, 1];
/// `factor` a number in [0, 10]; `seed` an integer in [0, 2^53): the same seed gives the same
/// noise here and natively. Resolves to a new Float32Array.
#[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
pub fn add_noise(
    #[wasm_bindgen(unchecked_param_type = "Float32Array")] clean: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] factor: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
) -> js_sys::Promise {
    let args = (|| {
        let clean = input::floats("clean", &clean, crate::input::MAX_IMAGES)?;
        let factor = input::number("factor", &factor)? as f32;
        let seed = crate::input::check_seed(input::number("seed", &seed)?)?;
        Ok::<_, DaeError>((clean, factor, seed))
    })();
    promise(async move {
        let (clean, factor, seed) = args?;
        let noisy = crate::noise::add_noise(&clean, factor, seed)?;
        Ok(js_sys::Float32Array::from(noisy.as_slice()).into())
    })
}

/// What the backend policy picks in this browser for `backend` ("auto" by default): resolves to
/// `{backend: "webgpu" | "cpu", note, software}`. Asks `navigator.gpu` for an adapter without
/// creating a device; the CPU-only module answers the same, so that a page can tell whether the
/// full module is worth fetching.
#[wasm_bindgen(unchecked_return_type = "Promise<{backend: \"webgpu\" | \"cpu\", note: string, software: boolean}>")]
pub fn resolve_backend(
    #[wasm_bindgen(unchecked_optional_param_type = "\"auto\" | \"webgpu\" | \"cpu\"")] backend: JsValue,
) -> js_sys::Promise {
    let choice = options::backend_choice(&backend);
    promise(async move {
        let placement = gpu::policy(choice?).await?;
        Ok(options::placement_object(&placement))
    })
}

/// The vector instructions this module's CPU kernels run with: "wasm SIMD128 + relaxed (fused
/// multiply-add)" in the relaxed-SIMD build (loaded where the browser validates it), "wasm
/// SIMD128" in the plain one.
#[wasm_bindgen]
pub fn simd_level() -> String {
    crate::ops::simd_level().into()
}

/// Whether this module can run WebGPU at all: true for the full module (`www/pkg`, built with
/// the `webgpu` feature), false for the CPU-only one (`www/pkg-cpu`). Whether the browser has an
/// adapter is [`resolve_backend`]'s question.
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

/// For tests of the WebGPU self-check: while `on`, the model's 3×3 convolutions off the CPU add
/// 0.01 to their results, as a kernel would that runs but computes wrong. A device checked while
/// it is on fails the check, so models go to the CPU. Never needed otherwise.
#[wasm_bindgen]
pub fn inject_conv_fault(on: bool) {
    crate::ops::inject_conv_fault(on);
}

// The constructors the linker collects (cubecl's IR registers its operations with `inventory`).
unsafe extern "C" {
    fn __wasm_call_ctors();
}

// Not in the typings: the glue calls it at instantiation, and the package entries do not export it.
#[wasm_bindgen(start, skip_typescript)]
fn start() {
    // Constructors run here, once. A module whose exports never call `__wasm_call_ctors` is linked
    // "command-style": wasm-ld wraps every export, wasm-bindgen's glue included, in a call of all
    // constructors, which in the WebGPU module made each kernel launch ≈ 6 ms of page time
    // (docs/benchmarks.md; the `inventory` crate's documentation describes the rule).
    // SAFETY: the start function runs once, at instantiation, before any other export.
    unsafe { __wasm_call_ctors() };
    // Panics become readable console errors instead of a bare "unreachable".
    console_error_panic_hook::set_once();
    // Warnings and errors only: the WebGPU backend reports shader compile errors this way.
    let _ = console_log::init_with_level(log::Level::Warn);
}
