//! The QNN log callback: formats each message, forwards it to `tracing` (and to stderr when
//! `EDGEHAL_QNN_LOG` is set), and keeps the most recent lines so that errors can quote what the
//! library said. QNN's callback carries no user pointer, so the buffer is process-wide.

use std::collections::VecDeque;
use std::ffi::{CStr, c_char, c_void};
use std::sync::Mutex;

use super::ffi;

/// `QNN_LOG_LEVEL_ERROR`.
pub const LEVEL_ERROR: u32 = 1;
/// `QNN_LOG_LEVEL_WARN`.
pub const LEVEL_WARN: u32 = 2;
/// `QNN_LOG_LEVEL_INFO`.
pub const LEVEL_INFO: u32 = 3;
/// `QNN_LOG_LEVEL_VERBOSE`.
pub const LEVEL_VERBOSE: u32 = 4;

const KEEP: usize = 256;

struct Buffer {
    next: u64,
    lines: VecDeque<(u64, u32, String)>,
}

static BUFFER: Mutex<Buffer> = Mutex::new(Buffer { next: 0, lines: VecDeque::new() });

fn level_name(level: u32) -> &'static str {
    match level {
        LEVEL_ERROR => "ERROR",
        LEVEL_WARN => "WARN",
        LEVEL_INFO => "INFO",
        LEVEL_VERBOSE => "VERBOSE",
        _ => "DEBUG",
    }
}

/// Records one formatted line.
fn record(level: u32, line: String) {
    match level {
        LEVEL_ERROR => tracing::error!(target: "edgehal_qnn::qnn", "{line}"),
        LEVEL_WARN => tracing::warn!(target: "edgehal_qnn::qnn", "{line}"),
        LEVEL_INFO => tracing::info!(target: "edgehal_qnn::qnn", "{line}"),
        _ => tracing::debug!(target: "edgehal_qnn::qnn", "{line}"),
    }
    if std::env::var_os("EDGEHAL_QNN_LOG").is_some() {
        eprintln!("[QNN {}] {line}", level_name(level));
    }
    let mut b = BUFFER.lock().unwrap_or_else(|e| e.into_inner());
    let seq = b.next;
    b.next += 1;
    if b.lines.len() == KEEP {
        b.lines.pop_front();
    }
    b.lines.push_back((seq, level, line));
}

/// The callback handed to `logCreate`.
pub unsafe extern "C" fn callback(fmt: *const c_char, level: u32, _timestamp: u64, args: *mut c_void) {
    if fmt.is_null() {
        return;
    }
    let mut buf = [0 as c_char; 2048];
    // SAFETY: `fmt` and `args` are the printf format and its va_list the library passes for
    // exactly this use; vsnprintf writes at most `buf.len()` bytes including the terminating NUL.
    let n = unsafe { ffi::vsnprintf(buf.as_mut_ptr(), buf.len(), fmt, args) };
    let line = if n < 0 {
        // SAFETY: `fmt` is a NUL-terminated string (checked non-null above).
        unsafe { CStr::from_ptr(fmt) }.to_string_lossy().into_owned()
    } else {
        // SAFETY: vsnprintf NUL-terminated `buf` (n >= 0).
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
    };
    record(level, line.trim_end().to_string());
}

/// A position in the log: lines recorded after it are returned by [`since`].
pub fn mark() -> u64 {
    BUFFER.lock().unwrap_or_else(|e| e.into_inner()).next
}

/// The kept lines recorded after `mark` at `max_level` or more severe (`LEVEL_ERROR` is 1).
pub fn since(mark: u64, max_level: u32) -> Vec<String> {
    let b = BUFFER.lock().unwrap_or_else(|e| e.into_inner());
    b.lines
        .iter()
        .filter(|(seq, level, _)| *seq >= mark && *level <= max_level)
        .map(|(_, level, line)| format!("{}: {line}", level_name(*level)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_after_a_mark_are_kept_by_level() {
        let m = mark();
        record(LEVEL_ERROR, "boom".into());
        record(LEVEL_INFO, "chatter".into());
        let errors = since(m, LEVEL_WARN);
        assert!(errors.iter().any(|l| l == "ERROR: boom"), "{errors:?}");
        assert!(!errors.iter().any(|l| l.contains("chatter")));
    }
}
