//! 3×3 convolutions, stride 1, zero padding 1: the forward pass and the input gradient of each
//! shape, and the weight gradient with one output channel ([`thin_conv_grad_w`]) or one input
//! channel and pooling after it ([`unpooled_grads_w`]; the others are
//! [`layer_grads`](super::gemm::layer_grads)'s). One input channel: GEMMs over the 3×3 patches
//! ([`patch_conv`]); one output channel: sums of shifted planes ([`correlate3x3_add`],
//! [`thin_conv_grad_w`]); many to many: three GEMMs over shifted rows ([`wide_conv`]).

use super::gemm::{Gemm, gemm_width, im2col3x3, plane_sum, shifted_copy};
use super::pool::{Columns, unpool_plane};
use super::{
    SUM_LANES, assume_written, collect_chunks, collect_chunks_with, copy_row, f32_lanes, filled_planes, zeroed,
};
use multiversion::multiversion;
use std::mem::MaybeUninit;
use std::ops::Range;

/// `out[i][j] += Σ k[3·a + b] · input[i + a − 1][j + b − 1]` over the taps inside the
/// `side × side` plane (zero padding 1): one 3×3 cross-correlation, added to `out`.
#[inline(always)]
fn correlate3x3_add(out: &mut [f32], input: &[f32], side: usize, k: &[f32; 9]) {
    let s = side;
    for i in 0..s {
        let row = &mut out[i * s..(i + 1) * s];
        for a in 0..3 {
            let r = i + a;
            if r == 0 || r > s {
                continue; // input row i + a − 1 is outside the plane
            }
            let src = &input[(r - 1) * s..r * s];
            let (k0, k1, k2) = (k[3 * a], k[3 * a + 1], k[3 * a + 2]);
            if s == 1 {
                row[0] += k1 * src[0];
                continue;
            }
            // Interior columns: all three taps present; three shifted views vectorise.
            for (((o, &l), &c), &rr) in row[1..s - 1].iter_mut().zip(&src[..s - 2]).zip(&src[1..s - 1]).zip(&src[2..]) {
                *o += k0 * l + k1 * c + k2 * rr;
            }
            row[0] += k1 * src[0] + k2 * src[1];
            row[s - 1] += k0 * src[s - 2] + k1 * src[s - 1];
        }
    }
}

/// The 3×3 kernel `weight[o][i]` of a [c_out, c_in, 3, 3] weight.
fn kernel(weight: &[f32], c_in: usize, o: usize, i: usize) -> [f32; 9] {
    let at = (o * c_in + i) * 9;
    weight[at..at + 9].try_into().expect("9 taps")
}

/// Output rows of one block of [`thin_conv_forward`]: independent sums, so that the additions
/// of one do not wait on the last of another.
const THIN_ROWS: usize = 4;
/// Columns of one block: two AVX2 vectors, so that a block keeps 8 sums in flight.
const THIN_COLS: usize = 16;

/// Columns of one block where the CPU has AVX-512: two of its vectors (8 sums in flight, as with
/// AVX2; one vector per row left the additions waiting on each other: docs/benchmarks.md).
const THIN_WIDE: usize = 32;

