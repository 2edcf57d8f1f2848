//! Leaky ReLU on slices: one pass forward and one backward ([`DaeKernels::leaky_relu`]), split
//! into chunks over the threads natively.
//!
//! [`DaeKernels::leaky_relu`]: crate::ops::DaeKernels::leaky_relu

use super::collect_chunks;
use multiversion::multiversion;

/// Elements per chunk (64 KiB): a few hundred chunks for the model's largest activation, so the
/// threads share the work evenly.
const CHUNK: usize = 1 << 14;

/// `x > 0 ? x : slope·x`: what burn's leaky_relu and `ops::leaky` compute, value for value.
#[multiversion(targets = "simd")]
pub(super) fn leaky_relu_forward(x: &[f32], slope: f32) -> Vec<f32> {
    collect_chunks(x.len(), CHUNK, |i, out| {
        for (o, &v) in out.iter_mut().zip(&x[i * CHUNK..]) {
            *o = if v > 0.0 { v } else { v * slope };
        }
    })
}

/// The input gradient: `grad` where x > 0, `slope · grad` elsewhere (at exactly 0 too, as
/// TensorFlow's LeakyReluGrad).
#[multiversion(targets = "simd")]
pub(crate) fn leaky_relu_backward(x: &[f32], grad: &[f32], slope: f32) -> Vec<f32> {
    assert_eq!(x.len(), grad.len(), "leaky_relu_backward: input and gradient lengths");
    collect_chunks(x.len(), CHUNK, |i, out| {
        for ((o, &v), &g) in out.iter_mut().zip(&x[i * CHUNK..]).zip(&grad[i * CHUNK..]) {
            *o = if v > 0.0 { g } else { g * slope };
        }
    })
}
