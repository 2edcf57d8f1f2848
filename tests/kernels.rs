//! The model's own kernels (`src/ops/`) against burn's ops for the same layers, in values and
//! gradients: on the CPU (flex) always, and on burn-wgpu natively in a build with `webgpu` or
//! `vulkan` where the machine has a Vulkan adapter (a GPU, or Mesa's lavapipe / SwiftShader on the
//! CPU; `npm run test:gpu`). Without an adapter the GPU half prints "skipped" and checks nothing.

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use mnist_dae::{cpu_device, ops};

/// The devices to check: the CPU, and the native GPU device where the build and machine have one,
/// once with each tile profile (`ops::set_software_adapter`): the one for a software adapter and
/// the one for a GPU, whatever adapter this machine has.
fn devices() -> Vec<(&'static str, Device)> {
    #[cfg_attr(not(feature = "webgpu"), allow(unused_mut))]
    let mut out = vec![("cpu", cpu_device())];
    #[cfg(feature = "webgpu")]
    match mnist_dae::backend::vulkan_device() {
        Ok((device, gpu)) => {
            eprintln!("kernels: also on burn-wgpu, adapter {}", gpu.label());
            out.push(("wgpu, software tiles", device.clone()));
            out.push(("wgpu, GPU tiles", device));
        }
        Err(e) => eprintln!("kernels on burn-wgpu: skipped ({e})"),
    }
    out
}

/// Runs `check` on every device of [`devices`], one test at a time on the GPU (the tile profile
/// is process-wide).
fn on_devices(check: impl Fn(&str, Device)) {
    static GPU: std::sync::Mutex<()> = std::sync::Mutex::new(());
    for (name, device) in devices() {
        let _turn = GPU.lock().unwrap_or_else(|e| e.into_inner());
        #[cfg(feature = "webgpu")]
        ops::set_software_adapter(name.contains("software"));
        check(name, device);
    }
}

