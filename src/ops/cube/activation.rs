//! Leaky ReLU on a cubecl device: one pass forward, one backward (as `flex/activation.rs`), `N`
//! elements an invocation (4 where the length allows: a software adapter's cost is per
//! invocation as much as per element, `docs/benchmarks.md`).

use cubecl::prelude::*;

/// `x > 0 ? x : slope·x`, as `max(x, 0) + slope · min(x, 0)`: the same values (x + 0 for x > 0,
/// 0 + slope·x for x < 0).
#[cube(launch_unchecked)]
pub fn leaky_kernel<N: Size>(x: &[Vector<f32, N>], out: &mut [Vector<f32, N>], slope: f32, len: u32) {
    let e = ABSOLUTE_POS;
    if e < len as usize {
        let v = x[e];
        let zero = Vector::<f32, N>::new(0.0);
        out[e] = max(v, zero) + min(v, zero) * Vector::<f32, N>::new(slope);
    }
}

/// The input gradient: `grad` where x > 0, `slope · grad` elsewhere (at exactly 0 too, as
/// TensorFlow's LeakyReluGrad).
#[cube(launch_unchecked)]
pub fn leaky_backward_kernel<N: Size>(
    x: &[Vector<f32, N>],
    grad: &[Vector<f32, N>],
    out: &mut [Vector<f32, N>],
    slope: f32,
    len: u32,
) {
    let e = ABSOLUTE_POS;
    if e < len as usize {
        let g = grad[e];
        let zero = Vector::<f32, N>::new(0.0);
        out[e] = select_many(x[e].greater_than(&zero), g, g * Vector::<f32, N>::new(slope));
    }
}
