//! Device enumeration (`ANeuralNetworks_getDeviceCount`, `getDevice`, `ANeuralNetworksDevice_*`)
//! and the runtime's feature level.

use crate::error::{check, unavailable};
use crate::ffi::{ANeuralNetworksDevice, device_type, feature_level};
use crate::runtime::Api;
use edgehal::Result;
use std::ffi::{CStr, c_char};

/// An NNAPI device as the runtime describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NnapiDevice {
    /// `ANeuralNetworksDevice_getName`, e.g. `qti-dsp` or `nnapi-reference`.
    pub name: String,
    /// `ANeuralNetworksDevice_getType`: an `ANEURALNETWORKS_DEVICE_*` value.
    pub device_type: i32,
    /// `ANeuralNetworksDevice_getFeatureLevel`.
    pub feature_level: i64,
    /// `ANeuralNetworksDevice_getVersion` (the driver's version string).
    pub version: String,
}

impl NnapiDevice {
    /// `cpu`, `gpu`, `accelerator`, `other` or `unknown`.
    pub fn type_name(&self) -> &'static str {
        match self.device_type {
            device_type::CPU => "cpu",
            device_type::GPU => "gpu",
            device_type::ACCELERATOR => "accelerator",
            device_type::OTHER => "other",
            _ => "unknown",
        }
    }
}

/// A device handle; NNAPI devices live as long as the process and may be used from any thread.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct DeviceHandle(pub *mut ANeuralNetworksDevice);

// SAFETY: device handles are process-lifetime, immutable runtime objects; the NNAPI documentation
// allows querying and compiling for them from any thread.
unsafe impl Send for DeviceHandle {}
// SAFETY: as above; no method mutates through the handle.
unsafe impl Sync for DeviceHandle {}

/// Every device the runtime lists, with its handle. Empty (not an error) on runtimes older than
/// Android 10, which have no device API.
pub(crate) fn enumerate(api: &Api) -> Result<Vec<(DeviceHandle, NnapiDevice)>> {
    let s = &api.symbols;
    let (Some(count_fn), Some(get), Some(name_fn), Some(type_fn), Some(version_fn), Some(level_fn)) = (
        s.get_device_count,
        s.get_device,
        s.device_get_name,
        s.device_get_type,
        s.device_get_version,
        s.device_get_feature_level,
    ) else {
        return Ok(Vec::new());
    };
    let mut count = 0u32;
    // SAFETY: `count` is a valid out-pointer for the duration of the call.
    check("ANeuralNetworks_getDeviceCount", unsafe { count_fn(&mut count) })?;
    let mut devices = Vec::with_capacity(count as usize);
    for i in 0..count {
        let mut dev = std::ptr::null_mut();
        // SAFETY: `i < count` and `dev` is a valid out-pointer.
        check("ANeuralNetworks_getDevice", unsafe { get(i, &mut dev) })?;
        if dev.is_null() {
            return Err(unavailable(format!("ANeuralNetworks_getDevice({i}) returned a null device")));
        }
        let mut name: *const c_char = std::ptr::null();
        let mut version: *const c_char = std::ptr::null();
        let (mut ty, mut level) = (0i32, 0i64);
        // SAFETY: `dev` came from getDevice; every out-pointer is valid for its call.
        unsafe {
            check("ANeuralNetworksDevice_getName", name_fn(dev, &mut name))?;
            check("ANeuralNetworksDevice_getType", type_fn(dev, &mut ty))?;
            check("ANeuralNetworksDevice_getVersion", version_fn(dev, &mut version))?;
            check("ANeuralNetworksDevice_getFeatureLevel", level_fn(dev, &mut level))?;
        }
        let device =
            NnapiDevice { name: c_string(name), device_type: ty, feature_level: level, version: c_string(version) };
        devices.push((DeviceHandle(dev), device));
    }
    Ok(devices)
}

/// A C string owned by the runtime, copied (empty when null).
fn c_string(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the runtime returns NUL-terminated strings that live as long as the device.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The runtime's feature level: `ANeuralNetworks_getRuntimeFeatureLevel` where it exists (Android
/// 12+), else feature level 3 when the device API exists (Android 10/11), else 1.
pub(crate) fn runtime_feature_level(api: &Api) -> i64 {
    match api.symbols.get_runtime_feature_level {
        // SAFETY: the entry point takes no arguments and has no preconditions.
        Some(f) => unsafe { f() },
        None if api.symbols.get_device_count.is_some() => feature_level::FL3,
        None => feature_level::FL1,
    }
}

/// Picks the device named `wanted`, or else the first accelerator, the first non-CPU device, the
/// first device. A name that is not listed is a typed error listing the names that are.
pub(crate) fn choose(
    devices: &[(DeviceHandle, NnapiDevice)],
    wanted: Option<&str>,
) -> Result<Option<(DeviceHandle, NnapiDevice)>> {
    if let Some(name) = wanted {
        return devices.iter().find(|(_, d)| d.name == name).cloned().map(Some).ok_or_else(|| {
            edgehal::Error::Unknown {
                kind: "NNAPI device",
                name: name.into(),
                known: devices.iter().map(|(_, d)| d.name.as_str()).collect::<Vec<_>>().join(", "),
            }
        });
    }
    let by_type = |t: i32| devices.iter().find(|(_, d)| d.device_type == t);
    Ok(by_type(device_type::ACCELERATOR)
        .or_else(|| devices.iter().find(|(_, d)| d.device_type != device_type::CPU))
        .or_else(|| devices.first())
        .cloned())
}
