//! mnist-dae: the convolutional denoising autoencoder of LearnOpenCV's "Understanding
//! autoencoders using TensorFlow", trained and run with burn on the CPU (flex) or on WebGPU.
//!
//! Everything here is plain burn code that takes a [`Device`](burn::prelude::Device) and is
//! tested natively; only `wasm` (compiled for `wasm32` alone) knows about JavaScript.

pub mod backend;
pub mod check;
pub mod data;
pub mod error;
pub mod input;
pub mod inspect;
pub mod latent;
pub mod metrics;
pub mod model;
pub mod noise;
pub mod ops;
pub mod optim;
pub mod session;
pub mod train;
pub mod weights;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use backend::cpu_device;
pub use error::{DaeError, ErrorKind};
pub use model::{Activation, Dae, DaeConfig, PIXELS, SIDE};
pub use noise::add_noise;
pub use train::{TrainState, Trainer, TrainerConfig};
