//! flex: the kernels on plain slices, one file per op family, and `impl DaeKernels for Flex`,
//! which runs them on contiguous f32 tensors; with the helpers they share (tensor ↔ slice, the
//! split of the work over threads).

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::prelude::*;
use burn::tensor::DType;
use std::mem::MaybeUninit;

use self::activation::leaky_relu_backward;
use self::activation::leaky_relu_forward;
use self::conv::{patch_conv_forward, thin_conv_forward, wide_conv_forward};
use self::conv::{patch_conv_grad_x, thin_conv_grad_w, thin_conv_grad_x, unpooled_grads_w, wide_conv_grad_x};
use self::conv_transpose::up_conv_forward;
use self::gemm::{BiasFrom, Lhs, bias_grad, layer_grads};
use self::head::{up_conv_out_backward, up_conv_out_forward};
use self::loss::{bce_logits_backward, bce_logits_forward};
use self::pool::max_pool_backward;
use self::pool::max_pool_forward;
use super::{
    AdamStep, DaeGrads, DaeKernels, HeadGrads, HeadKernels, HeadLayerGrads, LayerGrads, LossGrads, LossKernels,
};

// The kernels carry `#[multiversion(targets = "simd")]` (see `super`). A closure written inside
// one inherits its target features, so a library function it is handed to (`map(..).collect()`,
// say) cannot inline it and calls it per element: the per-element loops are written as loops.
// Closures run per image or per chunk (`collect_chunks`) are fine.
mod activation;
mod adam;
mod conv;
mod conv_transpose;
mod gemm;
mod head;
mod loss;
mod pool;
// Natively only for its tests (`lanes` stands in for wasm's `v128` there).
#[cfg(any(test, target_arch = "wasm32"))]
mod wasm_gemm;

/// Partial sums of the reductions over a plane (the bias gradient, `out`'s weight gradient): two
/// 256-bit vectors natively, four 128-bit ones in the browser, so that consecutive additions do
/// not wait on each other.
const SUM_LANES: usize = 16;

/// The f32 lanes of the widest vectors the CPU kernels run on: 16 where the CPU has AVX-512F
/// (checked at run time, as the `gemm` crate checks it to pick its AVX-512 micro-kernels, and as
/// the kernels' x86-64-v4 versions are picked), else 8 (AVX2's 256 bits; a multiple of the 4 lanes
/// of SSE, NEON and wasm's SIMD128).
#[inline(always)]
fn f32_lanes() -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        return 16;
    }
    8
}

fn contiguous_f32(t: &FlexTensor) -> FlexTensor {
    assert_eq!(t.dtype(), DType::F32, "the model's CPU kernels are written for f32 tensors");
    t.to_contiguous()
}

/// [`contiguous_f32`] of a tensor the op consumes: it keeps `t`'s storage where `t` was already
/// contiguous, so an op's fresh output stays the sole owner of its floats ([`values_mut`]).
fn into_contiguous_f32(t: FlexTensor) -> FlexTensor {
    contiguous_f32(&t)
}

/// The floats of a contiguous tensor to overwrite: in place where it holds its storage alone,
/// after a copy where it shares it (burn-flex's copy-on-write).
fn values_mut(t: &mut FlexTensor) -> &mut [f32] {
    let (start, end) = t.layout().contiguous_offsets().expect("a contiguous tensor");
    &mut t.storage_mut::<f32>()[start..end]
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

/// A vector of `total` floats built by `f(index, chunk)` over its chunks of `chunk` floats: on
/// rayon's threads natively, in order in the browser (single-threaded without cross-origin
/// isolation). Each chunk is written by one call, so the result does not depend on the
/// scheduling.
///
/// `f` gets its chunk unwritten and gives it back written in full, as floats: safe code can make
/// that slice only through the helpers that write every element ([`zeroed`], [`filled_planes`],
/// std's `write_copy_of_slice`, [`gemm::Gemm::write`]) or, after loops that write every element,
/// [`assume_written`]. No pass zeroes the output first: the kernels' own writes are the first
/// (what a zeroing pass over each fresh output cost, on memory the cache no longer holds:
/// docs/benchmarks.md).
fn collect_chunks(
    total: usize,
    chunk: usize,
    f: impl for<'a> Fn(usize, &'a mut [MaybeUninit<f32>]) -> &'a mut [f32] + Sync + Send,
) -> Vec<f32> {
    collect_chunks_with(total, chunk, 0, |_, i, c| f(i, c))
}

