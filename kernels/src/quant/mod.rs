//! Dequantization and quantization of the ggml block formats.
//!
//! Every format is byte-compatible with ggml (and so with GGUF files): same block sizes, field
//! order, nibble order and scale packing. Blocks are parsed from bytes, so buffers need no
//! alignment. Quantizers follow ggml's reference code (`quantize_row_*_ref`), including its
//! rounding, so the bytes match what ggml writes for the same input without an importance
//! matrix (for IQ4_NL: `quantize_iq4_nl`, the path llama-quantize takes, whose scale search
//! the newer `quantize_row_iq4_nl_ref` skips). Long rows are quantized in parallel (rayon);
//! dequantization runs on the calling thread.

mod common;
mod float;
pub(crate) mod iq1s_grid;
mod iq4_nl;
mod iq4_xs;
pub(crate) mod iq_grids;
pub(crate) mod iq_lattice;
mod mxfp4;
mod nvfp4;
mod q2_k;
mod q3_k;
mod q4_0;
mod q4_1;
mod q4_k;
mod q5_0;
mod q5_1;
mod q5_k;
mod q6_k;
mod q8_0;
mod scale_search;
mod tq1_0;
mod tq2_0;

#[cfg(test)]
mod tests;

use rayon::prelude::*;

use crate::{DType, KernelError};

pub(crate) use iq_lattice::decode_ints as lattice_decode;
pub(crate) use mxfp4::KVALUES_MXFP4;
pub(crate) use nvfp4::ue4m3_half;
pub(crate) use tq1_0::level as tq1_0_level;
pub(crate) use tq2_0::level as tq2_0_level;

/// MXFP4's block scale for its E8M0 byte `e`: `2^(e − 128)` (ggml's `GGML_E8M0_TO_FP32_HALF`,
/// which pairs with the doubled E2M1 code book). Always finite; `e = 255` gives 2^127.
pub fn mxfp4_scale(e: u8) -> f32 {
    mxfp4::e8m0_half(e)
}

/// Decodes `dst.len()` elements of `dtype` from `src` (GGUF bytes). F32/F16/BF16 are
/// little-endian raw.
///
/// Errors: [`KernelError::Unsupported`] for I32, [`KernelError::NotBlockMultiple`] when
/// `dst.len()` is not a whole number of blocks, [`KernelError::LengthMismatch`] (`"src"`) when
/// `src` is not exactly `dtype.bytes_for(dst.len())` bytes.
pub fn dequantize_row(dtype: DType, src: &[u8], dst: &mut [f32]) -> Result<(), KernelError> {
    check_sizes("dequantize_row", dtype, dst.len(), src.len(), "src")?;
    match dtype {
        DType::I32 => return Err(unsupported("dequantize_row", dtype)),
        DType::F32 => float::decode_f32(src, dst),
        DType::F16 => float::decode_f16(src, dst),
        DType::BF16 => float::decode_bf16(src, dst),
        DType::Q4_0 => dequantize_blocks(src, dst, q4_0::dequantize_block),
        DType::Q4_1 => dequantize_blocks(src, dst, q4_1::dequantize_block),
        DType::Q5_0 => dequantize_blocks(src, dst, q5_0::dequantize_block),
        DType::Q5_1 => dequantize_blocks(src, dst, q5_1::dequantize_block),
        DType::Q8_0 => dequantize_blocks(src, dst, q8_0::dequantize_block),
        DType::Q2_K => dequantize_blocks(src, dst, q2_k::dequantize_block),
        DType::Q3_K => dequantize_blocks(src, dst, q3_k::dequantize_block),
        DType::Q4_K => dequantize_blocks(src, dst, q4_k::dequantize_block),
        DType::Q5_K => dequantize_blocks(src, dst, q5_k::dequantize_block),
        DType::Q6_K => dequantize_blocks(src, dst, q6_k::dequantize_block),
        DType::IQ4_NL => dequantize_blocks(src, dst, iq4_nl::dequantize_block),
        DType::IQ4_XS => dequantize_blocks(src, dst, iq4_xs::dequantize_block),
        DType::MXFP4 => dequantize_blocks(src, dst, mxfp4::dequantize_block),
        DType::NVFP4 => dequantize_blocks(src, dst, nvfp4::dequantize_block),
        DType::TQ1_0 => dequantize_blocks(src, dst, tq1_0::dequantize_block),
        DType::TQ2_0 => dequantize_blocks(src, dst, tq2_0::dequantize_block),
        lattice @ (DType::IQ2_XXS
        | DType::IQ2_XS
        | DType::IQ2_S
        | DType::IQ3_XXS
        | DType::IQ3_S
        | DType::IQ1_S
        | DType::IQ1_M) => {
            let bb = lattice.block_bytes();
            for (block, out) in src.chunks_exact(bb).zip(dst.chunks_exact_mut(iq_lattice::BLOCK_LEN)) {
                iq_lattice::dequantize_block(lattice, block, out);
            }
        }
    }
    Ok(())
}

