//! The optimiser: burn's Adam, with each parameter's update in one kernel launch on the devices
//! where the model has its own kernels off the CPU (WebGPU, Vulkan). burn's Adam launches ≈ 13
//! elementwise kernels per parameter tensor, 156 for this model's twelve, each a few floats to
//! 9,216; on a GPU the launches, not the arithmetic, are the cost. On the CPU it stays burn's, value
//! for value. Either way the state is burn's `AdamState`, so saved optimiser states load in both.

use burn::optim::{Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer};
use burn::prelude::*;

use crate::ops::{self, AdamStep};

/// Adam whose step is [`ops::adam_step`] where the tensor's device has the model's kernels and is
/// not the CPU, burn's `Adam` otherwise.
#[derive(Clone)]
pub struct FusedAdam {
    adam: Adam,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
}

impl FusedAdam {
    /// Adam with these moments' decay rates and ε (added to √v̂, as burn's Adam does).
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32) -> Self {
        let adam = AdamConfig::new().with_beta_1(beta_1).with_beta_2(beta_2).with_epsilon(epsilon).build();
        Self { adam, beta_1, beta_2, epsilon }
    }

    /// As burn's module optimiser (what the trainer steps and records).
    pub fn init(self) -> ModuleOptimizer {
        ModuleOptimizer::from(self)
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if ops::on_flex(&tensor) || !ops::has_kernels(&tensor) {
            return self.adam.step(lr, tensor, grad, state);
        }
        // burn's first step starts from no moments; zeros give the same values.
        let (time, moment_1, moment_2) = match state {
            Some(AdamState { momentum }) => (momentum.time + 1, momentum.moment_1, momentum.moment_2),
            None => (1, tensor.zeros_like(), tensor.zeros_like()),
        };
        let step = AdamStep::new(self.beta_1, self.beta_2, self.epsilon, lr, time);
        let (tensor, moment_1, moment_2) = ops::adam_step(tensor, grad, moment_1, moment_2, step);
        (tensor, Some(AdamState::new(AdaptiveMomentumState::new(time, moment_1, moment_2))))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        Adam::to_device(state, device)
    }
}
