//! ggml Q6_K: `{ u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }`, 256 elements in 16 sub-blocks of
//! 16 with signed 8-bit scales. Each 128-element half uses 64 bytes of `ql` and 32 of `qh`:
//! element `32 * k + l` (k in 0..4) takes its low nibble from `ql[l + 32 * (k % 2)]` (low nibble
//! for k < 2, high for k >= 2) and its top two bits from bits `2k..2k+2` of `qh[l]`.
//! Value = d * scale * (q - 32).

use super::common::{GROUP_MAX_EPS, nearest_int, read_f16, round_to_f16, write_f16};
use super::scale_search::make_qx_quants;
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::Q6_K.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::Q6_K.block_len();

const QL: usize = 0;
const QH: usize = 128;
const SCALES: usize = 192;
const D: usize = 208;

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, D);
    for (half, out128) in out.chunks_exact_mut(128).enumerate() {
        let ql = &block[QL + 64 * half..][..64];
        let qh = &block[QH + 32 * half..][..32];
        let sc = &block[SCALES + 8 * half..][..8];
        for l in 0..32 {
            let is = l / 16;
            let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
            let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
            let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
            let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
            out128[l] = d * (sc[is] as i8) as f32 * q1 as f32;
            out128[l + 32] = d * (sc[is + 2] as i8) as f32 * q2 as f32;
            out128[l + 64] = d * (sc[is + 4] as i8) as f32 * q3 as f32;
            out128[l + 96] = d * (sc[is + 6] as i8) as f32 * q4 as f32;
        }
    }
}

/// Encodes one block as ggml's `quantize_row_q6_K_ref`: a symmetric 6-bit fit per 16 values
/// ([`make_qx_quants`]), the 16 scales quantized to i8 against the largest one (which maps to
/// -128), then every value re-rounded against its final scale.
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let mut levels = [0u8; BLOCK_LEN];
    let mut scales = [0.0f32; 16];
    let (mut max_scale, mut max_abs_scale) = (0.0f32, 0.0f32);
    for (ib, (xs, ls)) in x.chunks_exact(16).zip(levels.chunks_exact_mut(16)).enumerate() {
        scales[ib] = make_qx_quants(xs, 32, ls);
        if scales[ib].abs() > max_abs_scale {
            max_abs_scale = scales[ib].abs();
            max_scale = scales[ib];
        }
    }
    block.fill(0);
    if max_abs_scale < GROUP_MAX_EPS {
        return;
    }
    let iscale = -128.0 / max_scale;
    write_f16(block, D, 1.0 / iscale);
    let d = round_to_f16(1.0 / iscale);
    for ib in 0..16 {
        let sc = nearest_int(iscale * scales[ib]).min(127) as i8;
        block[SCALES + ib] = sc as u8;
        let dl = d * sc as f32;
        if dl == 0.0 {
            continue;
        }
        for i in 16 * ib..16 * ib + 16 {
            levels[i] = (nearest_int(x[i] / dl).clamp(-32, 31) + 32) as u8;
        }
    }
    for half in 0..2 {
        let l6 = &levels[128 * half..128 * half + 128];
        let (ql, qh) = (QL + 64 * half, QH + 32 * half);
        for l in 0..32 {
            let (a, b, c, e) = (l6[l], l6[l + 32], l6[l + 64], l6[l + 96]);
            block[ql + l] = (a & 0xF) | ((c & 0xF) << 4);
            block[ql + l + 32] = (b & 0xF) | ((e & 0xF) << 4);
            block[qh + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
        }
    }
}
