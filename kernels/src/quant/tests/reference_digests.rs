//! Digests of an independent decoder's output on pseudo-random blocks.
//!
//! The expected values were computed with the `gguf` Python package (gguf-py 0.19, maintained
//! with ggml): the same xorshift64 byte stream (seed `0x9E3779B97F4A7C15 ^ ggml type id`,
//! 8 blocks), f16 fields tamed by [`super::tame_f16_fields`], dequantized by
//! `gguf.quants.dequantize`, FNV-1a-64 over the little-endian f32 output.

use super::{f16_offsets, fnv1a, tame_f16_fields, xorshift_bytes};
use crate::DType;
use crate::quant::dequantize_row;

const GGUF_PY_DEQUANTIZE_DIGESTS: [(DType, u64); 11] = [
    (DType::Q4_0, 0x8ce0025e8a8ac9a2),
    (DType::Q4_1, 0x7e95de4f566db15b),
    (DType::Q5_0, 0x3ad5099c1b5c3fe4),
    (DType::Q5_1, 0x73a7737bb023a984),
    (DType::Q8_0, 0x0259bb8702efb2f9),
    (DType::Q2_K, 0x2f9b11ecd70a4653),
    (DType::Q3_K, 0x65096e04972c03ab),
    (DType::Q4_K, 0x4b502f2be55da9ae),
    (DType::Q5_K, 0xb0f5565c1e46b309),
    (DType::Q6_K, 0xe93cf047967b4140),
    (DType::IQ4_NL, 0x3d05b566fe4f3c3c),
];

/// The pseudo-random blocks the digests were computed on.
pub(super) fn reference_blocks(dtype: DType, blocks: usize) -> Vec<u8> {
    let seed = 0x9E37_79B9_7F4A_7C15 ^ dtype.ggml_type_id() as u64;
    let mut bytes = xorshift_bytes(seed, blocks * dtype.block_bytes());
    tame_f16_fields(&mut bytes, dtype.block_bytes(), f16_offsets(dtype));
    bytes
}

#[test]
fn xorshift_stream_is_the_documented_one() {
    // First bytes of seed 1, as produced by the Python script.
    assert_eq!(xorshift_bytes(1, 6), [64, 12, 110, 85, 144, 229]);
}

#[test]
fn dequantize_matches_gguf_py_on_random_blocks() {
    for (dtype, expected) in GGUF_PY_DEQUANTIZE_DIGESTS {
        let bytes = reference_blocks(dtype, 8);
        let mut out = vec![f32::NAN; 8 * dtype.block_len()];
        dequantize_row(dtype, &bytes, &mut out).unwrap();
        assert!(out.iter().all(|x| x.is_finite()), "{dtype}");
        let le: Vec<u8> = out.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(
            fnv1a(&le),
            expected,
            "{dtype}: decoded values differ from gguf-py"
        );
    }
}
