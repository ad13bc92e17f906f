//! Repacking GGUF blocks into the split layouts of [`super::layout`].

use super::blocks::decode_gguf_block;
use super::layout::QuantLayout;
use crate::DType;

/// Writes GGUF block `b` of a row into the packed row `dst`, whose areas (quants, high bits,
/// scales, mins) start at `areas`.
pub(super) fn split_block(
    dtype: DType,
    layout: QuantLayout,
    block: &[u8],
    b: usize,
    dst: &mut [u8],
    areas: [usize; 4],
) {
    let [_, high, scale, min] = areas;
    match layout {
        QuantLayout::Gguf => {
            let bb = block.len();
            dst[b * bb..(b + 1) * bb].copy_from_slice(block);
        }
        QuantLayout::SplitNibble32 => {
            // GGUF: d, [min], [qh u32], qs[16].
            let has_min = matches!(dtype, DType::Q4_1 | DType::Q5_1);
            let has_high = matches!(dtype, DType::Q5_0 | DType::Q5_1);
            let qh_at = if has_min { 4 } else { 2 };
            let qs_at = qh_at + if has_high { 4 } else { 0 };
            dst[16 * b..16 * b + 16].copy_from_slice(&block[qs_at..qs_at + 16]);
            dst[scale + 2 * b..scale + 2 * b + 2].copy_from_slice(&block[0..2]);
            if has_min {
                dst[min + 2 * b..min + 2 * b + 2].copy_from_slice(&block[2..4]);
            }
            if has_high {
                // qh bits 0..16 (first halves) go to the group's first mask, bits 16..32 to the
                // second, each at bits 16·(b % 4)...
                let group = high + 16 * (b / 4) + 2 * (b % 4);
                dst[group..group + 2].copy_from_slice(&block[qh_at..qh_at + 2]);
                dst[group + 8..group + 10].copy_from_slice(&block[qh_at + 2..qh_at + 4]);
            }
        }
        QuantLayout::SplitQ8_0 => {
            for (d, &q) in dst[32 * b..32 * b + 32].iter_mut().zip(&block[2..34]) {
                *d = q ^ 0x80;
            }
            dst[scale + 2 * b..scale + 2 * b + 2].copy_from_slice(&block[0..2]);
        }
        QuantLayout::SplitK4 => {
            // GGUF: d, dmin, scales[12], [qh[32]], qs[128].
            let qs_at = if dtype == DType::Q5_K { 48 } else { 16 };
            let qs = &block[qs_at..qs_at + 128];
            // GGUF element 32j + i (sub-block j) is nibble j % 2 of qs[32(j / 2) + i]; the split
            // layout keeps sub-block j in bytes 16j..16j+16, ggml's Q4_0 nibble order.
            let out = &mut dst[128 * b..128 * b + 128];
            for j in 0..8 {
                let (src, shift) = (&qs[32 * (j / 2)..32 * (j / 2) + 32], 4 * (j % 2));
                for i in 0..16 {
                    let (first, second) = ((src[i] >> shift) & 0x0F, (src[16 + i] >> shift) & 0x0F);
                    out[16 * j + i] = first | (second << 4);
                }
            }
            if dtype == DType::Q5_K {
                // GGUF: bit j of qh[i] is the fifth bit of element 32j + i. Split: per 128
                // elements two u64 masks, bit 16(j % 4) + i of the first for i < 16, of the
                // second for i - 16 otherwise.
                let qh = &block[16..48];
                for group in 0..2 {
                    let mut masks = [0u64; 2];
                    for (half, mask) in masks.iter_mut().enumerate() {
                        for position in 0..64 {
                            let (j, i) = (4 * group + position / 16, 16 * half + position % 16);
                            *mask |= (((qh[i] >> j) & 1) as u64) << position;
                        }
                    }
                    let at = high + 32 * b + 16 * group;
                    dst[at..at + 8].copy_from_slice(&masks[0].to_le_bytes());
                    dst[at + 8..at + 16].copy_from_slice(&masks[1].to_le_bytes());
                }
            }
            dst[scale + 16 * b..scale + 16 * b + 16].copy_from_slice(&block[0..16]);
        }
        QuantLayout::SplitQ6K => {
            let mut v = [0u8; 256];
            let (mut s, mut m) = ([0f32; 16], [0f32; 16]);
            decode_gguf_block(DType::Q6_K, block, &mut v, &mut s, &mut m);
            let out = &mut dst[192 * b..192 * b + 192];
            for half in 0..2 {
                let (values, packed) = (&v[128 * half..128 * half + 128], &mut out[96 * half..96 * half + 96]);
                // Position p < 64 (group g = p / 8, i = p % 8) holds elements 16g + i (low
                // nibble) and 16g + 8 + i (high nibble); the high bit pairs of positions p,
                // 32 + p, 64 + p, 96 + p share byte 64 + p % 32.
                for g in 0..8 {
                    for i in 0..8 {
                        let (first, second) = (values[16 * g + i], values[16 * g + 8 + i]);
                        let p = 8 * g + i;
                        packed[p] = (first & 0x0F) | (second << 4);
                        packed[64 + p % 32] |= ((first >> 4) << (2 * (p / 32))) | ((second >> 4) << (4 + 2 * (p / 32)));
                    }
                }
            }
            dst[scale + 18 * b..scale + 18 * b + 18].copy_from_slice(&block[192..210]);
        }
    }
}
