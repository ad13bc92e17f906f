//! AVX-512 VNNI GEMM for quantized weights (more than a few activation rows).
//!
//! Activations are quantized once, then regrouped into register tiles of a few rows
//! ([`TiledActs`]). The output is cut into tasks of a few 32-column panels × a block of rows.
//! For each k chunk of [`KC`] a task decodes its panels into int8 `[kc/4][32][4]` (four
//! consecutive k of one column side by side, the `vpdpbusd` operand layout) plus per-group f32
//! scales and offsets, then, panel by panel, sweeps its row tiles: per group, `vpdpbusd`
//! accumulates in i32 against broadcast 4-byte activation pieces, then
//! `acc += f32(i32) · (s · d_x)` plus the offset term ([`GroupForm`]).
//!
//! On Zen 5 the float work after each group competes with `vpdpbusd` for the same two vector
//! pipes, so the forms keep it small: offsets that are a power-of-two multiple of the scale
//! enter the integer sums, and 16-element groups share one activation-scale multiply per block.
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

/// How a format's per-group scale `s` and offset `m` reach the sums.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GroupForm {
    /// One scale and an independent offset per 32 elements (Q4_1, Q5_1, Q4_K, Q5_K).
    Free32,
    /// One scale and an independent offset per 16 elements (Q2_K).
    Free16,
    /// One scale per 32 elements and offset `m = −2^shift · s` (Q4_0, Q5_0, Q8_0, the 4-bit
    /// code books IQ4_NL, IQ4_XS and MXFP4):
    /// the offset enters the integer sums as `−2^shift · Σ q`, so no float work per offset.
    Fixed32(u32),
    /// One scale per 16 elements and offset `m = −2^shift · s` (Q3_K, Q6_K, NVFP4, the
    /// ternary TQ1_0/TQ2_0 and the lattice formats IQ1_*, IQ2_* and IQ3_*): the offset enters
    /// the integer sums and the two 16-groups of a 32-block meet in one float partial, scaled
    /// by the activation scale once per block.
    Fixed16(u32),
}

impl GroupForm {
    fn of(dtype: DType) -> Self {
        match dtype {
            DType::Q4_0 => GroupForm::Fixed32(3),
            DType::Q5_0 => GroupForm::Fixed32(4),
            DType::Q8_0 | DType::IQ4_NL | DType::IQ4_XS | DType::MXFP4 => GroupForm::Fixed32(7),
            DType::Q3_K => GroupForm::Fixed16(2),
            DType::Q6_K => GroupForm::Fixed16(5),
            DType::NVFP4 | DType::TQ2_0 | DType::TQ1_0 => GroupForm::Fixed16(7),
            dtype if crate::quant::iq_lattice::is_lattice(dtype) => GroupForm::Fixed16(7),
            DType::Q2_K => GroupForm::Free16,
            _ => GroupForm::Free32,
        }
    }

    /// Whether the scales (and offsets) in the decoded panel are per 32 elements.
    fn wide(self) -> bool {
        matches!(self, GroupForm::Free32 | GroupForm::Fixed32(_))
    }

    /// Rows per register tile: the fixed 16-groups hold a float partial per row besides the
    /// integer sums and the accumulators, so they take fewer rows to stay within 32 registers.
    fn tile_rows(self) -> usize {
        if matches!(self, GroupForm::Fixed16(_)) { 4 } else { MR }
    }
}

