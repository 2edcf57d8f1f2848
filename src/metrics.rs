//! The only definitions of the numbers a run reports: the loss and PSNR.

use burn::prelude::*;

use crate::model::PIXELS;
use crate::ops;

/// Mean sigmoid cross-entropy of `logits` against `targets` (both `[batch, 1, 28, 28]`),
/// averaged over every pixel — Keras' `binary_crossentropy` on logits, as the tutorial trains.
///
/// Computed as `max(x, 0) − x·z + ln(1 + e^−|x|)`, which never overflows (the form TensorFlow's
/// `sigmoid_cross_entropy_with_logits` documents). Training, evaluation and the page's
/// validation figure all use this one: natively on the CPU as one op ([`ops::bce_logits`]: per
/// element the same f32 operations, e^t and ln(1 + e) within 2 ulp of these ops' own, the sums
/// in another order, on both threads), elsewhere as
/// the burn ops below (in the browser's single thread the op measured 5 % slower a train step
/// than these, docs/benchmarks.md).
pub fn bce_with_logits(logits: Tensor<4>, targets: Tensor<4>) -> Tensor<1> {
    if ops::on_flex(&logits) && !cfg!(target_arch = "wasm32") {
        return ops::bce_logits(logits, targets);
    }
    let positive = logits.clone().clamp_min(0.0);
    let soft = logits.clone().abs().neg().exp().log1p();
    (positive - logits * targets + soft).mean()
}

/// PSNR of an image against its clean version in dB, pixel peak 1: `10·log10(1 / MSE)`, capped
/// at 100 dB (an exact copy).
pub fn psnr(image: &[f32], clean: &[f32]) -> f64 {
    let mse = image.iter().zip(clean).map(|(&x, &y)| ((x - y) as f64).powi(2)).sum::<f64>() / image.len() as f64;
    if mse > 0.0 { (10.0 * (1.0 / mse).log10()).min(100.0) } else { 100.0 }
}

/// Mean over images (flat `n × 784`) of [`psnr`].
pub fn mean_psnr(images: &[f32], clean: &[f32]) -> f64 {
    let n = clean.len() / PIXELS;
    let total: f64 = images.chunks_exact(PIXELS).zip(clean.chunks_exact(PIXELS)).map(|(a, b)| psnr(a, b)).sum();
    total / n as f64
}

/// Loss and PSNR of a model on noisy/clean image pairs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// Images evaluated.
    pub count: usize,
    /// [`bce_with_logits`] of the reconstructions, over every pixel of every image.
    pub loss: f64,
    /// Mean PSNR of the noisy inputs against the clean images.
    pub psnr_noisy: f64,
    /// Mean PSNR of the reconstructions against the clean images.
    pub psnr_denoised: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_of_a_uniform_error() {
        let clean = vec![0.5f32; PIXELS];
        let off: Vec<f32> = clean.iter().map(|v| v + 0.1).collect();
        assert!((psnr(&off, &clean) - 20.0).abs() < 1e-4);
        assert_eq!(psnr(&clean, &clean), 100.0);
        let two = [off.clone(), clean.clone()].concat();
        assert!((mean_psnr(&two, &[clean.clone(), clean].concat()) - 60.0).abs() < 1e-4);
    }
}
