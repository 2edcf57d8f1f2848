//! CPU kernels for the layers where burn's `flex` backend is slowest on this model, added through
//! burn's backend-extension API (`#[backend_extension]` and custom autodiff nodes), not a fork.
//!
//! Why these (`cargo bench --bench ops` and the README's profile):
//! - **3×3 convolutions with one input or one output channel** (`enc1`, 1 → 32, and `out`,
//!   32 → 1). flex runs every convolution as tiled im2col + GEMM and derives the gradients
//!   through more convolutions; with a single channel on one side they took ≈ 40 % of a train
//!   step's convolution time for 5 % of its multiply-adds. Here the 1 → n shapes (`enc1`'s
//!   forward pass and weight gradient, `out`'s input gradient) are GEMMs over nine patch rows
//!   per image ([`patch_conv`], [`layer_grads`]); the n → 1 shapes (`out`'s forward pass and
//!   weight gradient) sums of shifted planes whose inner loops run along image rows and vectorise.
//! - **the 32 → 32 convolutions and transposed convolutions** (`enc2`, `dec1`, `up1`, `up2`).
//!   flex runs a convolution as im2col + GEMM (each input element copied nine times), derives
//!   the input gradient as a transposed convolution, and runs a transposed convolution as GEMM +
//!   col2im, a scalar scatter-add that took ≈ 14 % of a single-threaded train step. Here:
//!   - forward and input gradient of a convolution: three GEMMs per image, one per kernel row,
//!     over the input's rows shifted by one column each way ([`shifted_rows3`], three copies
//!     instead of nine), straight into the output image;
//!   - forward of a transposed convolution: its four output phases (even/odd rows × columns) are
//!     small convolutions of the input, six GEMMs per image, then one interleaving pass;
//!   - weight gradients: an im2col per image and one GEMM per group of images (the `gemm`
//!     crate flex itself uses) straight into the weight layout (burn: a convolution with the
//!     batch as channels and the output gradient as a 14 × 14 or 28 × 28 "kernel"); for the
//!     transposed convolutions the input gradient comes from the same columns (one more GEMM per
//!     image) instead of a strided convolution.
//! - **leaky ReLU** as one pass forward and one backward, instead of burn's compare, scale and
//!   `mask_where` (or four composed ops, [`crate::model::leaky`]).
//! - **2 × 2 max-pooling** with stride 2: flex's general pooling with indices took ≈ 7 ms at
//!   64 × 32 × 28 × 28 for 1.6 M comparisons. Here the forward pass keeps no indices (and takes
//!   maxima over whole rows, which vectorises); the backward pass finds each window's maximum
//!   again from the input.
//!
//! Only `flex` devices take these paths ([`on_flex`]); WebGPU and Vulkan keep burn's own ops.
//! Values agree with burn's to float rounding (max-pooling exactly). Work is split over images,
//! over channel pairs or over a fixed number of batch groups, and every sum runs in a fixed order,
//! so results do not depend on the number of threads.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Dispatch, DispatchDevice, Flex, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::prelude::*;
use burn::tensor::DType;

