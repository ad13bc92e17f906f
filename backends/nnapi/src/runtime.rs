//! The FFI calls: an [`NnModel`] into an `ANeuralNetworksModel`, its compilation (preference,
//! caching, device) and executions (host-memory inputs and outputs, compute or burst, timing).
//! Every result code is checked and becomes a typed error naming the entry point.

use crate::devices::DeviceHandle;
use crate::error::{backend_error, check};
use crate::ffi::{
    ANeuralNetworksBurst, ANeuralNetworksCompilation, ANeuralNetworksDevice, ANeuralNetworksModel,
    ANeuralNetworksOperandType, ANeuralNetworksSymmPerChannelQuantParams, duration,
};
use crate::health::Health;
use crate::model::NnModel;
use crate::options::NnapiOptions;
use crate::symbols::{LoadedLibrary, Symbols};
use edgehal::Result;
use std::ffi::c_void;
use std::sync::Arc;

/// The entry points, the library they come from (none for a test fake), and whether the service
/// behind them was lost. One per backend, shared by its models, compilations and executables.
pub struct Api {
    /// The entry points.
    pub symbols: Symbols,
    /// Lost or not (sticky): set by the first `ANEURALNETWORKS_DEAD_OBJECT` seen.
    pub(crate) health: Health,
    _library: Option<libloading::Library>,
}

impl Api {
    /// An API over `symbols` that outlive the process (a fake, or a library leaked elsewhere).
    pub fn from_symbols(symbols: Symbols) -> Self {
        Api { symbols, health: Health::default(), _library: None }
    }

    /// An API over an opened library.
    pub fn from_library(loaded: LoadedLibrary) -> Self {
        Api { symbols: loaded.symbols, health: Health::default(), _library: Some(loaded.library) }
    }

    /// [`check`] for a call through this API; a `DEAD_OBJECT` is also recorded, so that the
    /// backend stays lost (see [`crate::health`]).
    pub(crate) fn check(&self, function: &str, code: i32) -> Result<()> {
        check(function, code).map_err(|e| match e {
            edgehal::Error::DeviceLost { during, why, .. } => {
                let lost = self.health.mark_lost(&during, &why);
                tracing::error!("{lost}");
                lost
            }
            other => other,
        })
    }
}

/// A finished `ANeuralNetworksModel` and the description whose constant bytes it points at.
pub(crate) struct NativeModel {
    api: Arc<Api>,
    pub(crate) ptr: *mut ANeuralNetworksModel,
    /// NNAPI keeps pointers to constant values over 128 bytes: they live here as long as the model.
    _desc: Arc<NnModel>,
}

// SAFETY: a finished model is immutable and NNAPI allows using it from any thread; the pointer is
// only freed in `Drop`.
unsafe impl Send for NativeModel {}
// SAFETY: as above; after `finish` no call mutates the model.
unsafe impl Sync for NativeModel {}

impl Drop for NativeModel {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `ANeuralNetworksModel_create` and is freed once, here, after every
        // compilation using it (which hold the model) is gone.
        unsafe { (self.api.symbols.model_free)(self.ptr) }
    }
}

