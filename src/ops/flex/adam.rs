//! One Adam update on slices ([`DaeKernels::adam_step`]): what burn's `Adam` computes, in one
//! pass. The trainer keeps burn's own `Adam` on the CPU (`crate::optim`), where its passes over
//! 37,601 parameters cost microseconds; this is the CPU side of the extension's operation.
//!
//! [`DaeKernels::adam_step`]: crate::ops::DaeKernels::adam_step

use crate::ops::AdamStep;

/// `(param', moment_1', moment_2')` of equally long slices.
pub(super) fn adam_update(
    param: &[f32],
    grad: &[f32],
    moment_1: &[f32],
    moment_2: &[f32],
    s: AdamStep,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let n = param.len();
    assert!(
        grad.len() == n && moment_1.len() == n && moment_2.len() == n,
        "adam_step: parameter, gradient and moments of one length expected"
    );
    let (mut p, mut m, mut v) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let g = grad[i];
        let mi = moment_1[i] * s.beta_1 + g * s.one_minus_beta_1;
        let vi = moment_2[i] * s.beta_2 + g * g * s.one_minus_beta_2;
        p.push(param[i] - mi * s.correction / (vi.sqrt() + s.epsilon) * s.learning_rate);
        m.push(mi);
        v.push(vi);
    }
    (p, m, v)
}