/// Operations of this model that the CPU backend runs with the kernels below.
#[backend_extension(Flex, Autodiff)]
pub trait DaeKernels: burn::backend::Backend {
    /// 3×3 convolution, stride 1, zero padding 1. `x`: [batch, c_in, side, side], `weight`:
    /// [c_out, c_in, 3, 3], `bias`: [c_out] → [batch, c_out, side, side].
    fn conv3x3(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self>;

    /// 3×3 transposed convolution, stride 2, padding 1, output padding 1 (Keras'
    /// `Conv2DTranspose(padding="same")`). `x`: [batch, c_in, side, side], `weight`:
    /// [c_in, c_out, 3, 3], `bias`: [c_out] → [batch, c_out, 2·side, 2·side].
    fn up_conv3x3(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self>;

    /// Leaky ReLU, `x` for x > 0 and `slope · x` otherwise, any shape; one pass forward and one
    /// backward (gradient `slope` at exactly 0, as TensorFlow's LeakyReluGrad).
    fn leaky_relu(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self>;

    /// 2 × 2 max-pooling with stride 2 of an even-sided input:
    /// [batch, channels, side, side] → [batch, channels, side / 2, side / 2].
    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Whether `tensor` lives on the flex backend (with or without autodiff).
pub fn on_flex<const D: usize>(tensor: &Tensor<D>) -> bool {
    matches!(tensor.device().without_autodiff().as_dispatch(), DispatchDevice::Flex(_))
}

/// `layer` applied to `x` ([batch, c_in, side, side]): this module's kernels on flex when the
/// layer is what they compute (3×3, stride 1, padding 1, with a bias), burn's `Conv2d` otherwise.
pub fn conv3x3(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let fits = layer.kernel_size == [3, 3]
        && layer.stride == [1, 1]
        && layer.dilation == [1, 1]
        && layer.groups == 1
        && layer.padding == PaddingConfig2d::Explicit(1, 1, 1, 1);
    match &layer.bias {
        Some(bias) if fits && on_flex(&x) => Tensor::from_dispatch(Dispatch::conv3x3(
            x.into_dispatch(),
            layer.weight.val().into_dispatch(),
            bias.val().into_dispatch(),
        )),
        _ => layer.forward(x),
    }
}

/// `layer` applied to `x` ([batch, c_in, side, side] → [batch, c_out, 2·side, 2·side]): this
/// module's autodiff node on flex when the layer is 3×3, stride 2, padding 1, output padding 1
/// with a bias, burn's `ConvTranspose2d` otherwise.
pub fn up_conv3x3(layer: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    let fits = layer.kernel_size == [3, 3]
        && layer.stride == [2, 2]
        && layer.padding == [1, 1]
        && layer.padding_out == [1, 1]
        && layer.dilation == [1, 1]
        && layer.groups == 1;
    match &layer.bias {
        Some(bias) if fits && on_flex(&x) => Tensor::from_dispatch(Dispatch::up_conv3x3(
            x.into_dispatch(),
            layer.weight.val().into_dispatch(),
            bias.val().into_dispatch(),
        )),
        _ => layer.forward(x),
    }
}

/// Leaky ReLU of `x` with negative `slope`: one fused pass on flex, [`crate::model::leaky`]
/// elsewhere; the same values bit for bit either way.
pub fn leaky_relu(x: Tensor<4>, slope: f64) -> Tensor<4> {
    if on_flex(&x) {
        Tensor::from_dispatch(Dispatch::leaky_relu(x.into_dispatch(), slope as f32))
    } else {
        crate::model::leaky(x, slope)
    }
}

/// 2 × 2, stride 2 max-pooling of `x` ([batch, channels, side, side] → side / 2): the kernel
/// on flex when the side is even, burn's `max_pool2d` otherwise.
pub fn max_pool2x2(x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    if h % 2 == 0 && w % 2 == 0 && on_flex(&x) {
        Tensor::from_dispatch(Dispatch::max_pool2x2(x.into_dispatch()))
    } else {
        burn::tensor::module::max_pool2d(x, burn::tensor::ops::MaxPoolOptions::new([2, 2]))
    }
}

// ---------------------------------------------------------------------------------------------
// flex: the kernels on plain slices.

fn contiguous_f32(t: &FlexTensor) -> FlexTensor {
    assert_eq!(t.dtype(), DType::F32, "the model's CPU kernels are written for f32 tensors");
    t.to_contiguous()
}

fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("a contiguous f32 tensor")
}

fn tensor(values: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    let shape = burn::backend::TensorMetadata::shape(t);
    assert_eq!(shape.num_dims(), 4, "expected a rank-4 tensor, got shape {shape:?}");
    [shape[0], shape[1], shape[2], shape[3]]
}

/// Runs `f(index, chunk)` over `out.chunks_mut(chunk)`: on rayon's threads natively, in order in
/// the browser (single-threaded without cross-origin isolation). Each chunk is written by one
/// call, so the result does not depend on the scheduling.
fn for_each_chunk(out: &mut [f32], chunk: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    }
    #[cfg(target_arch = "wasm32")]
    out.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
}

/// `out[i][j] += Σ k[3·a + b] · input[i + a − 1][j + b − 1]` over the taps inside the
/// `side × side` plane (zero padding 1): one 3×3 cross-correlation, added to `out`.
fn correlate3x3_add(out: &mut [f32], input: &[f32], side: usize, k: &[f32; 9]) {
    let s = side;
    for i in 0..s {
        let row = &mut out[i * s..(i + 1) * s];
        for a in 0..3 {
            let r = i + a;
            if r == 0 || r > s {
                continue; // input row i + a − 1 is outside the plane
            }
            let src = &input[(r - 1) * s..r * s];
            let (k0, k1, k2) = (k[3 * a], k[3 * a + 1], k[3 * a + 2]);
            if s == 1 {
                row[0] += k1 * src[0];
                continue;
            }
            // Interior columns: all three taps present; three shifted views vectorise.
            for (((o, &l), &c), &rr) in row[1..s - 1]
                .iter_mut()
                .zip(&src[..s - 2])
                .zip(&src[1..s - 1])
                .zip(&src[2..])
            {
                *o += k0 * l + k1 * c + k2 * rr;
            }
            row[0] += k1 * src[0] + k2 * src[1];
            row[s - 1] += k0 * src[s - 2] + k1 * src[s - 1];
        }
    }
}

/// The 3×3 kernel `weight[o][i]` of a [c_out, c_in, 3, 3] weight.
fn kernel(weight: &[f32], c_in: usize, o: usize, i: usize) -> [f32; 9] {
    let at = (o * c_in + i) * 9;
    weight[at..at + 9].try_into().expect("9 taps")
}

/// Forward pass: [batch, c_in, s, s] → [batch, c_out, s, s].
fn thin_conv_forward(x: &[f32], weight: &[f32], bias: &[f32], dims: [usize; 4], c_out: usize) -> Vec<f32> {
    let [batch, c_in, s, _] = dims;
    let plane = s * s;
    let mut out = vec![0.0f32; batch * c_out * plane];
    for_each_chunk(&mut out, c_out * plane, |b, image| {
        for (o, out_plane) in image.chunks_mut(plane).enumerate() {
            out_plane.fill(bias[o]);
            for i in 0..c_in {
                let x_plane = &x[(b * c_in + i) * plane..][..plane];
                correlate3x3_add(out_plane, x_plane, s, &kernel(weight, c_in, o, i));
            }
        }
    });
    out
}

/// Fills each `plane`-sized channel of an output `image` with its bias, if there is one, and says
/// whether it did: the GEMMs then add onto the output instead of overwriting it.
fn fill_bias(image: &mut [f32], bias: Option<&[f32]>, plane: usize) -> bool {
    if let Some(bias) = bias {
        for (p, &b) in image.chunks_exact_mut(plane).zip(bias) {
            p.fill(b);
        }
    }
    bias.is_some()
}

/// A convolution with one input channel as one GEMM per image over its 3×3 patches
/// ([`im2col3x3`], nine rows): `weight` [c_out, 9] · [9, s·s], written into the output image
/// on top of `bias` (or zero).
fn patch_conv(x: &[f32], weight: &[f32], bias: Option<&[f32]>, batch: usize, s: usize, c_out: usize) -> Vec<f32> {
    let plane = s * s;
    let mut out = vec![0.0f32; batch * c_out * plane];
    for_each_chunk(&mut out, c_out * plane, |b, image| {
        let mut cols = vec![0.0f32; 9 * plane];
        im2col3x3(&x[b * plane..][..plane], 1, s, 1, s, &mut cols, plane, 0);
        let biased = fill_bias(image, bias, plane);
        matmul(image, c_out, plane, 9, weight, 9, &cols, 1, plane, biased);
    });
    out
}

/// Forward pass of a 1 → c_out convolution (`enc1`).
fn patch_conv_forward(x: &[f32], weight: &[f32], bias: &[f32], [batch, _, s, _]: [usize; 4], c_out: usize) -> Vec<f32> {
    patch_conv(x, weight, Some(bias), batch, s, c_out)
}

/// Input gradient of a c_in → 1 convolution (`out`): the output gradient's one plane
/// convolved with each input channel's kernel rotated by 180°, the same 1 → c_in shape.
fn patch_conv_grad_x(grad: &[f32], weight: &[f32], batch: usize, c_in: usize, _c_out: usize, s: usize) -> Vec<f32> {
    let rotated: Vec<f32> = weight.chunks_exact(9).flat_map(|k| k.iter().rev().copied()).collect();
    patch_conv(grad, &rotated, None, batch, s, c_in)
}

/// Gradient with respect to the input: each input plane collects its output gradients through
/// the kernels rotated by 180°. [batch, c_out, s, s] → [batch, c_in, s, s].
fn thin_conv_grad_x(grad: &[f32], weight: &[f32], batch: usize, c_in: usize, c_out: usize, s: usize) -> Vec<f32> {
    let plane = s * s;
    let mut out = vec![0.0f32; batch * c_in * plane];
    for_each_chunk(&mut out, c_in * plane, |b, image| {
        for (i, dx) in image.chunks_mut(plane).enumerate() {
            for o in 0..c_out {
                let mut k = kernel(weight, c_in, o, i);
                k.reverse(); // k[3a + b] → k[3(2 − a) + (2 − b)]
                correlate3x3_add(dx, &grad[(b * c_out + o) * plane..][..plane], s, &k);
            }
        }
    });
    out
}

/// Gradient with respect to the weight: [c_out, c_in, 3, 3].
/// `dw[o][i][a][b] = Σ_batch Σ_(y, x) grad[o][y][x] · input[i][y + a − 1][x + b − 1]`. Products are
/// summed per column into 9 rows of `s` partial sums (elementwise, so they vectorise), then
/// across the row at the end: the same order whatever the thread count.
fn thin_conv_grad_w(x: &[f32], grad: &[f32], dims: [usize; 4], c_out: usize) -> Vec<f32> {
    let [batch, c_in, s, _] = dims;
    let plane = s * s;
    let mut dw = vec![0.0f32; c_out * c_in * 9];
    for_each_chunk(&mut dw, 9, |pair, taps| {
        let (o, i) = (pair / c_in, pair % c_in);
        let mut acc = vec![0.0f32; 9 * s];
        for b in 0..batch {
            let g = &grad[(b * c_out + o) * plane..][..plane];
            let xin = &x[(b * c_in + i) * plane..][..plane];
            for y in 0..s {
                let g_row = &g[y * s..(y + 1) * s];
                for a in 0..3 {
                    let r = y + a;
                    if r == 0 || r > s {
                        continue;
                    }
                    let src = &xin[(r - 1) * s..r * s];
                    let rows = &mut acc[3 * a * s..(3 * a + 3) * s];
                    let (left, rest) = rows.split_at_mut(s);
                    let (mid, right) = rest.split_at_mut(s);
                    // tap b = 0 reads column x − 1, b = 1 column x, b = 2 column x + 1
                    for ((p, &gv), &xv) in left[1..].iter_mut().zip(&g_row[1..]).zip(&src[..s - 1]) {
                        *p += gv * xv;
                    }
                    for ((p, &gv), &xv) in mid.iter_mut().zip(g_row).zip(src) {
                        *p += gv * xv;
                    }
                    for ((p, &gv), &xv) in right[..s - 1].iter_mut().zip(&g_row[..s - 1]).zip(&src[1..]) {
                        *p += gv * xv;
                    }
                }
            }
        }
        for (t, row) in taps.iter_mut().zip(acc.chunks(s)) {
            *t = row.iter().sum();
        }
    });
    dw
}

/// Gradient with respect to the bias: `db[o] = Σ_batch Σ_pixels grad[o]`, [batch, c, s, s] → [c]
/// (per-pixel partial sums first, then across them: a fixed order).
fn bias_grad(grad: &[f32], batch: usize, c: usize, plane: usize) -> Vec<f32> {
    let mut db = vec![0.0f32; c];
    for_each_chunk(&mut db, 1, |o, total| {
        let mut acc = vec![0.0f32; plane];
        for b in 0..batch {
            for (p, &gv) in acc.iter_mut().zip(&grad[(b * c + o) * plane..][..plane]) {
                *p += gv;
            }
        }
        total[0] = acc.iter().sum();
    });
    db
}

/// Writes the 3×3 patches of `src` ([c, side, side]) seen from a p × p grid with the given
/// stride into `cols`, a row-major matrix of c·9 rows and `row_len` columns, at column `offset`:
/// `cols[c·9 + 3a + e][offset + y·p + x] = src[c][stride·y + a − 1][stride·x + e − 1]`. Entries
/// outside `src` are left alone: the caller zeroes `cols` once, and the same entries are outside
/// for every image.
#[allow(clippy::too_many_arguments)]
fn im2col3x3(src: &[f32], c: usize, side: usize, stride: usize, p: usize, cols: &mut [f32], row_len: usize, offset: usize) {
    // Valid grid range [lo, hi) for tap offset t ∈ {0, 1, 2}: 0 ≤ stride·y + t − 1 < side.
    let range = |t: usize| {
        let lo = if t == 0 { 1 } else { 0 };
        let hi = if side >= t { ((side - t) / stride + 1).min(p) } else { 0 };
        (lo, hi.max(lo))
    };
    for ci in 0..c {
        let plane = &src[ci * side * side..][..side * side];
        for a in 0..3 {
            let (y_lo, y_hi) = range(a);
            for e in 0..3 {
                let (x_lo, x_hi) = range(e);
                let row = &mut cols[(ci * 9 + 3 * a + e) * row_len + offset..][..p * p];
                for y in y_lo..y_hi {
                    let src_row = &plane[(stride * y + a - 1) * side..][..side];
                    let dst = &mut row[y * p..(y + 1) * p];
                    if stride == 1 {
                        dst[x_lo..x_hi].copy_from_slice(&src_row[x_lo + e - 1..x_hi + e - 1]);
                    } else {
                        for x in x_lo..x_hi {
                            dst[x] = src_row[stride * x + e - 1];
                        }
                    }
                }
            }
        }
    }
}

/// The rows of a [c, s, s] image seen through the three columns of a 3×3 kernel, with a zero
/// row above and below: `rows[ci][e][y][x] = src[ci][y − 1][x + e − 1]` for y in 0‥s + 2
/// (zero where that is outside the image), [c, 3, s + 2, s]. Every element is written.
///
/// Why: a 3×3 convolution, stride 1, padding 1, is then three GEMMs whose right side is this
/// buffer read from row a (`kernel row a`): the (ci, e) rows are evenly spaced, so no per-tap
/// copy is needed (im2col copies each input element nine times, this three).
fn shifted_rows3(src: &[f32], c: usize, s: usize, rows: &mut [f32]) {
    let len = (s + 2) * s;
    for ci in 0..c {
        let plane = &src[ci * s * s..][..s * s];
        for e in 0..3 {
            let dst = &mut rows[(ci * 3 + e) * len..][..len];
            dst[..s].fill(0.0);
            dst[(s + 1) * s..].fill(0.0);
            for (d, r) in dst[s..(s + 1) * s].chunks_exact_mut(s).zip(plane.chunks_exact(s)) {
                match e {
                    0 => {
                        d[0] = 0.0;
                        d[1..].copy_from_slice(&r[..s - 1]);
                    }
                    1 => d.copy_from_slice(r),
                    _ => {
                        d[..s - 1].copy_from_slice(&r[1..]);
                        d[s - 1] = 0.0;
                    }
                }
            }
        }
    }
}

/// Per kernel row `a`, the [c_out, c_in·3] matrix `taps[a][o][3i + e] = w(o, i, a, e)`: the
/// left side of [`wide_conv`]'s GEMMs, [3, c_out, c_in·3].
fn conv_taps(c_out: usize, c_in: usize, w: impl Fn(usize, usize, usize, usize) -> f32) -> Vec<f32> {
    let mut taps = Vec::with_capacity(9 * c_out * c_in);
    for a in 0..3 {
        for o in 0..c_out {
            for i in 0..c_in {
                taps.extend((0..3).map(|e| w(o, i, a, e)));
            }
        }
    }
    taps
}

/// 3×3 convolution, stride 1, zero padding 1, of x [batch, c_in, s, s] with `taps` (from
/// [`conv_taps`]) → [batch, c_out, s, s], plus `bias` [c_out] if given: per image,
/// `out = bias + Σ_a taps[a] · rows3(x)` shifted down by `a` rows (three GEMMs with an inner
/// dimension of 3·c_in, written straight into the output image).
fn wide_conv(x: &[f32], taps: &[f32], bias: Option<&[f32]>, [batch, c_in, s, _]: [usize; 4], c_out: usize) -> Vec<f32> {
    let (plane, k, len) = (s * s, 3 * c_in, (s + 2) * s);
    let mut out = vec![0.0f32; batch * c_out * plane];
    for_each_chunk(&mut out, c_out * plane, |b, image| {
        let mut rows = vec![0.0f32; k * len];
        shifted_rows3(&x[b * c_in * plane..][..c_in * plane], c_in, s, &mut rows);
        let biased = fill_bias(image, bias, plane);
        for a in 0..3 {
            // image[o][y·s + x] += Σ_(i, e) taps[a][o][3i + e] · rows[i][e][y + a][x]
            matmul(image, c_out, plane, k, &taps[a * c_out * k..], k, &rows[a * s..], 1, len, biased || a > 0);
        }
    });
    out
}

/// The forward pass of a wide 3×3 convolution (weight [c_out, c_in, 3, 3]).
fn wide_conv_forward(x: &[f32], weight: &[f32], bias: &[f32], dims: [usize; 4], c_out: usize) -> Vec<f32> {
    let c_in = dims[1];
    let taps = conv_taps(c_out, c_in, |o, i, a, e| weight[(o * c_in + i) * 9 + 3 * a + e]);
    wide_conv(x, &taps, Some(bias), dims, c_out)
}

/// Its input gradient: the output gradient ([batch, c_out, s, s]) convolved with the kernels
/// transposed (c_out ↔ c_in) and rotated by 180° → [batch, c_in, s, s].
fn wide_conv_grad_x(grad: &[f32], weight: &[f32], batch: usize, c_in: usize, c_out: usize, s: usize) -> Vec<f32> {
    let taps = conv_taps(c_in, c_out, |i, o, a, e| weight[(o * c_in + i) * 9 + 3 * (2 - a) + (2 - e)]);
    wide_conv(grad, &taps, None, [batch, c_out, s, s], c_in)
}

/// 3×3 transposed convolution, stride 2, padding 1, output padding 1, of x [batch, c_in, s, s]
/// with weight [c_in, c_out, 3, 3] and bias → [batch, c_out, 2s, 2s].
///
/// Output pixel 2·y + a − 1 takes input pixel y through kernel row a, so each of the four output
/// phases (row parity py, column parity px) is a small convolution of the input: even rows take
/// row a = 1 at y = m; odd rows a = 2 at y = m and a = 0 at y = m + 1 (columns alike). Per image
/// that is six GEMMs into four s × s phase planes, over the input's columns shifted by 0 and 1
/// (`cols2[i][d][y][x] = x[i][y][x + d]`, one zero row below), then one pass that interleaves
/// the phases and adds the bias. No col2im scatter.
fn up_conv_forward(x: &[f32], weight: &[f32], bias: &[f32], [batch, c_in, s, _]: [usize; 4], c_out: usize) -> Vec<f32> {
    let (plane, len, side) = (s * s, (s + 1) * s, 2 * s);
    let w = |i: usize, o: usize, a: usize, e: usize| weight[(i * c_out + o) * 9 + 3 * a + e];
    // Left sides per kernel row a: even output columns ([c_out, c_in], tap e = 1) and odd ones
    // ([c_out, 2·c_in], taps e = 2 at shift d = 0 and e = 0 at shift d = 1).
    let even: Vec<Vec<f32>> =
        (0..3).map(|a| (0..c_out).flat_map(|o| (0..c_in).map(move |i| w(i, o, a, 1))).collect()).collect();
    let odd: Vec<Vec<f32>> = (0..3)
        .map(|a| (0..c_out).flat_map(|o| (0..c_in).flat_map(move |i| [w(i, o, a, 2), w(i, o, a, 0)])).collect())
        .collect();
    let mut out = vec![0.0f32; batch * c_out * side * side];
    for_each_chunk(&mut out, c_out * side * side, |b, image| {
        let src = &x[b * c_in * plane..][..c_in * plane];
        let mut cols2 = vec![0.0f32; 2 * c_in * len];
        for i in 0..c_in {
            for (d, dst) in cols2[2 * i * len..][..2 * len].chunks_exact_mut(len).enumerate() {
                for (r, row) in dst[..plane].chunks_exact_mut(s).zip(src[i * plane..][..plane].chunks_exact(s)) {
                    r[..s - d].copy_from_slice(&row[d..]);
                    r[s - d..].fill(0.0);
                }
                dst[plane..].fill(0.0);
            }
        }
        let mut phases = vec![0.0f32; 4 * c_out * plane];
        for (py, row_taps) in [(0, &[(1, 0)][..]), (1, &[(2, 0), (0, 1)][..])] {
            for px in 0..2 {
                let phase = &mut phases[(2 * py + px) * c_out * plane..][..c_out * plane];
                for (j, &(a, dy)) in row_taps.iter().enumerate() {
                    let rhs = &cols2[dy * s..];
                    if px == 0 {
                        matmul(phase, c_out, plane, c_in, &even[a], c_in, rhs, 1, 2 * len, j > 0);
                    } else {
                        matmul(phase, c_out, plane, 2 * c_in, &odd[a], 2 * c_in, rhs, 1, len, j > 0);
                    }
                }
            }
        }
        for (o, out_plane) in image.chunks_exact_mut(side * side).enumerate() {
            for (m, pair) in out_plane.chunks_exact_mut(2 * side).enumerate() {
                let (top, bottom) = pair.split_at_mut(side);
                for (py, row) in [(0, top), (1, bottom)] {
                    let p0 = &phases[((2 * py) * c_out + o) * plane + m * s..][..s];
                    let p1 = &phases[((2 * py + 1) * c_out + o) * plane + m * s..][..s];
                    for ((v, &e), &f) in row.chunks_exact_mut(2).zip(p0).zip(p1) {
                        v[0] = e + bias[o];
                        v[1] = f + bias[o];
                    }
                }
            }
        }
    });
    out
}

/// Batch groups the weight gradient is split into: a fixed count, so that the sum's order (and
/// the result) does not depend on how many threads run them; each group is one GEMM with a
/// long inner dimension (16 images × 196 pixels in the model) rather than one small GEMM per image.
const GRAD_GROUPS: usize = 4;

/// `dst := (accumulate ? dst : 0) + lhs · rhs` for row-major `dst` [m, n] and `lhs` [m, k]
/// (row stride `lhs_rs`), and `rhs` [k, n] given by its strides.
#[allow(clippy::too_many_arguments)]
fn matmul(dst: &mut [f32], m: usize, n: usize, k: usize, lhs: &[f32], lhs_rs: usize, rhs: &[f32], rhs_cs: usize, rhs_rs: usize, accumulate: bool) {
    assert!(dst.len() >= m * n && lhs.len() >= (m - 1) * lhs_rs + k);
    assert!(rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
    // SAFETY: the asserts above keep every index the strides reach inside the three slices,
    // and `dst` is borrowed mutably, so it overlaps neither input.
    unsafe {
        gemm::gemm(
            m, n, k,
            dst.as_mut_ptr(), 1, n as isize,
            accumulate,
            lhs.as_ptr(), 1, lhs_rs as isize,
            rhs.as_ptr(), rhs_cs as isize, rhs_rs as isize,
            1.0, 1.0,
            false, false, false,
            gemm::Parallelism::None,
        );
    }
}

/// Runs `f(group)` for `0..groups`, on rayon's threads natively, in order in the browser.
fn map_groups<T: Send>(groups: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..groups).into_par_iter().map(f).collect()
    }
    #[cfg(target_arch = "wasm32")]
    (0..groups).map(f).collect()
}

/// Gradients of a 3×3 layer from one im2col per image:
/// - `dw = Σ_batch lhs_b · cols_bᵀ` → [m, c·9], and
/// - when `weight` ([m, c·9]) is given, `dx_b = weight · cols_b` → [batch, m, p, p],
///
/// where `lhs` is [batch, m, p, p], `src` [batch, c, side, side], and `cols_b` is
/// [`im2col3x3`] of `src_b` on the p × p grid with `stride`. Used as:
/// - convolution, stride 1: lhs = output gradient (m = c_out), src = input → dw [c_out, c_in, 3, 3];
/// - transposed convolution, stride 2, padding 1: lhs = input (m = c_in), src = output gradient
///   → dw [c_in, c_out, 3, 3] (output pixel 2·y + a − 1 takes input pixel y through tap a), and
///   dx, which reads the same patches through the same weight.
#[allow(clippy::too_many_arguments)]
fn layer_grads(lhs: &[f32], m: usize, src: &[f32], c: usize, side: usize, stride: usize, p: usize, batch: usize, weight: Option<&[f32]>) -> (Vec<f32>, Option<Vec<f32>>) {
    let (n, plane) = (c * 9, p * p);
    let groups = batch.clamp(1, GRAD_GROUPS);
    let parts = map_groups(groups, |g| {
        let images = g * batch / groups..(g + 1) * batch / groups;
        let k = images.len() * plane;
        let mut cols = vec![0.0f32; n * k];
        // This group's `lhs` images side by side: [m, images · p · p].
        let mut lhs_g = vec![0.0f32; m * k];
        let mut dx = weight.map(|_| vec![0.0f32; images.len() * m * plane]);
        for (i, b) in images.clone().enumerate() {
            im2col3x3(&src[b * c * side * side..][..c * side * side], c, side, stride, p, &mut cols, k, i * plane);
            for mm in 0..m {
                lhs_g[mm * k + i * plane..][..plane].copy_from_slice(&lhs[(b * m + mm) * plane..][..plane]);
            }
        }
        let mut dw = vec![0.0f32; m * n];
        // dw_g = lhs_g · cols_gᵀ: element (kk, nn) of the right side at cols[nn·k + kk].
        matmul(&mut dw, m, n, k, &lhs_g, k, &cols, k, 1, false);
        if let (Some(dx), Some(w)) = (dx.as_mut(), weight) {
            for i in 0..images.len() {
                // dx_i = weight · (image i's columns of cols): element (nn, j) at cols[nn·k + i·plane + j].
                matmul(&mut dx[i * m * plane..][..m * plane], m, plane, n, w, n, &cols[i * plane..], 1, k, false);
            }
        }
        (dw, dx)
    });
    let mut dw = vec![0.0f32; m * n];
    let mut dx = weight.map(|_| Vec::with_capacity(batch * m * plane));
    for (part_dw, part_dx) in parts {
        for (t, v) in dw.iter_mut().zip(&part_dw) {
            *t += v;
        }
        if let (Some(dx), Some(part)) = (dx.as_mut(), part_dx) {
            dx.extend_from_slice(&part);
        }
    }
    (dw, dx)
}

/// The larger of two values and whether it is the second (`>`: ties and NaNs keep the first).
#[inline]
fn pick(top: f32, bottom: f32) -> (f32, bool) {
    if bottom > top { (bottom, true) } else { (top, false) }
}

/// Each window's maximum: per column the larger of the top and bottom element over whole rows
/// (contiguous, so it vectorises), then the larger of each column pair. The same value as the
/// element [`window_argmax`] picks for the backward pass.
fn max_pool_forward(x: &[f32], [batch, channels, h, w]: [usize; 4]) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = vec![0.0f32; batch * channels * oh * ow];
    for_each_chunk(&mut out, channels * oh * ow, |b, pooled| {
        let mut column = vec![0.0f32; w];
        for (rows, out_row) in x[b * channels * h * w..][..channels * h * w].chunks_exact(2 * w).zip(pooled.chunks_exact_mut(ow)) {
            let (top, bottom) = rows.split_at(w);
            for ((m, &t), &u) in column.iter_mut().zip(top).zip(bottom) {
                *m = pick(t, u).0;
            }
            for (o, pair) in out_row.iter_mut().zip(column.chunks_exact(2)) {
                *o = pick(pair[0], pair[1]).0;
            }
        }
    });
    out
}

