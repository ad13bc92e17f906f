//! Hand-built blocks with hand-computed values: catch field order, nibble order and scale
//! packing mistakes. Every block is also decoded from an odd address to check that unaligned
//! buffers work.

use crate::DType;
use crate::quant::dequantize_row;

const F16_ONE: [u8; 2] = [0x00, 0x3c];
const F16_HALF: [u8; 2] = [0x00, 0x38];
const F16_QUARTER: [u8; 2] = [0x00, 0x34];
const F16_EIGHTH: [u8; 2] = [0x00, 0x30];
const F16_TWO: [u8; 2] = [0x00, 0x40];
const F16_MINUS_ONE: [u8; 2] = [0x00, 0xbc];

/// Decodes one block, from an aligned and from a misaligned copy, and checks both agree.
fn decode(dtype: DType, block: &[u8]) -> Vec<f32> {
    assert_eq!(block.len(), dtype.block_bytes());
    let mut out = vec![f32::NAN; dtype.block_len()];
    dequantize_row(dtype, block, &mut out).unwrap();
    let mut shifted = vec![0u8; block.len() + 1];
    shifted[1..].copy_from_slice(block);
    let mut out_shifted = vec![f32::NAN; dtype.block_len()];
    dequantize_row(dtype, &shifted[1..], &mut out_shifted).unwrap();
    assert_eq!(out, out_shifted);
    out
}

/// Asserts `values[index] == expected` for each pair (exact: every value here is exact in f32).
fn expect(values: &[f32], pairs: &[(usize, f32)]) {
    for &(index, expected) in pairs {
        assert_eq!(values[index], expected, "element {index}");
    }
}

#[test]
fn q4_0_low_nibbles_then_high_nibbles() {
    let mut block = vec![0u8; 18];
    block[..2].copy_from_slice(&F16_HALF);
    for j in 0..16 {
        block[2 + j] = j as u8 | ((15 - j as u8) << 4);
    }
    let v = decode(DType::Q4_0, &block);
    for j in 0..16 {
        assert_eq!(v[j], (j as f32 - 8.0) * 0.5);
        assert_eq!(v[j + 16], (7.0 - j as f32) * 0.5);
    }
    expect(&v, &[(0, -4.0), (15, 3.5), (16, 3.5), (31, -4.0)]);
}

#[test]
fn q4_1_adds_the_minimum() {
    let mut block = vec![0u8; 20];
    block[..2].copy_from_slice(&F16_QUARTER);
    block[2..4].copy_from_slice(&F16_MINUS_ONE);
    block[4] = 0xF0; // element 0: q 0, element 16: q 15
    block[4 + 7] = 0x3C; // element 7: q 12, element 23: q 3
    let v = decode(DType::Q4_1, &block);
    expect(&v, &[(0, -1.0), (16, 2.75), (7, 2.0), (23, -0.25), (1, -1.0)]);
}

#[test]
fn q5_0_fifth_bits_come_from_qh_as_little_endian_u32() {
    let mut block = vec![0u8; 22];
    block[..2].copy_from_slice(&F16_HALF);
    // qh bits 0, 3, 17 and 31.
    block[2..6].copy_from_slice(&0x8002_0009u32.to_le_bytes());
    for j in 0..16 {
        block[6 + j] = j as u8 | ((15 - j as u8) << 4);
    }
    let v = decode(DType::Q5_0, &block);
    expect(
        &v,
        &[
            (0, 0.0),   // 0 | 16 - 16
            (1, -7.5),  // 1 - 16
            (3, 1.5),   // 3 | 16 - 16
            (16, -0.5), // 15 - 16
            (17, 7.0),  // 14 | 16 - 16
            (31, 0.0),  // 0 | 16 - 16
            (30, -7.5), // 1 - 16
        ],
    );
}

#[test]
fn q5_1_fifth_bits_and_minimum() {
    let mut block = vec![0u8; 24];
    block[..2].copy_from_slice(&F16_QUARTER);
    block[2..4].copy_from_slice(&F16_ONE);
    block[4..8].copy_from_slice(&0x8000_0002u32.to_le_bytes());
    block[8 + 15] = 0xF0; // element 15: q 0, element 31: q 15 | 16
    block[8 + 1] = 0x05; // element 1: q 5 | 16
    let v = decode(DType::Q5_1, &block);
    expect(&v, &[(0, 1.0), (31, 8.75), (15, 1.0), (1, 6.25), (17, 1.0)]);
}

