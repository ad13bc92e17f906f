//! Typed errors of this backend, all as [`edgehal::Error`] variants naming `nnapi`.

use crate::ffi::result;
use edgehal::Error;

/// The backend's name in errors and reports.
pub const BACKEND: &str = "nnapi";

/// NNAPI cannot be used here (no library, no symbol, no such device).
pub fn unavailable(why: impl std::fmt::Display) -> Error {
    Error::Backend { backend: BACKEND.into(), why: format!("unavailable: {why}") }
}

/// Any other backend failure.
pub fn backend_error(why: impl Into<String>) -> Error {
    Error::Backend { backend: BACKEND.into(), why: why.into() }
}

/// An op (or an op with these dtypes or shapes) NNAPI cannot run.
pub fn unsupported(op: impl Into<String>, why: impl Into<String>) -> Error {
    Error::Unsupported { backend: BACKEND.into(), op: op.into(), why: why.into() }
}

/// Turns the result code of NeuralNetworks entry point `function` into a typed error naming the
/// function and the code (`ANEURALNETWORKS_NO_ERROR` is `Ok`).
pub fn check(function: &str, code: i32) -> edgehal::Result<()> {
    if code == result::NO_ERROR {
        return Ok(());
    }
    Err(backend_error(format!("{function} failed: {} ({code})", result::name(code))))
}