/// `f(index, chunk)` over `values` in place, in chunks of `chunk` floats: on rayon's threads
/// natively, in order in the browser, as [`collect_chunks`] does for a new vector.
fn for_chunks(values: &mut [f32], chunk: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        values.par_chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    }
    #[cfg(target_arch = "wasm32")]
    values.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
}

/// [`collect_chunks`] with a work buffer of `len` floats per thread, `f(scratch, index, chunk)`:
/// zeroed once, then passed from chunk to chunk as the last one left it, instead of a buffer
/// allocated and zeroed per image. So that the result does not depend on the scheduling, each
/// `f` must write every entry of `scratch` it reads, or leave alone the same entries every time.
fn collect_chunks_with(
    total: usize,
    chunk: usize,
    len: usize,
    f: impl for<'a> Fn(&mut [f32], usize, &'a mut [MaybeUninit<f32>]) -> &'a mut [f32] + Sync + Send,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(total);
    let fill = |scratch: &mut Vec<f32>, (i, c): (usize, &mut [MaybeUninit<f32>])| {
        let (at, n) = (c.as_ptr(), c.len());
        let written = f(scratch, i, c);
        // What makes the `set_len` below sound: each chunk came back as floats, whole.
        assert!(
            std::ptr::eq(written.as_ptr(), at.cast()) && written.len() == n,
            "collect_chunks: expected chunk {i} written in full ({n} floats), got {} floats at another place or length",
            written.len()
        );
    };
    let spare = &mut out.spare_capacity_mut()[..total];
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        spare.par_chunks_mut(chunk).enumerate().for_each_init(|| vec![0.0f32; len], fill);
    }
    #[cfg(target_arch = "wasm32")]
    {
        let mut scratch = vec![0.0f32; len];
        spare.chunks_mut(chunk).enumerate().for_each(|item| fill(&mut scratch, item));
    }
    // SAFETY: the chunks cover `..total`, and each was handed back as initialised floats (the
    // assert above; a panic there leaves `out` empty).
    unsafe { out.set_len(total) };
    out
}

/// An element of an output buffer: a float, or one not written yet.
pub(super) trait Slot: Sized {
    /// `dst := src`, slices of one length.
    fn copy(dst: &mut [Self], src: &[f32]);
}

impl Slot for f32 {
    #[inline(always)]
    fn copy(dst: &mut [f32], src: &[f32]) {
        dst.copy_from_slice(src);
    }
}

impl Slot for MaybeUninit<f32> {
    #[inline(always)]
    fn copy(dst: &mut [MaybeUninit<f32>], src: &[f32]) {
        dst.write_copy_of_slice(src);
    }
}

/// `dst := src` for a row of a plane, inline: 4 to 32 floats as two fixed-size copies of 4, 8
/// or 16 floats, the second ending at the row's end (where the two overlap they write the same
/// values); other lengths through `copy_from_slice`. With a length known only at run time
/// `copy_from_slice` is a call of `memcpy`, and for the padded copies' rows of 28 floats (some
/// 115,000 a train step) the calls cost more than the copies (docs/benchmarks.md).
#[inline(always)]
fn copy_row<S: Slot>(dst: &mut [S], src: &[f32]) {
    #[inline(always)]
    fn two<const W: usize, S: Slot>(dst: &mut [S], src: &[f32]) {
        let n = src.len();
        S::copy(&mut dst[..W], &src[..W]);
        S::copy(&mut dst[n - W..], &src[n - W..]);
    }
    assert_eq!(dst.len(), src.len(), "copy_row: rows of one length");
    match src.len() {
        16..=32 => two::<16, S>(dst, src),
        8..16 => two::<8, S>(dst, src),
        4..8 => two::<4, S>(dst, src),
        _ => S::copy(dst, src),
    }
}

