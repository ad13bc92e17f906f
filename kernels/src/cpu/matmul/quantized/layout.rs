//! How quantized weight rows are stored for the kernels.
//!
//! Q2_K and Q3_K keep their GGUF bytes. The other formats are split per row into areas, each a
//! run of one field of every block, with exactly the GGUF byte count apart from padding (rows
//! of 32-element formats padded to 128 elements, row strides to 64 bytes):
//!
//! | layout | formats | areas per block |
//! |---|---|---|
//! | [`QuantLayout::SplitNibble32`] | Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL | quants 16, [high bits 4], d 2, [min 2] |
//! | [`QuantLayout::SplitQ8_0`] | Q8_0 | quants 32 (stored `q ^ 0x80`, that is q + 128), d 2 |
//! | [`QuantLayout::SplitK4`] | Q4_K, Q5_K | quants 128, [high bits 32], header 16 (d, dmin, scales) |
//! | [`QuantLayout::SplitQ6K`] | Q6_K | quants 192, header 18 (scales[16], d) |
//!
//! Quant-area element orders, per 128 elements ("positions" are byte/nibble slots):
//! - nibble formats ([`ActOrder::LoHi32`]): 64 bytes; byte p holds, for 32-block b = p / 16,
//!   element 32b + p % 16 (low nibble) and 32b + 16 + p % 16 (high nibble): ggml's Q4_0
//!   nibble order with four blocks side by side, so a 64-byte load's low nibbles and high
//!   nibbles each cover all four blocks (for Q4_K/Q5_K this reorders ggml's nibbles). Their
//!   fifth bits, when present, are two little-endian u64 masks per 128 elements: bit p of the
//!   first for position p, of the second for position 64 + p.
//! - Q8_0 ([`ActOrder::Natural`]): bytes in order.
//! - Q6_K ([`ActOrder::LoHi16`]): 64 bytes of low nibbles, byte p holding for 16-group
//!   g = p / 8 element 16g + p % 8 (low) and 16g + 8 + p % 8 (high); then 32 bytes of high bit
//!   pairs, byte i holding positions i, 32 + i, 64 + i, 96 + i at bits 0, 2, 4, 6, where
//!   positions 0..64 are the low nibbles and 64..128 the high nibbles.

use rayon::prelude::*;

use super::blocks::{
    IQ4_NL_VALUES, decode_gguf_block, decode_gguf_scales, f16_at, k_quant_scales, nibbles_32, q6_k_scales,
};
use super::layout_pack::split_block;
use crate::AlignedBytes;
use crate::DType;

/// The order in which activations must be quantized to match a layout's quant area.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ActOrder {
    /// Element order.
    Natural,
    /// Per 128 elements: the first 16 of each 32-block, then the last 16 of each.
    LoHi32,
    /// Per 128 elements: the first 8 of each 16-group, then the last 8 of each.
    LoHi16,
}

impl ActOrder {
    /// The element (within its 128-element group) stored at position `p` (0..128).
    #[cfg(test)]
    pub(crate) fn element_at(self, p: usize) -> usize {
        match self {
            ActOrder::Natural => p,
            ActOrder::LoHi32 => 32 * ((p % 64) / 16) + 16 * (p / 64) + p % 16,
            ActOrder::LoHi16 => 16 * ((p % 64) / 8) + 8 * (p / 64) + p % 8,
        }
    }
}

/// The storage layout of a quantized weight matrix.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum QuantLayout {
    /// GGUF blocks, unchanged.
    Gguf,
    /// 32-element 4-bit formats, split (LoHi32 quants).
    SplitNibble32,
    /// Q8_0 split: quants + 128 then f16 scales.
    SplitQ8_0,
    /// Q4_K/Q5_K split (LoHi32 quants).
    SplitK4,
    /// Q6_K split (two LoHi16 halves of 64 + 32 quant bytes per super-block).
    SplitQ6K,
}

impl QuantLayout {
    /// The layout used for `dtype`.
    pub(crate) fn for_dtype(dtype: DType) -> QuantLayout {
        match dtype {
            DType::Q4_0 | DType::Q4_1 | DType::Q5_0 | DType::Q5_1 | DType::IQ4_NL => QuantLayout::SplitNibble32,
            DType::Q8_0 => QuantLayout::SplitQ8_0,
            DType::Q4_K | DType::Q5_K => QuantLayout::SplitK4,
            DType::Q6_K => QuantLayout::SplitQ6K,
            _ => QuantLayout::Gguf,
        }
    }

    /// The activation order the layout's dedicated kernels expect.
    pub(crate) fn act_order(self) -> ActOrder {
        match self {
            QuantLayout::Gguf | QuantLayout::SplitQ8_0 => ActOrder::Natural,
            QuantLayout::SplitNibble32 | QuantLayout::SplitK4 => ActOrder::LoHi32,
            QuantLayout::SplitQ6K => ActOrder::LoHi16,
        }
    }
}

