//! The conformance suite: checks any [`Backend`](crate::Backend) (also one outside this crate)
//! against the f64 reference kernels, op by op, dtype by dtype.
//!
//! ```no_run
//! use edgehal::conform::{self, Suite};
//! use std::sync::Arc;
//!
//! let backend = Arc::new(edgehal::CpuBackend::new()?);
//! let suite = Suite::quick().filter_op("matmul");
//! let report = conform::run(&suite, backend, &mut |done, total, case| {
//!     eprintln!("[{done}/{total}] {} {}", case.info.id, case.status);
//! });
//! std::fs::write("conform.json", report.to_json()).unwrap();
//! std::fs::write("conform.xml", report.to_junit_xml()).unwrap();
//! std::fs::write("conform.md", report.to_markdown()).unwrap();
//! assert_eq!(report.failed(), 0);
//! # Ok::<(), edgehal::Error>(())
//! ```
//!
//! # What a case does
//!
//! A [`Suite`] is a list of cases, one per op × dtype × shape family (tiny, tile-aligned, odd,
//! `k` not a multiple of the block, GEMV `m = 1`, batched, LLM-sized large, NaN propagation, ...).
//! [`run`] runs each case the same way:
//!
//! 1. fresh random inputs from a seed derived from the suite seed and the case id (never zeros;
//!    quant weights are random f32 quantized with [`quant::quantize`](crate::kernels::quant) up to
//!    a million elements, random block bytes with sane f16 scales beyond);
//! 2. a one-op [`Graph`](crate::Graph) (weights as graph weights, so a backend may repack them),
//!    compiled with `Session::new(graph, vec![backend], Policy::strict())` — no CPU fallback, no
//!    fusion; a backend that refuses a node (`Error::Unsupported`, `Error::DeviceLimit`) makes the
//!    case [`Status::Unsupported`], not a failure;
//! 3. two runs with `RunOptions { poison_outputs: true, .. }` (outputs start as NaN, so a skipped
//!    element shows up);
//! 4. the first run's outputs, decoded exactly to f32, against `edgehal_kernels::reference` on the
//!    exactly decoded inputs, element by element, with the tolerances of [`tolerance`]; a NaN where
//!    the reference has a number, or a number where it has NaN, fails (an infinite reference
//!    takes the same infinity or NaN);
//! 5. the two runs must be bit-identical (NaN payloads aside): determinism.
//!
//! A backend panic or error is caught and recorded as [`Status::Error`]. Each case reports its
//! max absolute error, max error/tolerance ratio, the worst element, determinism and durations.
//!
//! # Reports
//!
//! [`Report`] is serde-serializable; [`Report::to_json`], [`Report::to_junit_xml`] and
//! [`Report::to_markdown`] write it for tools, CI and humans.

mod cases;
mod compare;
mod data;
mod junit;
mod markdown;
mod report;
mod runner;
mod suite;
pub mod tolerance;

pub use compare::Worst;
pub use report::{BackendSummary, CaseResult, Report, Status, Summary};
pub use runner::run;
pub use suite::{CaseInfo, DEFAULT_SEED, Level, Suite};
pub use tolerance::{ComputePrecision, ToleranceProfile};
