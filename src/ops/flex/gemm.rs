//! The GEMM machinery the convolutions and the transposed convolution share: [`matmul`] (the
//! `gemm` crate flex itself uses; `fma_gemm.rs` in the relaxed-SIMD browser module),
//! [`im2col3x3`], and a 3×3 layer's weight gradient (and a transposed convolution's input
//! gradient) from one im2col per image ([`layer_grads`]); with the bias gradient ([`bias_grad`]).

use super::for_each_chunk;

/// Gradient with respect to the bias: `db[o] = Σ_batch Σ_pixels grad[o]`, [batch, c, s, s] → [c]
/// (per-pixel partial sums first, then across them: a fixed order).
pub(crate) fn bias_grad(grad: &[f32], batch: usize, c: usize, plane: usize) -> Vec<f32> {
    let mut db = vec![0.0f32; c];
    for_each_chunk(&mut db, 1, |o, total| {
        let mut acc = vec![0.0f32; plane];
        for b in 0..batch {
            for (p, &gv) in acc.iter_mut().zip(&grad[(b * c + o) * plane..][..plane]) {
                *p += gv;
            }
        }
        total[0] = acc.iter().sum();
    });
    db
}

/// Writes the 3×3 patches of `src` ([c, side, side]) seen from a p × p grid with the given
/// stride into `cols`, a row-major matrix of c·9 rows and `row_len` columns, at column `offset`:
/// `cols[c·9 + 3a + e][offset + y·p + x] = src[c][stride·y + a − 1][stride·x + e − 1]`. Entries
/// outside `src` are left alone: the caller zeroes `cols` once, and the same entries are outside
/// for every image.
#[allow(clippy::too_many_arguments)]
pub(super) fn im2col3x3(
    src: &[f32],
    c: usize,
    side: usize,
    stride: usize,
    p: usize,
    cols: &mut [f32],
    row_len: usize,
    offset: usize,
) {
    // Valid grid range [lo, hi) for tap offset t ∈ {0, 1, 2}: 0 ≤ stride·y + t − 1 < side.
    let range = |t: usize| {
        let lo = if t == 0 { 1 } else { 0 };
        let hi = if side >= t { ((side - t) / stride + 1).min(p) } else { 0 };
        (lo, hi.max(lo))
    };
    for ci in 0..c {
        let plane = &src[ci * side * side..][..side * side];
        for a in 0..3 {
            let (y_lo, y_hi) = range(a);
            for e in 0..3 {
                let (x_lo, x_hi) = range(e);
                let row = &mut cols[(ci * 9 + 3 * a + e) * row_len + offset..][..p * p];
                for y in y_lo..y_hi {
                    let src_row = &plane[(stride * y + a - 1) * side..][..side];
                    let dst = &mut row[y * p..(y + 1) * p];
                    if stride == 1 {
                        dst[x_lo..x_hi].copy_from_slice(&src_row[x_lo + e - 1..x_hi + e - 1]);
                    } else {
                        for x in x_lo..x_hi {
                            dst[x] = src_row[stride * x + e - 1];
                        }
                    }
                }
            }
        }
    }
}

/// Batch groups the weight gradient is split into: a fixed count, so that the sum's order (and
/// the result) does not depend on how many threads run them; each group is one GEMM with a
/// long inner dimension (16 images × 196 pixels in the model) rather than one small GEMM per image.
const GRAD_GROUPS: usize = 4;

