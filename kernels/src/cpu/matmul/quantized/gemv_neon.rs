//! NEON GEMV kernels for the split layouts (see [`super::layout`]), baseline Advanced SIMD
//! only: `smull`/`smull2` products of signed bytes (every split format's quants fit in i8 once
//! Q8_0's `+ 128` is undone and IQ4_NL's code book is applied signed) widened and summed per
//! 16- or 32-element group, then one scalar f32 multiply-add per group. Q2_K and Q3_K use the
//! generic decode-and-dot.
#![cfg(target_arch = "aarch64")]

use std::arch::aarch64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::{IQ4_NL_VALUES, f16_at, q4_k_scales_mins};
use super::gemv::RowsKernel;
use super::layout::QuantLayout;
use crate::DType;

/// The dedicated kernel for `w`, if any.
pub(super) fn kernel(w: &QuantRows) -> Option<RowsKernel> {
    Some(match (w.layout, w.dtype) {
        (QuantLayout::SplitNibble32, DType::Q4_0) => nibble32_rows::<false, false, false>,
        (QuantLayout::SplitNibble32, DType::Q4_1) => nibble32_rows::<false, false, true>,
        (QuantLayout::SplitNibble32, DType::Q5_0) => nibble32_rows::<true, false, false>,
        (QuantLayout::SplitNibble32, DType::Q5_1) => nibble32_rows::<true, false, true>,
        (QuantLayout::SplitNibble32, DType::IQ4_NL) => nibble32_rows::<false, true, false>,
        (QuantLayout::SplitQ8_0, _) => q8_0_rows,
        (QuantLayout::SplitK4, DType::Q4_K) => k4_rows::<false>,
        (QuantLayout::SplitK4, DType::Q5_K) => k4_rows::<true>,
        (QuantLayout::SplitQ6K, _) => q6_k_rows,
        _ => return None,
    })
}

/// Declares a `RowsKernel` applying a per-row function.
macro_rules! rows_kernel {
    ($name:ident, $inner:ident $(, $param:ident)*) => {
        fn $name<$(const $param: bool),*>(
            w: &QuantRows,
            j0: usize,
            acts: &QuantizedActs,
            r: usize,
            out: &mut [f32],
        ) {
            for (i, y) in out.iter_mut().enumerate() {
                *y = $inner::<$($param),*>(w, w.row(j0 + i), acts, r);
            }
        }
    };
}

rows_kernel!(nibble32_rows, nibble32_row, HIGH, LUT, MIN);
rows_kernel!(q8_0_rows, q8_0_row);
rows_kernel!(k4_rows, k4_row, HIGH);
rows_kernel!(q6_k_rows, q6_k_row);

/// Σ w·x over 16 signed bytes, as four partial i32 sums.
#[inline(always)]
fn dot16(acc: int32x4_t, w: int8x16_t, x: int8x16_t) -> int32x4_t {
    // SAFETY: NEON is always present on aarch64.
    unsafe {
        let acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(w), vget_low_s8(x)));
        vpadalq_s16(acc, vmull_high_s8(w, x))
    }
}

/// 16 bytes at `p`.
#[inline(always)]
fn load(bytes: &[u8], at: usize) -> uint8x16_t {
    let chunk = &bytes[at..at + 16];
    // SAFETY: `chunk` holds 16 bytes.
    unsafe { vld1q_u8(chunk.as_ptr()) }
}

/// 16 activations at `at`.
#[inline(always)]
fn load_x(q: &[i8], at: usize) -> int8x16_t {
    let chunk = &q[at..at + 16];
    // SAFETY: `chunk` holds 16 bytes.
    unsafe { vld1q_s8(chunk.as_ptr()) }
}

/// Fifth bits of one 32-element sub-block: (first 16 elements, last 16), one bit each.
type FifthBits = Option<(u16, u16)>;

/// The two 16-bit fifth-bit masks of sub-block `j` (0..4) of the 128-element group whose
/// masks start at `at` (see [`super::layout`]).
#[inline(always)]
fn fifth_bits(row: &[u8], at: usize, j: usize) -> FifthBits {
    let low = u16::from_le_bytes([row[at + 2 * j], row[at + 2 * j + 1]]);
    let high = u16::from_le_bytes([row[at + 8 + 2 * j], row[at + 9 + 2 * j]]);
    Some((low, high))
}

