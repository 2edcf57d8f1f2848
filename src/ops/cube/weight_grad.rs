//! Weight and bias gradients of the 3 × 3 layers on a cubecl device: one workgroup per image (or
//! per image and group of channels) writes that image's share, and a second kernel adds the
//! shares up in a fixed order, so that the sums come out the same on every run.

use cubecl::prelude::*;

use super::stage::{Block, stage};
use super::{MAX_UNITS, Profile, SHARED_FLOATS, divisor_at_most, mac};

/// The shape of a weight gradient: `grad[i, j, t] = Σ_n Σ_p a[n, i, p] · b[n, j, stride·p − 1 +
/// tap t]` over the pixels p of `a`'s `side` × `side` maps, `b` being `stride·side` wide and zero
/// outside. A convolution's: a = its output gradient, b = its input, stride 1, giving
/// `[c_out, c_in, 3, 3]`; a transposed convolution's: a = its input, b = its output gradient,
/// stride 2, giving `[c_in, c_out, 3, 3]`. Both are burn's weight layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GradShape {
    pub a_channels: usize,
    pub b_channels: usize,
    pub side: usize,
    pub stride: usize,
}

/// How [`weight_grad_kernel`] splits one image's sum. `groups` workgroups per image take a share of
/// `b`'s channels each; they go through the image `rows` rows of `a` a round (staged with the rows
/// of `b` they read). Each invocation takes `block` channels of `a` × `b_block` channels of `b` ×
/// the nine taps, over its `splits`-th of the round's rows, `run` pixels at a time; splits are
/// added up in workgroup memory at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GradTile {
    pub block: usize,
    pub b_block: usize,
    pub groups: usize,
    pub rows: usize,
    pub splits: usize,
    pub run: usize,
    /// Multiply-adds as `fma` ([`mac`]).
    pub fused: bool,
}

impl GradShape {
    fn b_cols(&self) -> usize {
        (self.side - 1) * self.stride + 3
    }

    fn b_rows(&self, tile: &GradTile) -> usize {
        (tile.rows - 1) * self.stride + 3
    }

    fn shared_floats(&self, tile: &GradTile) -> usize {
        let nb = self.b_channels / tile.groups;
        let reduce = if tile.splits > 1 { tile.splits * self.a_channels * nb * 9 } else { 0 };
        let a = if nb == 1 { 0 } else { self.a_channels * tile.rows * self.side };
        a + nb * self.b_rows(tile) * self.b_cols() + reduce
    }

    /// The tile: 8 channels of `a` × 2 of `b` per invocation (144 accumulators; neighbouring
    /// invocations take neighbouring `b` channels and read the same `a` values), or with one `b`
    /// channel single `a` channels; runs of up to 14 pixels. Of the tiles that fit WebGPU's
    /// workgroup limits, the one with the fewest rounds per image (each round is a copy into
    /// workgroup memory and two barriers), then the most invocations. (Measured on SwiftShader in
    /// `docs/benchmarks.md`: 2 `b` channels instead of 1 took the model's weight gradients from
    /// 397 to 326 ms a step, 4 gave back half of that; runs of 14 pixels a further 6 %.)
    pub fn tile(&self, profile: Profile) -> GradTile {
        let (block, b_block) = if self.b_channels == 1 {
            (1, 1)
        } else {
            (divisor_at_most(self.a_channels, 8), divisor_at_most(self.b_channels, 2))
        };
        let run = divisor_at_most(self.side, 14);
        let mut best: Option<(GradTile, (usize, usize))> = None;
        for groups in [1, 2, 4].into_iter().filter(|g| self.b_channels.is_multiple_of(*g)) {
            for rows in (1..=self.side).filter(|r| self.side.is_multiple_of(*r)) {
                for splits in (1..=rows).filter(|s| rows.is_multiple_of(*s)) {
                    let tile = GradTile { block, b_block, groups, rows, splits, run, fused: profile == Profile::Gpu };
                    if !(self.b_channels / groups).is_multiple_of(b_block) {
                        continue;
                    }
                    let units = self.units(&tile);
                    if units > MAX_UNITS || self.shared_floats(&tile) > SHARED_FLOATS {
                        continue;
                    }
                    let key = (groups * self.side / rows, MAX_UNITS - units);
                    if best.is_none_or(|(_, k)| key < k) {
                        best = Some((tile, key));
                    }
                }
            }
        }
        best.map(|(tile, _)| tile)
            .unwrap_or_else(|| panic!("weight gradient {self:?}: no tile fits WebGPU's workgroup limits"))
    }