/// One block of [`thin_conv_forward`]: THIN_ROWS rows from `y0`, COLS columns from `x0`, of
/// which the first `s - x0` at most are written.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn thin_block<const COLS: usize>(
    padded: &[f32],
    taps: &[f32],
    bias: f32,
    ps: usize,
    y0: usize,
    x0: usize,
    out_plane: &mut [MaybeUninit<f32>],
    s: usize,
) {
    let planes = taps.len() / 9;
    // The last load: plane `planes − 1`, row y0 + THIN_ROWS + 1, columns from x0 + 2.
    assert!(
        planes > 0 && ((planes - 1) * ps + y0 + THIN_ROWS + 1) * ps + x0 + 2 + COLS <= padded.len(),
        "thin_block: {planes} planes of rows of {ps} in {} floats, block at ({y0}, {x0})",
        padded.len()
    );
    let mut acc = [[bias; COLS]; THIN_ROWS];
    for (i, k) in taps.chunks_exact(9).enumerate() {
        // Plane i and what follows it: a block wider than the side reads on into the next.
        let src = &padded[i * ps * ps..];
        for a in 0..3 {
            for e in 0..3 {
                let kv = k[3 * a + e];
                for (r, sums) in acc.iter_mut().enumerate() {
                    let at = (y0 + r + a) * ps + x0 + e;
                    for (l, t) in sums.iter_mut().enumerate() {
                        // SAFETY: `src` starts at plane i < planes, and at + l ≤ (y0 + THIN_ROWS
                        // + 1)·ps + x0 + 2 + COLS − 1 (r < THIN_ROWS, a, e ≤ 2, l < COLS): inside
                        // `padded` by the assert. Checked, the bounds checks kept the AVX2
                        // version's sums in memory (docs/benchmarks.md).
                        *t += kv * unsafe { *src.get_unchecked(at + l) };
                    }
                }
            }
        }
    }
    let width = COLS.min(s - x0);
    for (r, sums) in acc.iter().enumerate() {
        for (d, &v) in out_plane[(y0 + r) * s + x0..][..width].iter_mut().zip(sums) {
            d.write(v);
        }
    }
}

/// Where the blocks of `len` rows start along a side of `s` ≥ `len`: every `len`, and the last one
/// flush with the end (it overlaps the one before; those outputs are computed twice, alike).
fn block_starts(s: usize, len: usize) -> impl Iterator<Item = usize> {
    (0..s / len).map(move |i| i * len).chain((!s.is_multiple_of(len)).then_some(s - len))
}

/// Forward pass: [batch, c_in, s, s] → [batch, c_out, s, s].
///
/// Natively, per output block of THIN_ROWS × THIN_COLS (THIN_WIDE columns with AVX-512, a row's
/// last block written only as far as the side), the sums are accumulated over every input
/// channel and tap before they are written, reading the image from a copy with a zero border (so
/// that every tap is a plain load). In the browser, and for sides narrower than a block, whole
/// shifted planes are added instead ([`correlate3x3_add`]): there the border copy's row copies are one
/// `memory.copy` call each, and the blocked version measured slower (docs/benchmarks.md).
#[multiversion(targets = "simd")]
pub(super) fn thin_conv_forward(x: &[f32], weight: &[f32], bias: &[f32], dims: [usize; 4], c_out: usize) -> Vec<f32> {
    let [batch, c_in, s, _] = dims;
    let plane = s * s;
    if cfg!(target_arch = "wasm32") || s < THIN_ROWS.max(THIN_COLS) {
        return collect_chunks(batch * c_out * plane, c_out * plane, |b, image| {
            let image = filled_planes(image, &bias[..c_out], plane);
            for (o, out_plane) in image.chunks_mut(plane).enumerate() {
                for i in 0..c_in {
                    let x_plane = &x[(b * c_in + i) * plane..][..plane];
                    correlate3x3_add(out_plane, x_plane, s, &kernel(weight, c_in, o, i));
                }
            }
            image
        });
    }
    // The padded copy, [c_in, s + 2, s + 2]: its border is never written, so it stays zero.
    // Then THIN_WIDE floats, read past the last row by a row's last block.
    let ps = s + 2;
    let wide = f32_lanes() == 16;
    collect_chunks_with(batch * c_out * plane, c_out * plane, c_in * ps * ps + THIN_WIDE, |padded, b, image| {
        for (i, src) in x[b * c_in * plane..][..c_in * plane].chunks_exact(plane).enumerate() {
            for (y, row) in src.chunks_exact(s).enumerate() {
                copy_row(&mut padded[(i * ps + y + 1) * ps + 1..][..s], row);
            }
        }
        for (o, out_plane) in image.chunks_exact_mut(plane).enumerate() {
            let taps = &weight[o * c_in * 9..][..c_in * 9];
            for y0 in block_starts(s, THIN_ROWS) {
                // A row's last block reads past the side and is written only as far as it.
                if wide {
                    for x0 in (0..s).step_by(THIN_WIDE) {
                        thin_block::<THIN_WIDE>(padded, taps, bias[o], ps, y0, x0, out_plane, s);
                    }
                } else {
                    for x0 in (0..s).step_by(THIN_COLS) {
                        thin_block::<THIN_COLS>(padded, taps, bias[o], ps, y0, x0, out_plane, s);
                    }
                }
            }
        }
        // SAFETY: the blocks cover every row (`block_starts` reaches the end of a side of at least
        // one block) and every column (blocks every COLS from 0, each written up to the side) of
        // every plane, and each block wrote its outputs.
        unsafe { assume_written(image) }
    })
}