/// Adds 16 to the bytes of `v` whose bit is set in `mask`.
#[inline(always)]
fn add_fifth_bit(v: uint8x16_t, mask: u16) -> uint8x16_t {
    // SAFETY: NEON is always present on aarch64.
    unsafe {
        let [low, high] = mask.to_le_bytes();
        let spread = vcombine_u8(vdup_n_u8(low), vdup_n_u8(high));
        let bits: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
        let set = vtstq_u8(spread, vld1q_u8(bits.as_ptr()));
        vaddq_u8(v, vandq_u8(set, vdupq_n_u8(16)))
    }
}

/// One 32-element sub-block in ggml's Q4_0 nibble order at `at`, against LoHi32 activations
/// (`x_at` is the position of its first half; the second half is 64 positions later), with
/// optional fifth bits and optionally mapped through IQ4_NL's signed code book.
#[inline(always)]
fn nibble_block_dot(qs: &[u8], at: usize, q: &[i8], x_at: usize, fifth: FifthBits, lut: bool) -> i32 {
    // SAFETY: NEON is always present on aarch64.
    unsafe {
        let packed = load(qs, at);
        let (mut lo, mut hi) = (vandq_u8(packed, vdupq_n_u8(0x0F)), vshrq_n_u8::<4>(packed));
        if let Some((low_bits, high_bits)) = fifth {
            lo = add_fifth_bit(lo, low_bits);
            hi = add_fifth_bit(hi, high_bits);
        }
        let (lo, hi) = if lut {
            let table = vld1q_s8(IQ4_NL_VALUES.as_ptr());
            (vqtbl1q_s8(table, lo), vqtbl1q_s8(table, hi))
        } else {
            (vreinterpretq_s8_u8(lo), vreinterpretq_s8_u8(hi))
        };
        let acc = dot16(vdupq_n_s32(0), lo, load_x(q, x_at));
        vaddvq_s32(dot16(acc, hi, load_x(q, x_at + 64)))
    }
}

/// 32-element nibble formats (LoHi32 activations). `HIGH`: fifth bits (Q5_0, Q5_1); `LUT`:
/// IQ4_NL's code book (signed, no offset); `MIN`: per-block mins (Q4_1, Q5_1) instead of a
/// fixed offset of -8 or -16 times d.
fn nibble32_row<const HIGH: bool, const LUT: bool, const MIN: bool>(
    w: &QuantRows,
    row: &[u8],
    acts: &QuantizedActs,
    r: usize,
) -> f32 {
    let (q, d, dsum32) = (acts.row_q(r), acts.row_d(r), acts.row_dsum32(r));
    let fixed_offset = match w.dtype {
        DType::Q5_0 => -16.0,
        DType::IQ4_NL => 0.0,
        _ => -8.0,
    };
    let (mut acc, mut offset) = (0f32, 0f32);
    for b in 0..w.kp / 32 {
        let dw = f16_at(row, w.scale_offset + 2 * b);
        let x_at = 128 * (b / 4) + 16 * (b % 4);
        let fifth = if HIGH { fifth_bits(row, w.high_offset + 16 * (b / 4), b % 4) } else { None };
        acc += dw * d[b] * nibble_block_dot(row, 16 * b, q, x_at, fifth, LUT) as f32;
        let per_block = if MIN { f16_at(row, w.min_offset + 2 * b) } else { dw };
        offset += per_block * dsum32[b];
    }
    acc + if MIN { 1.0 } else { fixed_offset } * offset
}

/// Q8_0 row (natural activations; the stored `q + 128` is flipped back to signed `q`).
fn q8_0_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d) = (acts.row_q(r), acts.row_d(r));
    let mut acc = 0f32;
    for (b, &dx) in d[..w.kp / 32].iter().enumerate() {
        let dw = f16_at(row, w.scale_offset + 2 * b);
        // SAFETY: NEON is always present on aarch64.
        let dot = unsafe {
            let flip = vdupq_n_u8(0x80);
            let w0 = vreinterpretq_s8_u8(veorq_u8(load(row, 32 * b), flip));
            let w1 = vreinterpretq_s8_u8(veorq_u8(load(row, 32 * b + 16), flip));
            let sum = dot16(dot16(vdupq_n_s32(0), w0, load_x(q, 32 * b)), w1, load_x(q, 32 * b + 16));
            vaddvq_s32(sum)
        };
        acc += dw * dx * dot as f32;
    }
    acc
}