impl NativeModel {
    /// Creates the model: `addOperand` for every operand in order, `setOperandValue` (and the
    /// per-channel scales) for constants, `addOperation` for every operation,
    /// `identifyInputsAndOutputs`, `finish`.
    pub(crate) fn build(api: &Arc<Api>, desc: Arc<NnModel>) -> Result<Self> {
        let s = &api.symbols;
        let mut ptr = std::ptr::null_mut();
        // SAFETY: `ptr` is a valid out-pointer.
        api.check("ANeuralNetworksModel_create", unsafe { (s.model_create)(&mut ptr) })?;
        if ptr.is_null() {
            return Err(backend_error("ANeuralNetworksModel_create returned a null model"));
        }
        let model = NativeModel { api: api.clone(), ptr, _desc: desc.clone() };
        for (i, operand) in desc.operands.iter().enumerate() {
            let ty = ANeuralNetworksOperandType {
                type_: operand.code as i32,
                dimension_count: operand.dims.len() as u32,
                dimensions: if operand.dims.is_empty() { std::ptr::null() } else { operand.dims.as_ptr() },
                scale: operand.scale,
                zero_point: operand.zero_point,
            };
            // SAFETY: `ty` and the dimensions it points at are alive for the call (NNAPI copies them).
            api.check("ANeuralNetworksModel_addOperand", unsafe { (s.model_add_operand)(ptr, &ty) })?;
            if let Some(q) = &operand.channel_quant {
                let set = s.model_set_operand_symm_per_channel_quant_params.ok_or_else(|| {
                    backend_error("ANeuralNetworksModel_setOperandSymmPerChannelQuantParams is missing (Android < 10)")
                })?;
                let params = ANeuralNetworksSymmPerChannelQuantParams {
                    channel_dim: q.channel_dim,
                    scale_count: q.scales.len() as u32,
                    scales: q.scales.as_ptr(),
                };
                // SAFETY: `params` and its scales are alive for the call (NNAPI copies them).
                let code = unsafe { set(ptr, i as i32, &params) };
                api.check("ANeuralNetworksModel_setOperandSymmPerChannelQuantParams", code)?;
            }
            if let Some(value) = &operand.value {
                let bytes = value.as_slice();
                // SAFETY: the bytes live in `desc`, which `model` holds until the model is freed, as
                // NNAPI requires for values it does not copy.
                let code =
                    unsafe { (s.model_set_operand_value)(ptr, i as i32, bytes.as_ptr().cast::<c_void>(), bytes.len()) };
                api.check("ANeuralNetworksModel_setOperandValue", code)?;
            }
        }
        for op in &desc.operations {
            // SAFETY: the index arrays are alive for the call (NNAPI copies them).
            let code = unsafe {
                (s.model_add_operation)(
                    ptr,
                    op.code as i32,
                    op.inputs.len() as u32,
                    op.inputs.as_ptr(),
                    op.outputs.len() as u32,
                    op.outputs.as_ptr(),
                )
            };
            api.check("ANeuralNetworksModel_addOperation", code)?;
        }
        // SAFETY: the index arrays are alive for the call.
        let code = unsafe {
            (s.model_identify_inputs_and_outputs)(
                ptr,
                desc.inputs.len() as u32,
                desc.inputs.as_ptr(),
                desc.outputs.len() as u32,
                desc.outputs.as_ptr(),
            )
        };
        api.check("ANeuralNetworksModel_identifyInputsAndOutputs", code)?;
        // SAFETY: `ptr` is a model under construction.
        api.check("ANeuralNetworksModel_finish", unsafe { (s.model_finish)(ptr) })?;
        Ok(model)
    }

    /// `ANeuralNetworksModel_getSupportedOperationsForDevices` for one device: one flag per
    /// operation, or `None` when the runtime lacks the entry point.
    pub(crate) fn supported_operations(&self, device: DeviceHandle, operations: usize) -> Result<Option<Vec<bool>>> {
        let Some(f) = self.api.symbols.model_get_supported_operations_for_devices else { return Ok(None) };
        let mut flags = vec![false; operations];
        let devices = [device.0.cast_const()];
        // SAFETY: the model is finished, `devices` holds one valid device, `flags` has one slot per
        // operation of the model.
        let code = unsafe { f(self.ptr, devices.as_ptr(), 1, flags.as_mut_ptr()) };
        self.api.check("ANeuralNetworksModel_getSupportedOperationsForDevices", code)?;
        Ok(Some(flags))
    }
}

