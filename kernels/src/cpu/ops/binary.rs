//! Element-wise add and multiply with numpy broadcasting.

use super::check_len;
use super::parallel::for_row_chunks;
use super::simd::{Vf32, dispatch, map_slice, zip_map_slice};
use crate::{BinaryKind, KernelError, broadcast_shape, broadcast_strides};

/// `out = a ∘ b` (`∘` = [`BinaryKind`]) with numpy broadcasting; `out` has the shape
/// [`broadcast_shape`]`(a_shape, b_shape)`, row-major. Shapes that do not broadcast give
/// `LengthMismatch { what: "b (does not broadcast)", expected: a's dimension, got: b's }` at the
/// first incompatible axis (counted from the right). Exact (one IEEE rounding per element).
pub fn binary(
    kind: BinaryKind,
    a: &[f32],
    a_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
    out: &mut [f32],
) -> Result<(), KernelError> {
    check_len("a", elems("a", a_shape)?, a.len())?;
    check_len("b", elems("b", b_shape)?, b.len())?;
    let Some(shape) = broadcast_shape(a_shape, b_shape) else {
        let (da, db) = a_shape
            .iter()
            .rev()
            .zip(b_shape.iter().rev())
            .find(|&(&x, &y)| x != y && x != 1 && y != 1)
            .map_or((0, 0), |(&x, &y)| (x, y));
        return Err(KernelError::LengthMismatch {
            what: "b (does not broadcast)",
            expected: da,
            got: db,
            unit: "elements",
        });
    };
    check_len("out", elems("out", &shape)?, out.len())?;
    if out.is_empty() {
        return Ok(());
    }
    let layout = Layout::new(&shape, &broadcast_strides(a_shape, &shape), &broadcast_strides(b_shape, &shape));
    let n = layout.inner;
    for_row_chunks(out, n, 1, |row0, out| binary_rows(kind, a, b, &layout, row0, out));
    Ok(())
}

/// The element count of `shape`, or an error if it overflows.
fn elems(what: &'static str, shape: &[usize]) -> Result<usize, KernelError> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).ok_or(KernelError::LengthMismatch {
        what,
        expected: usize::MAX,
        got: usize::MAX,
        unit: "elements (shape overflows)",
    })
}

/// The broadcast iteration with unit dimensions dropped and mergeable dimensions merged: rows of
/// `inner` contiguous outputs, each operand advancing by 1 or 0 along a row.
struct Layout {
    /// `(size, a stride, b stride)` of the outer dimensions, outermost first.
    outer: Vec<(usize, usize, usize)>,
    inner: usize,
    a_step: usize,
    b_step: usize,
}

impl Layout {
    fn new(shape: &[usize], sa: &[usize], sb: &[usize]) -> Layout {
        let mut dims: Vec<(usize, usize, usize)> = Vec::new();
        for i in 0..shape.len() {
            if shape[i] == 1 {
                continue;
            }
            if let Some(last) = dims.last_mut() {
                // Merge into the previous (outer) dimension when it steps like one bigger dim.
                if last.1 == sa[i] * shape[i] && last.2 == sb[i] * shape[i] {
                    *last = (last.0 * shape[i], sa[i], sb[i]);
                    continue;
                }
            }
            dims.push((shape[i], sa[i], sb[i]));
        }
        let (inner, a_step, b_step) = dims.pop().unwrap_or((1, 1, 1));
        Layout { outer: dims, inner, a_step, b_step }
    }

    /// Offsets into `a` and `b` of the first element of output row `row`.
    fn row_offsets(&self, mut row: usize) -> (usize, usize) {
        let (mut oa, mut ob) = (0, 0);
        for &(size, sa, sb) in self.outer.iter().rev() {
            let i = row % size;
            row /= size;
            oa += i * sa;
            ob += i * sb;
        }
        (oa, ob)
    }
}

dispatch!(fn binary_rows(
    kind: BinaryKind,
    a: &[f32],
    b: &[f32],
    layout: &Layout,
    row0: usize,
    out: &mut [f32],
) => binary_rows_generic);

#[inline(always)]
fn binary_rows_generic<V: Vf32>(kind: BinaryKind, a: &[f32], b: &[f32], layout: &Layout, row0: usize, out: &mut [f32]) {
    let n = layout.inner;
    for (r, o) in out.chunks_exact_mut(n).enumerate() {
        let (oa, ob) = layout.row_offsets(row0 + r);
        let (ra, rb) = (&a[oa..oa + 1 + (n - 1) * layout.a_step], &b[ob..ob + 1 + (n - 1) * layout.b_step]);
        match kind {
            BinaryKind::Add => apply_row::<V>(
                ra,
                layout.a_step,
                rb,
                layout.b_step,
                o,
                #[inline(always)]
                |x, y| x + y,
            ),
            BinaryKind::Mul => apply_row::<V>(
                ra,
                layout.a_step,
                rb,
                layout.b_step,
                o,
                #[inline(always)]
                |x, y| x * y,
            ),
        }
    }
}

