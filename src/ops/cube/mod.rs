//! cube: the model's kernels for burn's cubecl backend (burn-wgpu: WebGPU in the browser, Vulkan
//! natively), written in CubeCL, one file per op family, and `impl DaeKernels for Cube` and
//! [`DaeGrads`] for it, which launch them on contiguous f32 tensors.
//!
//! Why: without `autotune` (which cannot run in a browser, see `docs/benchmarks.md`) burn-cubecl
//! runs every convolution and its gradients as a direct convolution, one output per invocation
//! looping over c_in · 9 taps, and its gradients through further general kernels. These kernels
//! are implicit GEMMs for this model's shapes: workgroup tiles staged in workgroup memory, a
//! register tile per invocation, sized for the adapter ([`Profile`]).

use std::sync::atomic::{AtomicBool, Ordering};

use burn::backend::Cube;
use burn::tensor::{DType, Shape};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use self::activation::{leaky_backward_kernel, leaky_kernel};
use self::adam::adam_kernel;
use self::conv::{ConvShape, conv3x3_kernel, flip_kernel};
use self::conv_transpose::{UpShape, up_conv3x3_kernel};
use self::pool::{max_pool_backward_kernel, max_pool_kernel};
use self::weight_grad::{GradShape, SUM_UNITS, channel_sum_kernel, sum_images_kernel, weight_grad_kernel};
use super::adam::AdamStepLaunch;
use super::{AdamStep, DaeGrads, DaeKernels, LayerGrads};

mod activation;
mod adam;
mod conv;
mod conv_transpose;
mod pool;
mod stage;
mod weight_grad;

/// What the kernels' tiles are sized for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// A CPU renderer (SwiftShader, lavapipe): long register tiles.
    Software,
    /// A GPU: small register tiles, more invocations.
    Gpu,
}

static SOFTWARE: AtomicBool = AtomicBool::new(false);

/// Workgroup memory WebGPU guarantees (`maxComputeWorkgroupStorageSize`, 16 KiB), in floats.
const SHARED_FLOATS: usize = 16384 / 4;
/// Invocations per workgroup WebGPU guarantees (`maxComputeInvocationsPerWorkgroup`).
const MAX_UNITS: usize = 256;

/// Sizes the kernels' tiles for a software adapter (`true`) or a GPU, from the next launch on:
/// called by whoever creates the device, which knows the adapter ([`crate::backend::GpuInfo`]).
pub fn set_software_adapter(software: bool) {
    SOFTWARE.store(software, Ordering::Relaxed);
}

fn profile() -> Profile {
    if SOFTWARE.load(Ordering::Relaxed) { Profile::Software } else { Profile::Gpu }
}

/// `acc + a·b`. Where `fused` (GPUs), as the fused multiply-add cubecl makes of it. Otherwise a
/// multiply and an add, as written: cubecl's WGSL compiler turns every product whose only use is
/// an addition into `fma`, which SwiftShader runs ≈ 25 % slower than the two instructions
/// (`docs/benchmarks.md`); a second use of the product, dropped as dead code after that pass,
/// keeps them apart.
#[cube]
pub(crate) fn mac(acc: f32, a: f32, b: f32, #[comptime] fused: bool) -> f32 {
    let p = a * b;
    if !fused {
        let _kept = p + 0.0;
    }
    acc + p
}

/// The largest divisor of `n` that is at most `max` (≥ 1): a tile extent that splits `n` evenly.
fn divisor_at_most(n: usize, max: usize) -> usize {
    (1..=max.min(n)).rev().find(|d| n.is_multiple_of(*d)).unwrap_or(1)
}

fn contiguous_f32(t: CubeTensor) -> CubeTensor {
    assert_eq!(t.dtype, DType::F32, "the model's cubecl kernels are written for f32 tensors");
    into_contiguous(t)
}

fn dims4(t: &CubeTensor) -> [usize; 4] {
    let shape = t.meta.shape();
    assert_eq!(shape.num_dims(), 4, "expected a rank-4 tensor, got shape {shape:?}");
    [shape[0], shape[1], shape[2], shape[3]]
}

/// A new contiguous f32 tensor of `shape` on `like`'s device, its contents unset.
fn empty(like: &CubeTensor, shape: &[usize]) -> CubeTensor {
    empty_device_contiguous_dtype(like.client.clone(), like.device.clone(), Shape::from(shape.to_vec()), DType::F32)
}

fn arg(t: &CubeTensor) -> BufferArg {
    t.clone().into_buffer_arg()
}

