//! Per-op profile of one train step (batch 64): median milliseconds of each layer's forward pass
//! and of its forward + backward (burn autodiff), so that speed work starts from where the time
//! goes. `cargo bench --bench ops` on the CPU (flex); with `BENCH_BACKEND=vulkan` in a build with
//! `--features webgpu` or `vulkan`, on burn-wgpu over Vulkan. `BENCH_RUNS` (default 20) sets the
//! runs, `BENCH_ONLY` a part of the names of the rows to time; every call ends by waiting for the
//! device to finish.
//! The rows add up to roughly one train step; the rest is Adam and the loss. Rows in parentheses
//! (not summed) time parts of a row alone, or burn's own op where the model now runs
//! `mnist_dae::ops`.

use std::time::Instant;

use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::prelude::*;
use burn::tensor::activation::leaky_relu;
use burn::tensor::module::{conv_transpose2d, conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, MaxPoolOptions};
use mnist_dae::cpu_device;
use mnist_dae::ops;

/// The model's layer configurations, to carry the weights under test.
fn conv_layer(cin: usize, cout: usize) -> Conv2d {
    Conv2dConfig::new([cin, cout], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&cpu_device())
}

fn up_layer() -> ConvTranspose2d {
    ConvTranspose2dConfig::new([32, 32], [3, 3])
        .with_stride([2, 2])
        .with_padding([1, 1])
        .with_padding_out([1, 1])
        .init(&cpu_device())
}

/// [`up_layer`] with the weight and bias under test.
fn up_layer_with(weight: Tensor<4>, bias: Option<Tensor<1>>) -> ConvTranspose2d {
    ConvTranspose2d { weight: Param::from_tensor(weight), bias: bias.map(Param::from_tensor), ..up_layer() }
}

// As in the trainer binary: see Cargo.toml's note on mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 64;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn time(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

/// Reads one value of `t` back: on a GPU, waits for the work that made it.
/// Waits for the device to finish the work that made `t` (and everything queued before).
fn wait(t: Tensor<4>) {
    t.device().sync().expect("the device finishes its work");
    std::hint::black_box(t);
}

fn random(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::random(shape, burn::tensor::Distribution::Uniform(-0.5, 0.5), device)
}

/// What the model runs in the same op after a convolution: nothing, leaky ReLU
/// (`ops::conv3x3_leaky`), or leaky ReLU and 2 × 2 max-pooling (`ops::conv3x3_leaky_pool`).
#[derive(Clone, Copy)]
enum Then {
    Nothing,
    Leaky,
    LeakyPool,
}

/// One layer of the model as a function of its input and weight.
#[derive(Clone, Copy)]
enum Op {
    Conv {
        cin: usize,
        cout: usize,
        side: usize,
        then: Then,
    },
    ConvT {
        side: usize,
    },
    /// A transposed convolution then a 32 → 1 convolution, as the model runs `up2` and `out`: one
    /// op on the CPU (`ops::up_conv3x3_out`); the weight and bias are the transposed one's.
    UpOut {
        side: usize,
    },
    /// burn's own `conv2d` / `conv_transpose2d` (and their autodiff), which the model no longer
    /// uses on the CPU.
    BurnConv {
        cin: usize,
        cout: usize,
        side: usize,
    },
    BurnConvT {
        side: usize,
    },
    Pool {
        side: usize,
    },
    Lrelu {
        side: usize,
    },
    /// burn's own `max_pool2d`, which the model no longer uses on the CPU.
    BurnPool {
        side: usize,
    },
    /// burn's own `leaky_relu` (compare, scale, mask_where), which the model no longer uses.
    BurnLrelu {
        side: usize,
    },
    /// Nothing: what the timing itself costs (the sum, its backward pass, the wait).
    Identity {
        side: usize,
    },
}

