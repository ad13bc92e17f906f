//! Register-blocked microkernels of attention: scores `S = Q·Kᵀ` and the update `O += P·V`, reading
//! K and V rows straight from an f32 or f16 cache.

use super::simd::Vf32;
use half::f16;

/// Rows of a K or V cache (or of a packed tile), `stride` elements apart.
#[derive(Copy, Clone)]
pub(crate) struct Rows<'a, T> {
    data: &'a [T],
    stride: usize,
}

impl<'a, T> Rows<'a, T> {
    /// Rows of `data`, `stride` elements apart.
    pub(crate) fn new(data: &'a [T], stride: usize) -> Self {
        Rows { data, stride }
    }
}

/// Element access to a [`Rows`], widening to f32.
pub(crate) trait KvRows: Copy + Send + Sync {
    /// Whether the rows hold f16 that every load widens (worth a packed f32 copy when many
    /// query rows read the same tile).
    const WIDENS: bool;
    /// Loads `V::LANES` values of row `row` from column `col`.
    ///
    /// # Safety
    /// `row * stride + col + V::LANES` must not exceed the data length.
    unsafe fn load<V: Vf32>(self, row: usize, col: usize) -> V;
    /// One value, bounds-checked.
    fn get(self, row: usize, col: usize) -> f32;
    /// Hints the CPU to bring row `row` into the cache (no effect past the end).
    fn prefetch(self, row: usize);
}

/// Prefetches the cache lines of `bytes` bytes from `p` (a hint: never faults).
#[inline(always)]
fn prefetch_bytes<T>(p: *const T, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    for line in (0..bytes).step_by(64) {
        // SAFETY: prefetching is a hint that never faults, whatever the address.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>((p as *const i8).wrapping_add(line))
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, bytes);
}

impl KvRows for Rows<'_, f32> {
    const WIDENS: bool = false;
    #[inline(always)]
    unsafe fn load<V: Vf32>(self, row: usize, col: usize) -> V {
        debug_assert!(row * self.stride + col + V::LANES <= self.data.len());
        // SAFETY: the caller keeps the access in bounds.
        unsafe { V::load(self.data.as_ptr().add(row * self.stride + col)) }
    }
    #[inline(always)]
    fn get(self, row: usize, col: usize) -> f32 {
        self.data[row * self.stride + col]
    }
    #[inline(always)]
    fn prefetch(self, row: usize) {
        if row * self.stride < self.data.len() {
            let p = self.data.as_ptr().wrapping_add(row * self.stride);
            prefetch_bytes(p, self.stride * size_of::<f32>());
        }
    }
}

impl KvRows for Rows<'_, f16> {
    const WIDENS: bool = true;
    #[inline(always)]
    unsafe fn load<V: Vf32>(self, row: usize, col: usize) -> V {
        debug_assert!(row * self.stride + col + V::LANES <= self.data.len());
        // SAFETY: the caller keeps the access in bounds.
        unsafe { V::load_f16(self.data.as_ptr().add(row * self.stride + col)) }
    }
    #[inline(always)]
    fn get(self, row: usize, col: usize) -> f32 {
        self.data[row * self.stride + col].to_f32()
    }
    #[inline(always)]
    fn prefetch(self, row: usize) {
        if row * self.stride < self.data.len() {
            let p = self.data.as_ptr().wrapping_add(row * self.stride);
            prefetch_bytes(p, self.stride * size_of::<f16>());
        }
    }
}

