//! NVIDIA GPUs' total energy through NVML, `libnvidia-ml.so.1` loaded at run time (libloading;
//! `EDGEHAL_NVML_LIB` overrides the path). A machine without the driver only loses this meter.
//!
//! The declarations below are written from NVIDIA's NVML API reference (`nvml.h`):
//! `nvmlInit_v2(void)`, `nvmlDeviceGetCount_v2(unsigned int*)`,
//! `nvmlDeviceGetHandleByIndex_v2(unsigned int, nvmlDevice_t*)`,
//! `nvmlDeviceGetName(nvmlDevice_t, char*, unsigned int)` (96-byte buffer,
//! `NVML_DEVICE_NAME_V2_BUFFER_SIZE`), `nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t,
//! unsigned long long*)`, `nvmlErrorString(nvmlReturn_t)`, `nvmlShutdown(void)`; every call returns
//! an `nvmlReturn_t` (C enum: 0 success, 3 `NVML_ERROR_NOT_SUPPORTED`, …). NVML is documented as
//! thread-safe, which is what lets a meter move between threads.
//!
//! The counter is the GPU's energy in mJ since the driver was last loaded (Volta and newer; older
//! GPUs answer NOT_SUPPORTED, reported as exactly that). It does not wrap (u64). On recent GPUs it
//! updates every 20–100 ms (PETSc's `PetscLogGpuEnergyMeter` notes): 100 ms is declared.

use super::{EnergyMeter, MeterInfo, MeterProbe, Scope, WrappingCounter};
use crate::{DeviceKind, Error, Result};
use libloading::Library;
use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The environment variable that names the NVML library to load.
pub const LIB_ENV: &str = "EDGEHAL_NVML_LIB";
/// The library loaded when [`LIB_ENV`] is not set (found through the loader's search path).
pub const DEFAULT_LIB: &str = "libnvidia-ml.so.1";
const UPDATE_PERIOD_S: f64 = 0.1;
/// `NVML_ERROR_NOT_SUPPORTED`.
const NOT_SUPPORTED: c_int = 3;
/// `NVML_DEVICE_NAME_V2_BUFFER_SIZE`.
const NAME_LEN: usize = 96;

type Device = *mut c_void;
type InitFn = unsafe extern "C" fn() -> c_int;
type CountFn = unsafe extern "C" fn(*mut c_uint) -> c_int;
type HandleFn = unsafe extern "C" fn(c_uint, *mut Device) -> c_int;
type NameFn = unsafe extern "C" fn(Device, *mut c_char, c_uint) -> c_int;
type EnergyFn = unsafe extern "C" fn(Device, *mut u64) -> c_int;
type ErrorStringFn = unsafe extern "C" fn(c_int) -> *const c_char;

/// `$EDGEHAL_NVML_LIB`, else `libnvidia-ml.so.1`.
pub fn lib_from_env() -> PathBuf {
    std::env::var_os(LIB_ENV).map_or_else(|| PathBuf::from(DEFAULT_LIB), PathBuf::from)
}

/// An initialised NVML; shut down when the last meter using it is dropped.
struct Api {
    shutdown: InitFn,
    energy: EnergyFn,
    error_string: ErrorStringFn,
    // Declared last: dropped after `Drop::drop` has called nvmlShutdown through it.
    _lib: Library,
}

impl Drop for Api {
    fn drop(&mut self) {
        // SAFETY: NVML was initialised when this Api was made; shutdown pairs with that init.
        unsafe { (self.shutdown)() };
    }
}

impl Api {
    fn describe(&self, code: c_int) -> String {
        describe(self.error_string, code)
    }
}

/// `NVML_ERROR_… (code)` as NVML spells it.
fn describe(error_string: ErrorStringFn, code: c_int) -> String {
    // SAFETY: nvmlErrorString returns a static NUL-terminated string for any code.
    let text = unsafe { error_string(code) };
    if text.is_null() {
        return format!("NVML error {code}");
    }
    // SAFETY: non-null, NUL-terminated and static, as above.
    format!("{} ({code})", unsafe { CStr::from_ptr(text) }.to_string_lossy())
}

/// An NVML device handle: an identifier valid until nvmlShutdown, usable from any thread.
struct Handle(Device);
// SAFETY: the handle is only passed back to NVML, which is thread-safe; the Arc<Api> each meter
// holds keeps NVML initialised as long as the handle exists.
unsafe impl Send for Handle {}

/// One GPU's NVML total-energy counter.
pub struct NvmlMeter {
    info: MeterInfo,
    api: Arc<Api>,
    device: Handle,
    counter: WrappingCounter,
}

impl std::fmt::Debug for NvmlMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NvmlMeter").field("info", &self.info).finish()
    }
}

impl EnergyMeter for NvmlMeter {
    fn info(&self) -> &MeterInfo {
        &self.info
    }

    fn read_joules(&mut self) -> Result<f64> {
        let fail = |why: String| Error::Meter { meter: self.info.name.clone(), why };
        let mj = read_energy(&self.api, &self.device)
            .map_err(|code| fail(format!("nvmlDeviceGetTotalEnergyConsumption: {}", self.api.describe(code))))?;
        let total = self.counter.update(mj).map_err(fail)?;
        Ok(total as f64 * 1e-3)
    }
}

