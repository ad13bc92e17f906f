//! ggml Q2_K: `{ u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }`, 256 elements in 16 sub-blocks
//! of 16. `scales[i]` holds sub-block i's 4-bit scale (low nibble) and 4-bit min (high nibble).
//! Each 128-element half uses 32 bytes of `qs`: element `32 * k + r` of the half is bits
//! `2k..2k+2` of byte `r`. Value = d * scale * q - dmin * min.

use super::common::{nearest_int, read_f16, round_to_f16, write_f16};
use super::scale_search::{Qkx2Search, make_qkx2_quants};
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::Q2_K.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::Q2_K.block_len();

const SCALES: usize = 0;
const QS: usize = 16;
const D: usize = 80;
const DMIN: usize = 82;

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, D);
    let dmin = read_f16(block, DMIN);
    for (sub, out16) in out.chunks_exact_mut(16).enumerate() {
        let sc = block[SCALES + sub];
        let dl = d * (sc & 0xF) as f32;
        let ml = dmin * (sc >> 4) as f32;
        // Sub-block `sub` covers elements 16 * sub.. of the block: half `sub / 8`, 2-bit
        // plane `(sub % 8) / 2`, bytes 0..16 or 16..32 of that half's quants.
        let half = sub / 8;
        let shift = 2 * ((sub % 8) / 2);
        let q = &block[QS + 32 * half + 16 * (sub % 2)..][..16];
        for (o, &byte) in out16.iter_mut().zip(q) {
            *o = dl * ((byte >> shift) & 3) as f32 - ml;
        }
    }
}

/// ggml's `make_qkx2_quants` parameters for Q2_K (weighted absolute error).
const SEARCH: Qkx2Search = Qkx2Search { rmin: -0.5, rdelta: 0.1, nstep: 15, use_mad: true };

/// Encodes one block as ggml's `quantize_row_q2_K_ref`: a 2-bit asymmetric fit per 16 values
/// (weights |x|), scales and mins quantized to 4 bits against the largest of each, then every
/// value re-rounded against its final scale and min.
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let mut levels = [0u8; BLOCK_LEN];
    let mut scales = [0.0f32; 16];
    let mut mins = [0.0f32; 16];
    let (mut max_scale, mut max_min) = (0.0f32, 0.0f32);
    for (j, (xs, ls)) in x.chunks_exact(16).zip(levels.chunks_exact_mut(16)).enumerate() {
        let weights: [f32; 16] = std::array::from_fn(|l| xs[l].abs());
        (scales[j], mins[j]) = make_qkx2_quants(xs, &weights, 3, SEARCH, ls);
        if scales[j] > max_scale {
            max_scale = scales[j];
        }
        if mins[j] > max_min {
            max_min = mins[j];
        }
    }
    let mut packed = [0u8; 16];
    if max_scale > 0.0 {
        let iscale = 15.0 / max_scale;
        for j in 0..16 {
            packed[j] = nearest_int(iscale * scales[j]) as u8;
        }
    }
    if max_min > 0.0 {
        let iscale = 15.0 / max_min;
        for j in 0..16 {
            packed[j] |= (nearest_int(iscale * mins[j]) << 4) as u8;
        }
    }
    let d_stored = if max_scale > 0.0 { max_scale / 15.0 } else { 0.0 };
    let dmin_stored = if max_min > 0.0 { max_min / 15.0 } else { 0.0 };
    write_f16(block, D, d_stored);
    write_f16(block, DMIN, dmin_stored);
    block[SCALES..SCALES + 16].copy_from_slice(&packed);

    let (d, dmin) = (round_to_f16(d_stored), round_to_f16(dmin_stored));
    let groups = x.chunks_exact(16).zip(levels.chunks_exact_mut(16));
    for ((xs, ls), &sc) in groups.zip(&packed) {
        let dl = d * (sc & 0xF) as f32;
        if dl == 0.0 {
            continue;
        }
        let ml = dmin * (sc >> 4) as f32;
        for (l, &v) in ls.iter_mut().zip(xs) {
            *l = nearest_int((v + ml) / dl).clamp(0, 3) as u8;
        }
    }
    pack_2bit_planes(&levels, &mut block[QS..QS + 64]);
}

/// Packs 256 two-bit values (low two bits of each `levels` entry) as Q2_K/Q3_K do: per
/// 128-value half, byte `r` of its 32 holds values `r`, `r + 32`, `r + 64`, `r + 96` at bits
/// 0, 2, 4, 6.
pub(super) fn pack_2bit_planes(levels: &[u8; BLOCK_LEN], qs: &mut [u8]) {
    for half in 0..2 {
        let l = &levels[128 * half..128 * half + 128];
        for r in 0..32 {
            qs[32 * half + r] = (l[r] & 3) | ((l[r + 32] & 3) << 2) | ((l[r + 64] & 3) << 4) | ((l[r + 96] & 3) << 6);
        }
    }
}
