//! 2 × 2 max-pooling with stride 2: the forward pass keeps no indices (and takes maxima over whole
//! rows, which vectorises); the backward pass finds each window's maximum again from the input,
//! by the same two comparisons. Each can apply a leaky ReLU to the maxima on the way (the
//! activation before the pooling, in one pass: an increasing function, so the maximum of the
//! activations is the activation of the maximum, bit for bit).

use super::{Slot, assume_written, collect_chunks, collect_chunks_with, copy_row};
use multiversion::multiversion;

/// The larger of two values and whether it is the second (`>`: ties and NaNs keep the first).
#[inline]
fn pick(top: f32, bottom: f32) -> (f32, bool) {
    if bottom > top { (bottom, true) } else { (top, false) }
}

/// `v > 0 ? v : slope·v`, as [`leaky_relu_forward`](super::activation::leaky_relu_forward); with
/// `slope` 1, `v` itself. Chosen by masking bits, not by a float select: in these scalar loops
/// the browser engine ran a select as a branch, and the signs of maxima are coin tosses (a
/// browser train step 8 % slower, docs/benchmarks.md).
#[inline(always)]
fn leaky(v: f32, slope: f32) -> f32 {
    let positive = u32::from(v > 0.0).wrapping_neg();
    f32::from_bits((v.to_bits() & positive) | ((v * slope).to_bits() & !positive))
}

/// The bits of `g` where `v` > 0, of `slope · g` elsewhere: leaky ReLU's gradient at `v`.
#[inline(always)]
fn leaky_bits(v: f32, g: f32, slope: f32) -> u32 {
    let positive = u32::from(v > 0.0).wrapping_neg();
    (g.to_bits() & positive) | ((g * slope).to_bits() & !positive)
}

/// Each window's maximum, through a leaky ReLU of `slope` (1: the maximum itself): per column the
/// larger of the top and bottom element over whole rows (contiguous, so it vectorises), then the
/// larger of each column pair, in one loop over the whole image (its rows of windows are too short
/// for a vector of pairs: 14 windows at 28 × 28, 16 to a 512-bit vector). [`max_pool_backward`]
/// makes the same two comparisons to find the element this value came from.
#[multiversion(targets = "simd")]
pub(super) fn max_pool_forward(x: &[f32], [batch, channels, h, w]: [usize; 4], slope: f32) -> Vec<f32> {
    assert!(h % 2 == 0 && w % 2 == 0, "max_pool_forward: even sides expected, got {h} × {w}");
    let n = channels * (h / 2) * (w / 2);
    // The work buffer: the image's column maxima, a row of `w` per pair of rows (2n floats).
    collect_chunks_with(batch * n, n, 2 * n, |column, b, pooled| {
        let image = &x[b * channels * h * w..][..channels * h * w];
        for (rows, larger) in image.chunks_exact(2 * w).zip(column.chunks_exact_mut(w)) {
            let (top, bottom) = rows.split_at(w);
            for ((m, &t), &u) in larger.iter_mut().zip(top).zip(bottom) {
                *m = pick(t, u).0;
            }
        }
        // w is even, so no pair straddles two rows.
        for (o, pair) in pooled.iter_mut().zip(column.chunks_exact(2)) {
            o.write(leaky(pick(pair[0], pair[1]).0, slope));
        }
        // SAFETY: `column` holds channels · h / 2 rows of w = 2n floats, n pairs: one per output.
        unsafe { assume_written(pooled) }
    })
}

/// Each output gradient goes to the input element the forward pass took its maximum from (the
/// larger of top and bottom in each column, then the larger of the two columns; ties and NaNs
/// keep the top row and the left column), times the leaky ReLU's slope there (`slope` where the
/// maximum is not positive, as [`leaky_relu_backward`](super::activation::leaky_relu_backward);
/// with `slope` 1 the gradient itself); the window's other three get zero.
#[multiversion(targets = "simd")]
pub(crate) fn max_pool_backward(x: &[f32], grad: &[f32], [batch, channels, h, w]: [usize; 4], slope: f32) -> Vec<f32> {
    assert!(h % 2 == 0 && w % 2 == 0, "max_pool_backward: even sides expected, got {h} × {w}");
    let (plane, q) = (h * w, h * w / 4);
    // An image per chunk, so that its planes share one pair of work rows.
    collect_chunks(batch * channels * plane, channels * plane, |b, dimage| {
        let mut columns = Columns::new(plane);
        for (i, dplane) in dimage.chunks_exact_mut(plane).enumerate() {
            let p = b * channels + i;
            unpool_plane(&x[p * plane..][..plane], &grad[p * q..][..q], dplane, w, slope, &mut columns);
        }
        // SAFETY: `unpool_plane` writes every element of each plane, and the planes tile the image.
        unsafe { assume_written(dimage) }
    })
}

