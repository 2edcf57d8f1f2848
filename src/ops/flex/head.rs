//! The decoder's last two layers as one linear map ([`HeadKernels::up_conv_out`]): `up2`, a 3×3
//! transposed convolution (stride 2, padding 1, output padding 1, c → m channels), then `out`, a
//! 3×3 convolution (padding 1) of those m channels into one, with no activation between them.
//!
//! Why: with one output channel the two compose into a small map from the c input channels.
//! Output pixel q (per dimension) takes `up2`'s pixel r = q + t − 1 through `out`'s tap t, and r
//! takes input pixel p through `up2`'s tap a where r = 2p + a − 1; so q = 2p + a − t. Per
//! dimension the 9 pairs (a, t) fall into 6 [`Runs`] (same a − t, same input pixels inside), and
//! per image the whole map is 36 rows, each a weight per input channel, `v[i][row] = Σ over the
//! row's pairs Σ_o w_up[i][o][a_y][a_x] · w_out[o][t_y][t_x]`, applied to the input plane and
//! shifted into place. Per input pixel that is 36·c multiply-adds, where the layers one by one
//! take 9·c·m (`up2`) + 4·9·m (`out`, at four output pixels): a ninth at c = m = 32, in the
//! forward pass and in each gradient; and `up2`'s m maps at 2s × 2s (6.4 MB for a batch of 64)
//! are neither written nor read back, nor their gradient.
//!
//! The gradients come from the same rows: with `d[row][p]` the loss gradient at q = 2p + a − t
//! (zero where r or q falls outside the planes: the two layers' padding), the input gradient is
//! `v · d`, and `c[row][i] = Σ_batch Σ_p d[row][p] · x[i][p]` gives both weight gradients, `up2`'s
//! `Σ_t w_out · c` and `out`'s `Σ_a w_up · c` (plus `up2`'s bias times the loss gradient's sums
//! over the rows and columns each tap reaches, `sums[t]`, which also give the biases' gradients).
//! The same values as the layers one by one, to float rounding (tests/kernels.rs).
//!
//! [`HeadKernels::up_conv_out`]: crate::ops::HeadKernels::up_conv_out

use super::gemm::{GRAD_GROUPS, Gemm, gemm_width, group_runs, map_with};
use super::{assume_written, collect_chunks_with};
use multiversion::multiversion;

/// Pairs of taps per dimension: `up2`'s a and `out`'s t, j = 3·a + t.
const PAIRS: usize = 9;

/// Where one dimension's pair of taps j = 3·a + t takes an input of side s: input pixel p reaches
/// output pixel q = 2p + a − t for p in `lo..hi` (where both `up2`'s pixel 2p + a − 1 and q lie
/// inside the planes), and q is pixel `p + shift` of phase `phase` (q = 2·(p + shift) + phase).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Run {
    lo: usize,
    hi: usize,
    shift: isize,
    phase: usize,
}

/// One dimension's distinct [`Run`]s, and the run of each pair of taps. Pairs with the same run
/// (the same a − t, except a = t = 0, which misses p = 0) act as one, with their weights added:
/// 6 runs of the 9 pairs where s ≥ 2, so a plane's 81 pairs of pairs are 36 rows.
struct Runs {
    runs: Vec<Run>,
    of: [usize; PAIRS],
}

impl Runs {
    fn new(s: usize) -> Self {
        let (mut runs, mut of) = (Vec::new(), [0; PAIRS]);
        for (j, of) in of.iter_mut().enumerate() {
            let (a, t) = ((j / 3) as isize, (j % 3) as isize);
            let side = 2 * s as isize;
            let inside = |p: isize| (0..side).contains(&(2 * p + a - 1)) && (0..side).contains(&(2 * p + a - t));
            // Both conditions bound p by an interval, so the p inside are one run.
            let lo = (0..s as isize).find(|&p| inside(p)).unwrap_or(s as isize);
            let hi = (lo..s as isize).find(|&p| !inside(p)).unwrap_or(s as isize);
            let d = a - t;
            let run = Run { lo: lo as usize, hi: hi as usize, shift: d.div_euclid(2), phase: d.rem_euclid(2) as usize };
            *of = runs.iter().position(|r| *r == run).unwrap_or_else(|| {
                runs.push(run);
                runs.len() - 1
            });
        }
        Runs { runs, of }
    }

