//! Element-wise comparison of a backend's outputs with the reference, and the determinism check.

use super::report::nonfinite_as_string;
use super::suite::Expected;
use crate::error::Result;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// The element with the largest error/tolerance ratio.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Worst {
    /// Which output of the graph (0 for single-output ops).
    pub output: usize,
    /// Its multi-index in the output's shape.
    pub index: Vec<usize>,
    /// What the backend produced.
    #[serde(with = "nonfinite_as_string")]
    pub got: f64,
    /// The reference.
    #[serde(with = "nonfinite_as_string")]
    pub reference: f64,
    /// The bound.
    #[serde(with = "nonfinite_as_string")]
    pub tolerance: f64,
}

/// The outcome of comparing every output element.
#[derive(Clone, Debug, Default)]
pub(crate) struct Comparison {
    /// Largest `|got − ref|` over elements where both are finite.
    pub max_abs_err: f64,
    /// Largest `|got − ref| / tol` (infinite for a NaN/infinity class mismatch).
    pub max_ratio: f64,
    /// Elements out of bounds.
    pub bad: usize,
    /// Elements compared.
    pub total: usize,
    /// The element with the largest ratio (the first one, on ties).
    pub worst: Option<Worst>,
    /// Why the outputs could not be compared (count or length mismatch).
    pub problem: Option<String>,
}

impl Comparison {
    pub(crate) fn passed(&self) -> bool {
        self.problem.is_none() && self.bad == 0
    }
}

/// `|got − ref| / tol`, or infinity when `got` is not of `ref`'s class: a NaN reference needs a
/// NaN, a number needs a number, an infinity the same infinity or NaN (an infinite input may
/// legitimately turn into NaN on its way through a kernel, e.g. as the scale of 8-bit
/// activations).
fn ratio(got: f64, reference: f64, tol: f64) -> f64 {
    if reference.is_infinite() {
        return if got == reference || got.is_nan() { 0.0 } else { f64::INFINITY };
    }
    if reference.is_nan() || got.is_nan() {
        return if reference.is_nan() && got.is_nan() { 0.0 } else { f64::INFINITY };
    }
    if got.is_infinite() {
        return f64::INFINITY;
    }
    let err = (got - reference).abs();
    if err == 0.0 {
        0.0
    } else if tol > 0.0 {
        err / tol
    } else {
        f64::INFINITY
    }
}

/// The multi-index of flat element `i` in `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (slot, &dim) in index.iter_mut().zip(shape).rev() {
        if dim > 0 {
            *slot = i % dim;
            i /= dim;
        }
    }
    index
}

/// Compares every output with its expectation.
pub(crate) fn compare(outputs: &[Tensor], expected: &[Expected]) -> Result<Comparison> {
    let mut c = Comparison::default();
    if outputs.len() != expected.len() {
        c.problem = Some(format!("{} outputs, expected {}", outputs.len(), expected.len()));
        return Ok(c);
    }
    for (o, (tensor, exp)) in outputs.iter().zip(expected).enumerate() {
        let got = tensor.to_f32_vec()?;
        if got.len() != exp.reference.len() {
            c.problem = Some(format!("output {o} has {} elements, expected {}", got.len(), exp.reference.len()));
            return Ok(c);
        }
        for (i, ((&g, &r), &t)) in got.iter().zip(&exp.reference).zip(&exp.tolerance).enumerate() {
            let g = f64::from(g);
            let q = ratio(g, r, t);
            c.total += 1;
            if g.is_finite() && r.is_finite() {
                c.max_abs_err = c.max_abs_err.max((g - r).abs());
            }
            // A NaN ratio (should a bound ever be NaN) fails too.
            if q > 1.0 || q.is_nan() {
                c.bad += 1;
            }
            if c.worst.is_none() || q > c.max_ratio || (q.is_nan() && !c.max_ratio.is_nan()) {
                c.max_ratio = q;
                c.worst =
                    Some(Worst { output: o, index: unravel(i, tensor.shape()), got: g, reference: r, tolerance: t });
            }
        }
    }
    Ok(c)
}

/// Whether two runs gave the same outputs: equal bytes, or equal decoded values up to NaN payloads.
pub(crate) fn identical(a: &[Tensor], b: &[Tensor]) -> Result<bool> {
    if a.len() != b.len() {
        return Ok(false);
    }
    for (x, y) in a.iter().zip(b) {
        if x.desc() != y.desc() {
            return Ok(false);
        }
        if x.bytes() == y.bytes() {
            continue;
        }
        let (xs, ys) = (x.to_f32_vec()?, y.to_f32_vec()?);
        if xs.iter().zip(&ys).any(|(p, q)| p.to_bits() != q.to_bits() && !(p.is_nan() && q.is_nan())) {
            return Ok(false);
        }
        // Same values but different bytes (e.g. a quant block with a different but equivalent
        // encoding): not bit-identical.
        if !x.dtype().is_float() {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(reference: Vec<f64>, tol: f64) -> Expected {
        let tolerance = vec![tol; reference.len()];
        Expected { reference, tolerance }
    }

    #[test]
    fn nan_and_infinity_must_match_their_class() {
        assert_eq!(ratio(f64::NAN, f64::NAN, 0.0), 0.0);
        assert_eq!(ratio(1.0, f64::NAN, 1e9), f64::INFINITY);
        assert_eq!(ratio(f64::NAN, 1.0, 1e9), f64::INFINITY);
        assert_eq!(ratio(f64::INFINITY, f64::INFINITY, 0.0), 0.0);
        assert_eq!(ratio(f64::NAN, f64::NEG_INFINITY, 0.0), 0.0);
        assert_eq!(ratio(f64::INFINITY, 1e300, 1e300), f64::INFINITY);
        assert_eq!(ratio(f64::NEG_INFINITY, f64::INFINITY, 1e9), f64::INFINITY);
        assert_eq!(ratio(1e300, f64::INFINITY, 1e9), f64::INFINITY);
        assert_eq!(ratio(1.0, 1.0, 0.0), 0.0);
        assert_eq!(ratio(1.5, 1.0, 0.0), f64::INFINITY);
        assert_eq!(ratio(1.5, 1.0, 1.0), 0.5);
    }

    #[test]
    fn worst_element_and_counts() {
        let t = Tensor::from_f32([2, 3], &[1.0, 2.0, 3.0, 4.0, 5.5, f32::NAN]).unwrap();
        let c = compare(&[t], &[expect(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 1.0)]).unwrap();
        assert_eq!(c.bad, 1);
        assert_eq!(c.max_abs_err, 0.5);
        assert_eq!(c.max_ratio, f64::INFINITY);
        let w = c.worst.unwrap();
        assert_eq!(w.index, vec![1, 2]);
        assert!(c.problem.is_none());
    }

    #[test]
    fn all_within_tolerance_passes() {
        let t = Tensor::from_f32([3], &[1.0, 2.0, 3.0]).unwrap();
        let c = compare(&[t], &[expect(vec![1.0, 2.1, 3.0], 0.2)]).unwrap();
        assert!(c.passed());
        assert_eq!(c.worst.unwrap().index, vec![1]);
    }

    #[test]
    fn determinism_ignores_nan_payloads_only() {
        let a = Tensor::from_f32([2], &[f32::NAN, 1.0]).unwrap();
        let b = Tensor::from_f32([2], &[f32::from_bits(0x7fc0_0001), 1.0]).unwrap();
        let c = Tensor::from_f32([2], &[f32::NAN, 1.0000001]).unwrap();
        assert!(identical(std::slice::from_ref(&a), &[b]).unwrap());
        assert!(!identical(&[a], &[c]).unwrap());
    }
}
