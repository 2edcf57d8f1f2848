//! Leaky ReLU on slices: one pass forward and one backward ([`DaeKernels::leaky_relu`]).
//!
//! [`DaeKernels::leaky_relu`]: crate::ops::DaeKernels::leaky_relu

/// `x > 0 ? x : slope·x`: what burn's leaky_relu and `ops::leaky` compute, value for value.
pub(super) fn leaky_relu_forward(x: &[f32], slope: f32) -> Vec<f32> {
    x.iter().map(|&v| if v > 0.0 { v } else { v * slope }).collect()
}

/// The input gradient: `grad` where x > 0, `slope · grad` elsewhere (at exactly 0 too, as
/// TensorFlow's LeakyReluGrad).
pub(crate) fn leaky_relu_backward(x: &[f32], grad: &[f32], slope: f32) -> Vec<f32> {
    x.iter().zip(grad).map(|(&v, &g)| if v > 0.0 { g } else { g * slope }).collect()
}
