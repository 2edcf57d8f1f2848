//! The GEMM machinery the convolutions and the transposed convolution share: [`Gemm`] (the
//! `gemm` crate flex itself uses natively; `wasm_gemm.rs` in the browser modules),
//! [`im2col3x3`], and a 3×3 layer's weight gradient (and a transposed convolution's input
//! gradient) from one im2col per image ([`layer_grads`], which sums the bias gradient on the
//! way); the bias gradient of the other layers ([`bias_grad`]).

use super::pool::{Columns, unpool_plane};
use super::{SUM_LANES, assume_written, collect_chunks, copy_row, f32_lanes};
use multiversion::multiversion;
use std::mem::MaybeUninit;

/// Gradient with respect to the bias: `db[o] = Σ_batch Σ_pixels grad[o]`, [batch, c, s, s] → \[c]
/// (each plane's [`plane_sum`], then over the images in order: a fixed order). The layers whose
/// weight gradient [`layer_grads`] takes get it from there, summed while each image is in cache.
#[multiversion(targets = "simd")]
pub(crate) fn bias_grad(grad: &[f32], batch: usize, c: usize, plane: usize) -> Vec<f32> {
    collect_chunks(c, 1, |o, total| {
        let sum: f32 = (0..batch).map(|b| plane_sum(&grad[(b * c + o) * plane..][..plane])).sum();
        total.write_copy_of_slice(&[sum])
    })
}

/// `Σ values`, as SUM_LANES partial sums (independent additions) added up at the end.
#[inline(always)]
pub(super) fn plane_sum(values: &[f32]) -> f32 {
    let mut acc = [0.0f32; SUM_LANES];
    let mut blocks = values.chunks_exact(SUM_LANES);
    for block in &mut blocks {
        for (t, &v) in acc.iter_mut().zip(block) {
            *t += v;
        }
    }
    let mut rest = 0.0f32;
    for &v in blocks.remainder() {
        rest += v;
    }
    acc.iter().sum::<f32>() + rest
}

/// Writes the 3×3 patches of `src` ([c, side, side]) seen from a p × p grid with the given
/// stride into `cols`, a row-major matrix of c·9 rows and `row_len` columns, at column `offset`:
/// `cols[c·9 + 3a + e][offset + y·p + x] = src[c][stride·y + a − 1][stride·x + e − 1]`. Entries
/// outside `src` are written as zero or left alone: the caller zeroes `cols` once, and the same
/// entries are outside for every image.
#[allow(clippy::too_many_arguments)]
#[multiversion(targets = "simd")]
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
    // Stride 2 over an even side (the transposed convolutions): row 2y + a − 1 is row y of the
    // odd rows (a = 2) or row y − 1 of them (a = 0), or row y of the even ones (a = 1), and
    // columns alike; so each tap is one of the four phase planes, shifted by 0 or −1 in each
    // direction: each plane split by column parity, its rows copied into the four unshifted
    // taps' rows, then the five shifted ones copied from those.
    if stride == 2 && side == 2 * p {
        // Tap t reads phase 1 at shift −1 (t = 0), phase 0 (t = 1), phase 1 (t = 2).
        let tap = |t: usize| (usize::from(t != 1), isize::from(t == 0));
        let at = |ci: usize, a: usize, e: usize| (ci * 9 + 3 * a + e) * row_len + offset;
        // `split[px·side·p + r·p + x]` = the plane's element (r, 2x + px): pair i of the plane is
        // (2i, 2i + 1), and pair r·p + x is row r's column pair x. One loop over the plane, which
        // vectorises; per row (7 or 14 pairs) it was scalar.
        let half = side * p;
        let mut split = vec![0.0f32; 2 * half];
        for ci in 0..c {
            // Sliced to 2·half (= side²) so that LLVM sees every index below inside it.
            let plane = &src[ci * side * side..][..2 * half];
            let (even, odd) = split.split_at_mut(half);
            for i in 0..half {
                even[i] = plane[2 * i];
                odd[i] = plane[2 * i + 1];
            }
            // Phase (py, px), tap (py + 1, px + 1): its row y is row 2y + py of `split`'s half px.
            for py in 0..2 {
                for px in 0..2 {
                    let (to, part) = (at(ci, py + 1, px + 1), &split[px * half..][..half]);
                    for y in 0..p {
                        copy_row(&mut cols[to + y * p..][..p], &part[(2 * y + py) * p..][..p]);
                    }
                }
            }
            for a in 0..3 {
                let (py, dy) = tap(a);
                let ys = usize::from(a == 0)..p;
                for e in 0..3 {
                    let (px, dx) = tap(e);
                    if dy == 0 && dx == 0 {
                        continue;
                    }
                    // The phase's row comes after this tap's (a ≤ py + 1, e ≤ px + 1, one of them
                    // less): split there.
                    let (from, to) = (at(ci, py + 1, px + 1), at(ci, a, e));
                    let (head, tail) = cols.split_at_mut(from);
                    shifted_copy(&mut head[to..][..p * p], &tail[..p * p], p, ys.clone(), -dy, -dx);
                }
            }
        }
        return;
    }
    for ci in 0..c {
        let plane = &src[ci * side * side..][..side * side];
        for a in 0..3 {
            let (y_lo, y_hi) = range(a);
            for e in 0..3 {
                let (x_lo, x_hi) = range(e);
                let row = &mut cols[(ci * 9 + 3 * a + e) * row_len + offset..][..p * p];
                if stride == 1 && p == side {
                    shifted_copy(row, plane, side, y_lo..y_hi, a as isize - 1, e as isize - 1);
                    continue;
                }
                for y in y_lo..y_hi {
                    let src_row = &plane[(stride * y + a - 1) * side..][..side];
                    let dst = &mut row[y * p..(y + 1) * p];
                    for x in x_lo..x_hi {
                        dst[x] = src_row[stride * x + e - 1];
                    }
                }
            }
        }
    }
}

