//! The tutorial's experiment as a resumable run: MNIST from the IDX files, shuffled batches,
//! per-epoch validation loss and PSNR, and checkpoints that continue bit for bit.
//!
//! Native only (it reads files and drives the async trainer with `block_on`); the command-line
//! front end is `src/bin/mnist-dae-train/`.
//!
//! Determinism: every random choice is derived from the run's seed with [`mix`] — the initial
//! weights, the training noise, and each epoch's shuffle — so a run, and a run resumed from any
//! of its checkpoints, take exactly the same steps on the CPU backend.

use std::path::Path;
use std::time::Instant;

use burn::prelude::*;
use futures_lite::future::block_on;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;

use crate::error::DaeError;
use crate::mnist::{Mnist, Split};
use crate::model::{Activation, DaeConfig, PIXELS};
use crate::noise::add_noise;
use crate::train::{TrainState, Trainer, TrainerConfig};

/// Seed of the noise added to the validation images. It does not depend on the run's seed, so
/// that runs with different seeds are compared on the same noisy images; the first `k` validation
/// images get the same noise whatever the number of validation images.
pub const VALIDATION_NOISE_SEED: u64 = 0x5EED_0000_0000_0010;

/// Training images used by the tutorial (the first 55,000 of MNIST's 60,000).
pub const TUTORIAL_TRAIN_IMAGES: usize = 55_000;

/// The tutorial's reported validation loss after 25 epochs (LearnOpenCV, "Understanding
/// autoencoders using TensorFlow").
pub const TUTORIAL_VAL_LOSS: f64 = 0.1171;

/// How the learning rate evolves over the run.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// The tutorial's recipe: Adam's step size stays at `learning_rate`.
    Constant,
    /// Cosine decay from `learning_rate` at the first step to `final_learning_rate` at the last.
    Cosine,
    /// `learning_rate` until the last `anneal_epochs` epochs, then a straight line down to
    /// `final_learning_rate` at the last step (the "warmup-stable-decay" shape without warm-up):
    /// the constant rate's progress, without ending on a noisy iterate.
    Anneal,
}

impl Schedule {
    /// Parses `constant` / `cosine` / `anneal`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "constant" => Some(Self::Constant),
            "cosine" => Some(Self::Cosine),
            "anneal" => Some(Self::Anneal),
            _ => None,
        }
    }
}

/// Everything that defines a run; saved in each checkpoint.
#[derive(Config, Debug)]
pub struct RunConfig {
    /// Passes over the training images (the tutorial: 25).
    #[config(default = 25)]
    pub epochs: usize,
    /// Images per step (the tutorial: 64); an epoch's last batch holds the remainder, as in Keras.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Adam's step size (the tutorial: 1e-3), the start of the schedule.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Learning-rate schedule.
    #[config(default = "Schedule::Constant")]
    pub schedule: Schedule,
    /// Where the cosine and anneal schedules end.
    #[config(default = 1e-5)]
    pub final_learning_rate: f64,
    /// Epochs at the end of the anneal schedule over which the rate falls.
    #[config(default = 5)]
    pub anneal_epochs: usize,
    /// Standard deviation of the Gaussian noise (the tutorial: 0.5).
    #[config(default = 0.5)]
    pub noise_factor: f32,
    /// Draw new noise for every batch instead of noising the training set once (the tutorial
    /// noises it once, before training).
    #[config(default = false)]
    pub fresh_noise: bool,
    /// Hidden-layer activation.
    #[config(default = "Activation::LeakyRelu")]
    pub activation: Activation,
    /// Seed of the weights, the training noise and the shuffles.
    #[config(default = 0)]
    pub seed: u64,
    /// Training images, taken from the start of MNIST's training split.
    #[config(default = 55_000)]
    pub train_images: usize,
    /// Validation images, taken from the start of MNIST's test split.
    #[config(default = 10_000)]
    pub val_images: usize,
}

