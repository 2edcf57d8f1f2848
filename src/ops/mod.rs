//! CPU kernels for the layers where burn's `flex` backend is slowest on this model, added through
//! burn's backend-extension API (`#[backend_extension]` and custom autodiff nodes), not a fork.
//!
//! Why these (`cargo bench --bench ops` and the README's profile):
//! - **3×3 convolutions with one input or one output channel** (`enc1`, 1 → 32, and `out`,
//!   32 → 1). flex runs every convolution as tiled im2col + GEMM and derives the gradients
//!   through more convolutions; with a single channel on one side they took ≈ 40 % of a train
//!   step's convolution time for 5 % of its multiply-adds. Here the 1 → n shapes (`enc1`'s
//!   forward pass and weight gradient, `out`'s input gradient) are GEMMs over nine patch rows
//!   per image (`flex::conv::patch_conv`, `flex::gemm::layer_grads`);
//!   the n → 1 shapes (`out`'s forward pass and weight gradient) sums of shifted planes whose
//!   inner loops run along image rows and vectorise.
//! - **the 32 → 32 convolutions and transposed convolutions** (`enc2`, `dec1`, `up1`, `up2`).
//!   flex runs a convolution as im2col + GEMM (each input element copied nine times), derives
//!   the input gradient as a transposed convolution, and runs a transposed convolution as GEMM +
//!   col2im, a scalar scatter-add that took ≈ 14 % of a single-threaded train step. Here:
//!   - forward and input gradient of a convolution: three GEMMs per image, one per kernel row,
//!     over the input's rows shifted by one column each way
//!     (`flex::conv::shifted_rows3`, three copies instead of nine), straight
//!     into the output image;
//!   - forward of a transposed convolution: its four output phases (even/odd rows × columns) are
//!     small convolutions of the input, six GEMMs per image, then one interleaving pass;
//!   - weight gradients: an im2col per image and one GEMM per group of images (the `gemm`
//!     crate flex itself uses) straight into the weight layout (burn: a convolution with the
//!     batch as channels and the output gradient as a 14 × 14 or 28 × 28 "kernel"); for the
//!     transposed convolutions the input gradient comes from the same columns (one more GEMM per
//!     image) instead of a strided convolution.
//! - **leaky ReLU** as one pass forward and one backward, instead of burn's compare, scale and
//!   `mask_where` (or four composed ops, [`leaky`]).
//! - **2 × 2 max-pooling** with stride 2: flex's general pooling with indices took ≈ 7 ms at
//!   64 × 32 × 28 × 28 for 1.6 M comparisons. Here the forward pass keeps no indices (and takes
//!   maxima over whole rows, which vectorises); the backward pass finds each window's maximum
//!   again from the input.
//! - **convolution → leaky ReLU → pooling as one op** (`enc1`, `enc2`): on the CPU the activation
//!   is applied to each window's maximum as it is pooled, and its gradient taken in the pooling's
//!   backward pass, so the full-size activations are never written; with one input channel
//!   (`enc1`) the full-size gradient is not either ([`conv3x3_leaky_pool`]).
//! - **`up2` and `out` as one linear map** on the CPU ([`HeadKernels`], `flex/head.rs`): nothing
//!   lies between the transposed convolution and the one-channel convolution after it, so the two
//!   compose into 36 weights per input channel (one per pair of their taps that reaches the
//!   output differently), applied to `up2`'s 14 × 14 input: a ninth of the two layers'
//!   multiply-adds in each pass, and `up2`'s 28 × 28 × 32 maps are never written (they were
//!   2 × 6.4 MB a step at batch 64).
//! - **the loss** natively ([`LossKernels`]): burn's ops for it were a dozen single-threaded
//!   passes, ≈ 5 % of a two-thread step.
//!
//! Natively each kernel is compiled for several vector widths (`multiversion`'s x86-64 levels:
//! SSE4, AVX2 + FMA, AVX-512) and the widest the CPU runs is picked at run time, as the `gemm`
//! crate picks its micro-kernel; no fused multiply-adds are introduced that way, so every level
//! computes the same values.
//!
//! The same operations have CubeCL kernels for burn's cubecl backend (`cube/`: WebGPU in the
//! browser, Vulkan natively), in builds with the feature `webgpu` or `vulkan`: burn-cubecl without
//! `autotune` runs every convolution and its gradients as a direct convolution with one output
//! per shader invocation, 3–6× below what a software adapter can do on these shapes
//! (`docs/benchmarks.md`); these are implicit GEMMs with tiles in workgroup memory and a register
//! tile per invocation (`set_software_adapter` sizes them).
//!
//! Values agree with burn's to float rounding (max-pooling exactly). On the CPU work is split over
//! images, over channel pairs or over a fixed number of batch groups, and every sum runs in a
//! fixed order, so results do not depend on the number of threads; on a GPU each sum's order is
//! fixed by its kernel.
//!
//! Layout: this module holds the extension traits ([`DaeKernels`], [`HeadKernels`],
//! [`LossKernels`]) and the backward passes backends give them (`DaeGrads`, `HeadGrads`,
//! `LossGrads`), the functions the model calls
//! (each picks the kernel where there is one and burn's op elsewhere) and the composed leaky ReLU
//! ([`leaky`]); `flex/` the CPU kernels on plain slices, one file per op family, and their
//! `impl`s for `Flex`; `cube/` the same for `Cube`; `autodiff.rs` the backward nodes and the
//! traits' `impl`s for `Autodiff<B, C>`.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Dispatch, DispatchDevice, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::prelude::*;
use burn::tensor::activation::relu;
use std::sync::atomic::{AtomicBool, Ordering};