#[test]
fn q8_0_signed_bytes() {
    let mut block = vec![0u8; 34];
    block[..2].copy_from_slice(&F16_EIGHTH);
    block[2] = 0x80;
    block[3] = 0x7f;
    block[4] = 0x01;
    block[33] = 0xff;
    let v = decode(DType::Q8_0, &block);
    expect(&v, &[(0, -16.0), (1, 15.875), (2, 0.125), (31, -0.125), (5, 0.0)]);
}

#[test]
fn iq4_nl_indexes_the_nonlinear_table() {
    let mut block = vec![0u8; 18];
    block[..2].copy_from_slice(&F16_TWO);
    for j in 0..16 {
        block[2 + j] = j as u8 | ((15 - j as u8) << 4);
    }
    let v = decode(DType::IQ4_NL, &block);
    expect(&v, &[(0, -254.0), (7, -20.0), (8, 2.0), (15, 226.0), (16, 226.0), (31, -254.0)]);
}

#[test]
fn q2_k_scales_mins_and_bit_planes() {
    let mut block = vec![0u8; 84];
    block[0] = 0x21; // sub-block 0: scale 1, min 2
    block[2] = 0x03; // sub-block 2: scale 3, min 0
    block[9] = 0xF4; // sub-block 9: scale 4, min 15
    block[16] = 0b11_10_01_10; // elements 0, 32, 64, 96 of the first half
    block[16 + 48] = 3; // element 144: half 1, plane 0, byte 16
    block[80..82].copy_from_slice(&F16_ONE);
    block[82..84].copy_from_slice(&F16_HALF);
    let v = decode(DType::Q2_K, &block);
    expect(
        &v,
        &[
            (0, 1.0),    // 1 * 2 - 0.5 * 2
            (1, -1.0),   // 1 * 0 - 0.5 * 2
            (32, 3.0),   // 3 * 1
            (96, 0.0),   // scale 0, min 0
            (144, 4.5),  // 4 * 3 - 0.5 * 15
            (145, -7.5), // 4 * 0 - 0.5 * 15
        ],
    );
}

#[test]
fn q3_k_packed_scales_and_high_bit_mask() {
    let mut block = vec![0u8; 110];
    let hmask = 0;
    let qs = 32;
    let scales = 96;
    // Scale 0 = 33 (+1), scale 1 = 30 (-2), scale 9 = 63 (+31); all others 0 (-32).
    block[scales] = 0x01;
    block[scales + 1] = 0xFE;
    block[scales + 8] = 0x02;
    block[scales + 9] = 0x01 | (3 << 4);
    block[108..110].copy_from_slice(&F16_HALF);
    block[qs] = 3; // element 0: low bits 3
    block[hmask] = 1; // element 0: high bit set, so q = 3
    block[qs + 16] = 1; // element 16: low bits 1, high bit clear: q = -3
    block[qs + 48] = 2; // element 144: half 1, plane 0, byte 16
    block[hmask + 16] = 1 << 4; // element 144: high bit set, so q = 2
    let v = decode(DType::Q3_K, &block);
    expect(
        &v,
        &[
            (0, 1.5),    // 0.5 * 1 * 3
            (1, -2.0),   // 0.5 * 1 * -4
            (16, 3.0),   // 0.5 * -2 * -3
            (32, 64.0),  // 0.5 * -32 * -4
            (144, 31.0), // 0.5 * 31 * 2
            (255, 64.0), // 0.5 * -32 * -4
        ],
    );
}

/// Scales/mins for Q4_K and Q5_K: sub-block 0 (10, 3), 1 (2, 1), 5 (55, 33), others 0.
fn k4_scales() -> [u8; 12] {
    let mut s = [0u8; 12];
    s[0] = 10;
    s[4] = 3;
    s[1] = 2 | (3 << 6); // scale 1 = 2; top bits of scale 5 = 3
    s[5] = 1 | (2 << 6); // min 1 = 1; top bits of min 5 = 2
    s[9] = 0x17; // low nibbles of sub-block 5: scale 7, min 1
    s
}