/// Bytes per block of each area of a split layout: quants, high bits, scales, mins.
pub(super) fn area_bytes(dtype: DType) -> [usize; 4] {
    match dtype {
        DType::Q4_0 | DType::IQ4_NL => [16, 0, 2, 0],
        DType::Q4_1 => [16, 0, 2, 2],
        DType::Q5_0 => [16, 4, 2, 0],
        DType::Q5_1 => [16, 4, 2, 2],
        DType::Q8_0 => [32, 0, 2, 0],
        DType::Q4_K => [128, 0, 16, 0],
        DType::Q5_K => [128, 32, 16, 0],
        DType::Q6_K => [192, 0, 18, 0],
        _ => [0, 0, 0, 0],
    }
}

/// Quantized weights: `n` rows of `k` elements, each row padded to `kp` elements.
pub(crate) struct QuantRows {
    pub(crate) dtype: DType,
    pub(crate) layout: QuantLayout,
    pub(crate) n: usize,
    pub(crate) k: usize,
    /// Padded row length in elements (padding decodes to zero weights).
    pub(crate) kp: usize,
    /// Bytes from one row to the next.
    pub(crate) row_stride: usize,
    /// Offset of the high-bit area within a row (split layouts with fifth bits).
    pub(crate) high_offset: usize,
    /// Offset of the scale (or header) area within a row (split layouts).
    pub(crate) scale_offset: usize,
    /// Offset of the min area within a row (Q4_1, Q5_1).
    pub(crate) min_offset: usize,
    data: AlignedBytes,
}

impl QuantRows {
    /// Repacks `n` GGUF rows of `k` elements (`bytes` already length-checked).
    pub(crate) fn pack(dtype: DType, n: usize, k: usize, bytes: &[u8]) -> QuantRows {
        let layout = QuantLayout::for_dtype(dtype);
        let (bl, bb) = (dtype.block_len(), dtype.block_bytes());
        // Rows of 32- and 64-element blocks are padded with zero blocks to whole 128-element
        // groups, the unit the SIMD decoders read.
        let kp = if bl <= 64 { k.div_ceil(128) * 128 } else { k };
        let blocks = kp / bl;
        let [quant, high, scale, _] = area_bytes(dtype);
        let high_offset = blocks * quant;
        let scale_offset = high_offset + blocks * high;
        let min_offset = scale_offset + blocks * scale;
        let row_stride = match layout {
            QuantLayout::Gguf => blocks * bb,
            _ => (blocks * bb).div_ceil(64) * 64,
        };
        let mut rows = QuantRows {
            dtype,
            layout,
            n,
            k,
            kp,
            row_stride,
            high_offset,
            scale_offset,
            min_offset,
            data: AlignedBytes::zeroed(n * row_stride),
        };
        let gguf_row = k / bl * bb;
        if gguf_row > 0 && row_stride > 0 {
            let areas = [0, high_offset, scale_offset, min_offset];
            let dst_rows = rows.data.as_mut_slice().par_chunks_exact_mut(row_stride);
            dst_rows.zip(bytes.par_chunks_exact(gguf_row)).for_each(|(dst, src)| {
                for (b, block) in src.chunks_exact(bb).enumerate() {
                    split_block(dtype, layout, block, b, dst, areas);
                }
            });
        }
        rows
    }

    /// The packed bytes of row `j`.
    #[inline(always)]
    pub(crate) fn row(&self, j: usize) -> &[u8] {
        &self.data.as_slice()[j * self.row_stride..(j + 1) * self.row_stride]
    }

