//! Blocking and threading of the GEMM/GEMV over packed weight panels.
//!
//! GEMM: `x` is packed once into `[k][MR]` row panels; the output is cut into tasks of
//! (up to [`MC`] rows) × (a few 32-column panels), run on the current rayon pool. A task walks
//! k in chunks of [`KC`]; for each chunk and panel it fetches the `[KC][32]` weight slice once
//! (widening, decoding or interleaving into a per-task scratch when needed) and sweeps all its
//! row panels. The driver is generic over a [`TileKernel`]: the f32 FMA kernels, and the bf16
//! dot-product kernels (which pack two k per element).

use rayon::prelude::*;

use super::{F32Kernels, HalfPanel, NR, PanelSource, TileOut};
use crate::cpu::matmul::features::SimdLevel;
use crate::cpu::matmul::out_ptr::OutPtr;

/// k elements per chunk (a multiple of every quant block length, and even).
const KC: usize = 256;
/// Most rows per task.
const MC: usize = 512;

/// A GEMM microkernel family: how activations are packed, how a weight slice is fetched, and
/// the `MR × 32` tile kernel. Packed elements hold [`TileKernel::K_PER_ELEM`] consecutive k.
pub(super) trait TileKernel: Sync {
    /// A packed activation element.
    type Act: Copy + Default + Send + Sync;
    /// A packed weight element.
    type Weight: Copy + Default;
    /// Consecutive k per packed element (1, or 2 for pairs).
    const K_PER_ELEM: usize;
    /// Rows per tile.
    fn mr(&self) -> usize;
    /// Output columns and inner dimension of the weights.
    fn n_k(&self) -> (usize, usize);
    /// Writes activation row `row` (`k` values) as row `r` of a `[k / K_PER_ELEM][mr]` panel.
    fn pack_row(&self, row: &[f32], r: usize, panel: &mut [Self::Act]);
    /// The `[kc / K_PER_ELEM][NR]` weights of panel `p` from `k0`, from the packed data or
    /// from `scratch` after filling it.
    fn weights<'a>(&'a self, p: usize, k0: usize, kc: usize, scratch: &'a mut [Self::Weight]) -> &'a [Self::Weight];
    /// `out (+)= a · b` over `kc` k.
    ///
    /// # Safety
    /// `a` holds `kc / K_PER_ELEM` (rounded up) × mr elements, `b` as many × NR; `out` valid.
    unsafe fn tile(&self, kc: usize, a: *const Self::Act, b: *const Self::Weight, out: &TileOut);
}

/// The f32 FMA kernels of one ISA over any [`PanelSource`].
struct FmaTiles<'a> {
    kernels: F32Kernels,
    src: &'a dyn PanelSource,
}

impl TileKernel for FmaTiles<'_> {
    type Act = f32;
    type Weight = f32;
    const K_PER_ELEM: usize = 1;

    fn mr(&self) -> usize {
        self.kernels.mr
    }

    fn n_k(&self) -> (usize, usize) {
        (self.src.n(), self.src.k())
    }

    fn pack_row(&self, row: &[f32], r: usize, panel: &mut [f32]) {
        let mr = self.kernels.mr;
        for (kk, &v) in row.iter().enumerate() {
            panel[kk * mr + r] = v;
        }
    }

    fn weights<'a>(&'a self, p: usize, k0: usize, kc: usize, scratch: &'a mut [f32]) -> &'a [f32] {
        self.src.panel(p, k0, kc, scratch)
    }

    unsafe fn tile(&self, kc: usize, a: *const f32, b: *const f32, out: &TileOut) {
        // SAFETY: forwarded from the caller.
        unsafe { (self.kernels.gemm)(kc, a, b, out) }
    }
}

/// `y[m, n] = x[m, k] · wᵀ` with `w` from `src` (`x`, `y` length-checked, `m >= 1`).
pub(crate) fn gemm(level: SimdLevel, x: &[f32], m: usize, src: &dyn PanelSource, y: &mut [f32]) {
    debug_assert_eq!(KC % src.k_step(), 0);
    if m == 1 {
        return gemv(level, x, src, y);
    }
    gemm_tiles(&FmaTiles { kernels: F32Kernels::for_level(level), src }, x, m, y);
}

