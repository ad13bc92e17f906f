//! f32/f16/bf16 weights packed into panels of [`NR`] rows: panel `p` holds rows
//! `32p..32p + 32` transposed, `[k][32]`, so that a kernel reads 32 output columns' weights
//! for one `k` with one contiguous load. The last panel is zero-padded. f16 and bf16 stay
//! 16-bit; [`FloatPanels::panel_f32`] widens a `[kc][32]` slice on demand.

use rayon::prelude::*;

use super::{HalfPanel, PanelSource};
use crate::AlignedBytes;
use crate::DType;

/// Output columns (weight rows) per panel.
pub(crate) const NR: usize = 32;

/// Packed f32/f16/bf16 weights.
pub(crate) struct FloatPanels {
    dtype: DType,
    n: usize,
    k: usize,
    data: AlignedBytes,
}

impl FloatPanels {
    /// Packs `n` rows of `k` elements of `dtype` (f32, f16 or bf16; `bytes` length-checked).
    pub(crate) fn pack(dtype: DType, n: usize, k: usize, bytes: &[u8]) -> FloatPanels {
        let elem = dtype.block_bytes();
        let panel_bytes = k * NR * elem;
        let mut data = AlignedBytes::zeroed(n.div_ceil(NR) * panel_bytes);
        if panel_bytes > 0 {
            data.as_mut_slice().par_chunks_mut(panel_bytes).enumerate().for_each(|(p, panel)| {
                let rows = &bytes[p * NR * k * elem..(n * k * elem).min((p + 1) * NR * k * elem)];
                if elem == 4 {
                    transpose_rows::<4>(rows, k, panel);
                } else {
                    transpose_rows::<2>(rows, k, panel);
                }
            });
        }
        FloatPanels { dtype, n, k, data }
    }

    /// Bytes held.
    pub(crate) fn packed_bytes(&self) -> usize {
        self.data.len()
    }
}

/// Writes up to [`NR`] rows of `k` elements of `E` bytes as a `[k][NR]` panel, a few dozen k
/// at a time so that the panel slice being written stays in L1.
fn transpose_rows<const E: usize>(rows: &[u8], k: usize, panel: &mut [u8]) {
    const STEP: usize = 64;
    for k0 in (0..k).step_by(STEP) {
        let k1 = k.min(k0 + STEP);
        for (c, row) in rows.chunks_exact(k * E).enumerate() {
            for (kk, value) in row[k0 * E..k1 * E].chunks_exact(E).enumerate() {
                let at = ((k0 + kk) * NR + c) * E;
                let value: &[u8; E] = value.try_into().expect("chunks of E bytes");
                panel[at..at + E].copy_from_slice(value);
            }
        }
    }
}

impl PanelSource for FloatPanels {
    fn half_panel(&self, p: usize, k0: usize, kc: usize) -> Option<HalfPanel<'_>> {
        let start = (p * self.k + k0) * NR;
        let bits = || &bytemuck::cast_slice::<u8, u16>(self.data.as_slice())[start..start + kc * NR];
        match self.dtype {
            DType::F16 => Some(HalfPanel::F16(bits())),
            DType::BF16 => Some(HalfPanel::BF16(bits())),
            _ => None,
        }
    }

    fn n(&self) -> usize {
        self.n
    }

    fn k(&self) -> usize {
        self.k
    }

    fn k_step(&self) -> usize {
        1
    }

    fn panel<'a>(&'a self, p: usize, k0: usize, kc: usize, scratch: &'a mut [f32]) -> &'a [f32] {
        let start = (p * self.k + k0) * NR;
        let len = kc * NR;
        match self.dtype {
            DType::F32 => &bytemuck::cast_slice::<u8, f32>(self.data.as_slice())[start..start + len],
            DType::F16 => {
                let src = &bytemuck::cast_slice::<u8, u16>(self.data.as_slice())[start..start + len];
                let out = &mut scratch[..len];
                half::slice::HalfFloatSliceExt::convert_to_f32_slice(bytemuck::cast_slice::<u16, half::f16>(src), out);
                out
            }
            DType::BF16 => {
                let src = &bytemuck::cast_slice::<u8, u16>(self.data.as_slice())[start..start + len];
                let out = &mut scratch[..len];
                for (o, &bits) in out.iter_mut().zip(src) {
                    *o = f32::from_bits((bits as u32) << 16);
                }
                out
            }
            _ => unreachable!("FloatPanels holds f32, f16 or bf16"),
        }
    }
}