/// `dst := (accumulate ? dst : 0) + lhs · rhs` for row-major `dst` [m, n] and `lhs` [m, k]
/// (row stride `lhs_rs`), and `rhs` [k, n] given by its strides.
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul(
    dst: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    lhs: &[f32],
    lhs_rs: usize,
    rhs: &[f32],
    rhs_cs: usize,
    rhs_rs: usize,
    accumulate: bool,
) {
    assert!(dst.len() >= m * n && lhs.len() >= (m - 1) * lhs_rs + k);
    assert!(rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
    // The relaxed-SIMD browser module has its own fused multiply-add kernel.
    #[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
    // SAFETY: this build is loaded only where the engine validated relaxed SIMD (a module with an
    // instruction the engine lacks does not compile at all), so the target feature is there.
    unsafe {
        super::fma_gemm::matmul(dst, m, n, k, lhs, lhs_rs, rhs, rhs_cs, rhs_rs, accumulate)
    };
    #[cfg(not(all(target_arch = "wasm32", feature = "relaxed-simd")))]
    // SAFETY: the asserts above keep every index the strides reach inside the three slices,
    // and `dst` is borrowed mutably, so it overlaps neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            1,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    };
}

/// Runs `f(group)` for `0..groups`, on rayon's threads natively, in order in the browser.
fn map_groups<T: Send>(groups: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..groups).into_par_iter().map(f).collect()
    }
    #[cfg(target_arch = "wasm32")]
    (0..groups).map(f).collect()
}

/// Gradients of a 3×3 layer from one im2col per image:
/// - `dw = Σ_batch lhs_b · cols_bᵀ` → [m, c·9], and
/// - when `weight` ([m, c·9]) is given, `dx_b = weight · cols_b` → [batch, m, p, p],
///
/// where `lhs` is [batch, m, p, p], `src` [batch, c, side, side], and `cols_b` is
/// [`im2col3x3`] of `src_b` on the p × p grid with `stride`. Used as:
/// - convolution, stride 1: lhs = output gradient (m = c_out), src = input → dw [c_out, c_in, 3, 3];
/// - transposed convolution, stride 2, padding 1: lhs = input (m = c_in), src = output gradient
///   → dw [c_in, c_out, 3, 3] (output pixel 2·y + a − 1 takes input pixel y through tap a), and
///   dx, which reads the same patches through the same weight.
#[allow(clippy::too_many_arguments)]
pub(crate) fn layer_grads(
    lhs: &[f32],
    m: usize,
    src: &[f32],
    c: usize,
    side: usize,
    stride: usize,
    p: usize,
    batch: usize,
    weight: Option<&[f32]>,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let (n, plane) = (c * 9, p * p);
    let groups = batch.clamp(1, GRAD_GROUPS);
    let parts = map_groups(groups, |g| {
        let images = g * batch / groups..(g + 1) * batch / groups;
        let k = images.len() * plane;
        let mut cols = vec![0.0f32; n * k];
        // This group's `lhs` images side by side: [m, images · p · p].
        let mut lhs_g = vec![0.0f32; m * k];
        let mut dx = weight.map(|_| vec![0.0f32; images.len() * m * plane]);
        for (i, b) in images.clone().enumerate() {
            im2col3x3(&src[b * c * side * side..][..c * side * side], c, side, stride, p, &mut cols, k, i * plane);
            for mm in 0..m {
                lhs_g[mm * k + i * plane..][..plane].copy_from_slice(&lhs[(b * m + mm) * plane..][..plane]);
            }
        }
        let mut dw = vec![0.0f32; m * n];
        // dw_g = lhs_g · cols_gᵀ: element (kk, nn) of the right side at cols[nn·k + kk].
        matmul(&mut dw, m, n, k, &lhs_g, k, &cols, k, 1, false);
        if let (Some(dx), Some(w)) = (dx.as_mut(), weight) {
            for i in 0..images.len() {
                // dx_i = weight · (image i's columns of cols): element (nn, j) at cols[nn·k + i·plane + j].
                matmul(&mut dx[i * m * plane..][..m * plane], m, plane, n, w, n, &cols[i * plane..], 1, k, false);
            }
        }
        (dw, dx)
    });
    let mut dw = vec![0.0f32; m * n];
    let mut dx = weight.map(|_| Vec::with_capacity(batch * m * plane));
    for (part_dw, part_dx) in parts {
        for (t, v) in dw.iter_mut().zip(&part_dw) {
            *t += v;
        }
        if let (Some(dx), Some(part)) = (dx.as_mut(), part_dx) {
            dx.extend_from_slice(&part);
        }
    }
    (dw, dx)
}