/// `dst[y·s + x] := src[(y + dy)·s + x + dx]` for the rows `ys` of an s-wide plane (dx ∈ {−1, 0,
/// 1}), as one flat copy clipped to `src`, then the column whose source lies past the row's edge
/// set back to zero (x = 0 for dx = −1, x = s − 1 for dx = 1: the flat copy wrapped a neighbouring
/// row's pixel in there).
///
/// Why one copy: row by row these are copies of 7 to 28 floats, and in the browser module each
/// is a `memory.copy` call into the engine (bulk memory is on for wasm32 since Rust 1.87).
pub(super) fn shifted_copy(dst: &mut [f32], src: &[f32], s: usize, ys: std::ops::Range<usize>, dy: isize, dx: isize) {
    let shift = dy * s as isize + dx;
    let lo = (ys.start * s).max((-shift).max(0) as usize);
    let hi = (ys.end * s).min((src.len() as isize - shift) as usize);
    if lo < hi {
        let from = (lo as isize + shift) as usize;
        dst[lo..hi].copy_from_slice(&src[from..from + (hi - lo)]);
    }
    let edge = match dx {
        -1 => 0,
        1 => s - 1,
        _ => return,
    };
    for y in ys {
        dst[y * s + edge] = 0.0;
    }
}

/// Batch groups the weight gradient is split into: a fixed count, so that the sum's order (and
/// the result) does not depend on how many threads run them; each group is one GEMM with a
/// long inner dimension (16 images × 196 pixels in the model) rather than one small GEMM per image.
pub(super) const GRAD_GROUPS: usize = 4;

/// Floats of im2col patches per GEMM of a weight gradient (256 KiB): within the L2 cache of the
/// CPUs this runs on (512 KiB per core or more since Zen 2 and Skylake-SP), with room for the
/// output gradient's rows beside them.
const SUB_BATCH_FLOATS: usize = 1 << 16;

/// The inner dimension a weight gradient's GEMM needs to gain little from a longer one (the
/// model's 14 × 14 planes: one image each; 7 × 7 ones: 4). Beyond it a sub-batch of several
/// images costs a copy of their output gradients side by side, which one image does not need.
const GRAD_MIN_K: usize = 196;