    /// All packed bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.data.as_slice()
    }

    /// Blocks per (padded) row.
    pub(crate) fn blocks_per_row(&self) -> usize {
        self.kp / self.dtype.block_len()
    }

    /// Decodes block `b` of a packed row into natural-order `v` and per-16 `s`, `m`
    /// (see [`super::blocks`]).
    #[inline(always)]
    pub(crate) fn decode_block(&self, row: &[u8], b: usize, v: &mut [u8], s: &mut [f32], m: &mut [f32]) {
        if self.layout == QuantLayout::Gguf {
            let bb = self.dtype.block_bytes();
            decode_gguf_block(self.dtype, &row[b * bb..(b + 1) * bb], v, s, m);
        } else {
            self.decode_values(row, b, v);
            self.decode_scales(row, b, s, m);
        }
    }

    /// The per-16 scales `s` and offsets `m` of block `b` of a packed row.
    #[inline(always)]
    pub(crate) fn decode_scales(&self, row: &[u8], b: usize, s: &mut [f32], m: &mut [f32]) {
        let so = self.scale_offset;
        match self.layout {
            QuantLayout::Gguf => {
                let bb = self.dtype.block_bytes();
                decode_gguf_scales(self.dtype, &row[b * bb..(b + 1) * bb], s, m);
            }
            QuantLayout::SplitNibble32 => {
                let d = f16_at(row, so + 2 * b);
                let offset = match self.dtype {
                    DType::Q4_1 | DType::Q5_1 => f16_at(row, self.min_offset + 2 * b),
                    DType::Q5_0 => -16.0 * d,
                    DType::IQ4_NL => -128.0 * d,
                    _ => -8.0 * d,
                };
                s[..2].fill(d);
                m[..2].fill(offset);
            }
            QuantLayout::SplitQ8_0 => {
                let d = f16_at(row, so + 2 * b);
                s[..2].fill(d);
                m[..2].fill(-128.0 * d);
            }
            QuantLayout::SplitK4 => {
                let header = &row[so + 16 * b..so + 16 * b + 16];
                k_quant_scales(f16_at(header, 0), f16_at(header, 2), &header[4..16], s, m);
            }
            QuantLayout::SplitQ6K => {
                let header = &row[so + 18 * b..so + 18 * b + 18];
                q6_k_scales(&header[..16], f16_at(header, 16), s, m);
            }
        }
    }

    /// The natural-order values `v` of block `b` of a packed row in a split layout.
    #[inline(always)]
    fn decode_values(&self, row: &[u8], b: usize, v: &mut [u8]) {
        match self.layout {
            QuantLayout::Gguf => unreachable!("GGUF blocks decode whole"),
            QuantLayout::SplitNibble32 => {
                nibbles_32(&row[16 * b..16 * b + 16], v);
                if matches!(self.dtype, DType::Q5_0 | DType::Q5_1) {
                    let at = self.high_offset + 16 * (b / 4);
                    add_fifth_bits(&row[at..at + 16], b % 4, &mut v[..32]);
                }
                if self.dtype == DType::IQ4_NL {
                    for x in v[..32].iter_mut() {
                        *x = (IQ4_NL_VALUES[*x as usize] as u8) ^ 0x80;
                    }
                }
            }
            QuantLayout::SplitQ8_0 => v[..32].copy_from_slice(&row[32 * b..32 * b + 32]),
            QuantLayout::SplitK4 => {
                let qs = &row[128 * b..128 * b + 128];
                for j in 0..8 {
                    nibbles_32(&qs[16 * j..16 * j + 16], &mut v[32 * j..32 * j + 32]);
                }
                if self.dtype == DType::Q5_K {
                    let masks = &row[self.high_offset + 32 * b..self.high_offset + 32 * b + 32];
                    for (j, block) in v[..256].chunks_exact_mut(32).enumerate() {
                        add_fifth_bits(&masks[16 * (j / 4)..], j % 4, block);
                    }
                }
            }
            QuantLayout::SplitQ6K => {
                let quants = &row[192 * b..192 * b + 192];
                for half in 0..2 {
                    let ql = &quants[96 * half..96 * half + 64];
                    let qh = &quants[96 * half + 64..96 * half + 96];
                    // Position p (< 64) holds element 16(p / 8) + p % 8 in its low nibble and
                    // the element 8 further in its high nibble; its high bits sit in qh[p % 32]
                    // at bit 2(p / 32) (low nibble) and 2(p / 32) + 4 (high nibble).
                    for quarter in 0..2 {
                        for g in 4 * quarter..4 * quarter + 4 {
                            let out = &mut v[128 * half + 16 * g..128 * half + 16 * g + 16];
                            let low = &ql[8 * g..8 * g + 8];
                            let high = &qh[8 * g - 32 * quarter..8 * g - 32 * quarter + 8];
                            for i in 0..8 {
                                let (l, hb) = (low[i], high[i] >> (2 * quarter));
                                out[i] = (l & 0x0F) | ((hb & 3) << 4);
                                out[8 + i] = (l >> 4) | (((hb >> 4) & 3) << 4);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Sets bit 4 of the 32 natural-order values of sub-block `j` (0..4) of a 128-element group
/// from the group's two 64-bit position masks (see the module docs).
#[inline(always)]
fn add_fifth_bits(masks: &[u8], j: usize, v: &mut [u8]) {
    let low = u16::from_le_bytes([masks[2 * j], masks[2 * j + 1]]);
    let high = u16::from_le_bytes([masks[8 + 2 * j], masks[8 + 2 * j + 1]]);
    for i in 0..16 {
        v[i] |= (((low >> i) & 1) as u8) << 4;
        v[16 + i] |= (((high >> i) & 1) as u8) << 4;
    }
}
