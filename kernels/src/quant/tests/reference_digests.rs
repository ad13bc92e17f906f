//! Digests of an independent decoder's output on pseudo-random blocks.
//!
//! The expected values were computed with the `gguf` Python package (gguf-py 0.19, maintained
//! with ggml): the same xorshift64 byte stream (seed `0x9E3779B97F4A7C15 ^ ggml type id`,
//! 8 blocks), f16 fields tamed by [`super::tame_f16_fields`], dequantized by
//! `gguf.quants.dequantize`, FNV-1a-64 over the little-endian f32 output.

use super::{fnv1a, tame_e8m0_fields, tame_f16_fields, xorshift_bytes};
use crate::DType;
use crate::quant::dequantize_row;
use crate::quant::{e8m0_field_offsets, f16_field_offsets};

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

/// The same digests for the formats gguf-py 0.19 lacks, from ggml's own `dequantize_row_*`
/// (ggml d99724f2, `ggml-quants.c` compiled with `-march=x86-64 -mno-fma -ffp-contract=off`,
/// driven by a C port of [`reference_blocks`]).
const GGML_DEQUANTIZE_DIGESTS: [(DType, u64); 2] =
    [(DType::IQ4_XS, 0x162b39b74def3232), (DType::MXFP4, 0xb220692aabc1a05c)];

/// The pseudo-random blocks the digests were computed on.
pub(super) fn reference_blocks(dtype: DType, blocks: usize) -> Vec<u8> {
    let seed = 0x9E37_79B9_7F4A_7C15 ^ dtype.ggml_type_id() as u64;
    let mut bytes = xorshift_bytes(seed, blocks * dtype.block_bytes());
    tame_f16_fields(&mut bytes, dtype.block_bytes(), f16_field_offsets(dtype));
    tame_e8m0_fields(&mut bytes, dtype.block_bytes(), e8m0_field_offsets(dtype));
    if dtype == DType::IQ1_M {
        // Its f16 super-scale is the top nibbles of its four scale words: tamed as the others.
        for block in bytes.chunks_exact_mut(dtype.block_bytes()) {
            let words: Vec<u16> = (0..4).map(|i| u16::from_le_bytes([block[48 + 2 * i], block[49 + 2 * i]])).collect();
            let raw = (0..4).fold(0u16, |bits, i| bits | ((words[i] >> 12) << (4 * i)));
            crate::quant::set_iq1_m_scale(block, half::f16::from_bits(0x2000 | (raw & 0x8FFF)));
        }
    }
    bytes
}

#[test]
fn xorshift_stream_is_the_documented_one() {
    // First bytes of seed 1, as produced by the Python script.
    assert_eq!(xorshift_bytes(1, 6), [64, 12, 110, 85, 144, 229]);
}

#[test]
fn dequantize_matches_gguf_py_and_ggml_on_random_blocks() {
    for (dtype, expected) in GGUF_PY_DEQUANTIZE_DIGESTS.into_iter().chain(GGML_DEQUANTIZE_DIGESTS) {
        let bytes = reference_blocks(dtype, 8);
        let mut out = vec![f32::NAN; 8 * dtype.block_len()];
        dequantize_row(dtype, &bytes, &mut out).unwrap();
        assert!(out.iter().all(|x| x.is_finite()), "{dtype}");
        let le: Vec<u8> = out.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(fnv1a(&le), expected, "{dtype}: decoded values differ from gguf-py");
    }
}

/// FNV-1a-64 of the bytes ggml's own quantizers (llama.cpp's ggml-quants.c as vendored by
/// llama-cpp-python 0.3.36, compiled for x86-64 without FMA) write for [`reference_input`]`(4096)`:
/// `quantize_row_*_ref`, and for IQ4_NL `quantize_iq4_nl` without importance weights. IQ4_XS
/// (`quantize_iq4_xs`, no importance weights), MXFP4, NVFP4, TQ1_0 and TQ2_0
/// (`quantize_row_*_ref`) come from ggml d99724f2 built the same way.
const GGML_QUANTIZE_DIGESTS: [(DType, u64); 16] = [
    (DType::Q4_0, 0xe403bc884b10d2fd),
    (DType::Q4_1, 0xf0fc92e541033b31),
    (DType::Q5_0, 0x7f50bc6705b5fb44),
    (DType::Q5_1, 0x40f551d4339f6090),
    (DType::Q8_0, 0xf8070bf339e3656c),
    (DType::Q2_K, 0x56043e6a8922d721),
    (DType::Q3_K, 0xc8b3bbe6c58b1198),
    (DType::Q4_K, 0xf2778af6dc531368),
    (DType::Q5_K, 0x9e3e184951400883),
    (DType::Q6_K, 0xa088556ecfe4c1ac),
    (DType::IQ4_NL, 0xd2f271e080d09a07),
    (DType::IQ4_XS, 0x7a360da94e149beb),
    (DType::MXFP4, 0x55363fa7d2465647),
    (DType::NVFP4, 0x3c0c20e8cb6493fd),
    (DType::TQ1_0, 0xa84e8d5ade48ced6),
    (DType::TQ2_0, 0x1cb3dc6f59544de5),
];

/// Reproducible input: uniform values from the xorshift stream (seed `0x243F6A8885A308D3`,
/// 4 bytes per value, top 24 bits), centred, scaled by 0.01, 1 or 7 per group of 32 and with
/// every 97th value multiplied by 8. Every step is exact or a single f32 rounding.
fn reference_input(n: usize) -> Vec<f32> {
    let bytes = xorshift_bytes(0x243F_6A88_85A3_08D3, 4 * n);
    let group_scales = [0.01f32, 1.0, 7.0];
    let mut x: Vec<f32> = bytes
        .chunks_exact(4)
        .enumerate()
        .map(|(i, b)| {
            let u = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let v = (u >> 8) as f32 * (-24f32).exp2();
            (v - 0.5) * group_scales[(i / 32) % 3]
        })
        .collect();
    for v in x.iter_mut().step_by(97) {
        *v *= 8.0;
    }
    x
}

#[test]
fn reference_input_is_the_documented_one() {
    let x = reference_input(4096);
    let le: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(fnv1a(&le), 0xefc2dc43c52ee3a2);
}

#[test]
fn quantize_writes_the_same_bytes_as_ggml() {
    let x = reference_input(4096);
    for (dtype, expected) in GGML_QUANTIZE_DIGESTS {
        let mut bytes = vec![0x5Au8; dtype.bytes_for(x.len()).unwrap()];
        crate::quant::quantize_row(dtype, &x, &mut bytes).unwrap();
        assert_eq!(fnv1a(&bytes), expected, "{dtype}: bytes differ from ggml's");
    }
}
