//! The matrix product of the browser modules: a 4 × 8 register tile of multiply-adds, fused
//! (`f32x4.relaxed_madd`, one instruction on a CPU with FMA) in the relaxed-SIMD module
//! (`www/pkg-cpu-relaxed/`, built with the `relaxed-simd` feature), `f32x4.mul` then `f32x4.add`
//! in the others. Same contract as [`Gemm::run`]. Without relaxed SIMD this tile also
//! runs a train step faster than the `gemm` crate's wasm micro-kernel (docs/benchmarks.md).
//!
//! The products here are small (32 rows; 9 to 3,136 deep; up to 784 columns, see `conv.rs`,
//! `conv_transpose.rs`, `gemm.rs`), so there is no cache blocking: a panel of 8 columns of the
//! right side, `k` × 32 bytes, stays in L1 while every 4-row block of the left side runs over it.

use self::lanes::{V, add, load, madd, splat, store};
use super::gemm::Gemm;

/// Four f32 lanes: wasm's `v128` in the browser modules, whose multiply-add is fused with relaxed
/// SIMD and a multiply then an add without; natively (for this file's tests only) an array whose
/// fused multiply-add rounds once, as `f32x4.relaxed_madd` does on FMA hardware.
#[cfg(target_arch = "wasm32")]
mod lanes {
    use core::arch::wasm32::{f32x4_add, f32x4_splat, v128, v128_load, v128_store};
    pub type V = v128;
    #[inline(always)]
    pub fn splat(x: f32) -> V {
        f32x4_splat(x)
    }
    #[cfg(feature = "relaxed-simd")]
    #[inline]
    #[target_feature(enable = "relaxed-simd")]
    pub fn madd(a: V, b: V, c: V) -> V {
        core::arch::wasm32::f32x4_relaxed_madd(a, b, c)
    }
    #[cfg(not(feature = "relaxed-simd"))]
    #[inline(always)]
    pub fn madd(a: V, b: V, c: V) -> V {
        f32x4_add(core::arch::wasm32::f32x4_mul(a, b), c)
    }
    #[inline(always)]
    pub fn add(a: V, b: V) -> V {
        f32x4_add(a, b)
    }
    /// # Safety
    /// `p` readable for 4 floats.
    #[inline(always)]
    pub unsafe fn load(p: *const f32) -> V {
        // SAFETY: the caller's; wasm loads need no alignment.
        unsafe { v128_load(p as *const v128) }
    }
    /// # Safety
    /// `p` writable for 4 floats.
    #[inline(always)]
    pub unsafe fn store(p: *mut f32, v: V) {
        // SAFETY: the caller's.
        unsafe { v128_store(p as *mut v128, v) }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod lanes {
    pub type V = [f32; 4];
    pub fn splat(x: f32) -> V {
        [x; 4]
    }
    pub fn madd(a: V, b: V, c: V) -> V {
        std::array::from_fn(|i| a[i].mul_add(b[i], c[i]))
    }
    pub fn add(a: V, b: V) -> V {
        std::array::from_fn(|i| a[i] + b[i])
    }
    /// # Safety
    /// `p` readable for 4 floats.
    pub unsafe fn load(p: *const f32) -> V {
        // SAFETY: the caller's.
        unsafe { std::ptr::read_unaligned(p as *const V) }
    }
    /// # Safety
    /// `p` writable for 4 floats.
    pub unsafe fn store(p: *mut f32, v: V) {
        // SAFETY: the caller's.
        unsafe { std::ptr::write_unaligned(p as *mut V, v) }
    }
}

/// Rows × columns of the register tile: 8 accumulators of 4 lanes, plus 2 loads of the right
/// side and one broadcast of the left, fit the 16 vector registers V8 allocates on x86-64 and
/// arm64 without spilling.
const MR: usize = 4;
/// Vectors per row of the tile, and its columns.
const NV: usize = 2;
const NR: usize = 4 * NV;

/// `dst := (accumulate ? dst : 0) + lhs · rhs`, [m, n] row-major at `dst`; the caller has checked
/// the inputs' indices in bounds.
///
/// In the relaxed-SIMD module only this function and what it inlines are compiled with relaxed
/// SIMD (not the whole crate graph: macerator 0.5.2, under flex, does not compile with
/// `+relaxed-simd` on wasm32).
///
/// # Safety
/// `dst` must be valid for writes of m·n floats and overlap neither input; with `accumulate` it
/// must hold m·n initialised floats (without, it is only written). In the relaxed-SIMD module,
/// the engine must run relaxed SIMD (it refuses the module otherwise).
#[cfg_attr(all(target_arch = "wasm32", feature = "relaxed-simd"), target_feature(enable = "relaxed-simd"))]
pub(super) unsafe fn matmul(dst: *mut f32, product: Gemm, accumulate: bool) {
    let Gemm { m, n, k, lhs, lhs_rs, rhs, rhs_cs, rhs_rs } = product;
    // A right side whose rows are contiguous is read in place; its last, narrower panel and every
    // panel of a column-major one are copied into `panel` ([k, NR], zero-padded) first.
    let mut panel = Vec::new();
    // A last block of fewer than MR rows, zero-padded to MR rows of k.
    let mut rows = Vec::new();
    for j0 in (0..n).step_by(NR) {
        let w = NR.min(n - j0);
        let (b, b_rs) = if rhs_cs == 1 && w == NR {
            (&rhs[j0..], rhs_rs)
        } else {
            panel.clear();
            panel.resize(k * NR, 0.0);
            for (p, out) in panel.chunks_exact_mut(NR).enumerate() {
                for (j, v) in out[..w].iter_mut().enumerate() {
                    *v = rhs[p * rhs_rs + (j0 + j) * rhs_cs];
                }
            }
            (&panel[..], NR)
        };
        for i0 in (0..m).step_by(MR) {
            let h = MR.min(m - i0);
            let (a, a_rs) = if h == MR {
                (&lhs[i0 * lhs_rs..], lhs_rs)
            } else {
                rows.clear();
                rows.resize(MR * k, 0.0);
                for r in 0..h {
                    rows[r * k..(r + 1) * k].copy_from_slice(&lhs[(i0 + r) * lhs_rs..][..k]);
                }
                (&rows[..], k)
            };
            assert!(a.len() >= (MR - 1) * a_rs + k && b.len() >= (k - 1) * b_rs + NR);
            // SAFETY: the assert above keeps the tile's reads (MR rows of k, k rows of NR) in
            // `a` and `b`.
            let acc = unsafe { tile(k, a.as_ptr(), a_rs, b.as_ptr(), b_rs) };
            for r in 0..h {
                let row = &acc[NV * r..NV * (r + 1)];
                // SAFETY: row i0 + r < m, columns j0‥j0 + w ≤ n: inside the caller's m·n floats,
                // read only with `accumulate`.
                unsafe {
                    let at = dst.add((i0 + r) * n + j0);
                    if w == NR {
                        // NV unaligned 4-float loads and stores.
                        for (v, &x) in row.iter().enumerate() {
                            let x = if accumulate { add(load(at.add(4 * v)), x) } else { x };
                            store(at.add(4 * v), x);
                        }
                    } else {
                        let mut t = [0.0f32; NR];
                        for (v, &x) in row.iter().enumerate() {
                            store(t.as_mut_ptr().add(4 * v), x);
                        }
                        for (j, &v) in t[..w].iter().enumerate() {
                            let o = at.add(j);
                            *o = if accumulate { *o + v } else { v };
                        }
                    }
                }
            }
        }
    }
}

/// The MR × NR block `Σ_p a[r·a_rs + p] · b[p·b_rs + j]`, as rows of NV vectors.
///
/// # Safety
/// `a` must be readable for MR rows of `k` floats `a_rs` apart, `b` for `k` rows of NR floats
/// `b_rs` apart.
#[inline]
#[cfg_attr(all(target_arch = "wasm32", feature = "relaxed-simd"), target_feature(enable = "relaxed-simd"))]
unsafe fn tile(k: usize, a: *const f32, a_rs: usize, b: *const f32, b_rs: usize) -> [V; NV * MR] {
    let mut acc = [splat(0.0); NV * MR];
    // SAFETY: every offset is inside the ranges the caller vouches for.
    unsafe {
        let rows: [*const f32; MR] = std::array::from_fn(|r| a.add(r * a_rs));
        for p in 0..k {
            let bp = b.add(p * b_rs);
            let bv: [V; NV] = std::array::from_fn(|v| load(bp.add(4 * v)));
            for (r, row) in rows.into_iter().enumerate() {
                let x = splat(*row.add(p));
                for (v, &y) in bv.iter().enumerate() {
                    acc[NV * r + v] = madd(x, y, acc[NV * r + v]);
                }
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tile_edge_and_layout_matches_the_gemm_crate() {
        let value = |i: usize| ((i * 7919 % 1013) as f32 / 1013.0 - 0.5) * 2.0;
        // Shapes of the model (32 rows; 9, 96, 288 deep; 49 to 784 wide) and every remainder
        // of the 4 × 8 tile.
        for &(m, n, k) in
            &[(32, 784, 9), (32, 196, 96), (32, 49, 288), (1, 1, 1), (3, 5, 2), (5, 9, 17), (6, 15, 4), (8, 16, 1)]
        {
            for column_major in [false, true] {
                for accumulate in [false, true] {
                    // A row stride wider than k, as the callers' shifted views have.
                    let lhs_rs = k + 3;
                    let lhs: Vec<f32> = (0..m * lhs_rs).map(value).collect();
                    let (rhs_cs, rhs_rs) = if column_major { (k, 1) } else { (1, n + 2) };
                    let rhs: Vec<f32> = (0..(k - 1) * rhs_rs + (n - 1) * rhs_cs + 1).map(|i| value(i + 5)).collect();
                    let start: Vec<f32> = (0..m * n).map(|i| value(i + 11)).collect();
                    let (mut got, mut want) = (start.clone(), start);
                    let product = Gemm { m, n, k, lhs: &lhs, lhs_rs, rhs: &rhs, rhs_cs, rhs_rs };
                    // SAFETY: `got` holds m·n floats; natively there is no target feature to have.
                    unsafe { matmul(got.as_mut_ptr(), product, accumulate) };
                    // What native builds run for the same call.
                    product.run(&mut want, accumulate);
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        assert!(
                            (g - w).abs() <= 1e-5 * (1.0 + k as f32),
                            "{m}×{n}×{k}, column-major {column_major}, accumulate {accumulate}: [{i}] {g} vs {w}"
                        );
                    }
                }
            }
        }
    }
}
