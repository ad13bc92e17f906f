//! JUnit XML for CI systems: one `<testsuite>` per op, one `<testcase>` per case; failures as
//! `<failure>`, errors as `<error>`, unsupported cases as `<skipped>`.

use super::report::{CaseResult, Report, Status};
use std::fmt::Write;

/// Escapes text for XML attribute values and element content. Characters XML 1.0 cannot carry
/// at all (control characters other than tab, newline and carriage return) become `\u{..}`
/// escapes in the text, so the document stays well-formed whatever a backend's message holds.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => {
                let _ = write!(out, "&#{};", ch as u32);
            }
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn seconds(ms: f64) -> String {
    format!("{:.3}", ms / 1000.0)
}

/// The failure text of a case: message, worst element and determinism.
pub(crate) fn failure_detail(c: &CaseResult) -> String {
    let mut text = String::new();
    if let Some(m) = &c.message {
        let _ = writeln!(text, "{m}");
    }
    if let Some(w) = &c.worst {
        let _ = writeln!(
            text,
            "worst element: output {} index {:?}: got {:e}, reference {:e}, tolerance {:e}",
            w.output, w.index, w.got, w.reference, w.tolerance
        );
    }
    if let (Some(err), Some(ratio)) = (c.max_abs_err, c.max_ratio) {
        let _ = writeln!(
            text,
            "max abs error {err:e}, max error/tolerance {ratio:e}, {} of {} elements out of tolerance",
            c.bad_elements, c.elements
        );
    }
    if c.deterministic == Some(false) {
        let _ = writeln!(text, "two runs gave different outputs");
    }
    let _ = write!(text, "input shapes {:?}", c.info.shapes);
    text
}

/// Writes the report as JUnit XML.
pub(crate) fn write(report: &Report) -> String {
    let mut ops: Vec<&str> = Vec::new();
    for c in &report.cases {
        if !ops.contains(&c.info.op.as_str()) {
            ops.push(&c.info.op);
        }
    }
    let s = &report.summary;
    let total_ms: f64 = report.cases.iter().map(|c| c.duration_ms).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
        escape(&format!("edgehal conform {} on {}", report.suite, report.backend.backend)),
        s.total,
        s.failed,
        s.errors,
        s.unsupported,
        seconds(total_ms)
    );
    for op in ops {
        let cases: Vec<&CaseResult> = report.cases.iter().filter(|c| c.info.op == op).collect();
        let count = |st: Status| cases.iter().filter(|c| c.status == st).count();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
            escape(&format!("conform.{}.{op}", report.backend.backend)),
            cases.len(),
            count(Status::Fail),
            count(Status::Error),
            count(Status::Unsupported),
            seconds(cases.iter().map(|c| c.duration_ms).sum())
        );
        for c in cases {
            write_case(&mut x, &report.backend.backend, c);
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

fn write_case(x: &mut String, backend: &str, c: &CaseResult) {
    let _ = write!(
        x,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
        escape(&format!("conform.{backend}.{}", c.info.op)),
        escape(&c.info.id),
        seconds(c.duration_ms)
    );
    let message = c.message.as_deref().unwrap_or("");
    match c.status {
        Status::Pass => x.push_str("/>\n"),
        Status::Unsupported => {
            let _ = writeln!(x, ">\n      <skipped message=\"{}\"/>\n    </testcase>", escape(message));
        }
        Status::Fail | Status::Error => {
            let tag = if c.status == Status::Fail { "failure" } else { "error" };
            let _ = writeln!(
                x,
                ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>",
                escape(message.lines().next().unwrap_or("")),
                c.status,
                escape(&failure_detail(c))
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("x\u{1}y\tz\n"), "x\\u{1}y&#9;z&#10;");
        assert_eq!(escape("μ→∞"), "μ→∞");
    }
}
