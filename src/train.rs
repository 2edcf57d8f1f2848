//! Training, evaluation and inference on one device: the state a `Denoiser` owns.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::backend::on_kernel_threads;
use crate::error::DaeError;
use crate::input::{
    MAX_IMAGES, MAX_TRACE_IMAGES, MAX_TRAIN_BATCH, check_images, check_learning_rate, check_len, check_pair,
    describe_len,
};
use crate::inspect::{self, Named};
use crate::latent::{self, LatentMap};
use crate::metrics::{Evaluation, bce_with_logits, mean_psnr};
use crate::model::{Activation, Dae, DaeConfig, PIXELS, SIDE};
use crate::optim::FusedAdam;
use crate::weights;

/// Largest batch pushed through the network at once by `evaluate` and `denoise`; bigger inputs
/// are split so that memory stays bounded (256 × 32 × 28 × 28 f32 ≈ 26 MB per activation).
pub const EVAL_CHUNK: usize = 256;

/// Optimiser and initialisation settings.
#[derive(Config, Debug)]
pub struct TrainerConfig {
    /// Architecture.
    pub model: DaeConfig,
    /// Adam step size (the tutorial: Keras' default 1e-3).
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Adam β1.
    #[config(default = 0.9)]
    pub beta_1: f32,
    /// Adam β2.
    #[config(default = 0.999)]
    pub beta_2: f32,
    /// Adam ε, added to √v̂ (the paper's and PyTorch's form).
    #[config(default = 1e-8)]
    pub epsilon: f32,
    /// Seed of the initial weights (drawn on the host: identical on every backend).
    #[config(default = 0)]
    pub seed: u64,
}

impl TrainerConfig {
    /// The tutorial's setup with the given activation.
    pub fn tutorial(activation: Activation) -> Self {
        Self::new(DaeConfig::new().with_activation(activation))
    }
}

/// A trainer's complete state, as [`Trainer::checkpoint`] takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainState {
    /// The weights, safetensors bytes (see [`crate::weights`]).
    pub weights: Vec<u8>,
    /// Adam's state as burn's burnpack bytes.
    pub optimizer: Vec<u8>,
    /// Ids of the parameters in the weights' file order: the keys of Adam's state.
    pub param_ids: Vec<u64>,
    /// Optimiser steps taken.
    pub steps: u64,
}

/// A model with its optimiser, on one device.
pub struct Trainer {
    device: Device,
    model: Dae,
    optim: ModuleOptimizer,
    config: TrainerConfig,
    steps: u64,
}

fn images(values: &[f32], n: usize, device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values.to_vec(), [n, 1, SIDE, SIDE]), device)
}

/// `tensor`'s values, read back from the device.
async fn read_f32s(tensor: Tensor<4>, what: &str) -> Result<Vec<f32>, DaeError> {
    tensor
        .into_data_async()
        .await
        .map_err(|e| DaeError::backend(&format!("reading the {what}"), e))?
        .try_into_vec::<f32>()
        .map_err(|e| DaeError::Backend(format!("{what}: expected f32 data, got {e:?}")))
}

fn adam(config: &TrainerConfig) -> ModuleOptimizer {
    FusedAdam::new(config.beta_1, config.beta_2, config.epsilon).init()
}

fn backend_error<E: std::fmt::Debug>(what: &str) -> impl Fn(E) -> DaeError + '_ {
    move |e| DaeError::backend(what, e)
}

impl Trainer {
    /// A freshly initialised model on `device` (autodiff is added here).
    pub fn new(config: TrainerConfig, device: &Device) -> Result<Self, DaeError> {
        check_learning_rate("learning_rate", config.learning_rate)?;
        let device = device.clone().autodiff();
        let model = config.model.init(&device, config.seed);
        Ok(Self { optim: adam(&config), device, model, config, steps: 0 })
    }

    /// The model (parameters live on the trainer's autodiff device).
    pub fn model(&self) -> &Dae {
        &self.model
    }

    /// The settings this trainer was built with (learning rate as currently set).
    pub fn config(&self) -> &TrainerConfig {
        &self.config
    }

