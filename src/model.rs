//! The convolutional denoising autoencoder of LearnOpenCV's "Understanding autoencoders using
//! TensorFlow", layer for layer, as a burn module.
//!
//! Layer names (`enc1` … `out`) are the names the weights carry in safetensors (see
//! [`crate::weights`]); parameter layouts are burn's, which match PyTorch's.

use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use crate::kernels;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, Uniform};

/// Side of an MNIST image in pixels.
pub const SIDE: usize = 28;
/// Pixels per image (28 × 28).
pub const PIXELS: usize = SIDE * SIDE;

/// Non-linearity after `enc1`, `enc2` and `dec1`.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Leaky ReLU with slope 0.1 for negative inputs: the tutorial's choice.
    LeakyRelu,
    /// Plain ReLU: the tutorial invites readers to try it and compare.
    Relu,
}

impl Activation {
    /// Parses the names used at the JavaScript and command-line boundary.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "leaky_relu" => Some(Self::LeakyRelu),
            "relu" => Some(Self::Relu),
            _ => None,
        }
    }

    /// The name [`Activation::parse`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            Self::LeakyRelu => "leaky_relu",
            Self::Relu => "relu",
        }
    }
}

/// Hyperparameters of the architecture.
#[derive(Config, Debug)]
pub struct DaeConfig {
    /// Feature maps in every hidden layer (the tutorial: 32).
    #[config(default = 32)]
    pub channels: usize,
    /// Activation of the three hidden convolutions.
    #[config(default = "Activation::LeakyRelu")]
    pub activation: Activation,
    /// Negative slope of the leaky ReLU (Keras `LeakyReLU(alpha=0.1)` in the tutorial).
    #[config(default = 0.1)]
    pub leaky_slope: f64,
}

/// The denoising autoencoder: 37,601 parameters with the default config.
/// Leaky ReLU as `r + slope·(x − r)` with `r = relu(x)`: the same values as burn's
/// `leaky_relu` bit for bit (x ≥ 0 gives x + 0, x < 0 gives 0 + slope·x), but from ops whose
/// backward passes are cheap. burn's version is a compare, a scale and a `mask_where`, and under
/// autodiff that `mask_where`'s backward costs ≈ 6× the whole activation written this way
/// (`cargo bench --bench ops`: 27.6 ms against 4–5 ms forward + backward at 64 × 32 × 28 × 28).
/// Gradients agree with burn's to rounding (g − slope·g + slope·g instead of g), except at
/// exactly 0, where this takes the slope as TensorFlow's LeakyReluGrad does (burn's takes 1;
/// exact zeros are rare once the biases leave their zero initialisation). The model uses it off
/// the CPU (WebGPU, Vulkan); on flex [`crate::kernels::leaky_relu`] computes the same in one pass.
pub fn leaky(x: Tensor<4>, slope: f64) -> Tensor<4> {
    let r = relu(x.clone());
    r.clone() + (x - r).mul_scalar(slope)
}

#[derive(Module, Debug)]
pub struct Dae {
    pub enc1: Conv2d,
    pub enc2: Conv2d,
    pub dec1: Conv2d,
    pub up1: ConvTranspose2d,
    pub up2: ConvTranspose2d,
    pub out: Conv2d,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    leaky_slope: f64,
}

