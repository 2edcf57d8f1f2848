//! The self-check a device passes before a model is trusted to it: the model's forward pass and
//! two training steps on a fixed batch, on the device and on the CPU, must agree within
//! [`TOLERANCE`].
//!
//! Why: on wasm, cubecl skips a dispatch whose shader fails WebGPU validation and leaves stale
//! pooled memory in its output (tracel-ai/cubecl#1641), so a browser whose WGSL compiler rejects
//! one of burn's kernels would otherwise train on garbage without an error. The two steps cover
//! the backward passes and Adam: the second step's loss and the last reconstruction are computed
//! from weights the device updated.

use burn::prelude::Device;
use web_time::Instant;

use crate::error::DaeError;
use crate::model::{Activation, PIXELS, SIDE};
use crate::noise::add_noise;
use crate::train::{Trainer, TrainerConfig};

/// The largest difference allowed between the device's results and the CPU's: the bound the
/// WebGPU tests hold the backends to (losses over three steps, reconstructions).
pub const TOLERANCE: f32 = 1e-4;

/// Images in the check's batch: enough for every kernel's full workgroup shapes, few enough to
/// keep the check short on a software adapter.
const BATCH: usize = 4;

/// What the check measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// The largest difference seen, over every compared value.
    pub max_difference: f32,
    /// Seconds the check took, both devices together.
    pub seconds: f64,
}

/// Rings of four radii: strokes and background, like digits, and no two images alike.
fn images() -> Vec<f32> {
    let mut out = Vec::with_capacity(BATCH * PIXELS);
    for i in 0..BATCH {
        let radius = 5.0 + 2.0 * i as f32;
        for y in 0..SIDE {
            for x in 0..SIDE {
                let (dx, dy) = (x as f32 - 13.5, y as f32 - 13.5);
                let d = ((dx * dx + dy * dy).sqrt() - radius).abs();
                out.push((1.0 - d / 2.0).clamp(0.0, 1.0));
            }
        }
    }
    out
}

/// The largest |a − b| of two equally long results, or the first disagreement in kind.
fn difference(what: &str, a: &[f32], b: &[f32]) -> Result<f32, String> {
    if a.len() != b.len() {
        return Err(format!("{what}: expected {} values, got {}", a.len(), b.len()));
    }
    let mut max = 0f32;
    for (x, y) in a.iter().zip(b) {
        let d = (x - y).abs();
        // NaN never compares greater: count it as a disagreement explicitly.
        if d.is_nan() || !x.is_finite() || !y.is_finite() {
            return Err(format!("{what}: expected finite values, got {y} on the device against {x}"));
        }
        max = max.max(d);
    }
    if max > TOLERANCE {
        return Err(format!("{what}: expected a difference from the CPU of at most {TOLERANCE:e}, got {max:.2e}"));
    }
    Ok(max)
}

/// Runs the check on `device`. `Ok` with the measured agreement; `Err(DaeError::Backend)` naming
/// the first result that disagreed, or the device's failure.
pub async fn self_check(device: &Device) -> Result<Agreement, DaeError> {
    let started = Instant::now();
    let config = TrainerConfig::tutorial(Activation::LeakyRelu);
    let mut cpu = Trainer::new(config.clone(), &crate::cpu_device())?;
    let mut dev = Trainer::new(config, device)?;
    dev.load_weights(&cpu.save_weights().await?)?;
    let clean = images();
    let noisy = add_noise(&clean, 0.5, 1)?;
    let fail = |why: String| DaeError::Backend(format!("self-check: {why}"));
    let mut max =
        difference("reconstruction", &cpu.denoise(&noisy).await?, &dev.denoise(&noisy).await?).map_err(fail)?;
    for step in 1..=2 {
        let (a, b) = (cpu.train_step(&noisy, &clean).await?, dev.train_step(&noisy, &clean).await?);
        max = max.max(difference(&format!("loss of training step {step}"), &[a], &[b]).map_err(fail)?);
    }
    let after = difference("reconstruction after two steps", &cpu.denoise(&noisy).await?, &dev.denoise(&noisy).await?);
    max = max.max(after.map_err(fail)?);
    Ok(Agreement { max_difference: max, seconds: started.elapsed().as_secs_f64() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_agrees_with_itself() {
        let a = futures_lite::future::block_on(self_check(&crate::cpu_device())).unwrap();
        assert_eq!(a.max_difference, 0.0);
    }

    #[test]
    fn a_difference_beyond_the_tolerance_or_a_nan_is_refused() {
        assert!(difference("x", &[0.5, 1.0], &[0.5, 1.00005]).unwrap() < TOLERANCE);
        let far = difference("reconstruction", &[0.5], &[0.51]).unwrap_err();
        assert!(
            far.starts_with("reconstruction: expected a difference from the CPU of at most 1e-4, got 1.00e-2"),
            "{far}"
        );
        assert!(difference("loss", &[0.5], &[f32::NAN]).unwrap_err().contains("finite"));
        assert!(difference("loss", &[0.5], &[]).unwrap_err().contains("expected 1 values, got 0"));
    }
}
