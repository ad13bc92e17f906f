//! IEEE special values through QNN graphs: compositions that give the reference's NaN, infinity
//! and all-`-inf` conventions where Qualcomm's ops do not.
//!
//! Measured on the wheel's libraries (QNN core API 2.36, see `DESIGN-NOTES.md`):
//! - the CPU backend's MatMul, FullyConnected and element-wise arithmetic saturate: a NaN or ±inf
//!   result of a matmul, or a ±inf of an add, comes out as ±`f32::MAX`; and its `ElementWiseMaximum`/`ReduceMax` drop NaN (start from `-f32::MAX`);
//! - both backends' `Softmax` give NaN for a row that is all `-inf`, where the reference gives
//!   zeros (the convention that makes a fully masked attention row zero);
//! - the HTP backend's f32 path has no `ElementWiseSelect` and accepts nothing but a MatMul after
//!   its `Softmax`, while its f16 path saturates NaN and infinities away.
//!
//! So softmax is written out (max, exp, sum, divide), and on the CPU backend the results of
//! matmuls and of the add/mul ops pass through [`restore_nonfinite_into`].

use super::Builder;
use crate::desc::{ParamValue, QnnDType, Scalar, TensorIndex};
use crate::runtime::QnnBackendKind;

/// The pieces of a softmax over `axis` of `x`: `e = exp(x − max)` and the row sums `s` (plus a
/// tiny bias, kept dims), so that `e / s` is the softmax.
///
/// - A row that is all `-inf`: the max is clamped to `-f32::MAX`, so `e` is all zeros and so is
///   `e / s`; the bias keeps that `0 / tiny`, not `0 / 0`. A live row sums to at least 1, so the
///   bias is below its rounding (f32 on the CPU backend; HTP rounds to f16, whose smallest normal
///   is used).
/// - A NaN or `+inf` in a row makes `x − max` NaN somewhere (NaN itself, or `inf − inf`), hence its
///   sum, hence the whole row: the reference's convention.
///
/// Attention divides after its `P·V` product (`s` then applies to `d` values per row, not `t`).
pub(crate) fn softmax_parts(b: &mut Builder, x: TensorIndex, axis: u32) -> (TensorIndex, TensorIndex) {
    let f32t = QnnDType::F32;
    let mut row = b.desc.tensors[x].dims.clone();
    row[axis as usize] = 1;
    let axes = b.u32_constant(&[axis]);
    let reduce = |axes| vec![("axes", ParamValue::Tensor(axes)), ("keep_dims", ParamValue::Scalar(Scalar::Bool(true)))];
    let max = b.native(f32t, row.clone());
    b.op("ReduceMax", reduce(axes), vec![x], vec![max]);
    let lowest = b.float_constant(f32t, vec![1], &[-f32::MAX]);
    let max = b.unary("ElementWiseMaximum", vec![], vec![max, lowest]);
    let shifted = b.unary("ElementWiseSubtract", vec![], vec![x, max]);
    let e = b.unary("ElementWiseExp", vec![], vec![shifted]);
    let axes = b.u32_constant(&[axis]);
    let sum = b.native(f32t, row);
    b.op("ReduceSum", reduce(axes), vec![e], vec![sum]);
    let tiny = match b.target {
        QnnBackendKind::Cpu => f32::MIN_POSITIVE,
        QnnBackendKind::Htp => half::f16::MIN_POSITIVE.to_f32(),
    };
    let bias = b.float_constant(f32t, vec![1], &[tiny]);
    let sum = b.unary("ElementWiseAdd", vec![], vec![sum, bias]);
    (e, sum)
}

/// Writes `y` into `out` with every ±max of its dtype turned into NaN: the CPU backend's
/// MatMul/FullyConnected saturate NaN and infinities to ±`f32::MAX` (a finite product of exactly
/// that size does not occur in practice), and NaN is what the reference accepts for an infinite
/// result too. Only lowered for the CPU backend; `y` and `out` share dtype and dims.
fn restore_nonfinite_into(b: &mut Builder, y: TensorIndex, out: TensorIndex) {
    let dtype = b.desc.tensors[y].dtype;
    let largest = if dtype == QnnDType::F16 { half::f16::MAX.to_f32() } else { f32::MAX };
    let max = b.float_constant(dtype, vec![1], &[largest]);
    let nan = b.float_constant(dtype, vec![1], &[f32::NAN]);
    let magnitude = b.unary("ElementWiseAbs", vec![], vec![y]);
    let saturated = b.compare("ElementWiseGreaterEqual", magnitude, max);
    b.op("ElementWiseSelect", vec![], vec![saturated, nan, y], vec![out]);
}

/// A node whose result the CPU library saturates (MatMul, FullyConnected, element-wise
/// arithmetic) writing `out`: directly on HTP, through [`restore_nonfinite_into`] on the CPU
/// backend.
pub(crate) fn saturating_op_into(
    b: &mut Builder,
    type_name: &str,
    params: Vec<(&str, ParamValue)>,
    inputs: Vec<TensorIndex>,
    out: TensorIndex,
) {
    if b.target == QnnBackendKind::Htp {
        b.op(type_name, params, inputs, vec![out]);
        return;
    }
    let (dtype, dims) = (b.desc.tensors[out].dtype, b.desc.tensors[out].dims.clone());
    let raw = b.native(dtype, dims);
    b.op(type_name, params, inputs, vec![raw]);
    restore_nonfinite_into(b, raw, out);
}

/// `v` with NaN and infinities replaced by 0, and a 0/1 float tensor marking where they were (CPU
/// backend: it has `ElementWiseSelect`). Attention multiplies probabilities with the clean values
/// and the marks separately, so a NaN in a key the mask hides from a row does not reach that row
/// (`0 · NaN` is NaN), while one the row sees does.
pub(crate) fn split_nonfinite(b: &mut Builder, v: TensorIndex) -> (TensorIndex, TensorIndex) {
    let f32t = QnnDType::F32;
    let max = b.float_constant(f32t, vec![1], &[f32::MAX]);
    let (zero, one) = (b.float_constant(f32t, vec![1], &[0.0]), b.float_constant(f32t, vec![1], &[1.0]));
    let magnitude = b.unary("ElementWiseAbs", vec![], vec![v]);
    // NaN compares false, so it lands with the infinities.
    let finite = b.compare("ElementWiseLessEqual", magnitude, max);
    let clean = b.unary("ElementWiseSelect", vec![], vec![finite, v, zero]);
    let marks = b.unary("ElementWiseSelect", vec![], vec![finite, zero, one]);
    (clean, marks)
}

/// `y` where `count` (a product of probabilities with [`split_nonfinite`]'s marks) is 0, NaN
/// where it is positive: the row saw a NaN or infinite value.
pub(crate) fn poison_where_seen(b: &mut Builder, y: TensorIndex, count: TensorIndex) -> TensorIndex {
    let f32t = QnnDType::F32;
    let (zero, nan) = (b.float_constant(f32t, vec![1], &[0.0]), b.float_constant(f32t, vec![1], &[f32::NAN]));
    let seen = b.compare("ElementWiseGreater", count, zero);
    b.unary("ElementWiseSelect", vec![], vec![seen, nan, y])
}
