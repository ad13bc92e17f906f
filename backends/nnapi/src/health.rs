//! Whether the NNAPI service behind a backend still works. When an entry point returns
//! `ANEURALNETWORKS_DEAD_OBJECT` (the driver or service process died), every model, compilation
//! and burst made through that runtime is gone: the first loss is recorded here and every later
//! call on the backend — compile, allocate, upload, download, run, from any thread — answers with
//! the same typed [`Error::DeviceLost`] without calling into NNAPI again (dropping what was made
//! still frees its handles). A new [`NnapiBackend`](crate::NnapiBackend) opens the runtime afresh.
//!
//! The GPU backends keep the same record (`edgehal-gpu`'s `DeviceHealth`); NNAPI needs no
//! injection hook, because a test fake can return `DEAD_OBJECT` from any entry point.

use crate::error::BACKEND;
use edgehal::Error;
use std::sync::Mutex;

/// Lost-or-not of one runtime, shared by everything created through it.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// `(during, why)` of the first loss seen.
    lost: Mutex<Option<(String, String)>>,
}

impl Health {
    /// Records that the service was lost during `during` because of `why` (the first loss wins)
    /// and returns the error to hand the caller.
    pub(crate) fn mark_lost(&self, during: &str, why: &str) -> Error {
        let mut lost = self.lost.lock().unwrap_or_else(|p| p.into_inner());
        let (first, first_why) = lost.get_or_insert_with(|| (during.to_string(), why.to_string())).clone();
        let during = if first == during { first } else { format!("{during}, lost earlier during {first}") };
        Error::DeviceLost { backend: BACKEND.into(), during, why: first_why }
    }

    /// `Err(DeviceLost)` once the service was lost, naming `during` (what the caller was about to
    /// do) and the first loss.
    pub(crate) fn check(&self, during: &str) -> edgehal::Result<()> {
        if self.is_lost() { Err(self.mark_lost(during, "")) } else { Ok(()) }
    }

    /// Whether the service was lost.
    pub(crate) fn is_lost(&self) -> bool {
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }
}
