//! NEON GEMV kernels for the split layouts (see [`super::layout`]), baseline Advanced SIMD
//! only: `smull`/`smull2` products of signed bytes (every split format's quants fit in i8 once
//! Q8_0's `+ 128` is undone) widened and summed per 16- or 32-element group, then one scalar
//! f32 multiply-add per group.
#![cfg(target_arch = "aarch64")]

use std::arch::aarch64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::{f16_at, q4_k_scales_mins};
use super::gemv::RowsKernel;
use super::layout::QuantLayout;
use crate::DType;

/// The dedicated kernel for `layout`, if any.
pub(super) fn kernel(w: &QuantRows) -> Option<RowsKernel> {
    match (w.layout, w.dtype) {
        (QuantLayout::SplitNibble32, DType::Q4_0) => Some(q4_0_rows),
        (QuantLayout::SplitQ8_0, _) => Some(q8_0_rows),
        (QuantLayout::SplitK4, DType::Q4_K) => Some(q4_k_rows),
        (QuantLayout::SplitQ6K, _) => Some(q6_k_rows),
        _ => None,
    }
}

/// Declares a `RowsKernel` applying a per-row function.
macro_rules! rows_kernel {
    ($name:ident, $inner:ident) => {
        fn $name(w: &QuantRows, j0: usize, acts: &QuantizedActs, r: usize, out: &mut [f32]) {
            for (i, y) in out.iter_mut().enumerate() {
                *y = $inner(w, w.row(j0 + i), acts, r);
            }
        }
    };
}

rows_kernel!(q4_0_rows, q4_0_row);
rows_kernel!(q8_0_rows, q8_0_row);
rows_kernel!(q4_k_rows, q4_k_row);
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

/// One 32-element sub-block in ggml's Q4_0 nibble order at `at`, against LoHi32 activations
/// (`x_at` is the position of its first half; the second half is 64 positions later).
#[inline(always)]
fn nibble_block_dot(qs: &[u8], at: usize, q: &[i8], x_at: usize) -> i32 {
    // SAFETY: NEON is always present on aarch64.
    unsafe {
        let packed = load(qs, at);
        let lo = vreinterpretq_s8_u8(vandq_u8(packed, vdupq_n_u8(0x0F)));
        let hi = vreinterpretq_s8_u8(vshrq_n_u8::<4>(packed));
        let acc = dot16(vdupq_n_s32(0), lo, load_x(q, x_at));
        vaddvq_s32(dot16(acc, hi, load_x(q, x_at + 64)))
    }
}

/// Q4_0 row (LoHi32 activations).
fn q4_0_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum32) = (acts.row_q(r), acts.row_d(r), acts.row_dsum32(r));
    let (mut acc, mut offset) = (0f32, 0f32);
    for b in 0..w.kp / 32 {
        let dw = f16_at(row, w.scale_offset + 2 * b);
        let x_at = 128 * (b / 4) + 16 * (b % 4);
        acc += dw * d[b] * nibble_block_dot(row, 16 * b, q, x_at) as f32;
        offset += dw * dsum32[b];
    }
    acc - 8.0 * offset
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
            let sum = dot16(
                dot16(vdupq_n_s32(0), w0, load_x(q, 32 * b)),
                w1,
                load_x(q, 32 * b + 16),
            );
            vaddvq_s32(sum)
        };
        acc += dw * dx * dot as f32;
    }
    acc
}

/// Q4_K row (LoHi32 activations).
fn q4_k_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
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
            let dot = nibble_block_dot(row, 16 * b, q, x_at);
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