impl Op {
    fn input(self) -> [usize; 4] {
        match self {
            Op::Conv { cin, side, .. } | Op::BurnConv { cin, side, .. } => [BATCH, cin, side, side],
            Op::ConvT { side }
            | Op::UpOut { side }
            | Op::BurnConvT { side }
            | Op::Pool { side }
            | Op::BurnPool { side }
            | Op::Lrelu { side }
            | Op::BurnLrelu { side }
            | Op::Identity { side } => [BATCH, 32, side, side],
        }
    }

    fn weight(self) -> Option<[usize; 4]> {
        match self {
            Op::Conv { cin, cout, .. } | Op::BurnConv { cin, cout, .. } => Some([cout, cin, 3, 3]),
            Op::ConvT { .. } | Op::UpOut { .. } | Op::BurnConvT { .. } => Some([32, 32, 3, 3]),
            _ => None,
        }
    }

    /// Bias length: the output channels (a transposed conv's weight is [in, out, k, k]).
    fn bias(self) -> Option<usize> {
        match self {
            Op::Conv { cout, .. } | Op::BurnConv { cout, .. } => Some(cout),
            Op::ConvT { .. } | Op::UpOut { .. } | Op::BurnConvT { .. } => Some(32),
            _ => None,
        }
    }

    fn apply(self, x: Tensor<4>, w: Option<Tensor<4>>, b: Option<Tensor<1>>) -> Tensor<4> {
        match self {
            // As the model runs them on the CPU: through `mnist_dae::ops`.
            Op::Conv { cin, cout, then, .. } => {
                let conv = Conv2d {
                    weight: Param::from_tensor(w.unwrap()),
                    bias: b.map(Param::from_tensor),
                    ..conv_layer(cin, cout)
                };
                match then {
                    Then::Nothing => ops::conv3x3(&conv, x),
                    Then::Leaky => ops::conv3x3_leaky(&conv, x, 0.1),
                    Then::LeakyPool => ops::conv3x3_leaky_pool(&conv, x, 0.1),
                }
            }
            Op::ConvT { .. } => ops::up_conv3x3(&up_layer_with(w.unwrap(), b), x),
            Op::UpOut { .. } => {
                let up = up_layer_with(w.unwrap(), b);
                // On the input's device: off the CPU the op runs the two layers one by one.
                let out = Conv2dConfig::new([32, 1], [3, 3])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init(&x.device());
                ops::up_conv3x3_out(&up, &out, x)
            }
            Op::BurnConv { .. } => conv2d(x, w.unwrap(), b, ConvOptions::new([1, 1], [1, 1], [1, 1], 1)),
            Op::BurnConvT { .. } => {
                conv_transpose2d(x, w.unwrap(), b, ConvTransposeOptions::new([2, 2], [1, 1], [1, 1], [1, 1], 1))
            }
            Op::Pool { .. } => ops::max_pool2x2(x),
            Op::BurnPool { .. } => max_pool2d(x, MaxPoolOptions::new([2, 2])),
            Op::Lrelu { .. } => ops::leaky_relu(x, 0.1),
            Op::BurnLrelu { .. } => leaky_relu(x, 0.1),
            Op::Identity { .. } => x,
        }
    }
}