/// The columns a product of `n` columns is computed with: natively `n` rounded up to a multiple
/// of the lanes the `gemm` crate's micro-kernels run on ([`f32_lanes`]), which lets it read a
/// right side with unit column stride in place (for another `n` it first copies the whole right
/// side into panels: its `do_prepack_lhs` on the transposed problem, m % lanes ≠ 0), and on the
/// model's 14 × 14 and 7 × 7 planes (196, 49 columns) that copy cost more than computing the extra
/// columns and dropping them, up to 15 of 64 with AVX-512 (docs/benchmarks.md). In the browser
/// `n` itself: the modules' own kernel (`wasm_gemm.rs`) reads its right side in place whatever `n`.
#[inline(always)]
pub(super) fn gemm_width(n: usize) -> usize {
    if cfg!(target_arch = "wasm32") { n } else { n.next_multiple_of(f32_lanes()) }
}

/// A matrix product `lhs · rhs` → [m, n] row-major: `lhs` [m, k] row-major with row stride
/// `lhs_rs`, `rhs` [k, n] given by its column and row strides.
#[derive(Clone, Copy)]
pub(super) struct Gemm<'a> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub lhs: &'a [f32],
    pub lhs_rs: usize,
    pub rhs: &'a [f32],
    pub rhs_cs: usize,
    pub rhs_rs: usize,
}

impl Gemm<'_> {
    /// `dst += lhs · rhs` over the first m·n elements of `dst`; with `accumulate` false,
    /// `dst := lhs · rhs` (see [`Gemm::write`] for a `dst` not written yet).
    pub fn run(self, dst: &mut [f32], accumulate: bool) {
        let (m, n) = (self.m, self.n);
        assert!(dst.len() >= m * n, "Gemm::run: dst of {} floats for [{m}, {n}]", dst.len());
        // SAFETY: `dst` holds m·n initialised floats, and is borrowed mutably, so it overlaps
        // neither input.
        unsafe { self.product(dst.as_mut_ptr(), accumulate) };
    }

    /// `dst := lhs · rhs` into the first m·n elements of `dst`, not written yet, given back as the
    /// floats now there (every one is written, none read).
    pub fn write(self, dst: &mut [MaybeUninit<f32>]) -> &mut [f32] {
        let dst = &mut dst[..self.m * self.n];
        // SAFETY: `dst` is m·n floats, borrowed mutably; without `accumulate` nothing reads it.
        unsafe { self.product(dst.as_mut_ptr().cast(), false) };
        // SAFETY: the product wrote all m·n elements.
        unsafe { assume_written(dst) }
    }

    /// `dst := lhs · rhs` cropped to the first `width` of each row's n columns ([m, width]),
    /// into `dst`, not written yet, given back as floats: a product computed [`gemm_width`]
    /// columns wide, straight into `dst` where n = width, else into `scratch` (m·n floats) and its
    /// rows' first `width` floats copied.
    pub fn write_cropped<'d>(
        self,
        dst: &'d mut [MaybeUninit<f32>],
        width: usize,
        scratch: &mut [f32],
    ) -> &'d mut [f32] {
        if self.n == width {
            return self.write(dst);
        }
        let (m, n) = (self.m, self.n);
        self.run(scratch, false);
        let dst = &mut dst[..m * width];
        for (to, from) in dst.chunks_exact_mut(width).zip(scratch[..m * n].chunks_exact(n)) {
            to.write_copy_of_slice(&from[..width]);
        }
        // SAFETY: the m rows of `width` floats tile `dst`, each copied whole.
        unsafe { assume_written(dst) }
    }

    /// `dst := (accumulate ? dst : 0) + lhs · rhs`, [m, n] row-major at `dst`.
    ///
    /// # Safety
    /// `dst` must be valid for writes of m·n floats, overlap neither input, and, with
    /// `accumulate`, hold m·n initialised floats; without it, it is only written.
    unsafe fn product(self, dst: *mut f32, accumulate: bool) {
        let Gemm { m, n, k, lhs, lhs_rs, rhs, rhs_cs, rhs_rs } = self;
        assert!(lhs.len() >= (m - 1) * lhs_rs + k);
        assert!(rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
        // The browser modules have their own register-tile kernel.
        #[cfg(target_arch = "wasm32")]
        // SAFETY: `dst` is the caller's, the asserts above keep the inputs' indices in bounds. A
        // relaxed-SIMD build is loaded only where the engine validated relaxed SIMD (a module with
        // an instruction the engine lacks does not compile at all), so the target feature is there.
        unsafe {
            super::wasm_gemm::matmul(dst, self, accumulate)
        };
        #[cfg(not(target_arch = "wasm32"))]
        // SAFETY: `dst` is the caller's; the asserts above keep every index the strides reach inside
        // the two input slices. With `read_dst` false the crate only writes `dst`.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst,
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
}

/// Runs `f(scratch, index, item)` for each of `items`, on rayon's threads natively, in order in
/// the browser; `scratch` is a work buffer of `len` floats per thread, zeroed once and passed from
/// item to item as the last one left it (see [`super::collect_chunks_with`]).
pub(super) fn map_with<I: Send, T: Send>(
    items: Vec<I>,
    len: usize,
    f: impl Fn(&mut [f32], usize, I) -> T + Sync + Send,
) -> Vec<T> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        items.into_par_iter().enumerate().map_init(|| vec![0.0f32; len], |s, (g, item)| f(s, g, item)).collect()
    }
    #[cfg(target_arch = "wasm32")]
    {
        let mut scratch = vec![0.0f32; len];
        items.into_iter().enumerate().map(|(g, item)| f(&mut scratch, g, item)).collect()
    }
}

