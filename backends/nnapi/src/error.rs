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

/// What `ANEURALNETWORKS_DEAD_OBJECT` means, in [`Error::DeviceLost`]'s `why`.
pub const DEAD_OBJECT_WHY: &str = "ANEURALNETWORKS_DEAD_OBJECT (14): the NNAPI driver or service process died";

/// Turns the result code of NeuralNetworks entry point `function` into a typed error naming the
/// function and the code (`ANEURALNETWORKS_NO_ERROR` is `Ok`).
///
/// - `ANEURALNETWORKS_DEAD_OBJECT` is [`Error::DeviceLost`] (`during` is the function): the
///   objects made through the runtime are dead. The backend also records the loss (its
///   runtime's `Api::check`), so that it stays lost for the backend.
/// - `ANEURALNETWORKS_OUT_OF_MEMORY` stays [`Error::Backend`] naming the function and the code:
///   NNAPI does not say how many bytes it failed to get, and [`Error::OutOfMemory`] has a field
///   for that size and none for the function. (A host buffer that cannot be allocated is
///   `Error::OutOfMemory` with its size; see [`crate::NnapiBuffer::new`].)
/// - Every other code is [`Error::Backend`] naming the function and the code.
pub fn check(function: &str, code: i32) -> edgehal::Result<()> {
    match code {
        result::NO_ERROR => Ok(()),
        result::DEAD_OBJECT => {
            Err(Error::DeviceLost { backend: BACKEND.into(), during: function.into(), why: DEAD_OBJECT_WHY.into() })
        }
        _ => Err(backend_error(format!("{function} failed: {} ({code})", result::name(code)))),
    }
}