/// A convolution with one input channel as one GEMM per image over its 3×3 patches
/// ([`im2col3x3`], nine rows): `weight` [c_out, 9] · [9, s·s], written into the output image
/// on top of `bias` (or zero).
#[multiversion(targets = "simd")]
fn patch_conv(x: &[f32], weight: &[f32], bias: Option<&[f32]>, batch: usize, s: usize, c_out: usize) -> Vec<f32> {
    let plane = s * s;
    // The entries of `cols` outside the image are the same for every image: zero from the start.
    collect_chunks_with(batch * c_out * plane, c_out * plane, 9 * plane, |cols, b, image| {
        im2col3x3(&x[b * plane..][..plane], 1, s, 1, s, cols, plane, 0);
        let product = Gemm { m: c_out, n: plane, k: 9, lhs: weight, lhs_rs: 9, rhs: cols, rhs_cs: 1, rhs_rs: plane };
        match bias {
            Some(bias) => {
                let image = filled_planes(image, bias, plane);
                product.run(image, true);
                image
            }
            None => product.write(image),
        }
    })
}

/// Forward pass of a 1 → c_out convolution (`enc1`).
pub(super) fn patch_conv_forward(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    [batch, _, s, _]: [usize; 4],
    c_out: usize,
) -> Vec<f32> {
    patch_conv(x, weight, Some(bias), batch, s, c_out)
}

/// Input gradient of a c_in → 1 convolution (`out`): the output gradient's one plane
/// convolved with each input channel's kernel rotated by 180°, the same 1 → c_in shape.
pub(crate) fn patch_conv_grad_x(
    grad: &[f32],
    weight: &[f32],
    batch: usize,
    c_in: usize,
    _c_out: usize,
    s: usize,
) -> Vec<f32> {
    let rotated: Vec<f32> = weight.chunks_exact(9).flat_map(|k| k.iter().rev().copied()).collect();
    patch_conv(grad, &rotated, None, batch, s, c_in)
}

/// Gradient with respect to the input: each input plane collects its output gradients through
/// the kernels rotated by 180°. [batch, c_out, s, s] → [batch, c_in, s, s].
#[multiversion(targets = "simd")]
pub(crate) fn thin_conv_grad_x(
    grad: &[f32],
    weight: &[f32],
    batch: usize,
    c_in: usize,
    c_out: usize,
    s: usize,
) -> Vec<f32> {
    let plane = s * s;
    collect_chunks(batch * c_in * plane, c_in * plane, |b, image| {
        let image = zeroed(image);
        for (i, dx) in image.chunks_mut(plane).enumerate() {
            for o in 0..c_out {
                let mut k = kernel(weight, c_in, o, i);
                k.reverse(); // k[3a + b] → k[3(2 − a) + (2 − b)]
                correlate3x3_add(dx, &grad[(b * c_out + o) * plane..][..plane], s, &k);
            }
        }
        image
    })
}

/// `Σ_j a[j] · b[j]` over slices of one length, added to SUM_LANES partial sums (`acc`) and,
/// for the elements short of a whole block, to `rest`.
#[inline(always)]
fn dot_into(acc: &mut [f32; SUM_LANES], rest: &mut f32, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    // A local copy, which stays in registers across the loop (through `acc`, a runtime-indexed
    // array element, LLVM stored and reloaded the sums every step).
    let mut sums = *acc;
    let (mut ab, mut bb) = (a.chunks_exact(SUM_LANES), b.chunks_exact(SUM_LANES));
    for (x, y) in (&mut ab).zip(&mut bb) {
        for l in 0..SUM_LANES {
            sums[l] += x[l] * y[l];
        }
    }
    *acc = sums;
    for (x, y) in ab.remainder().iter().zip(bb.remainder()) {
        *rest += x * y;
    }
}

