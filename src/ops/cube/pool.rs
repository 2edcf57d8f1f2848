//! 2 × 2 max-pooling with stride 2 on a cubecl device, making the CPU kernel's comparisons
//! (`flex/pool.rs`): per column the larger of top and bottom, then the larger column; ties keep
//! the top row and the left column. The backward pass finds the same element again. One
//! invocation per output row (a software adapter's cost is per invocation as much as per
//! element, `docs/benchmarks.md`).

use cubecl::prelude::*;

/// Output row `r` (of `rows` = planes · h / 2) of an input of `w`-wide maps.
#[cube(launch_unchecked)]
pub fn max_pool_kernel(x: &[f32], out: &mut [f32], #[comptime] w: usize, rows: u32) {
    let r = ABSOLUTE_POS;
    if r < rows as usize {
        let top = r * comptime!(2 * w);
        let at = r * comptime!(w / 2);
        #[unroll]
        for l in 0..comptime!(w / 2) {
            let t = top + 2 * l;
            let left = f32::max(x[t], x[t + w]);
            let right = f32::max(x[t + 1], x[t + w + 1]);
            out[at + l] = f32::max(left, right);
        }
    }
}

/// Output row `r`'s gradient back to its two input rows: each window's four input gradients,
/// the output gradient where the maximum was and zeros elsewhere.
#[cube(launch_unchecked)]
pub fn max_pool_backward_kernel(x: &[f32], grad: &[f32], out: &mut [f32], #[comptime] w: usize, rows: u32) {
    let r = ABSOLUTE_POS;
    if r < rows as usize {
        let top = r * comptime!(2 * w);
        let at = r * comptime!(w / 2);
        #[unroll]
        for l in 0..comptime!(w / 2) {
            let t = top + 2 * l;
            let (t0, b0, t1, b1) = (x[t], x[t + w], x[t + 1], x[t + w + 1]);
            let low0 = b0 > t0;
            let low1 = b1 > t1;
            let right = select(low1, b1, t1) > select(low0, b0, t0);
            let g = grad[at + l];
            out[t] = select(!right && !low0, g, 0.0);
            out[t + w] = select(!right && low0, g, 0.0);
            out[t + 1] = select(right && !low1, g, 0.0);
            out[t + w + 1] = select(right && low1, g, 0.0);
        }
    }
}
