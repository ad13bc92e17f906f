//! Quantized weights seen as f32 panels: a `[kc][32]` slice is decoded (`s · v + m`) into the
//! caller's scratch, so the f32 GEMM runs on any format without a full f32 copy.

use super::QuantRows;
use super::blocks::GROUP;
use crate::cpu::matmul::float::{NR, PanelSource};

/// A [`PanelSource`] decoding [`QuantRows`] on the fly.
pub(super) struct DecodedPanels<'a>(pub(super) &'a QuantRows);

impl PanelSource for DecodedPanels<'_> {
    fn n(&self) -> usize {
        self.0.n
    }

    fn k(&self) -> usize {
        self.0.k
    }

    fn k_step(&self) -> usize {
        self.0.dtype.block_len()
    }

    fn panel<'a>(&'a self, p: usize, k0: usize, kc: usize, scratch: &'a mut [f32]) -> &'a [f32] {
        let w = self.0;
        let bl = w.dtype.block_len();
        let out = &mut scratch[..kc * NR];
        let cols = NR.min(w.n - p * NR);
        if cols < NR {
            out.fill(0.0);
        }
        let (mut v, mut s, mut m) = ([0u8; 256], [0f32; 256 / GROUP], [0f32; 256 / GROUP]);
        for c in 0..cols {
            let row = w.row(p * NR + c);
            for b in k0 / bl..(k0 + kc) / bl {
                w.decode_block(row, b, &mut v, &mut s, &mut m);
                for (i, &q) in v[..bl].iter().enumerate() {
                    out[(b * bl + i - k0) * NR + c] = s[i / GROUP] * q as f32 + m[i / GROUP];
                }
            }
        }
        out
    }
}