/// Columns of one block of [`thin_conv_grad_w`]'s sums: one AVX2 vector, so that the nine
/// taps' sums take nine of its sixteen vector registers.
const GRAD_COLS: usize = 8;

/// Adds to each tap's `L` sums the products of a plane's output gradients (`g`, s × s) in blocks
/// of `L` columns over `cols` (a multiple of `L` long) with the inputs that tap reads for them,
/// from a copy of the input plane with a zero border one wide (`padded`, rows of `ps` = s + 2):
/// the nine sums stay in registers across the plane. Its own function, not inlined: inlined into
/// the loop over images, LLVM kept the sums in memory or built the shifted inputs with shuffles
/// (each 2–5× slower; docs/benchmarks.md).
#[multiversion(targets = "simd")]
#[inline(never)]
fn plane_taps<const L: usize>(
    sums: &mut [[f32; L]; 9],
    padded: &[f32],
    ps: usize,
    g: &[f32],
    s: usize,
    cols: Range<usize>,
) {
    assert!(
        cols.end <= s && ps == s + 2 && padded.len() >= ps * ps && g.len() >= s * s && cols.len().is_multiple_of(L),
        "plane_taps: columns {cols:?} of a side of {s}, padded rows of {ps}"
    );
    let mut acc = *sums;
    for (y, g_row) in g[..s * s].chunks_exact(s).enumerate() {
        for x0 in cols.clone().step_by(L) {
            for (t, sums) in acc.iter_mut().enumerate() {
                let at = (y + t / 3) * ps + x0 + t % 3;
                for (l, sum) in sums.iter_mut().enumerate() {
                    // SAFETY: x0 + l < cols.end ≤ s = g_row's length, and at + l < (y + 3)·ps ≤
                    // ps² ≤ padded's length (asserted above). Indexed, the bounds checks (nine
                    // per block, LLVM did not hoist them) took longer than the products.
                    unsafe { *sum += g_row.get_unchecked(x0 + l) * padded.get_unchecked(at + l) };
                }
            }
        }
    }
    *sums = acc;
}

/// The nine taps' sums of [`plane_taps`] over planes of side `s`, kept side by side over blocks
/// of GRAD_COLS columns, then 4, then 1, and added up at the end.
struct TapSums {
    s: usize,
    by8: [[f32; GRAD_COLS]; 9],
    by4: [[f32; 4]; 9],
    by1: [[f32; 1]; 9],
}

impl TapSums {
    fn new(s: usize) -> Self {
        TapSums { s, by8: [[0.0; GRAD_COLS]; 9], by4: [[0.0; 4]; 9], by1: [[0.0; 1]; 9] }
    }

    /// Adds the products of one plane's gradient `g` (s × s) with the inputs each tap reads from
    /// `padded` (the input plane with a zero border, rows of s + 2).
    #[inline(always)]
    fn add(&mut self, padded: &[f32], g: &[f32]) {
        let s = self.s;
        let (wide, narrow) = (s / GRAD_COLS * GRAD_COLS, s / 4 * 4);
        plane_taps(&mut self.by8, padded, s + 2, g, s, 0..wide);
        plane_taps(&mut self.by4, padded, s + 2, g, s, wide..narrow);
        plane_taps(&mut self.by1, padded, s + 2, g, s, narrow..s);
    }

    fn total(&self) -> [f32; 9] {
        std::array::from_fn(|t| self.by8[t].iter().sum::<f32>() + self.by4[t].iter().sum::<f32>() + self.by1[t][0])
    }
}