/// Q4_K / Q5_K (`HIGH`) row (LoHi32 activations).
fn k4_row<const HIGH: bool>(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum32) = (acts.row_q(r), acts.row_d(r), acts.row_dsum32(r));
    let (mut acc, mut offset) = (0f32, 0f32);
    for sb in 0..w.kp / 256 {
        let header = &row[w.scale_offset + 16 * sb..w.scale_offset + 16 * sb + 16];
        let (super_d, super_dmin) = (f16_at(header, 0), f16_at(header, 2));
        let (sc, mins) = q4_k_scales_mins(&header[4..16]);
        let (sc, mins) = (sc.to_le_bytes(), mins.to_le_bytes());
        for j in 0..8 {
            let b = 8 * sb + j;
            let x_at = 128 * (b / 4) + 16 * (b % 4);
            let masks = w.high_offset + 32 * sb + 16 * (j / 4);
            let fifth = if HIGH { fifth_bits(row, masks, j % 4) } else { None };
            let dot = nibble_block_dot(row, 16 * b, q, x_at, fifth, false);
            acc += super_d * sc[j] as f32 * d[b] * dot as f32;
            offset += super_dmin * mins[j] as f32 * dsum32[b];
        }
    }
    acc - offset
}

/// Q6_K row (LoHi16 activations): each 16-byte chunk of low nibbles covers two 16-groups (8
/// bytes each), with their high bit pairs from the half's qh bytes.
fn q6_k_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum) = (acts.row_q(r), acts.row_d(r), acts.row_dsum(r));
    let (mut acc, mut offset) = (0f32, 0f32);
    for sb in 0..w.kp / 256 {
        let header = &row[w.scale_offset + 18 * sb..w.scale_offset + 18 * sb + 18];
        let super_d = f16_at(header, 16);
        for h in 0..2 {
            let base = 192 * sb + 96 * h;
            for c in 0..4 {
                // SAFETY: NEON is always present on aarch64.
                let sums = unsafe {
                    let low = load(row, base + 16 * c);
                    let high = load(row, base + 64 + 16 * (c % 2));
                    let (high_lo, high_hi) = if c < 2 {
                        (vshlq_n_u8::<4>(high), high)
                    } else {
                        (vshlq_n_u8::<2>(high), vshrq_n_u8::<2>(high))
                    };
                    let bits45 = vdupq_n_u8(0x30);
                    let w_lo = vorrq_u8(vandq_u8(low, vdupq_n_u8(0x0F)), vandq_u8(high_lo, bits45));
                    let w_hi = vorrq_u8(vshrq_n_u8::<4>(low), vandq_u8(high_hi, bits45));
                    let (w_lo, w_hi) = (vreinterpretq_s8_u8(w_lo), vreinterpretq_s8_u8(w_hi));
                    let x_at = 256 * sb + 128 * h + 16 * c;
                    let (x_lo, x_hi) = (load_x(q, x_at), load_x(q, x_at + 64));
                    // Products stay below 63 · 127, so two of them fit in i16.
                    let first = vaddq_s16(
                        vmull_s8(vget_low_s8(w_lo), vget_low_s8(x_lo)),
                        vmull_s8(vget_low_s8(w_hi), vget_low_s8(x_hi)),
                    );
                    let second = vaddq_s16(vmull_high_s8(w_lo, x_lo), vmull_high_s8(w_hi, x_hi));
                    [vaddlvq_s16(first), vaddlvq_s16(second)]
                };
                for (i, &sum) in sums.iter().enumerate() {
                    let g = 8 * h + 2 * c + i;
                    let scale = super_d * (header[g] as i8) as f32;
                    acc += scale * d[8 * sb + g / 2] * sum as f32;
                    offset += scale * dsum[16 * sb + g];
                }
            }
        }
    }
    acc - 32.0 * offset
}