    /// The rows of a plane's product: one per pair of runs (y, x), row `y · runs + x`.
    fn rows(&self) -> usize {
        self.runs.len() * self.runs.len()
    }

    /// The row of each pair of taps (a, t) of the plane: `up2`'s tap a and `out`'s tap t, each
    /// 3·row + column of its 3 × 3 kernel.
    fn row_of(&self) -> [[usize; 9]; 9] {
        let n = self.runs.len();
        std::array::from_fn(|a| {
            std::array::from_fn(|t| self.of[3 * (a / 3) + t / 3] * n + self.of[3 * (a % 3) + t % 3])
        })
    }
}

/// The composed weights `v[i][row]`, [c, rows] row-major, from `w_up` [c, m, 3, 3] and `w_out`
/// [1, m, 3, 3]: per input channel the 9 × 9 products of the two kernels' taps summed over the
/// m channels between them (fixed-size loops, which vectorise), then added into their rows.
fn composed(w_up: &[f32], w_out: &[f32], c: usize, m: usize, taps: &Runs) -> Vec<f32> {
    let (rows, row_of) = (taps.rows(), taps.row_of());
    let mut v = vec![0.0f32; c * rows];
    for i in 0..c {
        let mut pairs = [[0.0f32; 9]; 9];
        for o in 0..m {
            let (up, out) = (&w_up[(i * m + o) * 9..][..9], &w_out[o * 9..][..9]);
            for (products, &u) in pairs.iter_mut().zip(up) {
                for (p, &w) in products.iter_mut().zip(out) {
                    *p += u * w;
                }
            }
        }
        for (products, rows_a) in pairs.iter().zip(&row_of) {
            for (&p, &row) in products.iter().zip(rows_a) {
                v[i * rows + row] += p;
            }
        }
    }
    v
}

/// Output rows (or columns) q of a 2s-wide plane that `out`'s tap t reads inside `up2`'s map:
/// 0 ≤ q + t − 1 < 2s.
fn tap_rows(t: usize, side: usize) -> std::ops::Range<usize> {
    usize::from(t == 0)..side - usize::from(t == 2)
}

/// `up2` then `out` of x [batch, c, s, s]: `w_up` [c, m, 3, 3], `b_up` \[m\], `w_out` [1, m, 3, 3],
/// `b_out` → [batch, 1, 2s, 2s]. Per image one product `vᵀ · x` ([rows, c] · [c, s²]), its rows
/// added into the four phase planes of the output at their shifts, the phases interleaved, and
/// the biases' part, the same for every image, added.
#[multiversion(targets = "simd")]
pub(super) fn up_conv_out_forward(
    x: &[f32],
    [w_up, b_up, w_out]: [&[f32]; 3],
    b_out: f32,
    [batch, c, s, _]: [usize; 4],
    m: usize,
) -> Vec<f32> {
    let (plane, side) = (s * s, 2 * s);
    let wide = gemm_width(plane);
    let taps = Runs::new(s);
    let (rows, per_dim) = (taps.rows(), taps.runs.len());
    let v = composed(w_up, w_out, c, m, &taps);
    let mut v_t = vec![0.0f32; rows * c];
    for i in 0..c {
        for r in 0..rows {
            v_t[r * c + i] = v[i * rows + r];
        }
    }
    // The biases' part: b_out, plus b_up through every tap of `out` that reads inside the map.
    let mut bias_plane = vec![b_out; side * side];
    for t in 0..9 {
        let through: f32 = (0..m).map(|o| w_out[o * 9 + t] * b_up[o]).sum();
        for qy in tap_rows(t / 3, side) {
            for e in &mut bias_plane[qy * side..][tap_rows(t % 3, side)] {
                *e += through;
            }
        }
    }
    // Work buffers: natively the image with wide − plane zeros after it (the product's last
    // columns read them), the product [rows, wide], the four phase planes.
    let x_len = if wide == plane { 0 } else { c * plane + (wide - plane) };
    let scratch = x_len + rows * wide + 4 * plane;
    collect_chunks_with(batch * side * side, side * side, scratch, |scratch, b, image| {
        let (xs, rest) = scratch.split_at_mut(x_len);
        let (z, phases) = rest.split_at_mut(rows * wide);
        let image_x = &x[b * c * plane..][..c * plane];
        let xs: &[f32] = if wide == plane {
            image_x
        } else {
            xs[..c * plane].copy_from_slice(image_x);
            xs
        };
        Gemm { m: rows, n: wide, k: c, lhs: &v_t, lhs_rs: c, rhs: xs, rhs_cs: 1, rhs_rs: plane }.run(z, false);
        phases.fill(0.0);
        for (gy, py) in taps.runs.iter().enumerate() {
            for (gx, px) in taps.runs.iter().enumerate() {
                let (row, len) = (&z[(per_dim * gy + gx) * wide..][..plane], px.hi - px.lo);
                if len == 0 {
                    continue;
                }
                let phase = &mut phases[(2 * py.phase + px.phase) * plane..][..plane];
                for y in py.lo..py.hi {
                    let to = (y as isize + py.shift) as usize * s + (px.lo as isize + px.shift) as usize;
                    for (d, &v) in phase[to..][..len].iter_mut().zip(&row[y * s + px.lo..][..len]) {
                        *d += v;
                    }
                }
            }
        }
        for (qy, out_row) in image.chunks_exact_mut(side).enumerate() {
            let (u, phase_y) = (qy / 2, qy % 2);
            let bias_row = &bias_plane[qy * side..][..side];
            let even = &phases[(2 * phase_y) * plane + u * s..][..s];
            let odd = &phases[(2 * phase_y + 1) * plane + u * s..][..s];
            for (((pair, b), &e), &o) in out_row.chunks_exact_mut(2).zip(bias_row.chunks_exact(2)).zip(even).zip(odd) {
                pair[0].write(e + b[0]);
                pair[1].write(o + b[1]);
            }
        }
        // SAFETY: the rows tile the image (2s rows of s pairs), every element written.
        unsafe { assume_written(image) }
    })
}

