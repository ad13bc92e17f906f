//! Whether a GPU device still works: once a device is lost it stays lost, and every later call on
//! the backend gets the same typed [`Error::DeviceLost`] instead of touching the device again.
//!
//! Both GPU backends keep one [`DeviceHealth`] per device. They report a loss the driver signals
//! (`VK_ERROR_DEVICE_LOST`, wgpu's device-lost callback) through [`DeviceHealth::mark_lost`], call
//! [`DeviceHealth::check`] before using the device, and at each wait for the queue consume a loss
//! injected by the test hook ([`DeviceHealth::inject_loss`]) with [`DeviceHealth::take_injected`].
//! The hook exists because no CPU driver can be made to lose its device on demand: it lets tests
//! check that a session fails cleanly, keeps failing, and that a new backend works.

use edgehal::Error;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The wording the test hook's loss carries in [`Error::DeviceLost`]'s `why`.
pub const INJECTED: &str = "injected by the fault-injection test hook";

/// Lost-or-not of one device, shared by everything created on it.
#[derive(Debug)]
pub struct DeviceHealth {
    backend: &'static str,
    /// `(during, why)` of the first loss seen.
    lost: Mutex<Option<(String, String)>>,
    /// A loss the test hook asked for, reported at the next wait.
    injected: AtomicBool,
}

impl DeviceHealth {
    /// A working device of `backend` (`"vulkan"`, `"wgpu"`).
    pub fn new(backend: &'static str) -> Self {
        DeviceHealth { backend, lost: Mutex::new(None), injected: AtomicBool::new(false) }
    }

    /// Records that the device was lost during `during` because of `why` (the first loss wins)
    /// and returns the error to hand the caller (who logs it).
    pub fn mark_lost(&self, during: &str, why: &str) -> Error {
        let mut lost = self.lost.lock().unwrap_or_else(|p| p.into_inner());
        if lost.is_none() {
            *lost = Some((during.to_string(), why.to_string()));
        }
        let (first, why) = lost.clone().unwrap_or_default();
        let during = if first == during { first } else { format!("{during}, lost earlier during {first}") };
        Error::DeviceLost { backend: self.backend.into(), during, why }
    }

    /// `Err(DeviceLost)` once the device was lost, naming `during` (what the caller was about to
    /// do) and the first loss.
    pub fn check(&self, during: &str) -> edgehal::Result<()> {
        if self.is_lost() { Err(self.mark_lost(during, "")) } else { Ok(()) }
    }

    /// Whether the device was lost.
    pub fn is_lost(&self) -> bool {
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// Test hook: the next wait for the queue reports the device lost (see the module docs).
    pub fn inject_loss(&self) {
        self.injected.store(true, Ordering::SeqCst);
    }

    /// Whether a loss was injected since the last call (clears it).
    pub fn take_injected(&self) -> bool {
        self.injected.swap(false, Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loss_is_sticky_and_names_the_first_operation() {
        let h = DeviceHealth::new("vulkan");
        assert!(h.check("allocating").is_ok());
        assert!(!h.take_injected());
        h.inject_loss();
        assert!(h.take_injected() && !h.take_injected(), "an injection is reported once");
        let e = h.mark_lost("vkWaitForFences", INJECTED);
        assert!(
            matches!(&e, Error::DeviceLost { backend, during, why }
                if backend == "vulkan" && during == "vkWaitForFences" && why == INJECTED),
            "{e:?}"
        );
        let later = h.check("uploading").unwrap_err();
        let text = later.to_string();
        assert!(text.contains("during uploading, lost earlier during vkWaitForFences"), "{text}");
        assert!(text.contains(INJECTED) && text.contains("create a new backend"), "{text}");
        let again = h.mark_lost("vkQueueSubmit", "VK_ERROR_DEVICE_LOST");
        assert!(again.to_string().contains(INJECTED), "the first loss's reason is kept: {again}");
    }
}
