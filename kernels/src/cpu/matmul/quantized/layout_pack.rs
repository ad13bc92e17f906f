//! Repacking GGUF blocks into the split layouts of [`super::layout`].

use super::blocks::decode_gguf_block;
use super::layout::{ActOrder, QuantLayout};
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
            for e in 0..256 {
                // GGUF: byte 32·(e/64) + e%32, high nibble when e%64 >= 32.
                let byte = qs[32 * (e / 64) + e % 32];
                let q = if e % 64 < 32 { byte & 0x0F } else { byte >> 4 };
                // Split: sub-block j = e/32 owns bytes 16j..16j+16, ggml Q4_0 nibble order.
                let (j, i) = (e / 32, e % 32);
                dst[128 * b + 16 * j + i % 16] |= if i < 16 { q } else { q << 4 };
                if dtype == DType::Q5_K {
                    // GGUF: bit e/32 of qh[e%32]. Split: group j/4's masks, position bit
                    // 16·(j%4) + i%16 of the first (i < 16) or second mask.
                    let bit = (block[16 + e % 32] >> (e / 32)) & 1;
                    let position = 16 * (j % 4) + i % 16;
                    let at =
                        high + 32 * b + 16 * (j / 4) + if i < 16 { 0 } else { 8 } + position / 8;
                    dst[at] |= bit << (position % 8);
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
                for p in 0..128 {
                    let q = v[128 * half + ActOrder::LoHi16.element_at(p)];
                    let (low, high) = (q & 0x0F, q >> 4);
                    if p < 64 {
                        out[96 * half + p] |= low;
                    } else {
                        out[96 * half + p - 64] |= low << 4;
                    }
                    out[96 * half + 64 + p % 32] |= high << (2 * (p / 32));
                }
            }
            dst[scale + 18 * b..scale + 18 * b + 18].copy_from_slice(&block[192..210]);
        }
    }
}