fn read_energy(api: &Api, device: &Handle) -> std::result::Result<u64, c_int> {
    let mut mj = 0u64;
    // SAFETY: a valid handle and a valid out-pointer, per the declaration above.
    match unsafe { (api.energy)(device.0, &mut mj) } {
        0 => Ok(mj),
        code => Err(code),
    }
}

/// Every GPU NVML sees, from the library at `lib`: a meter per GPU with a total-energy counter,
/// and a probe line for each that has none, or for a library that is absent or fails.
pub fn discover(lib: &Path) -> (Vec<NvmlMeter>, Vec<MeterProbe>) {
    let none = |detail: String| (Vec::new(), vec![MeterProbe { name: "nvml".into(), available: false, detail }]);
    // SAFETY: loading NVML runs its initialisers, as any client of the driver library does.
    let library = match unsafe { Library::new(lib) } {
        Ok(l) => l,
        Err(e) => {
            return none(format!(
                "{}: cannot load: {e} (no NVIDIA driver here; {LIB_ENV} sets the library)",
                lib.display()
            ));
        }
    };
    macro_rules! symbol {
        ($name:literal, $ty:ty) => {
            // SAFETY: the symbol is declared in nvml.h with exactly this signature (module docs).
            match unsafe { library.get::<$ty>(concat!($name, "\0").as_bytes()) } {
                Ok(s) => *s,
                Err(e) => return none(format!("{}: no {}: {e} (not NVML, or too old)", lib.display(), $name)),
            }
        };
    }
    let init = symbol!("nvmlInit_v2", InitFn);
    let count = symbol!("nvmlDeviceGetCount_v2", CountFn);
    let handle = symbol!("nvmlDeviceGetHandleByIndex_v2", HandleFn);
    let name_of = symbol!("nvmlDeviceGetName", NameFn);
    let shutdown = symbol!("nvmlShutdown", InitFn);
    let energy = symbol!("nvmlDeviceGetTotalEnergyConsumption", EnergyFn);
    let error_string = symbol!("nvmlErrorString", ErrorStringFn);
    // SAFETY: nvmlInit_v2 takes no arguments; it may be called before any other NVML call.
    let rc = unsafe { init() };
    if rc != 0 {
        return none(format!("{}: nvmlInit_v2: {} (driver not loaded?)", lib.display(), describe(error_string, rc)));
    }
    let api = Arc::new(Api { shutdown, energy, error_string, _lib: library });
    let mut n: c_uint = 0;
    // SAFETY: a valid out-pointer.
    let rc = unsafe { count(&mut n) };
    if rc != 0 {
        return none(format!("{}: nvmlDeviceGetCount_v2: {}", lib.display(), api.describe(rc)));
    }
    if n == 0 {
        return none(format!("{}: NVML sees no NVIDIA GPU", lib.display()));
    }
    let (mut meters, mut probes) = (Vec::new(), Vec::new());
    for i in 0..n {
        let meter_name = format!("nvml:gpu{i}");
        let mut fail = |detail: String| probes.push(MeterProbe { name: meter_name.clone(), available: false, detail });
        let mut device: Device = std::ptr::null_mut();
        // SAFETY: index below the count, valid out-pointer.
        let rc = unsafe { handle(i, &mut device) };
        if rc != 0 {
            fail(format!("nvmlDeviceGetHandleByIndex_v2({i}): {}", api.describe(rc)));
            continue;
        }
        let device = Handle(device);
        let mut buf = [0 as c_char; NAME_LEN];
        // SAFETY: the buffer holds NAME_LEN bytes, as the length argument says.
        let gpu = match unsafe { name_of(device.0, buf.as_mut_ptr(), NAME_LEN as c_uint) } {
            // SAFETY: on success NVML wrote a NUL-terminated name within the buffer.
            0 => unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned(),
            _ => "unnamed GPU".to_string(),
        };
        let first = match read_energy(&api, &device) {
            Ok(mj) => mj,
            Err(NOT_SUPPORTED) => {
                fail(format!(
                    "{gpu}: nvmlDeviceGetTotalEnergyConsumption: NVML_ERROR_NOT_SUPPORTED (3): this GPU has no \
                     total-energy counter (Volta or newer has one)"
                ));
                continue;
            }
            Err(code) => {
                fail(format!("{gpu}: nvmlDeviceGetTotalEnergyConsumption: {}", api.describe(code)));
                continue;
            }
        };
        let source = format!("{} nvmlDeviceGetTotalEnergyConsumption, GPU {i} ({gpu})", lib.display());
        probes.push(MeterProbe { name: meter_name.clone(), available: true, detail: format!("Gpu scope, {source}") });
        let info = MeterInfo {
            name: meter_name,
            scope: Scope::Gpu,
            covers: vec![DeviceKind::Gpu],
            source,
            resolution_j: 1e-3,
            update_period_s: UPDATE_PERIOD_S,
            wrap_range_j: None,
        };
        let counter = WrappingCounter::new(first, 0).expect("a counter without a wrap range takes any value");
        meters.push(NvmlMeter { info, api: api.clone(), device, counter });
    }
    (meters, probes)
}
