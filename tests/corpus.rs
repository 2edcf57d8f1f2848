//! The fuzz corpus (fuzz/corpus/, `npm run fuzz` grows it locally) replayed without nightly:
//! every input to the weights loader and the compact MNIST reader is refused with an error or
//! accepted, and never panics.

use std::path::Path;

use mnist_dae::data::Mnist;
use mnist_dae::{ErrorKind, PIXELS};

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{}: expected the tracked seeds, got {} files", dir.display(), files.len());
    files
}

#[test]
fn the_weights_corpus_is_refused_cleanly_and_the_shipped_file_accepted() {
    for (name, bytes) in inputs("weights") {
        match mnist_dae::weights::check(&bytes, 32) {
            Ok(checked) => assert_eq!(checked.tensors.len(), 12, "{name}"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidWeights, "{name}: {e}");
                assert!(!e.to_string().contains('\n'), "{name}: one line: {e}");
            }
        }
    }
    let dup = mnist_dae::weights::check(&std::fs::read("fuzz/corpus/weights/seed-duplicate").unwrap(), 32).unwrap_err();
    assert!(dup.to_string().contains("got 'out.bias' twice"), "{dup}");
    let shipped = std::fs::read("www/pretrained/mnist-dae.safetensors").unwrap();
    assert!(mnist_dae::weights::check(&shipped, 32).is_ok());
}

#[test]
fn the_mnst_corpus_is_refused_cleanly_or_parses_to_consistent_sizes() {
    let mut accepted = 0;
    for (name, bytes) in inputs("mnst") {
        match Mnist::from_mnst(&bytes) {
            Ok(set) => {
                assert_eq!(set.images.len(), set.len() * PIXELS, "{name}");
                accepted += 1;
            }
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name}: {e}"),
        }
    }
    assert!(accepted >= 2, "the valid seeds parse");
}
