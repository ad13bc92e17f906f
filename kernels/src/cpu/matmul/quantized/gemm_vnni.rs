//! AVX-512 VNNI GEMM for quantized weights (more than a few activation rows).
//!
//! Activations are quantized once (natural order). The output is cut into tasks of a few
//! 32-column panels × a block of rows. For each k chunk of [`KC`] a task decodes its panels
//! into int8 `[kc/4][32][4]` (four consecutive k of one column side by side, the `vpdpbusd`
//! operand layout) plus per-group f32 scales and offsets, then sweeps its rows in tiles of
//! [`MR`] × 32: per group, `vpdpbusd` accumulates in i32 against broadcast 4-byte activation
//! pieces, then `acc += f32(i32) · (s · d_x) + m · (d_x Σ q)`.
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use rayon::prelude::*;

use super::QuantRows;
use super::act::{QuantizedActs, quantize_acts};
use super::blocks::GROUP;
use super::decode_avx512::{decode_panel_values, decode_scales_run, prefetch_blocks, transpose16};
use super::layout::ActOrder;
use crate::DType;
use crate::cpu::matmul::features::SimdLevel;
use crate::cpu::matmul::out_ptr::OutPtr;

/// k elements decoded per panel at a time (a multiple of 256; ~20 KiB decoded per panel).
const KC: usize = 512;
/// Rows per register tile.
const MR: usize = 6;
/// Output columns per panel.
const NR: usize = 32;
/// Most rows per task.
const MC: usize = 1536;

/// One panel's decoded k chunk.
struct DecodedPanel {
    /// `[KC/4][NR][4]` unsigned quants.
    v: Vec<u8>,
    /// `[KC/G][NR]` scales.
    s: Vec<f32>,
    /// `[KC/G][NR]` offsets.
    m: Vec<f32>,
}

impl DecodedPanel {
    fn new() -> Self {
        DecodedPanel { v: vec![0; KC * NR], s: vec![0.0; KC / 16 * NR], m: vec![0.0; KC / 16 * NR] }
    }
}

/// Whether a format's scale and offset are shared by both 16-halves of each 32-block.
fn groups_of_32(dtype: DType) -> bool {
    !matches!(dtype, DType::Q2_K | DType::Q3_K | DType::Q6_K)
}

/// `y[m, n] = x[m, k] · wᵀ` (lengths checked by the caller; AVX-512 VNNI present).
pub(super) fn gemm(x: &[f32], m: usize, w: &QuantRows, y: &mut [f32]) {
    let (n, k) = (w.n, w.k);
    let acts = quantize_acts(SimdLevel::Avx512Vnni, x, m, k, k.div_ceil(128) * 128, ActOrder::Natural);
    let wide = groups_of_32(w.dtype);
    let col_panels = n.div_ceil(NR);
    let row_blocks = m.div_ceil(MC);
    let rows_per_block = m.div_ceil(row_blocks);
    let threads = rayon::current_num_threads();
    let panels_per_task = (col_panels * row_blocks / (4 * threads)).clamp(1, 4);
    let col_groups = col_panels.div_ceil(panels_per_task);
    let out = OutPtr(y.as_mut_ptr());
    (0..row_blocks * col_groups).into_par_iter().for_each(|task| {
        let (rb, cg) = (task / col_groups, task % col_groups);
        let rows = rb * rows_per_block..m.min((rb + 1) * rows_per_block);
        let panels = cg * panels_per_task..col_panels.min((cg + 1) * panels_per_task);
        let mut decoded: Vec<DecodedPanel> = panels.clone().map(|_| DecodedPanel::new()).collect();
        let y = out.get();
        for k0 in (0..k).step_by(KC) {
            let kc = KC.min(k - k0);
            for (p, panel) in panels.clone().zip(decoded.iter_mut()) {
                // SAFETY: reachable only through `SimdLevel::Avx512Vnni`, which checked the CPU.
                unsafe { decode_panel(w, p, k0, kc, wide, panel) };
            }
            for r0 in rows.clone().step_by(MR) {
                let tile_rows = MR.min(rows.end - r0);
                for (p, panel) in panels.clone().zip(&decoded) {
                    let cols = NR.min(n - p * NR);
                    let tile = Tile { acts: &acts, r0, k0, kc, y, ldy: n, col0: p * NR, cols, accumulate: k0 > 0 };
                    // SAFETY: the CPU has AVX-512 VNNI; the tile's rows and columns lie in y and
                    // belong to this task only (tasks partition rows by `rb`, panels by `cg`).
                    unsafe { run_tile(tile_rows, wide, panel, &tile) };
                }
            }
        }
    });
}

/// Decodes rows `32p..32p + 32` (zero past `n`), elements `k0..k0 + kc`, into `panel`, and
/// prefetches each row's next chunk.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
fn decode_panel(w: &QuantRows, p: usize, k0: usize, kc: usize, wide: bool, panel: &mut DecodedPanel) {
    let bl = w.dtype.block_len();
    let g = if wide { 32 } else { GROUP };
    // SAFETY: AVX-512 is enabled here; k0 is a multiple of KC (so of 128) and the panel holds
    // KC · NR bytes, KC a multiple of 128.
    unsafe { decode_panel_values(w, p, k0, kc, &mut panel.v) };
    let groups = kc / g;
    // Per 16 columns: each column's scales and offsets contiguous, then transposed 16 × 16.
    let mut s = [[0f32; KC / GROUP]; 16];
    let mut m = [[0f32; KC / GROUP]; 16];
    for half in 0..2 {
        for c in 0..16 {
            let j = p * NR + 16 * half + c;
            if j < w.n {
                let row = w.row(j);
                prefetch_blocks(w, row, (k0 + kc) / bl, (k0 + 2 * kc) / bl);
                decode_scales_run(w, row, k0 / bl, (k0 + kc) / bl, g, &mut s[c], &mut m[c]);
            } else {
                s[c].fill(0.0);
                m[c].fill(0.0);
            }
        }
        for (columns, out) in [(&s, &mut panel.s), (&m, &mut panel.m)] {
            for first in (0..groups).step_by(16) {
                // SAFETY: 16 values from `first` in each column array (KC/16 long, first +
                // 16 <= KC/16); the stores stay inside the [KC/16][NR] panel arrays.
                unsafe {
                    let rows = std::array::from_fn(|c| _mm512_loadu_si512(columns[c][first..].as_ptr().cast()));
                    for (q, group) in transpose16(rows).iter().enumerate().take(groups - first) {
                        let at = (first + q) * NR + 16 * half;
                        _mm512_storeu_si512(out[at..at + 16].as_mut_ptr().cast(), *group);
                    }
                }
            }
        }
    }
}

