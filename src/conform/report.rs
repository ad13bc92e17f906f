//! The conformance report: per-case records, summary counts, backend and device facts.

use super::compare::Worst;
use super::suite::CaseInfo;
use super::tolerance::ToleranceProfile;
use crate::backend::Backend;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a case ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every element within tolerance and both runs identical.
    Pass,
    /// An element out of tolerance, a NaN/infinity mismatch, or two runs that differ.
    Fail,
    /// The backend does not run this op with these dtypes/shapes (not a failure).
    Unsupported,
    /// The backend (or the harness) returned an error or panicked.
    Error,
}

impl Status {
    /// `pass`, `fail`, `unsupported` or `error`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unsupported => "unsupported",
            Status::Error => "error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The record of one case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// What the case tests.
    #[serde(flatten)]
    pub info: CaseInfo,
    /// How it ended.
    pub status: Status,
    /// Largest `|got − ref|` over elements where both are finite (`None` if it did not run).
    pub max_abs_err: Option<f64>,
    /// Largest `|got − ref| / tolerance`; above 1 fails; `"inf"` for a NaN/infinity mismatch.
    #[serde(with = "option_nonfinite_as_string")]
    pub max_ratio: Option<f64>,
    /// The element with the largest ratio.
    pub worst: Option<Worst>,
    /// Elements out of tolerance, of `elements` compared.
    pub bad_elements: usize,
    /// Output elements compared.
    pub elements: usize,
    /// Whether the two runs gave bit-identical outputs (`None` if it did not run twice).
    pub deterministic: Option<bool>,
    /// Wall time of the whole case (data, reference, compile, two runs, comparison), ms.
    pub duration_ms: f64,
    /// Wall time of the first backend run, ms.
    pub backend_ms: Option<f64>,
    /// Why it failed, errored or is unsupported.
    pub message: Option<String>,
}

/// Case counts by status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// All cases.
    pub total: usize,
    /// [`Status::Pass`].
    pub passed: usize,
    /// [`Status::Fail`].
    pub failed: usize,
    /// [`Status::Unsupported`].
    pub unsupported: usize,
    /// [`Status::Error`].
    pub errors: usize,
}

impl Summary {
    /// Counts the statuses of `cases`.
    pub fn of(cases: &[CaseResult]) -> Summary {
        let count = |s| cases.iter().filter(|c| c.status == s).count();
        Summary {
            total: cases.len(),
            passed: count(Status::Pass),
            failed: count(Status::Fail),
            unsupported: count(Status::Unsupported),
            errors: count(Status::Error),
        }
    }
}

/// The backend and device a report is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendSummary {
    /// The backend's name.
    pub backend: String,
    /// The device's name.
    pub device: String,
    /// `cpu`, `gpu` or `npu`.
    pub kind: String,
    /// Memory available to the backend, bytes.
    pub memory_bytes: u64,
    /// Feature flags.
    pub features: Vec<String>,
    /// Parallel workers.
    pub workers: usize,
}

impl BackendSummary {
    /// What `backend` reports about itself.
    pub fn of(backend: &dyn Backend) -> BackendSummary {
        let d = backend.device();
        BackendSummary {
            backend: backend.name().into(),
            device: d.name,
            kind: format!("{:?}", d.kind).to_lowercase(),
            memory_bytes: d.memory_bytes,
            features: d.features,
            workers: d.workers,
        }
    }
}

/// A conformance run's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `edgehal <version>`.
    pub tool: String,
    /// `quick` or `full`.
    pub suite: String,
    /// The seed all case data derive from (rerun with it to reproduce).
    pub seed: u64,
    /// The backend under test.
    pub backend: BackendSummary,
    /// The tolerance profile the cases were judged with.
    pub profile: ToleranceProfile,
    /// Wall time of the whole run, s.
    pub duration_s: f64,
    /// Counts by status.
    pub summary: Summary,
    /// Every case, in run order.
    pub cases: Vec<CaseResult>,
}

impl Report {
    /// Cases that failed or errored: a conformant backend has 0.
    pub fn failed(&self) -> usize {
        self.summary.failed + self.summary.errors
    }

    /// Cases the backend does not support.
    pub fn unsupported(&self) -> usize {
        self.summary.unsupported
    }

    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.summary.passed
    }

    /// The report as pretty-printed JSON (non-finite numbers as the strings `"inf"`, `"-inf"`,
    /// `"nan"`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }

    /// Reads a report written by [`Report::to_json`].
    pub fn from_json(json: &str) -> serde_json::Result<Report> {
        serde_json::from_str(json)
    }

    /// The report as JUnit XML (one `<testsuite>` per op).
    pub fn to_junit_xml(&self) -> String {
        super::junit::write(self)
    }

    /// The report as markdown: summary per op × dtype, then every failure in detail.
    pub fn to_markdown(&self) -> String {
        super::markdown::write(self)
    }
}

/// Serde for an f64 that may be NaN or infinite (JSON has no such numbers): written as a number
/// when finite, else as `"nan"`, `"inf"` or `"-inf"`.
pub(crate) mod nonfinite_as_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        match *v {
            v if v.is_finite() => s.serialize_f64(v),
            v if v.is_nan() => s.serialize_str("nan"),
            v if v > 0.0 => s.serialize_str("inf"),
            _ => s.serialize_str("-inf"),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrName {
        Number(f64),
        Name(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match NumberOrName::deserialize(d)? {
            NumberOrName::Number(v) => Ok(v),
            NumberOrName::Name(n) => match n.as_str() {
                "nan" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                _ => Err(D::Error::custom(format!("expected a number, `nan`, `inf` or `-inf`, got `{n}`"))),
            },
        }
    }
}

/// [`nonfinite_as_string`] for `Option<f64>` (`None` is `null`).
mod option_nonfinite_as_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::nonfinite_as_string::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    #[derive(Deserialize)]
    struct Wrapped(#[serde(with = "super::nonfinite_as_string")] f64);

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
    }
}
