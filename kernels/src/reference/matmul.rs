//! Reference matrix multiplication `y = x · wᵀ`.

use rayon::prelude::*;

/// Output rows handed to one rayon task: a block of `x` rows shares each `w` row while it is in
/// cache, which keeps the 512x4096x4096 oracle to seconds rather than minutes.
const ROWS_PER_TASK: usize = 4;

/// `y[m, n] = x[m, k] · w[n, k]ᵀ`, i.e. `y[i][j] = Σ_l x[i][l] · w[j][l]`, accumulated in f64.
///
/// Preconditions (asserted): `x.len() == m * k`, `w.len() == n * k`. Result is `[m, n]` row-major.
pub fn matmul(x: &[f32], w: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
    assert_eq!(x.len(), m * k, "reference::matmul: x must hold m * k = {m} * {k} elements");
    assert_eq!(w.len(), n * k, "reference::matmul: w must hold n * k = {n} * {k} elements");
    let mut y = vec![0.0; m * n];
    if n == 0 || k == 0 {
        return y;
    }
    y.par_chunks_mut(ROWS_PER_TASK * n).enumerate().for_each(|(task, y_rows)| {
        let first_row = task * ROWS_PER_TASK;
        for (j, w_row) in w.chunks_exact(k).enumerate() {
            for (r, y_row) in y_rows.chunks_exact_mut(n).enumerate() {
                let i = first_row + r;
                y_row[j] = dot(&x[i * k..(i + 1) * k], w_row);
            }
        }
    });
    y
}

/// `Σ a[l] · b[l]` in f64.
///
/// Each product of two f32 values is exact in f64 (24 + 24 significant bits fit in 53). The sum
/// runs in 8 interleaved partial sums (lane `l % 8`) so that the additions are not one serial
/// dependency chain; this changes only the f64 rounding order, not the precision.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "reference::dot: operands differ in length");
    const LANES: usize = 8;
    let mut partial = [0.0f64; LANES];
    let a_chunks = a.chunks_exact(LANES);
    let b_chunks = b.chunks_exact(LANES);
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (ca, cb) in a_chunks.zip(b_chunks) {
        for l in 0..LANES {
            partial[l] += f64::from(ca[l]) * f64::from(cb[l]);
        }
    }
    let mut sum: f64 = partial.iter().sum();
    for (&va, &vb) in a_tail.iter().zip(b_tail) {
        sum += f64::from(va) * f64::from(vb);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::testing::{assert_close, random_vec};

    #[test]
    fn two_by_two_by_hand() {
        // x = [[1, 2], [3, 4]], w = [[5, 6], [7, 8]]: y = x · wᵀ = [[17, 23], [39, 53]].
        let y = matmul(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], 2, 2, 2);
        assert_eq!(y, vec![17.0, 23.0, 39.0, 53.0]);
    }

    #[test]
    fn non_square_by_hand() {
        // x [1, 3] = [1, 2, 3]; w [2, 3] = [[1, 0, -1], [2, 2, 2]]: y = [-2, 12].
        let y = matmul(&[1.0, 2.0, 3.0], &[1.0, 0.0, -1.0, 2.0, 2.0, 2.0], 1, 3, 2);
        assert_eq!(y, vec![-2.0, 12.0]);
    }

    #[test]
    fn matches_serial_triple_loop() {
        // Odd sizes so that the row blocks and the dot product's 8-lane tail are both partial.
        let (m, k, n) = (7, 29, 5);
        let x = random_vec(1, m * k);
        let w = random_vec(2, n * k);
        let mut want = vec![f64::NAN; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for l in 0..k {
                    s += f64::from(x[i * k + l]) * f64::from(w[j * k + l]);
                }
                want[i * n + j] = s;
            }
        }
        assert_close(&matmul(&x, &w, m, k, n), &want, 1e-12);
    }

    #[test]
    fn empty_inner_dimension_gives_zeros() {
        assert_eq!(matmul(&[], &[], 2, 0, 3), vec![0.0; 6]);
    }

    #[test]
    #[should_panic(expected = "x must hold")]
    fn wrong_x_length_panics() {
        matmul(&[1.0; 5], &[1.0; 6], 2, 3, 2);
    }

    /// The largest size the oracle is meant for; run with `--ignored` to time it.
    #[test]
    #[ignore]
    fn largest_size_timing() {
        let (m, k, n) = (512, 4096, 4096);
        let x = random_vec(3, m * k);
        let w = random_vec(4, n * k);
        let start = std::time::Instant::now();
        let y = matmul(&x, &w, m, k, n);
        eprintln!("reference matmul {m}x{k}x{n}: {:?}", start.elapsed());
        let spot = dot(&x[100 * k..101 * k], &w[7 * k..8 * k]);
        assert_close(&y[100 * n + 7..100 * n + 8], &[spot], 0.0);
    }
}