/// Index (0‥3, row-major in the window) of the first maximum of a 2 × 2 window; ties go to the
/// earlier element. Comparisons as `>`, so a NaN never wins over a number that came first.
#[inline]
fn window_argmax(v: [f32; 4]) -> usize {
    let mut best = 0;
    for k in 1..4 {
        if v[k] > v[best] {
            best = k;
        }
    }
    best
}

/// Calls `f(window, output index)` for every 2 × 2 window of a `w`-wide plane, row by row; the
/// window's values in row-major order.
#[inline]
fn for_each_window(plane: &[f32], w: usize, mut f: impl FnMut([f32; 4], usize)) {
    let ow = w / 2;
    for (y, rows) in plane.chunks_exact(2 * w).enumerate() {
        let (top, bottom) = rows.split_at(w);
        for (x, (t, b)) in top.chunks_exact(2).zip(bottom.chunks_exact(2)).enumerate() {
            f([t[0], t[1], b[0], b[1]], y * ow + x);
        }
    }
}

/// Each output gradient goes to the input element that was the maximum of its window.
fn max_pool_backward(x: &[f32], grad: &[f32], [batch, channels, h, w]: [usize; 4]) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut dx = vec![0.0f32; batch * channels * h * w];
    for_each_chunk(&mut dx, h * w, |p, dplane| {
        let g = &grad[p * oh * ow..][..oh * ow];
        for_each_window(&x[p * h * w..][..h * w], w, |v, i| {
            let k = window_argmax(v);
            dplane[(2 * (i / ow) + k / 2) * w + 2 * (i % ow) + k % 2] = g[i];
        });
    });
    dx
}

