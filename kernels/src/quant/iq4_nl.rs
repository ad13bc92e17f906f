//! ggml IQ4_NL: `{ f16 d; u8 qs[16] }`, 32 elements, nibble order as Q4_0; each nibble indexes
//! the non-linear table [`KVALUES_IQ4NL`]; value = table[q] * d.

use super::common::{GROUP_MAX_EPS, read_f16, write_f16};
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::IQ4_NL.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::IQ4_NL.block_len();

/// ggml's `kvalues_iq4nl`: the 16 levels, sorted ascending.
pub(super) const KVALUES_IQ4NL: [i8; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    let d = read_f16(block, 0);
    let qs = &block[2..18];
    for j in 0..16 {
        out[j] = d * KVALUES_IQ4NL[(qs[j] & 0xF) as usize] as f32;
        out[j + 16] = d * KVALUES_IQ4NL[(qs[j] >> 4) as usize] as f32;
    }
}

/// How many candidate scales on each side of the first guess the search tries.
const NTRY: i32 = 7;

/// Encodes one block as ggml's `quantize_iq4_nl` without importance weights (what
/// llama-quantize writes): weights x², a first scale max / -127, then 15 candidate scales
/// around it, keeping the x²-weighted least-squares best; indices are re-picked for the final
/// scale.
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    let d = if amax < GROUP_MAX_EPS { 0.0 } else { best_scale(x, max) };
    write_f16(block, 0, d);
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    for j in 0..16 {
        let lo = nearest_level(id * x[j]);
        let hi = nearest_level(id * x[j + 16]);
        block[2 + j] = lo | (hi << 4);
    }
}

/// The scale search of ggml's `quantize_row_iq4_nl_impl` for one 32-value block.
pub(super) fn best_scale(x: &[f32; BLOCK_LEN], max: f32) -> f32 {
    let first = KVALUES_IQ4NL[0] as f32;
    // Weighted sums for inverse scale `id`: sum(w q x), sum(w q^2) with w = x^2.
    let sums = |id: f32| {
        let (mut sumqx, mut sumq2) = (0.0f32, 0.0f32);
        for &v in x {
            let q = KVALUES_IQ4NL[nearest_level(id * v) as usize] as f32;
            let w = v * v;
            sumqx += w * q * v;
            sumq2 += w * q * q;
        }
        (sumqx, sumq2)
    };
    let (sumqx, sumq2) = sums(1.0 / (-max / first));
    let mut d = if sumq2 > 0.0 { sumqx / sumq2 } else { 0.0 };
    let mut best = d * sumqx;
    for itry in -NTRY..=NTRY {
        let id = (itry + KVALUES_IQ4NL[0] as i32) as f32 / max;
        let (sumqx, sumq2) = sums(id);
        if sumq2 > 0.0 && sumqx * sumqx > best * sumq2 {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    d
}

/// Index of the table level nearest to `v` (ggml's `best_index_int8`; a tie picks the upper
/// level). Compares 2v with the sum of neighbouring levels, which is exact.
pub(super) fn nearest_level(v: f32) -> u8 {
    let v2 = v + v;
    let mut idx = 0usize;
    let mut step = 8;
    while step > 0 {
        let j = idx + step;
        if v2 >= (KVALUES_IQ4NL[j - 1] as i32 + KVALUES_IQ4NL[j] as i32) as f32 {
            idx = j;
        }
        step >>= 1;
    }
    idx as u8
}
