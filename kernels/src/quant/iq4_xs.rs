//! ggml IQ4_XS: `{ f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128] }`, 256 elements in eight
//! sub-blocks of 32. Sub-block `ib` has the 6-bit scale `ls = low nibble ib of scales_l |
//! (bits 2ib..2ib+2 of scales_h) << 4` and value `d · (ls − 32) · table[q]`, with IQ4_NL's
//! table and nibble order (byte j of a sub-block: element j low, j + 16 high).

use super::common::{GROUP_MAX_EPS, nearest_int, read_f16, write_f16};
use super::iq4_nl::{KVALUES_IQ4NL, best_scale, nearest_level};
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::IQ4_XS.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::IQ4_XS.block_len();
/// Elements per sub-block.
const SUB: usize = 32;

/// The 6-bit scale of sub-block `ib` (0..8), biased by 32.
pub(super) fn sub_scale(block: &[u8], ib: usize) -> i32 {
    let scales_h = u16::from_le_bytes([block[2], block[3]]);
    let low = (block[4 + ib / 2] >> (4 * (ib % 2))) & 0x0F;
    let high = ((scales_h >> (2 * ib)) & 3) as u8;
    (low | (high << 4)) as i32
}

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, 0);
    for ib in 0..BLOCK_LEN / SUB {
        let dl = d * (sub_scale(block, ib) - 32) as f32;
        let qs = &block[8 + 16 * ib..8 + 16 * ib + 16];
        let y = &mut out[SUB * ib..SUB * ib + SUB];
        for j in 0..16 {
            y[j] = dl * KVALUES_IQ4NL[(qs[j] & 0xF) as usize] as f32;
            y[j + 16] = dl * KVALUES_IQ4NL[(qs[j] >> 4) as usize] as f32;
        }
    }
}

/// Encodes one block as ggml's `quantize_iq4_xs` without importance weights (what
/// llama-quantize writes): each sub-block's scale searched as IQ4_NL's (weights x², 15 tries),
/// the super-block scale `d = −max_scale / 32` (max_scale the sub-scale of largest magnitude),
/// sub-scales rounded to `[−32, 31]`, then every index re-picked for its rounded sub-scale.
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let mut scales = [0.0f32; BLOCK_LEN / SUB];
    let (mut max_scale, mut amax_scale) = (0.0f32, 0.0f32);
    for (ib, scale) in scales.iter_mut().enumerate() {
        let xb: &[f32; SUB] = x[SUB * ib..SUB * ib + SUB].try_into().expect("32 values");
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in xb {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax < GROUP_MAX_EPS {
            continue;
        }
        *scale = best_scale(xb, max);
        if scale.abs() > amax_scale {
            amax_scale = scale.abs();
            max_scale = *scale;
        }
    }
    block.fill(0);
    let d = -max_scale / 32.0;
    write_f16(block, 0, d);
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let mut scales_h = 0u16;
    for (ib, &scale) in scales.iter().enumerate() {
        let l = nearest_int(id * scale).clamp(-32, 31);
        let dl = d * l as f32;
        let idl = if dl != 0.0 { 1.0 / dl } else { 0.0 };
        let xb = &x[SUB * ib..SUB * ib + SUB];
        for j in 0..16 {
            let lo = nearest_level(idl * xb[j]);
            let hi = nearest_level(idl * xb[j + 16]);
            block[8 + 16 * ib + j] = lo | (hi << 4);
        }
        let biased = (l + 32) as u8;
        block[4 + ib / 2] |= (biased & 0x0F) << (4 * (ib % 2));
        scales_h |= ((biased >> 4) as u16) << (2 * ib);
    }
    block[2..4].copy_from_slice(&scales_h.to_le_bytes());
}