impl DaeKernels for Flex {
    fn conv3x3(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        let [c_out, c_in, ..] = dims4(&weight);
        let (x, weight, bias) = (contiguous_f32(&x), contiguous_f32(&weight), contiguous_f32(&bias));
        let dims = dims4(&x);
        assert!(
            c_in == dims[1] && dims4(&weight)[2..] == [3, 3] && dims[2] == dims[3],
            "conv3x3: x {dims:?}, weight {:?}",
            dims4(&weight)
        );
        let forward = match (c_in, c_out) {
            (1, _) => patch_conv_forward,
            (_, 1) => thin_conv_forward,
            _ => wide_conv_forward,
        };
        let out = forward(slice(&x), slice(&weight), slice(&bias), dims, c_out);
        tensor(out, [dims[0], c_out, dims[2], dims[3]])
    }

    fn up_conv3x3(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        let (x, weight, bias) = (contiguous_f32(&x), contiguous_f32(&weight), contiguous_f32(&bias));
        let dims = dims4(&x);
        let [c_in, c_out, kh, kw] = dims4(&weight);
        assert!(
            c_in == dims[1] && [kh, kw] == [3, 3] && dims[2] == dims[3],
            "up_conv3x3: x {dims:?}, weight {:?}",
            dims4(&weight)
        );
        let out = up_conv_forward(slice(&x), slice(&weight), slice(&bias), dims, c_out);
        tensor(out, [dims[0], c_out, 2 * dims[2], 2 * dims[3]])
    }

