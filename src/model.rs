//! The convolutional denoising autoencoder of LearnOpenCV's "Understanding autoencoders using
//! TensorFlow", layer for layer, as a burn module.
//!
//! Layer names (`enc1` … `out`) are the names the weights carry in safetensors (see
//! [`crate::weights`]); parameter layouts are burn's, which match PyTorch's.

use crate::ops;
use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, Uniform};

/// Side of an MNIST image in pixels.
pub const SIDE: usize = 28;
/// Pixels per image (28 × 28).
pub const PIXELS: usize = SIDE * SIDE;

/// What a layer computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// 3 × 3 convolution, stride 1, padding 1: weight `[c_out, c_in, 3, 3]`.
    Conv,
    /// 3 × 3 transposed convolution, stride 2, padding 1, output padding 1 (doubles the side):
    /// weight `[c_in, c_out, 3, 3]`.
    ConvTranspose,
}

/// One of the model's six layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    /// The name its parameters carry (`enc1.weight`, `enc1.bias`).
    pub name: &'static str,
    pub kind: LayerKind,
    pub c_in: usize,
    pub c_out: usize,
    /// Side of its input maps.
    pub side: usize,
}

impl Layer {
    /// Shape of the weight, in burn's (and PyTorch's) layout.
    pub fn weight_shape(&self) -> [usize; 4] {
        match self.kind {
            LayerKind::Conv => [self.c_out, self.c_in, 3, 3],
            LayerKind::ConvTranspose => [self.c_in, self.c_out, 3, 3],
        }
    }
}

/// The model's layers in order, for `channels` maps in the hidden layers: the one list that
/// the weights file and the WebGPU probe iterate.
pub fn layers(channels: usize) -> [Layer; 6] {
    let c = channels;
    let layer = |name, kind, c_in, c_out, side| Layer { name, kind, c_in, c_out, side };
    [
        layer("enc1", LayerKind::Conv, 1, c, SIDE),
        layer("enc2", LayerKind::Conv, c, c, SIDE / 2),
        layer("dec1", LayerKind::Conv, c, c, SIDE / 4),
        layer("up1", LayerKind::ConvTranspose, c, c, SIDE / 4),
        layer("up2", LayerKind::ConvTranspose, c, c, SIDE / 2),
        layer("out", LayerKind::Conv, c, 1, SIDE),
    ]
}

/// A map of the forward pass that [`Dae::trace`] returns: its name, and its channels and side
/// for a model of `channels` hidden maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    pub name: &'static str,
    pub channels: usize,
    pub side: usize,
}

/// The stages of the forward pass in order: after each hidden convolution's activation, after
/// each pooling (the second is the 7 × 7 latent code), after each transposed convolution, and the
/// sigmoid reconstruction.
pub fn stages(channels: usize) -> [Stage; 8] {
    let c = channels;
    let stage = |name, channels, side| Stage { name, channels, side };
    [
        stage("enc1", c, SIDE),
        stage("pool1", c, SIDE / 2),
        stage("enc2", c, SIDE / 2),
        stage("latent", c, SIDE / 4),
        stage("dec1", c, SIDE / 4),
        stage("up1", c, SIDE / 2),
        stage("up2", c, SIDE),
        stage("output", 1, SIDE),
    ]
}

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
        let conv =
            |c_in: usize, c_out: usize| Conv2dConfig::new([c_in, c_out], [3, 3]).with_padding(same()).init(device);
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
            let values: Vec<f32> = (0..shape.iter().product::<usize>()).map(|_| dist.sample(&mut rng)).collect();
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

    /// `layer` then the activation: one fused op for leaky ReLU.
    fn conv_act(&self, layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
        match self.activation {
            Activation::LeakyRelu => ops::conv3x3_leaky(layer, x, self.leaky_slope),
            Activation::Relu => relu(ops::conv3x3(layer, x)),
        }
    }

    /// `layer`, the activation, then 2 × 2 max-pooling: `[batch, c_in, side, side]` →
    /// `[batch, c_out, side / 2, side / 2]`, handing the activations and then the pooled maps to
    /// `tap` where there is one. Without a tap, one fused op for leaky ReLU, which never holds
    /// the full-size activations (the same values, bit for bit).
    fn conv_act_pool(&self, layer: &Conv2d, x: Tensor<4>, tap: &mut Option<&mut dyn FnMut(&Tensor<4>)>) -> Tensor<4> {
        if let (Activation::LeakyRelu, None) = (self.activation, &tap) {
            return ops::conv3x3_leaky_pool(layer, x, self.leaky_slope);
        }
        let x = self.conv_act(layer, x);
        if let Some(tap) = tap {
            tap(&x);
        }
        let x = ops::max_pool2x2(x);
        if let Some(tap) = tap {
            tap(&x);
        }
        x
    }

    /// The encoder: `[batch, 1, 28, 28]` images in [0, 1] → `[batch, 32, 7, 7]` latent maps.
    pub fn encode(&self, images: Tensor<4>) -> Tensor<4> {
        self.encode_tapped(images, None)
    }

    /// The decoder: `[batch, 32, 7, 7]` latent maps → `[batch, 1, 28, 28]` logits.
    pub fn decode(&self, latent: Tensor<4>) -> Tensor<4> {
        self.decode_tapped(latent, None)
    }

    /// [`Dae::encode`], handing each of its [`stages`]' maps to `tap` where there is one, in order.
    fn encode_tapped(&self, images: Tensor<4>, mut tap: Option<&mut dyn FnMut(&Tensor<4>)>) -> Tensor<4> {
        let x = self.conv_act_pool(&self.enc1, images, &mut tap); // [batch, 32, 28, 28] → 14 × 14
        self.conv_act_pool(&self.enc2, x, &mut tap) // [batch, 32, 14, 14] → 7 × 7
    }

    /// [`Dae::decode`], handing each of its [`stages`]' maps to `tap` where there is one, in
    /// order. `up2` and `out` are one op ([`ops::up_conv3x3_out`]), which never holds `up2`'s
    /// maps: a tap gets them from `up2` on its own, and the logits are the same either way.
    fn decode_tapped(&self, latent: Tensor<4>, mut tap: Option<&mut dyn FnMut(&Tensor<4>)>) -> Tensor<4> {
        let x = self.conv_act(&self.dec1, latent); // [batch, 32, 7, 7]
        let x_up = ops::up_conv3x3(&self.up1, x.clone()); // [batch, 32, 14, 14]
        if let Some(tap) = tap.as_mut() {
            tap(&x);
            tap(&x_up);
            tap(&ops::up_conv3x3(&self.up2, x_up.clone())); // [batch, 32, 28, 28]
        }
        ops::up_conv3x3_out(&self.up2, &self.out, x_up) // [batch, 1, 28, 28]
    }

    /// Every stage's maps of one forward pass, in [`stages`] order: `[batch, 1, 28, 28]` images
    /// in, `[batch, stage.channels, stage.side, stage.side]` per stage out (the last is the
    /// reconstruction, `forward`'s output).
    pub fn trace(&self, images: Tensor<4>) -> Vec<(Stage, Tensor<4>)> {
        let mut maps = Vec::with_capacity(8);
        let mut keep = |x: &Tensor<4>| maps.push(x.clone());
        let latent = self.encode_tapped(images, Some(&mut keep));
        let logits = self.decode_tapped(latent, Some(&mut keep));
        maps.push(sigmoid(logits));
        stages(self.enc1.weight.dims()[0]).into_iter().zip(maps).collect()
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