impl RunConfig {
    /// Refuses settings the run cannot use, naming what was expected.
    pub fn validate(&self) -> Result<(), DaeError> {
        let bad = |m: String| Err(DaeError::Input(m));
        if self.epochs == 0 {
            return bad("epochs: expected at least 1, got 0".into());
        }
        if self.batch_size == 0 {
            return bad("batch size: expected at least 1, got 0".into());
        }
        if !(1..=60_000).contains(&self.train_images) {
            return bad(format!("train images: expected 1 to 60000, got {}", self.train_images));
        }
        if !(1..=10_000).contains(&self.val_images) {
            return bad(format!("validation images: expected 1 to 10000, got {}", self.val_images));
        }
        crate::input::check_range("learning rate", self.learning_rate, f64::MIN_POSITIVE, 1.0)?;
        crate::input::check_range("final learning rate", self.final_learning_rate, 0.0, 1.0)?;
        crate::input::check_range("noise factor", self.noise_factor as f64, 0.0, crate::noise::MAX_NOISE_FACTOR)?;
        Ok(())
    }

    /// Steps in one epoch: ⌈train_images / batch_size⌉.
    pub fn steps_per_epoch(&self) -> usize {
        self.train_images.div_ceil(self.batch_size)
    }

    /// The learning rate of global step `step` (0-based).
    pub fn learning_rate_at(&self, step: u64) -> f64 {
        match self.schedule {
            Schedule::Constant => self.learning_rate,
            Schedule::Cosine => {
                let total = (self.epochs * self.steps_per_epoch()).max(2) as f64;
                let t = (step as f64 / (total - 1.0)).min(1.0);
                let (hi, lo) = (self.learning_rate, self.final_learning_rate);
                lo + 0.5 * (hi - lo) * (1.0 + (std::f64::consts::PI * t).cos())
            }
            Schedule::Anneal => {
                let total = self.epochs * self.steps_per_epoch();
                let tail = (self.anneal_epochs.min(self.epochs) * self.steps_per_epoch()).max(1);
                let start = total - tail;
                if (step as usize) < start {
                    return self.learning_rate;
                }
                // Linear from the rate at the first tail step to the final one at the last step.
                let t = ((step as usize - start) as f64 / (tail.max(2) - 1) as f64).min(1.0);
                self.learning_rate + (self.final_learning_rate - self.learning_rate) * t
            }
        }
    }

    fn trainer(&self) -> TrainerConfig {
        TrainerConfig::new(DaeConfig::new().with_activation(self.activation))
            .with_learning_rate(self.learning_rate)
            .with_seed(self.seed)
    }
}

/// SplitMix64 finaliser over `(seed, stream, index)`: independent seeds for the run's random
/// streams (stream 1: training noise, 2: shuffles, 3: per-step noise).
pub fn mix(seed: u64, stream: u64, index: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The images of a run, as floats in [0, 1], flat `n × 784`.
pub struct Data {
    pub train_clean: Vec<f32>,
    /// The training set noised once (absent with `fresh_noise`).
    pub train_noisy: Option<Vec<f32>>,
    pub val_clean: Vec<f32>,
    pub val_noisy: Vec<f32>,
    /// Labels of the validation images (for figures).
    pub val_labels: Vec<u8>,
}

impl Data {
    /// Reads the images `config` asks for from the IDX files in `dir` and noises them.
    pub fn load(dir: &Path, config: &RunConfig) -> Result<Self, DaeError> {
        config.validate()?;
        let train = Mnist::read(dir, Split::Train)?;
        let test = Mnist::read(dir, Split::Test)?;
        let too_many = |what: &str, want: usize, have: usize| {
            DaeError::Input(format!("{what}: expected at most {have} images in {}, asked for {want}", dir.display()))
        };
        if config.train_images > train.len() {
            return Err(too_many("train images", config.train_images, train.len()));
        }
        if config.val_images > test.len() {
            return Err(too_many("validation images", config.val_images, test.len()));
        }
        let train_clean = train.floats(0..config.train_images);
        let train_noisy = if config.fresh_noise {
            None
        } else {
            Some(add_noise(&train_clean, config.noise_factor, mix(config.seed, 1, 0))?)
        };
        let val_clean = test.floats(0..config.val_images);
        let val_noisy = add_noise(&val_clean, config.noise_factor, VALIDATION_NOISE_SEED)?;
        let val_labels = test.labels[..config.val_images].to_vec();
        Ok(Self { train_clean, train_noisy, val_clean, val_noisy, val_labels })
    }
}

/// Where a run stands; saved in each checkpoint.
#[derive(Config, Debug)]
pub struct Progress {
    /// Epochs completed.
    #[config(default = 0)]
    pub epoch: usize,
    /// Steps taken in the current epoch.
    #[config(default = 0)]
    pub step_in_epoch: usize,
    /// Σ batch loss × batch size over the current epoch's steps.
    #[config(default = 0.0)]
    pub epoch_loss_sum: f64,
    /// Wall-clock seconds spent training in the current epoch (across resumes).
    #[config(default = 0.0)]
    pub epoch_seconds: f64,
}

/// What a checkpoint's `state.json` holds besides the weights and optimiser files.
#[derive(Config, Debug)]
pub struct CheckpointState {
    pub run: RunConfig,
    pub progress: Progress,
    /// Ids of the parameters in the weights' file order (keys of the optimiser state).
    pub param_ids: Vec<u64>,
    /// Optimiser steps taken.
    pub steps: u64,
}

/// One row of the run's history (one per epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Optimiser steps taken so far.
    pub steps: u64,
    /// Mean training loss over the epoch's batches (weighted by batch size), before each update.
    pub train_loss: f64,
    /// Mean sigmoid cross-entropy on the noisy validation images.
    pub val_loss: f64,
    /// Mean PSNR (dB, peak 1) of the noisy validation images against the clean ones.
    pub psnr_noisy: f64,
    /// Mean PSNR (dB, peak 1) of the reconstructions against the clean images.
    pub psnr_denoised: f64,
    /// Learning rate of the epoch's last step.
    pub learning_rate: f64,
    /// Seconds of training in the epoch (without the evaluation).
    pub seconds: f64,
}