    fn leaky_relu(x: FlexTensor, slope: f32) -> FlexTensor {
        let x = contiguous_f32(&x);
        let shape = burn::backend::TensorMetadata::shape(&x);
        // `x > 0 ? x : slope·x`: what burn's leaky_relu and `model::leaky` compute, value for value.
        let out: Vec<f32> = slice(&x).iter().map(|&v| if v > 0.0 { v } else { v * slope }).collect();
        FlexTensor::from_data(TensorData::new(out, shape))
    }

    fn max_pool2x2(x: FlexTensor) -> FlexTensor {
        let x = contiguous_f32(&x);
        let [b, c, h, w] = dims4(&x);
        assert!(h % 2 == 0 && w % 2 == 0, "max_pool2x2: even sides expected, got {h} × {w}");
        tensor(max_pool_forward(slice(&x), [b, c, h, w]), [b, c, h / 2, w / 2])
    }
}

// ---------------------------------------------------------------------------------------------
// Autodiff: one node per call, whose backward pass runs the kernels above.

/// The backward pass of a 3×3 layer node: a convolution ([`DaeKernels::conv3x3`]) or a
/// transposed one ([`DaeKernels::up_conv3x3`]).
#[derive(Debug)]
enum LayerBackward {
    Conv,
    Up,
}