/// The gathering convolution ([`conv3x3_kernel`]) of `x` with `weight` ([c_out, c_in, 3, 3]) and
/// `bias` (zeros without one), with leaky ReLU of slope `leaky` applied to the sums if given.
fn gather_conv(
    x: &CubeTensor,
    weight: &CubeTensor,
    bias: Option<&CubeTensor>,
    shape: ConvShape,
    leaky: Option<f32>,
) -> CubeTensor {
    let batch = dims4(x)[0];
    let out = empty(x, &[batch, shape.c_out, shape.side_out, shape.side_out]);
    let zeros;
    let bias = match bias {
        Some(b) => b,
        None => {
            zeros = burn_cubecl::ops::numeric::zeros(x.device.clone(), Shape::from(vec![shape.c_out]), DType::F32);
            &zeros
        }
    };
    let tile = shape.tile(profile());
    // SAFETY: every index the kernel computes is inside its buffers for the shapes checked by
    // the callers and the tile checked by `ConvShape::tile`.
    unsafe {
        conv3x3_kernel::launch_unchecked(
            &x.client,
            CubeCount::Static(shape.workgroups(&tile, batch) as u32, 1, 1),
            CubeDim::new_1d(shape.units(&tile) as u32),
            arg(x),
            arg(weight),
            arg(bias),
            arg(&out),
            leaky.unwrap_or(1.0),
            shape,
            tile,
        )
    };
    out
}

/// A 3 × 3, stride-1 convolution with zero padding 1 of `x` ([batch, c_in, side, side]), with
/// leaky ReLU of slope `leaky` if given.
fn same_conv(x: CubeTensor, weight: CubeTensor, bias: CubeTensor, leaky: Option<f32>) -> CubeTensor {
    let (x, weight, bias) = (contiguous_f32(x), contiguous_f32(weight), contiguous_f32(bias));
    let [_, c_in, s, s2] = dims4(&x);
    let [c_out, wc_in, kh, kw] = dims4(&weight);
    assert!(c_in == wc_in && [kh, kw] == [3, 3] && s == s2, "conv3x3: x {:?}, weight {:?}", dims4(&x), dims4(&weight));
    let shape = ConvShape { c_in, c_out, side_in: s, side_out: s, stride: 1 };
    gather_conv(&x, &weight, Some(&bias), shape, leaky)
}

/// A convolution's weight [c_out, c_in, 3, 3] as its input gradient reads it: [c_in, c_out, 3, 3],
/// the kernel turned by 180°.
fn flipped(weight: &CubeTensor) -> CubeTensor {
    let [c_out, c_in, ..] = dims4(weight);
    let out = empty(weight, &[c_in, c_out, 3, 3]);
    let (count, dim) = elementwise(&weight.client, c_in * c_out * 9);
    // SAFETY: the kernel checks its position against the weight's length.
    unsafe {
        flip_kernel::launch_unchecked(&weight.client, count, dim, arg(weight), arg(&out), c_in as u32, c_out as u32)
    };
    out
}

/// A weight gradient ([`GradShape`]) over `batch` images: one partial per image, then their sum.
fn weight_grad(a: &CubeTensor, b: &CubeTensor, shape: GradShape, batch: usize) -> CubeTensor {
    let tile = shape.tile(profile());
    let len = shape.a_channels * shape.b_channels * 9;
    let partial = empty(a, &[batch, len]);
    // SAFETY: `GradShape::tile` and the callers' shape checks keep every index in bounds.
    unsafe {
        weight_grad_kernel::launch_unchecked(
            &a.client,
            CubeCount::Static((batch * tile.groups) as u32, 1, 1),
            CubeDim::new_1d(shape.units(&tile) as u32),
            arg(a),
            arg(b),
            arg(&partial),
            shape,
            tile,
        )
    };
    let out = empty(a, &[shape.a_channels, shape.b_channels, 3, 3]);
    let dim = CubeDim::new_1d(64);
    // SAFETY: the kernel checks its position against `len`.
    unsafe {
        sum_images_kernel::launch_unchecked(
            &a.client,
            cubecl::calculate_cube_count_elemwise(&a.client, len, dim),
            dim,
            arg(&partial),
            arg(&out),
            batch as u32,
            len as u32,
        )
    };
    out
}

/// Σ over images and pixels per channel of `t` ([batch, channels, h, w]): a bias gradient.
fn channel_sum(t: &CubeTensor) -> CubeTensor {
    let [batch, channels, h, w] = dims4(t);
    let out = empty(t, &[channels]);
    // SAFETY: one workgroup per channel, every read inside `t`.
    unsafe {
        channel_sum_kernel::launch_unchecked(
            &t.client,
            CubeCount::Static(channels as u32, 1, 1),
            CubeDim::new_1d(SUM_UNITS as u32),
            arg(t),
            arg(&out),
            batch as u32,
            channels as u32,
            (h * w) as u32,
        )
    };
    out
}