mod adam;
mod autodiff;
#[cfg(feature = "webgpu")]
mod cube;
mod flex;

pub use adam::AdamStep;
#[cfg(feature = "webgpu")]
pub use cube::set_software_adapter;

/// The vector instructions the CPU kernels (the `gemm` crate's and this module's) run with in
/// this build on this machine: "AVX-512", "AVX2 + FMA" or "SSE2" on x86-64 (both pick their
/// version at run time: `gemm` by AVX-512F, this module's kernels by x86-64-v4, whose AVX-512
/// subsets every AVX-512 CPU since Skylake-SP has), "NEON" on arm64; in the browser
/// "wasm SIMD128" or, in the relaxed-SIMD module, "wasm SIMD128 + relaxed (fused multiply-add)".
pub fn simd_level() -> &'static str {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            "AVX-512"
        } else if std::arch::is_x86_feature_detected!("fma") {
            "AVX2 + FMA"
        } else {
            "SSE2"
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        "NEON"
    }
    #[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
    {
        "wasm SIMD128 + relaxed (fused multiply-add)"
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128", not(feature = "relaxed-simd")))]
    {
        "wasm SIMD128"
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64", target_feature = "simd128")))]
    {
        "scalar"
    }
}

/// Operations of this model that the CPU backend runs with the kernels in `flex` and the cubecl
/// backend (WebGPU, Vulkan) with those in `cube`.
#[backend_extension(Flex, Cube: cfg(feature = "webgpu"), Autodiff)]
pub trait DaeKernels: burn::backend::Backend {
    /// 3×3 convolution, stride 1, zero padding 1. `x`: [batch, c_in, side, side], `weight`:
    /// [c_out, c_in, 3, 3], `bias`: \[c_out] → [batch, c_out, side, side].
    fn conv3x3(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self>;

    /// [`DaeKernels::conv3x3`] followed by [`DaeKernels::leaky_relu`] of negative `slope`, one
    /// pass where the backend fuses them (its values are the two ops', bit for bit): `x`: [batch,
    /// c_in, side, side], `weight`: [c_out, c_in, 3, 3], `bias`: \[c_out] → [batch, c_out, side,
    /// side]. The backward pass reads the activation's sign from the output (slope > 0).
    fn conv3x3_leaky(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        slope: f32,
    ) -> FloatTensor<Self>;

    /// [`DaeKernels::conv3x3_leaky`] followed by [`DaeKernels::max_pool2x2`], with the values of
    /// the two, bit for bit: `x`: [batch, c_in, side, side] (side even), `weight`: [c_out, c_in,
    /// 3, 3], `bias`: \[c_out] → [batch, c_out, side / 2, side / 2]. Where the backend fuses the
    /// activation into the pooling (leaky ReLU is increasing, so the activation of a window's
    /// maximum is the maximum of its activations), the full-size activations are never written;
    /// here the two ops, for a backend that does not.
    fn conv3x3_leaky_pool(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        slope: f32,
    ) -> FloatTensor<Self> {
        Self::max_pool2x2(Self::conv3x3_leaky(x, weight, bias, slope))
    }

    /// 3×3 transposed convolution, stride 2, padding 1, output padding 1 (Keras'
    /// `Conv2DTranspose(padding="same")`). `x`: [batch, c_in, side, side], `weight`:
    /// [c_in, c_out, 3, 3], `bias`: \[c_out] → [batch, c_out, 2·side, 2·side].
    fn up_conv3x3(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self>;

    /// Leaky ReLU, `x` for x > 0 and `slope · x` otherwise, any shape; one pass forward and one
    /// backward (gradient `slope` at exactly 0, as TensorFlow's LeakyReluGrad).
    fn leaky_relu(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self>;

    /// 2 × 2 max-pooling with stride 2 of an even-sided input:
    /// [batch, channels, side, side] → [batch, channels, side / 2, side / 2].
    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// One Adam update of a parameter tensor in a single pass, as burn's `Adam` computes it:
    /// `(param', moment_1', moment_2')`, all of `param`'s shape (see [`AdamStep`]).
    fn adam_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: AdamStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// The gradients of a 3×3 layer ([`DaeKernels::conv3x3`], [`DaeKernels::up_conv3x3`]) for an
/// output gradient: the input's and the weight's where asked for, and the bias'.
pub(crate) struct LayerGrads<B: burn::backend::Backend> {
    pub x: Option<FloatTensor<B>>,
    pub weight: Option<FloatTensor<B>>,
    pub bias: FloatTensor<B>,
}

/// The backward passes of [`DaeKernels`]' operations on a backend, which the autodiff nodes
/// (`autodiff.rs`) run: `x`, `weight` are the forward pass's inputs, `grad` the output gradient.
pub(crate) trait DaeGrads: DaeKernels {
    fn conv3x3_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        x_grad: bool,
        w_grad: bool,
    ) -> LayerGrads<Self>;

    fn up_conv3x3_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        x_grad: bool,
        w_grad: bool,
    ) -> LayerGrads<Self>;

    fn leaky_relu_grad(x: FloatTensor<Self>, grad: FloatTensor<Self>, slope: f32) -> FloatTensor<Self>;

    fn max_pool2x2_grad(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;

    /// [`DaeKernels::conv3x3_leaky_pool`] and the map it pooled, kept for
    /// [`DaeGrads::leaky_pool_grad`]: the convolution's sums or their activations (the backward
    /// pass reads only where each window's maximum is and its sign, which are the same in both).
    /// Here the composed ops, whose map is the activations; a backend that fuses overrides it.
    fn conv3x3_leaky_pool_keep(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        slope: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let map = Self::conv3x3_leaky(x, weight, bias, slope);
        (Self::max_pool2x2(map.clone()), map)
    }

    /// The gradient of [`DaeKernels::conv3x3_leaky_pool`]'s convolution sums for that of its
    /// output: each window's gradient to where its maximum is in `map` (what
    /// [`DaeGrads::conv3x3_leaky_pool_keep`] kept), times the activation's slope there.
    fn leaky_pool_grad(map: FloatTensor<Self>, grad: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        Self::leaky_relu_grad(map.clone(), Self::max_pool2x2_grad(map, grad), slope)
    }

    /// The gradients of [`DaeKernels::conv3x3_leaky_pool`]: `map` as
    /// [`DaeGrads::conv3x3_leaky_pool_keep`] kept it, `grad` the gradient of the op's output.
    /// Here [`DaeGrads::leaky_pool_grad`] then [`DaeGrads::conv3x3_grads`].
    fn conv3x3_leaky_pool_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        map: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        slope: f32,
        x_grad: bool,
        w_grad: bool,
    ) -> LayerGrads<Self> {
        Self::conv3x3_grads(x, weight, Self::leaky_pool_grad(map, grad, slope), x_grad, w_grad)
    }
}

/// The decoder's last two layers as one op on the CPU: a transposed convolution ([`up_conv3x3`])
/// into a convolution with one output channel ([`conv3x3`]), with nothing between them, compose
/// into one linear map of the transposed convolution's input (`flex/head.rs`). Only flex has it:
/// [`up_conv3x3_out`] calls it for tensors there.
#[backend_extension(Flex, Autodiff)]
pub trait HeadKernels: burn::backend::Backend {
    /// `conv3x3(up_conv3x3(x, up_weight, up_bias), out_weight, out_bias)`: x [batch, c, s, s],
    /// `up_weight` [c, m, 3, 3], `up_bias` \[m\], `out_weight` [1, m, 3, 3], `out_bias` \[1\] →
    /// [batch, 1, 2s, 2s].
    fn up_conv_out(
        x: FloatTensor<Self>,
        up_weight: FloatTensor<Self>,
        up_bias: FloatTensor<Self>,
        out_weight: FloatTensor<Self>,
        out_bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// The gradients of [`HeadKernels::up_conv_out`]'s input (where asked for) and parameters.
pub(crate) struct HeadLayerGrads<B: burn::backend::Backend> {
    pub x: Option<FloatTensor<B>>,
    pub up_weight: FloatTensor<B>,
    pub up_bias: FloatTensor<B>,
    pub out_weight: FloatTensor<B>,
    pub out_bias: FloatTensor<B>,
}

/// [`HeadKernels::up_conv_out`]'s backward pass, for its autodiff node.
pub(crate) trait HeadGrads: HeadKernels {
    fn up_conv_out_grads(
        x: FloatTensor<Self>,
        up_weight: FloatTensor<Self>,
        up_bias: FloatTensor<Self>,
        out_weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        x_grad: bool,
    ) -> HeadLayerGrads<Self>;
}

/// The training loss as one op on the native CPU backend, where its composed form
/// ([`crate::metrics::bce_with_logits`] elsewhere) is a dozen single-threaded passes
/// (`flex/loss.rs`). Only flex has it: [`bce_logits`] is called for tensors there.
#[backend_extension(Flex, Autodiff)]
pub trait LossKernels: burn::backend::Backend {
    /// Mean sigmoid cross-entropy of `logits` against `targets` (one shape, any rank) → \[1]:
    /// per element `(max(x, 0) − x·z) + ln(1 + e^−|x|)`. Its gradient goes to `logits` only
    /// (the targets are data).
    fn bce_logits(logits: FloatTensor<Self>, targets: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// [`LossKernels::bce_logits`] for the autodiff node on a backend: the loss with what its
/// backward pass reads (`kept`), and that backward pass: the logits' gradient for the mean's
/// gradient `grad` (\[1]).
pub(crate) trait LossGrads: LossKernels {
    fn bce_logits_keep(logits: FloatTensor<Self>, targets: FloatTensor<Self>)
    -> (FloatTensor<Self>, FloatTensor<Self>);

    fn bce_logits_grad(
        kept: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// [`LossKernels::bce_logits`] of tensors on flex ([`on_flex`]; burn panics on a backend without
/// the op): `[batch, 1, 28, 28]` logits and targets → \[1].
pub fn bce_logits(logits: Tensor<4>, targets: Tensor<4>) -> Tensor<1> {
    assert_eq!(logits.dims(), targets.dims(), "bce_logits: logits and targets of one shape");
    Tensor::from_dispatch(Dispatch::bce_logits(logits.into_dispatch(), targets.into_dispatch()))
}

/// Whether `tensor` lives on the flex backend (with or without autodiff).
pub fn on_flex<const D: usize>(tensor: &Tensor<D>) -> bool {
    matches!(tensor.device().without_autodiff().as_dispatch(), DispatchDevice::Flex(_))
}

/// Whether this module's kernels run `tensor`'s operations: on flex, and on the cubecl backend
/// in a build with WebGPU or Vulkan.
pub fn has_kernels<const D: usize>(tensor: &Tensor<D>) -> bool {
    match tensor.device().without_autodiff().as_dispatch() {
        DispatchDevice::Flex(_) => true,
        #[cfg(feature = "webgpu")]
        DispatchDevice::Cube(_) => true,
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// A fault to inject, for the tests of the self-check ([`crate::check`]): while set, [`conv3x3`]
/// (and [`conv3x3_leaky`], through it) off the CPU adds 0.01 to every output, as a kernel would that runs but computes wrong. Off
/// unless a test turns it on (`inject_conv_fault` in the JavaScript API).
static CONV_FAULT: AtomicBool = AtomicBool::new(false);

/// Turns the injected convolution fault on or off (see `CONV_FAULT`).
pub fn inject_conv_fault(on: bool) {
    CONV_FAULT.store(on, Ordering::Relaxed);
}

/// Whether `layer` is what [`DaeKernels::conv3x3`] computes (its bias aside).
fn is_conv3x3(layer: &Conv2d) -> bool {
    layer.kernel_size == [3, 3]
        && layer.stride == [1, 1]
        && layer.dilation == [1, 1]
        && layer.groups == 1
        && layer.padding == PaddingConfig2d::Explicit(1, 1, 1, 1)
}

/// `layer` applied to `x` ([batch, c_in, side, side]): this module's kernels on flex when the
/// layer is what they compute (3×3, stride 1, padding 1, with a bias), burn's `Conv2d` otherwise.
pub fn conv3x3(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let fits = is_conv3x3(layer);
    let fault = CONV_FAULT.load(Ordering::Relaxed) && !on_flex(&x);
    let y = match &layer.bias {
        Some(bias) if fits && has_kernels(&x) => Tensor::from_dispatch(Dispatch::conv3x3(
            x.into_dispatch(),
            layer.weight.val().into_dispatch(),
            bias.val().into_dispatch(),
        )),
        _ => layer.forward(x),
    };
    if fault { y.add_scalar(0.01) } else { y }
}

/// Leaky ReLU (negative `slope` > 0) of `layer` applied to `x` ([batch, c_in, side, side] →
/// [batch, c_out, side, side]): one node whose forward pass is one kernel where the layer is
/// what [`conv3x3`]'s kernels compute, the two ops otherwise.
pub fn conv3x3_leaky(layer: &Conv2d, x: Tensor<4>, slope: f64) -> Tensor<4> {
    let fault = CONV_FAULT.load(Ordering::Relaxed) && !on_flex(&x);
    match &layer.bias {
        Some(bias) if is_conv3x3(layer) && has_kernels(&x) && slope > 0.0 && !fault => {
            Tensor::from_dispatch(Dispatch::conv3x3_leaky(
                x.into_dispatch(),
                layer.weight.val().into_dispatch(),
                bias.val().into_dispatch(),
                slope as f32,
            ))
        }
        _ => leaky_relu(conv3x3(layer, x), slope),
    }
}

/// 2 × 2 max-pooling of [`conv3x3_leaky`] ([batch, c_in, side, side] → [batch, c_out, side / 2,
/// side / 2]): one node, whose kernels on flex never write the full-size activations, where the
/// layer is what [`conv3x3`]'s kernels compute and the side is even; the ops one by one otherwise.
/// The same values either way, bit for bit.
pub fn conv3x3_leaky_pool(layer: &Conv2d, x: Tensor<4>, slope: f64) -> Tensor<4> {
    let [.., h, w] = x.dims();
    let fault = CONV_FAULT.load(Ordering::Relaxed) && !on_flex(&x);
    match &layer.bias {
        Some(bias) if is_conv3x3(layer) && has_kernels(&x) && slope > 0.0 && h % 2 == 0 && w % 2 == 0 && !fault => {
            Tensor::from_dispatch(Dispatch::conv3x3_leaky_pool(
                x.into_dispatch(),
                layer.weight.val().into_dispatch(),
                bias.val().into_dispatch(),
                slope as f32,
            ))
        }
        _ => max_pool2x2(conv3x3_leaky(layer, x, slope)),
    }
}

/// Whether `layer` is what [`DaeKernels::up_conv3x3`] computes (its bias aside).
fn is_up_conv3x3(layer: &ConvTranspose2d) -> bool {
    layer.kernel_size == [3, 3]
        && layer.stride == [2, 2]
        && layer.padding == [1, 1]
        && layer.padding_out == [1, 1]
        && layer.dilation == [1, 1]
        && layer.groups == 1
}

/// `out` applied to `up` applied to `x` ([batch, c, side, side] → [batch, out's channels,
/// 2·side, 2·side]): on the CPU one node ([`HeadKernels::up_conv_out`]) where `up` is what
/// [`up_conv3x3`] computes and `out` what [`conv3x3`] computes with one output channel, both
/// with a bias; the two layers one by one otherwise. The same values to float rounding.
pub fn up_conv3x3_out(up: &ConvTranspose2d, out: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let fits = is_up_conv3x3(up) && is_conv3x3(out) && out.weight.dims()[0] == 1;
    match (&up.bias, &out.bias) {
        (Some(up_bias), Some(out_bias)) if fits && on_flex(&x) => Tensor::from_dispatch(Dispatch::up_conv_out(
            x.into_dispatch(),
            up.weight.val().into_dispatch(),
            up_bias.val().into_dispatch(),
            out.weight.val().into_dispatch(),
            out_bias.val().into_dispatch(),
        )),
        _ => conv3x3(out, up_conv3x3(up, x)),
    }
}

/// `layer` applied to `x` ([batch, c_in, side, side] → [batch, c_out, 2·side, 2·side]): this
/// module's autodiff node on flex when the layer is 3×3, stride 2, padding 1, output padding 1
/// with a bias, burn's `ConvTranspose2d` otherwise.
pub fn up_conv3x3(layer: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    match &layer.bias {
        Some(bias) if is_up_conv3x3(layer) && has_kernels(&x) => Tensor::from_dispatch(Dispatch::up_conv3x3(
            x.into_dispatch(),
            layer.weight.val().into_dispatch(),
            bias.val().into_dispatch(),
        )),
        _ => layer.forward(x),
    }
}

/// One Adam update of `param` ([`DaeKernels::adam_step`]): `(param', moment_1', moment_2')`.
pub fn adam_step<const D: usize>(
    param: Tensor<D>,
    grad: Tensor<D>,
    moment_1: Tensor<D>,
    moment_2: Tensor<D>,
    step: AdamStep,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    let (p, m, v) = Dispatch::adam_step(
        param.into_dispatch(),
        grad.into_dispatch(),
        moment_1.into_dispatch(),
        moment_2.into_dispatch(),
        step,
    );
    (Tensor::from_dispatch(p), Tensor::from_dispatch(m), Tensor::from_dispatch(v))
}

/// Leaky ReLU of `x` with negative `slope`: one fused pass on flex, [`leaky`]
/// elsewhere; the same values bit for bit either way.
pub fn leaky_relu(x: Tensor<4>, slope: f64) -> Tensor<4> {
    if has_kernels(&x) {
        Tensor::from_dispatch(Dispatch::leaky_relu(x.into_dispatch(), slope as f32))
    } else {
        leaky(x, slope)
    }
}

/// Leaky ReLU as `r + slope·(x − r)` with `r = relu(x)`: the same values as burn's
/// `leaky_relu` bit for bit (x ≥ 0 gives x + 0, x < 0 gives 0 + slope·x), but from ops whose
/// backward passes are cheap. burn's version is a compare, a scale and a `mask_where`, and under
/// autodiff that `mask_where`'s backward costs ≈ 6× the whole activation written this way
/// (`cargo bench --bench ops`: 27.6 ms against 4–5 ms forward + backward at 64 × 32 × 28 × 28).
/// Gradients agree with burn's to rounding (g − slope·g + slope·g instead of g), except at
/// exactly 0, where this takes the slope as TensorFlow's LeakyReluGrad does (burn's takes 1;
/// exact zeros are rare once the biases leave their zero initialisation). The model uses it off
/// the CPU (WebGPU, Vulkan); on flex [`crate::ops::leaky_relu`] computes the same in one pass.
pub fn leaky(x: Tensor<4>, slope: f64) -> Tensor<4> {
    let r = relu(x.clone());
    r.clone() + (x - r).mul_scalar(slope)
}

/// 2 × 2, stride 2 max-pooling of `x` ([batch, channels, side, side] → side / 2): the kernel
/// on flex when the side is even, burn's `max_pool2d` otherwise.
pub fn max_pool2x2(x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    if h % 2 == 0 && w % 2 == 0 && has_kernels(&x) {
        Tensor::from_dispatch(Dispatch::max_pool2x2(x.into_dispatch()))
    } else {
        burn::tensor::module::max_pool2d(x, burn::tensor::ops::MaxPoolOptions::new([2, 2]))
    }
}