/// Where one register tile reads and writes.
struct Tile<'a> {
    acts: &'a QuantizedActs,
    /// First activation row.
    r0: usize,
    /// First k of the chunk.
    k0: usize,
    /// Chunk length.
    kc: usize,
    y: *mut f32,
    ldy: usize,
    /// First output column.
    col0: usize,
    /// Valid columns (<= 32).
    cols: usize,
    /// Add to y instead of overwriting.
    accumulate: bool,
}

/// Runs the tile kernel specialised for `rows` (1..=MR) and the group size.
///
/// # Safety
/// AVX-512 VNNI must be present; the tile must lie inside y and not be written concurrently.
unsafe fn run_tile(rows: usize, wide: bool, panel: &DecodedPanel, t: &Tile<'_>) {
    macro_rules! dispatch {
        ($($r:literal),*) => {
            match (rows, wide) {
                // SAFETY: forwarded from the caller.
                $( ($r, true) => unsafe { tile::<$r, 32>(panel, t) },
                   ($r, false) => unsafe { tile::<$r, 16>(panel, t) }, )*
                _ => unreachable!("tile rows 1..={MR}"),
            }
        };
    }
    dispatch!(1, 2, 3, 4, 5, 6)
}

/// `R × 32` output tile over one k chunk with groups of `G` elements.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn tile<const R: usize, const G: usize>(panel: &DecodedPanel, t: &Tile<'_>) {
    let acts = t.acts;
    let q: [*const i8; R] = std::array::from_fn(|r| acts.row_q(t.r0 + r)[t.k0..].as_ptr());
    let d: [*const f32; R] = std::array::from_fn(|r| acts.row_d(t.r0 + r)[t.k0 / 32..].as_ptr());
    let dsum: [*const f32; R] = std::array::from_fn(|r| {
        if G == 32 {
            acts.row_dsum32(t.r0 + r)[t.k0 / 32..].as_ptr()
        } else {
            acts.row_dsum(t.r0 + r)[t.k0 / 16..].as_ptr()
        }
    });
    let (v, s, m) = (panel.v.as_ptr(), panel.s.as_ptr(), panel.m.as_ptr());
    let mut acc = [[_mm512_setzero_ps(); 2]; R];
    // SAFETY: the chunk's kc activations per row and kc·32 decoded bytes, kc/G scales.
    unsafe {
        for g in 0..t.kc / G {
            let mut dots = [[_mm512_setzero_si512(); 2]; R];
            for step in 0..G / 4 {
                let e = g * G + 4 * step;
                let w0 = _mm512_loadu_si512(v.add(e * NR).cast());
                let w1 = _mm512_loadu_si512(v.add(e * NR + 64).cast());
                for r in 0..R {
                    let xb = _mm512_set1_epi32(q[r].add(e).cast::<i32>().read_unaligned());
                    dots[r][0] = _mm512_dpbusd_epi32(dots[r][0], w0, xb);
                    dots[r][1] = _mm512_dpbusd_epi32(dots[r][1], w1, xb);
                }
            }
            let (s0, s1) = (_mm512_loadu_ps(s.add(g * NR)), _mm512_loadu_ps(s.add(g * NR + 16)));
            let (m0, m1) = (_mm512_loadu_ps(m.add(g * NR)), _mm512_loadu_ps(m.add(g * NR + 16)));
            for r in 0..R {
                let dx = _mm512_set1_ps(*d[r].add(g * G / 32));
                let ds = _mm512_set1_ps(*dsum[r].add(g));
                acc[r][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots[r][0]), _mm512_mul_ps(s0, dx), acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots[r][1]), _mm512_mul_ps(s1, dx), acc[r][1]);
                acc[r][0] = _mm512_fmadd_ps(m0, ds, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(m1, ds, acc[r][1]);
            }
        }
    }
    let cols = t.cols;
    let mask0: __mmask16 = if cols >= 16 { 0xFFFF } else { (1u16 << cols) - 1 };
    let mask1: __mmask16 = if cols >= 32 {
        0xFFFF
    } else if cols > 16 {
        (1u16 << (cols - 16)) - 1
    } else {
        0
    };
    for (r, row) in acc.iter().enumerate() {
        // SAFETY: row t.r0 + r and the masked columns lie inside y (caller's contract).
        unsafe {
            let dst = t.y.add((t.r0 + r) * t.ldy + t.col0);
            let (mut v0, mut v1) = (row[0], row[1]);
            if t.accumulate {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, dst));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, dst.add(16)));
            }
            _mm512_mask_storeu_ps(dst, mask0, v0);
            _mm512_mask_storeu_ps(dst.add(16), mask1, v1);
        }
    }
}
