//! ggml Q4_K: `{ f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }`, 256 elements in 8 sub-blocks of
//! 32 with 6-bit scales and mins (packing in [`super::common::scale_min_k4`]). Each 64-element
//! chunk uses 32 bytes of `qs`: its first 32 elements are the low nibbles, the next 32 the high
//! nibbles. Value = d * scale * q - dmin * min.

use super::common::{nearest_int, pack_scale_min_k4, read_f16, round_to_f16, scale_min_k4, write_f16};
use super::scale_search::{Qkx2Search, make_qkx2_quants};
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::Q4_K.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::Q4_K.block_len();

const D: usize = 0;
const DMIN: usize = 2;
const SCALES: usize = 4;
const QS: usize = 16;

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, D);
    let dmin = read_f16(block, DMIN);
    let packed: [u8; 12] = std::array::from_fn(|i| block[SCALES + i]);
    for (chunk, out64) in out.chunks_exact_mut(64).enumerate() {
        let (sc1, m1) = scale_min_k4(2 * chunk, &packed);
        let (sc2, m2) = scale_min_k4(2 * chunk + 1, &packed);
        let (d1, min1) = (d * sc1 as f32, dmin * m1 as f32);
        let (d2, min2) = (d * sc2 as f32, dmin * m2 as f32);
        let q = &block[QS + 32 * chunk..][..32];
        let (lo, hi) = out64.split_at_mut(32);
        for l in 0..32 {
            lo[l] = d1 * (q[l] & 0xF) as f32 - min1;
            hi[l] = d2 * (q[l] >> 4) as f32 - min2;
        }
    }
}

/// ggml's `make_qkx2_quants` parameters for Q4_K.
const SEARCH: Qkx2Search = Qkx2Search { rmin: -1.0, rdelta: 0.1, nstep: 20, use_mad: false };

/// Encodes one block as ggml's `quantize_row_q4_K_ref`.
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let mut levels = [0u8; BLOCK_LEN];
    quantize_scales_mins(x, 15, SEARCH, block, &mut levels);
    for chunk in 0..4 {
        let l64 = &levels[64 * chunk..64 * chunk + 64];
        for l in 0..32 {
            block[QS + 32 * chunk + l] = l64[l] | (l64[l + 32] << 4);
        }
    }
}

/// The part of Q4_K and Q5_K encoding they share: fits each 32-value sub-block with
/// [`make_qkx2_quants`] (weights: RMS of the sub-block + |x|), quantizes the eight scales and
/// mins to 6 bits against the largest of each, writes `d`, `dmin` and the 12 packed scale
/// bytes (offsets 0, 2 and 4 in both formats), and re-rounds every value against its final
/// scale and min into `levels` (0..=nmax).
pub(super) fn quantize_scales_mins(
    x: &[f32; BLOCK_LEN],
    nmax: i32,
    search: Qkx2Search,
    block: &mut [u8],
    levels: &mut [u8; BLOCK_LEN],
) {
    let mut scales = [0.0f32; 8];
    let mut mins = [0.0f32; 8];
    let (mut max_scale, mut max_min) = (0.0f32, 0.0f32);
    for j in 0..8 {
        let xs = &x[32 * j..32 * j + 32];
        let sum_x2 = xs.iter().fold(0.0f32, |s, v| s + v * v);
        let av_x = (sum_x2 / 32.0).sqrt();
        let weights: [f32; 32] = std::array::from_fn(|l| av_x + xs[l].abs());
        let ls = &mut levels[32 * j..32 * j + 32];
        (scales[j], mins[j]) = make_qkx2_quants(xs, &weights, nmax, search, ls);
        if scales[j] > max_scale {
            max_scale = scales[j];
        }
        if mins[j] > max_min {
            max_min = mins[j];
        }
    }
    let inv_scale = if max_scale > 0.0 { 63.0 / max_scale } else { 0.0 };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    // ggml stores nearest_int's result in a u8 before clamping: keep its wrap-around.
    let q_scales: [u8; 8] = std::array::from_fn(|j| (nearest_int(inv_scale * scales[j]) as u8).min(63));
    let q_mins: [u8; 8] = std::array::from_fn(|j| (nearest_int(inv_min * mins[j]) as u8).min(63));
    let packed = pack_scale_min_k4(&q_scales, &q_mins);
    write_f16(block, D, max_scale / 63.0);
    write_f16(block, DMIN, max_min / 63.0);
    block[SCALES..SCALES + 12].copy_from_slice(&packed);

    let d = round_to_f16(max_scale / 63.0);
    let dmin = round_to_f16(max_min / 63.0);
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, &packed);
        let dl = d * sc as f32;
        if dl == 0.0 {
            continue;
        }
        let ml = dmin * m as f32;
        for i in 32 * j..32 * j + 32 {
            levels[i] = nearest_int((x[i] + ml) / dl).clamp(0, nmax) as u8;
        }
    }
}
