//! ggml NVFP4: `{ u8 d[4]; u8 qs[32] }`, 64 elements in four sub-blocks of 16, each with a
//! UE4M3 scale. Sub-block s: element `16s + j` is the low nibble of `qs[8s + j]`, `16s + 8 + j`
//! its high nibble; value = `kvalues_mxfp4[q] · ue4m3(d[s]) / 2` (ggml's doubled E2M1 table).

use super::mxfp4::KVALUES_MXFP4;
use crate::DType;

/// Bytes per block.
pub(super) const BLOCK_BYTES: usize = DType::NVFP4.block_bytes();
/// Elements per block.
pub(super) const BLOCK_LEN: usize = DType::NVFP4.block_len();

/// ggml's `ggml_ue4m3_to_fp32`: half the UE4M3 value (4 exponent bits, bias 7, 3 mantissa bits;
/// bit 7 ignored; 0 and 0x7F give 0).
#[inline(always)]
pub(crate) fn ue4m3_half(x: u8) -> f32 {
    UE4M3_HALF[x as usize]
}

/// [`ue4m3_half`] of every byte: a table, as the GEMM reads one per 16 weights (`powi` is a
/// libm call). Normal values are built from their bits: `(1 + man/8) · 2^(exp − 7) / 2` has
/// f32 exponent field `exp + 119` and mantissa `man << 20`; subnormals are `man · 2^-10`.
static UE4M3_HALF: [f32; 256] = {
    let mut t = [0f32; 256];
    let mut x = 1;
    while x < 256 {
        let (exp, man) = ((x >> 3) & 0xF, x & 7);
        t[x] = if x == 0x7F {
            0.0
        } else if exp == 0 {
            man as f32 / 1024.0
        } else {
            f32::from_bits(((exp + 119) << 23 | man << 20) as u32)
        };
        x += 1;
    }
    t
};

/// ggml's `ggml_fp32_to_ue4m3`: non-positive (and NaN) to 0, clamped at 448, mantissa rounded
/// up at its fourth bit (ties away), subnormals `round(x · 2^9)`, overflow to 0x7E.
fn to_ue4m3(x: f32) -> u8 {
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    let x = x.min(448.0);
    let bits = x.to_bits();
    let mut exp = ((bits >> 23) & 0xFF) as i32 - 127 + 7;
    if exp <= 0 {
        let man = ((x * 512.0 + 0.5) as i32).min(7);
        return if man < 1 { 0 } else { man as u8 };
    }
    if exp >= 15 {
        return 0x7E;
    }
    let mut man = ((bits >> 20) & 7) as i32 + ((bits >> 19) & 1) as i32;
    if man > 7 {
        man = 0;
        exp += 1;
        if exp >= 15 {
            return 0x7E;
        }
    }
    ((exp << 3) | man) as u8
}

/// Decodes one block.
pub(super) fn dequantize_block(block: &[u8; BLOCK_BYTES], out: &mut [f32; BLOCK_LEN]) {
    for s in 0..4 {
        let d = ue4m3_half(block[s]);
        for j in 0..8 {
            let q = block[4 + 8 * s + j];
            out[16 * s + j] = KVALUES_MXFP4[(q & 0xF) as usize] as f32 * d;
            out[16 * s + 8 + j] = KVALUES_MXFP4[(q >> 4) as usize] as f32 * d;
        }
    }
}

/// Encodes one block as ggml's `quantize_row_nvfp4_ref`: per sub-block the scale
/// `ue4m3(amax / 6)`, then each value's nearest code (the first of equals).
pub(super) fn quantize_block(x: &[f32; BLOCK_LEN], block: &mut [u8; BLOCK_BYTES]) {
    for s in 0..4 {
        let xb = &x[16 * s..16 * s + 16];
        let amax = xb.iter().fold(0.0f32, |a, v| if a < v.abs() { v.abs() } else { a });
        let ue = to_ue4m3(amax / 6.0);
        block[s] = ue;
        let d = ue4m3_half(ue);
        for j in 0..8 {
            block[4 + 8 * s + j] =
                super::mxfp4::nearest_code(xb[j], d) | (super::mxfp4::nearest_code(xb[8 + j], d) << 4);
        }
    }
}