/// [`unpool_plane`]'s work buffers, for a plane of a given size: per column of each row pair,
/// the larger value and all ones where it is the bottom one; then the gradients for the top and
/// the bottom row of each pair (each [h / 2, w]).
pub(super) struct Columns {
    larger: Vec<f32>,
    bottom_wins: Vec<u32>,
    top: Vec<f32>,
    bottom: Vec<f32>,
}

impl Columns {
    pub(super) fn new(plane: usize) -> Self {
        let n = plane / 2;
        Columns { larger: vec![0.0; n], bottom_wins: vec![0; n], top: vec![0.0; n], bottom: vec![0.0; n] }
    }
}

/// [`max_pool_backward`] of one plane: `x` the plane that was pooled (rows of `w`), `g` its pooled
/// gradient; every element of `dplane` (`x`'s size) is written.
///
/// Branch-free: the gradient is masked with the comparisons' bits instead of chosen by them.
/// Which element wins is a coin toss on real activations, and run as branches (what the browser
/// engine made of the float selects) the mispredictions made this pass one of the costliest of a
/// browser train step (docs/benchmarks.md). The first comparison runs over whole rows, which
/// vectorises; one loop over the windows that did both (stride-2 loads and stores) was 6× slower
/// natively, scalar with branches. The windows run as one loop over the whole plane, as in
/// [`max_pool_forward`] (a row of them, 7 or 14, is shorter than a vector of pairs: per row the
/// loop stayed scalar), into work rows copied to the plane's rows after.
#[inline(always)]
pub(super) fn unpool_plane<S: Slot>(
    x: &[f32],
    g: &[f32],
    dplane: &mut [S],
    w: usize,
    slope: f32,
    columns: &mut Columns,
) {
    assert!(
        w.is_multiple_of(2)
            && x.len().is_multiple_of(2 * w)
            && dplane.len() == x.len()
            && g.len() == x.len() / 4
            && columns.larger.len() == x.len() / 2,
        "unpool_plane: a plane of {} with rows of {w}, its gradient of {}, out {}",
        x.len(),
        g.len(),
        dplane.len()
    );
    let Columns { larger, bottom_wins, top, bottom } = columns;
    let work = larger.chunks_exact_mut(w).zip(bottom_wins.chunks_exact_mut(w));
    for (rows, (larger, bottom_wins)) in x.chunks_exact(2 * w).zip(work) {
        let (t_row, u_row) = rows.split_at(w);
        for (((m, b), &t), &u) in larger.iter_mut().zip(bottom_wins.iter_mut()).zip(t_row).zip(u_row) {
            let (value, lower) = pick(t, u);
            *m = value;
            *b = u32::from(lower).wrapping_neg();
        }
    }
    // w is even, so no window straddles two rows: window q is columns 2q, 2q + 1 of the work rows.
    windows_backward(larger, bottom_wins, g, top, bottom, slope);
    for ((drows, t_row), u_row) in dplane.chunks_exact_mut(2 * w).zip(top.chunks_exact(w)).zip(bottom.chunks_exact(w)) {
        let (dt, du) = drows.split_at_mut(w);
        copy_row(dt, t_row);
        copy_row(du, u_row);
    }
}

/// The windows of [`unpool_plane`], in one loop over its work rows: window q (gradient `g[q]`) is
/// columns 2q and 2q + 1 of `larger` and `bottom_wins`, and its gradients go to the same columns
/// of `top` and `bottom`. A function of its own, on slices: inlined, its buffers were the fields
/// of one `Columns`, which LLVM could not tell apart, and it left the loop scalar; indexed, not as
/// chunks of two zipped, for the same reason.
#[inline(always)]
fn windows_backward(larger: &[f32], bottom_wins: &[u32], g: &[f32], top: &mut [f32], bottom: &mut [f32], slope: f32) {
    let n = g.len();
    let (larger, bottom_wins) = (&larger[..2 * n], &bottom_wins[..2 * n]);
    let (top, bottom) = (&mut top[..2 * n], &mut bottom[..2 * n]);
    for q in 0..n {
        let (m0, m1) = (larger[2 * q], larger[2 * q + 1]);
        let right = u32::from(m1 > m0).wrapping_neg();
        let g_bits = leaky_bits(pick(m0, m1).0, g[q], slope);
        let (left_bits, right_bits) = (g_bits & !right, g_bits & right);
        top[2 * q] = f32::from_bits(left_bits & !bottom_wins[2 * q]);
        top[2 * q + 1] = f32::from_bits(right_bits & !bottom_wins[2 * q + 1]);
        bottom[2 * q] = f32::from_bits(left_bits & bottom_wins[2 * q]);
        bottom[2 * q + 1] = f32::from_bits(right_bits & bottom_wins[2 * q + 1]);
    }
}