impl DaeConfig {
    /// Builds the model with Keras' default initialisation (Glorot-uniform kernels, zero biases),
    /// drawn on the host from `seed` so that a seed gives the same weights on every backend.
    pub fn init(&self, device: &Device, seed: u64) -> Dae {
        let c = self.channels;
        let same = || PaddingConfig2d::Explicit(1, 1, 1, 1);
        let conv = |c_in: usize, c_out: usize| {
            Conv2dConfig::new([c_in, c_out], [3, 3])
                .with_padding(same())
                .init(device)
        };
        // Stride 2, pad 1, output pad 1: 7 → 14 → 28, like Keras' Conv2DTranspose(padding="same").
        let up = || {
            ConvTranspose2dConfig::new([c, c], [3, 3])
                .with_stride([2, 2])
                .with_padding([1, 1])
                .with_padding_out([1, 1])
                .init(device)
        };
        let mut model = Dae {
            enc1: conv(1, c),
            enc2: conv(c, c),
            dec1: conv(c, c),
            up1: up(),
            up2: up(),
            out: conv(c, 1),
            activation: self.activation,
            leaky_slope: self.leaky_slope,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut glorot = |shape: [usize; 4]| {
            // Keras' glorot_uniform: limit = sqrt(6 / (fan_in + fan_out)), fans = channels × 3 × 3.
            // Both dimension 0 and 1 are channel counts, for Conv2d [out, in, kh, kw] and for
            // ConvTranspose2d [in, out, kh, kw] alike, and the sum is symmetric.
            let receptive = shape[2] * shape[3];
            let limit = (6.0 / ((shape[0] + shape[1]) * receptive) as f64).sqrt() as f32;
            let dist = Uniform::new_inclusive(-limit, limit).expect("finite, ordered bounds");
            let values: Vec<f32> = (0..shape.iter().product::<usize>())
                .map(|_| dist.sample(&mut rng))
                .collect();
            Tensor::<4>::from_data(TensorData::new(values, shape), device)
        };
        let zeros = |n: usize| Tensor::<1>::zeros([n], device);
        for conv in [&mut model.enc1, &mut model.enc2, &mut model.dec1, &mut model.out] {
            let shape = conv.weight.dims();
            conv.weight = Param::from_tensor(glorot(shape));
            conv.bias = Some(Param::from_tensor(zeros(shape[0])));
        }
        for up in [&mut model.up1, &mut model.up2] {
            let shape = up.weight.dims();
            up.weight = Param::from_tensor(glorot(shape));
            up.bias = Some(Param::from_tensor(zeros(shape[1])));
        }
        model
    }
}

impl Dae {
    /// The activation this model was built with.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Switches the activation (weights are unchanged): used when a weights file names its own.
    pub fn set_activation(&mut self, activation: Activation) {
        self.activation = activation;
    }

    fn act(&self, x: Tensor<4>) -> Tensor<4> {
        match self.activation {
            Activation::LeakyRelu => kernels::leaky_relu(x, self.leaky_slope),
            Activation::Relu => relu(x),
        }
    }

    /// The encoder: `[batch, 1, 28, 28]` images in [0, 1] → `[batch, 32, 7, 7]` latent maps.
    pub fn encode(&self, images: Tensor<4>) -> Tensor<4> {
        let x = self.act(kernels::conv3x3(&self.enc1, images)); // [batch, 32, 28, 28]
        let x = kernels::max_pool2x2(x); // [batch, 32, 14, 14]
        let x = self.act(kernels::conv3x3(&self.enc2, x)); // [batch, 32, 14, 14]
        kernels::max_pool2x2(x) // [batch, 32, 7, 7]
    }

    /// The decoder: `[batch, 32, 7, 7]` latent maps → `[batch, 1, 28, 28]` logits.
    pub fn decode(&self, latent: Tensor<4>) -> Tensor<4> {
        let x = self.act(kernels::conv3x3(&self.dec1, latent)); // [batch, 32, 7, 7]
        let x = kernels::up_conv3x3(&self.up1, x); // [batch, 32, 14, 14]
        let x = kernels::up_conv3x3(&self.up2, x); // [batch, 32, 28, 28]
        kernels::conv3x3(&self.out, x) // [batch, 1, 28, 28]
    }

    /// Logits of the reconstruction: `[batch, 1, 28, 28]` in, `[batch, 1, 28, 28]` out.
    pub fn forward_logits(&self, images: Tensor<4>) -> Tensor<4> {
        self.decode(self.encode(images))
    }

    /// The reconstruction: `sigmoid(forward_logits)`, `[batch, 1, 28, 28]` in (0, 1).
    pub fn forward(&self, images: Tensor<4>) -> Tensor<4> {
        sigmoid(self.forward_logits(images))
    }
}

/// Mean sigmoid cross-entropy of `logits` against `targets` (both `[batch, 1, 28, 28]`),
/// averaged over every pixel — Keras' `binary_crossentropy` on logits, as the tutorial trains.
///
/// Computed as `max(x, 0) − x·z + ln(1 + e^−|x|)`, which never overflows (the form TensorFlow's
/// `sigmoid_cross_entropy_with_logits` documents).
pub fn bce_with_logits(logits: Tensor<4>, targets: Tensor<4>) -> Tensor<1> {
    let positive = logits.clone().clamp_min(0.0);
    let soft = logits.clone().abs().neg().exp().log1p();
    (positive - logits * targets + soft).mean()
}
