//! ggml's lattice formats IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S and IQ1_M (256 elements
//! per block): groups of 8 (or 4) elements are one code-book point ([`super::iq_grids`],
//! [`super::iq1s_grid`]) with per-element signs (IQ2/IQ3) or a ±1/8 shift (IQ1), times a scale
//! per 16 or 32 elements. Every format is decoded here to signed integer levels `w` and one
//! scale per 16 elements, `value = s[i / 16] · w[i]`; the product is the one ggml's
//! `dequantize_row_*` rounds (its sign flips and the IQ1 shift are exact), so the values match
//! ggml's bit for bit. Field layouts follow ggml's `ggml-common.h`.

use super::common::read_f16;
use super::iq_grids::{IQ2S_GRID, IQ2XS_GRID, IQ2XXS_GRID, IQ3S_GRID, IQ3XXS_GRID};
use super::iq1s_grid::IQ1S_GRID;
use crate::DType;

/// Elements per block.
pub(super) const BLOCK_LEN: usize = 256;

/// ggml's `ksigns_iq2xs`: 7 sign bits plus an eighth that makes the count of negatives even (a
/// table: without `popcnt` enabled, `count_ones` is a dozen instructions).
pub(crate) static KSIGNS: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        t[i] = (i as u32 | ((i as u32).count_ones() & 1) << 7) as u8;
        i += 1;
    }
    t
};

/// [`KSIGNS`] of a 7-bit sign index.
#[inline(always)]
fn ksigns(i: u32) -> u8 {
    KSIGNS[(i & 127) as usize]
}