/// One output row; `a` and `b` are full rows (step 1) or a single broadcast value (step 0).
#[inline(always)]
fn apply_row<V: Vf32>(a: &[f32], sa: usize, b: &[f32], sb: usize, out: &mut [f32], f: impl Fn(V, V) -> V) {
    match (sa, sb) {
        (0, 0) => out.fill(f(V::splat(a[0]), V::splat(b[0])).reduce_max()),
        (_, 0) => {
            let vb = V::splat(b[0]);
            map_slice::<V>(
                a,
                out,
                0.0,
                #[inline(always)]
                |x| f(x, vb),
            )
        }
        (0, _) => {
            let va = V::splat(a[0]);
            map_slice::<V>(
                b,
                out,
                0.0,
                #[inline(always)]
                |y| f(va, y),
            )
        }
        _ => zip_map_slice::<V>(a, b, out, f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::ops::test_util::{assert_close, poisoned, rng, uniform};

    fn reference(kind: BinaryKind, a: &[f32], sa: &[usize], b: &[f32], sb: &[usize]) -> Vec<f64> {
        let shape = broadcast_shape(sa, sb).unwrap();
        let (ta, tb) = (broadcast_strides(sa, &shape), broadcast_strides(sb, &shape));
        let n: usize = shape.iter().product();
        (0..n)
            .map(|mut i| {
                let (mut ia, mut ib) = (0, 0);
                for k in (0..shape.len()).rev() {
                    let j = i % shape[k];
                    i /= shape[k];
                    ia += j * ta[k];
                    ib += j * tb[k];
                }
                let (x, y) = (a[ia] as f64, b[ib] as f64);
                match kind {
                    BinaryKind::Add => x + y,
                    BinaryKind::Mul => x * y,
                }
            })
            .collect()
    }

    #[test]
    fn matches_f64() {
        let mut r = rng(8);
        let cases: &[(&[usize], &[usize])] = &[
            (&[5], &[5]),
            (&[], &[]),
            (&[3, 4], &[]),
            (&[], &[7]),
            (&[2, 3, 4], &[4]),
            (&[2, 1, 4], &[3, 1]),
            (&[1, 3, 1], &[2, 1, 5]),
            (&[6, 1], &[1, 37]),
            (&[2, 3, 1, 5], &[3, 4, 5]),
            (&[64, 1024], &[1024]),
            (&[64, 1024], &[64, 1]),
            (&[4, 1, 1000], &[4, 30, 1000]),
            (&[1, 1, 3], &[2, 1, 1]),
        ];
        for kind in [BinaryKind::Add, BinaryKind::Mul] {
            for &(sa, sb) in cases {
                let a = uniform(&mut r, sa.iter().product(), -4.0, 4.0);
                let b = uniform(&mut r, sb.iter().product(), -4.0, 4.0);
                let want = reference(kind, &a, sa, &b, sb);
                let mut out = poisoned(want.len());
                binary(kind, &a, sa, &b, sb, &mut out).unwrap();
                assert_close(&format!("{kind:?} {sa:?} {sb:?}"), &out, &want, 1e-7, 0.0);
                // Swapped operands.
                let mut out = poisoned(want.len());
                binary(kind, &b, sb, &a, sa, &mut out).unwrap();
                assert_close(&format!("{kind:?} {sb:?} {sa:?}"), &out, &want, 1e-7, 0.0);
            }
        }
    }

    #[test]
    fn nan_propagates() {
        let a = [1.0, f32::NAN, 3.0, f32::INFINITY];
        let b = [2.0, 0.0];
        let mut out = poisoned(8);
        binary(BinaryKind::Mul, &a, &[4, 1], &b, &[2], &mut out).unwrap();
        assert_eq!(out[0], 2.0);
        assert!(out[2].is_nan() && out[3].is_nan() && out[7].is_nan());
        assert_eq!(out[6], f32::INFINITY);
    }

    #[test]
    fn bad_shapes() {
        let x = [1.0f32; 12];
        let mut out = [0.0f32; 12];
        let e = binary(BinaryKind::Add, &x, &[3, 4], &x[..3], &[3], &mut out).unwrap_err();
        assert!(matches!(e, KernelError::LengthMismatch { what: "b (does not broadcast)", .. }));
        assert!(binary(BinaryKind::Add, &x, &[3, 5], &x, &[3, 4], &mut out).is_err());
        assert!(binary(BinaryKind::Add, &x, &[3, 4], &x[..4], &[4], &mut out[..11]).is_err());
        assert!(binary(BinaryKind::Add, &x, &[usize::MAX, 2], &x, &[1], &mut out).is_err());
        assert!(binary(BinaryKind::Add, &x, &[3, 4], &x[..4], &[4], &mut out).is_ok());
    }
}