/// Encodes `src` into `dtype` with ggml's reference rounding (`quantize_row_*_ref`).
/// `dst.len()` must be `dtype.bytes_for(src.len())`.
///
/// Errors: [`KernelError::Unsupported`] for a dtype [`can_quantize`] rejects,
/// [`KernelError::NotBlockMultiple`] when `src.len()` is not a whole number of blocks,
/// [`KernelError::LengthMismatch`] (`"dst"`) for a wrong `dst` length.
pub fn quantize_row(dtype: DType, src: &[f32], dst: &mut [u8]) -> Result<(), KernelError> {
    if !can_quantize(dtype) {
        return Err(unsupported("quantize_row", dtype));
    }
    check_sizes("quantize_row", dtype, src.len(), dst.len(), "dst")?;
    match dtype {
        DType::F32 => float::encode_f32(src, dst),
        DType::F16 => float::encode_f16(src, dst),
        DType::BF16 => float::encode_bf16(src, dst),
        DType::Q4_0 => quantize_blocks(src, dst, q4_0::quantize_block),
        DType::Q4_1 => quantize_blocks(src, dst, q4_1::quantize_block),
        DType::Q5_0 => quantize_blocks(src, dst, q5_0::quantize_block),
        DType::Q5_1 => quantize_blocks(src, dst, q5_1::quantize_block),
        DType::Q8_0 => quantize_blocks(src, dst, q8_0::quantize_block),
        DType::Q2_K => quantize_blocks(src, dst, q2_k::quantize_block),
        DType::Q3_K => quantize_blocks(src, dst, q3_k::quantize_block),
        DType::Q4_K => quantize_blocks(src, dst, q4_k::quantize_block),
        DType::Q5_K => quantize_blocks(src, dst, q5_k::quantize_block),
        DType::Q6_K => quantize_blocks(src, dst, q6_k::quantize_block),
        DType::IQ4_NL => quantize_blocks(src, dst, iq4_nl::quantize_block),
        DType::IQ4_XS => quantize_blocks(src, dst, iq4_xs::quantize_block),
        DType::MXFP4 => quantize_blocks(src, dst, mxfp4::quantize_block),
        DType::NVFP4 => quantize_blocks(src, dst, nvfp4::quantize_block),
        DType::TQ1_0 => quantize_blocks(src, dst, tq1_0::quantize_block),
        DType::TQ2_0 => quantize_blocks(src, dst, tq2_0::quantize_block),
        DType::I32
        | DType::IQ2_XXS
        | DType::IQ2_XS
        | DType::IQ2_S
        | DType::IQ3_XXS
        | DType::IQ3_S
        | DType::IQ1_S
        | DType::IQ1_M => {
            return Err(unsupported("quantize_row", dtype));
        }
    }
    Ok(())
}

/// Convenience: allocates and dequantizes `elems` elements (see [`dequantize_row`]).
pub fn dequantize(dtype: DType, src: &[u8], elems: usize) -> Result<Vec<f32>, KernelError> {
    let mut out = vec![0.0; elems];
    dequantize_row(dtype, src, &mut out)?;
    Ok(out)
}

/// Convenience: allocates and quantizes (see [`quantize_row`]).
pub fn quantize(dtype: DType, src: &[f32]) -> Result<Vec<u8>, KernelError> {
    if !can_quantize(dtype) {
        return Err(unsupported("quantize", dtype));
    }
    let bytes = dtype.bytes_for(src.len()).ok_or(KernelError::NotBlockMultiple {
        dtype,
        elems: src.len(),
        block: dtype.block_len(),
    })?;
    let mut out = vec![0; bytes];
    quantize_row(dtype, src, &mut out)?;
    Ok(out)
}

/// Whether [`quantize_row`] implements this dtype: every dtype except I32 and the lattice
/// formats (IQ2_*, IQ3_*, IQ1_*), whose ggml quantizers search code-book neighbourhoods with
/// importance weights; edgehal reads them (GGUF files) but does not write them.
pub fn can_quantize(dtype: DType) -> bool {
    !is_lattice(dtype) && dtype != DType::I32
}

/// Whether `dtype` is one of ggml's lattice formats (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S,
/// IQ1_S, IQ1_M).
pub fn is_lattice(dtype: DType) -> bool {
    // Kept in step with `iq_lattice::decode_ints`.
    matches!(
        dtype,
        DType::IQ2_XXS | DType::IQ2_XS | DType::IQ2_S | DType::IQ3_XXS | DType::IQ3_S | DType::IQ1_S | DType::IQ1_M
    )
}

/// The code book of a lattice format as little-endian 32-bit words, one byte per coordinate (an
/// 8-coordinate entry is its low word, then its high word), for decoders that read it from memory
/// (the GPU kernels bind it as a storage buffer); `None` for other dtypes.
pub fn code_book(dtype: DType) -> Option<Vec<u32>> {
    iq_lattice::code_book(dtype)
}

/// Sets IQ1_M's f16 super-scale, which lies in the top nibbles of the block's four scale words,
/// to `value` (for generators that turn random bytes into sane blocks).
pub fn set_iq1_m_scale(block: &mut [u8], value: half::f16) {
    iq_lattice::set_iq1_m_scale(block, value.to_bits());
}

