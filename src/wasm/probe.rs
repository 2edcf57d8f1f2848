//! `probe_webgpu_ops`: burn-wgpu's own kernels timed on the browser's device, for
//! `npm run bench:webgpu`. Compiled only with the feature `webgpu-probe` (the ignored
//! `www/pkg-probe/`), never into a shipped module.

use js_sys::{Object, Reflect};

use crate::model::LayerKind;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// Times burn-wgpu's own kernels on this browser's WebGPU device: each of the model's layers at
/// batch 64, forward and forward + backward (input and weight gradients), and a few single ops
/// (`bench/webgpu-ceiling.mjs` sets the 32 → 32 convolution beside hand-tiled WGSL for the same
/// multiply-adds). Only in the probe build (`scripts/bench-webgpu.sh`, feature `webgpu-probe`),
/// never in a shipped module. Resolves to `{ name: median ms }` over `reps` calls after one
/// warm-up call; each call ends with one-element readbacks of its results, which wait for the queue.
#[wasm_bindgen(unchecked_return_type = "Promise<Record<string, number>>")]
pub fn probe_webgpu_ops(reps: u32) -> js_sys::Promise {
    use burn::tensor::module::{conv_transpose2d, conv2d, max_pool2d};
    use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, MaxPoolOptions};
    use burn::tensor::{Distribution, Tensor};
    async fn wait<const D: usize>(t: Tensor<D>) {
        t.flatten::<1>(0, D - 1).slice(0..1).into_data_async().await.expect("probe_webgpu_ops: a readback failed");
    }
    async fn median<F: std::future::Future<Output = ()>>(reps: u32, f: impl Fn() -> F) -> f64 {
        f().await;
        let mut ms = Vec::new();
        for _ in 0..reps.max(1) {
            let start = js_sys::Date::now();
            f().await;
            ms.push(js_sys::Date::now() - start);
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
        let layer = |x: Tensor<4>, w: Tensor<4>, b: Tensor<1>, transposed: bool| {
            if transposed { conv_transpose2d(x, w, Some(b), up.clone()) } else { conv2d(x, w, Some(b), conv.clone()) }
        };
        for l in crate::model::layers(32) {
            let transposed = l.kind == LayerKind::ConvTranspose;
            let (c_in, c_out, side) = (l.c_in, l.c_out, l.side);
            let name = if transposed {
                format!("{} conv-transpose {side}→{}", l.name, 2 * side)
            } else {
                format!("{} conv {c_in}→{c_out} @{side}", l.name)
            };
            let x = random([64, c_in, side, side]);
            let w = random(l.weight_shape());
            let b = Tensor::<1>::random([c_out], Distribution::Default, &d);
            set(
                &format!("{name}: forward"),
                median(reps, || wait(layer(x.clone(), w.clone(), b.clone(), transposed))).await,
            )?;
            let (xa, wa, ba) = (x.autodiff().require_grad(), w.autodiff().require_grad(), b.autodiff().require_grad());
            let both = || async {
                let grads = layer(xa.clone(), wa.clone(), ba.clone(), transposed).sum().backward();
                for g in [xa.grad(&grads), wa.grad(&grads)].into_iter().flatten() {
                    wait(g).await;
                }
            };
            set(&format!("{name}: forward + backward"), median(reps, both).await)?;
        }
        let x = random([64, 32, 28, 28]);
        let xa = x.clone().autodiff().require_grad();
        let pool = MaxPoolOptions::new([2, 2]);
        let pooled = || async {
            let grads = max_pool2d(xa.clone(), pool.clone()).sum().backward();
            wait(xa.grad(&grads).expect("probe_webgpu_ops: x requires a gradient")).await;
        };
        set("max-pool 28→14: forward + backward", median(reps, pooled).await)?;
        let leaky = || async {
            let grads = crate::ops::leaky(xa.clone(), 0.1).sum().backward();
            wait(xa.grad(&grads).expect("probe_webgpu_ops: x requires a gradient")).await;
        };
        set("leaky ReLU @28 × 32 (ops::leaky): forward + backward", median(reps, leaky).await)?;
        set("x · 2 + 1 on [64, 32, 28, 28]", median(reps, || wait(x.clone() * 2.0 + 1.0)).await)?;
        // One 32 → 32 convolution at 28 × 28, 2 · 64 · 784 · 32 · 288 = 0.925 GFLOP: as burn's
        // direct convolution, and as one im2col GEMM [64 · 784, 288] × [288, 32] through burn's
        // matmul (what bench/webgpu-ceiling.html runs as hand-tiled WGSL).
        let w = random([32, 32, 3, 3]);
        let b = Tensor::<1>::random([32], Distribution::Default, &d);
        set(
            "conv 32→32 @28 (0.925 GFLOP): forward",
            median(reps, || wait(conv2d(x.clone(), w.clone(), Some(b.clone()), conv.clone()))).await,
        )?;
        let lhs = Tensor::<2>::random([64 * 784, 288], Distribution::Default, &d);
        let rhs = Tensor::<2>::random([288, 32], Distribution::Default, &d);
        set(
            "matmul [50176, 288] × [288, 32] (0.925 GFLOP)",
            median(reps, || wait(lhs.clone().matmul(rhs.clone()))).await,
        )?;
        Ok(results.into())
    })
}