fn values(t: &Tensor<4>) -> Vec<f32> {
    t.to_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn leaky_is_burns_leaky_relu_bit_for_bit_and_has_its_gradient() {
    on_devices(|name, device| {
        // Both forms the model uses: `ops::leaky` (composed ops) and the one-pass kernel.
        for fused in [false, true] {
            check_leaky(name, &device.clone().autodiff(), fused);
        }
    });
}

fn check_leaky(name: &str, device: &Device, fused: bool) {
    use burn::tensor::activation::leaky_relu;
    use mnist_dae::ops::leaky;
    // Both signs, zero, tiny and large magnitudes.
    let mut values: Vec<f32> = (0..4000).map(|i| ((i as f32) * 0.7311).sin() * 10f32.powi(i % 7 - 3)).collect();
    values.extend([0.0, -0.0, 1e-30, -1e-30, 3.0e38, -3.0e38]);
    let n = values.len();
    let input = || Tensor::<1>::from_floats(values.as_slice(), device).reshape([1, 1, 1, n]).require_grad();
    let (a, b) = (input(), input());
    let ours = if fused { ops::leaky_relu(a.clone(), 0.1) } else { leaky(a.clone(), 0.1) };
    let burns = leaky_relu(b.clone(), 0.1);
    let (yo, yb) = (self::values(&ours), self::values(&burns));
    // The tensor given to the op and its copies keep their values (the CPU kernel works in
    // place where it holds its storage alone; here the storage is shared with `a`).
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    let kept = bits(values.clone());
    assert_eq!(bits(self::values(&a)), kept, "{name}: leaky ReLU changed its input (fused {fused})");
    let plain = Tensor::<1>::from_floats(values.as_slice(), device).reshape([1, 1, 1, n]);
    let _ = ops::leaky_relu(plain.clone(), 0.1);
    assert_eq!(bits(self::values(&plain)), kept, "{name}: leaky ReLU changed a copy of its input");
    // Subnormal products may flush to zero on a GPU: compare those as zeros.
    let same = |p: f32, q: f32| p.to_bits() == q.to_bits() || (p.abs() < 1e-37 && q.abs() < 1e-37);
    assert!(yo.iter().zip(&yb).all(|(p, q)| same(*p, *q)), "{name}: forward values differ (fused {fused})");
    // d/dx of Σ w·f(x) with varied w: 1·w for x > 0, 0.1·w for x < 0, to rounding. At exactly 0
    // ours takes the slope, as TensorFlow's LeakyReluGrad does (features > 0 ? 1 : alpha); burn's
    // mask takes 1.
    let w =
        Tensor::<1>::from_floats(values.iter().map(|v| 1.0 + v.abs().min(2.0)).collect::<Vec<_>>().as_slice(), device)
            .reshape([1, 1, 1, n]);
    let (go, gb) = ((ours * w.clone()).sum().backward(), (burns * w).sum().backward());
    let (go, gb) = (self::values(&a.grad(&go).unwrap()), self::values(&b.grad(&gb).unwrap()));
    for (i, (p, q)) in go.iter().zip(&gb).enumerate() {
        let q = &if values[i] == 0.0 { q * 0.1 } else { *q };
        assert!((p - q).abs() <= 1e-6 * q.abs().max(1e-3), "{name}: gradient at {i} (x = {}): {p} vs {q}", values[i]);
    }
}

/// Largest |a − b| relative to the largest |b| (1 when both are all zeros).
fn rel_diff(a: &Tensor<4>, b: &Tensor<4>) -> f32 {
    let (a, b) = (values(a), values(b));
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    a.iter().zip(&b).fold(0f32, |m, (p, q)| m.max((p - q).abs())) / scale
}

/// `ours` and `burns` are the same layer applied to `x` (with `weight` and `bias` as its
/// parameters): their values, and the gradients of x, weight and bias of a weighted sum of them,
/// agree within 1e-5 (relative to the largest magnitude).
fn assert_same_layer(
    case: &str,
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: &Tensor<1>,
    ours: Tensor<4>,
    burns: Tensor<4>,
) {
    assert_eq!(ours.dims(), burns.dims(), "output shape {case}");
    assert!(rel_diff(&ours, &burns) < 1e-5, "forward {case}: {}", rel_diff(&ours, &burns));
    let weights = Tensor::<4>::random(ours.dims(), Distribution::Uniform(0.5, 1.5), &ours.device());
    let (go, gb) = ((ours * weights.clone()).sum().backward(), (burns * weights).sum().backward());
    let n = bias.dims()[0];
    let grad = |g: &burn::tensor::Gradients| {
        (x.grad(g).unwrap(), weight.grad(g).unwrap(), bias.grad(g).unwrap().reshape([1, 1, 1, n]))
    };
    let (o, b) = (grad(&go), grad(&gb));
    assert!(rel_diff(&o.0, &b.0) < 1e-5, "dx {case}: {}", rel_diff(&o.0, &b.0));
    assert!(rel_diff(&o.1, &b.1) < 1e-5, "dw {case}: {}", rel_diff(&o.1, &b.1));
    assert!(rel_diff(&o.2, &b.2) < 1e-5, "db {case}: {}", rel_diff(&o.2, &b.2));
}

/// A 3×3 convolution, padding 1, c_in → c_out, with a bias drawn from `bias` (non-zero, so that
/// its gradient and its place in the sum are checked too), and a tracked input for it.
fn conv_and_input(
    (c_in, c_out, side, batch): (usize, usize, usize, usize),
    bias: (f64, f64),
    device: &Device,
) -> (burn::nn::conv::Conv2d, Tensor<4>) {
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    let mut layer =
        Conv2dConfig::new([c_in, c_out], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device);
    let values = Tensor::<1>::random([c_out], Distribution::Uniform(bias.0, bias.1), device);
    layer.bias = Some(burn::module::Param::from_tensor(values));
    let x = Tensor::<4>::random([batch, c_in, side, side], Distribution::Uniform(-1.0, 1.0), device).require_grad();
    (layer, x)
}

/// A 3×3 transposed convolution, stride 2, padding 1, output padding 1 (the model's `up1` and
/// `up2`), c_in → c_out, with a bias drawn from [−1, 1], and a tracked input for it.
fn up_conv_and_input(
    (c_in, c_out, side, batch): (usize, usize, usize, usize),
    device: &Device,
) -> (burn::nn::conv::ConvTranspose2d, Tensor<4>) {
    use burn::nn::conv::ConvTranspose2dConfig;
    let mut layer = ConvTranspose2dConfig::new([c_in, c_out], [3, 3])
        .with_stride([2, 2])
        .with_padding([1, 1])
        .with_padding_out([1, 1])
        .init(device);
    let bias = Tensor::<1>::random([c_out], Distribution::Uniform(-1.0, 1.0), device);
    layer.bias = Some(burn::module::Param::from_tensor(bias));
    let x = Tensor::<4>::random([batch, c_in, side, side], Distribution::Uniform(-1.0, 1.0), device).require_grad();
    (layer, x)
}

#[test]
fn conv_kernels_match_burns_conv2d_in_values_and_gradients() {
    // The model's layers (thin: one channel on a side; wide: 32 → 32), plus odd and tiny sides,
    // channel counts no tile divides evenly, a side of 8 + 4 + 1 columns (13), thin sides that
    // end inside a block of 16 or 32 columns (37) or fill one (16), and a 1 → 1 layer.
    let layers = [
        (1, 32, 28, 4),
        (32, 1, 28, 3),
        (4, 1, 37, 2),
        (3, 1, 16, 2),
        (3, 1, 13, 2),
        (32, 32, 14, 3),
        (32, 32, 7, 5),
        (32, 32, 28, 2),
        (5, 4, 9, 2),
        (1, 5, 5, 2),
        (7, 1, 3, 2),
        (1, 1, 1, 1),
        (1, 3, 2, 2),
        (3, 2, 1, 2),
        (12, 9, 10, 2),
    ];
    on_devices(|name, device| {
        let device = device.autodiff();
        for (c_in, c_out, side, batch) in layers {
            let (layer, x) = conv_and_input((c_in, c_out, side, batch), (-1.0, 1.0), &device);
            let ours = ops::conv3x3(&layer, x.clone());
            let burns = layer.forward(x.clone());
            let case = format!("{name}: {c_in} → {c_out} at {side}, batch {batch}");
            assert_same_layer(&case, &x, &layer.weight.val(), &layer.bias.as_ref().unwrap().val(), ours, burns);
        }
    });
}

#[test]
fn conv_leaky_kernel_matches_burns_conv2d_then_leaky_relu_in_values_and_gradients() {
    use burn::tensor::activation::leaky_relu;
    // The model's three (enc1, enc2, dec1), an odd one, and a layer with one output channel.
    let layers = [(1, 32, 28, 3), (32, 32, 14, 3), (32, 32, 7, 4), (5, 4, 9, 2), (7, 1, 3, 2)];
    on_devices(|name, device| {
        let device = device.autodiff();
        let mut negative = 0;
        for (c_in, c_out, side, batch) in layers {
            // Biases of both signs shift many sums across zero.
            let (layer, x) = conv_and_input((c_in, c_out, side, batch), (-0.5, 0.5), &device);
            let ours = ops::conv3x3_leaky(&layer, x.clone(), 0.1);
            let burns = leaky_relu(layer.forward(x.clone()), 0.1);
            negative += values(&burns).iter().filter(|v| **v < 0.0).count();
            let case = format!("{name}: leaky ReLU of {c_in} → {c_out} at {side}, batch {batch}");
            assert_same_layer(&case, &x, &layer.weight.val(), &layer.bias.as_ref().unwrap().val(), ours, burns);
        }
        assert!(negative > 1000, "{name}: expected sums of both signs, {negative} negative");
    });
}

#[test]
fn conv_leaky_pool_kernel_is_the_ops_one_by_one_and_matches_burns_in_values_and_gradients() {
    use burn::tensor::activation::leaky_relu;
    // The model's two (enc1, enc2), one input channel on planes small enough that the weight
    // gradient takes several images per product, a layer no tile divides evenly, and an odd side
    // (pooled by burn's op, the kernel needing even sides).
    let layers = [(1, 32, 28, 3), (32, 32, 14, 3), (1, 3, 6, 5), (5, 4, 10, 2), (3, 2, 7, 2)];
    on_devices(|name, device| {
        let device = device.autodiff();
        let mut negative = 0;
        for (c_in, c_out, side, batch) in layers {
            // Biases of both signs, so that many windows' maxima are negative.
            let (layer, x) = conv_and_input((c_in, c_out, side, batch), (-1.0, 0.3), &device);
            let ours = ops::conv3x3_leaky_pool(&layer, x.clone(), 0.1);
            let one_by_one = ops::max_pool2x2(ops::conv3x3_leaky(&layer, x.clone(), 0.1));
            let case = format!("{name}: pooled leaky ReLU of {c_in} → {c_out} at {side}, batch {batch}");
            assert_eq!(values(&ours), values(&one_by_one), "{case}: the ops one by one, bit for bit");
            let burns = max_pool2d(leaky_relu(layer.forward(x.clone()), 0.1), MaxPoolOptions::new([2, 2]));
            negative += values(&burns).iter().filter(|v| **v < 0.0).count();
            assert_same_layer(&case, &x, &layer.weight.val(), &layer.bias.as_ref().unwrap().val(), ours, burns);
            // As `enc1` runs in the model: an input that is not tracked (the images), so only the
            // weight and the bias have gradients.
            let images = x.clone().set_require_grad(false);
            let ours = ops::conv3x3_leaky_pool(&layer, images.clone(), 0.1);
            let burns = max_pool2d(leaky_relu(layer.forward(images), 0.1), MaxPoolOptions::new([2, 2]));
            let weights = Tensor::<4>::random(ours.dims(), Distribution::Uniform(0.5, 1.5), &device);
            let (go, gb) = ((ours * weights.clone()).sum().backward(), (burns * weights).sum().backward());
            let (w, b) = (layer.weight.val(), layer.bias.as_ref().unwrap().val());
            let (dw, dw_burn) = (w.grad(&go).unwrap(), w.grad(&gb).unwrap());
            assert!(rel_diff(&dw, &dw_burn) < 1e-5, "dw {case}, input not tracked: {}", rel_diff(&dw, &dw_burn));
            let db = |g| b.grad(g).unwrap().reshape([1, 1, 1, c_out]);
            let (db, db_burn) = (db(&go), db(&gb));
            assert!(rel_diff(&db, &db_burn) < 1e-5, "db {case}, input not tracked: {}", rel_diff(&db, &db_burn));
        }
        assert!(negative > 500, "{name}: expected maxima of both signs, {negative} negative");
    });
}

#[test]
fn conv_transpose_kernels_match_burns_conv_transpose2d_in_values_and_gradients() {
    on_devices(|name, device| {
        let device = device.autodiff();
        // up1 and up2 of the model, up1 over a batch the CPU's gradients split into uneven groups
        // of several images (2, 2, 2, 3), small odd ones, and a 1 × 1 input.
        let layers = [(32, 32, 7, 4), (32, 32, 7, 9), (32, 32, 14, 3), (3, 5, 5, 2), (2, 3, 1, 2), (12, 9, 10, 2)];
        for (c_in, c_out, side, batch) in layers {
            let (layer, x) = up_conv_and_input((c_in, c_out, side, batch), &device);
            let ours = ops::up_conv3x3(&layer, x.clone());
            let burns = layer.forward(x.clone());
            let case = format!("{name}: {c_in} → {c_out} at {side} → {}, batch {batch}", 2 * side);
            assert_eq!(ours.dims(), [batch, c_out, 2 * side, 2 * side]);
            assert_same_layer(&case, &x, &layer.weight.val(), &layer.bias.as_ref().unwrap().val(), ours, burns);
        }
    });
}

#[test]
fn up_conv_out_op_matches_burns_conv_transpose2d_then_conv2d_in_values_and_gradients() {
    on_devices(|name, device| {
        let device = device.autodiff();
        // (c, m, side, batch): up2 → out of the model, over batches the CPU's gradients split into
        // groups of one image and uneven ones (2, 2, 2, 3); the 7 → 14 shape; small odd ones, a
        // 1 × 1 and a 2 × 2 input (every pair of taps partly or wholly outside the planes), and a
        // 4 × 4 one, whose 16 columns are whole vectors (read in place, as in the browser).
        let layers = [
            (32, 32, 14, 3),
            (32, 32, 14, 9),
            (32, 32, 7, 2),
            (3, 5, 5, 2),
            (2, 3, 1, 2),
            (4, 2, 2, 1),
            (6, 4, 4, 2),
            (12, 9, 10, 2),
        ];
        for (c, m, side, batch) in layers {
            let (up, x) = up_conv_and_input((c, m, side, batch), &device);
            let (out, _) = conv_and_input((m, 1, 2 * side, 1), (-1.0, 1.0), &device);
            let ours = ops::up_conv3x3_out(&up, &out, x.clone());
            let burns = out.forward(up.forward(x.clone()));
            let case = format!("{name}: {c} → {m} at {side} → {}, then → 1, batch {batch}", 2 * side);
            assert_eq!(ours.dims(), [batch, 1, 2 * side, 2 * side], "{case}");
            assert!(rel_diff(&ours, &burns) < 1e-5, "forward {case}: {}", rel_diff(&ours, &burns));
            let weights = Tensor::<4>::random(ours.dims(), Distribution::Uniform(0.5, 1.5), &device);
            let (go, gb) = ((ours * weights.clone()).sum().backward(), (burns * weights).sum().backward());
            let as4 = |t: Tensor<1>| {
                let n = t.dims()[0];
                t.reshape([1, 1, 1, n])
            };
            let grads = |g: &burn::tensor::Gradients| {
                [
                    x.grad(g).unwrap(),
                    up.weight.val().grad(g).unwrap(),
                    as4(up.bias.as_ref().unwrap().val().grad(g).unwrap()),
                    out.weight.val().grad(g).unwrap(),
                    as4(out.bias.as_ref().unwrap().val().grad(g).unwrap()),
                ]
            };
            for ((o, b), what) in
                grads(&go).iter().zip(&grads(&gb)).zip(["dx", "d up weight", "d up bias", "d out weight", "d out bias"])
            {
                assert!(rel_diff(o, b) < 1e-5, "{what} {case}: {}", rel_diff(o, b));
            }
        }
    });
}

#[test]
fn max_pool_kernel_matches_burns_max_pool2d_exactly() {
    on_devices(|name, device| {
        let device = device.autodiff();
        for (shape, ties) in
            [([4, 32, 28, 28], false), ([2, 3, 14, 14], false), ([1, 2, 2, 2], false), ([2, 4, 6, 8], true)]
        {
            // Without ties: distinct values in [-1, 1) in a scrambled order (i·7919 mod n, a prime
            // step), so that no window holds two equal maxima (random floats can, and then which
            // one gets the gradient is a convention). With ties: random values rounded to a
            // coarse grid (and many zeros, as after a ReLU).
            let n: usize = shape.iter().product();
            let values = if ties {
                let values = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device);
                values.mul_scalar(2.0).round().clamp_min(0.0)
            } else {
                let distinct: Vec<f32> = (0..n).map(|i| (i * 7919 % n) as f32 / n as f32 * 2.0 - 1.0).collect();
                Tensor::<4>::from_data(TensorData::new(distinct, shape), &device)
            };
            let x = values.detach().require_grad();
            let ours = ops::max_pool2x2(x.clone());
            let burns = max_pool2d(x.clone(), MaxPoolOptions::new([2, 2]));
            assert_eq!(ours.dims(), burns.dims());
            assert_eq!(self::values(&ours), self::values(&burns), "{name}: forward {shape:?}");
            let weights = Tensor::<4>::random(ours.dims(), Distribution::Uniform(0.5, 1.5), &device);
            let go = (ours * weights.clone()).sum().backward();
            let gb = (burns * weights).sum().backward();
            let (o, b) = (x.grad(&go).unwrap(), x.grad(&gb).unwrap());
            if ties {
                // Where a window holds equal maxima, which one gets the gradient is a convention:
                // compare the gradient per window instead.
                let sum =
                    |t: Tensor<4>| burn::tensor::module::avg_pool2d(t, burn::tensor::ops::AvgPoolOptions::new([2, 2]));
                assert!(rel_diff(&sum(o), &sum(b)) < 1e-6, "{name}: gradient per window {shape:?}");
            } else {
                assert_eq!(self::values(&o), self::values(&b), "{name}: gradient {shape:?}");
            }
        }
    });
}

