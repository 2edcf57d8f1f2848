//! Sigmoid cross-entropy with logits on slices ([`LossKernels::bce_logits`]): the mean and σ(x)
//! in one pass, the gradient from σ(x) in one; in chunks over the threads natively.
//!
//! Why: as burn ops (`metrics::bce_with_logits`' composed form) the loss is seven element-wise
//! passes forward and as many backward, each single-threaded on a [64, 1, 28, 28] batch: ≈ 1 ms,
//! 5 % of a two-thread train step natively (docs/benchmarks.md). The browser keeps the burn ops,
//! which measured faster there on its one thread. e^t and ln(1 + e) are polynomials evaluated
//! in vector registers, not libm's calls, which ran one element at a time (2 % of a step).
//!
//! [`LossKernels::bce_logits`]: crate::ops::LossKernels::bce_logits

use super::{SUM_LANES, assume_written, collect_chunks};
use multiversion::multiversion;
use std::sync::atomic::{AtomicU32, Ordering};

/// Elements per chunk: a dozen chunks for a batch of 64 images, so that two threads share them.
const CHUNK: usize = 1 << 12;

/// `e^t` for `t` ≤ 0, branch-free so that a loop of it vectorises (a call of libm's `expf` per
/// element does not): Cephes' `expf` (S. L. Moshier), `t` = n·ln 2 + r with |r| ≤ ½ ln 2 and a
/// degree-7 polynomial for e^r, within 2 ulp of `f32::exp` (tested below). Below −87.33, just
/// above ln of the smallest normal float, it returns e^−87.33: the loss and gradient terms it
/// feeds are then ≈ 1e-38, where the true ones are smaller still.
#[inline(always)]
fn exp_nonpositive(t: f32) -> f32 {
    const MIN: f32 = -87.33;
    // Adding and taking away 1.5·2^23 rounds to the nearest integer (ties to even) for |v| < 2^22.
    const ROUND: f32 = 12_582_912.0;
    let t = t.max(MIN);
    let shifted = t * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    // ln 2 in two parts (Cephes' C1, C2), so that n·C1 is exact.
    let r = (t - n * 0.693_359_4) - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4;
    for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
        p = p * r + c;
    }
    let e_r = p * r * r + r + 1.0;
    // 2^n from its exponent bits: n ≥ −126 after the clamp, so a normal float. n is read from
    // the low bits of `shifted` (the offset from ROUND's) rather than converted: LLVM did not
    // vectorise the loop around `n as i32`'s saturating conversion.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    e_r * f32::from_bits(n_bits.wrapping_add(127) << 23)
}

/// `ln(1 + e)` for `e` in [0, 1], branch-free (see [`exp_nonpositive`]): `ln u` of `u = 1 + e`
/// by Cephes' `logf` (the mantissa brought into [√½, √2), then its polynomial), plus the part
/// of `e` that rounding `1 + e` lost, `(e − (u − 1)) / u`, so that small `e` keep their
/// precision; within 2 ulp of `f32::ln_1p` (tested below).
#[inline(always)]
fn ln_1p_unit(e: f32) -> f32 {
    let u = 1.0 + e;
    let lost = (e - (u - 1.0)) / u;
    // u in [1, 2]: halved above √2, so that x − 1 lies in [√½ − 1, √2 − 1).
    let high = u > std::f32::consts::SQRT_2;
    let (x, k) = if high { (0.5 * u - 1.0, 1.0) } else { (u - 1.0, 0.0) };
    let z = x * x;
    let mut y = 7.037_683_6e-2;
    for c in [-0.115_146_1, 0.116_769_98, -0.124_201_41, 0.142_493_23, -0.166_680_57, 0.200_007_15, -0.249_999_94] {
        y = y * x + c;
    }
    y = (y * x + 0.333_333_3) * x * z;
    // k·ln 2 in Cephes' two parts, as in `exp_nonpositive`.
    y += k * -2.121_944_4e-4;
    y -= 0.5 * z;
    x + y + k * 0.693_359_4 + lost
}

