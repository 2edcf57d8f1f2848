//! 3 × 3 convolutions on a cubecl device: the gathering convolution that computes a stride-1
//! layer's forward pass and input gradient and a transposed layer's input gradient.
//!
//! An implicit GEMM tiled the way GPUs want it: a workgroup stages a block of input rows and the
//! weights of a few input channels in workgroup memory, then each invocation accumulates a
//! register tile (output channels × rows × pixels) from there.

use cubecl::prelude::*;

use super::stage::{Block, stage};
use super::{MAX_UNITS, Profile, SHARED_FLOATS, divisor_at_most, mac};

/// How [`conv3x3_kernel`] splits its output: a workgroup computes `rows` output rows of one
/// image for every output channel; within it, each invocation `channels` output channels ×
/// `lines` rows × `run` neighbouring pixels. Input channels are staged `staged` at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvTile {
    pub channels: usize,
    pub run: usize,
    pub lines: usize,
    pub rows: usize,
    pub staged: usize,
    /// Multiply-adds as `fma` ([`mac`]).
    pub fused: bool,
}

/// The shape of one gathering convolution: `c_in` maps of `side_in` pixels → `c_out` maps of
/// `side_out`, output pixel (y, x) reading input rows `stride·y − 1 …` and columns
/// `stride·x − 1 …` through a 3 × 3 kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvShape {
    pub c_in: usize,
    pub c_out: usize,
    pub side_in: usize,
    pub side_out: usize,
    pub stride: usize,
}

impl ConvShape {
    /// Rows and columns of input staged for `rows` output rows (with the zero border).
    fn staged_rows(&self, rows: usize) -> usize {
        (rows - 1) * self.stride + 3
    }

    fn staged_cols(&self) -> usize {
        (self.side_out - 1) * self.stride + 3
    }

    /// The tile for this shape on `profile`.
    ///
    /// Software adapters (SwiftShader, lavapipe) run four invocations in the lanes of one CPU
    /// vector register and turn every load whose address differs per lane into four loads, so
    /// what decides their speed is how many multiply-adds an invocation gets out of a load: 8
    /// channels × 14 pixels, or for a single output channel 4 rows × 14 pixels, with neighbouring
    /// invocations reading the same weights (measured in `docs/benchmarks.md`). A GPU keeps its
    /// registers for occupancy: 4 channels × 7 pixels, ≈ 128 invocations per workgroup.
    pub fn tile(&self, profile: Profile) -> ConvTile {
        let s = self.side_out;
        // (channels, pixels, lines, rows) at most; each the largest divisor of its extent up to that.
        let (channels, run, lines, rows) = match (profile, self.c_out) {
            (Profile::Software, 1) => (1, 14, 4, s),
            (Profile::Software, _) => (8, 14, 1, if s > 14 { 4 } else { s }),
            (Profile::Gpu, 1) => (1, 7, 2, s),
            (Profile::Gpu, _) => (4, 7, 1, if s > 14 { 4 } else { s }),
        };
        let (channels, run) = (divisor_at_most(self.c_out, channels), divisor_at_most(s, run));
        let mut rows = divisor_at_most(s, rows);
        let mut staged = divisor_at_most(self.c_in, 8);
        while self.shared_floats(rows, staged) > SHARED_FLOATS {
            if staged > 1 {
                staged = divisor_at_most(self.c_in, staged - 1);
            } else {
                rows = divisor_at_most(s, rows - 1);
            }
        }
        let lines = divisor_at_most(rows, lines);
        let tile = ConvTile { channels, run, lines, rows, staged, fused: profile == Profile::Gpu };
        assert!(
            self.units(&tile) <= MAX_UNITS && self.shared_floats(rows, staged) <= SHARED_FLOATS,
            "conv3x3: tile {tile:?} of {self:?} exceeds WebGPU's workgroup limits"
        );
        tile
    }

    fn shared_floats(&self, rows: usize, staged: usize) -> usize {
        staged * (self.staged_rows(rows) * self.staged_cols() + 9 * self.c_out)
    }

    /// Invocations per workgroup.
    pub fn units(&self, tile: &ConvTile) -> usize {
        (tile.rows / tile.lines) * (self.side_out / tile.run) * (self.c_out / tile.channels)
    }

    /// Workgroups for `batch` images.
    pub fn workgroups(&self, tile: &ConvTile, batch: usize) -> usize {
        batch * self.side_out / tile.rows
    }
}

