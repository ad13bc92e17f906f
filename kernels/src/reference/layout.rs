//! Reference data-movement kernels: row gather, axis permutation, KV-cache write.

/// The rows of `table [rows, cols]` picked by `ids`, in order: `out[r] = table[ids[r]]`, as f64.
///
/// Preconditions (asserted): `cols > 0`, `table.len()` a multiple of `cols`, every id in
/// `0..rows`.
pub fn get_rows(table: &[f32], cols: usize, ids: &[i32]) -> Vec<f64> {
    assert!(cols > 0, "reference::get_rows: cols must be positive");
    assert!(table.len().is_multiple_of(cols), "reference::get_rows: table.len() must be a multiple of cols = {cols}");
    let rows = table.len() / cols;
    let mut out = Vec::with_capacity(ids.len() * cols);
    for &id in ids {
        let row = usize::try_from(id).ok().filter(|&r| r < rows);
        let row = row.unwrap_or_else(|| panic!("reference::get_rows: id {id} not in 0..{rows}"));
        out.extend(table[row * cols..(row + 1) * cols].iter().map(|&v| f64::from(v)));
    }
    out
}

/// General axis permutation of the row-major tensor `x` of shape `shape`: the result has shape
/// `out_shape[i] = shape[perm[i]]` and `out[idx] = x[src]` where `src[perm[i]] = idx[i]`.
///
/// Preconditions (asserted): `perm` is a permutation of `0..shape.len()`; `x.len()` is the
/// product of `shape`.
pub fn permute(x: &[f32], shape: &[usize], perm: &[usize]) -> Vec<f64> {
    let rank = shape.len();
    let mut seen = vec![false; rank];
    let is_permutation = perm.len() == rank && perm.iter().all(|&p| p < rank && !std::mem::replace(&mut seen[p], true));
    assert!(is_permutation, "reference::permute: {perm:?} is not a permutation of 0..{rank}");
    assert_eq!(x.len(), shape.iter().product::<usize>(), "reference::permute: x does not fill shape");

    let mut in_strides = vec![1usize; rank];
    for axis in (0..rank.saturating_sub(1)).rev() {
        in_strides[axis] = in_strides[axis + 1] * shape[axis + 1];
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    // Moving one step along output axis i moves one step along input axis perm[i].
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();

    let mut out = Vec::with_capacity(x.len());
    let mut index = vec![0usize; rank]; // multi-index of the next output element
    for _ in 0..x.len() {
        let src: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
        out.push(f64::from(x[src]));
        // Advance the multi-index like an odometer, last axis fastest.
        for axis in (0..rank).rev() {
            index[axis] += 1;
            if index[axis] < out_shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

/// KV-cache write: `cache [batch, heads, capacity, head_dim]` with `new [batch, heads, seq,
/// head_dim]` written at rows `pos..pos + seq` of every (batch, head); returns the whole updated
/// cache as f64 (rows outside `pos..pos + seq` unchanged).
///
/// Preconditions (asserted): `pos + seq <= capacity`; `cache` and `new` hold the elements their
/// shapes need.
#[allow(clippy::too_many_arguments)] // the signature the whole project codes against
pub fn kv_write(
    cache: &[f32],
    new: &[f32],
    batch: usize,
    heads: usize,
    capacity: usize,
    head_dim: usize,
    seq: usize,
    pos: usize,
) -> Vec<f64> {
    assert!(pos + seq <= capacity, "reference::kv_write: rows {pos}..{pos}+{seq} exceed capacity {capacity}");
    assert_eq!(cache.len(), batch * heads * capacity * head_dim, "reference::kv_write: cache does not fill its shape");
    assert_eq!(new.len(), batch * heads * seq * head_dim, "reference::kv_write: new does not fill its shape");
    let mut out: Vec<f64> = cache.iter().map(|&v| f64::from(v)).collect();
    for bh in 0..batch * heads {
        for s in 0..seq {
            let dst = (bh * capacity + pos + s) * head_dim;
            let src = (bh * seq + s) * head_dim;
            for c in 0..head_dim {
                out[dst + c] = f64::from(new[src + c]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::testing::{assert_close, random_vec, widen};

    #[test]
    fn get_rows_by_hand() {
        let table = [0.0, 1.0, 10.0, 11.0, 20.0, 21.0]; // [3, 2]
        let y = get_rows(&table, 2, &[2, 0, 2]);
        assert_close(&y, &[20.0, 21.0, 0.0, 1.0, 20.0, 21.0], 0.0);
        assert!(get_rows(&table, 2, &[]).is_empty());
    }

    #[test]
    #[should_panic(expected = "not in 0..3")]
    fn get_rows_negative_id_panics() {
        get_rows(&[0.0; 6], 2, &[-1]);
    }

    #[test]
    fn permute_2x3x4_matches_explicit_indexing() {
        let x = random_vec(80, 24);
        // perm [2, 0, 1]: out [4, 2, 3], out[l][i][j] = x[i][j][l].
        let y = permute(&x, &[2, 3, 4], &[2, 0, 1]);
        let mut want = vec![f64::NAN; 24];
        for i in 0..2 {
            for j in 0..3 {
                for l in 0..4 {
                    want[(l * 2 + i) * 3 + j] = f64::from(x[(i * 3 + j) * 4 + l]);
                }
            }
        }
        assert_close(&y, &want, 0.0);
    }

    #[test]
    fn permute_transpose_by_hand_and_identity() {
        // [2, 3] transposed.
        let y = permute(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], &[1, 0]);
        assert_close(&y, &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0], 0.0);
        let x = random_vec(81, 24);
        assert_close(&permute(&x, &[2, 3, 4], &[0, 1, 2]), &widen(&x), 0.0);
    }

    #[test]
    fn permute_then_inverse_restores() {
        let x = random_vec(82, 2 * 3 * 4 * 5);
        let perm = [3, 1, 0, 2];
        let shape = [2, 3, 4, 5];
        let y = permute(&x, &shape, &perm);
        let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let mut inverse = [0; 4];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        let y32: Vec<f32> = y.iter().map(|&v| v as f32).collect(); // exact: values came from f32
        assert_close(&permute(&y32, &out_shape, &inverse), &widen(&x), 0.0);
    }

    #[test]
    #[should_panic(expected = "not a permutation")]
    fn permute_repeated_axis_panics() {
        permute(&[0.0; 6], &[2, 3], &[0, 0]);
    }

    #[test]
    fn kv_write_by_hand() {
        // batch 1, heads 2, capacity 3, head_dim 1; write 2 rows at pos 1.
        let cache = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0];
        let new = [-1.0, -2.0, -11.0, -12.0];
        let y = kv_write(&cache, &new, 1, 2, 3, 1, 2, 1);
        assert_close(&y, &[0.0, -1.0, -2.0, 10.0, -11.0, -12.0], 0.0);
    }

    #[test]
    fn kv_write_touches_only_the_target_rows() {
        let (batch, heads, capacity, d, seq, pos) = (2, 3, 8, 4, 3, 5);
        let cache = random_vec(83, batch * heads * capacity * d);
        let new = random_vec(84, batch * heads * seq * d);
        let y = kv_write(&cache, &new, batch, heads, capacity, d, seq, pos);
        for bh in 0..batch * heads {
            for row in 0..capacity {
                let got = &y[(bh * capacity + row) * d..][..d];
                let want = if (pos..pos + seq).contains(&row) {
                    &new[(bh * seq + row - pos) * d..][..d]
                } else {
                    &cache[(bh * capacity + row) * d..][..d]
                };
                assert_close(got, &widen(want), 0.0);
            }
        }
    }

    #[test]
    #[should_panic(expected = "exceed capacity")]
    fn kv_write_past_capacity_panics() {
        kv_write(&[0.0; 4], &[0.0; 2], 1, 1, 4, 1, 2, 3);
    }
}
