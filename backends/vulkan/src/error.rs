//! Vulkan results to edgehal's typed errors.

use ash::vk;
use edgehal::Error;

/// The backend's name in errors and reports.
pub(crate) const BACKEND: &str = "vulkan";

/// A driver failure of `what` as edgehal's error: device loss and out-of-memory get their own
/// variants so callers can tell them apart.
pub(crate) fn vk_error(what: &str, result: vk::Result) -> Error {
    match result {
        vk::Result::ERROR_OUT_OF_HOST_MEMORY | vk::Result::ERROR_OUT_OF_DEVICE_MEMORY => {
            Error::OutOfMemory { backend: BACKEND.into(), bytes: 0 }
        }
        vk::Result::ERROR_DEVICE_LOST => {
            Error::DeviceLost { backend: BACKEND.into(), during: what.into(), why: "VK_ERROR_DEVICE_LOST".into() }
        }
        other => backend_error(format!("{what} failed: {other}")),
    }
}

/// `Error::Backend` with `why`.
pub(crate) fn backend_error(why: impl Into<String>) -> Error {
    Error::Backend { backend: BACKEND.into(), why: why.into() }
}

/// `Error::Backend` saying the backend cannot run on this machine.
pub(crate) fn unavailable(why: impl std::fmt::Display) -> Error {
    backend_error(format!("unavailable: {why}"))
}

/// Maps a `VkResult` of `what`.
pub(crate) trait Check<T> {
    /// The value, or the typed error.
    fn check(self, what: &str) -> edgehal::Result<T>;
}

impl<T> Check<T> for Result<T, vk::Result> {
    fn check(self, what: &str) -> edgehal::Result<T> {
        self.map_err(|r| vk_error(what, r))
    }
}
