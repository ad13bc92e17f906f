//! How quantized weight rows are stored for the kernels.
//!
//! Most formats keep their GGUF bytes. The four formats with hand-written GEMV kernels (Q4_0,
//! Q8_0, Q4_K, Q6_K) are split per row into a quant area (vector-load friendly, in the element
//! order their kernels expect) followed by a scale area, with exactly the GGUF byte count
//! apart from padding (rows padded to 128 elements for Q4_0/Q8_0, row strides to 64 bytes).
//!
//! Quant-area element orders, per 128 elements ("positions" are byte/nibble slots):
//! - Q4_0, Q4_K ([`ActOrder::LoHi32`]): 64 bytes; byte p holds, for 32-block b = p / 16,
//!   element 32b + p % 16 (low nibble) and 32b + 16 + p % 16 (high nibble). This is ggml's
//!   Q4_0 nibble order with four blocks' bytes side by side, so a 64-byte load's low nibbles
//!   and high nibbles each cover all four blocks.
//! - Q8_0 ([`ActOrder::Natural`]): bytes `q ^ 0x80` (that is q + 128, unsigned) in order.
//! - Q6_K ([`ActOrder::LoHi16`]): 64 bytes of low nibbles, byte p holding for 16-group
//!   g = p / 8 element 16g + p % 8 (low) and 16g + 8 + p % 8 (high); then 32 bytes of high bit
//!   pairs, byte i holding positions i, 32 + i, 64 + i, 96 + i at bits 0, 2, 4, 6, where
//!   positions 0..64 are the low nibbles and 64..128 the high nibbles.

use super::blocks::{decode_gguf_block, f16_at, k_quant_scales, nibbles_32, q6_k_scales};
use crate::DType;
use crate::cpu::matmul::aligned::AlignedBytes;

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
    #[inline(always)]
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
    /// Q4_0 split: quants (LoHi32) then f16 scales.
    SplitQ4_0,
    /// Q8_0 split: quants + 128 then f16 scales.
    SplitQ8_0,
    /// Q4_K split: quants (LoHi32) then per super-block d, dmin, scales[12] (GGUF bytes 0..16).
    SplitQ4K,
    /// Q6_K split: per super-block 192 quant bytes (two LoHi16 halves of 64 + 32) then per
    /// super-block scales[16] and d (GGUF bytes 192..210).
    SplitQ6K,
}

impl QuantLayout {
    /// The layout used for `dtype`.
    pub(crate) fn for_dtype(dtype: DType) -> QuantLayout {
        match dtype {
            DType::Q4_0 => QuantLayout::SplitQ4_0,
            DType::Q8_0 => QuantLayout::SplitQ8_0,
            DType::Q4_K => QuantLayout::SplitQ4K,
            DType::Q6_K => QuantLayout::SplitQ6K,
            _ => QuantLayout::Gguf,
        }
    }

    /// The activation order the layout's dedicated kernels expect.
    pub(crate) fn act_order(self) -> ActOrder {
        match self {
            QuantLayout::Gguf | QuantLayout::SplitQ8_0 => ActOrder::Natural,
            QuantLayout::SplitQ4_0 | QuantLayout::SplitQ4K => ActOrder::LoHi32,
            QuantLayout::SplitQ6K => ActOrder::LoHi16,
        }
    }