    pub fn units(&self, tile: &GradTile) -> usize {
        (self.a_channels / tile.block) * (self.b_channels / tile.groups / tile.b_block) * tile.splits
    }
}

// `let mut` makes a CubeCL variable a register that can be assigned, though Rust sees no mutation.
#[allow(unused_mut)]
/// One image's share of a weight gradient ([`GradShape`]): workgroup `n · groups + g` writes
/// `partial[n, i, j, t]` for the `b` channels j of group g, which [`sum_images_kernel`] adds up
/// over the images in a fixed order.
#[cube(launch_unchecked)]
pub fn weight_grad_kernel(
    a: &[f32],
    b: &[f32],
    partial: &mut [f32],
    #[comptime] shape: GradShape,
    #[comptime] tile: GradTile,
) {
    let na = comptime!(shape.a_channels);
    let nb = comptime!(shape.b_channels);
    let nbg = comptime!(shape.b_channels / tile.groups);
    let side = comptime!(shape.side);
    let stride = comptime!(shape.stride);
    let block = comptime!(tile.block);
    let b_block = comptime!(tile.b_block);
    let run = comptime!(tile.run);
    let units = comptime!(shape.units(&tile));
    let blocks = comptime!(shape.a_channels / tile.block);
    let b_side = comptime!(shape.side * shape.stride);
    let b_cols = comptime!((shape.side - 1) * shape.stride + 3);
    let b_rows = comptime!((tile.rows - 1) * shape.stride + 3);
    let per_split = comptime!(tile.rows / tile.splits);
    let len = comptime!(shape.a_channels * shape.b_channels * 9);
    // Columns of b under `run` pixels.
    let window = comptime!((tile.run - 1) * shape.stride + 3);
    let a_stage =
        comptime!(Block { planes: shape.a_channels, rows: tile.rows, cols: shape.side, side: shape.side, border: 0 });
    let b_stage = comptime!(Block { planes: nbg, rows: b_rows, cols: b_cols, side: b_side, border: 1 });

    let n = CUBE_POS_X as usize / comptime!(tile.groups);
    let j0 = (CUBE_POS_X as usize % comptime!(tile.groups)) * nbg;
    let unit = UNIT_POS as usize;
    let b_blocks = comptime!(nbg / tile.b_block);
    let jl0 = (unit % b_blocks) * b_block;
    let i0 = ((unit / b_blocks) % blocks) * block;
    let split = unit / comptime!(b_blocks * blocks);

    // With one `b` channel per workgroup no two invocations read the same `a` values: they are read
    // where they are, not staged.
    let direct = comptime!(nbg == 1);
    let mut staged_a = Shared::new_slice(comptime!(if nbg == 1 { 1 } else { a_stage.len() }));
    let mut staged_b = Shared::new_slice(comptime!(b_stage.len()));
    // [a channel][b channel][tap], one variable each.
    let mut acc = Sequence::<f32>::new();
    #[unroll]
    for _ in 0..comptime!(tile.block * tile.b_block * 9) {
        let mut z = 0.0f32;
        acc.push(z);
    }

    for round in 0..comptime!(shape.side / tile.rows) {
        let y0 = round * comptime!(tile.rows);
        if !direct {
            stage(a, &mut staged_a, n * comptime!(na * side * side), y0, unit, a_stage, units);
        }
        stage(b, &mut staged_b, (n * nb + j0) * comptime!(b_side * b_side), y0 * stride, unit, b_stage, units);
        sync_cube();

        for q in 0..per_split {
            let y = split * per_split + q;
            let row = (jl0 * b_rows + y * stride) * b_cols;
            let a_row =
                if direct { ((n * na + i0) * side + y0 + y) * side } else { (i0 * comptime!(tile.rows) + y) * side };
            for chunk in 0..comptime!(shape.side / tile.run) {
                let x0 = chunk * run;
                // The three rows of b under these pixels: [b channel][row][column].
                let mut seg = Sequence::<f32>::new();
                #[unroll]
                for jj in 0..b_block {
                    #[unroll]
                    for r in 0..3 {
                        #[unroll]
                        for c in 0..window {
                            seg.push(staged_b[row + comptime!((jj * b_rows + r) * b_cols) + x0 * stride + c]);
                        }
                    }
                }
                #[unroll]
                for ii in 0..block {
                    #[unroll]
                    for p in 0..run {
                        let av = if direct {
                            a[a_row + comptime!(ii * shape.side * shape.side) + x0 + p]
                        } else {
                            staged_a[a_row + comptime!(ii * tile.rows * shape.side) + x0 + p]
                        };
                        #[unroll]
                        for jj in 0..b_block {
                            #[unroll]
                            for t in 0..9 {
                                let at = comptime!((ii * tile.b_block + jj) * 9 + t);
                                let bv = seg[comptime!((jj * 3 + t / 3) * window + p * stride + t % 3)];
                                acc[at] = mac(acc[at], av, bv, tile.fused);
                            }
                        }
                    }
                }
            }
        }
        sync_cube();
    }

    if comptime!(tile.splits == 1) {
        #[unroll]
        for ii in 0..block {
            #[unroll]
            for jj in 0..b_block {
                let at = ((n * na + i0 + ii) * nb + j0 + jl0 + jj) * 9;
                #[unroll]
                for t in 0..9 {
                    partial[at + t] = acc[comptime!((ii * tile.b_block + jj) * 9 + t)];
                }
            }
        }
    } else {
        // The splits' sums, added in split order by the first split's invocations.
        let share = comptime!(shape.a_channels * nbg * 9);
        let mut sums = Shared::new_slice(comptime!(tile.splits * shape.a_channels * nbg * 9));
        #[unroll]
        for ii in 0..block {
            #[unroll]
            for jj in 0..b_block {
                #[unroll]
                for t in 0..9 {
                    sums[split * share + ((i0 + ii) * nbg + jl0 + jj) * 9 + t] =
                        acc[comptime!((ii * tile.b_block + jj) * 9 + t)];
                }
            }
        }
        sync_cube();
        if split == 0 {
            #[unroll]
            for ii in 0..block {
                #[unroll]
                for jj in 0..b_block {
                    #[unroll]
                    for t in 0..9 {
                        let at = ((i0 + ii) * nbg + jl0 + jj) * 9 + t;
                        let mut s = sums[at];
                        for q in 1..comptime!(tile.splits) {
                            s += sums[q * share + at];
                        }
                        partial[n * len + ((i0 + ii) * nb + j0 + jl0 + jj) * 9 + t] = s;
                    }
                }
            }
        }
    }
}

