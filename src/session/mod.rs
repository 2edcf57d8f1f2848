//! The training session, one for the native trainer and the browser: the datasets (bytes), the
//! shuffled epoch cursor, the training noise, the validation set with its fixed noise, the
//! learning-rate schedule, epoch accounting, history and throughput, around one [`Trainer`].
//!
//! Determinism: every random choice is derived from the session's seed with [`mix`] — the
//! initial weights, the training noise and each epoch's shuffle — so a session, and one resumed
//! from any of its checkpoints, take exactly the same steps on the CPU backend.

#[cfg(not(target_arch = "wasm32"))]
pub mod checkpoint;
mod config;
mod record;

use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use serde::Serialize;
use web_time::Instant;

pub use config::{Schedule, SessionConfig, TUTORIAL_TRAIN_IMAGES, TUTORIAL_VAL_LOSS};
pub use record::{EpochRecord, Progress};

use crate::data::Mnist;
use crate::error::DaeError;
use crate::latent::LatentMap;
use crate::metrics::Evaluation;
use crate::model::PIXELS;
use crate::noise::add_noise;
use crate::train::Trainer;

/// Seed of the noise added to the validation images. It does not depend on the session's seed,
/// so that sessions with different seeds are compared on the same noisy images; the first `k`
/// validation images get the same noise whatever the number of validation images, so the page's
/// subset sees exactly the noise the native trainer's full set gives them.
pub const VALIDATION_NOISE_SEED: u64 = 0x5EED_0000_0000_0010;

/// SplitMix64 finaliser over `(seed, stream, index)`: independent seeds for the session's random
/// streams (stream 1: each training image's fixed noise, 2: shuffles, 3: per-step noise).
pub fn mix(seed: u64, stream: u64, index: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Everything but the weights that a session needs to continue where it stopped: what a
/// checkpoint's `state.json` and the browser's saved training hold.
#[derive(Config, Debug, PartialEq)]
pub struct SessionState {
    pub config: SessionConfig,
    pub progress: Progress,
    /// Optimiser steps taken.
    pub steps: u64,
    /// One row per finished epoch.
    pub history: Vec<EpochRecord>,
}

/// What one training step did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// The batch's loss before the update.
    pub loss: f32,
    /// Optimiser steps taken so far.
    pub steps: u64,
    /// Epochs completed.
    pub epoch: usize,
    /// Steps taken in the current epoch.
    pub steps_in_epoch: usize,
    /// Steps in a whole epoch at the current batch size.
    pub steps_per_epoch: usize,
    /// Images in this step's batch.
    pub images: usize,
    /// Wall-clock seconds of this step (batch, noise, forward, backward, update, loss readback).
    pub seconds: f64,
    /// Learning rate of this step.
    pub learning_rate: f64,
    /// Images per second over the last steps on this session's device (exponential average
    /// over ≈ 20 steps); starts afresh with each session, so a backend switch never shows the
    /// old backend's rate.
    pub images_per_second: f64,
}

/// Images of the test set with the noise they were given and the model's reconstructions.
#[derive(Debug, Clone, PartialEq)]
pub struct Panels {
    pub clean: Vec<f32>,
    pub noisy: Vec<f32>,
    pub denoised: Vec<f32>,
    pub labels: Vec<u8>,
}

/// Which of a session's image sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// A training session on one device.
pub struct Session {
    config: SessionConfig,
    trainer: Trainer,
    train: Mnist,
    test: Mnist,
    val_clean: Vec<f32>,
    val_noisy: Vec<f32>,
    progress: Progress,
    history: Vec<EpochRecord>,
    order: Vec<usize>,
    order_epoch: Option<usize>,
    images_per_second: Option<f64>,
}

impl Session {
    /// A fresh session of `config` on `device`, training on the first `config.train_images` of
    /// `train` and validating on the first `config.val_images` of `test`.
    pub fn new(config: SessionConfig, train: Mnist, test: Mnist, device: &Device) -> Result<Self, DaeError> {
        config.validate()?;
        let trainer = Trainer::new(config.trainer(), device)?;
        let train = if train.len() == config.train_images {
            train
        } else {
            train.prefix(config.train_images, "train images")?
        };
        let val = test.prefix(config.val_images, "validation images")?;
        let val_clean = val.floats(0..val.len());
        let val_noisy = add_noise(&val_clean, config.val_noise_factor, VALIDATION_NOISE_SEED)?;
        Ok(Self {
            config,
            trainer,
            train,
            test,
            val_clean,
            val_noisy,
            progress: Progress::new(),
            history: Vec::new(),
            order: Vec::new(),
            order_epoch: None,
            images_per_second: None,
        })
    }

