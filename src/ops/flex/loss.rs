//! Sigmoid cross-entropy with logits on slices ([`LossKernels::bce_logits`]): the mean in one
//! pass, and its gradient in one; in chunks over the threads natively.
//!
//! Why: as burn ops (`metrics::bce_with_logits`' composed form) the loss is seven element-wise
//! passes forward and as many backward, each single-threaded on a [64, 1, 28, 28] batch: ≈ 1 ms,
//! 5 % of a two-thread train step (docs/benchmarks.md).
//!
//! [`LossKernels::bce_logits`]: crate::ops::LossKernels::bce_logits

use super::{SUM_LANES, assume_written, collect_chunks};
use multiversion::multiversion;

/// Elements per chunk: a dozen chunks for a batch of 64 images, so that two threads share them.
const CHUNK: usize = 1 << 12;

/// The mean over `x` and `z` of `(max(x, 0) − x·z) + ln(1 + e^−|x|)`, per element the f32
/// operations of `metrics::bce_with_logits` in its order (partial sums per chunk, then over the
/// chunks in order: the same value whatever the thread count).
#[multiversion(targets = "simd")]
pub(super) fn bce_logits_forward(x: &[f32], z: &[f32]) -> f32 {
    assert_eq!(x.len(), z.len(), "bce_logits: logits and targets of one length");
    let sums = collect_chunks(x.len().div_ceil(CHUNK), 1, |c, total| {
        let range = c * CHUNK..x.len().min((c + 1) * CHUNK);
        let (xs, zs) = (&x[range.clone()], &z[range]);
        let (mut lanes, mut rest) = ([0.0f32; SUM_LANES], 0.0f32);
        let (mut xb, mut zb) = (xs.chunks_exact(SUM_LANES), zs.chunks_exact(SUM_LANES));
        for (xl, zl) in (&mut xb).zip(&mut zb) {
            for ((t, &xv), &zv) in lanes.iter_mut().zip(xl).zip(zl) {
                *t += (xv.max(0.0) - xv * zv) + (-xv.abs()).exp().ln_1p();
            }
        }
        for (&xv, &zv) in xb.remainder().iter().zip(zb.remainder()) {
            rest += (xv.max(0.0) - xv * zv) + (-xv.abs()).exp().ln_1p();
        }
        total.write_copy_of_slice(&[lanes.iter().sum::<f32>() + rest])
    });
    sums.iter().sum::<f32>() / x.len() as f32
}

/// The logits' gradient for the mean's gradient `grad`: `(σ(x) − z) · grad / n`, σ from the same
/// e^−|x| as the forward pass (the derivative of its composed form, at every x ≠ 0).
#[multiversion(targets = "simd")]
pub(super) fn bce_logits_backward(x: &[f32], z: &[f32], grad: f32) -> Vec<f32> {
    assert_eq!(x.len(), z.len(), "bce_logits: logits and targets of one length");
    let scale = grad / x.len() as f32;
    collect_chunks(x.len(), CHUNK, |c, chunk| {
        for ((d, &xv), &zv) in chunk.iter_mut().zip(&x[c * CHUNK..]).zip(&z[c * CHUNK..]) {
            let e = (-xv.abs()).exp();
            // σ(x) = 1 / (1 + e) for x ≥ 0, e / (1 + e) below: the numerator chosen by masking
            // bits, not by a select the browser engine may run as a branch on a coin toss.
            let positive = u32::from(xv >= 0.0).wrapping_neg();
            let numerator = f32::from_bits((1.0f32.to_bits() & positive) | (e.to_bits() & !positive));
            d.write((numerator / (1.0 + e) - zv) * scale);
        }
        // SAFETY: each element of the chunk was written (`x` and `z` are as long as the output).
        unsafe { assume_written(chunk) }
    })
}