/// The whole model on the GPU device against the CPU: the self-check a browser's device passes
/// before a model goes there (forward pass, two training steps, the reconstruction after them).
#[cfg(feature = "webgpu")]
#[test]
fn the_model_on_the_gpu_device_agrees_with_the_cpu() {
    on_devices(|name, device| {
        if name != "cpu" {
            let agreement = futures_lite::future::block_on(mnist_dae::check::self_check(&device)).unwrap();
            eprintln!(
                "self-check on {name}: max difference {:.1e} in {:.1} s",
                agreement.max_difference, agreement.seconds
            );
        }
    });
}

#[test]
fn bce_kernel_matches_burns_ops_in_value_and_gradient() {
    // On the CPU only: elsewhere `metrics::bce_with_logits` is these very burn ops.
    let device = cpu_device().autodiff();
    for (shape, spread) in [([64, 1, 28, 28], 12.0), ([3, 1, 28, 28], 0.5), ([1, 1, 3, 5], 30.0)] {
        // No logit exactly 0, where the composed form's derivative is a convention (`abs` and
        // `clamp_min` at 0) and the kernel's σ(0) − z differs from it by ½ (a draw of ≈ 1 in 2^23).
        let logits = Tensor::<4>::random(shape, Distribution::Uniform(-spread, spread), &device);
        let logits = logits.clone().mask_fill(logits.equal_elem(0.0), spread / 2.0).require_grad();
        let targets = Tensor::<4>::random(shape, Distribution::Uniform(0.0, 1.0), &device);
        let ours = ops::bce_logits(logits.clone(), targets.clone());
        let positive = logits.clone().clamp_min(0.0);
        let soft = logits.clone().abs().neg().exp().log1p();
        let burns = (positive - logits.clone() * targets + soft).mean();
        let (o, b) = (ours.clone().into_scalar::<f32>(), burns.clone().into_scalar::<f32>());
        assert!((o - b).abs() <= 1e-6 * b.abs(), "{shape:?}: loss {o} against burn's {b}");
        let (go, gb) = (ours.mul_scalar(3.0).backward(), burns.mul_scalar(3.0).backward());
        let (dl, dl_burn) = (logits.grad(&go).unwrap(), logits.grad(&gb).unwrap());
        let d = rel_diff(&dl, &dl_burn);
        assert!(d < 1e-5, "{shape:?}: gradient {d}");
    }
}

