//! The forward pass of the 3 × 3 transposed convolution (stride 2, padding 1, output padding 1)
//! on a cubecl device; its gradients are [`conv3x3_kernel`](super::conv::conv3x3_kernel) at
//! stride 2 and [`weight_grad_kernel`](super::conv::weight_grad_kernel).

use cubecl::prelude::*;

use super::stage::{Block, stage};
use super::{Profile, divisor_at_most, mac};

/// How [`up_conv3x3_kernel`] splits its work: a workgroup takes `rows` input rows of one image
/// for every output channel; each invocation `channels` output channels × `run` input pixels of
/// one row, each input pixel giving a 2 × 2 block of output. Input channels are staged
/// `staged` at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UpTile {
    pub channels: usize,
    pub run: usize,
    pub rows: usize,
    pub staged: usize,
    /// Multiply-adds as `fma` ([`mac`]).
    pub fused: bool,
}

/// `c_in` maps of `side` pixels → `c_out` maps of `2·side`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UpShape {
    pub c_in: usize,
    pub c_out: usize,
    pub side: usize,
}

impl UpShape {
    /// The tile on `profile` (see [`ConvShape::tile`](super::conv::ConvShape::tile) for why
    /// software adapters get longer runs): four accumulators per pixel and channel here.
    pub fn tile(&self, profile: Profile) -> UpTile {
        let s = self.side;
        let channels = match profile {
            Profile::Software => 8,
            Profile::Gpu => 2,
        };
        let (channels, run, rows) =
            (divisor_at_most(self.c_out, channels), divisor_at_most(s, 7), divisor_at_most(s, 7));
        let mut staged = divisor_at_most(self.c_in, 8);
        while staged > 1 && staged * ((rows + 1) * (s + 1) + 9 * self.c_out) > 4096 {
            staged = divisor_at_most(self.c_in, staged - 1);
        }
        let tile = UpTile { channels, run, rows, staged, fused: profile == Profile::Gpu };
        assert!(
            s.is_multiple_of(run)
                && s.is_multiple_of(rows)
                && self.c_out.is_multiple_of(channels)
                && self.c_in.is_multiple_of(staged),
            "up_conv3x3: tile {tile:?} does not divide {self:?}"
        );
        assert!(self.units(&tile) <= 256, "up_conv3x3: tile {tile:?} of {self:?} exceeds 256 invocations");
        tile
    }

    pub fn units(&self, tile: &UpTile) -> usize {
        tile.rows * (self.side / tile.run) * (self.c_out / tile.channels)
    }

    pub fn workgroups(&self, tile: &UpTile, batch: usize) -> usize {
        batch * self.side / tile.rows
    }
}