/// Gradient with respect to the weight: [c_out, c_in, 3, 3].
/// `dw[o][i][a][e] = Σ_batch Σ_(y, x) grad[o][y][x] · input[i][y + a − 1][x + e − 1]`.
///
/// Natively, per (o, i) pair, each input plane is copied once into a buffer with a zero border
/// and the nine taps' sums are kept side by side over blocks of GRAD_COLS columns (then 4, then
/// 1): each gradient block is loaded once for its nine products, where one dot product per tap
/// loaded it nine times. In the browser, and for sides narrower than a block,
/// [`grad_w_by_planes`]. Either way the order of the sums is fixed per pair, whatever the thread
/// count.
#[multiversion(targets = "simd")]
pub(crate) fn thin_conv_grad_w(x: &[f32], grad: &[f32], dims: [usize; 4], c_out: usize) -> Vec<f32> {
    let [batch, c_in, s, _] = dims;
    if cfg!(target_arch = "wasm32") || s < GRAD_COLS {
        return grad_w_by_planes(x, grad, dims, c_out);
    }
    let (plane, ps) = (s * s, s + 2);
    // The padded plane, (s + 2)²: its border is never written, so it stays zero.
    collect_chunks_with(c_out * c_in * 9, 9, ps * ps, |padded, pair, taps| {
        let (o, i) = (pair / c_in, pair % c_in);
        let mut sums = TapSums::new(s);
        for b in 0..batch {
            let src = &x[(b * c_in + i) * plane..][..plane];
            for (y, row) in src.chunks_exact(s).enumerate() {
                copy_row(&mut padded[(y + 1) * ps + 1..][..s], row);
            }
            sums.add(padded, &grad[(b * c_out + o) * plane..][..plane]);
        }
        taps.write_copy_of_slice(&sums.total())
    })
}

/// Weight and bias gradients of a 1 → c_out convolution that a leaky ReLU of `slope` and 2 × 2
/// max-pooling followed (`enc1`), from its input x [batch, 1, s, s], its sums [batch, c_out, s, s]
/// and the pooled output's gradient [batch, c_out, s / 2, s / 2] → (dw [c_out, 1, 3, 3],
/// db \[c_out]); `None` where the side is narrower than a block of [`plane_taps`] or in the
/// browser (there [`layer_grads`](super::gemm::layer_grads)' GEMM).
///
/// Per output channel, over the images in order: the sums' gradient made one plane at a time in a
/// work buffer ([`unpool_plane`]), its sum added to the bias gradient, and its nine taps' products
/// with the zero-bordered image taken as [`thin_conv_grad_w`] takes them. As a GEMM
/// ([9, s²] patches · [s², c_out] per image) the nine rows and the long inner dimension left most
/// of `gemm`'s tiles empty and its packing of the gradient cost more than the products
/// (docs/benchmarks.md).
#[multiversion(targets = "simd")]
pub(crate) fn unpooled_grads_w(
    x: &[f32],
    sums: &[f32],
    grad: &[f32],
    slope: f32,
    [batch, c_in, s, _]: [usize; 4],
    c_out: usize,
) -> Option<(Vec<f32>, Vec<f32>)> {
    if cfg!(target_arch = "wasm32") || s < GRAD_COLS || c_in != 1 || !s.is_multiple_of(2) {
        return None;
    }
    let (plane, ps) = (s * s, s + 2);
    // Every image with a zero border one wide, [batch, s + 2, s + 2].
    let padded = collect_chunks(batch * ps * ps, ps * ps, |b, image| {
        let image = zeroed(image);
        for (y, row) in x[b * plane..][..plane].chunks_exact(s).enumerate() {
            copy_row(&mut image[(y + 1) * ps + 1..][..s], row);
        }
        image
    });
    // Per output channel its nine taps, then its bias gradient.
    let per_channel = collect_chunks_with(c_out * 10, 10, plane, |g, o, out| {
        let mut columns = Columns::new(plane);
        let mut taps = TapSums::new(s);
        let mut bias = 0.0f32;
        for b in 0..batch {
            let at = (b * c_out + o) * plane;
            unpool_plane(&sums[at..][..plane], &grad[at / 4..][..plane / 4], g, s, slope, &mut columns);
            bias += plane_sum(g);
            taps.add(&padded[b * ps * ps..][..ps * ps], g);
        }
        let mut channel = [0.0f32; 10];
        channel[..9].copy_from_slice(&taps.total());
        channel[9] = bias;
        out.write_copy_of_slice(&channel)
    });
    let (mut dw, mut db) = (Vec::with_capacity(c_out * 9), Vec::with_capacity(c_out));
    for channel in per_channel.chunks_exact(10) {
        dw.extend_from_slice(&channel[..9]);
        db.push(channel[9]);
    }
    Some((dw, db))
}

