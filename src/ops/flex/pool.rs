//! 2 × 2 max-pooling with stride 2: the forward pass keeps no indices (and takes maxima over whole
//! rows, which vectorises); the backward pass finds each window's maximum again from the input.

use super::for_each_chunk;

/// The larger of two values and whether it is the second (`>`: ties and NaNs keep the first).
#[inline]
fn pick(top: f32, bottom: f32) -> (f32, bool) {
    if bottom > top { (bottom, true) } else { (top, false) }
}

/// Each window's maximum: per column the larger of the top and bottom element over whole rows
/// (contiguous, so it vectorises), then the larger of each column pair. The same value as the
/// element [`window_argmax`] picks for the backward pass.
pub(super) fn max_pool_forward(x: &[f32], [batch, channels, h, w]: [usize; 4]) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = vec![0.0f32; batch * channels * oh * ow];
    for_each_chunk(&mut out, channels * oh * ow, |b, pooled| {
        let mut column = vec![0.0f32; w];
        for (rows, out_row) in
            x[b * channels * h * w..][..channels * h * w].chunks_exact(2 * w).zip(pooled.chunks_exact_mut(ow))
        {
            let (top, bottom) = rows.split_at(w);
            for ((m, &t), &u) in column.iter_mut().zip(top).zip(bottom) {
                *m = pick(t, u).0;
            }
            for (o, pair) in out_row.iter_mut().zip(column.chunks_exact(2)) {
                *o = pick(pair[0], pair[1]).0;
            }
        }
    });
    out
}

/// Index (0‥3, row-major in the window) of the first maximum of a 2 × 2 window; ties go to the
/// earlier element. Comparisons as `>`, so a NaN never wins over a number that came first.
#[inline]
fn window_argmax(v: [f32; 4]) -> usize {
    let mut best = 0;
    for k in 1..4 {
        if v[k] > v[best] {
            best = k;
        }
    }
    best
}

/// Each output gradient goes to the input element that was the maximum of its window; the
/// window's other three get zero. Row pair by row pair, no index arithmetic per window.
pub(crate) fn max_pool_backward(x: &[f32], grad: &[f32], [batch, channels, h, w]: [usize; 4]) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut dx = vec![0.0f32; batch * channels * h * w];
    for_each_chunk(&mut dx, h * w, |p, dplane| {
        let g = &grad[p * oh * ow..][..oh * ow];
        let rows = x[p * h * w..][..h * w].chunks_exact(2 * w);
        for ((rows, drows), g_row) in rows.zip(dplane.chunks_exact_mut(2 * w)).zip(g.chunks_exact(ow)) {
            let (top, bottom) = rows.split_at(w);
            let (dtop, dbottom) = drows.split_at_mut(w);
            let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
            let dwindows = dtop.chunks_exact_mut(2).zip(dbottom.chunks_exact_mut(2));
            for (((t, b), (dt, db)), &gv) in windows.zip(dwindows).zip(g_row) {
                let k = window_argmax([t[0], t[1], b[0], b[1]]);
                let at = |i: usize| if k == i { gv } else { 0.0 };
                dt[0] = at(0);
                dt[1] = at(1);
                db[0] = at(2);
                db[1] = at(3);
            }
        }
    });
    dx
}