/// The vector width an elementwise kernel reads `t` in (4 where its length allows, else 1) and
/// how many vectors that makes.
fn vectors(t: &CubeTensor) -> (usize, usize) {
    let len = t.meta.shape().num_elements();
    let width = if len.is_multiple_of(4) { 4 } else { 1 };
    (width, len / width)
}

/// An elementwise launch over `len` elements: the cube count and dimension.
fn elementwise(client: &cubecl::client::Client, len: usize) -> (CubeCount, CubeDim) {
    let dim = CubeDim::new_1d(256);
    (cubecl::calculate_cube_count_elemwise(client, len, dim), dim)
}

impl DaeKernels for Cube {
    fn conv3x3(x: CubeTensor, weight: CubeTensor, bias: CubeTensor) -> CubeTensor {
        same_conv(x, weight, bias, None)
    }

    fn conv3x3_leaky(x: CubeTensor, weight: CubeTensor, bias: CubeTensor, slope: f32) -> CubeTensor {
        same_conv(x, weight, bias, Some(slope))
    }

    fn up_conv3x3(x: CubeTensor, weight: CubeTensor, bias: CubeTensor) -> CubeTensor {
        let (x, weight, bias) = (contiguous_f32(x), contiguous_f32(weight), contiguous_f32(bias));
        let [batch, c_in, s, s2] = dims4(&x);
        let [wc_in, c_out, kh, kw] = dims4(&weight);
        assert!(
            c_in == wc_in && [kh, kw] == [3, 3] && s == s2,
            "up_conv3x3: x {:?}, weight {:?}",
            dims4(&x),
            dims4(&weight)
        );
        let shape = UpShape { c_in, c_out, side: s };
        let tile = shape.tile(profile());
        let out = empty(&x, &[batch, c_out, 2 * s, 2 * s]);
        // SAFETY: the shapes are checked above and the tile by `UpShape::tile`.
        unsafe {
            up_conv3x3_kernel::launch_unchecked(
                &x.client,
                CubeCount::Static(shape.workgroups(&tile, batch) as u32, 1, 1),
                CubeDim::new_1d(shape.units(&tile) as u32),
                arg(&x),
                arg(&weight),
                arg(&bias),
                arg(&out),
                shape,
                tile,
            )
        };
        out
    }

    fn leaky_relu(x: CubeTensor, slope: f32) -> CubeTensor {
        let x = contiguous_f32(x);
        let out = empty(&x, x.meta.shape());
        let (vector, len) = vectors(&x);
        let (count, dim) = elementwise(&x.client, len);
        // SAFETY: the kernel checks its position against `len` vectors of `x` and `out`.
        unsafe { leaky_kernel::launch_unchecked(&x.client, count, dim, vector, arg(&x), arg(&out), slope, len as u32) };
        out
    }

    fn adam_step(
        param: CubeTensor,
        grad: CubeTensor,
        moment_1: CubeTensor,
        moment_2: CubeTensor,
        s: AdamStep,
    ) -> (CubeTensor, CubeTensor, CubeTensor) {
        let [param, grad, moment_1, moment_2] = [param, grad, moment_1, moment_2].map(contiguous_f32);
        let shape = param.meta.shape().clone();
        let len = shape.num_elements();
        assert!(
            [&grad, &moment_1, &moment_2].iter().all(|t| t.meta.shape().num_elements() == len),
            "adam_step: parameter, gradient and moments of one length expected"
        );
        let [p, m, v] = [(); 3].map(|_| empty(&param, &shape));
        let (vector, vectors) = vectors(&param);
        let (count, dim) = elementwise(&param.client, vectors);
        let scalars = AdamStepLaunch::new(
            s.beta_1,
            s.beta_2,
            s.one_minus_beta_1,
            s.one_minus_beta_2,
            s.correction,
            s.epsilon,
            s.learning_rate,
        );
        // SAFETY: the kernel checks its position against `vectors`; all seven buffers have
        // `param`'s length.
        unsafe {
            adam_kernel::launch_unchecked(
                &param.client,
                count,
                dim,
                vector,
                arg(&param),
                arg(&grad),
                arg(&moment_1),
                arg(&moment_2),
                arg(&p),
                arg(&m),
                arg(&v),
                scalars,
                vectors as u32,
            )
        };
        (p, m, v)
    }