impl EpochRecord {
    /// Header of the history CSV.
    pub const CSV_HEADER: &'static str =
        "epoch,steps,train_loss,val_loss,psnr_noisy_db,psnr_denoised_db,learning_rate,seconds";

    /// The record as a CSV line (no newline).
    pub fn csv(&self) -> String {
        format!(
            "{},{},{:.6},{:.6},{:.3},{:.3},{:.3e},{:.1}",
            self.epoch,
            self.steps,
            self.train_loss,
            self.val_loss,
            self.psnr_noisy,
            self.psnr_denoised,
            self.learning_rate,
            self.seconds
        )
    }

    /// Parses a line written by [`EpochRecord::csv`].
    pub fn parse(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.trim().split(',').collect();
        if f.len() != 8 {
            return None;
        }
        Some(Self {
            epoch: f[0].parse().ok()?,
            steps: f[1].parse().ok()?,
            train_loss: f[2].parse().ok()?,
            val_loss: f[3].parse().ok()?,
            psnr_noisy: f[4].parse().ok()?,
            psnr_denoised: f[5].parse().ok()?,
            learning_rate: f[6].parse().ok()?,
            seconds: f[7].parse().ok()?,
        })
    }
}

/// Mean sigmoid cross-entropy of `logits` against `targets`, in f64 on the host (the same
/// stable form as [`crate::model::bce_with_logits`]).
pub fn bce(logits: &[f32], targets: &[f32]) -> f64 {
    let sum: f64 = logits
        .iter()
        .zip(targets)
        .map(|(&x, &z)| {
            let (x, z) = (x as f64, z as f64);
            x.max(0.0) - x * z + (-x.abs()).exp().ln_1p()
        })
        .sum();
    sum / logits.len() as f64
}

/// Mean over images of PSNR = 10·log10(1 / MSE) in dB (pixel peak 1); an exact image counts
/// as 100 dB.
pub fn mean_psnr(images: &[f32], clean: &[f32]) -> f64 {
    let n = clean.len() / PIXELS;
    let total: f64 = images
        .chunks_exact(PIXELS)
        .zip(clean.chunks_exact(PIXELS))
        .map(|(a, b)| {
            let mse = a.iter().zip(b).map(|(&x, &y)| ((x - y) as f64).powi(2)).sum::<f64>() / PIXELS as f64;
            if mse > 0.0 { (10.0 * (1.0 / mse).log10()).min(100.0) } else { 100.0 }
        })
        .sum();
    total / n as f64
}