/// A finished compilation (holding its model) and, optionally, a burst for its executions.
pub(crate) struct NativeCompilation {
    api: Arc<Api>,
    ptr: *mut ANeuralNetworksCompilation,
    burst: Option<*mut ANeuralNetworksBurst>,
    /// Compiled for exactly one device (required for `setMeasureTiming`).
    pub(crate) single_device: bool,
    _model: NativeModel,
}

// SAFETY: a finished compilation may be used to create executions from any thread; executions of
// one compilation are serialised by `&mut self` in the executable that owns it.
unsafe impl Send for NativeCompilation {}

impl Drop for NativeCompilation {
    fn drop(&mut self) {
        if let (Some(burst), Some(free)) = (self.burst, self.api.symbols.burst_free) {
            // SAFETY: `burst` came from `ANeuralNetworksBurst_create` and is freed once, before its
            // compilation.
            unsafe { free(burst) }
        }
        // SAFETY: `ptr` came from compilation create and is freed once, after its executions.
        unsafe { (self.api.symbols.compilation_free)(self.ptr) }
    }
}

impl NativeCompilation {
    /// Compiles `model` for `device` (all of the runtime's devices when `None`): `create` or
    /// `createForDevices`, `setPreference`, `setCaching` (with `token`) when a cache directory is
    /// set, `finish`; then `ANeuralNetworksBurst_create` when bursts are asked for and exist.
    pub(crate) fn new(
        model: NativeModel,
        device: Option<DeviceHandle>,
        options: &NnapiOptions,
        token: &[u8; crate::ffi::CACHE_TOKEN_BYTES],
    ) -> Result<Self> {
        let api = model.api.clone();
        let s = &api.symbols;
        let mut ptr = std::ptr::null_mut();
        let single_device = match (device, s.compilation_create_for_devices) {
            (Some(dev), Some(create)) => {
                let devices: [*const ANeuralNetworksDevice; 1] = [dev.0.cast_const()];
                // SAFETY: the model is finished, `devices` holds one valid device, `ptr` is an out-pointer.
                let code = unsafe { create(model.ptr, devices.as_ptr(), 1, &mut ptr) };
                api.check("ANeuralNetworksCompilation_createForDevices", code)?;
                true
            }
            _ => {
                // SAFETY: the model is finished and `ptr` is an out-pointer.
                api.check("ANeuralNetworksCompilation_create", unsafe { (s.compilation_create)(model.ptr, &mut ptr) })?;
                false
            }
        };
        if ptr.is_null() {
            return Err(backend_error("NNAPI returned a null compilation"));
        }
        let mut compilation = NativeCompilation { api: api.clone(), ptr, burst: None, single_device, _model: model };
        // SAFETY: `ptr` is a compilation not yet finished.
        let code = unsafe { (s.compilation_set_preference)(ptr, options.preference.code()) };
        api.check("ANeuralNetworksCompilation_setPreference", code)?;
        if let Some(dir) = &options.cache_dir {
            let set = s
                .compilation_set_caching
                .ok_or_else(|| backend_error("ANeuralNetworksCompilation_setCaching is missing (Android < 10)"))?;
            let dir = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
                .map_err(|_| backend_error(format!("cache directory {} contains a NUL byte", dir.display())))?;
            // SAFETY: `dir` is NUL-terminated and `token` is CACHE_TOKEN_BYTES long; NNAPI copies both.
            api.check("ANeuralNetworksCompilation_setCaching", unsafe { set(ptr, dir.as_ptr(), token.as_ptr()) })?;
        }
        // SAFETY: `ptr` is a compilation not yet finished.
        api.check("ANeuralNetworksCompilation_finish", unsafe { (s.compilation_finish)(ptr) })?;
        if options.burst
            && let (Some(create), Some(_), Some(_)) = (s.burst_create, s.burst_free, s.execution_burst_compute)
        {
            let mut burst = std::ptr::null_mut();
            // SAFETY: the compilation is finished and `burst` is an out-pointer.
            api.check("ANeuralNetworksBurst_create", unsafe { create(ptr, &mut burst) })?;
            compilation.burst = (!burst.is_null()).then_some(burst);
        }
        Ok(compilation)
    }