/// The spare capacity of `out` for `batch` images of `image` floats, split into `groups` runs
/// of whole images, group g's being images `g·batch/groups..(g + 1)·batch/groups` (as the weight
/// gradients' groups take them), to be written by that group; `groups` `None`s without `out`.
pub(super) fn group_runs(
    out: Option<&mut Vec<f32>>,
    batch: usize,
    image: usize,
    groups: usize,
) -> Vec<Option<&mut [MaybeUninit<f32>]>> {
    let mut runs: Vec<Option<&mut [MaybeUninit<f32>]>> = (0..groups).map(|_| None).collect();
    if let Some(out) = out {
        let mut rest = &mut out.spare_capacity_mut()[..batch * image];
        for (g, run) in runs.iter_mut().enumerate() {
            let images = (g + 1) * batch / groups - g * batch / groups;
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(images * image);
            *run = Some(head);
            rest = tail;
        }
    }
    runs
}

/// The left side of [`layer_grads`]: [batch, m, p, p] as it lies, or made an image at a time.
#[derive(Clone, Copy)]
pub(crate) enum Lhs<'a> {
    Dense(&'a [f32]),
    /// The gradient of a convolution's sums that leaky ReLU of `slope` and 2 × 2 max-pooling
    /// followed (`ops::conv3x3_leaky_pool`), from the sums ([batch, m, p, p]) and the pooled
    /// output's gradient ([batch, m, p / 2, p / 2]): each image's spread over its windows
    /// ([`unpool_plane`]) into the work buffer, where the GEMM reads it while it is in cache,
    /// instead of the whole gradient written to memory and read back.
    Unpooled {
        sums: &'a [f32],
        grad: &'a [f32],
        slope: f32,
    },
}

/// Which operand of [`layer_grads`] is the layer's output gradient, whose per-channel sums are the
/// bias gradient.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum BiasFrom {
    Lhs,
    Src,
}

/// What [`layer_grads`] returns: the weight gradient, the input gradient where asked for, and
/// the bias gradient.
pub(crate) struct Grads {
    pub weight: Vec<f32>,
    pub input: Option<Vec<f32>>,
    pub bias: Vec<f32>,
}

