//! Running a suite on a backend: one case at a time, errors and panics caught.

use super::compare::{self, Comparison};
use super::data::CaseRng;
use super::report::{BackendSummary, CaseResult, Report, Status, Summary};
use super::suite::{Case, CaseCtx, Prepared, Suite};
use super::tolerance::ToleranceProfile;
use crate::backend::Backend;
use crate::error::Error;
use crate::session::{Policy, RunOptions, Session};
use crate::tensor::Tensor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

/// Runs every case of `suite` on `backend` and reports; `progress(done, total, result)` is called
/// after each case. Never panics on a backend's behalf: errors and panics become case statuses.
///
/// The tolerance profile is the suite's ([`Suite::with_profile`]) or else
/// [`ToleranceProfile::for_backend`].
pub fn run(suite: &Suite, backend: Arc<dyn Backend>, progress: &mut dyn FnMut(usize, usize, &CaseResult)) -> Report {
    let start = Instant::now();
    let profile = match suite.profile() {
        Some(p) => p.clone(),
        None => ToleranceProfile::for_backend(backend.as_ref()),
    };
    let total = suite.len();
    let mut results = Vec::with_capacity(total);
    for (i, case) in suite.runnable().iter().enumerate() {
        let result = run_case(case, &backend, &profile, suite.seed());
        progress(i + 1, total, &result);
        results.push(result);
    }
    Report {
        tool: format!("edgehal {}", env!("CARGO_PKG_VERSION")),
        suite: suite.name().into(),
        seed: suite.seed(),
        backend: BackendSummary::of(backend.as_ref()),
        profile,
        duration_s: start.elapsed().as_secs_f64(),
        summary: Summary::of(&results),
        cases: results,
    }
}

/// What ended a case early.
enum Stop {
    Unsupported(String),
    Error(String),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        match e {
            Error::Unsupported { .. } | Error::DeviceLimit { .. } => Stop::Unsupported(e.to_string()),
            other => Stop::Error(other.to_string()),
        }
    }
}

/// Runs `f`, turning a panic into an error naming `what`.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, Stop>) -> Result<T, Stop> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "(no message)".into());
        Err(Stop::Error(format!("{what} panicked: {msg}")))
    })
}

/// One case's outcome before it is written down.
struct Outcome {
    comparison: Comparison,
    deterministic: bool,
    backend_ms: f64,
}

fn run_case(case: &Case, backend: &Arc<dyn Backend>, profile: &ToleranceProfile, seed: u64) -> CaseResult {
    let start = Instant::now();
    let outcome = execute(case, backend, profile, seed);
    let mut r = CaseResult {
        info: case.info.clone(),
        status: Status::Error,
        max_abs_err: None,
        max_ratio: None,
        worst: None,
        bad_elements: 0,
        elements: 0,
        deterministic: None,
        duration_ms: 0.0,
        backend_ms: None,
        message: None,
    };
    match outcome {
        Ok(o) => {
            let c = o.comparison;
            let mut reasons = Vec::new();
            if let Some(p) = &c.problem {
                reasons.push(p.clone());
            }
            if c.bad > 0 {
                reasons.push(format!(
                    "{} of {} elements out of tolerance (max error/tolerance {:e})",
                    c.bad, c.total, c.max_ratio
                ));
            }
            if !o.deterministic {
                reasons.push("two runs gave different outputs".into());
            }
            r.status = if c.passed() && o.deterministic { Status::Pass } else { Status::Fail };
            r.message = (!reasons.is_empty()).then(|| reasons.join("; "));
            r.max_abs_err = Some(c.max_abs_err);
            r.max_ratio = c.worst.as_ref().map(|_| c.max_ratio);
            r.worst = c.worst;
            r.bad_elements = c.bad;
            r.elements = c.total;
            r.deterministic = Some(o.deterministic);
            r.backend_ms = Some(o.backend_ms);
        }
        Err(Stop::Unsupported(m)) => {
            r.status = Status::Unsupported;
            r.message = Some(m);
        }
        Err(Stop::Error(m)) => r.message = Some(m),
    }
    r.duration_ms = start.elapsed().as_secs_f64() * 1e3;
    r
}

fn execute(case: &Case, backend: &Arc<dyn Backend>, profile: &ToleranceProfile, seed: u64) -> Result<Outcome, Stop> {
    let prepared = guarded("the case builder", || {
        let mut ctx = CaseCtx { rng: CaseRng::new(seed, &case.info.id), profile: profile.clone() };
        (case.build)(&mut ctx).map_err(|e| Stop::Error(format!("the case builder failed: {e}")))
    })?;
    let Prepared { graph, inputs, position, expected } = prepared;
    let mut session = guarded("the backend", || Ok(Session::new(graph, vec![backend.clone()], Policy::strict())?))?;
    let named: Vec<(&str, &Tensor)> = inputs.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let opts = RunOptions { position, profile: false, poison_outputs: true };
    let mut run_once = || -> Result<(Vec<Tensor>, f64), Stop> {
        let t0 = Instant::now();
        let out = guarded("the backend", || Ok(session.run_with(&named, &opts)?))?;
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        Ok((out.into_vec().into_iter().map(|(_, t)| t).collect(), ms))
    };
    let (first, backend_ms) = run_once()?;
    let (second, _) = run_once()?;
    let comparison = compare::compare(&first, &expected).map_err(|e| Stop::Error(format!("reading outputs: {e}")))?;
    let deterministic =
        compare::identical(&first, &second).map_err(|e| Stop::Error(format!("reading outputs: {e}")))?;
    Ok(Outcome { comparison, deterministic, backend_ms })
}
