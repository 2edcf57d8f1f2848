//! `probe_webgpu_ops`: the model's kernels and burn-wgpu's timed on the browser's device, for
//! `npm run bench:webgpu`. Compiled only with the feature `webgpu-probe` (the ignored
//! `www/pkg-probe/`), never into a shipped module.

use js_sys::{Object, Reflect};

use crate::model::LayerKind;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// Times the model's kernels on this browser's WebGPU device, this crate's (`ops`, what the model
/// runs) beside burn-wgpu's own for the same layer: each of the model's layers at batch 64,
/// forward and forward + backward (input and weight gradients), pooling and leaky ReLU, and one
/// 32 → 32 convolution as burn's direct kernel and as an im2col GEMM (`bench/webgpu-ceiling.mjs`
/// sets it beside hand-tiled WGSL for the same multiply-adds). Only in the probe build
/// (`scripts/bench-webgpu.sh`, feature `webgpu-probe`), never in a shipped module. Resolves to
/// `{ name: median ms }` over `reps` measurements after one warm-up call, each the marginal time of
/// a call (see `median`); a measurement waits by reading back the sum of the last result, which
/// waits for everything that made it.
#[wasm_bindgen(unchecked_return_type = "Promise<Record<string, number>>")]
pub fn probe_webgpu_ops(reps: u32) -> js_sys::Promise {
    use burn::module::Param;
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
    use burn::tensor::module::{conv_transpose2d, conv2d, max_pool2d};
    use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, MaxPoolOptions};
    use burn::tensor::{Distribution, Tensor};
    async fn wait<const D: usize>(t: Tensor<D>) {
        t.sum().into_data_async().await.expect("probe_webgpu_ops: a readback failed");
    }
    /// `f`'s result after calling it `calls` times (at least once): the kernels of every call are
    /// queued, and the last result is what a wait reads.
    fn repeat<T>(calls: usize, mut f: impl FnMut() -> T) -> T {
        let mut last = f();
        for _ in 1..calls {
            last = f();
        }
        last
    }
    /// Median ms of one call of `f(calls)`, which queues `calls` calls and waits for the last: the
    /// time of 5 calls less that of 1, over 4, so that the wait itself is not counted.
    async fn median<F: std::future::Future<Output = ()>>(reps: u32, f: impl Fn(usize) -> F) -> f64 {
        f(1).await;
        let mut ms = Vec::new();
        for _ in 0..reps.max(1) {
            let start = js_sys::Date::now();
            f(1).await;
            let one = js_sys::Date::now() - start;
            let start = js_sys::Date::now();
            f(5).await;
            ms.push((js_sys::Date::now() - start - one) / 4.0);
        }
        ms.sort_by(f64::total_cmp);
        ms[ms.len() / 2]
    }
    future_to_promise(async move {
        let d = super::gpu::webgpu_device().await.map_err(super::js_error)?;
        let random = |shape: [usize; 4]| Tensor::<4>::random(shape, Distribution::Default, &d);
        let results = Object::new();
        let set = |name: &str, ms: f64| Reflect::set(&results, &name.into(), &ms.into()).map(|_| ());
        let conv = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let up = ConvTransposeOptions::new([2, 2], [1, 1], [1, 1], [1, 1], 1);
        // The layer as burn computes it, and as the model does (`ops`).
        let layer = |x: Tensor<4>, w: Tensor<4>, b: Tensor<1>, transposed: bool, ours: bool| {
            let device = x.device();
            match (transposed, ours) {
                (false, false) => conv2d(x, w, Some(b), conv.clone()),
                (true, false) => conv_transpose2d(x, w, Some(b), up.clone()),
                (false, true) => {
                    let [c_out, c_in, ..] = w.dims();
                    let template: Conv2d = Conv2dConfig::new([c_in, c_out], [3, 3])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(&device);
                    let layer = Conv2d { weight: Param::from_tensor(w), bias: Some(Param::from_tensor(b)), ..template };
                    crate::ops::conv3x3(&layer, x)
                }
                (true, true) => {
                    let [c_in, c_out, ..] = w.dims();
                    let template: ConvTranspose2d = ConvTranspose2dConfig::new([c_in, c_out], [3, 3])
                        .with_stride([2, 2])
                        .with_padding([1, 1])
                        .with_padding_out([1, 1])
                        .init(&device);
                    let layer = ConvTranspose2d {
                        weight: Param::from_tensor(w),
                        bias: Some(Param::from_tensor(b)),
                        ..template
                    };
                    crate::ops::up_conv3x3(&layer, x)
                }
            }
        };
        // What one small kernel launch costs: 100 scalar multiplies of a 100-element tensor.
        let small = Tensor::<1>::random([100], Distribution::Default, &d);
        let launches = |calls: usize| {
            let mut t = small.clone();
            for _ in 0..calls * 100 {
                t = t * 1.0001;
            }
            wait(t)
        };
        set("100 launches of a scalar multiply on 100 floats", median(reps, launches).await)?;
        let start = js_sys::Date::now();
        let mut t = small.clone();
        for _ in 0..100 {
            t = t * 1.0001;
        }
        set("…of which queueing them (page side)", js_sys::Date::now() - start)?;
        wait(t).await;
        // The whole model at batch 64: forward; forward and backward (no optimizer); a train step.
        {
            use crate::model::{Activation, DaeConfig};
            use crate::train::{Trainer, TrainerConfig};
            let images = Tensor::<4>::random([64, 1, 28, 28], Distribution::Uniform(0.0, 1.0), &d);
            let model = DaeConfig::new().init(&d, 0);
            let forward = |calls: usize| wait(repeat(calls, || model.forward_logits(images.clone())));
            set("model forward (batch 64)", median(reps, forward).await)?;
            let ad = d.clone().autodiff();
            let trained = DaeConfig::new().init(&ad, 0);
            let x = images.clone().autodiff();
            let both = |calls: usize| {
                let mut last = None;
                for _ in 0..calls {
                    let loss = crate::metrics::bce_with_logits(trained.forward_logits(x.clone()), x.clone());
                    let grads = loss.backward();
                    last = trained.enc1.weight.grad(&grads);
                }
                wait(last.expect("enc1's weight has a gradient"))
            };
            set("model forward + backward, no optimizer (batch 64)", median(reps, both).await)?;
            let pixels: Vec<f32> = images
                .clone()
                .into_data_async()
                .await
                .map_err(|e| JsValue::from_str(&format!("{e:?}")))?
                .try_to_vec::<f32>()
                .map_err(|e| JsValue::from_str(&format!("{e:?}")))?;
            // Each step reads its loss back, so a step is timed whole, one after another.
            let mut trainer =
                Trainer::new(TrainerConfig::tutorial(Activation::LeakyRelu), &d).map_err(super::js_error)?;
            let mut ms = Vec::new();
            for i in 0..=reps.max(1) {
                let start = js_sys::Date::now();
                trainer.train_step(&pixels, &pixels).await.map_err(super::js_error)?;
                if i > 0 {
                    ms.push(js_sys::Date::now() - start);
                }
            }
            ms.sort_by(f64::total_cmp);
            set("train step, read back (batch 64)", ms[ms.len() / 2])?;
        }
        for l in crate::model::layers(32) {
            let transposed = l.kind == LayerKind::ConvTranspose;
            let (c_in, c_out, side) = (l.c_in, l.c_out, l.side);
            let x = random([64, c_in, side, side]);
            let w = random(l.weight_shape());
            let b = Tensor::<1>::random([c_out], Distribution::Default, &d);
            for ours in [true, false] {
                let who = if ours { "ops" } else { "burn" };
                let name = if transposed {
                    format!("{} conv-transpose {side}→{} ({who})", l.name, 2 * side)
                } else {
                    format!("{} conv {c_in}→{c_out} @{side} ({who})", l.name)
                };
                let forward =
                    |calls: usize| wait(repeat(calls, || layer(x.clone(), w.clone(), b.clone(), transposed, ours)));
                set(&format!("{name}: forward"), median(reps, forward).await)?;
                let (xa, wa, ba) = (
                    x.clone().autodiff().require_grad(),
                    w.clone().autodiff().require_grad(),
                    b.clone().autodiff().require_grad(),
                );
                let both = |calls: usize| {
                    let mut last = None;
                    for _ in 0..calls {
                        let grads = layer(xa.clone(), wa.clone(), ba.clone(), transposed, ours).sum().backward();
                        last = Some((xa.grad(&grads), wa.grad(&grads)));
                    }
                    async move {
                        let (gx, gw) = last.expect("at least one call");
                        for g in [gx, gw].into_iter().flatten() {
                            wait(g).await;
                        }
                    }
                };
                set(&format!("{name}: forward + backward"), median(reps, both).await)?;
            }
        }
        let x = random([64, 32, 28, 28]);
        let xa = x.clone().autodiff().require_grad();
        let grad_of = |y: Tensor<4>, xa: &Tensor<4>| {
            let grads = y.sum().backward();
            xa.grad(&grads).expect("probe_webgpu_ops: x requires a gradient")
        };
        let nothing = |calls: usize| wait(repeat(calls, || grad_of(xa.clone(), &xa)));
        set("nothing @28 × 32 (the sum and its backward): forward + backward", median(reps, nothing).await)?;
        let pool = MaxPoolOptions::new([2, 2]);
        let pooled = |ours: bool| {
            let (xa, pool) = (xa.clone(), pool.clone());
            move |calls: usize| {
                let g = repeat(calls, || {
                    let y =
                        if ours { crate::ops::max_pool2x2(xa.clone()) } else { max_pool2d(xa.clone(), pool.clone()) };
                    grad_of(y, &xa)
                });
                wait(g)
            }
        };
        set("max-pool 28→14 (ops): forward + backward", median(reps, pooled(true)).await)?;
        set("max-pool 28→14 (burn): forward + backward", median(reps, pooled(false)).await)?;
        let leaky = |ours: bool| {
            let xa = xa.clone();
            move |calls: usize| {
                let g = repeat(calls, || {
                    let y =
                        if ours { crate::ops::leaky_relu(xa.clone(), 0.1) } else { crate::ops::leaky(xa.clone(), 0.1) };
                    grad_of(y, &xa)
                });
                wait(g)
            }
        };
        set("leaky ReLU @28 × 32 (ops): forward + backward", median(reps, leaky(true)).await)?;
        set("leaky ReLU @28 × 32 (ops::leaky, composed): forward + backward", median(reps, leaky(false)).await)?;
        let affine = |calls: usize| wait(repeat(calls, || x.clone() * 2.0 + 1.0));
        set("x · 2 + 1 on [64, 32, 28, 28]", median(reps, affine).await)?;
        // One 32 → 32 convolution at 28 × 28, 2 · 64 · 784 · 32 · 288 = 0.925 GFLOP: as burn's
        // direct convolution, ours, and as one im2col GEMM [64 · 784, 288] × [288, 32] through
        // burn's matmul (what bench/webgpu-ceiling.html runs as hand-tiled WGSL).
        let w = random([32, 32, 3, 3]);
        let b = Tensor::<1>::random([32], Distribution::Default, &d);
        for ours in [true, false] {
            let name = format!("conv 32→32 @28 (0.925 GFLOP, {}): forward", if ours { "ops" } else { "burn" });
            let conv = |calls: usize| wait(repeat(calls, || layer(x.clone(), w.clone(), b.clone(), false, ours)));
            set(&name, median(reps, conv).await)?;
        }
        let lhs = Tensor::<2>::random([64 * 784, 288], Distribution::Default, &d);
        let rhs = Tensor::<2>::random([288, 32], Distribution::Default, &d);
        let product = |calls: usize| wait(repeat(calls, || lhs.clone().matmul(rhs.clone())));
        set("matmul [50176, 288] × [288, 32] (0.925 GFLOP)", median(reps, product).await)?;
        Ok(results.into())
    })
}