/// The blocked, threaded GEMM over the tiles of `t` (`m >= 1`).
pub(super) fn gemm_tiles<T: TileKernel>(t: &T, x: &[f32], m: usize, y: &mut [f32]) {
    let ((n, k), mr) = (t.n_k(), t.mr());
    let slots = k.div_ceil(T::K_PER_ELEM);
    let row_panels = m.div_ceil(mr);
    let mut xp = vec![T::Act::default(); row_panels * mr * slots];
    if k > 0 {
        xp.par_chunks_mut(mr * slots).enumerate().for_each(|(i, panel)| {
            for r in 0..mr.min(m - i * mr) {
                t.pack_row(&x[(i * mr + r) * k..(i * mr + r + 1) * k], r, panel);
            }
        });
    }
    let col_panels = n.div_ceil(NR);
    let rows_per_task = MC.div_ceil(mr) * mr;
    let row_blocks = m.div_ceil(rows_per_task);
    let threads = rayon::current_num_threads();
    let panels_per_task = (col_panels * row_blocks / (4 * threads)).clamp(1, 8);
    let col_groups = col_panels.div_ceil(panels_per_task);
    let out = OutPtr(y.as_mut_ptr());
    (0..row_blocks * col_groups).into_par_iter().for_each(|task| {
        let (rb, cg) = (task / col_groups, task % col_groups);
        let first_panel = rb * rows_per_task / mr;
        let last_panel = row_panels.min(first_panel + rows_per_task / mr);
        let panels = cg * panels_per_task..col_panels.min((cg + 1) * panels_per_task);
        let mut scratch = vec![T::Weight::default(); KC.div_ceil(T::K_PER_ELEM) * NR];
        let y = out.get();
        for k0 in (0..k).step_by(KC) {
            let kc = KC.min(k - k0);
            for p in panels.clone() {
                let b = t.weights(p, k0, kc, &mut scratch);
                let cols = NR.min(n - p * NR);
                for i in first_panel..last_panel {
                    let rows = mr.min(m - i * mr);
                    // SAFETY: panel i of `xp` holds slots·mr elements, so those of kc from k0
                    // (KC is a multiple of K_PER_ELEM); `b` holds the chunk's; the tile rows
                    // i·mr.., columns p·NR.. lie inside y and belong to this task only (tasks
                    // partition rows by `rb` and panels by `cg`).
                    unsafe {
                        let tile = TileOut { c: y.add(i * mr * n + p * NR), ldc: n, rows, cols, accumulate: k0 > 0 };
                        let a = xp.as_ptr().add((i * slots + k0 / T::K_PER_ELEM) * mr);
                        t.tile(kc, a, b.as_ptr(), &tile);
                    }
                }
            }
        }
        if k == 0 {
            for i in first_panel..last_panel {
                for r in i * mr..m.min((i + 1) * mr) {
                    for j in panels.start * NR..n.min(panels.end * NR) {
                        // SAFETY: inside y, owned by this task as above.
                        unsafe { *y.add(r * n + j) = 0.0 };
                    }
                }
            }
        }
    });
}

/// `y[n] = w · x` for one activation row (`x.len() == k`, `y.len() == n`).
pub(crate) fn gemv(level: SimdLevel, x: &[f32], src: &dyn PanelSource, y: &mut [f32]) {
    let (n, k) = (src.n(), src.k());
    let kernels = F32Kernels::for_level(level);
    let threads = rayon::current_num_threads();
    let panels_per_task = (n.div_ceil(NR) / (8 * threads)).clamp(1, 16);
    y.par_chunks_mut(NR * panels_per_task).enumerate().for_each(|(task, ys)| {
        let mut scratch = vec![0f32; KC * NR];
        for (q, yp) in ys.chunks_mut(NR).enumerate() {
            let p = task * panels_per_task + q;
            let mut acc = [0f32; NR];
            for k0 in (0..k).step_by(KC) {
                let kc = KC.min(k - k0);
                let xk = x[k0..].as_ptr();
                match (src.half_panel(p, k0, kc), kernels.gemv_half) {
                    // SAFETY: x holds k values, so kc from k0; the panel holds kc·NR.
                    (Some(HalfPanel::F16(b)), Some(kernel)) => unsafe { kernel(kc, xk, b.as_ptr(), false, &mut acc) },
                    // SAFETY: as above.
                    (Some(HalfPanel::BF16(b)), Some(kernel)) => unsafe { kernel(kc, xk, b.as_ptr(), true, &mut acc) },
                    _ => {
                        let b = src.panel(p, k0, kc, &mut scratch);
                        // SAFETY: as above.
                        unsafe { (kernels.gemv)(kc, xk, b.as_ptr(), &mut acc) };
                    }
                }
            }
            yp.copy_from_slice(&acc[..yp.len()]);
        }
    });
}
