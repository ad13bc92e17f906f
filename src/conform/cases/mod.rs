//! The cases, one file per op family; each file lists its cases for both suite levels.
//!
//! Every case builds a one-op graph (plus nothing else), so a failure names one op, one dtype
//! combination and one shape family.

mod activation;
mod attention;
mod binary;
mod kv_cache;
mod layout;
mod matmul;
mod norm;
mod quant;
mod rope;
mod softmax;

use super::suite::{Case, Expected, Prepared};
use crate::error::Result;
use crate::graph::{Graph, ValueId};
use crate::tensor::Tensor;

/// Every case of the full suite, in run order (the quick suite is those at `Level::Quick`).
pub(crate) fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(matmul::cases());
    cases.extend(attention::cases());
    cases.extend(quant::cases());
    cases.extend(norm::cases());
    cases.extend(rope::cases());
    cases.extend(softmax::cases());
    cases.extend(activation::cases());
    cases.extend(binary::cases());
    cases.extend(layout::cases());
    cases.extend(kv_cache::cases());
    cases
}

/// A one-op graph under construction, with the tensors its inputs will be fed.
pub(super) struct OneOp {
    pub graph: Graph,
    inputs: Vec<(String, Tensor)>,
}

impl OneOp {
    pub(super) fn new() -> Self {
        OneOp { graph: Graph::new(), inputs: Vec::new() }
    }

    /// Declares a run input fed with `tensor`.
    pub(super) fn input(&mut self, name: &str, tensor: Tensor) -> Result<ValueId> {
        let id = self.graph.input(name, tensor.dtype(), tensor.shape())?;
        self.inputs.push((name.into(), tensor));
        Ok(id)
    }

    /// Adds a graph weight (a constant the backend may repack).
    pub(super) fn weight(&mut self, name: &str, tensor: Tensor) -> ValueId {
        self.graph.weight(name, tensor)
    }

    /// Marks `output` and finishes the case with its expectation.
    pub(super) fn finish(self, output: ValueId, expected: Expected) -> Result<Prepared> {
        self.finish_at(output, expected, 0)
    }

    /// As [`OneOp::finish`], run at `position` (for `Position::Run` parameters).
    pub(super) fn finish_at(mut self, output: ValueId, expected: Expected, position: usize) -> Result<Prepared> {
        self.graph.output(output)?;
        Ok(Prepared { graph: self.graph, inputs: self.inputs, position, expected: vec![expected] })
    }
}

/// An expectation from a reference and its bounds.
pub(super) fn expect(reference: Vec<f64>, tolerance: Vec<f64>) -> Expected {
    Expected { reference, tolerance }
}

/// Exact expectation (tolerance 0): data movement.
pub(super) fn exact(reference: Vec<f64>) -> Expected {
    let tolerance = vec![0.0; reference.len()];
    Expected { reference, tolerance }
}
