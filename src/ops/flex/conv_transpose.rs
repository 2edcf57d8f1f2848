//! The forward pass of the 3×3 transposed convolution, stride 2, padding 1, output padding 1
//! (its gradients come from one im2col of the output gradient,
//! [`layer_grads`](super::gemm::layer_grads)).

use super::gemm::{Gemm, gemm_width, shifted_copy};
use super::{assume_written, collect_chunks_with};
use multiversion::multiversion;

/// 3×3 transposed convolution, stride 2, padding 1, output padding 1, of x [batch, c_in, s, s]
/// with weight [c_in, c_out, 3, 3] and bias → [batch, c_out, 2s, 2s].
///
/// Output pixel 2·y + a − 1 takes input pixel y through kernel row a, so each of the four output
/// phases (row parity py, column parity px) is a small convolution of the input: even rows take
/// row a = 1 at y = m; odd rows a = 2 at y = m and a = 0 at y = m + 1 (columns alike). Per image
/// that is six GEMMs into four s × s phase planes, over the input's columns shifted by 0 and 1
/// (`cols2[i][d][y][x] = x[i][y][x + d]`, one zero row below), then one pass that interleaves
/// the phases and adds the bias. No col2im scatter. The phase planes are computed
/// [`gemm_width`] columns long (natively; the last ones are dropped), so that `gemm` reads `cols2`
/// in place.
#[multiversion(targets = "simd")]
pub(super) fn up_conv_forward(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    [batch, c_in, s, _]: [usize; 4],
    c_out: usize,
) -> Vec<f32> {
    let (plane, len, side) = (s * s, (s + 1) * s, 2 * s);
    // The phase planes' rows of `wide` columns ([`gemm_width`]).
    let wide = gemm_width(plane);
    let w = |i: usize, o: usize, a: usize, e: usize| weight[(i * c_out + o) * 9 + 3 * a + e];
    // Left sides per kernel row a: even output columns ([c_out, c_in], tap e = 1) and odd ones
    // ([c_out, 2·c_in], taps e = 2 at shift d = 0 and e = 0 at shift d = 1).
    let even: Vec<Vec<f32>> =
        (0..3).map(|a| (0..c_out).flat_map(|o| (0..c_in).map(move |i| w(i, o, a, 1))).collect()).collect();
    let odd: Vec<Vec<f32>> = (0..3)
        .map(|a| (0..c_out).flat_map(|o| (0..c_in).flat_map(move |i| [w(i, o, a, 2), w(i, o, a, 0)])).collect())
        .collect();
    // Work buffers: `cols2` (written in full for every image, then wide − plane floats that stay
    // zero, read for the phases' last columns), and the four phase planes.
    let cols_len = 2 * c_in * len + (wide - plane);
    let scratch = cols_len + 4 * c_out * wide;
    collect_chunks_with(batch * c_out * side * side, c_out * side * side, scratch, |scratch, b, image| {
        let src = &x[b * c_in * plane..][..c_in * plane];
        let (cols2, phases) = scratch.split_at_mut(cols_len);
        for i in 0..c_in {
            for (d, dst) in cols2[2 * i * len..][..2 * len].chunks_exact_mut(len).enumerate() {
                shifted_copy(&mut dst[..plane], &src[i * plane..][..plane], s, 0..s, 0, d as isize);
                dst[plane..].fill(0.0);
            }
        }
        for (py, row_taps) in [(0, &[(1, 0)][..]), (1, &[(2, 0), (0, 1)][..])] {
            for px in 0..2 {
                let phase = &mut phases[(2 * py + px) * c_out * wide..][..c_out * wide];
                for (j, &(a, dy)) in row_taps.iter().enumerate() {
                    let rhs = &cols2[dy * s..];
                    let product = if px == 0 {
                        Gemm {
                            m: c_out,
                            n: wide,
                            k: c_in,
                            lhs: &even[a],
                            lhs_rs: c_in,
                            rhs,
                            rhs_cs: 1,
                            rhs_rs: 2 * len,
                        }
                    } else {
                        let k = 2 * c_in;
                        Gemm { m: c_out, n: wide, k, lhs: &odd[a], lhs_rs: k, rhs, rhs_cs: 1, rhs_rs: len }
                    };
                    product.run(phase, j > 0);
                }
            }
        }
        for (o, out_plane) in image.chunks_exact_mut(side * side).enumerate() {
            for (m, pair) in out_plane.chunks_exact_mut(2 * side).enumerate() {
                let (top, bottom) = pair.split_at_mut(side);
                for (py, row) in [(0, top), (1, bottom)] {
                    let p0 = &phases[((2 * py) * c_out + o) * wide + m * s..][..s];
                    let p1 = &phases[((2 * py + 1) * c_out + o) * wide + m * s..][..s];
                    for ((v, &e), &f) in row.chunks_exact_mut(2).zip(p0).zip(p1) {
                        v[0].write(e + bias[o]);
                        v[1].write(f + bias[o]);
                    }
                }
            }
        }
        // SAFETY: the loops above tile the image: c_out planes of `side` = 2s rows in pairs, each
        // row s pairs of columns, every element written.
        unsafe { assume_written(image) }
    })
}