impl Backward<Flex, 3> for LayerBackward {
    /// The checkpointed input and weight.
    type State = (NodeId, NodeId);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = contiguous_f32(&grads.consume::<Flex>(&ops.node));
        let (x_id, w_id) = ops.state;
        let x = contiguous_f32(&checkpointer.retrieve_node_output::<FlexTensor>(x_id));
        let w = contiguous_f32(&checkpointer.retrieve_node_output::<FlexTensor>(w_id));
        let dims = dims4(&x);
        let [batch, _, s, _] = dims;
        let [w0, w1, ..] = dims4(&w);
        let (mut dx, mut dw) = (None, None);
        let c_out = match self {
            LayerBackward::Conv => {
                let (c_out, c_in) = (w0, w1);
                if node_x.is_some() {
                    let grad_x = match (c_in, c_out) {
                        (_, 1) => patch_conv_grad_x,
                        (1, _) => thin_conv_grad_x,
                        _ => wide_conv_grad_x,
                    };
                    dx = Some(tensor(grad_x(slice(&grad), slice(&w), batch, c_in, c_out, s), dims));
                }
                if node_w.is_some() {
                    dw = Some(if c_out == 1 {
                        thin_conv_grad_w(slice(&x), slice(&grad), dims, c_out)
                    } else {
                        layer_grads(slice(&grad), c_out, slice(&x), c_in, s, 1, s, batch, None).0
                    });
                }
                c_out
            }
            LayerBackward::Up => {
                let (c_in, c_out) = (w0, w1);
                if node_x.is_some() || node_w.is_some() {
                    // Both from one im2col of the output gradient (see `layer_grads`).
                    let weight = node_x.as_ref().map(|_| slice(&w));
                    let (w_grad, x_grad) = layer_grads(slice(&x), c_in, slice(&grad), c_out, 2 * s, 2, s, batch, weight);
                    dx = x_grad.map(|v| tensor(v, dims));
                    dw = Some(w_grad);
                }
                c_out
            }
        };
        if let (Some(node), Some(dx)) = (node_x, dx) {
            grads.register::<Flex>(node.id, dx);
        }
        if let (Some(node), Some(dw)) = (node_w, dw) {
            grads.register::<Flex>(node.id, tensor(dw, [w0, w1, 3, 3]));
        }
        if let Some(node) = node_b {
            let [.., gh, gw] = dims4(&grad);
            let plane = gh * gw;
            let db = bias_grad(slice(&grad), batch, c_out, plane);
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(db, [c_out])));
        }
    }
}