/// One element's loss, `(max(x, 0) − x·z) + ln(1 + e)`, and σ(x), from `e = e^−|x|`.
#[inline(always)]
fn loss_and_sigma(xv: f32, zv: f32) -> (f32, f32) {
    let e = exp_nonpositive(-xv.abs());
    let loss = (xv.max(0.0) - xv * zv) + ln_1p_unit(e);
    // σ(x): 1 / (1 + e) for x ≥ 0, e / (1 + e) below.
    (loss, if xv >= 0.0 { 1.0 } else { e } / (1.0 + e))
}

/// The mean over `x` and `z` of `(max(x, 0) − x·z) + ln(1 + e^−|x|)`, per element the f32
/// operations of `metrics::bce_with_logits` in its order with e^t and ln(1 + e) computed in
/// vector registers (within 2 ulp of libm's), partial sums per chunk, then over the chunks in
/// order (the same value whatever the thread count), and σ(x) per element from the same
/// e^−|x|, for the backward pass.
#[multiversion(targets = "simd")]
pub(super) fn bce_logits_forward(x: &[f32], z: &[f32]) -> (f32, Vec<f32>) {
    assert_eq!(x.len(), z.len(), "bce_logits: logits and targets of one length");
    let n = x.len();
    // Each chunk's partial sum, by chunk: written from the thread that ran it.
    let sums: Vec<AtomicU32> = (0..n.div_ceil(CHUNK)).map(|_| AtomicU32::new(0)).collect();
    let sigma = collect_chunks(n, CHUNK, |c, sigmas| {
        let range = c * CHUNK..n.min((c + 1) * CHUNK);
        let (xs, zs) = (&x[range.clone()], &z[range]);
        let mut lanes = [0.0f32; SUM_LANES];
        let blocks = xs.chunks_exact(SUM_LANES).zip(zs.chunks_exact(SUM_LANES));
        for ((xb, zb), sb) in blocks.zip(sigmas.chunks_exact_mut(SUM_LANES)) {
            for (((lane, &xv), &zv), s) in lanes.iter_mut().zip(xb).zip(zb).zip(sb) {
                let (loss, sigma) = loss_and_sigma(xv, zv);
                *lane += loss;
                s.write(sigma);
            }
        }
        let whole = xs.len() / SUM_LANES * SUM_LANES;
        let mut rest = 0.0f32;
        for ((&xv, &zv), s) in xs[whole..].iter().zip(&zs[whole..]).zip(&mut sigmas[whole..]) {
            let (loss, sigma) = loss_and_sigma(xv, zv);
            rest += loss;
            s.write(sigma);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two positive floats.
    fn ulps(a: f32, b: f32) -> u32 {
        a.to_bits().abs_diff(b.to_bits())
    }

    /// Against the standard library's (libm's) functions, over 2^20 arguments spread across
    /// each range and a run of the smallest ones.
    #[test]
    fn exp_and_ln_1p_are_within_2_ulp_of_libm() {
        let steps = 1 << 20;
        let mut worst = (0, 0.0, 0, 0.0);
        for i in 0..=steps {
            let t = -87.3 * i as f32 / steps as f32;
            let d = ulps(exp_nonpositive(t), t.exp());
            if d > worst.0 {
                worst.0 = d;
                worst.1 = t;
            }
            for e in [i as f32 / steps as f32, f32::MIN_POSITIVE * (1 + i) as f32, 1e-9 * i as f32] {
                let d = ulps(ln_1p_unit(e), e.ln_1p());
                if d > worst.2 {
                    worst.2 = d;
                    worst.3 = e;
                }
            }
        }
        assert!(worst.0 <= 2, "e^t: {} ulp at t = {}", worst.0, worst.1);
        assert!(worst.2 <= 2, "ln(1 + e): {} ulp at e = {}", worst.2, worst.3);
        assert_eq!((exp_nonpositive(0.0), ln_1p_unit(0.0), ln_1p_unit(1.0)), (1.0, 0.0, 2f32.ln()));
        let floor = exp_nonpositive(-1000.0);
        assert!(floor.is_normal() && floor < 1.2e-38, "e^−1000 as {floor}");
    }
}
