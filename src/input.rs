//! Validation of what crosses the API: flat `n × 784` image batches and scalar settings.

use crate::error::DaeError;
use crate::model::PIXELS;

/// `"50176 floats (64 × 784)"`, or `"50000 floats (63 × 784 + 608)"` when not a whole batch.
pub fn describe_len(len: usize) -> String {
    let (n, rest) = (len / PIXELS, len % PIXELS);
    if rest == 0 {
        format!("{len} floats ({n} × {PIXELS})")
    } else {
        format!("{len} floats ({n} × {PIXELS} + {rest})")
    }
}

/// Most images one call takes (`denoise`, `evaluate`, `add_noise`): 16,384 × 784 floats are
/// 51 MB, more than MNIST's whole test split, and bounded so that a huge typed array is refused
/// before anything is allocated for it (a 32-bit WebAssembly memory holds at most 4 GiB, and the
/// input, the output and their copies across the boundary all live in it).
pub const MAX_IMAGES: usize = 16_384;

/// Most images in one training step: a step keeps every activation for its backward pass and
/// the weight gradients unfold their inputs nine times, so its memory grows ≈ 15× faster with
/// the batch than `denoise`'s; the page offers at most 128.
pub const MAX_TRAIN_BATCH: usize = 256;

/// Most images one trace reads back: each brings 72,912 values of maps (285 KiB), and the lab
/// looks at one digit at a time.
pub const MAX_TRACE_IMAGES: usize = 16;

/// Refuses a batch of `len` floats longer than `max_images` images, before it is copied.
pub fn check_len(name: &str, len: usize, max_images: usize) -> Result<(), DaeError> {
    if len > max_images * PIXELS {
        return Err(DaeError::Input(format!(
            "{name}: expected at most {max_images} images ({} floats), got {}",
            max_images * PIXELS,
            describe_len(len)
        )));
    }
    Ok(())
}

/// Checks that `values` is a non-empty whole number of 28×28 images with every value finite and
/// in [0, 1]; returns the number of images.
pub fn check_images(name: &str, values: &[f32]) -> Result<usize, DaeError> {
    /// Floats checked at a time: a few KiB, so that a bad value is found soon after its block.
    const BLOCK: usize = 1024;
    let len = values.len();
    if len == 0 || !len.is_multiple_of(PIXELS) {
        return Err(DaeError::Input(format!(
            "{name}: expected n × {PIXELS} floats with n ≥ 1 (flat 28×28 images), got {}",
            describe_len(len)
        )));
    }
    // Block by block without branching (it vectorises; a search that stops at the first bad
    // value ran one element at a time, on every train step's 100,352 floats), then that value
    // looked for in the first block that has one.
    let ok = |v: &f32| (0.0..=1.0).contains(v);
    let bad = values
        .chunks(BLOCK)
        .enumerate()
        .find(|(_, block)| !block.iter().fold(true, |all, v| all & ok(v)))
        .and_then(|(b, block)| block.iter().position(|v| !ok(v)).map(|i| (b * BLOCK + i, block[i])));
    if let Some((i, v)) = bad {
        let what = if v.is_finite() { "outside [0, 1]" } else { "not finite" };
        return Err(DaeError::Input(format!(
            "{name}: expected values in [0, 1], got {v} ({what}) at index {i} (image {}, pixel {})",
            i / PIXELS,
            i % PIXELS
        )));
    }
    Ok(len / PIXELS)
}

/// Checks a noisy/clean pair: both valid batches of the same length.
pub fn check_pair(noisy: &[f32], clean: &[f32]) -> Result<usize, DaeError> {
    let n = check_images("noisy", noisy)?;
    if clean.len() != noisy.len() {
        return Err(DaeError::Input(format!(
            "clean: expected {} to match noisy, got {}",
            describe_len(noisy.len()),
            describe_len(clean.len())
        )));
    }
    check_images("clean", clean)?;
    Ok(n)
}

/// Checks a finite scalar within `[lo, hi]`.
pub fn check_range(name: &str, value: f64, lo: f64, hi: f64) -> Result<f64, DaeError> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(DaeError::Input(format!("{name}: expected a finite number in [{lo}, {hi}], got {value}")))
    }
}

/// Checks a learning rate: finite, in (0, 1].
pub fn check_learning_rate(name: &str, value: f64) -> Result<f64, DaeError> {
    if value.is_finite() && value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(DaeError::Input(format!("{name}: expected a finite number in (0, 1], got {value}")))
    }
}

/// Checks a seed given as a JavaScript number: an integer in [0, 2^53).
pub fn check_seed(value: f64) -> Result<u64, DaeError> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0; // Number.MAX_SAFE_INTEGER
    if (0.0..=MAX_SAFE).contains(&value) && value.fract() == 0.0 {
        Ok(value as u64)
    } else {
        Err(DaeError::Input(format!("seed: expected an integer in [0, 2^53 − 1], got {value}")))
    }
}
