//! Sigmoid cross-entropy with logits on slices ([`LossKernels::bce_logits`]): the mean and σ(x)
//! in one pass, the gradient from σ(x) in one; in chunks over the threads natively.
//!
//! Why: as burn ops (`metrics::bce_with_logits`' composed form) the loss is seven element-wise
//! passes forward and as many backward, each single-threaded on a [64, 1, 28, 28] batch: ≈ 1 ms,
//! 5 % of a two-thread train step natively (docs/benchmarks.md). The browser keeps the burn ops,
//! which measured faster there on its one thread.
//!
//! [`LossKernels::bce_logits`]: crate::ops::LossKernels::bce_logits

use super::{SUM_LANES, assume_written, collect_chunks};
use multiversion::multiversion;
use std::sync::atomic::{AtomicU32, Ordering};

/// Elements per chunk: a dozen chunks for a batch of 64 images, so that two threads share them.
const CHUNK: usize = 1 << 12;

/// The mean over `x` and `z` of `(max(x, 0) − x·z) + ln(1 + e^−|x|)`, per element the f32
/// operations of `metrics::bce_with_logits` in its order (partial sums per chunk, then over the
/// chunks in order: the same value whatever the thread count), and σ(x) per element from the
/// same e^−|x|, for the backward pass.
#[multiversion(targets = "simd")]
pub(super) fn bce_logits_forward(x: &[f32], z: &[f32]) -> (f32, Vec<f32>) {
    assert_eq!(x.len(), z.len(), "bce_logits: logits and targets of one length");
    let n = x.len();
    // Each chunk's partial sum, by chunk: written from the thread that ran it.
    let sums: Vec<AtomicU32> = (0..n.div_ceil(CHUNK)).map(|_| AtomicU32::new(0)).collect();
    let sigma = collect_chunks(n, CHUNK, |c, sigmas| {
        let range = c * CHUNK..n.min((c + 1) * CHUNK);
        let (xs, zs) = (&x[range.clone()], &z[range]);
        let (mut lanes, mut rest) = ([0.0f32; SUM_LANES], 0.0f32);
        for (i, ((&xv, &zv), s)) in xs.iter().zip(zs).zip(sigmas.iter_mut()).enumerate() {
            let e = (-xv.abs()).exp();
            let loss = (xv.max(0.0) - xv * zv) + e.ln_1p();
            if i < xs.len() / SUM_LANES * SUM_LANES {
                lanes[i % SUM_LANES] += loss;
            } else {
                rest += loss;
            }
            // σ(x): 1 / (1 + e) for x ≥ 0, e / (1 + e) below.
            s.write(if xv >= 0.0 { 1.0 } else { e } / (1.0 + e));
        }
        sums[c].store((lanes.iter().sum::<f32>() + rest).to_bits(), Ordering::Relaxed);
        // SAFETY: the chunk is as long as its range of `x`, and each element was written above.
        unsafe { assume_written(sigmas) }
    });
    let total: f32 = sums.iter().map(|s| f32::from_bits(s.load(Ordering::Relaxed))).sum();
    (total / n as f32, sigma)
}

/// The logits' gradient for the mean's gradient `grad`: `(σ(x) − z) · grad / n` (the derivative
/// of the composed form at every x ≠ 0), from the forward pass's σ(x).
#[multiversion(targets = "simd")]
pub(super) fn bce_logits_backward(sigma: &[f32], z: &[f32], grad: f32) -> Vec<f32> {
    assert_eq!(sigma.len(), z.len(), "bce_logits: σ and targets of one length");
    let scale = grad / sigma.len() as f32;
    collect_chunks(sigma.len(), CHUNK, |c, chunk| {
        for ((d, &s), &zv) in chunk.iter_mut().zip(&sigma[c * CHUNK..]).zip(&z[c * CHUNK..]) {
            d.write((s - zv) * scale);
        }
        // SAFETY: each element of the chunk was written (`sigma` and `z` are as long as the output).
        unsafe { assume_written(chunk) }
    })
}
