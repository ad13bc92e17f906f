//! The conformance suite on the Vulkan backend (lavapipe, validation on): the full suite must pass
//! every case, declining only those of the formats with no GPU decoder (or, for casts to them, no
//! encoder) in `edgehal_shaders::formats`, and the quick suite must not fail with base variants only. Reports go to `target/conformance/vulkan-*.md|json`.

mod common;

use common::*;
use edgehal::Backend;
use edgehal::conform::{self, Report, Status, Suite};
use edgehal_vulkan::VulkanOptions;
use std::sync::Arc;

fn run(suite: Suite, options: VulkanOptions, tag: &str) -> Report {
    let b = backend(options);
    let report = conform::run(&suite, b.clone() as Arc<dyn Backend>, &mut |done, total, c| {
        if matches!(c.status, Status::Fail | Status::Error) {
            let m = c.message.as_deref().unwrap_or("");
            eprintln!("[{done}/{total}] {} {}: {m} worst {:?}", c.info.id, c.status, c.worst);
        }
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/conformance");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("vulkan-{tag}.md")), report.to_markdown());
    let _ = std::fs::write(dir.join(format!("vulkan-{tag}.json")), report.to_json());
    let s = &report.summary;
    eprintln!(
        "vulkan {tag} conformance: {} passed, {} failed, {} errors, {} unsupported of {} ({:.1} s)",
        s.passed, s.failed, s.errors, s.unsupported, s.total, report.duration_s
    );
    assert_no_validation_messages(&b);
    report
}

fn assert_no_failures(report: &Report) {
    let bad: Vec<String> = report
        .cases
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error))
        .map(|c| format!("{} {}: {}", c.info.id, c.status, c.message.clone().unwrap_or_default()))
        .collect();
    assert!(bad.is_empty(), "{} of {} cases failed:\n{}", bad.len(), report.cases.len(), bad.join("\n"));
    assert!(report.summary.passed > 0, "at least the silu cases run");
}

#[test]
fn quick_suite_has_no_failures_with_the_best_variants() {
    assert_no_failures(&run(Suite::quick(), options(), "quick"));
}

#[test]
fn quick_suite_has_no_failures_with_base_variants_only() {
    assert_no_failures(&run(Suite::quick(), VulkanOptions { base_only: true, ..options() }, "quick-base"));
}

#[test]
fn full_suite_passes_every_case() {
    let report = run(Suite::full(), options(), "full");
    assert_no_failures(&report);
    let declined: Vec<&str> = report
        .cases
        .iter()
        .filter(|c| c.status == Status::Unsupported && !edgehal_gpu::coverage::case_lacks_gpu_format(&c.info.id))
        .map(|c| c.info.id.as_str())
        .collect();
    assert!(declined.is_empty(), "the GPU declined {} case(s) the CPU passes: {declined:?}", declined.len());
}