/// Byte offsets of the f16 fields (scales and mins) inside one block of `dtype`; empty for plain
/// types. Test and benchmark generators use it to turn random bytes into blocks with sane scales.
pub fn f16_field_offsets(dtype: DType) -> &'static [usize] {
    match dtype {
        DType::Q4_0 | DType::Q5_0 | DType::Q8_0 | DType::IQ4_NL | DType::IQ4_XS => &[0],
        DType::Q4_1 | DType::Q5_1 | DType::Q4_K | DType::Q5_K => &[0, 2],
        DType::Q2_K => &[80, 82],
        DType::Q3_K => &[108],
        DType::Q6_K => &[208],
        DType::TQ1_0 => &[52],
        DType::IQ2_XXS | DType::IQ2_XS | DType::IQ2_S | DType::IQ3_XXS | DType::IQ3_S | DType::IQ1_S => &[0],
        // IQ1_M's super-scale is split over four words: see `set_iq1_m_scale`.
        DType::IQ1_M => &[],
        DType::TQ2_0 => &[64],
        // NVFP4's UE4M3 scales are bytes whose every value is finite (at most 240).
        DType::NVFP4 => &[],
        // MXFP4's scale is an E8M0 byte (offset 0), not an f16.
        DType::F32 | DType::F16 | DType::BF16 | DType::I32 | DType::MXFP4 => &[],
    }
}

/// Byte offsets of the E8M0 exponent fields (MXFP4's block scale) inside one block of
/// `dtype`; empty for the others. Random bytes there give scales up to 2^127; generators set
/// them within [`TAME_E8M0`].
pub fn e8m0_field_offsets(dtype: DType) -> &'static [usize] {
    if dtype == DType::MXFP4 { &[0] } else { &[] }
}

/// Byte offsets of the UE4M3 sub-block scales (NVFP4) inside one block of `dtype`; empty for
/// the others. Random bytes there are finite but reach 224; generators set them within
/// [`TAME_UE4M3`].
pub fn ue4m3_field_offsets(dtype: DType) -> &'static [usize] {
    if dtype == DType::NVFP4 { &[0, 1, 2, 3] } else { &[] }
}

/// UE4M3 scales that give NVFP4 values of order 1 at most (exponent fields 2..=4: scales
/// 2^-6..=2^-3 · 15/8 halved, values up to 12 · 0.117 = 1.4), for test and benchmark generators.
pub const TAME_UE4M3: std::ops::RangeInclusive<u8> = 0x10..=0x27;

/// E8M0 exponents that give MXFP4 values of order 1 at most (scales 2^-10..=2^-3, values up to
/// 12 · 2^-3 = 1.5), for test and benchmark generators.
pub const TAME_E8M0: std::ops::RangeInclusive<u8> = 118..=125;

fn unsupported(op: &'static str, dtype: DType) -> KernelError {
    KernelError::Unsupported { op, dtype }
}

/// Checks that `elems` is a whole number of blocks and `bytes` the matching byte count.
fn check_sizes(
    op: &'static str,
    dtype: DType,
    elems: usize,
    bytes: usize,
    bytes_name: &'static str,
) -> Result<(), KernelError> {
    if dtype == DType::I32 {
        return Err(unsupported(op, dtype));
    }
    let expected =
        dtype.bytes_for(elems).ok_or(KernelError::NotBlockMultiple { dtype, elems, block: dtype.block_len() })?;
    if bytes != expected {
        return Err(KernelError::LengthMismatch { what: bytes_name, expected, got: bytes, unit: "bytes" });
    }
    Ok(())
}

/// Runs a per-block decoder over whole blocks (lengths already checked).
fn dequantize_blocks<const BYTES: usize, const LEN: usize>(
    src: &[u8],
    dst: &mut [f32],
    decode: impl Fn(&[u8; BYTES], &mut [f32; LEN]),
) {
    let (blocks, _) = src.as_chunks::<BYTES>();
    let (outs, _) = dst.as_chunks_mut::<LEN>();
    for (block, out) in blocks.iter().zip(outs) {
        decode(block, out);
    }
}

/// Below this many elements quantization runs on the calling thread.
const PARALLEL_MIN_ELEMS: usize = 1 << 14;

/// Runs a per-block encoder over whole blocks (lengths already checked). Blocks are
/// independent, so long rows are split across rayon's pool; the bytes do not depend on the
/// split.
fn quantize_blocks<const BYTES: usize, const LEN: usize>(
    src: &[f32],
    dst: &mut [u8],
    encode: impl Fn(&[f32; LEN], &mut [u8; BYTES]) + Sync,
) {
    let (xs, _) = src.as_chunks::<LEN>();
    let (blocks, _) = dst.as_chunks_mut::<BYTES>();
    if src.len() < PARALLEL_MIN_ELEMS {
        for (x, block) in xs.iter().zip(blocks) {
            encode(x, block);
        }
    } else {
        xs.par_iter()
            .zip(blocks.par_iter_mut())
            .with_min_len(PARALLEL_MIN_ELEMS / (4 * LEN))
            .for_each(|(x, block)| encode(x, block));
    }
}