/// Loss and PSNR of a model on noisy/clean image pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub psnr_noisy: f64,
    pub psnr_denoised: f64,
}

/// Evaluates `trainer` on `noisy` → `clean` with one forward pass (logits read back once).
pub fn evaluate(trainer: &Trainer, noisy: &[f32], clean: &[f32]) -> Result<Evaluation, DaeError> {
    crate::input::check_pair(noisy, clean)?;
    let logits = block_on(trainer.logits(noisy))?;
    let denoised: Vec<f32> = logits.iter().map(|&x| 1.0 / (1.0 + (-x).exp())).collect();
    Ok(Evaluation {
        loss: bce(&logits, clean),
        psnr_noisy: mean_psnr(noisy, clean),
        psnr_denoised: mean_psnr(&denoised, clean),
    })
}

/// A run in progress: the trainer, its data, and where it stands.
pub struct Run {
    config: RunConfig,
    trainer: Trainer,
    data: Data,
    progress: Progress,
    order: Vec<usize>,
    order_epoch: Option<usize>,
}

impl Run {
    /// A fresh run of `config` on `device`.
    pub fn new(config: RunConfig, data: Data, device: &Device) -> Result<Self, DaeError> {
        config.validate()?;
        let trainer = Trainer::new(config.trainer(), device)?;
        Ok(Self { config, trainer, data, progress: Progress::new(), order: Vec::new(), order_epoch: None })
    }

