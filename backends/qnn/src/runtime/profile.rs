//! Profiling: a QNN profile handle per execution, read back as a tree of [`ProfileEvent`]s.

use std::ffi::CStr;

use super::error::{backend_error, describe};
use super::ffi::{self, Handle};
use super::library::{QnnRuntime, qnn_fn};

/// Unit of a profile event's value (`QnnProfile_EventUnit_t`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProfileUnit {
    /// `QNN_PROFILE_EVENTUNIT_MICROSEC`.
    Microseconds,
    /// `QNN_PROFILE_EVENTUNIT_BYTES`.
    Bytes,
    /// `QNN_PROFILE_EVENTUNIT_CYCLES`.
    Cycles,
    /// `QNN_PROFILE_EVENTUNIT_COUNT`.
    Count,
    /// Anything else (backend-defined units start at `QNN_PROFILE_EVENTUNIT_BACKEND` = 1000).
    Other(u32),
}

impl ProfileUnit {
    /// From the C value.
    pub fn from_raw(unit: u32) -> ProfileUnit {
        match unit {
            1 => ProfileUnit::Microseconds,
            2 => ProfileUnit::Bytes,
            3 => ProfileUnit::Cycles,
            4 => ProfileUnit::Count,
            u => ProfileUnit::Other(u),
        }
    }
}

/// One profile event and its sub-events.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileEvent {
    /// The QNN event type (`QNN_PROFILE_EVENTTYPE_*`, e.g. 400 execute, 404 node).
    pub kind: u32,
    /// The event type's name (see [`event_kind_name`]).
    pub kind_name: String,
    /// Unit of `value`.
    pub unit: ProfileUnit,
    /// The measurement.
    pub value: u64,
    /// The backend's identifier: the node name for per-node events.
    pub identifier: String,
    /// Nested events (e.g. the nodes of an execute event).
    pub sub_events: Vec<ProfileEvent>,
}

impl ProfileEvent {
    /// This event and all nested ones, depth first.
    pub fn flatten(&self) -> Vec<&ProfileEvent> {
        let mut out = vec![self];
        for s in &self.sub_events {
            out.extend(s.flatten());
        }
        out
    }
}

/// Profile of one execution.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecProfile {
    /// Top-level events, each with its sub-events.
    pub events: Vec<ProfileEvent>,
}

impl ExecProfile {
    /// Every event of the tree, depth first.
    pub fn all_events(&self) -> Vec<&ProfileEvent> {
        self.events.iter().flat_map(|e| e.flatten()).collect()
    }
}

/// The name of a `QnnProfile_EventType_t` value (`QnnProfile.h`; backend-defined types start at
/// 1000 and are named `BACKEND+n`).
pub fn event_kind_name(kind: u32) -> String {
    match kind {
        100 => "INIT".into(),
        300 => "FINALIZE".into(),
        400 => "EXECUTE".into(),
        404 => "NODE".into(),
        405 => "EXECUTE_QUEUE_WAIT".into(),
        406 => "EXECUTE_PREPROCESS".into(),
        407 => "EXECUTE_DEVICE".into(),
        408 => "EXECUTE_POSTPROCESS".into(),
        500 => "DEINIT".into(),
        k if k >= 1000 => format!("BACKEND+{}", k - 1000),
        k => format!("EVENT_{k}"),
    }
}

/// A profile handle, freed on drop.
pub(crate) struct Profile<'a> {
    rt: &'a QnnRuntime,
    pub handle: Handle,
}

