//! The conformance suite on the wgpu backend (lavapipe in CI): every case the CPU backend passes
//! must pass here too — a case the GPU declines counts as a failure of this test. Reports are
//! written under `target/conformance/` for inspection.

use edgehal::conform::{self, Report, Status, Suite};
use edgehal_wgpu::{WgpuBackend, WgpuOptions};
use std::sync::Arc;

fn run(suite: Suite, options: WgpuOptions, tag: &str) -> Report {
    let backend = Arc::new(WgpuBackend::with_options(options).expect("a wgpu adapter (lavapipe in CI)"));
    let report = conform::run(&suite, backend.clone(), &mut |_, _, _| {});
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/conformance");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("wgpu-{tag}.md")), report.to_markdown());
    let _ = std::fs::write(dir.join(format!("wgpu-{tag}.json")), report.to_json());
    assert!(backend.uncaptured_errors().is_empty(), "wgpu errors: {:?}", backend.uncaptured_errors());
    report
}

/// Every case passes, except those of formats the GPU has no kernels for ([`edgehal_gpu::coverage::case_lacks_gpu_format`]).
fn assert_all_pass(report: &Report) {
    let bad: Vec<String> = report
        .cases
        .iter()
        .filter(|c| {
            c.status != Status::Pass
                && !(c.status == Status::Unsupported && edgehal_gpu::coverage::case_lacks_gpu_format(&c.info.id))
        })
        .map(|c| format!("{} {}: {}", c.info.id, c.status, c.message.clone().unwrap_or_default()))
        .collect();
    assert!(bad.is_empty(), "{} of {} cases did not pass:\n{}", bad.len(), report.cases.len(), bad.join("\n"));
}

#[test]
fn full_suite_passes_with_the_best_variants() {
    assert_all_pass(&run(Suite::full(), WgpuOptions::from_env(), "full"));
}

#[test]
fn quick_suite_passes_with_base_variants_only() {
    let options = WgpuOptions { base_only: true, ..WgpuOptions::from_env() };
    assert_all_pass(&run(Suite::quick(), options, "quick-base"));
}
