//! What defines a training session: the tutorial's settings and the learning-rate schedule.

use burn::prelude::*;

use crate::error::DaeError;
use crate::input::{MAX_TRAIN_BATCH, check_learning_rate, check_range};
use crate::model::{Activation, DaeConfig};
use crate::noise::MAX_NOISE_FACTOR;
use crate::train::TrainerConfig;

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

/// Everything that defines a session; saved with each checkpoint and snapshot.
#[derive(Config, Debug, PartialEq)]
pub struct SessionConfig {
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
    /// Standard deviation of the Gaussian noise on the training inputs (the tutorial: 0.5).
    #[config(default = 0.5)]
    pub noise_factor: f32,
    /// Draw new noise for every batch instead of giving each training image one fixed noise
    /// (the tutorial noises the training set once, before training).
    #[config(default = false)]
    pub fresh_noise: bool,
    /// Standard deviation of the noise on the validation images: fixed for the whole session, so
    /// that changing the training noise does not move the validation curve.
    #[config(default = 0.5)]
    pub val_noise_factor: f32,
    /// Hidden-layer activation.
    #[config(default = "Activation::LeakyRelu")]
    pub activation: Activation,
    /// Seed of the weights, the training noise and the shuffles.
    #[config(default = 0)]
    pub seed: u64,
    /// Training images, taken from the start of the training set given to the session.
    #[config(default = 55_000)]
    pub train_images: usize,
    /// Validation images, taken from the start of the test set given to the session.
    #[config(default = 10_000)]
    pub val_images: usize,
}

impl SessionConfig {
    /// Refuses settings the session cannot use, naming what was expected.
    pub fn validate(&self) -> Result<(), DaeError> {
        let bad = |m: String| Err(DaeError::Input(m));
        if !(1..=1000).contains(&self.epochs) {
            return bad(format!("epochs: expected 1 to 1000, got {}", self.epochs));
        }
        if !(1..=MAX_TRAIN_BATCH).contains(&self.batch_size) {
            return bad(format!("batch size: expected 1 to {MAX_TRAIN_BATCH}, got {}", self.batch_size));
        }
        if !(1..=60_000).contains(&self.train_images) {
            return bad(format!("train images: expected 1 to 60000, got {}", self.train_images));
        }
        if !(1..=10_000).contains(&self.val_images) {
            return bad(format!("validation images: expected 1 to 10000, got {}", self.val_images));
        }
        check_learning_rate("learning rate", self.learning_rate)?;
        check_range("final learning rate", self.final_learning_rate, 0.0, 1.0)?;
        check_range("noise factor", self.noise_factor as f64, 0.0, MAX_NOISE_FACTOR)?;
        check_range("validation noise factor", self.val_noise_factor as f64, 0.0, MAX_NOISE_FACTOR)?;
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

    /// The model and optimiser settings of this session.
    pub fn trainer(&self) -> TrainerConfig {
        TrainerConfig::new(DaeConfig::new().with_activation(self.activation))
            .with_learning_rate(self.learning_rate)
            .with_seed(self.seed)
    }
}
