//! The latent space as a picture: the two principal axes of many digits' 1,568-number codes
//! (PCA), and the weights that blend two codes for an interpolation strip.
//!
//! PCA by randomized subspace iteration (Halko, Martinsson & Tropp, "Finding structure with
//! randomness", 2011, algorithm 4.4): a few passes over the `n × d` codes find the leading
//! subspace, and a `k × k` eigenproblem in it gives the axes. For 1,000 codes that is ≈ 10⁸
//! multiply-adds, where a full SVD would be ≈ 10¹⁰; a linear-algebra crate for one 2-D
//! projection would also weigh on the WebAssembly module more than these lines do.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::DaeError;

/// Codes a latent map takes by default: enough for every digit to form its cloud, few enough to
/// encode and project between two epochs of the page's training.
pub const MAP_CODES: usize = 1_000;

/// Values in one latent code of the tutorial's model: 32 maps of 7 × 7.
pub const CODE_LEN: usize = 32 * 7 * 7;

/// Most images an interpolation strip decodes.
pub const MAX_BLEND_STEPS: usize = 32;

/// Width of the searched subspace: the two axes wanted plus oversampling (Halko et al. §4.2
/// suggest 5–10 extra vectors).
const BLOCK: usize = 8;

/// Power iterations: each sharpens the subspace by the ratio of the wanted to the unwanted
/// variances (Halko et al. §4.5; 2–4 are usual, codes of trained models have a slowly decaying
/// spectrum, hence more).
const POWER_ITERATIONS: usize = 6;

/// The codes' two principal axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Mean code, `d` values.
    pub mean: Vec<f32>,
    /// The two unit axes, `d` values each, in order of the variance along them. Signs follow
    /// scikit-learn's convention: each axis's largest-magnitude entry is positive, so that a map
    /// does not flip between two nearby models for no reason.
    pub axes: [Vec<f32>; 2],
    /// Variance along each axis (divided by n − 1).
    pub variance: [f64; 2],
    /// Total variance of the codes, all `d` directions together.
    pub total_variance: f64,
}

/// Each code's place on the two principal axes.
#[derive(Debug, Clone, PartialEq)]
pub struct LatentMap {
    /// Coordinate along the first axis, one per code.
    pub x: Vec<f32>,
    /// Coordinate along the second axis.
    pub y: Vec<f32>,
    /// Share of the codes' total variance along each axis, in [0, 1].
    pub explained: [f64; 2],
}

fn dot(a: &[f32], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y).sum()
}

/// Orthonormalises `columns` in place (modified Gram–Schmidt, twice for round-off); a column
/// that is (numerically) in the span of the earlier ones becomes zero.
fn orthonormalise(columns: &mut [Vec<f64>]) {
    for j in 0..columns.len() {
        for _ in 0..2 {
            for i in 0..j {
                let (done, rest) = columns.split_at_mut(j);
                let p: f64 = done[i].iter().zip(&rest[0]).map(|(a, b)| a * b).sum();
                rest[0].iter_mut().zip(&done[i]).for_each(|(c, q)| *c -= p * q);
            }
        }
        let norm = columns[j].iter().map(|v| v * v).sum::<f64>().sqrt();
        let scale = if norm > 1e-12 { 1.0 / norm } else { 0.0 };
        columns[j].iter_mut().for_each(|v| *v *= scale);
    }
}

