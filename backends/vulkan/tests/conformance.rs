//! The conformance suite's quick level on the Vulkan backend (lavapipe, validation on): no
//! supported case may fail. Cases the GPU lowering does not take yet are counted as unsupported.

mod common;

use common::*;
use edgehal::conform::{self, Status, Suite};
use edgehal::Backend;
use std::sync::Arc;

#[test]
fn quick_suite_has_no_failures_among_supported_cases() {
    let b = backend(options());
    let report = conform::run(&Suite::quick(), b.clone() as Arc<dyn Backend>, &mut |done, total, c| {
        if matches!(c.status, Status::Fail | Status::Error) {
            let m = c.message.as_deref().unwrap_or("");
            eprintln!("[{done}/{total}] {} {}: {m} worst {:?}", c.info.id, c.status, c.worst);
        }
    });
    let s = &report.summary;
    eprintln!(
        "vulkan quick conformance: {} passed, {} failed, {} errors, {} unsupported of {} ({:.1} s)",
        s.passed, s.failed, s.errors, s.unsupported, s.total, report.duration_s
    );
    assert_eq!(s.failed + s.errors, 0, "failing cases on the Vulkan backend");
    assert!(s.passed > 0, "at least the silu cases run");
    assert_no_validation_messages(&b);
}
