//! Suites: the list of cases, their descriptions, and what a case prepares before it runs.

use super::cases;
use super::data::CaseRng;
use super::tolerance::ToleranceProfile;
use crate::error::Result;
use crate::graph::Graph;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The default suite seed.
pub const DEFAULT_SEED: u64 = 0x00ED_6E4A_1C0F_0A11;

/// Which suites a case belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// In both suites: small shapes, every op and dtype; seconds in release mode.
    Quick,
    /// Only in the full suite: LLM-sized shapes and the rarer combinations.
    Full,
}

/// What a case tests, known before it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseInfo {
    /// Unique id, `op/dtype/family` with a detail suffix where a family has several cases.
    pub id: String,
    /// The op's name as in [`Op::NAMES`](crate::Op::NAMES).
    pub op: String,
    /// The dtypes involved, e.g. `w=q4_k x=f32`, `kv=f16`, `q4_0->f16`.
    pub dtype: String,
    /// The shape family: `tiny`, `aligned`, `odd`, `k_tail`, `gemv`, `batched`, `large`, `nan`, ...
    pub family: String,
    /// What else distinguishes the case (mask, causal, offsets, ...); may be empty.
    pub detail: String,
    /// The shapes of the op's inputs, in the op's input order.
    pub shapes: Vec<Vec<usize>>,
    /// The smallest suite holding the case.
    pub level: Level,
}

/// One output's expected values and per-element bounds.
pub(crate) struct Expected {
    /// The f64 reference.
    pub reference: Vec<f64>,
    /// `|got − reference|` bound per element (see [`tolerance`](super::tolerance)).
    pub tolerance: Vec<f64>,
}

/// A case ready to run: its graph, named inputs, run position and expectations (one per graph
/// output, in output order).
pub(crate) struct Prepared {
    pub graph: Graph,
    pub inputs: Vec<(String, Tensor)>,
    pub position: usize,
    pub expected: Vec<Expected>,
}

/// What a case builder gets: its random source and the backend's tolerance profile.
pub(crate) struct CaseCtx {
    pub rng: CaseRng,
    pub profile: ToleranceProfile,
}

impl CaseCtx {
    /// `ε` of the profile.
    pub(crate) fn eps(&self) -> f64 {
        self.profile.eps()
    }
}

/// Builds a case's data, graph and expectations.
pub(crate) type Builder = Arc<dyn Fn(&mut CaseCtx) -> Result<Prepared> + Send + Sync>;

/// A case: its description and the code that prepares it.
#[derive(Clone)]
pub(crate) struct Case {
    pub info: CaseInfo,
    pub build: Builder,
}

impl Case {
    /// A case of `op` with the given description.
    pub(crate) fn new(
        level: Level,
        op: &str,
        dtype: impl Into<String>,
        family: &str,
        detail: impl Into<String>,
        shapes: Vec<Vec<usize>>,
        build: impl Fn(&mut CaseCtx) -> Result<Prepared> + Send + Sync + 'static,
    ) -> Case {
        let (dtype, detail) = (dtype.into(), detail.into());
        let mut id = format!("{op}/{}/{family}", dtype.replace(' ', ","));
        if !detail.is_empty() {
            id = format!("{id}/{}", detail.replace(' ', "_"));
        }
        Case {
            info: CaseInfo { id, op: op.into(), dtype, family: family.into(), detail, shapes, level },
            build: Arc::new(build),
        }
    }
}

/// A list of conformance cases with a seed and an optional tolerance profile.
#[derive(Clone)]
pub struct Suite {
    name: String,
    cases: Vec<Case>,
    seed: u64,
    profile: Option<ToleranceProfile>,
}

impl Suite {
    /// The quick suite: every op, dtype and shape family at small sizes, for tests and CI
    /// (seconds in release mode).
    pub fn quick() -> Suite {
        Self::at_level("quick", Level::Quick)
    }

    /// The full suite: the quick cases plus LLM-sized shapes (e.g. a 64×4096×4096 matmul) and the
    /// rarer combinations (about two minutes on a 2-core CPU in release mode).
    pub fn full() -> Suite {
        Self::at_level("full", Level::Full)
    }

    fn at_level(name: &str, level: Level) -> Suite {
        let cases = cases::all().into_iter().filter(|c| c.info.level <= level).collect();
        Suite { name: name.into(), cases, seed: DEFAULT_SEED, profile: None }
    }

    /// The suite by name: `quick` or `full`.
    pub fn by_name(name: &str) -> Option<Suite> {
        match name {
            "quick" => Some(Self::quick()),
            "full" => Some(Self::full()),
            _ => None,
        }
    }

    /// Keeps the cases of op `op` (a name of [`Op::NAMES`](crate::Op::NAMES)).
    pub fn filter_op(self, op: &str) -> Suite {
        self.filter(|c| c.op == op)
    }

    /// Keeps the cases whose dtype label mentions `dtype` (e.g. `q4_k` keeps `w=q4_k x=f32`).
    pub fn filter_dtype(self, dtype: &str) -> Suite {
        let dtype = dtype.to_ascii_lowercase();
        self.filter(|c| c.dtype.split(|ch: char| !ch.is_ascii_alphanumeric() && ch != '_').any(|part| part == dtype))
    }

    /// Keeps the cases for which `keep` is true.
    pub fn filter(mut self, keep: impl Fn(&CaseInfo) -> bool) -> Suite {
        self.cases.retain(|c| keep(&c.info));
        self
    }

    /// Replaces the seed all case data derive from.
    pub fn with_seed(mut self, seed: u64) -> Suite {
        self.seed = seed;
        self
    }

    /// Sets the tolerance profile (default: [`ToleranceProfile::for_backend`]).
    pub fn with_profile(mut self, profile: ToleranceProfile) -> Suite {
        self.profile = Some(profile);
        self
    }

    /// `quick` or `full`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The profile set with [`Suite::with_profile`], if any.
    pub fn profile(&self) -> Option<&ToleranceProfile> {
        self.profile.as_ref()
    }

    /// Number of cases.
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// True when no case is left.
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// The cases' descriptions, in run order.
    pub fn cases(&self) -> impl Iterator<Item = &CaseInfo> {
        self.cases.iter().map(|c| &c.info)
    }

    pub(crate) fn runnable(&self) -> &[Case] {
        &self.cases
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Op;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_every_op_is_covered() {
        let full = Suite::full();
        let mut ids = HashSet::new();
        for c in full.cases() {
            assert!(ids.insert(c.id.clone()), "duplicate case id {}", c.id);
            assert!(Op::NAMES.contains(&c.op.as_str()), "unknown op {}", c.op);
        }
        for op in Op::NAMES {
            assert!(Suite::quick().filter_op(op).len() > 0, "quick suite has no {op} case");
        }
        assert!(full.len() > Suite::quick().len());
    }

    #[test]
    fn dtype_filter_matches_whole_names() {
        let q4 = Suite::quick().filter_dtype("q4_k");
        assert!(!q4.is_empty());
        assert!(q4.cases().all(|c| c.dtype.contains("q4_k")), "{:?}", q4.cases().map(|c| &c.dtype).collect::<Vec<_>>());
        assert!(Suite::quick().filter_dtype("q4").is_empty());
    }
}
