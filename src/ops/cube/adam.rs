//! One Adam update on a cubecl device ([`DaeKernels::adam_step`]): the parameter and both moments
//! in one pass, `N` elements an invocation, instead of burn's ≈ 13 launches per parameter tensor.
//!
//! [`DaeKernels::adam_step`]: crate::ops::DaeKernels::adam_step

use cubecl::prelude::*;

use crate::ops::AdamStep;

/// `m' = β1·m + (1 − β1)·g`, `v' = β2·v + (1 − β2)·g²`, `p' = p − (m' · correction / (√v' + ε')) · lr`.
#[cube(launch_unchecked)]
pub fn adam_kernel<N: Size>(
    param: &[Vector<f32, N>],
    grad: &[Vector<f32, N>],
    moment_1: &[Vector<f32, N>],
    moment_2: &[Vector<f32, N>],
    param_out: &mut [Vector<f32, N>],
    moment_1_out: &mut [Vector<f32, N>],
    moment_2_out: &mut [Vector<f32, N>],
    s: AdamStep,
    len: u32,
) {
    let e = ABSOLUTE_POS;
    if e < len as usize {
        let g = grad[e];
        let m = moment_1[e] * Vector::new(s.beta_1) + g * Vector::new(s.one_minus_beta_1);
        let v = moment_2[e] * Vector::new(s.beta_2) + g * g * Vector::new(s.one_minus_beta_2);
        let update = m * Vector::new(s.correction) / (v.sqrt() + Vector::new(s.epsilon));
        param_out[e] = param[e] - update * Vector::new(s.learning_rate);
        moment_1_out[e] = m;
        moment_2_out[e] = v;
    }
}
