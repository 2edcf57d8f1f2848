//! Where a session stands, and the row it records for each epoch.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a session stands within its epoch; saved with each checkpoint and snapshot.
#[derive(Config, Debug, PartialEq)]
pub struct Progress {
    /// Epochs completed.
    #[config(default = 0)]
    pub epoch: usize,
    /// Images of the current epoch's order already trained on (a change of batch size keeps
    /// the place in the epoch).
    #[config(default = 0)]
    pub images_in_epoch: usize,
    /// Steps taken in the current epoch.
    #[config(default = 0)]
    pub steps_in_epoch: usize,
    /// Σ batch loss × batch size over the current epoch's steps.
    #[config(default = 0.0)]
    pub epoch_loss_sum: f64,
    /// Wall-clock seconds spent training in the current epoch (across resumes).
    #[config(default = 0.0)]
    pub epoch_seconds: f64,
    /// Wall-clock seconds spent training in the whole session (across resumes).
    #[config(default = 0.0)]
    pub total_seconds: f64,
}

/// One row of the session's history (one per epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
