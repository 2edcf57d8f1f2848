//! The scalars of one Adam step, shared by the CPU and GPU kernels.

#[cfg(feature = "webgpu")]
use cubecl::prelude::*;

/// The scalars of one Adam update ([`DaeKernels::adam_step`]), derived once on the host as
/// burn's `Adam` derives them: `m' = β1·m + (1 − β1)·g`, `v' = β2·v + (1 − β2)·g²`, and
/// `param' = param − lr · (m' · correction) / (√v' + ε')`, where `correction = √(1 − β2^t) /
/// (1 − β1^t)` and `ε' = ε·√(1 − β2^t)` for the step's number t (ε added to √v̂, the paper's
/// form).
///
/// [`DaeKernels::adam_step`]: super::DaeKernels::adam_step
#[derive(Debug, Clone, Copy, PartialEq)]
// The GPU kernel takes the struct as it is (`cube/adam.rs`).
#[cfg_attr(feature = "webgpu", derive(CubeLaunch, CubeType))]
pub struct AdamStep {
    pub beta_1: f32,
    pub beta_2: f32,
    pub one_minus_beta_1: f32,
    pub one_minus_beta_2: f32,
    pub correction: f32,
    pub epsilon: f32,
    pub learning_rate: f32,
}

impl AdamStep {
    /// The scalars of step `time` (1 for the first).
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32, learning_rate: f64, time: usize) -> Self {
        let t = time as i32;
        let bias_correction2_sqrt = (1.0 - beta_2.powi(t)).sqrt();
        Self {
            beta_1,
            beta_2,
            one_minus_beta_1: 1.0 - beta_1,
            one_minus_beta_2: 1.0 - beta_2,
            correction: bias_correction2_sqrt / (1.0 - beta_1.powi(t)),
            epsilon: epsilon * bias_correction2_sqrt,
            learning_rate: learning_rate as f32,
        }
    }
}
