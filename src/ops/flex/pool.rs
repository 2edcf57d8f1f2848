//! 2 × 2 max-pooling with stride 2: the forward pass keeps no indices (and takes maxima over whole
//! rows, which vectorises); the backward pass finds each window's maximum again from the input,
//! by the same two comparisons. Each can apply a leaky ReLU to the maxima on the way (the
//! activation before the pooling, in one pass: an increasing function, so the maximum of the
//! activations is the activation of the maximum, bit for bit).

use super::{assume_written, collect_chunks};
use multiversion::multiversion;

/// The larger of two values and whether it is the second (`>`: ties and NaNs keep the first).
#[inline]
fn pick(top: f32, bottom: f32) -> (f32, bool) {
    if bottom > top { (bottom, true) } else { (top, false) }
}

/// `v > 0 ? v : slope·v`, as [`leaky_relu_forward`](super::activation::leaky_relu_forward); with
/// `slope` 1, `v` itself.
#[inline(always)]
fn leaky(v: f32, slope: f32) -> f32 {
    if v > 0.0 { v } else { v * slope }
}

/// Each window's maximum, through a leaky ReLU of `slope` (1: the maximum itself): per column the
/// larger of the top and bottom element over whole rows (contiguous, so it vectorises), then the
/// larger of each column pair. [`max_pool_backward`] makes the same two comparisons to find the
/// element this value came from.
#[multiversion(targets = "simd")]
pub(super) fn max_pool_forward(x: &[f32], [batch, channels, h, w]: [usize; 4], slope: f32) -> Vec<f32> {
    assert!(h % 2 == 0 && w % 2 == 0, "max_pool_forward: even sides expected, got {h} × {w}");
    let (oh, ow) = (h / 2, w / 2);
    collect_chunks(batch * channels * oh * ow, channels * oh * ow, |b, pooled| {
        let mut column = vec![0.0f32; w];
        for (rows, out_row) in
            x[b * channels * h * w..][..channels * h * w].chunks_exact(2 * w).zip(pooled.chunks_exact_mut(ow))
        {
            let (top, bottom) = rows.split_at(w);
            for ((m, &t), &u) in column.iter_mut().zip(top).zip(bottom) {
                *m = pick(t, u).0;
            }
            for (o, pair) in out_row.iter_mut().zip(column.chunks_exact(2)) {
                o.write(leaky(pick(pair[0], pair[1]).0, slope));
            }
        }
        // SAFETY: `channels · oh` rows of `ow` outputs, each row paired with two of the input's
        // (h = 2·oh, w = 2·ow, both even, asserted above), each output written.
        unsafe { assume_written(pooled) }
    })
}

/// Each output gradient goes to the input element the forward pass took its maximum from (the
/// larger of top and bottom in each column, then the larger of the two columns; ties and NaNs
/// keep the top row and the left column), times the leaky ReLU's slope there (`slope` where the
/// maximum is not positive, as [`leaky_relu_backward`](super::activation::leaky_relu_backward);
/// with `slope` 1 the gradient itself); the window's other three get zero.
///
/// Branch-free: the gradient is masked with the comparisons' bits instead of chosen by them.
/// Which element wins is a coin toss on real activations, and run as branches (what the browser
/// engine made of the float selects) the mispredictions made this pass one of the costliest of a
/// browser train step (docs/benchmarks.md).
#[multiversion(targets = "simd")]
pub(crate) fn max_pool_backward(x: &[f32], grad: &[f32], [batch, channels, h, w]: [usize; 4], slope: f32) -> Vec<f32> {
    assert!(h % 2 == 0 && w % 2 == 0, "max_pool_backward: even sides expected, got {h} × {w}");
    let (oh, ow) = (h / 2, w / 2);
    collect_chunks(batch * channels * h * w, h * w, |p, dplane| {
        let g = &grad[p * oh * ow..][..oh * ow];
        // Per column of a row pair: the larger value, and all ones where it is the bottom one.
        let (mut column, mut bottom_wins) = (vec![0.0f32; w], vec![0u32; w]);
        let rows = x[p * h * w..][..h * w].chunks_exact(2 * w);
        for ((rows, drows), g_row) in rows.zip(dplane.chunks_exact_mut(2 * w)).zip(g.chunks_exact(ow)) {
            let (top, bottom) = rows.split_at(w);
            for (((m, b), &t), &u) in column.iter_mut().zip(&mut bottom_wins).zip(top).zip(bottom) {
                let (value, lower) = pick(t, u);
                *m = value;
                *b = u32::from(lower).wrapping_neg();
            }
            let (dtop, dbottom) = drows.split_at_mut(w);
            let columns = column.chunks_exact(2).zip(bottom_wins.chunks_exact(2));
            let dcolumns = dtop.chunks_exact_mut(2).zip(dbottom.chunks_exact_mut(2));
            for (((m, b), (dt, db)), &gv) in columns.zip(dcolumns).zip(g_row) {
                let right = u32::from(m[1] > m[0]).wrapping_neg();
                let g_bits = if pick(m[0], m[1]).0 > 0.0 { gv } else { gv * slope }.to_bits();
                for (j, won) in [(0, !right), (1, right)] {
                    dt[j].write(f32::from_bits(g_bits & won & !b[j]));
                    db[j].write(f32::from_bits(g_bits & won & b[j]));
                }
            }
        }
        // SAFETY: h / 2 row pairs of w / 2 windows tile the plane (h and w even, asserted above),
        // and each window wrote its four elements.
        unsafe { assume_written(dplane) }
    })
}