/// `out[e] = Σ_n partial[n, e]` for `len` entries, n in order.
#[cube(launch_unchecked)]
pub fn sum_images_kernel(partial: &[f32], out: &mut [f32], images: u32, len: u32) {
    let e = ABSOLUTE_POS;
    let len = len as usize;
    if e < len {
        let mut s = 0.0f32;
        for n in 0..images as usize {
            s += partial[n * len + e];
        }
        out[e] = s;
    }
}

/// Invocations per workgroup of [`channel_sum_kernel`].
pub const SUM_UNITS: usize = 64;

/// `out[c] = Σ_n Σ_p t[n, c, p]` over `images` images of `channels` maps of `plane` pixels: one
/// workgroup per channel, each invocation a strided share, then a fixed-order tree in workgroup
/// memory (the same sum on every run).
#[cube(launch_unchecked)]
pub fn channel_sum_kernel(t: &[f32], out: &mut [f32], images: u32, channels: u32, plane: u32) {
    let c = CUBE_POS_X as usize;
    let unit = UNIT_POS as usize;
    let (channels, plane) = (channels as usize, plane as usize);
    let mut s = 0.0f32;
    for n in 0..images as usize {
        let base = (n * channels + c) * plane;
        let mut p = unit;
        while p < plane {
            s += t[base + p];
            p += SUM_UNITS;
        }
    }
    let mut partial = Shared::new_slice(SUM_UNITS);
    partial[unit] = s;
    sync_cube();
    #[unroll]
    for level in 0..6 {
        let half = comptime!(SUM_UNITS >> (level + 1));
        if unit < half {
            partial[unit] += partial[unit + half];
        }
        sync_cube();
    }
    if unit == 0 {
        out[c] = partial[0];
    }
}
