//! Leaky ReLU on slices, in place: one pass forward and one backward ([`DaeKernels::leaky_relu`]),
//! split into chunks over the threads natively.
//!
//! In place because the op consumes its tensor: the forward pass's input is the convolution's
//! fresh output and the backward pass's the incoming gradient, both owned by nobody else, so no
//! second activation-sized buffer is allocated, zeroed and filled (`DaeKernels for Flex` copies
//! first where the tensor is shared).
//!
//! [`DaeKernels::leaky_relu`]: crate::ops::DaeKernels::leaky_relu

use super::for_chunks;
use multiversion::multiversion;

/// Elements per chunk (64 KiB): a few hundred chunks for the model's largest activation, so the
/// threads share the work evenly.
const CHUNK: usize = 1 << 14;

/// `x > 0 ? x : slope·x`: what burn's leaky_relu and `ops::leaky` compute, value for value.
#[multiversion(targets = "simd")]
pub(super) fn leaky_relu_forward(x: &mut [f32], slope: f32) {
    // `move`: the slope is copied into the closure, not read through a reference that LLVM must
    // assume a store to the chunk may change, which kept this loop scalar and branching.
    for_chunks(x, CHUNK, move |_, chunk| {
        for v in chunk {
            *v = if *v > 0.0 { *v } else { *v * slope };
        }
    })
}

/// The input gradient, written over `grad`: `grad` where x > 0, `slope · grad` elsewhere (at
/// exactly 0 too, as TensorFlow's LeakyReluGrad).
#[multiversion(targets = "simd")]
pub(crate) fn leaky_relu_backward(x: &[f32], grad: &mut [f32], slope: f32) {
    assert_eq!(x.len(), grad.len(), "leaky_relu_backward: input and gradient lengths");
    for_chunks(grad, CHUNK, move |i, chunk| {
        for (g, &v) in chunk.iter_mut().zip(&x[i * CHUNK..]) {
            *g = if v > 0.0 { *g } else { *g * slope };
        }
    })
}
