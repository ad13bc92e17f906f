//! ggml Q5_K: `{ f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }`, 256 elements. Scales
//! and low nibbles as Q4_K; the fifth bit of element `32 * s + l` (sub-block s) is bit s of
//! `qh[l]`. Value = d * scale * q - dmin * min.

use super::common::{read_f16, scale_min_k4};
use super::q4_k::quantize_scales_mins;
use super::scale_search::Qkx2Search;
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::Q5_K.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::Q5_K.block_len();

const D: usize = 0;
const DMIN: usize = 2;
const SCALES: usize = 4;
const QH: usize = 16;
const QS: usize = 48;

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, D);
    let dmin = read_f16(block, DMIN);
    let packed: [u8; 12] = std::array::from_fn(|i| block[SCALES + i]);
    let qh = &block[QH..QH + 32];
    for (chunk, out64) in out.chunks_exact_mut(64).enumerate() {
        let (sc1, m1) = scale_min_k4(2 * chunk, &packed);
        let (sc2, m2) = scale_min_k4(2 * chunk + 1, &packed);
        let (d1, min1) = (d * sc1 as f32, dmin * m1 as f32);
        let (d2, min2) = (d * sc2 as f32, dmin * m2 as f32);
        let q = &block[QS + 32 * chunk..][..32];
        let (lo, hi) = out64.split_at_mut(32);
        for l in 0..32 {
            let h1 = ((qh[l] >> (2 * chunk)) & 1) << 4;
            let h2 = ((qh[l] >> (2 * chunk + 1)) & 1) << 4;
            lo[l] = d1 * ((q[l] & 0xF) + h1) as f32 - min1;
            hi[l] = d2 * ((q[l] >> 4) + h2) as f32 - min2;
        }
    }
}

/// ggml's `make_qkx2_quants` parameters for Q5_K.
const SEARCH: Qkx2Search = Qkx2Search { rmin: -0.5, rdelta: 0.1, nstep: 15, use_mad: false };

/// Encodes one block as ggml's `quantize_row_q5_K_ref`.
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let mut levels = [0u8; BLOCK_LEN];
    quantize_scales_mins(x, 31, SEARCH, block, &mut levels);
    let mut qh = [0u8; 32];
    for chunk in 0..4 {
        let l64 = &levels[64 * chunk..64 * chunk + 64];
        for l in 0..32 {
            let (lo, hi) = (l64[l], l64[l + 32]);
            qh[l] |= ((lo >> 4) << (2 * chunk)) | ((hi >> 4) << (2 * chunk + 1));
            block[QS + 32 * chunk + l] = (lo & 0xF) | ((hi & 0xF) << 4);
        }
    }
    block[QH..QH + 32].copy_from_slice(&qh);
}
