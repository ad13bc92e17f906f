//! Reference element-wise binary operations with numpy broadcasting.

use crate::{BinaryKind, broadcast_shape, broadcast_strides};

/// `a op b` under numpy broadcasting, in f64; returns the values in the broadcast shape
/// ([`broadcast_shape`]), row-major.
///
/// Preconditions (asserted): the shapes broadcast; `a.len()` and `b.len()` are the products of
/// their shapes (an empty shape is a scalar).
pub fn binary(kind: BinaryKind, a: &[f32], a_shape: &[usize], b: &[f32], b_shape: &[usize]) -> Vec<f64> {
    assert_eq!(a.len(), a_shape.iter().product::<usize>(), "reference::binary: a does not fill a_shape");
    assert_eq!(b.len(), b_shape.iter().product::<usize>(), "reference::binary: b does not fill b_shape");
    let out_shape = broadcast_shape(a_shape, b_shape)
        .unwrap_or_else(|| panic!("reference::binary: shapes {a_shape:?} and {b_shape:?} do not broadcast"));
    let a_strides = broadcast_strides(a_shape, &out_shape);
    let b_strides = broadcast_strides(b_shape, &out_shape);
    let len: usize = out_shape.iter().product();

    let mut out = Vec::with_capacity(len);
    let mut index = vec![0usize; out_shape.len()]; // multi-index of the next output element
    for _ in 0..len {
        let offset = |strides: &[usize]| index.iter().zip(strides).map(|(i, s)| i * s).sum::<usize>();
        let (x, y) = (f64::from(a[offset(&a_strides)]), f64::from(b[offset(&b_strides)]));
        out.push(match kind {
            BinaryKind::Add => x + y,
            BinaryKind::Mul => x * y,
        });
        // Advance the multi-index like an odometer, last axis fastest.
        for axis in (0..index.len()).rev() {
            index[axis] += 1;
            if index[axis] < out_shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::testing::{assert_close, random_vec};

    #[test]
    fn same_shape_by_hand() {
        let a = [1.0, 2.0, 3.0];
        let b = [10.0, 20.0, 30.0];
        assert_close(&binary(BinaryKind::Add, &a, &[3], &b, &[3]), &[11.0, 22.0, 33.0], 0.0);
        assert_close(&binary(BinaryKind::Mul, &a, &[3], &b, &[3]), &[10.0, 40.0, 90.0], 0.0);
    }

    #[test]
    fn row_and_column_broadcast_by_hand() {
        // a [2, 1] = [[1], [2]] + b [3] = [10, 20, 30] -> [2, 3].
        let y = binary(BinaryKind::Add, &[1.0, 2.0], &[2, 1], &[10.0, 20.0, 30.0], &[3]);
        assert_close(&y, &[11.0, 21.0, 31.0, 12.0, 22.0, 32.0], 0.0);
        // Scalar (empty shape) times a matrix, either side.
        let m = [1.0, -2.0, 3.0, -4.0];
        assert_close(&binary(BinaryKind::Mul, &[2.0], &[], &m, &[2, 2]), &[2.0, -4.0, 6.0, -8.0], 0.0);
        assert_close(&binary(BinaryKind::Mul, &m, &[2, 2], &[2.0], &[]), &[2.0, -4.0, 6.0, -8.0], 0.0);
    }

    #[test]
    fn three_dimensional_broadcast_matches_explicit_indexing() {
        // a [2, 1, 4] with b [3, 1] -> [2, 3, 4]; out[i,j,l] = a[i,0,l] * b[j,0].
        let a = random_vec(70, 8);
        let b = random_vec(71, 3);
        let y = binary(BinaryKind::Mul, &a, &[2, 1, 4], &b, &[3, 1]);
        let mut want = vec![f64::NAN; 24];
        for i in 0..2 {
            for j in 0..3 {
                for l in 0..4 {
                    want[(i * 3 + j) * 4 + l] = f64::from(a[i * 4 + l]) * f64::from(b[j]);
                }
            }
        }
        assert_close(&y, &want, 0.0);
    }

    #[test]
    fn broadcast_on_both_sides_adds() {
        // a [1, 3] + b [2, 1] -> [2, 3].
        let y = binary(BinaryKind::Add, &[1.0, 2.0, 3.0], &[1, 3], &[10.0, 20.0], &[2, 1]);
        assert_close(&y, &[11.0, 12.0, 13.0, 21.0, 22.0, 23.0], 0.0);
    }

    #[test]
    #[should_panic(expected = "do not broadcast")]
    fn incompatible_shapes_panic() {
        binary(BinaryKind::Add, &[1.0; 6], &[2, 3], &[1.0; 4], &[4]);
    }
}