/// `c` as the floats it now holds.
///
/// # Safety
/// Every element of `c` must have been written.
unsafe fn assume_written(c: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    // SAFETY: the caller's; `MaybeUninit<f32>` has the layout of `f32`.
    unsafe { &mut *(c as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// `c` written with zeros.
fn zeroed(c: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    c.fill(MaybeUninit::new(0.0));
    // SAFETY: every element was written on the line above.
    unsafe { assume_written(c) }
}

/// `c`, planes of `plane` floats, each written with its value from `values` (a layer's bias).
fn filled_planes<'a>(c: &'a mut [MaybeUninit<f32>], values: &[f32], plane: usize) -> &'a mut [f32] {
    assert_eq!(c.len(), values.len() * plane, "filled_planes: {} planes of {plane} floats", values.len());
    for (p, &v) in c.chunks_exact_mut(plane).zip(values) {
        p.fill(MaybeUninit::new(v));
    }
    // SAFETY: the planes tile `c` (the assert above), and each was filled.
    unsafe { assume_written(c) }
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
        let mut x = into_contiguous_f32(x);
        leaky_relu_forward(values_mut(&mut x), slope);
        x
    }

    /// The two passes, the activation in place over the convolution's fresh output: it costs
    /// little next to the convolution, and `conv3x3`'s own epilogue stays one shape (an epilogue
    /// measured slower in the browser, docs/benchmarks.md).
    fn conv3x3_leaky(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, slope: f32) -> FlexTensor {
        Self::leaky_relu(Self::conv3x3(x, weight, bias), slope)
    }

    fn conv3x3_leaky_pool(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, slope: f32) -> FlexTensor {
        Self::conv3x3_leaky_pool_keep(x, weight, bias, slope).0
    }

    fn adam_step(
        param: FlexTensor,
        grad: FlexTensor,
        moment_1: FlexTensor,
        moment_2: FlexTensor,
        step: AdamStep,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = burn::backend::TensorMetadata::shape(&param);
        let [param, grad, moment_1, moment_2] = [&param, &grad, &moment_1, &moment_2].map(contiguous_f32);
        let (p, m, v) = adam::adam_update(slice(&param), slice(&grad), slice(&moment_1), slice(&moment_2), step);
        let back = |values| FlexTensor::from_data(TensorData::new(values, shape.clone()));
        (back(p), back(m), back(v))
    }

    fn max_pool2x2(x: FlexTensor) -> FlexTensor {
        let x = contiguous_f32(&x);
        let [b, c, h, w] = dims4(&x);
        assert!(h % 2 == 0 && w % 2 == 0, "max_pool2x2: even sides expected, got {h} × {w}");
        tensor(max_pool_forward(slice(&x), [b, c, h, w], 1.0), [b, c, h / 2, w / 2])
    }
}

impl DaeGrads for Flex {
    fn conv3x3_grads(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        x_grad: bool,
        w_grad: bool,
    ) -> LayerGrads<Self> {
        let (x, w, grad) = (contiguous_f32(&x), contiguous_f32(&weight), contiguous_f32(&grad));
        let dims = dims4(&x);
        let [batch, _, s, _] = dims;
        let [c_out, c_in, ..] = dims4(&w);
        let dx = x_grad.then(|| {
            let grad_x = match (c_in, c_out) {
                (_, 1) => patch_conv_grad_x,
                (1, _) => thin_conv_grad_x,
                _ => wide_conv_grad_x,
            };
            tensor(grad_x(slice(&grad), slice(&w), batch, c_in, c_out, s), dims)
        });
        // With more than one output channel the weight gradient's GEMMs, which sum the bias
        // gradient on the way; `out`'s (one plane per image) its own kernel.
        let (dw, bias) = match (w_grad, c_out) {
            (true, 1) => (Some(thin_conv_grad_w(slice(&x), slice(&grad), dims, c_out)), bias_of(&grad, batch, c_out)),
            (true, _) => {
                let grads =
                    layer_grads(Lhs::Dense(slice(&grad)), c_out, slice(&x), c_in, s, 1, s, batch, None, BiasFrom::Lhs);
                (Some(grads.weight), grads.bias)
            }
            (false, _) => (None, bias_of(&grad, batch, c_out)),
        };
        LayerGrads { x: dx, weight: dw.map(|dw| tensor(dw, [c_out, c_in, 3, 3])), bias: tensor_1d(bias) }
    }