/// Eigenvalues and eigenvectors (columns) of the symmetric `k × k` matrix `a` (row-major), by
/// cyclic Jacobi rotations, largest eigenvalue first.
fn symmetric_eigen(mut a: Vec<f64>, k: usize) -> Vec<(f64, Vec<f64>)> {
    let mut v = vec![0.0; k * k];
    (0..k).for_each(|i| v[i * k + i] = 1.0);
    for _sweep in 0..64 {
        let off: f64 = (0..k)
            .flat_map(|p| (0..k).filter(move |&q| q != p).map(move |q| (p, q)))
            .map(|(p, q)| a[p * k + q].powi(2))
            .sum();
        let scale: f64 = (0..k).map(|i| a[i * k + i].powi(2)).sum::<f64>();
        if off <= 1e-30 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                let apq = a[p * k + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                // The rotation that zeroes a[p][q] (Golub & Van Loan, algorithm 8.5.1).
                let theta = (a[q * k + q] - a[p * k + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..k {
                    let (arp, arq) = (a[r * k + p], a[r * k + q]);
                    a[r * k + p] = c * arp - s * arq;
                    a[r * k + q] = s * arp + c * arq;
                }
                for r in 0..k {
                    let (apr, aqr) = (a[p * k + r], a[q * k + r]);
                    a[p * k + r] = c * apr - s * aqr;
                    a[q * k + r] = s * apr + c * aqr;
                }
                for r in 0..k {
                    let (vrp, vrq) = (v[r * k + p], v[r * k + q]);
                    v[r * k + p] = c * vrp - s * vrq;
                    v[r * k + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    let mut pairs: Vec<(f64, Vec<f64>)> =
        (0..k).map(|j| (a[j * k + j], (0..k).map(|r| v[r * k + j]).collect())).collect();
    pairs.sort_by(|x, y| y.0.total_cmp(&x.0));
    pairs
}

impl Pca {
    /// The two principal axes of `codes`: `n` rows of `dim` values, n ≥ 2.
    pub fn fit(codes: &[f32], dim: usize) -> Result<Self, DaeError> {
        Self::fit_with(codes, dim, POWER_ITERATIONS)
    }

    /// [`Pca::fit`] with `iterations` power iterations instead of the default: more are slower
    /// and closer to the exact axes (what the accuracy test compares against).
    pub fn fit_with(codes: &[f32], dim: usize, iterations: usize) -> Result<Self, DaeError> {
        if dim == 0 || codes.is_empty() || !codes.len().is_multiple_of(dim) || codes.len() / dim < 2 {
            return Err(DaeError::Input(format!(
                "codes: expected n × {dim} values with n ≥ 2, got {} values",
                codes.len()
            )));
        }
        if let Some(i) = codes.iter().position(|v| !v.is_finite()) {
            return Err(DaeError::Backend(format!(
                "codes: expected finite values, got {} at index {i} (has the model diverged?)",
                codes[i]
            )));
        }
        let n = codes.len() / dim;
        let mut mean = vec![0f64; dim];
        for row in codes.chunks_exact(dim) {
            mean.iter_mut().zip(row).for_each(|(m, &v)| *m += v as f64);
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let centred: Vec<f32> = codes
            .chunks_exact(dim)
            .flat_map(|row| row.iter().zip(&mean).map(|(&v, &m)| (v as f64 - m) as f32))
            .collect();
        let rows = || centred.chunks_exact(dim);
        let total_variance = centred.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / (n - 1) as f64;
        let k = BLOCK.min(dim).min(n);
        // X·Z: n values per column of Z (d values each).
        let times = |z: &[Vec<f64>]| -> Vec<Vec<f64>> {
            z.iter().map(|col| rows().map(|row| dot(row, col)).collect()).collect()
        };
        // Xᵀ·Y: d values per column of Y (n values each).
        let times_t = |y: &[Vec<f64>]| -> Vec<Vec<f64>> {
            y.iter()
                .map(|col| {
                    let mut out = vec![0f64; dim];
                    for (row, &w) in rows().zip(col) {
                        out.iter_mut().zip(row).for_each(|(o, &v)| *o += w * v as f64);
                    }
                    out
                })
                .collect()
        };
        // A fixed start: the same codes always give the same axes.
        let mut rng = ChaCha8Rng::seed_from_u64(0x9CA);
        let start: Vec<Vec<f64>> =
            (0..k).map(|_| (0..dim).map(|_| StandardNormal.sample(&mut rng)).collect()).collect();
        let mut y = times(&start);
        orthonormalise(&mut y);
        for _ in 0..iterations {
            let mut z = times_t(&y);
            orthonormalise(&mut z);
            y = times(&z);
            orthonormalise(&mut y);
        }
        let mut q = times_t(&y);
        orthonormalise(&mut q);
        // The codes in the subspace, and their k × k covariance there.
        let p = times(&q);
        let mut cov = vec![0f64; k * k];
        for a in 0..k {
            for b in 0..k {
                cov[a * k + b] = p[a].iter().zip(&p[b]).map(|(u, v)| u * v).sum::<f64>() / (n - 1) as f64;
            }
        }
        let eigen = symmetric_eigen(cov, k);
        let axis = |j: usize| -> (f64, Vec<f32>) {
            let Some((value, w)) = eigen.get(j) else { return (0.0, vec![0.0; dim]) };
            let mut a: Vec<f64> = (0..dim).map(|i| q.iter().zip(w).map(|(col, wj)| col[i] * wj).sum()).collect();
            let biggest = a.iter().copied().max_by(|x, y| x.abs().total_cmp(&y.abs())).unwrap_or(0.0);
            if biggest < 0.0 {
                a.iter_mut().for_each(|v| *v = -*v);
            }
            (value.max(0.0), a.into_iter().map(|v| v as f32).collect())
        };
        let ((v0, a0), (v1, a1)) = (axis(0), axis(1));
        Ok(Self {
            mean: mean.into_iter().map(|m| m as f32).collect(),
            axes: [a0, a1],
            variance: [v0, v1],
            total_variance,
        })
    }

    /// Where `codes` (rows of `d` values) lie on the two axes.
    pub fn project(&self, codes: &[f32]) -> LatentMap {
        let dim = self.mean.len();
        let coordinate = |row: &[f32], axis: &[f32]| -> f32 {
            row.iter().zip(&self.mean).zip(axis).map(|((&v, &m), &a)| (v as f64 - m as f64) * a as f64).sum::<f64>()
                as f32
        };
        let (x, y) =
            codes.chunks_exact(dim).map(|row| (coordinate(row, &self.axes[0]), coordinate(row, &self.axes[1]))).unzip();
        let share = |v: f64| if self.total_variance > 0.0 { (v / self.total_variance).clamp(0.0, 1.0) } else { 0.0 };
        LatentMap { x, y, explained: [share(self.variance[0]), share(self.variance[1])] }
    }
}

/// The map of `codes` (rows of `dim` values) on their own two principal axes.
pub fn map(codes: &[f32], dim: usize) -> Result<LatentMap, DaeError> {
    Ok(Pca::fit(codes, dim)?.project(codes))
}

/// Blend weights of an interpolation strip of `steps` images: row `i` is `(1 − t, t)` with
/// `t = i / (steps − 1)`, so the first image is the first code exactly and the last the second.
pub fn blend_weights(steps: usize) -> Result<Vec<f32>, DaeError> {
    if !(2..=MAX_BLEND_STEPS).contains(&steps) {
        return Err(DaeError::Input(format!("steps: expected 2 to {MAX_BLEND_STEPS}, got {steps}")));
    }
    Ok((0..steps)
        .flat_map(|i| {
            let t = i as f32 / (steps - 1) as f32;
            [1.0 - t, t]
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` points in `dim` dimensions along planted orthogonal directions with standard
    /// deviations `scales`, plus a little isotropic noise.
    fn planted(n: usize, dim: usize, scales: &[f32]) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut out = Vec::with_capacity(n * dim);
        for _ in 0..n {
            let mut row = vec![0.5f32; dim];
            for (j, s) in scales.iter().enumerate() {
                let g: f32 = StandardNormal.sample(&mut rng);
                // Direction j: coordinates 2j and 2j + 1, equally.
                row[2 * j] += s * g / 2f32.sqrt();
                row[2 * j + 1] -= s * g / 2f32.sqrt();
            }
            for v in &mut row {
                let g: f32 = StandardNormal.sample(&mut rng);
                *v += 0.01 * g;
            }
            out.extend(row);
        }
        out
    }

    /// Exact covariance eigenvectors for a small `dim`, as the reference.
    fn exact(codes: &[f32], dim: usize) -> Vec<(f64, Vec<f64>)> {
        let n = codes.len() / dim;
        let mean: Vec<f64> =
            (0..dim).map(|i| codes.chunks_exact(dim).map(|r| r[i] as f64).sum::<f64>() / n as f64).collect();
        let mut cov = vec![0f64; dim * dim];
        for r in codes.chunks_exact(dim) {
            for a in 0..dim {
                for b in 0..dim {
                    cov[a * dim + b] += (r[a] as f64 - mean[a]) * (r[b] as f64 - mean[b]) / (n - 1) as f64;
                }
            }
        }
        symmetric_eigen(cov, dim)
    }

    #[test]
    fn jacobi_gives_eigenpairs_of_a_random_symmetric_matrix() {
        let k = 8;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut a = vec![0f64; k * k];
        for i in 0..k {
            for j in i..k {
                let v: f64 = StandardNormal.sample(&mut rng);
                a[i * k + j] = v;
                a[j * k + i] = v;
            }
        }
        let pairs = symmetric_eigen(a.clone(), k);
        for w in pairs.windows(2) {
            assert!(w[0].0 >= w[1].0, "largest first");
        }
        for (value, v) in &pairs {
            let norm: f64 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 1e-12);
            for r in 0..k {
                let av: f64 = (0..k).map(|c| a[r * k + c] * v[c]).sum();
                assert!((av - value * v[r]).abs() < 1e-10, "‖Av − λv‖ at row {r}: {}", av - value * v[r]);
            }
        }
        let trace: f64 = (0..k).map(|i| a[i * k + i]).sum();
        assert!((pairs.iter().map(|p| p.0).sum::<f64>() - trace).abs() < 1e-10, "eigenvalues sum to the trace");
    }

    #[test]
    fn axes_and_variances_match_the_exact_covariance_eigenvectors() {
        let dim = 40;
        let codes = planted(500, dim, &[3.0, 2.0, 1.0, 0.5, 0.3, 0.2, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05]);
        let pca = Pca::fit(&codes, dim).unwrap();
        let reference = exact(&codes, dim);
        for (j, (exact_variance, exact_axis)) in reference.iter().take(2).enumerate() {
            let cos: f64 = pca.axes[j].iter().zip(exact_axis).map(|(&a, &b)| a as f64 * b).sum();
            assert!(cos.abs() > 1.0 - 1e-6, "axis {j}: |cos| {} with the exact eigenvector", cos.abs());
            let rel = (pca.variance[j] - exact_variance).abs() / exact_variance;
            assert!(rel < 1e-6, "variance {j}: {} vs exact {exact_variance} ({rel:e})", pca.variance[j]);
        }
        let total: f64 = reference.iter().map(|(v, _)| v).sum();
        assert!((pca.total_variance - total).abs() / total < 1e-6);
    }

    #[test]
    fn projections_are_centred_codes_on_the_axes_with_their_variance() {
        let dim = 30;
        let codes = planted(300, dim, &[2.0, 1.0, 0.4]);
        let pca = Pca::fit(&codes, dim).unwrap();
        let m = pca.project(&codes);
        assert_eq!(m.x.len(), 300);
        let var = |v: &[f32]| v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
        let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        assert!(mean(&m.x).abs() < 1e-4 && mean(&m.y).abs() < 1e-4, "centred");
        assert!((var(&m.x) - pca.variance[0]).abs() / pca.variance[0] < 1e-4);
        assert!((var(&m.y) - pca.variance[1]).abs() / pca.variance[1] < 1e-4);
        // Planted: 4 and 1 of ≈ 5.2 in all.
        assert!(m.explained[0] > 0.7 && m.explained[0] < 0.8, "first axis explains {}", m.explained[0]);
        assert!(m.explained[1] > 0.15 && m.explained[1] < 0.22, "second axis explains {}", m.explained[1]);
        // scikit-learn's sign convention: the largest entry of each axis is positive.
        for a in &pca.axes {
            let big = a.iter().copied().max_by(|x, y| x.abs().total_cmp(&y.abs())).unwrap();
            assert!(big > 0.0);
        }
    }

    #[test]
    fn identical_codes_give_a_point_not_an_error() {
        let codes = vec![0.25f32; 10 * 8];
        let m = map(&codes, 8).unwrap();
        assert!(m.x.iter().chain(&m.y).all(|&v| v == 0.0));
        assert_eq!(m.explained, [0.0, 0.0]);
    }

    #[test]
    fn too_few_or_broken_codes_are_refused_with_what_came() {
        let e = map(&[1.0; 8], 8).unwrap_err();
        assert!(e.to_string().contains("n ≥ 2"), "{e}");
        let e = map(&[1.0; 12], 8).unwrap_err();
        assert!(e.to_string().contains("12 values"), "{e}");
        let mut codes = vec![0.0f32; 16];
        codes[3] = f32::NAN;
        assert!(map(&codes, 8).unwrap_err().to_string().contains("index 3"));
    }

    #[test]
    fn blend_weights_run_from_the_first_code_to_the_second() {
        let w = blend_weights(5).unwrap();
        assert_eq!(w.len(), 10);
        assert_eq!(&w[..2], &[1.0, 0.0]);
        assert_eq!(&w[8..], &[0.0, 1.0]);
        assert_eq!(&w[4..6], &[0.5, 0.5]);
        assert!(blend_weights(1).is_err() && blend_weights(MAX_BLEND_STEPS + 1).is_err());
    }
}