/// `output[n, o, y, x] = bias[o] + Σ_i Σ_taps input[n, i, stride·y − 1 + ky, stride·x − 1 + kx] ·
/// weight[o, i, ky, kx]`, zero outside the input. `input`: [batch, c_in, side_in, side_in],
/// `weight`: [c_out, c_in, 3, 3], `output`: [batch, c_out, side_out, side_out]. A convolution's
/// forward pass, its input gradient (the output gradient through [`flip_kernel`]'s weight, no
/// bias: the same shader as the forward pass where the layer is square), and a transposed
/// convolution's input gradient (its weight as it is, stride 2). Each sum `v` is written as
/// `v > 0 ? v : slope·v`: leaky ReLU for a slope below 1, the sum itself (bit for bit, NaN
/// included) for 1. A runtime slope rather than a compile-time variant: a layer's forward pass
/// and its input gradient stay one shader, and on a software adapter each shader takes seconds
/// to compile (`docs/benchmarks.md`).
// `let mut` makes a CubeCL variable a register that can be assigned, though Rust sees no mutation.
#[allow(unused_mut)]
#[cube(launch_unchecked)]
pub fn conv3x3_kernel(
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    output: &mut [f32],
    slope: f32,
    #[comptime] shape: ConvShape,
    #[comptime] tile: ConvTile,
) {
    let c_in = comptime!(shape.c_in);
    let c_out = comptime!(shape.c_out);
    let side_in = comptime!(shape.side_in);
    let side_out = comptime!(shape.side_out);
    let stride = comptime!(shape.stride);
    let channels = comptime!(tile.channels);
    let run = comptime!(tile.run);
    let lines = comptime!(tile.lines);
    let rows = comptime!(tile.rows);
    let staged = comptime!(tile.staged);
    let runs_per_row = comptime!(side_out / run);
    let pixel_groups = comptime!(rows / lines * side_out / run);
    let units = comptime!(pixel_groups * (c_out / channels));
    let tile_rows = comptime!((rows - 1) * stride + 3);
    let tile_cols = comptime!((side_out - 1) * stride + 3);
    let input_tile = comptime!(staged * tile_rows * tile_cols);
    let weight_tile = comptime!(staged * 9 * c_out);
    // Input pixels one row of the register tile reads, and input rows the tile reads.
    let window = comptime!((run - 1) * stride + 3);
    let in_lines = comptime!((lines - 1) * stride + 3);

    let unit = UNIT_POS as usize;
    let blocks_per_image = comptime!(side_out / rows);
    let n = CUBE_POS_X as usize / blocks_per_image;
    let row0 = (CUBE_POS_X as usize % blocks_per_image) * rows;
    // Neighbouring invocations (a CPU renderer's vector lanes) share their output channels and
    // differ in pixels: the weights they read are the same address.
    let group = unit % pixel_groups;
    let o0 = (unit / pixel_groups) * channels;
    let ry = (group / runs_per_row) * lines;
    let x0 = (group % runs_per_row) * run;

    let mut staged_input = Shared::new_slice(input_tile);
    let mut staged_weight = Shared::new_slice(weight_tile);
    // Register tiles as sequences: one variable each, never an indexed array (which a shader
    // compiler may leave in memory and bounds-check at every access).
    // [channel][line][pixel]
    let mut acc = Sequence::<f32>::new();
    #[unroll]
    for _ in 0..comptime!(channels * lines * run) {
        let mut z = 0.0f32;
        acc.push(z);
    }

    for chunk in 0..comptime!(c_in / staged) {
        let i0 = chunk * staged;
        // Input rows stride·row0 − 1 … and columns −1 …, the border as zeros.
        let block = comptime!(Block { planes: staged, rows: tile_rows, cols: tile_cols, side: side_in, border: 1 });
        stage(
            input,
            &mut staged_input,
            (n * c_in + i0) * comptime!(side_in * side_in),
            row0 * stride,
            unit,
            block,
            units,
        );
        // Weights as [input channel, tap, output channel].
        let mut e = unit;
        while e < weight_tile {
            let o = e % c_out;
            let t = (e / c_out) % 9;
            let i = i0 + e / comptime!(9 * c_out);
            staged_weight[e] = weight[(o * c_in + i) * 9 + t];
            e += units;
        }
        sync_cube();

        for k in 0..staged {
            // [channel][tap]
            let mut w = Sequence::<f32>::new();
            #[unroll]
            for o in 0..channels {
                #[unroll]
                for t in 0..9 {
                    w.push(staged_weight[(k * 9 + t) * c_out + o0 + o]);
                }
            }
            // Each input row once, for every row of the tile that reads it.
            #[unroll]
            for q in 0..in_lines {
                let row = (k * tile_rows + ry * stride + q) * tile_cols + x0 * stride;
                let mut values = Sequence::<f32>::new();
                #[unroll]
                for c in 0..window {
                    values.push(staged_input[row + c]);
                }
                #[unroll]
                for l in 0..lines {
                    if comptime!(q >= l * stride && q - l * stride < 3) {
                        let ky = comptime!(q - l * stride);
                        #[unroll]
                        for kx in 0..3 {
                            #[unroll]
                            for o in 0..channels {
                                let wv = w[comptime!(o * 9 + ky * 3 + kx)];
                                #[unroll]
                                for p in 0..run {
                                    let at = comptime!((o * lines + l) * run + p);
                                    acc[at] = mac(acc[at], wv, values[comptime!(p * stride + kx)], tile.fused);
                                }
                            }
                        }
                    }
                }
            }
        }
        sync_cube();
    }

    #[unroll]
    for o in 0..channels {
        let b = bias[o0 + o];
        #[unroll]
        for l in 0..lines {
            let at = ((n * c_out + o0 + o) * side_out + row0 + ry + l) * side_out + x0;
            #[unroll]
            for p in 0..run {
                let v = acc[comptime!((o * lines + l) * run + p)] + b;
                output[at + p] = select(v > 0.0, v, v * slope);
            }
        }
    }
}

/// A convolution's weight `[c_out, c_in, 3, 3]` for its input gradient: `[c_in, c_out, 3, 3]`
/// with the kernel turned by 180°, one element per invocation.
#[cube(launch_unchecked)]
pub fn flip_kernel(weight: &[f32], out: &mut [f32], c_in: u32, c_out: u32) {
    let e = ABSOLUTE_POS;
    let (c_in, c_out) = (c_in as usize, c_out as usize);
    if e < c_in * c_out * 9 {
        let t = e % 9;
        let o = (e / 9) % c_out;
        let i = e / (9 * c_out);
        out[e] = weight[(o * c_in + i) * 9 + 8 - t];
    }
}