    fn max_pool2x2(x: CubeTensor) -> CubeTensor {
        let x = contiguous_f32(x);
        let [b, c, h, w] = dims4(&x);
        assert!(h % 2 == 0 && w % 2 == 0, "max_pool2x2: even sides expected, got {h} × {w}");
        let out = empty(&x, &[b, c, h / 2, w / 2]);
        let rows = b * c * h / 2;
        let (count, dim) = elementwise(&x.client, rows);
        // SAFETY: the kernel checks its position against `rows`.
        unsafe { max_pool_kernel::launch_unchecked(&x.client, count, dim, arg(&x), arg(&out), w, rows as u32) };
        out
    }
}

impl DaeGrads for Cube {
    fn conv3x3_grads(
        x: CubeTensor,
        weight: CubeTensor,
        grad: CubeTensor,
        x_grad: bool,
        w_grad: bool,
    ) -> LayerGrads<Self> {
        let (x, weight, grad) = (contiguous_f32(x), contiguous_f32(weight), contiguous_f32(grad));
        let [batch, c_in, s, _] = dims4(&x);
        let c_out = dims4(&weight)[0];
        let dx = x_grad.then(|| {
            let shape = ConvShape { c_in: c_out, c_out: c_in, side_in: s, side_out: s, stride: 1 };
            gather_conv(&grad, &flipped(&weight), None, shape, None)
        });
        let dw = w_grad.then(|| {
            if c_out == 1 && c_in > 1 {
                // grad[0, j, t] = Σ_p g[p] · x[j, p + tap t] = Σ_q x[j, q] · g[q + tap (8 − t)]:
                // the weight gradient with the two sides swapped, then turned by 180°, which has
                // the shape of `enc1`'s (one channel on the windowed side) and its shader.
                let shape = GradShape { a_channels: c_in, b_channels: 1, side: s, stride: 1 };
                flipped(&weight_grad(&x, &grad, shape, batch))
            } else {
                let shape = GradShape { a_channels: c_out, b_channels: c_in, side: s, stride: 1 };
                weight_grad(&grad, &x, shape, batch)
            }
        });
        LayerGrads { x: dx, weight: dw, bias: channel_sum(&grad) }
    }

    fn up_conv3x3_grads(
        x: CubeTensor,
        weight: CubeTensor,
        grad: CubeTensor,
        x_grad: bool,
        w_grad: bool,
    ) -> LayerGrads<Self> {
        let (x, weight, grad) = (contiguous_f32(x), contiguous_f32(weight), contiguous_f32(grad));
        let [batch, c_in, s, _] = dims4(&x);
        let c_out = dims4(&weight)[1];
        let dx = x_grad.then(|| {
            let shape = ConvShape { c_in: c_out, c_out: c_in, side_in: 2 * s, side_out: s, stride: 2 };
            gather_conv(&grad, &weight, None, shape, None)
        });
        let dw = w_grad.then(|| {
            let shape = GradShape { a_channels: c_in, b_channels: c_out, side: s, stride: 2 };
            weight_grad(&x, &grad, shape, batch)
        });
        LayerGrads { x: dx, weight: dw, bias: channel_sum(&grad) }
    }

    fn leaky_relu_grad(x: CubeTensor, grad: CubeTensor, slope: f32) -> CubeTensor {
        let (x, grad) = (contiguous_f32(x), contiguous_f32(grad));
        let out = empty(&x, x.meta.shape());
        let (vector, len) = vectors(&x);
        let (count, dim) = elementwise(&x.client, len);
        // SAFETY: the kernel checks its position against `len` vectors; `grad` has `x`'s shape.
        unsafe {
            leaky_backward_kernel::launch_unchecked(
                &x.client,
                count,
                dim,
                vector,
                arg(&x),
                arg(&grad),
                arg(&out),
                slope,
                len as u32,
            )
        };
        out
    }

    fn max_pool2x2_grad(x: CubeTensor, grad: CubeTensor) -> CubeTensor {
        let (x, grad) = (contiguous_f32(x), contiguous_f32(grad));
        let [b, c, h, w] = dims4(&x);
        let out = empty(&x, &[b, c, h, w]);
        let rows = b * c * h / 2;
        let (count, dim) = elementwise(&x.client, rows);
        // SAFETY: the kernel checks its position against `rows`; `grad` is the pooled shape.
        unsafe {
            max_pool_backward_kernel::launch_unchecked(
                &x.client,
                count,
                dim,
                arg(&x),
                arg(&grad),
                arg(&out),
                w,
                rows as u32,
            )
        };
        out
    }
}