/// [`thin_conv_grad_w`] by whole planes: per (o, i) pair, image and tap, one dot product over the whole plane: the gradient against
/// the input plane shifted by the tap's offset in the flattened plane, `(a − 1)·s + e − 1`, where
/// both are inside it (that bounds the rows), kept as SUM_LANES partial sums. Flattened, the
/// taps that read across the side also pair column 0 with the row above's last element (e = 0)
/// and column s − 1 with the next row's first (e = 2): those `s` products per tap are taken off
/// again. One long loop per tap instead of a short one per row (whose remainders cost as much as
/// the rows in the browser).
#[inline(always)]
fn grad_w_by_planes(x: &[f32], grad: &[f32], dims: [usize; 4], c_out: usize) -> Vec<f32> {
    let [batch, c_in, s, _] = dims;
    let plane = s * s;
    collect_chunks(c_out * c_in * 9, 9, |pair, taps| {
        let (o, i) = (pair / c_in, pair % c_in);
        let mut acc = [[0.0f32; SUM_LANES]; 9];
        let mut rest = [0.0f32; 9];
        for b in 0..batch {
            let g = &grad[(b * c_out + o) * plane..][..plane];
            let xin = &x[(b * c_in + i) * plane..][..plane];
            for a in 0..3 {
                for e in 0..3 {
                    let t = 3 * a + e;
                    // Output p reads input p + off, both in 0‥plane.
                    let off = (a * s + e) as isize - (s + 1) as isize;
                    let n = plane.saturating_sub(off.unsigned_abs());
                    if n == 0 {
                        continue; // a tap wholly outside a 1 × 1 plane
                    }
                    let (g_at, x_at) = if off >= 0 { (0, off as usize) } else { (off.unsigned_abs(), 0) };
                    dot_into(&mut acc[t], &mut rest[t], &g[g_at..][..n], &xin[x_at..][..n]);
                }
                // The products that wrapped around a row: inside the range above exactly when
                // the row they read is row 1‥s (e = 0, flat index (y + a − 1)·s − 1) or row
                // 0‥s − 2 counted from y + a (e = 2, flat index (y + a)·s).
                for y in 0..s {
                    if (2..=s + 1).contains(&(y + a)) {
                        rest[3 * a] -= g[y * s] * xin[(y + a - 1) * s - 1];
                    }
                    if y + a < s {
                        rest[3 * a + 2] -= g[y * s + s - 1] * xin[(y + a) * s];
                    }
                }
            }
        }
        let mut sums = [0.0f32; 9];
        for ((t, lanes), r) in sums.iter_mut().zip(&acc).zip(rest) {
            *t = lanes.iter().sum::<f32>() + r;
        }
        taps.write_copy_of_slice(&sums)
    })
}

/// The rows of a [c, s, s] image seen through the three columns of a 3×3 kernel, with a zero
/// row above and below: `rows[ci][e][y][x] = src[ci][y − 1][x + e − 1]` for y in 0‥s + 2
/// (zero where that is outside the image), [c, 3, s + 2, s]. The rows above and below are left
/// alone: `rows` must hold zeros there (a work buffer zeroed once, where nothing else writes
/// them); every other element is written. Filling them on every call was 192 calls of `memset`
/// of 7 or 14 floats an image.
///
/// Why: a 3×3 convolution, stride 1, padding 1, is then three GEMMs whose right side is this
/// buffer read from row a (`kernel row a`): the (ci, e) rows are evenly spaced, so no per-tap
/// copy is needed (im2col copies each input element nine times, this three).
fn shifted_rows3(src: &[f32], c: usize, s: usize, rows: &mut [f32]) {
    let len = (s + 2) * s;
    for ci in 0..c {
        let plane = &src[ci * s * s..][..s * s];
        for e in 0..3 {
            let dst = &mut rows[(ci * 3 + e) * len..][..len];
            shifted_copy(&mut dst[s..(s + 1) * s], plane, s, 0..s, 0, e as isize - 1);
        }
    }
}