#[test]
fn adam_step_is_burns_adam_step() {
    use burn::optim::{AdamConfig, Optimizer};
    use mnist_dae::ops::AdamStep;
    // A large learning rate makes the step big against the parameter's own rounding (an f32 near
    // 0.5 rounds at 3e-8), so a step off by 1e-5 of itself shows.
    let (b1, b2, eps, lr) = (0.9, 0.999, 1e-8, 0.05);
    let adam = AdamConfig::new().with_beta_1(b1).with_beta_2(b2).with_epsilon(eps).build();
    on_devices(|name, device| {
        // A 32 → 32 layer's weight (a multiple of 4 floats) and `out`'s bias (one float).
        for shape in [[32, 32, 3, 3], [1, 1, 1, 1]] {
            let mut param = Tensor::<4>::random(shape, Distribution::Uniform(-0.5, 0.5), &device);
            let (mut state, mut m, mut v) = (None, param.zeros_like(), param.zeros_like());
            for time in 1..=3 {
                // Gradients of mixed signs and magnitudes, some exactly zero.
                let grad = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device)
                    .mul_scalar(10f64.powi(time - 2))
                    .clamp_min(-0.5);
                let (ours, next_m, next_v) =
                    ops::adam_step(param.clone(), grad.clone(), m, v, AdamStep::new(b1, b2, eps, lr, time as usize));
                let (next, next_state) = adam.step(lr, param.clone(), grad, state);
                let burns = &next_state.as_ref().expect("Adam keeps a state").momentum;
                let case = format!("{name}: {shape:?}, step {time}");
                let (our_step, burns_step) = (ours - param.clone(), next.clone() - param);
                let off = rel_diff(&our_step, &burns_step);
                assert!(off < 1e-5, "parameter step {case}: off by {off} of burn's");
                assert!(rel_diff(&next_m, &burns.moment_1) < 1e-6, "first moment {case}");
                assert!(rel_diff(&next_v, &burns.moment_2) < 1e-6, "second moment {case}");
                (param, state, m, v) = (next, next_state, next_m, next_v);
            }
        }
    });
}