/// Gradients of a 3×3 layer from one im2col per image:
/// - `dw = Σ_batch lhs_b · cols_bᵀ` → [m, c·9],
/// - when `weight` ([m, c·9]) is given, `dx_b = weight · cols_b` → [batch, m, p, p], and
/// - the bias gradient, the sums of each channel of `lhs` or of `src` (`bias`) over the batch,
///   taken from each image while it is in cache (a pass of its own read the gradient from
///   memory again: docs/benchmarks.md),
///
/// where `lhs` is [batch, m, p, p], `src` [batch, c, side, side], and `cols_b` is
/// [`im2col3x3`] of `src_b` on the p × p grid with `stride`. Used as:
/// - convolution, stride 1: lhs = output gradient (m = c_out), src = input → dw [c_out, c_in, 3, 3];
/// - transposed convolution, stride 2, padding 1: lhs = input (m = c_in), src = output gradient
///   → dw [c_in, c_out, 3, 3] (output pixel 2·y + a − 1 takes input pixel y through tap a), and
///   dx, which reads the same patches through the same weight.
///
/// Every sum runs in a fixed order (images in groups of fixed bounds, the groups added in order),
/// whatever the number of threads.
#[allow(clippy::too_many_arguments)]
#[multiversion(targets = "simd")]
pub(crate) fn layer_grads(
    lhs: Lhs<'_>,
    m: usize,
    src: &[f32],
    c: usize,
    side: usize,
    stride: usize,
    p: usize,
    batch: usize,
    weight: Option<&[f32]>,
    bias: BiasFrom,
) -> Grads {
    let (n, plane) = (c * 9, p * p);
    let (bias_c, bias_plane) = match bias {
        BiasFrom::Lhs => (m, plane),
        BiasFrom::Src => (c, side * side),
    };
    assert!(
        matches!(lhs, Lhs::Dense(_)) || (p.is_multiple_of(2) && weight.is_none()),
        "layer_grads: an unpooled left side needs an even side ({p}) and no input gradient"
    );
    let groups = batch.clamp(1, GRAD_GROUPS);
    // Each group runs over its images a few at a time: enough for an inner dimension of
    // GRAD_MIN_K, no more than keeps their patches ([n, sub·plane]) in L2 between im2col writing
    // them and the GEMMs reading them.
    let sub = GRAD_MIN_K.div_ceil(plane).min(SUB_BATCH_FLOATS / (n * plane)).clamp(1, batch.div_ceil(groups));
    // Work buffers laid out for the largest sub-batch, so that every one puts image slot i at
    // the same columns (and the entries im2col leaves alone stay zero); a smaller one reads only
    // its first k columns.
    let row_len = sub * plane;
    // dx, [batch, m, p, p], written in place: group g's images are one run of it, handed to it.
    let mut dx = weight.map(|_| Vec::<f32>::with_capacity(batch * m * plane));
    let dx_runs = group_runs(dx.as_mut(), batch, m * plane, groups);
    // Patches, and (for several images, or made ones) their `lhs` rows side by side.
    let in_place = matches!(lhs, Lhs::Dense(_)) && sub == 1;
    // The input gradient's GEMMs compute `wide` columns ([`gemm_width`]) into a buffer of their
    // own, reading wide − plane floats past the patches' last row, which stay zero.
    let wide = gemm_width(plane);
    let (patches_len, dx_len) =
        (n * row_len + (wide - plane), if weight.is_some() && wide > plane { m * wide } else { 0 });
    let scratch_len = patches_len + if in_place { 0 } else { m * row_len } + dx_len;
    let parts = map_with(dx_runs, scratch_len, |scratch, g, mut dx_g| {
        let images = g * batch / groups..(g + 1) * batch / groups;
        // The sub-batch's patches, [n, row_len], and its `lhs` images side by side, [m, row_len]
        // (one image as it lies is read there: the same layout, without the copy).
        let (cols, rest) = scratch.split_at_mut(patches_len);
        let (lhs_g, dx_wide) = rest.split_at_mut(rest.len() - dx_len);
        let mut dw_t = vec![0.0f32; n * m];
        let mut bias_g = vec![0.0f32; bias_c];
        let mut columns = None;
        for (j, first) in images.clone().step_by(sub).enumerate() {
            let count = sub.min(images.end - first);
            for i in 0..count {
                let b = first + i;
                let image = &src[b * c * side * side..][..c * side * side];
                im2col3x3(image, c, side, stride, p, cols, row_len, i * plane);
                if bias == BiasFrom::Src {
                    for (t, plane) in bias_g.iter_mut().zip(image.chunks_exact(bias_plane)) {
                        *t += plane_sum(plane);
                    }
                }
                for mm in 0..m {
                    let at = (b * m + mm) * plane;
                    let row: &[f32] = match lhs {
                        Lhs::Dense(lhs) if in_place => &lhs[at..][..plane],
                        Lhs::Dense(lhs) => {
                            let row = &mut lhs_g[mm * row_len + i * plane..][..plane];
                            row.copy_from_slice(&lhs[at..][..plane]);
                            row
                        }
                        Lhs::Unpooled { sums, grad, slope } => {
                            let row = &mut lhs_g[mm * row_len + i * plane..][..plane];
                            let columns = columns.get_or_insert_with(|| Columns::new(plane));
                            unpool_plane(&sums[at..][..plane], &grad[at / 4..][..plane / 4], row, p, slope, columns);
                            row
                        }
                    };
                    if bias == BiasFrom::Lhs {
                        bias_g[mm] += plane_sum(row);
                    }
                }
            }
            let rhs: &[f32] = match lhs {
                Lhs::Dense(lhs) if in_place => &lhs[first * m * plane..][..m * plane],
                _ => lhs_g,
            };
            // dw_gᵀ += cols · lhs_gᵀ, [n, m]: `cols` is the left side as it lies (rows of k) and
            // only the m rows of `lhs_g` are read across (element (kk, mm) at
            // lhs_g[mm·row_len + kk]). The other way round, dw_g = lhs_g · colsᵀ, `wasm_gemm`
            // copies all n = c·9 rows of `cols` into panels: 9 times as many strided reads.
            let k = count * plane;
            Gemm { m: n, n: m, k, lhs: cols, lhs_rs: row_len, rhs, rhs_cs: row_len, rhs_rs: 1 }.run(&mut dw_t, j > 0);
            if let (Some(dx_g), Some(w)) = (dx_g.as_mut(), weight) {
                for i in 0..count {
                    // dx_b = weight · (image i's columns of cols): element (nn, jj) at
                    // cols[nn·row_len + i·plane + jj].
                    let dx_b = &mut dx_g[(first + i - images.start) * m * plane..][..m * plane];
                    let cols_i = &cols[i * plane..];
                    Gemm { m, n: wide, k: n, lhs: w, lhs_rs: n, rhs: cols_i, rhs_cs: 1, rhs_rs: row_len }
                        .write_cropped(dx_b, plane, dx_wide);
                }
            }
        }
        (dw_t, bias_g)
    });
    if let Some(dx) = dx.as_mut() {
        // SAFETY: the groups' runs tile `..batch·m·plane`, and each group wrote every image of its
        // run (`Gemm::write_cropped` writes all m·plane floats of an image).
        unsafe { dx.set_len(batch * m * plane) };
    }
    let (mut dw_t, mut db) = (vec![0.0f32; n * m], vec![0.0f32; bias_c]);
    for (part_dw, part_db) in parts {
        for (t, v) in dw_t.iter_mut().zip(&part_dw) {
            *t += v;
        }
        for (t, v) in db.iter_mut().zip(&part_db) {
            *t += v;
        }
    }
    // A loop, not `map(..).collect()`: a closure defined here carries this function's target
    // features, so the library's `collect` could not inline it and would call it per element.
    let mut dw = Vec::with_capacity(m * n);
    for mm in 0..m {
        for nn in 0..n {
            dw.push(dw_t[nn * m + mm]);
        }
    }
    Grads { weight: dw, input: dx, bias: db }
}
