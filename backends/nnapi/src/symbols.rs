//! The table of NeuralNetworks entry points the backend calls, filled from `libneuralnetworks.so`
//! through libloading or, in tests, from a recording fake: both go through the same code.

use crate::error::unavailable;
use crate::ffi::*;
use edgehal::Result;
use std::path::Path;

/// One function pointer per entry point. The first group exists since Android 8.1 (feature
/// level 1, with `compute` since 10); the `Option` ones arrived later and may be missing.
#[derive(Copy, Clone, Debug)]
pub struct Symbols {
    /// `ANeuralNetworksModel_create`.
    pub model_create: ModelCreate,
    /// `ANeuralNetworksModel_free`.
    pub model_free: ModelFree,
    /// `ANeuralNetworksModel_finish`.
    pub model_finish: ModelFinish,
    /// `ANeuralNetworksModel_addOperand`.
    pub model_add_operand: ModelAddOperand,
    /// `ANeuralNetworksModel_setOperandValue`.
    pub model_set_operand_value: ModelSetOperandValue,
    /// `ANeuralNetworksModel_addOperation`.
    pub model_add_operation: ModelAddOperation,
    /// `ANeuralNetworksModel_identifyInputsAndOutputs`.
    pub model_identify_inputs_and_outputs: ModelIdentifyInputsAndOutputs,
    /// `ANeuralNetworksCompilation_create`.
    pub compilation_create: CompilationCreate,
    /// `ANeuralNetworksCompilation_free`.
    pub compilation_free: CompilationFree,
    /// `ANeuralNetworksCompilation_setPreference`.
    pub compilation_set_preference: CompilationSetPreference,
    /// `ANeuralNetworksCompilation_finish`.
    pub compilation_finish: CompilationFinish,
    /// `ANeuralNetworksExecution_create`.
    pub execution_create: ExecutionCreate,
    /// `ANeuralNetworksExecution_free`.
    pub execution_free: ExecutionFree,
    /// `ANeuralNetworksExecution_setInput`.
    pub execution_set_input: ExecutionSetInput,
    /// `ANeuralNetworksExecution_setOutput`.
    pub execution_set_output: ExecutionSetOutput,
    /// `ANeuralNetworksExecution_compute`.
    pub execution_compute: ExecutionCompute,
    /// `ANeuralNetworksModel_setOperandSymmPerChannelQuantParams`.
    pub model_set_operand_symm_per_channel_quant_params: Option<ModelSetOperandSymmPerChannelQuantParams>,
    /// `ANeuralNetworksModel_getSupportedOperationsForDevices`.
    pub model_get_supported_operations_for_devices: Option<ModelGetSupportedOperationsForDevices>,
    /// `ANeuralNetworksCompilation_createForDevices`.
    pub compilation_create_for_devices: Option<CompilationCreateForDevices>,
    /// `ANeuralNetworksCompilation_setCaching`.
    pub compilation_set_caching: Option<CompilationSetCaching>,
    /// `ANeuralNetworksExecution_setMeasureTiming`.
    pub execution_set_measure_timing: Option<ExecutionSetMeasureTiming>,
    /// `ANeuralNetworksExecution_getDuration`.
    pub execution_get_duration: Option<ExecutionGetDuration>,
    /// `ANeuralNetworksExecution_burstCompute`.
    pub execution_burst_compute: Option<ExecutionBurstCompute>,
    /// `ANeuralNetworksBurst_create`.
    pub burst_create: Option<BurstCreate>,
    /// `ANeuralNetworksBurst_free`.
    pub burst_free: Option<BurstFree>,
    /// `ANeuralNetworks_getDeviceCount`.
    pub get_device_count: Option<GetDeviceCount>,
    /// `ANeuralNetworks_getDevice`.
    pub get_device: Option<GetDevice>,
    /// `ANeuralNetworksDevice_getName`.
    pub device_get_name: Option<DeviceGetName>,
    /// `ANeuralNetworksDevice_getType`.
    pub device_get_type: Option<DeviceGetType>,
    /// `ANeuralNetworksDevice_getVersion`.
    pub device_get_version: Option<DeviceGetVersion>,
    /// `ANeuralNetworksDevice_getFeatureLevel`.
    pub device_get_feature_level: Option<DeviceGetFeatureLevel>,
    /// `ANeuralNetworks_getRuntimeFeatureLevel`.
    pub get_runtime_feature_level: Option<GetRuntimeFeatureLevel>,
}

/// The default library name, found through the dynamic loader's search path.
pub const DEFAULT_LIBRARY: &str = "libneuralnetworks.so";