    /// `Err(DeviceLost)` once the runtime this compilation came from was lost, naming `during`.
    pub(crate) fn check_lost(&self, during: &str) -> Result<()> {
        self.api.health.check(during)
    }

    /// One execution: `create`, `setInput` per input, `setOutput` per output (host memory,
    /// the model's own operand types), `setMeasureTiming` when `measure` and the compilation is for
    /// one device, `compute` or `burstCompute`, then `getDuration` (on hardware, else in driver).
    /// Returns the measured nanoseconds, `None` when the driver gives none.
    pub(crate) fn execute(
        &mut self,
        inputs: &[&[u8]],
        outputs: &mut [&mut [u8]],
        measure: bool,
    ) -> Result<Option<u64>> {
        let s = &self.api.symbols;
        let mut exec = std::ptr::null_mut();
        // SAFETY: the compilation is finished and `exec` is an out-pointer.
        self.api.check("ANeuralNetworksExecution_create", unsafe { (s.execution_create)(self.ptr, &mut exec) })?;
        if exec.is_null() {
            return Err(backend_error("ANeuralNetworksExecution_create returned a null execution"));
        }
        let free = s.execution_free;
        let _guard = Guard(move || {
            // SAFETY: `exec` came from `ANeuralNetworksExecution_create`; it is freed once, when this
            // function returns, after its computation has finished (compute is synchronous).
            unsafe { free(exec) }
        });
        for (i, bytes) in inputs.iter().enumerate() {
            // SAFETY: `bytes` outlives the synchronous compute below; a null type means the model's.
            let code = unsafe {
                (s.execution_set_input)(exec, i as i32, std::ptr::null(), bytes.as_ptr().cast(), bytes.len())
            };
            self.api.check("ANeuralNetworksExecution_setInput", code)?;
        }
        for (i, bytes) in outputs.iter_mut().enumerate() {
            // SAFETY: `bytes` is exclusively borrowed and outlives the synchronous compute below.
            let code = unsafe {
                (s.execution_set_output)(exec, i as i32, std::ptr::null(), bytes.as_mut_ptr().cast(), bytes.len())
            };
            self.api.check("ANeuralNetworksExecution_setOutput", code)?;
        }
        let timing = match (measure && self.single_device, s.execution_set_measure_timing, s.execution_get_duration) {
            (true, Some(set), Some(get)) => {
                // SAFETY: `exec` is an execution not yet started.
                self.api.check("ANeuralNetworksExecution_setMeasureTiming", unsafe { set(exec, true) })?;
                Some(get)
            }
            _ => None,
        };
        match (self.burst, s.execution_burst_compute) {
            (Some(burst), Some(compute)) => {
                // SAFETY: `burst` belongs to this execution's compilation; inputs and outputs are set.
                self.api.check("ANeuralNetworksExecution_burstCompute", unsafe { compute(exec, burst) })?;
            }
            _ => {
                // SAFETY: inputs and outputs are set; compute is synchronous.
                self.api.check("ANeuralNetworksExecution_compute", unsafe { (s.execution_compute)(exec) })?;
            }
        }
        let Some(get) = timing else { return Ok(None) };
        for which in [duration::ON_HARDWARE, duration::IN_DRIVER] {
            let mut ns = duration::UNAVAILABLE;
            // SAFETY: the execution has completed and `ns` is an out-pointer.
            self.api.check("ANeuralNetworksExecution_getDuration", unsafe { get(exec, which, &mut ns) })?;
            if ns != duration::UNAVAILABLE {
                return Ok(Some(ns));
            }
        }
        Ok(None)
    }
}

/// Runs a closure when dropped (frees an execution on every path out of `execute`).
struct Guard<F: FnMut()>(F);

impl<F: FnMut()> Drop for Guard<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}