/// `y[m, n] = x[m, k] · wᵀ` (lengths checked by the caller; AVX-512 VNNI present).
pub(super) fn gemm(x: &[f32], m: usize, w: &QuantRows, y: &mut [f32]) {
    let (n, k) = (w.n, w.k);
    let acts = quantize_acts(SimdLevel::Avx512Vnni, x, m, k, k.div_ceil(128) * 128, ActOrder::Natural);
    let form = GroupForm::of(w.dtype);
    let (wide, mr) = (form.wide(), form.tile_rows());
    let tiled = TiledActs::new(&acts, m, form);
    drop(acts);
    let col_panels = n.div_ceil(NR);
    let row_blocks = m.div_ceil(MC);
    // Whole register tiles per row block, so that tiles start at multiples of `mr`.
    let rows_per_block = m.div_ceil(row_blocks).next_multiple_of(mr);
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
            // Panel-outer: one decoded panel (16 KiB) stays in L1 while the row tiles stream.
            for (p, panel) in panels.clone().zip(&decoded) {
                let cols = NR.min(n - p * NR);
                for r0 in rows.clone().step_by(mr) {
                    let tile_rows = mr.min(rows.end - r0);
                    let tile = Tile {
                        acts: tiled.tile(r0 / mr, k0),
                        r0,
                        kc,
                        y,
                        ldy: n,
                        col0: p * NR,
                        cols,
                        accumulate: k0 > 0,
                    };
                    // SAFETY: the CPU has AVX-512 VNNI; the tile's rows and columns lie in y and
                    // belong to this task only (tasks partition rows by `rb`, panels by `cg`).
                    unsafe { run_tile(tile_rows, form, panel, &tile) };
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

/// The activations regrouped into register tiles of `mr` rows (the last may be shorter), each
/// tile interleaved `[position][row]` so that a tile reads each kind through one pointer (six
/// rows' separate pointers per kind overflow the general registers). Built once per GEMM.
struct TiledActs {
    mr: usize,
    /// Elements per `dsum` / `start` entry (the panel's scale group).
    g: usize,
    m: usize,
    kp: usize,
    /// Per tile `[kp/4][rows][4]` quants.
    q: Vec<i8>,
    /// Per tile `[kp/32][rows]` activation scales.
    d: Vec<f32>,
    /// Per tile `[kp/G][rows]`, `G` the panel's scale group: `d · Σ q` for a free offset.
    dsum: Vec<f32>,
    /// Per tile `[kp/G][rows]`: `−2^shift · Σ q` for a fixed offset.
    start: Vec<i32>,
}

/// One tile's rows from the start of a k chunk.
#[derive(Clone, Copy)]
struct TileRows {
    rows: usize,
    q: *const i8,
    d: *const f32,
    dsum: *const f32,
    start: *const i32,
}

impl TiledActs {
    fn new(acts: &QuantizedActs, m: usize, form: GroupForm) -> Self {
        let (mr, kp) = (form.tile_rows(), acts.kp);
        let g = if form.wide() { 32 } else { 16 };
        let mut tiled = TiledActs {
            mr,
            g,
            m,
            kp,
            q: vec![0; m * kp],
            d: vec![0.0; m * kp / 32],
            dsum: vec![0.0; m * kp / g],
            start: vec![0; m * kp / g],
        };
        let chunks = tiled
            .q
            .chunks_mut(mr * kp)
            .zip(tiled.d.chunks_mut(mr * kp / 32))
            .zip(tiled.dsum.chunks_mut(mr * kp / g))
            .zip(tiled.start.chunks_mut(mr * kp / g))
            .enumerate();
        chunks.par_bridge().for_each(|(t, (((q, d), dsum), start))| {
            let rows = t * mr..m.min((t + 1) * mr);
            let n = rows.len();
            for (i, r) in rows.enumerate() {
                for (quad, piece) in acts.row_q(r).chunks_exact(4).enumerate() {
                    q[4 * (quad * n + i)..4 * (quad * n + i) + 4].copy_from_slice(piece);
                }
                for (b, &scale) in acts.row_d(r).iter().enumerate() {
                    d[b * n + i] = scale;
                }
                let (qsum, sums) = (acts.row_qsum(r), if g == 32 { acts.row_dsum32(r) } else { acts.row_dsum(r) });
                for j in 0..kp / g {
                    dsum[j * n + i] = sums[j];
                    start[j * n + i] = match form {
                        GroupForm::Fixed32(shift) => -((qsum[2 * j] + qsum[2 * j + 1]) << shift),
                        GroupForm::Fixed16(shift) => -(qsum[j] << shift),
                        GroupForm::Free32 | GroupForm::Free16 => 0,
                    };
                }
            }
        });
        tiled
    }

    /// Tile `t` from element `k0` (a multiple of 32) on.
    fn tile(&self, t: usize, k0: usize) -> TileRows {
        let rows = self.mr.min(self.m - t * self.mr);
        let (g, first) = (self.g, t * self.mr);
        TileRows {
            rows,
            q: self.q[first * self.kp + k0 * rows..].as_ptr(),
            d: self.d[first * self.kp / 32 + k0 / 32 * rows..].as_ptr(),
            dsum: self.dsum[first * self.kp / g + k0 / g * rows..].as_ptr(),
            start: self.start[first * self.kp / g + k0 / g * rows..].as_ptr(),
        }
    }
}

/// Where one register tile reads and writes.
struct Tile {
    acts: TileRows,
    /// First activation row.
    r0: usize,
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

/// Runs the tile kernel specialised for `rows` (1..=MR) and the group form.
///
/// # Safety
/// AVX-512 VNNI must be present; the tile must lie inside y and not be written concurrently.
unsafe fn run_tile(rows: usize, form: GroupForm, panel: &DecodedPanel, t: &Tile) {
    macro_rules! shifts {
        ($r:literal, $g:literal, $shift:expr, $($s:literal),*) => {
            match $shift {
                // SAFETY: forwarded from the caller.
                $( $s => unsafe { tile::<$r, $g, $s>(panel, t) }, )*
                other => unreachable!("no tile for offset shift {other}"),
            }
        };
    }
    macro_rules! dispatch {
        ($($r:literal),*) => {
            match (rows, form) {
                // SAFETY: forwarded from the caller.
                $( ($r, GroupForm::Free32) => unsafe { tile::<$r, 32, 0>(panel, t) },
                   ($r, GroupForm::Free16) => unsafe { tile::<$r, 16, 0>(panel, t) },
                   ($r, GroupForm::Fixed32(shift)) => shifts!($r, 32, shift, 3, 4, 7),
                   ($r, GroupForm::Fixed16(shift)) if $r <= 4 => shifts!($r, 16, shift, 2, 5, 7), )*
                _ => unreachable!("tile rows 1..={MR} (1..=4 for fixed 16-groups)"),
            }
        };
    }
    dispatch!(1, 2, 3, 4, 5, 6)
}

/// `R × 32` output tile over one k chunk with groups of `G` elements; `SHIFT > 0` means the
/// offset is `−2^SHIFT · s` and enters the integer sums ([`GroupForm`]).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn tile<const R: usize, const G: usize, const SHIFT: u32>(panel: &DecodedPanel, t: &Tile) {
    debug_assert_eq!(t.acts.rows, R);
    let TileRows { q, d, dsum, start, .. } = t.acts;
    let (v, s, m) = (panel.v.as_ptr(), panel.s.as_ptr(), panel.m.as_ptr());
    let mut acc = [[_mm512_setzero_ps(); 2]; R];
    // SAFETY: the chunk's kc/4 · R activation quads, kc · 32 decoded bytes, kc/G scales,
    // offsets and sums per row; every index below stays inside them.
    unsafe {
        // The integer sums of scale group `g` (G elements).
        let group_dots = |g: usize| {
            let mut dots: [[__m512i; 2]; R] = std::array::from_fn(|r| {
                if SHIFT > 0 { [_mm512_set1_epi32(*start.add(g * R + r)); 2] } else { [_mm512_setzero_si512(); 2] }
            });
            for step in 0..G / 4 {
                let quad = g * G / 4 + step;
                let w0 = _mm512_loadu_si512(v.add(quad * 4 * NR).cast());
                let w1 = _mm512_loadu_si512(v.add(quad * 4 * NR + 64).cast());
                for (r, dot) in dots.iter_mut().enumerate() {
                    let xb = _mm512_set1_epi32(q.add(4 * (quad * R + r)).cast::<i32>().read_unaligned());
                    dot[0] = _mm512_dpbusd_epi32(dot[0], w0, xb);
                    dot[1] = _mm512_dpbusd_epi32(dot[1], w1, xb);
                }
            }
            dots
        };
        let columns =
            |base: *const f32, g: usize| [_mm512_loadu_ps(base.add(g * NR)), _mm512_loadu_ps(base.add(g * NR + 16))];
        if SHIFT > 0 && G == 16 {
            for b in 0..t.kc / 32 {
                let (s0, s1) = (columns(s, 2 * b), columns(s, 2 * b + 1));
                let first = group_dots(2 * b);
                let mut part: [[__m512; 2]; R] =
                    std::array::from_fn(|r| [0, 1].map(|h| _mm512_mul_ps(_mm512_cvtepi32_ps(first[r][h]), s0[h])));
                let second = group_dots(2 * b + 1);
                for r in 0..R {
                    let dx = _mm512_set1_ps(*d.add(b * R + r));
                    for h in 0..2 {
                        part[r][h] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(second[r][h]), s1[h], part[r][h]);
                        acc[r][h] = _mm512_fmadd_ps(part[r][h], dx, acc[r][h]);
                    }
                }
            }
        } else {
            for g in 0..t.kc / G {
                let dots = group_dots(g);
                let sg = columns(s, g);
                for r in 0..R {
                    let dx = _mm512_set1_ps(*d.add(g * G / 32 * R + r));
                    for h in 0..2 {
                        acc[r][h] =
                            _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots[r][h]), _mm512_mul_ps(sg[h], dx), acc[r][h]);
                    }
                }
                if SHIFT == 0 {
                    let mg = columns(m, g);
                    for (r, row) in acc.iter_mut().enumerate() {
                        let ds = _mm512_set1_ps(*dsum.add(g * R + r));
                        for h in 0..2 {
                            row[h] = _mm512_fmadd_ps(mg[h], ds, row[h]);
                        }
                    }
                }
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