impl<'a> Profile<'a> {
    /// `profileCreate` at `QNN_PROFILE_LEVEL_DETAILED`.
    pub fn detailed(rt: &'a QnnRuntime) -> edgehal::Result<Profile<'a>> {
        let create = qnn_fn!(rt, profile_create)?;
        let mut handle: Handle = std::ptr::null_mut();
        // SAFETY: valid backend handle; `handle` is valid for writes.
        let err = unsafe { create(rt.backend_handle(), ffi::PROFILE_LEVEL_DETAILED, &mut handle) };
        if err != ffi::SUCCESS {
            return Err(backend_error(rt.kind().name(), format!("profileCreate failed: {}", describe(err))));
        }
        Ok(Profile { rt, handle })
    }

    /// Reads every event collected so far.
    pub fn read(&self) -> edgehal::Result<ExecProfile> {
        let get_events = qnn_fn!(self.rt, profile_get_events)?;
        let mut ids: *const u64 = std::ptr::null();
        let mut n = 0u32;
        // SAFETY: valid profile handle; out-pointers valid for writes.
        let err = unsafe { get_events(self.handle, &mut ids, &mut n) };
        if err != ffi::SUCCESS {
            return Err(backend_error(self.rt.kind().name(), format!("profileGetEvents failed: {}", describe(err))));
        }
        let events = self.events(ids, n, 0)?;
        Ok(ExecProfile { events })
    }

    fn events(&self, ids: *const u64, n: u32, depth: usize) -> edgehal::Result<Vec<ProfileEvent>> {
        if ids.is_null() || n == 0 || depth > 8 {
            return Ok(Vec::new());
        }
        // SAFETY: the library returned `n` event ids at `ids`, owned by the profile handle.
        let ids = unsafe { std::slice::from_raw_parts(ids, n as usize) }.to_vec();
        ids.into_iter().map(|id| self.event(id, depth)).collect()
    }

    fn event(&self, id: u64, depth: usize) -> edgehal::Result<ProfileEvent> {
        let (event_type, unit, value, identifier) = self.event_data(id)?;
        let identifier = if identifier.is_null() {
            String::new()
        } else {
            // SAFETY: a NUL-terminated string owned by the profile handle.
            unsafe { CStr::from_ptr(identifier) }.to_string_lossy().into_owned()
        };
        let mut sub_events = Vec::new();
        if let Some(get_sub) = self.rt.table().profile_get_sub_events {
            let mut ids: *const u64 = std::ptr::null();
            let mut n = 0u32;
            // SAFETY: `id` came from this profile; out-pointers valid for writes.
            let err = unsafe { get_sub(id, &mut ids, &mut n) };
            if err == ffi::SUCCESS {
                sub_events = self.events(ids, n, depth + 1)?;
            }
        }
        Ok(ProfileEvent {
            kind: event_type,
            kind_name: event_kind_name(event_type),
            unit: ProfileUnit::from_raw(unit),
            value,
            identifier,
            sub_events,
        })
    }
}

impl Profile<'_> {
    /// Type, unit, value and identifier of an event: profileGetEventData, or for events the
    /// backend records in the extended form (profileGetEventData refuses them),
    /// profileGetExtendedEventData.
    fn event_data(&self, id: u64) -> edgehal::Result<(u32, u32, u64, *const std::ffi::c_char)> {
        let name = self.rt.kind().name();
        let get_data = qnn_fn!(self.rt, profile_get_event_data)?;
        let mut data = ffi::ProfileEventData { event_type: 0, unit: 0, value: 0, identifier: std::ptr::null() };
        // SAFETY: `id` came from this profile; `data` is valid for writes.
        let err = unsafe { get_data(id, &mut data) };
        if err == ffi::SUCCESS {
            return Ok((data.event_type, data.unit, data.value, data.identifier));
        }
        let Some(get_extended) = self.rt.table().profile_get_extended_event_data else {
            return Err(backend_error(name, format!("profileGetEventData failed: {}", describe(err))));
        };
        let mut ext = ffi::ProfileExtendedEventData {
            version: ffi::PROFILE_DATA_VERSION_1,
            _align: 0,
            event_type: 0,
            unit: 0,
            value: ffi::Scalar { data_type: 0, value: ffi::ScalarValue { u64_value: 0 } },
            _opaque_rest: 0,
            timestamp: 0,
            identifier: std::ptr::null(),
        };
        // SAFETY: `id` came from this profile; `ext` is valid for writes.
        let err2 = unsafe { get_extended(id, &mut ext) };
        if err2 != ffi::SUCCESS {
            return Err(backend_error(
                name,
                format!(
                    "profileGetEventData failed: {}, profileGetExtendedEventData failed: {}",
                    describe(err),
                    describe(err2)
                ),
            ));
        }
        // SAFETY: each union member read is the one `data_type` names (all are plain numbers).
        let value = unsafe {
            match ext.value.data_type {
                ffi::DATATYPE_UINT_64 | ffi::DATATYPE_INT_64 => ext.value.value.u64_value,
                ffi::DATATYPE_FLOAT_64 => ext.value.value.f64_value.max(0.0).round() as u64,
                ffi::DATATYPE_FLOAT_32 => ext.value.value.f32_value.max(0.0).round() as u64,
                ffi::DATATYPE_INT_32 => ext.value.value.i32_value.max(0) as u64,
                _ => ext.value.value.u32_value as u64,
            }
        };
        Ok((ext.event_type, ext.unit, value, ext.identifier))
    }
}

impl Drop for Profile<'_> {
    fn drop(&mut self) {
        if let Some(free) = self.rt.table().profile_free {
            // SAFETY: the handle came from profileCreate, is no longer bound to a call, and is
            // freed once.
            let err = unsafe { free(self.handle) };
            if err != ffi::SUCCESS {
                tracing::warn!("{}: profileFree: {}", self.rt.kind().name(), describe(err));
            }
        }
    }
}
