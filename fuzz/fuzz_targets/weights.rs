//! Any bytes as a weights file: refused with an error or accepted, never a panic, and an
//! accepted file holds exactly the model's tensors, finite.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(checked) = mnist_dae::weights::check(data, 32) {
        let expected = mnist_dae::weights::expected(32);
        assert_eq!(checked.tensors.len(), expected.len());
        for ((values, shape), (_, want)) in checked.tensors.iter().zip(&expected) {
            assert_eq!(shape, want);
            assert_eq!(values.len(), want.iter().product::<usize>());
            assert!(values.iter().all(|v| v.is_finite()));
        }
    }
});
