//! The tutorial's corruption: `clip(clean + factor · N(0, 1), 0, 1)`.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::DaeError;
use crate::input::{check_images, check_range};

/// Largest accepted noise factor; the tutorial uses 0.5 and the page's slider goes to 1.
pub const MAX_NOISE_FACTOR: f64 = 10.0;

/// Adds Gaussian noise of standard deviation `factor` to `clean` (flat `n × 784`, values in
/// [0, 1]) and clips the result to [0, 1].
///
/// The stream is ChaCha8 seeded with `seed`, sampled by rand_distr's ziggurat: the same seed
/// gives the same bytes on native and wasm builds.
pub fn add_noise(clean: &[f32], factor: f32, seed: u64) -> Result<Vec<f32>, DaeError> {
    check_images("clean", clean)?;
    check_range("factor", factor as f64, 0.0, MAX_NOISE_FACTOR)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Ok(clean
        .iter()
        .map(|&x| {
            let z: f32 = StandardNormal.sample(&mut rng);
            (x + factor * z).clamp(0.0, 1.0)
        })
        .collect())
}
