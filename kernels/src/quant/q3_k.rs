//! ggml Q3_K: `{ u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }`, 256 elements in 16
//! sub-blocks of 16. The low two bits of each quant are packed as in Q2_K; the third bit of
//! element `e` is bit `e / 32` of `hmask[e % 32]`, and a clear bit subtracts 4 (so q is in
//! -4..4). The 16 six-bit scales (stored offset by 32) are packed into 12 bytes: low nibbles of
//! scales 0..8 in bytes 0..8's low nibbles, of scales 8..16 in their high nibbles; the top two
//! bits of scale j in bits `2 * (j / 4)` of byte `8 + j % 4`. Value = d * (scale - 32) * q.

use super::common::{nearest_int, read_f16, round_to_f16, write_f16};
use super::q2_k::pack_2bit_planes;
use super::scale_search::make_q3_quants;
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::Q3_K.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::Q3_K.block_len();

const HMASK: usize = 0;
const QS: usize = 32;
const SCALES: usize = 96;
const D: usize = 108;

/// The 16 signed sub-block scales (already minus 32) from the 12 packed bytes.
pub(super) fn unpack_scales(packed: &[u8]) -> [i32; 16] {
    std::array::from_fn(|j| {
        let low = if j < 8 { packed[j] & 0xF } else { packed[j - 8] >> 4 };
        let high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
        (low | (high << 4)) as i32 - 32
    })
}

/// Packs 16 scales, each already offset into 0..64, into 12 bytes (inverse of
/// [`unpack_scales`] before its -32).
pub(super) fn pack_scales(scales: &[u8; 16]) -> [u8; 12] {
    let mut packed = [0u8; 12];
    for (j, &l) in scales.iter().enumerate() {
        if j < 8 {
            packed[j] |= l & 0xF;
        } else {
            packed[j - 8] |= (l & 0xF) << 4;
        }
        packed[8 + j % 4] |= ((l >> 4) & 3) << (2 * (j / 4));
    }
    packed
}

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, D);
    let scales = unpack_scales(&block[SCALES..SCALES + 12]);
    let hmask = &block[HMASK..HMASK + 32];
    for (sub, out16) in out.chunks_exact_mut(16).enumerate() {
        let dl = d * scales[sub] as f32;
        let half = sub / 8;
        let plane = (sub % 8) / 2; // which 2-bit plane of the half's 32 bytes
        let first = 16 * (sub % 2); // byte offset inside those 32 bytes
        let q = &block[QS + 32 * half + first..][..16];
        let high_bit = 4 * half + plane;
        for (l, o) in out16.iter_mut().enumerate() {
            let low = ((q[l] >> (2 * plane)) & 3) as i32;
            let minus = if (hmask[first + l] >> high_bit) & 1 != 0 { 0 } else { 4 };
            *o = dl * (low - minus) as f32;
        }
    }
}

/// Encodes one block as ggml's `quantize_row_q3_K_ref`: a symmetric 3-bit fit per 16 values
/// ([`make_q3_quants`]), the 16 scales quantized to 6 bits against the largest (which maps to
/// -32), then every value re-rounded against its final scale.
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let mut levels = [0u8; BLOCK_LEN];
    let mut scales = [0.0f32; 16];
    let (mut max_scale, mut amax) = (0.0f32, 0.0f32);
    for (j, (xs, ls)) in x.chunks_exact(16).zip(levels.chunks_exact_mut(16)).enumerate() {
        scales[j] = make_q3_quants(xs, 4, ls);
        if scales[j].abs() > amax {
            amax = scales[j].abs();
            max_scale = scales[j];
        }
    }
    let mut q_scales = [0u8; 16];
    let d_stored = if max_scale != 0.0 {
        let iscale = -32.0 / max_scale;
        for j in 0..16 {
            // ggml keeps nearest_int's result in an i8 before clamping.
            let l = (nearest_int(iscale * scales[j]) as i8).clamp(-32, 31);
            q_scales[j] = (l + 32) as u8;
        }
        1.0 / iscale
    } else {
        0.0
    };
    write_f16(block, D, d_stored);
    block[SCALES..SCALES + 12].copy_from_slice(&pack_scales(&q_scales));

    let d = round_to_f16(d_stored);
    let signed_scales = unpack_scales(&block[SCALES..SCALES + 12]);
    let groups = x.chunks_exact(16).zip(levels.chunks_exact_mut(16));
    for ((xs, ls), &sc) in groups.zip(&signed_scales) {
        let dl = d * sc as f32;
        if dl == 0.0 {
            continue;
        }
        for (l, &v) in ls.iter_mut().zip(xs) {
            *l = (nearest_int(v / dl).clamp(-4, 3) + 4) as u8;
        }
    }
    // Third bit of value e: bit e / 32 of hmask[e % 32].
    let mut hmask = [0u8; 32];
    for (e, level) in levels.iter_mut().enumerate() {
        if *level > 3 {
            hmask[e % 32] |= 1 << (e / 32);
            *level -= 4;
        }
    }
    block[HMASK..HMASK + 32].copy_from_slice(&hmask);
    pack_2bit_planes(&levels, &mut block[QS..QS + 64]);
}