    /// Continues a session from its state and weights (safetensors); Adam's moments start
    /// afresh (a native checkpoint also restores them: [`checkpoint`]).
    pub fn resume(
        state: SessionState,
        weights: &[u8],
        train: Mnist,
        test: Mnist,
        device: &Device,
    ) -> Result<Self, DaeError> {
        let mut session = Self::new(state.config, train, test, device)?;
        session.trainer.load_weights_at(weights, state.steps)?;
        session.config.activation = session.trainer.model().activation();
        session.progress = state.progress;
        session.history = state.history;
        Ok(session)
    }

    /// Goes back to `state` and `weights`, a copy of this session taken earlier, on `device`:
    /// the weights, the step count, the epoch's place and the history come from the copy; the
    /// settings stay as they are now (a change made since the copy is not undone). How a session
    /// leaves a failed GPU. Checked first: on error nothing changes.
    pub fn restore(&mut self, state: SessionState, weights: &[u8], device: &Device) -> Result<(), DaeError> {
        let (was, now) = (&state.config, &self.config);
        if (was.train_images, was.val_images, was.seed) != (now.train_images, now.val_images, now.seed)
            || was.val_noise_factor != now.val_noise_factor
        {
            return Err(DaeError::Weights(format!(
                "restore: expected a copy of this session ({} training and {} validation images, seed {}), got one of {}, {}, seed {}",
                now.train_images, now.val_images, now.seed, was.train_images, was.val_images, was.seed
            )));
        }
        let mut trainer = Trainer::new(self.trainer.config().clone(), device)?;
        trainer.load_weights_at(weights, state.steps)?;
        self.config.activation = trainer.model().activation();
        self.trainer = trainer;
        self.progress = state.progress;
        self.history = state.history;
        self.order_epoch = None;
        self.images_per_second = None;
        Ok(())
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    pub fn trainer(&self) -> &Trainer {
        &self.trainer
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn trainer_mut(&mut self) -> &mut Trainer {
        &mut self.trainer
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// One row per finished epoch.
    pub fn history(&self) -> &[EpochRecord] {
        &self.history
    }

    /// The state to continue from (with the weights, [`Session::save_weights`]).
    pub fn state(&self) -> SessionState {
        SessionState::new(self.config.clone(), self.progress.clone(), self.trainer.steps(), self.history.clone())
    }

    /// The validation images: clean, and with their fixed noise.
    pub fn validation(&self) -> (&[f32], &[f32]) {
        (&self.val_clean, &self.val_noisy)
    }

    /// Labels of the validation images.
    pub fn validation_labels(&self) -> &[u8] {
        &self.test.labels[..self.config.val_images]
    }

    /// Optimiser steps taken so far.
    pub fn steps(&self) -> u64 {
        self.trainer.steps()
    }

    /// True when all epochs are done.
    pub fn finished(&self) -> bool {
        self.progress.epoch >= self.config.epochs
    }

    /// True when the current epoch has seen every training image (call
    /// [`Session::finish_epoch`]).
    pub fn epoch_complete(&self) -> bool {
        self.progress.images_in_epoch >= self.config.train_images
    }

    /// Changes the number of epochs; a session already past it is finished.
    pub fn set_epochs(&mut self, epochs: usize) -> Result<(), DaeError> {
        let config = self.config.clone().with_epochs(epochs);
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Changes the batch size from the next step on, keeping the place in the epoch.
    pub fn set_batch_size(&mut self, batch_size: usize) -> Result<(), DaeError> {
        let config = self.config.clone().with_batch_size(batch_size);
        config.validate()?;
        if batch_size != self.config.batch_size {
            // Images per second depend on the batch size.
            self.images_per_second = None;
        }
        self.config = config;
        Ok(())
    }

    /// Changes the training noise from the next step on; the validation noise stays.
    pub fn set_noise_factor(&mut self, noise_factor: f32) -> Result<(), DaeError> {
        let config = self.config.clone().with_noise_factor(noise_factor);
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Changes the learning rate (the start of the schedule) from the next step on.
    pub fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), DaeError> {
        let config = self.config.clone().with_learning_rate(learning_rate);
        config.validate()?;
        self.config = config;
        Ok(())
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

    /// One training step of the current epoch: the next batch of the epoch's order, with its
    /// noise, at the schedule's learning rate.
    pub async fn step(&mut self) -> Result<StepReport, DaeError> {
        if self.finished() {
            return Err(DaeError::Input(format!(
                "step: expected a session with epochs left, got all {} done (raise the epochs to go on)",
                self.config.epochs
            )));
        }
        if self.epoch_complete() {
            return Err(DaeError::Input("step: the epoch is complete; call finish_epoch first".into()));
        }
        let started = Instant::now();
        self.ensure_order();
        let start = self.progress.images_in_epoch;
        let idx = &self.order[start..(start + self.config.batch_size).min(self.config.train_images)];
        let clean = self.train.gather(idx)?;
        let factor = self.config.noise_factor;
        let noisy = if self.config.fresh_noise {
            add_noise(&clean, factor, mix(self.config.seed, 3, self.trainer.steps()))?
        } else {
            // Each image keeps one noise for the whole session: the tutorial noises its training
            // set once, before training.
            let mut noisy = Vec::with_capacity(clean.len());
            for (image, &i) in clean.chunks_exact(PIXELS).zip(idx) {
                noisy.extend(add_noise(image, factor, mix(self.config.seed, 1, i as u64))?);
            }
            noisy
        };
        let images = idx.len();
        let learning_rate = self.config.learning_rate_at(self.trainer.steps());
        self.trainer.set_learning_rate(learning_rate)?;
        let loss = self.trainer.train_step(&noisy, &clean).await?;
        let seconds = started.elapsed().as_secs_f64();
        let p = &mut self.progress;
        p.images_in_epoch += images;
        p.steps_in_epoch += 1;
        p.epoch_loss_sum += loss as f64 * images as f64;
        p.epoch_seconds += seconds;
        p.total_seconds += seconds;
        let rate = images as f64 / seconds.max(1e-9);
        // ≈ 20 steps: single steps vary with the batch's place in a wasm tier-up or a GC pause.
        let smooth = self.images_per_second.map_or(rate, |r| 0.95 * r + 0.05 * rate);
        self.images_per_second = Some(smooth);
        Ok(StepReport {
            loss,
            steps: self.trainer.steps(),
            epoch: p.epoch,
            steps_in_epoch: p.steps_in_epoch,
            steps_per_epoch: self.config.steps_per_epoch(),
            images,
            seconds,
            learning_rate,
            images_per_second: smooth,
        })
    }

    /// Loss and PSNR on the validation images (all of them, or the first `count`: the same
    /// images with the same noise, a subset of the figure the trainer records).
    pub async fn validate(&self, count: Option<usize>) -> Result<Evaluation, DaeError> {
        let n = count.unwrap_or(self.config.val_images);
        if !(1..=self.config.val_images).contains(&n) {
            return Err(DaeError::Input(format!(
                "validation count: expected 1 to {}, got {n}",
                self.config.val_images
            )));
        }
        let (clean, noisy) = (&self.val_clean[..n * PIXELS], &self.val_noisy[..n * PIXELS]);
        self.trainer.evaluate(noisy, clean).await
    }

    /// Validates on every validation image and closes the epoch, recording its row.
    pub async fn finish_epoch(&mut self) -> Result<EpochRecord, DaeError> {
        if !self.epoch_complete() {
            return Err(DaeError::Input(format!(
                "finish_epoch: expected all {} images of the epoch trained on, got {}",
                self.config.train_images, self.progress.images_in_epoch
            )));
        }
        let eval = self.validate(None).await?;
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
        self.progress =
            Progress::new().with_epoch(self.progress.epoch + 1).with_total_seconds(self.progress.total_seconds);
        self.history.push(record.clone());
        Ok(record)
    }

    /// Test images `indices` with noise of `factor` drawn from `seed`, and their reconstructions.
    pub async fn panels(&self, indices: &[usize], factor: f32, seed: u64) -> Result<Panels, DaeError> {
        let clean = self.test.gather(indices)?;
        let noisy = add_noise(&clean, factor, seed)?;
        let denoised = self.trainer.denoise(&noisy).await?;
        let labels = indices.iter().map(|&i| self.test.labels[i]).collect();
        Ok(Panels { clean, noisy, denoised, labels })
    }

    /// The latent map of the first `count` test images (clean, at most as many as the test set
    /// has): each code's place on the two principal axes of them all, with the images' labels.
    pub async fn latent_map(&self, count: usize) -> Result<(LatentMap, Vec<u8>), DaeError> {
        let n = count.min(self.test.len());
        if n < 2 {
            return Err(DaeError::Input(format!(
                "count: expected at least 2 test images to map, got {count} (of {} in the test set)",
                self.test.len()
            )));
        }
        let map = self.trainer.latent_map(&self.test.floats(0..n)).await?;
        Ok((map, self.test.labels[..n].to_vec()))
    }

    /// One image of a set with its label.
    pub fn image(&self, split: Split, index: usize) -> Result<(Vec<f32>, u8), DaeError> {
        let set = match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        };
        Ok((set.gather(&[index])?, set.labels[index]))
    }

    /// Images in a set.
    pub fn len(&self, split: Split) -> usize {
        match split {
            Split::Train => self.train.len(),
            Split::Test => self.test.len(),
        }
    }

    /// The current weights, safetensors bytes.
    pub async fn save_weights(&self) -> Result<Vec<u8>, DaeError> {
        self.trainer.save_weights().await
    }

    /// Replaces the weights (validated first; on error nothing changes) and starts the session
    /// over from step 0 with them: a loaded model is a new starting point, not the old run.
    pub fn load_weights(&mut self, bytes: &[u8]) -> Result<(), DaeError> {
        self.trainer.load_weights(bytes)?;
        self.config.activation = self.trainer.model().activation();
        self.progress = Progress::new();
        self.history.clear();
        self.images_per_second = None;
        Ok(())
    }
}