/// Per kernel row `a`, the [c_out, c_in·3] matrix `taps[a][o][3i + e] = w(o, i, a, e)`: the
/// left side of [`wide_conv`]'s GEMMs, [3, c_out, c_in·3].
fn conv_taps(c_out: usize, c_in: usize, w: impl Fn(usize, usize, usize, usize) -> f32) -> Vec<f32> {
    let mut taps = Vec::with_capacity(9 * c_out * c_in);
    for a in 0..3 {
        for o in 0..c_out {
            for i in 0..c_in {
                taps.extend((0..3).map(|e| w(o, i, a, e)));
            }
        }
    }
    taps
}

/// 3×3 convolution, stride 1, zero padding 1, of x [batch, c_in, s, s] with `taps` (from
/// [`conv_taps`]) → [batch, c_out, s, s], plus `bias` \[c_out] if given: per image,
/// `out = bias + Σ_a taps[a] · rows3(x)` shifted down by `a` rows (three GEMMs with an inner
/// dimension of 3·c_in, written straight into the output image).
#[multiversion(targets = "simd")]
fn wide_conv(x: &[f32], taps: &[f32], bias: Option<&[f32]>, [batch, c_in, s, _]: [usize; 4], c_out: usize) -> Vec<f32> {
    let (plane, k, len) = (s * s, 3 * c_in, (s + 2) * s);
    // Where `wide` ([`gemm_width`]) is more than `plane`, the GEMMs compute `wide` columns into a
    // work buffer whose first `plane` columns are copied out; the rows' last wide − plane floats
    // stay zero.
    let wide = gemm_width(plane);
    let (rows_len, out_len) = (k * len + (wide - plane), if wide == plane { 0 } else { c_out * wide });
    collect_chunks_with(batch * c_out * plane, c_out * plane, rows_len + out_len, |scratch, b, image| {
        let (rows, out) = scratch.split_at_mut(rows_len);
        shifted_rows3(&x[b * c_in * plane..][..c_in * plane], c_in, s, rows);
        // image[o][y·s + x] = bias[o] + Σ_a Σ_(i, e) taps[a][o][3i + e] · rows[i][e][y + a][x]
        let row = |a: usize| Gemm {
            m: c_out,
            n: wide,
            k,
            lhs: &taps[a * c_out * k..],
            lhs_rs: k,
            rhs: &rows[a * s..],
            rhs_cs: 1,
            rhs_rs: len,
        };
        if wide == plane {
            let (image, first) = match bias {
                Some(bias) => (filled_planes(image, bias, plane), 0),
                None => (row(0).write(image), 1),
            };
            for a in first..3 {
                row(a).run(image, true);
            }
            return image;
        }
        let first = match bias {
            Some(bias) => {
                for (o, &v) in out.chunks_exact_mut(wide).zip(bias) {
                    o.fill(v);
                }
                0
            }
            None => {
                row(0).run(out, false);
                1
            }
        };
        for a in first..3 {
            row(a).run(out, true);
        }
        for (dst, src) in image.chunks_exact_mut(plane).zip(out.chunks_exact(wide)) {
            dst.write_copy_of_slice(&src[..plane]);
        }
        // SAFETY: c_out planes, each copied whole.
        unsafe { assume_written(image) }
    })
}

/// The forward pass of a wide 3×3 convolution (weight [c_out, c_in, 3, 3]).
pub(super) fn wide_conv_forward(x: &[f32], weight: &[f32], bias: &[f32], dims: [usize; 4], c_out: usize) -> Vec<f32> {
    let c_in = dims[1];
    let taps = conv_taps(c_out, c_in, |o, i, a, e| weight[(o * c_in + i) * 9 + 3 * a + e]);
    wide_conv(x, &taps, Some(bias), dims, c_out)
}

/// Its input gradient: the output gradient ([batch, c_out, s, s]) convolved with the kernels
/// transposed (c_out ↔ c_in) and rotated by 180° → [batch, c_in, s, s].
pub(crate) fn wide_conv_grad_x(
    grad: &[f32],
    weight: &[f32],
    batch: usize,
    c_in: usize,
    c_out: usize,
    s: usize,
) -> Vec<f32> {
    let taps = conv_taps(c_in, c_out, |i, o, a, e| weight[(o * c_in + i) * 9 + 3 * (2 - a) + (2 - e)]);
    wide_conv(grad, &taps, None, [batch, c_out, s, s], c_in)
}