/// Scores of `R` query rows against `J` keys (`R · J` ≤ 16): `out[r·J + j] = q_r · k_{keys[j]}`
/// over `chunks` vectors of columns. `q` holds the rows `q_stride` apart.
///
/// # Safety
/// `q` must hold `R` rows of `chunks · LANES` columns; every key row must hold as many.
#[inline(always)]
pub(crate) unsafe fn scores_block<V: Vf32, K: KvRows, const R: usize, const J: usize>(
    q: *const f32,
    q_stride: usize,
    k: K,
    keys: [usize; J],
    chunks: usize,
    out: &mut [f32; 16],
) {
    let mut acc = [V::splat(0.0); 16];
    for c in 0..chunks {
        let col = c * V::LANES;
        // (Plain loops, not closures: a closure would not inherit the target features.)
        if J <= R {
            // Few keys: hold the J key vectors and one query vector (R·J + J + 1 registers).
            let mut kv = [V::splat(0.0); J];
            for (x, &key) in kv.iter_mut().zip(&keys) {
                // SAFETY: the caller guarantees the key rows.
                *x = unsafe { k.load::<V>(key, col) };
            }
            for r in 0..R {
                // SAFETY: the caller guarantees R rows of `chunks` vectors.
                let qv = unsafe { V::load(q.add(r * q_stride + col)) };
                for (j, x) in kv.iter().enumerate() {
                    acc[r * J + j] = qv.mul_add(*x, acc[r * J + j]);
                }
            }
        } else {
            // Many keys: hold the R query vectors and one key vector (R·J + R + 1 registers).
            let mut qv = [V::splat(0.0); R];
            for (r, x) in qv.iter_mut().enumerate() {
                // SAFETY: the caller guarantees R rows of `chunks` vectors.
                *x = unsafe { V::load(q.add(r * q_stride + col)) };
            }
            for (j, &key) in keys.iter().enumerate() {
                // SAFETY: the caller guarantees the key rows.
                let kv = unsafe { k.load::<V>(key, col) };
                for (r, q) in qv.iter().enumerate() {
                    acc[r * J + j] = q.mul_add(kv, acc[r * J + j]);
                }
            }
        }
    }
    if R * J == 16 {
        V::reduce_sum16(&acc, out);
    } else if R * J == 8 {
        let (lo, _) = out.split_at_mut(8);
        V::reduce_sum8(acc[..8].try_into().unwrap(), lo.try_into().unwrap());
    } else if R * J == 12 {
        let mut hi = [0.0f32; 8];
        let upper = [acc[8], acc[9], acc[10], acc[11], acc[8], acc[9], acc[10], acc[11]];
        V::reduce_sum8(acc[..8].try_into().unwrap(), (&mut out[..8]).try_into().unwrap());
        V::reduce_sum8(&upper, &mut hi);
        out[8..12].copy_from_slice(&hi[..4]);
    } else {
        for (o, a) in out.iter_mut().zip(&acc[..R * J]) {
            *o = a.reduce_sum();
        }
    }
}

/// `o_r = alpha_r · o_r + Σ_j p_r[j] · v_{key0 + j}` for `R` rows over `C` column vectors from
/// `col0`, `j < n`. `p` holds the probability of row `r`, key `j` at `r · p_row + j · p_key`,
/// `o` the outputs `o_stride` apart.
///
/// # Safety
/// `p` must hold `R` rows of `n` values at those strides, `o` `R` rows of `col0 + C · LANES` columns, and `v` rows
/// `key0..key0 + n` as many columns.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn update_block<V: Vf32, S: KvRows, const R: usize, const C: usize>(
    p: *const f32,
    p_row: usize,
    p_key: usize,
    alpha: &[f32],
    v: S,
    key0: usize,
    n: usize,
    o: *mut f32,
    o_stride: usize,
    col0: usize,
) {
    let l = V::LANES;
    // SAFETY (all accesses): guaranteed by the caller. (Plain loops, not closures: a closure
    // would not inherit the target features.)
    let mut acc = [[V::splat(0.0); C]; R];
    for (r, acc_r) in acc.iter_mut().enumerate() {
        let a = V::splat(alpha[r]);
        for (c, x) in acc_r.iter_mut().enumerate() {
            *x = unsafe { V::load(o.add(r * o_stride + col0 + c * l)) } * a;
        }
    }
    let mut vv = [V::splat(0.0); C];
    for j in 0..n {
        for (c, x) in vv.iter_mut().enumerate() {
            *x = unsafe { v.load::<V>(key0 + j, col0 + c * l) };
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let pr = V::splat(unsafe { *p.add(r * p_row + j * p_key) });
            for (a, x) in acc_r.iter_mut().zip(&vv) {
                *a = pr.mul_add(*x, *a);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for (c, a) in acc_r.iter().enumerate() {
            unsafe { a.store(o.add(r * o_stride + col0 + c * l)) };
        }
    }
}