/// An opened `libneuralnetworks.so` and the entry points read from it (which stay valid while
/// `library` is held).
pub struct LoadedLibrary {
    /// The entry points.
    pub symbols: Symbols,
    /// Keeps the library mapped.
    pub library: libloading::Library,
}

impl LoadedLibrary {
    /// Opens `path` and reads every entry point: a missing library or a missing required entry
    /// point is a typed "unavailable" error, never a panic.
    pub fn open(path: &Path) -> Result<Self> {
        // SAFETY: opening a shared library runs its initialisers; libneuralnetworks.so is a system
        // library whose initialisers have no preconditions on the caller.
        let library = unsafe { libloading::Library::new(path) }
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        let symbols = read_symbols(&library, path)?;
        Ok(LoadedLibrary { symbols, library })
    }
}

/// Reads a required entry point.
fn required<T: Copy>(library: &libloading::Library, path: &Path, name: &str) -> Result<T> {
    optional(library, name).ok_or_else(|| unavailable(format!("{} has no symbol {name}", path.display())))
}

/// Reads an entry point that older runtimes lack.
fn optional<T: Copy>(library: &libloading::Library, name: &str) -> Option<T> {
    // SAFETY: every call site names the `ffi` function-pointer type declared for that exact
    // NeuralNetworks entry point, so the symbol is read as the type it has.
    unsafe { library.get::<T>(name.as_bytes()).ok().map(|s| *s) }
}

fn read_symbols(lib: &libloading::Library, path: &Path) -> Result<Symbols> {
    Ok(Symbols {
        model_create: required(lib, path, "ANeuralNetworksModel_create")?,
        model_free: required(lib, path, "ANeuralNetworksModel_free")?,
        model_finish: required(lib, path, "ANeuralNetworksModel_finish")?,
        model_add_operand: required(lib, path, "ANeuralNetworksModel_addOperand")?,
        model_set_operand_value: required(lib, path, "ANeuralNetworksModel_setOperandValue")?,
        model_add_operation: required(lib, path, "ANeuralNetworksModel_addOperation")?,
        model_identify_inputs_and_outputs: required(lib, path, "ANeuralNetworksModel_identifyInputsAndOutputs")?,
        compilation_create: required(lib, path, "ANeuralNetworksCompilation_create")?,
        compilation_free: required(lib, path, "ANeuralNetworksCompilation_free")?,
        compilation_set_preference: required(lib, path, "ANeuralNetworksCompilation_setPreference")?,
        compilation_finish: required(lib, path, "ANeuralNetworksCompilation_finish")?,
        execution_create: required(lib, path, "ANeuralNetworksExecution_create")?,
        execution_free: required(lib, path, "ANeuralNetworksExecution_free")?,
        execution_set_input: required(lib, path, "ANeuralNetworksExecution_setInput")?,
        execution_set_output: required(lib, path, "ANeuralNetworksExecution_setOutput")?,
        execution_compute: required(lib, path, "ANeuralNetworksExecution_compute")?,
        model_set_operand_symm_per_channel_quant_params: optional(
            lib,
            "ANeuralNetworksModel_setOperandSymmPerChannelQuantParams",
        ),
        model_get_supported_operations_for_devices: optional(
            lib,
            "ANeuralNetworksModel_getSupportedOperationsForDevices",
        ),
        compilation_create_for_devices: optional(lib, "ANeuralNetworksCompilation_createForDevices"),
        compilation_set_caching: optional(lib, "ANeuralNetworksCompilation_setCaching"),
        execution_set_measure_timing: optional(lib, "ANeuralNetworksExecution_setMeasureTiming"),
        execution_get_duration: optional(lib, "ANeuralNetworksExecution_getDuration"),
        execution_burst_compute: optional(lib, "ANeuralNetworksExecution_burstCompute"),
        burst_create: optional(lib, "ANeuralNetworksBurst_create"),
        burst_free: optional(lib, "ANeuralNetworksBurst_free"),
        get_device_count: optional(lib, "ANeuralNetworks_getDeviceCount"),
        get_device: optional(lib, "ANeuralNetworks_getDevice"),
        device_get_name: optional(lib, "ANeuralNetworksDevice_getName"),
        device_get_type: optional(lib, "ANeuralNetworksDevice_getType"),
        device_get_version: optional(lib, "ANeuralNetworksDevice_getVersion"),
        device_get_feature_level: optional(lib, "ANeuralNetworksDevice_getFeatureLevel"),
        get_runtime_feature_level: optional(lib, "ANeuralNetworks_getRuntimeFeatureLevel"),
    })
}