fn main() {
    mnist_dae::backend::keep_freed_memory();
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    // `BENCH_ONLY=up2` times only the rows whose name contains it (to profile one layer).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let plain = match std::env::var("BENCH_BACKEND").as_deref() {
        Ok("cpu") | Err(_) => cpu_device(),
        #[cfg(feature = "webgpu")]
        Ok("vulkan") => {
            let (device, gpu) = mnist_dae::backend::vulkan_device().unwrap_or_else(|e| panic!("{e}"));
            eprintln!("burn-wgpu on Vulkan, adapter {}", gpu.label());
            device
        }
        Ok(other) => {
            panic!("BENCH_BACKEND: expected \"cpu\" or \"vulkan\" (with --features vulkan or webgpu), got {other:?}")
        }
    };
    let grad = plain.clone().autodiff();
    let conv = |cin, cout, side, then| Op::Conv { cin, cout, side, then };
    let layers: [(&str, Op, bool); 18] = [
        ("enc1 conv+lrelu+pool 1→32 @28", conv(1, 32, 28, Then::LeakyPool), false),
        ("enc2 conv+lrelu+pool 32→32 @14", conv(32, 32, 14, Then::LeakyPool), true),
        ("dec1 conv+lrelu 32→32 @7", conv(32, 32, 7, Then::Leaky), true),
        ("up1 convT 7→14", Op::ConvT { side: 7 }, true),
        ("up2 convT 14→28 + out conv 32→1 @28, one op", Op::UpOut { side: 14 }, true),
        // Parts of the rows above, timed alone (not summed); up2 and out one by one, as the
        // GPU backends run them.
        ("(up2 convT 14→28 alone)", Op::ConvT { side: 14 }, true),
        ("(out conv 32→1 @28 alone)", conv(32, 1, 28, Then::Nothing), true),
        ("(enc1's conv alone)", conv(1, 32, 28, Then::Nothing), false),
        ("(enc2's conv alone)", conv(32, 32, 14, Then::Nothing), true),
        ("(lrelu @28×32)", Op::Lrelu { side: 28 }, true),
        ("(pool 28→14)", Op::Pool { side: 28 }, true),
        // Not in the model on the CPU: what these rows cost before mnist-dae's own ops (not summed).
        ("(burn's leaky_relu @28×32)", Op::BurnLrelu { side: 28 }, true),
        ("(burn's max_pool2d 28→14)", Op::BurnPool { side: 28 }, true),
        ("(burn's conv2d 1→32 @28)", Op::BurnConv { cin: 1, cout: 32, side: 28 }, false),
        ("(burn's conv2d 32→1 @28)", Op::BurnConv { cin: 32, cout: 1, side: 28 }, true),
        ("(burn's conv_transpose2d 14→28)", Op::BurnConvT { side: 14 }, true),
        // What every row above pays for being timed this way, at two sizes (not summed).
        ("(nothing @28×32: sum, its backward, the wait)", Op::Identity { side: 28 }, true),
        ("(nothing @14×32)", Op::Identity { side: 14 }, true),
    ];
    println!("| layer (batch {BATCH}) | forward ms | forward + backward ms | backward ms |");
    println!("|---|---|---|---|");
    let (mut total_f, mut total_fb) = (0.0, 0.0);
    for (name, op, input_grad) in layers.into_iter().filter(|(name, ..)| name.contains(only.as_str())) {
        let params = |device: &Device, grad: bool| {
            let track = |t: Tensor<4>| if grad { t.require_grad() } else { t };
            let x = random(op.input(), device);
            let x = if grad && input_grad { x.require_grad() } else { x };
            let w = op.weight().map(|s| track(random(s, device)));
            let b = op.bias().map(|n| {
                let b = Tensor::<1>::zeros([n], device);
                if grad { b.require_grad() } else { b }
            });
            (x, w, b)
        };
        let (x, w, b) = params(&plain, false);
        let forward = time(runs, || wait(op.apply(x.clone(), w.clone(), b.clone())));
        let (x, w, b) = params(&grad, true);
        let both = time(runs, || {
            let y = op.apply(x.clone(), w.clone(), b.clone());
            let grads = y.sum().backward();
            wait(x.grad(&grads).unwrap_or_else(|| x.clone().inner()));
        });
        // The rows in parentheses are parts of others, or references.
        if !name.starts_with('(') {
            total_f += forward;
            total_fb += both;
        }
        println!("| {name} | {forward:.2} | {both:.2} | {:.2} |", both - forward);
    }
    println!("| **sum** | {total_f:.2} | {total_fb:.2} | {:.2} |", total_fb - total_f);
}
