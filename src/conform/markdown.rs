//! Markdown for humans: the summary per op × dtype, then every failure in detail.

use super::junit::failure_detail;
use super::report::{CaseResult, Report, Status};
use std::fmt::Write;

/// Makes text safe inside a table cell.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn ratio(r: Option<f64>) -> String {
    match r {
        Some(r) if r.is_finite() => format!("{r:.3}"),
        Some(r) => format!("{r}"),
        None => "–".into(),
    }
}

/// Writes the report as markdown.
pub(crate) fn write(report: &Report) -> String {
    let b = &report.backend;
    let s = &report.summary;
    let mut md = String::new();
    let _ = writeln!(md, "# edgehal conformance: {} ({})\n", b.backend, b.device);
    let _ = writeln!(
        md,
        "{}, suite `{}`, seed {}, {:.1} s. Device: {}, {} workers, {:.1} GiB; features: {}.\n",
        report.tool,
        report.suite,
        report.seed,
        report.duration_s,
        b.kind,
        b.workers,
        b.memory_bytes as f64 / (1u64 << 30) as f64,
        if b.features.is_empty() { "none".into() } else { b.features.join(", ") }
    );
    let _ = writeln!(
        md,
        "Tolerance profile: {} arithmetic, 8-bit activations allowed for: {}; bf16 activations for: {}.\n",
        format!("{:?}", report.profile.compute).to_lowercase(),
        dtype_list(&report.profile.quantized_activations),
        dtype_list(&report.profile.bf16_activations),
    );
    let verdict = if report.failed() == 0 { "**PASS**" } else { "**FAIL**" };
    let _ = writeln!(
        md,
        "{verdict}: {} cases, {} passed, {} failed, {} errors, {} unsupported.\n",
        s.total, s.passed, s.failed, s.errors, s.unsupported
    );
    write_summary_table(&mut md, &report.cases);
    let bad: Vec<&CaseResult> =
        report.cases.iter().filter(|c| matches!(c.status, Status::Fail | Status::Error)).collect();
    if !bad.is_empty() {
        let _ = writeln!(md, "\n## Failures\n");
        for c in bad {
            let _ = writeln!(md, "### `{}` ({})\n", c.info.id, c.status);
            let _ = writeln!(md, "```text\n{}\n```\n", failure_detail(c).replace("```", "'''"));
        }
    }
    let unsupported: Vec<&CaseResult> = report.cases.iter().filter(|c| c.status == Status::Unsupported).collect();
    if !unsupported.is_empty() {
        let _ = writeln!(md, "\n## Unsupported\n");
        for c in unsupported {
            let _ = writeln!(md, "- `{}`: {}", c.info.id, cell(c.message.as_deref().unwrap_or("")));
        }
    }
    md
}

/// One row per (op, dtype): counts and the worst ratio over its cases.
fn write_summary_table(md: &mut String, cases: &[CaseResult]) {
    let _ =
        writeln!(md, "| op | dtype | pass | fail | error | unsupported | max err/tol | max abs err | deterministic |");
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---|");
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for c in cases {
        let key = (c.info.op.as_str(), c.info.dtype.as_str());
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    for (op, dtype) in groups {
        let g: Vec<&CaseResult> = cases.iter().filter(|c| c.info.op == op && c.info.dtype == dtype).collect();
        let count = |st: Status| g.iter().filter(|c| c.status == st).count();
        let max_ratio = g.iter().filter_map(|c| c.max_ratio).reduce(|a, b| if b > a || b.is_nan() { b } else { a });
        let max_err = g.iter().filter_map(|c| c.max_abs_err).reduce(f64::max);
        let det = if g.iter().any(|c| c.deterministic == Some(false)) {
            "**no**"
        } else if g.iter().any(|c| c.deterministic == Some(true)) {
            "yes"
        } else {
            "–"
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(op),
            cell(dtype),
            count(Status::Pass),
            count(Status::Fail),
            count(Status::Error),
            count(Status::Unsupported),
            ratio(max_ratio),
            max_err.map_or("–".into(), |e| format!("{e:.3e}")),
            det
        );
    }
}

/// Dtype names joined by commas, or "none".
fn dtype_list(dtypes: &[crate::kernels::DType]) -> String {
    if dtypes.is_empty() { "none".to_string() } else { dtypes.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_pipes_and_newlines() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