/// The trainer's optimiser state from the GPU device (moments updated by `ops::adam_step`) is
/// burn's: a checkpoint taken there continues on the CPU with the same next step.
#[cfg(feature = "webgpu")]
#[test]
fn a_checkpoint_from_the_gpu_device_continues_on_the_cpu() {
    use futures_lite::future::block_on;
    use mnist_dae::{Activation, Trainer, TrainerConfig};
    on_devices(|name, device| {
        if name == "cpu" {
            return;
        }
        let images: Vec<f32> = (0..8 * 784).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
        let noisy: Vec<f32> = images.iter().map(|v| (v * 0.8 + 0.1).min(1.0)).collect();
        let config = TrainerConfig::tutorial(Activation::LeakyRelu);
        let mut gpu = Trainer::new(config.clone(), &device).unwrap();
        for _ in 0..3 {
            block_on(gpu.train_step(&noisy, &images)).unwrap();
        }
        let mut cpu = Trainer::new(config, &cpu_device()).unwrap();
        cpu.restore(&gpu.checkpoint().unwrap()).unwrap();
        let (a, b) =
            (block_on(gpu.train_step(&noisy, &images)).unwrap(), block_on(cpu.train_step(&noisy, &images)).unwrap());
        assert!((a - b).abs() < 1e-5, "{name}: step 4's loss {a} on the GPU device, {b} on the CPU");
        let (a, b) = (block_on(gpu.denoise(&noisy)).unwrap(), block_on(cpu.denoise(&noisy)).unwrap());
        let worst = a.iter().zip(&b).fold(0f32, |m, (p, q)| m.max((p - q).abs()));
        assert!(worst < 1e-4, "{name}: reconstructions after step 4 differ by {worst}");
    });
}
