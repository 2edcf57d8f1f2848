//! Copying a block of a tensor into workgroup memory, the first half of every tiled kernel here.

use cubecl::prelude::*;

/// Where [`stage`] takes a tile from: `planes` planes of `src`, `side` × `side` each, from the
/// float `base` on; tile row r is source row `first + r − border`, tile column c source column
/// `c − border`; positions outside the plane read as zeros (the convolutions' zero padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Block {
    pub planes: usize,
    pub rows: usize,
    pub cols: usize,
    pub side: usize,
    pub border: usize,
}

impl Block {
    pub fn len(&self) -> usize {
        self.planes * self.rows * self.cols
    }
}

/// Fills `dst[(p · rows + r) · cols + c]` from `src` as [`Block`] says, the workgroup's `units`
/// invocations taking every `units`-th float. Each steps its plane, row and column along instead
/// of dividing its position out: a software adapter divides lane by lane.
#[cube]
pub fn stage(
    src: &[f32],
    dst: &mut Shared<[f32]>,
    base: usize,
    first: usize,
    unit: usize,
    #[comptime] block: Block,
    #[comptime] units: usize,
) {
    let rows = comptime!(block.rows);
    let cols = comptime!(block.cols);
    let side = comptime!(block.side);
    let border = comptime!(block.border);
    let plane = comptime!(block.rows * block.cols);
    let (dp, dr, dc) = comptime!((units / plane, (units / cols) % rows, units % cols));
    let mut p = unit / plane;
    let mut r = (unit / cols) % rows;
    let mut c = unit % cols;
    let mut at = unit;
    while at < comptime!(block.len()) {
        let y = first + r;
        let mut v = 0.0f32;
        if y >= border && y < comptime!(side + border) && c >= border && c < comptime!(side + border) {
            v = src[base + (p * side + y - border) * side + c - border];
        }
        dst[at] = v;
        at += units;
        c += dc;
        r += dr;
        p += dp;
        if c >= cols {
            c -= cols;
            r += 1;
        }
        if r >= rows {
            r -= rows;
            p += 1;
        }
    }
}