#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    /// The checkpointed input: the backward pass finds each window's maximum again.
    type State = NodeId;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = contiguous_f32(&grads.consume::<Flex>(&ops.node));
        if let Some(node) = node_x {
            let x = contiguous_f32(&checkpointer.retrieve_node_output::<FlexTensor>(ops.state));
            let dims = dims4(&x);
            grads.register::<Flex>(node.id, tensor(max_pool_backward(slice(&x), slice(&grad), dims), dims));
        }
    }
}

#[derive(Debug)]
struct LeakyBackward;

impl Backward<Flex, 1> for LeakyBackward {
    /// The checkpointed input and the slope.
    type State = (NodeId, f32);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = contiguous_f32(&grads.consume::<Flex>(&ops.node));
        if let Some(node) = node_x {
            let (x_id, slope) = ops.state;
            let x = contiguous_f32(&checkpointer.retrieve_node_output::<FlexTensor>(x_id));
            let dx: Vec<f32> =
                slice(&x).iter().zip(slice(&grad)).map(|(&v, &g)| if v > 0.0 { g } else { g * slope }).collect();
            let shape = burn::backend::TensorMetadata::shape(&x);
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dx, shape)));
        }
    }
}

/// One tracked node for `op` with parents x, weight, bias; its backward pass is `backward`'s.
fn layer_node<C: CheckpointStrategy>(
    backward: LayerBackward,
    x: FloatTensor<Autodiff<Flex, C>>,
    weight: FloatTensor<Autodiff<Flex, C>>,
    bias: FloatTensor<Autodiff<Flex, C>>,
    op: fn(FlexTensor, FlexTensor, FlexTensor) -> FlexTensor,
) -> FloatTensor<Autodiff<Flex, C>> {
    match backward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
        OpsKind::Tracked(mut prep) => {
            let state = (prep.checkpoint(&x), prep.checkpoint(&weight));
            prep.finish(state, op(x.into_primitive(), weight.into_primitive(), bias.into_primitive()))
        }
        OpsKind::UnTracked(prep) => prep.finish(op(x.into_primitive(), weight.into_primitive(), bias.into_primitive())),
    }
}

impl<C: CheckpointStrategy> DaeKernels for Autodiff<Flex, C> {
    fn conv3x3(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        layer_node::<C>(LayerBackward::Conv, x, weight, bias, <Flex as DaeKernels>::conv3x3)
    }

    fn up_conv3x3(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        layer_node::<C>(LayerBackward::Up, x, weight, bias, <Flex as DaeKernels>::up_conv3x3)
    }

    fn leaky_relu(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        match LeakyBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), slope);
                prep.finish(state, Flex::leaky_relu(x.into_primitive(), slope))
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::leaky_relu(x.into_primitive(), slope)),
        }
    }

    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match MaxPoolBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let state = prep.checkpoint(&x);
                prep.finish(state, Flex::max_pool2x2(x.into_primitive()))
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::max_pool2x2(x.into_primitive())),
        }
    }
}