    /// Optimiser steps taken since creation or the last weights load.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Changes Adam's step size from the next step on; moments are kept.
    pub fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), DaeError> {
        self.config.learning_rate = check_learning_rate("learning_rate", learning_rate)?;
        Ok(())
    }

    /// One Adam step on a batch: `noisy` in, `clean` as the target, both flat `n × 784` in
    /// [0, 1]. Returns the batch's mean sigmoid cross-entropy *before* the update; the loss is
    /// the step's only readback.
    pub async fn train_step(&mut self, noisy: &[f32], clean: &[f32]) -> Result<f32, DaeError> {
        check_len("noisy", noisy.len(), MAX_TRAIN_BATCH)?;
        let n = check_pair(noisy, clean)?;
        let x = images(noisy, n, &self.device);
        let y = images(clean, n, &self.device);
        let Self { model, optim, config, .. } = self;
        let (loss, updated) = on_kernel_threads(|| {
            let loss = bce_with_logits(model.forward_logits(x), y);
            let grads = GradientsParams::from_grads(loss.backward(), model);
            let updated = optim.step(config.learning_rate, model.clone(), grads);
            (loss, updated)
        });
        self.model = updated;
        let loss = loss.inner().into_scalar_async::<f32>().await.map_err(backend_error("reading the loss"))?;
        // Counted once its loss came back: a step whose readback failed is not reported as done.
        self.steps += 1;
        Ok(loss)
    }

    /// Mean sigmoid cross-entropy of the reconstruction of `noisy` against `clean` (the loss
    /// [`bce_with_logits`] trains on), and PSNR before and after, without touching the weights:
    /// one forward pass per [`EVAL_CHUNK`] images and one readback whatever `n`.
    pub async fn evaluate(&self, noisy: &[f32], clean: &[f32]) -> Result<Evaluation, DaeError> {
        check_len("noisy", noisy.len(), MAX_IMAGES)?;
        let n = check_pair(noisy, clean)?;
        let model = self.model.valid();
        let device = self.device.clone().inner();
        let (total, reconstructions) = on_kernel_threads(|| {
            let mut total: Option<Tensor<1>> = None;
            let mut outputs = Vec::new();
            for start in (0..n).step_by(EVAL_CHUNK) {
                let m = EVAL_CHUNK.min(n - start);
                let range = start * PIXELS..(start + m) * PIXELS;
                let logits = model.forward_logits(images(&noisy[range.clone()], m, &device));
                // Weight each chunk's mean by its share of the images.
                let part =
                    bce_with_logits(logits.clone(), images(&clean[range], m, &device)).mul_scalar(m as f64 / n as f64);
                total = Some(match total {
                    Some(t) => t + part,
                    None => part,
                });
                outputs.push(sigmoid(logits));
            }
            (total.expect("n ≥ 1"), Tensor::cat(outputs, 0))
        });
        let [loss, denoised] = burn::tensor::Transaction::default()
            .register(total)
            .register(reconstructions)
            .execute_async()
            .await
            .map_err(backend_error("reading the evaluation"))?
            .try_into()
            .map_err(|_| DaeError::Backend("reading the evaluation: expected two tensors back".into()))?;
        let f32s = |d: TensorData| {
            d.try_into_vec::<f32>().map_err(|e| DaeError::Backend(format!("evaluation: expected f32 data, got {e:?}")))
        };
        let loss = f32s(loss)?[0] as f64;
        let denoised = f32s(denoised)?;
        Ok(Evaluation {
            count: n,
            loss,
            psnr_noisy: mean_psnr(noisy, clean),
            psnr_denoised: mean_psnr(&denoised, clean),
        })
    }

    /// The reconstruction of `noisy` (flat `n × 784` in [0, 1]): sigmoid outputs, flat `n × 784`.
    pub async fn denoise(&self, noisy: &[f32]) -> Result<Vec<f32>, DaeError> {
        self.forward_chunked(noisy, "reconstruction", Dae::forward).await
    }

    /// Logits of the reconstruction of `noisy` (flat `n × 784`), flat `n × 784`, in one readback:
    /// what an evaluation needs to compute both the loss and the reconstruction on the host.
    pub async fn logits(&self, noisy: &[f32]) -> Result<Vec<f32>, DaeError> {
        self.forward_chunked(noisy, "logits", Dae::forward_logits).await
    }

    /// `forward` over `noisy` in chunks of [`EVAL_CHUNK`] images without autodiff, read back once.
    async fn forward_chunked(
        &self,
        noisy: &[f32],
        what: &str,
        forward: fn(&Dae, Tensor<4>) -> Tensor<4>,
    ) -> Result<Vec<f32>, DaeError> {
        check_len("noisy", noisy.len(), MAX_IMAGES)?;
        let n = check_images("noisy", noisy)?;
        let model = self.model.valid();
        let device = self.device.clone().inner();
        let out = on_kernel_threads(|| {
            let parts: Vec<Tensor<4>> = (0..n)
                .step_by(EVAL_CHUNK)
                .map(|start| {
                    let m = EVAL_CHUNK.min(n - start);
                    forward(&model, images(&noisy[start * PIXELS..(start + m) * PIXELS], m, &device))
                })
                .collect();
            Tensor::cat(parts, 0)
        });
        read_f32s(out, what).await
    }

    /// Every stage's maps of the forward pass over `images` (flat `n × 784` in [0, 1],
    /// n ≤ [`MAX_TRACE_IMAGES`]), named and shaped as [`crate::model::stages`] lists them.
    pub async fn trace(&self, images_in: &[f32]) -> Result<Vec<Named>, DaeError> {
        check_len("images", images_in.len(), MAX_TRACE_IMAGES)?;
        let n = check_images("images", images_in)?;
        let device = self.device.clone().inner();
        inspect::trace(&self.model.valid(), images(images_in, n, &device)).await
    }

    /// The latent codes of `images` (flat `n × 784` in [0, 1]): flat `n × 1568` values, each
    /// image's `[32, 7, 7]` maps in channel-major order.
    pub async fn encode(&self, images: &[f32]) -> Result<Vec<f32>, DaeError> {
        check_len("images", images.len(), MAX_IMAGES)?;
        check_images("images", images)?;
        self.forward_chunked(images, "codes", Dae::encode).await
    }

    /// Values in one latent code: `channels × 7 × 7`.
    pub fn code_len(&self) -> usize {
        self.config.model.channels * (SIDE / 4) * (SIDE / 4)
    }

    /// The images the decoder makes of `codes` (flat `n × code_len` values): sigmoid outputs,
    /// flat `n × 784`.
    pub async fn decode(&self, codes: &[f32]) -> Result<Vec<f32>, DaeError> {
        let len = self.code_len();
        let n = codes.len() / len;
        if codes.is_empty() || !codes.len().is_multiple_of(len) || n > MAX_IMAGES {
            return Err(DaeError::Input(format!(
                "codes: expected n × {len} floats with 1 ≤ n ≤ {MAX_IMAGES} (flat [32, 7, 7] codes), got {} floats",
                codes.len()
            )));
        }
        if let Some(i) = codes.iter().position(|v| !v.is_finite()) {
            return Err(DaeError::Input(format!("codes: expected finite values, got {} at index {i}", codes[i])));
        }
        let device = self.device.clone().inner();
        let model = self.model.valid();
        let side = SIDE / 4;
        let c = self.config.model.channels;
        let parts: Vec<Tensor<4>> = (0..n)
            .step_by(EVAL_CHUNK)
            .map(|start| {
                let m = EVAL_CHUNK.min(n - start);
                let z = TensorData::new(codes[start * len..(start + m) * len].to_vec(), [m, c, side, side]);
                sigmoid(model.decode(Tensor::from_data(z, &device)))
            })
            .collect();
        read_f32s(Tensor::cat(parts, 0), "decoded images").await
    }

    /// An interpolation strip: the images decoded from `steps` blends of the codes of `from`
    /// and `to` (784 floats each in [0, 1]), `(1 − t)·code(from) + t·code(to)` for t from 0 to
    /// 1 in equal steps: flat `steps × 784`. The first is the reconstruction of `from`, the last
    /// that of `to`.
    pub async fn interpolate(&self, from: &[f32], to: &[f32], steps: usize) -> Result<Vec<f32>, DaeError> {
        for (name, image) in [("from", from), ("to", to)] {
            if check_images(name, image)? != 1 {
                return Err(DaeError::Input(format!(
                    "{name}: expected one image (784 floats), got {}",
                    describe_len(image.len())
                )));
            }
        }
        let weights = latent::blend_weights(steps)?;
        let device = self.device.clone().inner();
        let model = self.model.valid();
        let codes = model.encode(images(&[from, to].concat(), 2, &device)); // [2, 32, 7, 7]
        let [_, c, h, w] = codes.dims();
        let blend = Tensor::<2>::from_data(TensorData::new(weights, [steps, 2]), &device);
        let blended = blend.matmul(codes.reshape([2, c * h * w])).reshape([steps, c, h, w]);
        read_f32s(sigmoid(model.decode(blended)), "interpolation").await
    }

    /// Where the codes of `images` (flat `n × 784` in [0, 1], n ≥ 2) lie on their own two
    /// principal axes.
    pub async fn latent_map(&self, images: &[f32]) -> Result<LatentMap, DaeError> {
        if check_images("images", images)? < 2 {
            return Err(DaeError::Input("images: expected at least 2 images to map, got 1".into()));
        }
        let codes = self.encode(images).await?;
        latent::map(&codes, self.code_len())
    }

    /// The parameters with their names and shapes (see [`crate::weights::expected`]).
    pub async fn parameters(&self) -> Result<Vec<Named>, DaeError> {
        weights::read(&self.model.valid()).await
    }

    /// The weights as safetensors bytes (see [`crate::weights`]).
    pub async fn save_weights(&self) -> Result<Vec<u8>, DaeError> {
        weights::save(&self.model.valid()).await
    }

    /// Everything needed to continue training exactly where it stopped: the weights, Adam's
    /// moments (burnpack bytes, keyed by the parameter ids listed in `param_ids`) and the step
    /// count. Native only: it reads the optimiser state synchronously.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn checkpoint(&self) -> Result<TrainState, DaeError> {
        let weights = futures_lite::future::block_on(self.save_weights())?;
        let optimizer = self
            .optim
            .into_bytes()
            .map_err(|e| DaeError::Backend(format!("serialising the optimiser state failed: {e:?}")))?
            .to_vec();
        Ok(TrainState { weights, optimizer, param_ids: weights::param_ids(&self.model), steps: self.steps })
    }

    /// Restores a [`Trainer::checkpoint`]: the next step is the one the checkpointed trainer
    /// would have taken. Everything is validated first; on error nothing changes.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn restore(&mut self, state: &TrainState) -> Result<(), DaeError> {
        let checked = weights::check(&state.weights, self.config.model.channels)?;
        if state.param_ids.len() != checked.tensors.len() {
            return Err(DaeError::Weights(format!(
                "checkpoint: expected {} parameter ids, got {}",
                checked.tensors.len(),
                state.param_ids.len()
            )));
        }
        let optim = adam(&self.config)
            .from_bytes(burn::tensor::Bytes::from_bytes_vec(state.optimizer.clone()))
            .map_err(|e| DaeError::Weights(format!("checkpoint: expected a burnpack optimiser record, got {e:?}")))?;
        let model = weights::apply(&self.model, checked, &self.device);
        self.model = weights::with_param_ids(model, &state.param_ids);
        self.config.model.activation = self.model.activation();
        self.optim = optim;
        self.steps = state.steps;
        Ok(())
    }

    /// Replaces the weights with those in `bytes` (safetensors) after validating all of them;
    /// on error nothing changes. The optimiser restarts, since its moments belonged to the old
    /// weights; the activation follows the file's metadata when it names one.
    pub fn load_weights(&mut self, bytes: &[u8]) -> Result<(), DaeError> {
        let checked = weights::check(bytes, self.config.model.channels)?;
        self.model = weights::apply(&self.model, checked, &self.device);
        self.config.model.activation = self.model.activation();
        self.optim = adam(&self.config);
        self.steps = 0;
        Ok(())
    }

    /// [`Trainer::load_weights`], then counts `steps` as already taken: how a training session
    /// continues from a snapshot that kept its weights but not Adam's moments.
    pub fn load_weights_at(&mut self, bytes: &[u8], steps: u64) -> Result<(), DaeError> {
        self.load_weights(bytes)?;
        self.steps = steps;
        Ok(())
    }
}