#[test]
fn q4_k_six_bit_scales_and_nibble_halves() {
    let mut block = vec![0u8; 144];
    block[..2].copy_from_slice(&F16_HALF);
    block[2..4].copy_from_slice(&F16_QUARTER);
    block[4..16].copy_from_slice(&k4_scales());
    block[16] = 0x9F; // element 0: 15, element 32: 9
    block[16 + 64 + 5] = 0xE0; // element 133: 0, element 165: 14
    let v = decode(DType::Q4_K, &block);
    expect(
        &v,
        &[
            (0, 74.25),    // 0.5 * 10 * 15 - 0.25 * 3
            (1, -0.75),    // 0 - 0.25 * 3
            (32, 8.75),    // 0.5 * 2 * 9 - 0.25 * 1
            (133, 0.0),    // sub-block 4: scale 0, min 0
            (165, 376.75), // 0.5 * 55 * 14 - 0.25 * 33
            (160, -8.25),  // 0 - 0.25 * 33
        ],
    );
}

#[test]
fn q5_k_fifth_bits_per_sub_block() {
    let mut block = vec![0u8; 176];
    block[..2].copy_from_slice(&F16_HALF);
    block[2..4].copy_from_slice(&F16_QUARTER);
    block[4..16].copy_from_slice(&k4_scales());
    let qh = 16;
    let qs = 48;
    block[qh] = 1; // element 0: +16; element 32 (bit 1) clear
    block[qh + 5] = 1 << 5; // element 165 (sub-block 5, l = 5): +16
    block[qs] = 0x9F;
    block[qs + 64 + 5] = 0xE0;
    let v = decode(DType::Q5_K, &block);
    expect(
        &v,
        &[
            (0, 154.25),   // 0.5 * 10 * 31 - 0.75
            (32, 8.75),    // 0.5 * 2 * 9 - 0.25
            (165, 816.75), // 0.5 * 55 * 30 - 8.25
            (133, 0.0),
        ],
    );
}

#[test]
fn q6_k_low_nibbles_high_bits_and_signed_scales() {
    let mut block = vec![0u8; 210];
    let (ql, qh, scales) = (0, 128, 192);
    block[scales] = 3;
    block[scales + 2] = (-4i8) as u8;
    block[scales + 12] = 127;
    block[scales + 15] = (-128i8) as u8;
    block[208..210].copy_from_slice(&F16_HALF);
    block[ql] = 5; // element 0 low nibble 5
    block[qh] = 2; // element 0 top bits 2 (q = 37); element 32 top bits 0
    block[ql + 64] = 0xF0; // element 192 (half 1, k 2, l 0): high nibble 15
    block[qh + 32] = 3 << 4; // element 192 top bits 3 (q = 63)
    block[ql + 127] = 0x10; // element 255 (half 1, k 3, l 31): high nibble 1
    block[qh + 63] = 1 << 6; // element 255 top bits 1 (q = 17)
    let v = decode(DType::Q6_K, &block);
    expect(
        &v,
        &[
            (0, 7.5),      // 0.5 * 3 * (37 - 32)
            (32, 64.0),    // 0.5 * -4 * (0 - 32)
            (192, 1968.5), // 0.5 * 127 * 31
            (255, 960.0),  // 0.5 * -128 * -15
            (16, 0.0),     // scale 1 is 0
        ],
    );
}

/// Every UE4M3 byte decodes as ggml's `ggml_ue4m3_to_fp32` computes it (its formula, with
/// `ldexp`, written out here as the oracle for the table).
#[test]
fn ue4m3_half_matches_ggml_formula() {
    for x in 0..=255u8 {
        let expected = if x == 0 || x == 0x7F {
            0.0
        } else {
            let (exp, man) = (((x >> 3) & 0xF) as i32, (x & 7) as f64);
            let raw = if exp == 0 { man * 2f64.powi(-9) } else { (1.0 + man / 8.0) * 2f64.powi(exp - 7) };
            (raw * 0.5) as f32
        };
        assert_eq!(crate::quant::ue4m3_half(x).to_bits(), expected.to_bits(), "byte {x:#04x}");
    }
}