    /// Bytes of one block's quant part in the split area (`None` for GGUF).
    fn quant_bytes(self) -> usize {
        match self {
            QuantLayout::Gguf => 0,
            QuantLayout::SplitQ4_0 => 16,
            QuantLayout::SplitQ8_0 => 32,
            QuantLayout::SplitQ4K => 128,
            QuantLayout::SplitQ6K => 192,
        }
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
    /// Offset of the scale area within a row (split layouts).
    pub(crate) scale_offset: usize,
    data: AlignedBytes,
}

impl QuantRows {
    /// Repacks `n` GGUF rows of `k` elements (`bytes` already length-checked).
    pub(crate) fn pack(dtype: DType, n: usize, k: usize, bytes: &[u8]) -> QuantRows {
        let layout = QuantLayout::for_dtype(dtype);
        let (bl, bb) = (dtype.block_len(), dtype.block_bytes());
        let kp = match layout {
            QuantLayout::SplitQ4_0 | QuantLayout::SplitQ8_0 => k.div_ceil(128) * 128,
            _ => k,
        };
        let blocks = kp / bl;
        let scale_offset = blocks * layout.quant_bytes();
        let row_stride = match layout {
            QuantLayout::Gguf => blocks * bb,
            _ => (blocks * bb).div_ceil(64) * 64,
        };
        let mut data = AlignedBytes::zeroed(n * row_stride);
        let gguf_row = k / bl * bb;
        if gguf_row == 0 || row_stride == 0 {
            return QuantRows {
                dtype,
                layout,
                n,
                k,
                kp,
                row_stride,
                scale_offset,
                data,
            };
        }
        for (src, dst) in bytes
            .chunks_exact(gguf_row)
            .zip(data.as_mut_slice().chunks_exact_mut(row_stride))
        {
            for (b, block) in src.chunks_exact(bb).enumerate() {
                split_block(layout, block, b, dst, scale_offset);
            }
        }
        QuantRows {
            dtype,
            layout,
            n,
            k,
            kp,
            row_stride,
            scale_offset,
            data,
        }
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
    pub(crate) fn decode_block(
        &self,
        row: &[u8],
        b: usize,
        v: &mut [u8],
        s: &mut [f32],
        m: &mut [f32],
    ) {
        let so = self.scale_offset;
        match self.layout {
            QuantLayout::Gguf => {
                let bb = self.dtype.block_bytes();
                decode_gguf_block(self.dtype, &row[b * bb..(b + 1) * bb], v, s, m);
            }
            QuantLayout::SplitQ4_0 => {
                let d = f16_at(row, so + 2 * b);
                nibbles_32(&row[16 * b..16 * b + 16], v);
                s[..2].fill(d);
                m[..2].fill(-8.0 * d);
            }
            QuantLayout::SplitQ8_0 => {
                let d = f16_at(row, so + 2 * b);
                v[..32].copy_from_slice(&row[32 * b..32 * b + 32]);
                s[..2].fill(d);
                m[..2].fill(-128.0 * d);
            }
            QuantLayout::SplitQ4K => {
                let header = &row[so + 16 * b..so + 16 * b + 16];
                let qs = &row[128 * b..128 * b + 128];
                for j in 0..8 {
                    nibbles_32(&qs[16 * j..16 * j + 16], &mut v[32 * j..32 * j + 32]);
                }
                k_quant_scales(f16_at(header, 0), f16_at(header, 2), &header[4..16], s, m);
            }
            QuantLayout::SplitQ6K => {
                let quants = &row[192 * b..192 * b + 192];
                let header = &row[so + 18 * b..so + 18 * b + 18];
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
                q6_k_scales(&header[..16], f16_at(header, 16), s, m);
            }
        }
    }
}

/// Writes GGUF block `b` of a row into the packed row `dst`.
fn split_block(layout: QuantLayout, block: &[u8], b: usize, dst: &mut [u8], scale_offset: usize) {
    match layout {
        QuantLayout::Gguf => {
            let bb = block.len();
            dst[b * bb..(b + 1) * bb].copy_from_slice(block);
        }
        QuantLayout::SplitQ4_0 => {
            dst[16 * b..16 * b + 16].copy_from_slice(&block[2..18]);
            dst[scale_offset + 2 * b..scale_offset + 2 * b + 2].copy_from_slice(&block[0..2]);
        }
        QuantLayout::SplitQ8_0 => {
            for (d, &q) in dst[32 * b..32 * b + 32].iter_mut().zip(&block[2..34]) {
                *d = q ^ 0x80;
            }
            dst[scale_offset + 2 * b..scale_offset + 2 * b + 2].copy_from_slice(&block[0..2]);
        }
        QuantLayout::SplitQ4K => {
            let (qs, out) = (&block[16..144], &mut dst[128 * b..128 * b + 128]);
            for e in 0..256 {
                // GGUF: byte 32·(e/64) + e%32, high nibble when e%64 >= 32.
                let byte = qs[32 * (e / 64) + e % 32];
                let q = if e % 64 < 32 { byte & 0x0F } else { byte >> 4 };
                // Split: sub-block j = e/32 owns bytes 16j..16j+16, ggml Q4_0 nibble order.
                let (j, i) = (e / 32, e % 32);
                out[16 * j + i % 16] |= if i < 16 { q } else { q << 4 };
            }
            dst[scale_offset + 16 * b..scale_offset + 16 * b + 16].copy_from_slice(&block[0..16]);
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
            let header = &mut dst[scale_offset + 18 * b..scale_offset + 18 * b + 18];
            header.copy_from_slice(&block[192..210]);
        }
    }
}
