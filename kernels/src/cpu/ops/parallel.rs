//! Splitting work over the calling rayon pool, only when it is large enough to pay for it.

use rayon::prelude::*;

/// Work (roughly, elements touched) below which a kernel stays on the calling thread: a rayon
/// fork costs a few microseconds, about what one core needs to stream this much.
pub(crate) const PAR_MIN_WORK: usize = 1 << 15;

/// Rows per task: about four tasks per thread, none smaller than `PAR_MIN_WORK / 2` work.
fn rows_per_task(rows: usize, work_per_row: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let by_balance = rows.div_ceil(4 * threads);
    let by_size = (PAR_MIN_WORK / 2).div_ceil(work_per_row.max(1));
    by_balance.max(by_size).max(1)
}

/// Calls `f(first_row, rows)` on chunks of whole rows of `out` (rows of `row_len` elements, each
/// element costing about `work_per_element`), in parallel when the total work is at least
/// [`PAR_MIN_WORK`]. Work estimates saturate: shapes with huge empty dimensions reach here.
pub(crate) fn for_row_chunks(
    out: &mut [f32],
    row_len: usize,
    work_per_element: usize,
    f: impl Fn(usize, &mut [f32]) + Sync + Send,
) {
    if row_len == 0 || out.is_empty() {
        return;
    }
    let rows = out.len() / row_len;
    let work_per_row = row_len.saturating_mul(work_per_element);
    if rows.saturating_mul(work_per_row) < PAR_MIN_WORK || rayon::current_num_threads() <= 1 {
        f(0, out);
        return;
    }
    let chunk_rows = rows_per_task(rows, work_per_row);
    out.par_chunks_mut(chunk_rows * row_len).enumerate().for_each(|(i, chunk)| f(i * chunk_rows, chunk));
}

/// Like [`for_row_chunks`] for element-wise kernels: `f(first_index, out_chunk)`, chunks being
/// multiples of 64 elements.
pub(crate) fn for_elem_chunks(out: &mut [f32], f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    let blocks = out.len().div_ceil(64);
    if out.len() < PAR_MIN_WORK || rayon::current_num_threads() <= 1 {
        f(0, out);
        return;
    }
    let chunk = rows_per_task(blocks, 64) * 64;
    out.par_chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i * chunk, c));
}