    /// Continues the run saved in checkpoint directory `dir`; `data` must be loaded with the
    /// checkpoint's config ([`Run::checkpoint_config`]).
    pub fn resume(dir: &Path, data: Data, device: &Device) -> Result<Self, DaeError> {
        let state = read_state(dir)?;
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| {
                DaeError::Input(format!("{}: expected a checkpoint file, got {e}", dir.join(name).display()))
            })
        };
        let train_state = TrainState {
            weights: read(WEIGHTS_FILE)?,
            optimizer: read(OPTIMIZER_FILE)?,
            param_ids: state.param_ids.clone(),
            steps: state.steps,
        };
        let mut run = Self::new(state.run, data, device)?;
        run.trainer.restore(&train_state)?;
        run.progress = state.progress;
        Ok(run)
    }

    /// The run config saved in checkpoint directory `dir`.
    pub fn checkpoint_config(dir: &Path) -> Result<RunConfig, DaeError> {
        Ok(read_state(dir)?.run)
    }

    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// Extends (or shortens) the run; used when resuming with a new epoch count.
    pub fn set_epochs(&mut self, epochs: usize) -> Result<(), DaeError> {
        if epochs == 0 {
            return Err(DaeError::Input("epochs: expected at least 1, got 0".into()));
        }
        self.config.epochs = epochs;
        Ok(())
    }

    pub fn trainer(&self) -> &Trainer {
        &self.trainer
    }

    pub fn data(&self) -> &Data {
        &self.data
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// True when all epochs are done.
    pub fn finished(&self) -> bool {
        self.progress.epoch >= self.config.epochs
    }

    /// True when the current epoch has taken all its steps (call [`Run::finish_epoch`]).
    pub fn epoch_complete(&self) -> bool {
        self.progress.step_in_epoch >= self.config.steps_per_epoch()
    }

    /// Optimiser steps taken so far.
    pub fn steps(&self) -> u64 {
        self.trainer.steps()
    }

    /// This epoch's image order: a permutation drawn from (seed, epoch).
    fn ensure_order(&mut self) {
        if self.order_epoch != Some(self.progress.epoch) {
            let mut order: Vec<usize> = (0..self.config.train_images).collect();
            let mut rng = ChaCha8Rng::seed_from_u64(mix(self.config.seed, 2, self.progress.epoch as u64));
            order.shuffle(&mut rng);
            self.order = order;
            self.order_epoch = Some(self.progress.epoch);
        }
    }

    /// One training step of the current epoch; returns the batch's loss before the update.
    pub fn step(&mut self) -> Result<f32, DaeError> {
        if self.epoch_complete() {
            return Err(DaeError::Input("step: the epoch is complete; call finish_epoch first".into()));
        }
        let started = Instant::now();
        self.ensure_order();
        let b = self.config.batch_size;
        let start = self.progress.step_in_epoch * b;
        let idx = &self.order[start..(start + b).min(self.config.train_images)];
        let gather = |src: &[f32]| -> Vec<f32> {
            idx.iter().flat_map(|&i| src[i * PIXELS..(i + 1) * PIXELS].iter().copied()).collect()
        };
        let clean = gather(&self.data.train_clean);
        let noisy = match &self.data.train_noisy {
            Some(noisy) => gather(noisy),
            None => add_noise(&clean, self.config.noise_factor, mix(self.config.seed, 3, self.trainer.steps()))?,
        };
        let lr = self.config.learning_rate_at(self.trainer.steps());
        self.trainer.set_learning_rate(lr)?;
        let loss = block_on(self.trainer.train_step(&noisy, &clean))?;
        self.progress.step_in_epoch += 1;
        self.progress.epoch_loss_sum += loss as f64 * idx.len() as f64;
        self.progress.epoch_seconds += started.elapsed().as_secs_f64();
        Ok(loss)
    }

    /// Evaluates on the validation images and closes the epoch.
    pub fn finish_epoch(&mut self) -> Result<EpochRecord, DaeError> {
        if !self.epoch_complete() {
            return Err(DaeError::Input(format!(
                "finish_epoch: expected {} steps in the epoch, got {}",
                self.config.steps_per_epoch(),
                self.progress.step_in_epoch
            )));
        }
        let eval = evaluate(&self.trainer, &self.data.val_noisy, &self.data.val_clean)?;
        let record = EpochRecord {
            epoch: self.progress.epoch + 1,
            steps: self.trainer.steps(),
            train_loss: self.progress.epoch_loss_sum / self.config.train_images as f64,
            val_loss: eval.loss,
            psnr_noisy: eval.psnr_noisy,
            psnr_denoised: eval.psnr_denoised,
            learning_rate: self.trainer.config().learning_rate,
            seconds: self.progress.epoch_seconds,
        };
        self.progress = Progress::new().with_epoch(self.progress.epoch + 1);
        Ok(record)
    }

    /// The current weights, safetensors bytes.
    pub fn weights(&self) -> Result<Vec<u8>, DaeError> {
        block_on(self.trainer.save_weights())
    }

    /// Writes a checkpoint to `dir` (created if missing): the weights, the optimiser state and
    /// `state.json`. Files are written beside and renamed over the old ones, so an interrupted
    /// save leaves the previous checkpoint readable.
    pub fn save_checkpoint(&self, dir: &Path) -> Result<(), DaeError> {
        let io = |what: &Path, e: std::io::Error| DaeError::Backend(format!("{}: writing failed: {e}", what.display()));
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let state = self.trainer.checkpoint()?;
        let json = CheckpointState::new(self.config.clone(), self.progress.clone(), state.param_ids, state.steps);
        let files = [
            (WEIGHTS_FILE, state.weights),
            (OPTIMIZER_FILE, state.optimizer),
            (STATE_FILE, serde_json_bytes(&json)),
        ];
        for (name, bytes) in &files {
            let tmp = dir.join(format!("{name}.tmp"));
            std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
        }
        // state.json last: it names the step the other two files belong to.
        for (name, _) in &files {
            let (tmp, path) = (dir.join(format!("{name}.tmp")), dir.join(name));
            std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        }
        Ok(())
    }
}

/// File names inside a checkpoint directory.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
pub const OPTIMIZER_FILE: &str = "optimizer.bpk";
pub const STATE_FILE: &str = "state.json";

fn serde_json_bytes(state: &CheckpointState) -> Vec<u8> {
    state.to_string().into_bytes()
}

fn read_state(dir: &Path) -> Result<CheckpointState, DaeError> {
    use burn::config::Config as _;
    let path = dir.join(STATE_FILE);
    CheckpointState::load(&path).map_err(|e| {
        DaeError::Input(format!("{}: expected a checkpoint's state.json, got {e:?}", path.display()))
    })
}