/// What [`up_conv_out_backward`] returns: the input gradient where asked for, and the four
/// parameters' gradients in their layouts.
pub(super) struct UpOutGrads {
    pub x: Option<Vec<f32>>,
    pub w_up: Vec<f32>,
    pub b_up: Vec<f32>,
    pub w_out: Vec<f32>,
    pub b_out: f32,
}

/// Gradients of [`up_conv_out_forward`] given the output gradient `grad` [batch, 1, 2s, 2s]:
/// per image, the gradient gathered into its shifted rows d ([rows, s²]), then the input
/// gradient `v · d` and the rows' sums `d · xᵀ` ([rows, c], added over the batch in groups of
/// fixed bounds, in order, as `layer_grads` does), from which the weights' gradients follow.
#[allow(clippy::too_many_arguments)]
#[multiversion(targets = "simd")]
pub(super) fn up_conv_out_backward(
    x: &[f32],
    [w_up, b_up, w_out]: [&[f32]; 3],
    grad: &[f32],
    [batch, c, s, _]: [usize; 4],
    m: usize,
    x_grad: bool,
) -> UpOutGrads {
    let (plane, side) = (s * s, 2 * s);
    let wide = gemm_width(plane);
    let taps = Runs::new(s);
    let (rows, per_dim) = (taps.rows(), taps.runs.len());
    let v = composed(w_up, w_out, c, m, &taps);
    let groups = batch.clamp(1, GRAD_GROUPS);
    // dx, [batch, c, s, s], written in place: group g's images are one run of it.
    let mut dx = x_grad.then(|| Vec::<f32>::with_capacity(batch * c * plane));
    let runs = group_runs(dx.as_mut(), batch, c * plane, groups);
    // Work buffers: the four phase planes of an image's gradient; its shifted rows d, [rows,
    // wide], whose entries outside every row's runs stay zero (the same ones for every image);
    // the input gradient's `wide` columns.
    let (d_at, dx_at) = (4 * plane, 4 * plane + rows * wide);
    let parts = map_with(runs, dx_at + if x_grad { c * wide } else { 0 }, |scratch, g, mut run| {
        let (phases, rest) = scratch.split_at_mut(d_at);
        let (d, dx_wide) = rest.split_at_mut(rows * wide);
        let mut pair_sums = vec![0.0f32; rows * c];
        let mut sums = [0.0f32; 9];
        let images = g * batch / groups..(g + 1) * batch / groups;
        for (n, b) in images.clone().enumerate() {
            let g_img = &grad[b * side * side..][..side * side];
            // Phase (φy, φx), pixel (u, w) = the gradient at (2u + φy, 2w + φx).
            for (qy, row) in g_img.chunks_exact(side).enumerate() {
                let (u, phase_y) = (qy / 2, qy % 2);
                let (even, odd) = phases[2 * phase_y * plane..][..2 * plane].split_at_mut(plane);
                for ((pair, e), o) in row.chunks_exact(2).zip(&mut even[u * s..][..s]).zip(&mut odd[u * s..][..s]) {
                    *e = pair[0];
                    *o = pair[1];
                }
            }
            for (gy, py) in taps.runs.iter().enumerate() {
                for (gx, px) in taps.runs.iter().enumerate() {
                    let row = &mut d[(per_dim * gy + gx) * wide..][..plane];
                    let phase = &phases[(2 * py.phase + px.phase) * plane..][..plane];
                    let len = px.hi - px.lo;
                    if len == 0 {
                        continue;
                    }
                    for y in py.lo..py.hi {
                        let from = (y as isize + py.shift) as usize * s + (px.lo as isize + px.shift) as usize;
                        row[y * s + px.lo..][..len].copy_from_slice(&phase[from..][..len]);
                    }
                }
            }
            // The gradient's sums over the rows and columns that each tap t of `out` reads inside.
            for (t, total) in sums.iter_mut().enumerate() {
                let cols = tap_rows(t % 3, side);
                for qy in tap_rows(t / 3, side) {
                    *total += g_img[qy * side..][cols.clone()].iter().sum::<f32>();
                }
            }
            let image = &x[b * c * plane..][..c * plane];
            // pair_sums += d · xᵀ, [rows, c]: x read across (element (k, i) at image[i·plane + k]).
            Gemm { m: rows, n: c, k: plane, lhs: d, lhs_rs: wide, rhs: image, rhs_cs: plane, rhs_rs: 1 }
                .run(&mut pair_sums, n > 0);
            if let Some(run) = run.as_mut() {
                let dx_b = &mut run[n * c * plane..][..c * plane];
                Gemm { m: c, n: wide, k: rows, lhs: &v, lhs_rs: rows, rhs: d, rhs_cs: 1, rhs_rs: wide }
                    .write_cropped(dx_b, plane, dx_wide);
            }
        }
        (pair_sums, sums)
    });
    if let Some(dx) = dx.as_mut() {
        // SAFETY: the groups' runs tile `..batch·c·plane`, and each group wrote all c planes of
        // every image of its run.
        unsafe { dx.set_len(batch * c * plane) };
    }
    let (mut pair_sums, mut sums) = (vec![0.0f32; rows * c], [0.0f32; 9]);
    for (part, part_sums) in parts {
        for (t, v) in pair_sums.iter_mut().zip(&part) {
            *t += v;
        }
        for (t, v) in sums.iter_mut().zip(part_sums) {
            *t += v;
        }
    }
    // Per input channel, each pair of taps' sum (its row's), then through the other layer's
    // weights: `up2`'s weight gradient Σ_t w_out · sum, `out`'s Σ_a w_up · sum.
    let row_of = taps.row_of();
    let mut w_up_grad = vec![0.0f32; c * m * 9];
    let mut w_out_grad = vec![0.0f32; m * 9];
    for i in 0..c {
        let mut sums_i = [[0.0f32; 9]; 9];
        for (sums_a, rows_a) in sums_i.iter_mut().zip(&row_of) {
            for (sum, &row) in sums_a.iter_mut().zip(rows_a) {
                *sum = pair_sums[row * c + i];
            }
        }
        for o in 0..m {
            let (up, out) = (&w_up[(i * m + o) * 9..][..9], &w_out[o * 9..][..9]);
            let (up_grad, out_grad) = (&mut w_up_grad[(i * m + o) * 9..][..9], &mut w_out_grad[o * 9..][..9]);
            for ((g, &u), sums_a) in up_grad.iter_mut().zip(up).zip(&sums_i) {
                for ((&w, &sum), og) in out.iter().zip(sums_a).zip(out_grad.iter_mut()) {
                    *g += w * sum;
                    *og += u * sum;
                }
            }
        }
    }
    let mut b_up_grad = vec![0.0f32; m];
    for o in 0..m {
        for t in 0..9 {
            w_out_grad[o * 9 + t] += b_up[o] * sums[t];
            b_up_grad[o] += w_out[o * 9 + t] * sums[t];
        }
    }
    // Tap (1, 1) reads every output pixel's own: its sum is the whole gradient's.
    UpOutGrads { x: dx, w_up: w_up_grad, b_up: b_up_grad, w_out: w_out_grad, b_out: sums[4] }
}