    fn up_conv3x3_grads(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        x_grad: bool,
        w_grad: bool,
    ) -> LayerGrads<Self> {
        let (x, w, grad) = (contiguous_f32(&x), contiguous_f32(&weight), contiguous_f32(&grad));
        let dims = dims4(&x);
        let [batch, _, s, _] = dims;
        let [c_in, c_out, ..] = dims4(&w);
        if !(x_grad || w_grad) {
            return LayerGrads { x: None, weight: None, bias: tensor_1d(bias_of(&grad, batch, c_out)) };
        }
        // All three from one im2col of the output gradient (see `layer_grads`).
        let weight = x_grad.then(|| slice(&w));
        let grads =
            layer_grads(Lhs::Dense(slice(&x)), c_in, slice(&grad), c_out, 2 * s, 2, s, batch, weight, BiasFrom::Src);
        LayerGrads {
            x: grads.input.map(|v| tensor(v, dims)),
            weight: w_grad.then(|| tensor(grads.weight, [c_in, c_out, 3, 3])),
            bias: tensor_1d(grads.bias),
        }
    }

    fn leaky_relu_grad(x: FlexTensor, grad: FlexTensor, slope: f32) -> FlexTensor {
        let (x, mut grad) = (contiguous_f32(&x), into_contiguous_f32(grad));
        leaky_relu_backward(slice(&x), values_mut(&mut grad), slope);
        grad
    }

    /// The convolution's sums, then the activation applied to each window's maximum as it is
    /// pooled: one pass over the sums instead of the activation's and the pooling's.
    fn conv3x3_leaky_pool_keep(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        slope: f32,
    ) -> (FlexTensor, FlexTensor) {
        let sums = Self::conv3x3(x, weight, bias);
        let [b, c, h, w] = dims4(&sums);
        assert!(h % 2 == 0 && w % 2 == 0, "conv3x3_leaky_pool: even sides expected, got {h} × {w}");
        (tensor(max_pool_forward(slice(&sums), [b, c, h, w], slope), [b, c, h / 2, w / 2]), sums)
    }

    /// With one input channel and no input gradient asked for (`enc1`), each image's gradient of
    /// the sums is made in the weight gradient's work buffer, a plane at a time
    /// ([`unpooled_grads_w`]; in the browser an image at a time, [`Lhs::Unpooled`]), where the
    /// bias gradient is summed too, instead of the full-size gradient written out.
    fn conv3x3_leaky_pool_grads(
        x: FlexTensor,
        weight: FlexTensor,
        sums: FlexTensor,
        grad: FlexTensor,
        slope: f32,
        x_grad: bool,
        w_grad: bool,
    ) -> LayerGrads<Self> {
        let [c_out, c_in, ..] = dims4(&weight);
        if c_in != 1 || x_grad {
            let grad = Self::leaky_pool_grad(sums, grad, slope);
            return Self::conv3x3_grads(x, weight, grad, x_grad, w_grad);
        }
        let (x, sums, grad) = (contiguous_f32(&x), contiguous_f32(&sums), contiguous_f32(&grad));
        let dims = dims4(&x);
        let [batch, _, s, _] = dims;
        if let Some((dw, db)) = unpooled_grads_w(slice(&x), slice(&sums), slice(&grad), slope, dims, c_out) {
            return LayerGrads { x: None, weight: w_grad.then(|| tensor(dw, [c_out, 1, 3, 3])), bias: tensor_1d(db) };
        }
        let lhs = Lhs::Unpooled { sums: slice(&sums), grad: slice(&grad), slope };
        let grads = layer_grads(lhs, c_out, slice(&x), 1, s, 1, s, batch, None, BiasFrom::Lhs);
        LayerGrads {
            x: None,
            weight: w_grad.then(|| tensor(grads.weight, [c_out, 1, 3, 3])),
            bias: tensor_1d(grads.bias),
        }
    }

    /// One pass: the pooling's gradient and the activation's together.
    fn leaky_pool_grad(sums: FlexTensor, grad: FlexTensor, slope: f32) -> FlexTensor {
        let (sums, grad) = (contiguous_f32(&sums), contiguous_f32(&grad));
        let dims = dims4(&sums);
        tensor(max_pool_backward(slice(&sums), slice(&grad), dims, slope), dims)
    }

    fn max_pool2x2_grad(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
        let (x, grad) = (contiguous_f32(&x), contiguous_f32(&grad));
        let dims = dims4(&x);
        tensor(max_pool_backward(slice(&x), slice(&grad), dims, 1.0), dims)
    }
}