/// `output[n, o, 2m + dy, 2l + dx] = bias[o] + Σ_i Σ taps`: output row 2m takes input row m
/// through kernel row 1; row 2m + 1 takes row m through kernel row 2 and row m + 1 through kernel
/// row 0 (columns alike). `input`: [batch, c_in, side, side], `weight`: [c_in, c_out, 3, 3],
/// `output`: [batch, c_out, 2·side, 2·side].
// `let mut` makes a CubeCL variable a register that can be assigned, though Rust sees no mutation.
#[allow(unused_mut)]
#[cube(launch_unchecked)]
pub fn up_conv3x3_kernel(
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    output: &mut [f32],
    #[comptime] shape: UpShape,
    #[comptime] tile: UpTile,
) {
    let c_in = comptime!(shape.c_in);
    let c_out = comptime!(shape.c_out);
    let out_side = comptime!(2 * shape.side);
    let channels = comptime!(tile.channels);
    let run = comptime!(tile.run);
    let rows = comptime!(tile.rows);
    let staged = comptime!(tile.staged);
    let runs_per_row = comptime!(shape.side / tile.run);
    let pixel_groups = comptime!(tile.rows * shape.side / tile.run);
    let units = comptime!(pixel_groups * (shape.c_out / tile.channels));
    let tile_cols = comptime!(shape.side + 1);
    let input_tile = comptime!(tile.staged * (tile.rows + 1) * (shape.side + 1));
    let weight_tile = comptime!(tile.staged * 9 * shape.c_out);

    let unit = UNIT_POS as usize;
    let blocks_per_image = comptime!(shape.side / tile.rows);
    let n = CUBE_POS_X as usize / blocks_per_image;
    let row0 = (CUBE_POS_X as usize % blocks_per_image) * rows;
    let group = unit % pixel_groups;
    let o0 = (unit / pixel_groups) * channels;
    let ry = group / runs_per_row;
    let x0 = (group % runs_per_row) * run;

    let mut staged_input = Shared::new_slice(input_tile);
    let mut staged_weight = Shared::new_slice(weight_tile);
    // [channel][pixel][dy·2 + dx], one variable each.
    let mut acc = Sequence::<f32>::new();
    #[unroll]
    for _ in 0..comptime!(tile.channels * tile.run * 4) {
        let mut z = 0.0f32;
        acc.push(z);
    }

    for chunk in 0..comptime!(c_in / staged) {
        let i0 = chunk * staged;
        // Input rows row0 … row0 + rows and columns 0 … side, zero past the edge.
        let block = comptime!(Block {
            planes: tile.staged,
            rows: tile.rows + 1,
            cols: shape.side + 1,
            side: shape.side,
            border: 0
        });
        stage(input, &mut staged_input, (n * c_in + i0) * comptime!(shape.side * shape.side), row0, unit, block, units);
        let mut e = unit;
        while e < weight_tile {
            let o = e % c_out;
            let t = (e / c_out) % 9;
            let i = i0 + e / comptime!(9 * shape.c_out);
            staged_weight[e] = weight[(i * c_out + o) * 9 + t];
            e += units;
        }
        sync_cube();

        for k in 0..staged {
            let row = (k * comptime!(tile.rows + 1) + ry) * tile_cols + x0;
            let mut top = Sequence::<f32>::new();
            let mut below = Sequence::<f32>::new();
            #[unroll]
            for q in 0..comptime!(tile.run + 1) {
                top.push(staged_input[row + q]);
                below.push(staged_input[row + tile_cols + q]);
            }
            #[unroll]
            for o in 0..channels {
                let mut w = Sequence::<f32>::new();
                #[unroll]
                for t in 0..9 {
                    w.push(staged_weight[(k * 9 + t) * c_out + o0 + o]);
                }
                #[unroll]
                for p in 0..run {
                    let (a, b, c, d) = (top[p], top[comptime!(p + 1)], below[p], below[comptime!(p + 1)]);
                    let at = comptime!((o * tile.run + p) * 4);
                    let f = comptime!(tile.fused);
                    acc[at] = mac(acc[at], a, w[4], f);
                    let at = comptime!(at + 1);
                    acc[at] = mac(mac(acc[at], a, w[5], f), b, w[3], f);
                    let at = comptime!(at + 1);
                    acc[at] = mac(mac(acc[at], a, w[7], f), c, w[1], f);
                    let at = comptime!(at + 1);
                    acc[at] = mac(mac(mac(mac(acc[at], a, w[8], f), b, w[6], f), c, w[2], f), d, w[0], f);
                }
            }
        }
        sync_cube();
    }

    let y = 2 * (row0 + ry);
    #[unroll]
    for o in 0..channels {
        let bv = bias[o0 + o];
        let at = ((n * c_out + o0 + o) * out_side + y) * out_side + 2 * x0;
        #[unroll]
        for p in 0..run {
            let a = comptime!((o * tile.run + p) * 4);
            output[at + 2 * p] = acc[a] + bv;
            output[at + 2 * p + 1] = acc[comptime!(a + 1)] + bv;
            output[at + out_side + 2 * p] = acc[comptime!(a + 2)] + bv;
            output[at + out_side + 2 * p + 1] = acc[comptime!(a + 3)] + bv;
        }
    }
}
