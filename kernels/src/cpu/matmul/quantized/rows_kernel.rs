//! The safe multi-row wrapper shared by the AVX-512 and AVX2 GEMV kernels that compute several
//! weight rows per call (sharing each activation load and giving the memory system several
//! streams to fetch).
#![cfg(target_arch = "x86_64")]

/// Weight rows a multi-row kernel call works on at once, on AVX-512 and AVX2 alike.
pub(super) const ROWS: usize = 4;

/// Declares a safe `RowsKernel` wrapper around a `target_feature` function computing `R` rows
/// at once (`fn(w, [*const u8; R], acts, r) -> [f32; R]`, then either one const parameter of
/// a given type or any number of `bool` ones), called with `R = ROWS` and then `R = 1` for
/// the remainder.
macro_rules! multi_rows_kernel {
    ($name:ident, $inner:ident, const $param:ident: $ty:ty) => {
        multi_rows_kernel!(@rows $name, $inner, [$param: $ty]);
    };
    ($name:ident, $inner:ident $(, $param:ident)*) => {
        multi_rows_kernel!(@rows $name, $inner, [$($param: bool),*]);
    };
    (@rows $name:ident, $inner:ident, [$($param:ident: $ty:ty),*]) => {
        pub(super) fn $name<$(const $param: $ty),*>(
            w: &QuantRows,
            j0: usize,
            acts: &QuantizedActs,
            r: usize,
            out: &mut [f32],
        ) {
            use super::rows_kernel::ROWS;
            let mut chunks = out.chunks_exact_mut(ROWS);
            let mut j = j0;
            for chunk in &mut chunks {
                let rows: [*const u8; ROWS] = std::array::from_fn(|i| w.row(j + i).as_ptr());
                // SAFETY: reachable only through the `SimdLevel` whose features `$inner`
                // enables (the level's `kernel` dispatch, after the CPU check); each pointer
                // starts a packed row of `w`, and the activations are in its layout's order.
                chunk.copy_from_slice(&unsafe { $inner::<ROWS, $($param),*>(w, rows, acts, r) });
                j += ROWS;
            }
            for y in chunks.into_remainder() {
                // SAFETY: as above.
                *y = unsafe { $inner::<1, $($param),*>(w, [w.row(j).as_ptr()], acts, r) }[0];
                j += 1;
            }
        }
    };
}
pub(super) use multi_rows_kernel;