fn u16_at(b: &[u8], at: usize) -> u32 {
    u16::from_le_bytes([b[at], b[at + 1]]) as u32
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Byte `j` of a packed code-book entry.
fn byte(entry: u64, j: usize) -> u8 {
    (entry >> (8 * j)) as u8
}

/// Eight magnitudes from `entry` with the sign bits of `signs` (bit j negates element j).
fn signed8(out: &mut [i8], entry: u64, signs: u8) {
    for (j, o) in out[..8].iter_mut().enumerate() {
        let m = byte(entry, j) as i8;
        *o = if signs & (1 << j) != 0 { -m } else { m };
    }
}

/// The code book `dtype` decodes with, as 32-bit words (see [`super::code_book`]).
pub(crate) fn code_book(dtype: DType) -> Option<Vec<u32>> {
    let split = |t: &[u64]| t.iter().flat_map(|&e| [e as u32, (e >> 32) as u32]).collect();
    match dtype {
        DType::IQ2_XXS => Some(split(&IQ2XXS_GRID)),
        DType::IQ2_XS => Some(split(&IQ2XS_GRID)),
        DType::IQ2_S => Some(split(&IQ2S_GRID)),
        DType::IQ3_XXS => Some(IQ3XXS_GRID.to_vec()),
        DType::IQ3_S => Some(IQ3S_GRID.to_vec()),
        DType::IQ1_S | DType::IQ1_M => Some(split(&IQ1S_GRID)),
        _ => None,
    }
}

/// Whether `dtype` is one of the seven lattice formats.
pub(crate) fn is_lattice(dtype: DType) -> bool {
    matches!(
        dtype,
        DType::IQ2_XXS | DType::IQ2_XS | DType::IQ2_S | DType::IQ3_XXS | DType::IQ3_S | DType::IQ1_S | DType::IQ1_M
    )
}

/// Decodes one block of a lattice `dtype` into levels `w` (256) and per-16 scales `s` (16).
pub(crate) fn decode_ints(dtype: DType, block: &[u8], w: &mut [i8], s: &mut [f32]) {
    s[..16].copy_from_slice(&block_scales(dtype, block));
    for ib in 0..8 {
        if matches!(dtype, DType::IQ1_S | DType::IQ1_M) {
            for (l, (index, negative)) in iq1_sub_block_points(dtype, block, ib).into_iter().enumerate() {
                shifted8(&mut w[32 * ib + 8 * l..], index, negative);
            }
        } else {
            for (l, (entry, signs)) in sub_block_points(dtype, block, ib).into_iter().enumerate() {
                signed8(&mut w[32 * ib + 8 * l..], entry, signs);
            }
        }
    }
}

/// Decodes one block to f32 (`s · w`).
pub(super) fn dequantize_block(dtype: DType, block: &[u8], out: &mut [f32]) {
    let (mut w, mut s) = ([0i8; BLOCK_LEN], [0f32; 16]);
    decode_ints(dtype, block, &mut w, &mut s);
    for (i, y) in out[..BLOCK_LEN].iter_mut().enumerate() {
        *y = s[i / 16] * w[i] as f32;
    }
}

/// The scales of the two 16-element halves of 32-element sub-block `ib` (0..8) of a signed
/// lattice block.
#[inline(always)]
fn sub_block_scales(dtype: DType, b: &[u8], ib: usize) -> [f32; 2] {
    let d = read_f16(b, 0);
    match dtype {
        // `{ f16 d; u16 qs[32] }`: the top 4 bits of the second u32 of each 8-byte group.
        DType::IQ2_XXS => [d * (0.5 + (u32_at(b, 2 + 8 * ib + 4) >> 28) as f32) * 0.25; 2],
        // `{ f16 d; ...; u8 scales[8] }` (at 66 and 74): a nibble per 16.
        DType::IQ2_XS | DType::IQ2_S => {
            let sc = b[if dtype == DType::IQ2_XS { 66 } else { 74 } + ib] as u32;
            [d * (0.5 + (sc & 15) as f32) * 0.25, d * (0.5 + (sc >> 4) as f32) * 0.25]
        }
        // `{ f16 d; u8 qs[64]; u32 scales_and_signs[8] }`.
        DType::IQ3_XXS => [d * (0.5 + (u32_at(b, 66 + 4 * ib) >> 28) as f32) * 0.5; 2],
        // `{ f16 d; u8 qs[64]; u8 qh[8]; u8 signs[32]; u8 scales[4] }`: a nibble per 32.
        DType::IQ3_S => [d * (1 + 2 * ((b[106 + ib / 2] >> (4 * (ib % 2))) & 15) as i32) as f32; 2],
        _ => unreachable!("{dtype} has no signed points"),
    }
}

/// The 16 per-16 scales of a lattice block (any of the seven formats). IQ1's are `dl / 8`,
/// its levels being 8 times ggml's (`8g ± 1` for `g ± 1/8`).
#[inline(always)]
pub(crate) fn block_scales(dtype: DType, b: &[u8]) -> [f32; 16] {
    // Loops rather than `array::from_fn`: the SIMD kernels inline this, and from_fn's closures
    // were left as calls there (half the AVX2 kernel's time).
    let mut s = [0f32; 16];
    match dtype {
        // `{ f16 d; u8 qs[32]; u16 qh[8] }`: a 3-bit scale per 32 in bits 12..15 of qh[ib].
        DType::IQ1_S => {
            let d = read_f16(b, 0);
            for (j, s) in s.iter_mut().enumerate() {
                *s = d * (2 * ((u16_at(b, 34 + 2 * (j / 2)) >> 12) & 7) + 1) as f32 * 0.125;
            }
        }
        // `{ u8 qs[32]; u8 qh[16]; u16 scales[4] }`: a 3-bit scale per 16 (bits 3(j % 4) of
        // scales[j / 4]); the f16 super-scale is the top nibbles of the four u16.
        DType::IQ1_M => {
            let sc = [u16_at(b, 48), u16_at(b, 50), u16_at(b, 52), u16_at(b, 54)];
            let bits = (sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000);
            let d = half::f16::from_bits(bits as u16).to_f32();
            for (j, s) in s.iter_mut().enumerate() {
                *s = d * (2 * ((sc[j / 4] >> (3 * (j % 4))) & 7) + 1) as f32 * 0.125;
            }
        }
        _ => {
            for ib in 0..8 {
                [s[2 * ib], s[2 * ib + 1]] = sub_block_scales(dtype, b, ib);
            }
        }
    }
    s
}

/// The four 8-groups of IQ1 sub-block `ib`: each an 11-bit `iq1s_grid` index and whether its
/// shift is negative. IQ1_S: index bits 8..11 in bits 3l.. of the u16 `qh[ib]` (at 34), one
/// shift sign (bit 15) per sub-block; IQ1_M: per group a nibble of `qh` (at 32), index bits in
/// its low 3 bits, the shift sign in bit 3.
#[inline(always)]
pub(crate) fn iq1_sub_block_points(dtype: DType, b: &[u8], ib: usize) -> [(usize, bool); 4] {
    let mut points = [(0usize, false); 4];
    for (l, point) in points.iter_mut().enumerate() {
        *point = if dtype == DType::IQ1_S {
            let qh = u16_at(b, 34 + 2 * ib) as usize;
            (b[2 + 4 * ib + l] as usize | ((qh >> (3 * l)) & 7) << 8, qh & 0x8000 != 0)
        } else {
            let nibble = (b[32 + 2 * ib + l / 2] as usize) >> (4 * (l % 2));
            (b[4 * ib + l] as usize | (nibble & 7) << 8, nibble & 8 != 0)
        };
    }
    points
}

/// The four 8-groups of sub-block `ib` of a signed lattice block: each a code-book entry (eight
/// magnitudes, lowest byte first) and its sign byte (bit j negates element j).
#[inline(always)]
pub(crate) fn sub_block_points(dtype: DType, b: &[u8], ib: usize) -> [(u64, u8); 4] {
    let mut points = [(0u64, 0u8); 4];
    for (l, point) in points.iter_mut().enumerate() {
        *point = point_of(dtype, b, ib, l);
    }
    points
}

/// Group `l` of [`sub_block_points`].
#[inline(always)]
fn point_of(dtype: DType, b: &[u8], ib: usize, l: usize) -> (u64, u8) {
    match dtype {
        // Grid index bytes 0..4 of the 8-byte group; four 7-bit sign indices in its second u32.
        DType::IQ2_XXS => {
            let aux = u32_at(b, 2 + 8 * ib + 4);
            (IQ2XXS_GRID[b[2 + 8 * ib + l] as usize], ksigns((aux >> (7 * l)) & 127))
        }
        // One u16 per 8-group: 9-bit grid index, 7-bit sign index.
        DType::IQ2_XS => {
            let q = u16_at(b, 2 + 2 * (4 * ib + l));
            (IQ2XS_GRID[(q & 511) as usize], ksigns(q >> 9))
        }
        // 10-bit index (2 high bits per group in qh at 66), sign bytes at 34.
        DType::IQ2_S => {
            let index = b[2 + 4 * ib + l] as usize | (((b[66 + ib] as usize) << (8 - 2 * l)) & 0x300);
            (IQ2S_GRID[index], b[34 + 4 * ib + l])
        }
        // Two 4-magnitude points per 8-group; sign indices as IQ2_XXS in the u32 at 66.
        DType::IQ3_XXS => {
            let aux = u32_at(b, 66 + 4 * ib);
            let lo = IQ3XXS_GRID[b[2 + 8 * ib + 2 * l] as usize] as u64;
            let hi = IQ3XXS_GRID[b[2 + 8 * ib + 2 * l + 1] as usize] as u64;
            (lo | (hi << 32), ksigns((aux >> (7 * l)) & 127))
        }
        // 9-bit indices (high bit in qh at 66), sign bytes at 74.
        DType::IQ3_S => {
            let qh = b[66 + ib] as usize;
            let lo = IQ3S_GRID[b[2 + 8 * ib + 2 * l] as usize | ((qh << (8 - 2 * l)) & 256)] as u64;
            let hi = IQ3S_GRID[b[2 + 8 * ib + 2 * l + 1] as usize | ((qh << (7 - 2 * l)) & 256)] as u64;
            (lo | (hi << 32), b[74 + 4 * ib + l])
        }
        _ => unreachable!("{dtype} has no signed points"),
    }
}

/// Eight ternary points of `iq1s_grid[index]` shifted by ±1/8, as `8g ± 1`.
fn shifted8(out: &mut [i8], index: usize, negative_shift: bool) {
    let shift = if negative_shift { -1 } else { 1 };
    for (j, o) in out[..8].iter_mut().enumerate() {
        *o = 8 * (byte(IQ1S_GRID[index], j) as i8) + shift;
    }
}

/// Writes `bits` (an f16) as IQ1_M's super-scale: the top nibble of each u16 of `scales`.
pub(crate) fn set_iq1_m_scale(block: &mut [u8], bits: u16) {
    for (i, at) in (48..56).step_by(2).enumerate() {
        let v = (u16::from_le_bytes([block[at], block[at + 1]]) & 0x0fff) | (((bits >> (4 * i)) & 15) << 12);
        block[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
}
