//! Any bytes as a compact MNIST file: refused with an error or accepted, never a panic, and an
//! accepted file's sizes add up.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = mnist_dae::data::Mnist::from_mnst(data) {
        assert_eq!(set.images.len(), set.len() * mnist_dae::PIXELS);
        assert!(set.labels.iter().all(|&l| l < 10));
        assert_eq!(data.len(), 16 + set.len() * (1 + mnist_dae::PIXELS));
    }
});