impl HeadKernels for Flex {
    fn up_conv_out(
        x: FlexTensor,
        up_weight: FlexTensor,
        up_bias: FlexTensor,
        out_weight: FlexTensor,
        out_bias: FlexTensor,
    ) -> FlexTensor {
        let [x, w_up, b_up, w_out, b_out] = [&x, &up_weight, &up_bias, &out_weight, &out_bias].map(contiguous_f32);
        let (dims, m) = head_dims(&x, &w_up, &w_out);
        let b_out = slice(&b_out)[0];
        let out = up_conv_out_forward(slice(&x), [slice(&w_up), slice(&b_up), slice(&w_out)], b_out, dims, m);
        tensor(out, [dims[0], 1, 2 * dims[2], 2 * dims[3]])
    }
}

impl HeadGrads for Flex {
    fn up_conv_out_grads(
        x: FlexTensor,
        up_weight: FlexTensor,
        up_bias: FlexTensor,
        out_weight: FlexTensor,
        grad: FlexTensor,
        x_grad: bool,
    ) -> HeadLayerGrads<Self> {
        let [x, w_up, b_up, w_out, grad] = [&x, &up_weight, &up_bias, &out_weight, &grad].map(contiguous_f32);
        let (dims, m) = head_dims(&x, &w_up, &w_out);
        let params = [slice(&w_up), slice(&b_up), slice(&w_out)];
        let g = up_conv_out_backward(slice(&x), params, slice(&grad), dims, m, x_grad);
        HeadLayerGrads {
            x: g.x.map(|dx| tensor(dx, dims)),
            up_weight: tensor(g.w_up, [dims[1], m, 3, 3]),
            up_bias: tensor_1d(g.b_up),
            out_weight: tensor(g.w_out, [1, m, 3, 3]),
            out_bias: tensor_1d(vec![g.b_out]),
        }
    }
}

/// The input's dims and the transposed convolution's output channels of an `up_conv_out`, whose
/// shapes are checked.
fn head_dims(x: &FlexTensor, w_up: &FlexTensor, w_out: &FlexTensor) -> ([usize; 4], usize) {
    let dims = dims4(x);
    let ([c, m, kh, kw], w_out_dims) = (dims4(w_up), dims4(w_out));
    assert!(
        c == dims[1] && [kh, kw] == [3, 3] && dims[2] == dims[3] && w_out_dims == [1, m, 3, 3],
        "up_conv_out: x {dims:?}, up weight {:?}, out weight {w_out_dims:?}",
        [c, m, kh, kw]
    );
    (dims, m)
}

impl LossKernels for Flex {
    fn bce_logits(logits: FlexTensor, targets: FlexTensor) -> FlexTensor {
        Self::bce_logits_keep(logits, targets).0
    }
}

impl LossGrads for Flex {
    /// The loss and σ(logits).
    fn bce_logits_keep(logits: FlexTensor, targets: FlexTensor) -> (FlexTensor, FlexTensor) {
        let (logits, targets) = (contiguous_f32(&logits), contiguous_f32(&targets));
        let (loss, sigma) = bce_logits_forward(slice(&logits), slice(&targets));
        let shape = burn::backend::TensorMetadata::shape(&logits);
        (FlexTensor::from_data(TensorData::new(vec![loss], [1])), FlexTensor::from_data(TensorData::new(sigma, shape)))
    }

    fn bce_logits_grad(sigma: FlexTensor, targets: FlexTensor, grad: FlexTensor) -> FlexTensor {
        let (sigma, targets, grad) = (contiguous_f32(&sigma), contiguous_f32(&targets), contiguous_f32(&grad));
        let shape = burn::backend::TensorMetadata::shape(&sigma);
        FlexTensor::from_data(TensorData::new(
            bce_logits_backward(slice(&sigma), slice(&targets), slice(&grad)[0]),
            shape,
        ))
    }
}

/// The bias gradient of a layer from its output gradient ([batch, c_out, h, w]), where no
/// [`layer_grads`] sums it.
fn bias_of(grad: &FlexTensor, batch: usize, c_out: usize) -> Vec<f32> {
    let [.., gh, gw] = dims4(grad);
    bias_grad(slice(grad), batch, c_out, gh * gw)
}

fn tensor_1d(values: Vec<f32>) -> FlexTensor {
    let n = values.len();
    FlexTensor::from_data(TensorData::new(values, [n]))
}
