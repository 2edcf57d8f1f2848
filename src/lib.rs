//! mnist-dae: the convolutional denoising autoencoder of LearnOpenCV's "Understanding
//! autoencoders using TensorFlow", trained and run with burn on the CPU (flex) or on WebGPU.
//!
//! Everything here is plain burn code that takes a [`Device`](burn::prelude::Device) and is
//! tested natively; only [`wasm`] (compiled for `wasm32` alone) knows about JavaScript.

pub mod error;
#[cfg(not(target_arch = "wasm32"))]
pub mod experiment;
pub mod input;
pub mod kernels;
pub mod mnist;
pub mod model;
pub mod noise;
pub mod train;
pub mod weights;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::DaeError;
pub use model::{Activation, Dae, DaeConfig, PIXELS, SIDE};
pub use noise::add_noise;
pub use train::{TrainState, Trainer, TrainerConfig};

use burn::prelude::Device;

/// The CPU backend, in one place: burn's pure-Rust `flex` backend (measured ≈ 20× faster than
/// `ndarray` on this model's train step; see the README's benchmark section).
pub fn cpu_device() -> Device {
    Device::flex()
}
