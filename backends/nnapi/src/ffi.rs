//! The parts of the NDK's NeuralNetworks C API (`NeuralNetworks.h`) this backend calls: opaque
//! handle types, the structs passed by pointer, the enum values, and one function-pointer type per
//! entry point. Written from the documented API; nothing here is linked: [`crate::symbols`] fills a
//! table of these pointers from `libneuralnetworks.so` at run time (or from a test fake).

use std::ffi::{c_char, c_void};

/// `ANeuralNetworksModel` (opaque).
#[repr(C)]
pub struct ANeuralNetworksModel {
    _opaque: [u8; 0],
}

/// `ANeuralNetworksCompilation` (opaque).
#[repr(C)]
pub struct ANeuralNetworksCompilation {
    _opaque: [u8; 0],
}

/// `ANeuralNetworksExecution` (opaque).
#[repr(C)]
pub struct ANeuralNetworksExecution {
    _opaque: [u8; 0],
}

/// `ANeuralNetworksBurst` (opaque; API level 29).
#[repr(C)]
pub struct ANeuralNetworksBurst {
    _opaque: [u8; 0],
}

/// `ANeuralNetworksDevice` (opaque; API level 29). Devices live as long as the process.
#[repr(C)]
pub struct ANeuralNetworksDevice {
    _opaque: [u8; 0],
}

/// `ANeuralNetworksOperandType`: an operand's type, dimensions and quantization.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct ANeuralNetworksOperandType {
    /// An `ANEURALNETWORKS_*` operand code.
    pub type_: i32,
    /// Number of dimensions (0 for scalars).
    pub dimension_count: u32,
    /// The dimensions (null for scalars).
    pub dimensions: *const u32,
    /// Quantization scale (0 for float types).
    pub scale: f32,
    /// Quantization zero point.
    pub zero_point: i32,
}

/// `ANeuralNetworksSymmPerChannelQuantParams`: the scales of a
/// `TENSOR_QUANT8_SYMM_PER_CHANNEL` operand.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct ANeuralNetworksSymmPerChannelQuantParams {
    /// The dimension the scales run along.
    pub channel_dim: u32,
    /// Number of scales (`dimensions[channel_dim]`).
    pub scale_count: u32,
    /// The scales, each > 0.
    pub scales: *const f32,
}

/// Result codes (`ResultCode`).
pub mod result {
    /// `ANEURALNETWORKS_NO_ERROR`.
    pub const NO_ERROR: i32 = 0;
    /// `ANEURALNETWORKS_OUT_OF_MEMORY`.
    pub const OUT_OF_MEMORY: i32 = 1;
    /// `ANEURALNETWORKS_INCOMPLETE`.
    pub const INCOMPLETE: i32 = 2;
    /// `ANEURALNETWORKS_UNEXPECTED_NULL`.
    pub const UNEXPECTED_NULL: i32 = 3;
    /// `ANEURALNETWORKS_BAD_DATA`.
    pub const BAD_DATA: i32 = 4;
    /// `ANEURALNETWORKS_OP_FAILED`.
    pub const OP_FAILED: i32 = 5;
    /// `ANEURALNETWORKS_BAD_STATE`.
    pub const BAD_STATE: i32 = 6;
    /// `ANEURALNETWORKS_UNMAPPABLE`.
    pub const UNMAPPABLE: i32 = 7;
    /// `ANEURALNETWORKS_OUTPUT_INSUFFICIENT_SIZE`.
    pub const OUTPUT_INSUFFICIENT_SIZE: i32 = 8;
    /// `ANEURALNETWORKS_UNAVAILABLE_DEVICE`.
    pub const UNAVAILABLE_DEVICE: i32 = 9;
    /// `ANEURALNETWORKS_MISSED_DEADLINE_TRANSIENT`.
    pub const MISSED_DEADLINE_TRANSIENT: i32 = 10;
    /// `ANEURALNETWORKS_MISSED_DEADLINE_PERSISTENT`.
    pub const MISSED_DEADLINE_PERSISTENT: i32 = 11;
    /// `ANEURALNETWORKS_RESOURCE_EXHAUSTED_TRANSIENT`.
    pub const RESOURCE_EXHAUSTED_TRANSIENT: i32 = 12;
    /// `ANEURALNETWORKS_RESOURCE_EXHAUSTED_PERSISTENT`.
    pub const RESOURCE_EXHAUSTED_PERSISTENT: i32 = 13;
    /// `ANEURALNETWORKS_DEAD_OBJECT`.
    pub const DEAD_OBJECT: i32 = 14;

    /// The `ANEURALNETWORKS_*` name of a result code.
    pub fn name(code: i32) -> &'static str {
        match code {
            NO_ERROR => "ANEURALNETWORKS_NO_ERROR",
            OUT_OF_MEMORY => "ANEURALNETWORKS_OUT_OF_MEMORY",
            INCOMPLETE => "ANEURALNETWORKS_INCOMPLETE",
            UNEXPECTED_NULL => "ANEURALNETWORKS_UNEXPECTED_NULL",
            BAD_DATA => "ANEURALNETWORKS_BAD_DATA",
            OP_FAILED => "ANEURALNETWORKS_OP_FAILED",
            BAD_STATE => "ANEURALNETWORKS_BAD_STATE",
            UNMAPPABLE => "ANEURALNETWORKS_UNMAPPABLE",
            OUTPUT_INSUFFICIENT_SIZE => "ANEURALNETWORKS_OUTPUT_INSUFFICIENT_SIZE",
            UNAVAILABLE_DEVICE => "ANEURALNETWORKS_UNAVAILABLE_DEVICE",
            MISSED_DEADLINE_TRANSIENT => "ANEURALNETWORKS_MISSED_DEADLINE_TRANSIENT",
            MISSED_DEADLINE_PERSISTENT => "ANEURALNETWORKS_MISSED_DEADLINE_PERSISTENT",
            RESOURCE_EXHAUSTED_TRANSIENT => "ANEURALNETWORKS_RESOURCE_EXHAUSTED_TRANSIENT",
            RESOURCE_EXHAUSTED_PERSISTENT => "ANEURALNETWORKS_RESOURCE_EXHAUSTED_PERSISTENT",
            DEAD_OBJECT => "ANEURALNETWORKS_DEAD_OBJECT",
            _ => "an unknown result code",
        }
    }
}

/// `ANEURALNETWORKS_FUSED_NONE`: no fused activation.
pub const FUSED_NONE: i32 = 0;

/// Device types (`DeviceTypeCode`).
pub mod device_type {
    /// `ANEURALNETWORKS_DEVICE_UNKNOWN`.
    pub const UNKNOWN: i32 = 0;
    /// `ANEURALNETWORKS_DEVICE_OTHER`.
    pub const OTHER: i32 = 1;
    /// `ANEURALNETWORKS_DEVICE_CPU`.
    pub const CPU: i32 = 2;
    /// `ANEURALNETWORKS_DEVICE_GPU`.
    pub const GPU: i32 = 3;
    /// `ANEURALNETWORKS_DEVICE_ACCELERATOR`.
    pub const ACCELERATOR: i32 = 4;
}

/// Durations (`DurationCode`) for `ANeuralNetworksExecution_getDuration`.
pub mod duration {
    /// `ANEURALNETWORKS_DURATION_ON_HARDWARE`: time on the accelerator.
    pub const ON_HARDWARE: i32 = 0;
    /// `ANEURALNETWORKS_DURATION_IN_DRIVER`: time in the driver, hardware included.
    pub const IN_DRIVER: i32 = 1;
    /// What `getDuration` reports when it has no measurement.
    pub const UNAVAILABLE: u64 = u64::MAX;
}

/// Feature levels (`FeatureLevelCode`), as `getFeatureLevel` and `getRuntimeFeatureLevel` report.
pub mod feature_level {
    /// `ANEURALNETWORKS_FEATURE_LEVEL_1` (Android 8.1).
    pub const FL1: i64 = 27;
    /// `ANEURALNETWORKS_FEATURE_LEVEL_2` (Android 9).
    pub const FL2: i64 = 28;
    /// `ANEURALNETWORKS_FEATURE_LEVEL_3` (Android 10).
    pub const FL3: i64 = 29;
    /// `ANEURALNETWORKS_FEATURE_LEVEL_4` (Android 11).
    pub const FL4: i64 = 30;
    /// `ANEURALNETWORKS_FEATURE_LEVEL_5` (Android 12).
    pub const FL5: i64 = 31;
    /// `ANEURALNETWORKS_FEATURE_LEVEL_6`.
    pub const FL6: i64 = 1_000_006;
    /// `ANEURALNETWORKS_FEATURE_LEVEL_7`.
    pub const FL7: i64 = 1_000_007;
    /// `ANEURALNETWORKS_FEATURE_LEVEL_8`.
    pub const FL8: i64 = 1_000_008;
}

/// `ANEURALNETWORKS_BYTE_SIZE_OF_CACHE_TOKEN`.
pub const CACHE_TOKEN_BYTES: usize = 32;

/// `ANeuralNetworksModel_create`.
pub type ModelCreate = unsafe extern "C" fn(model: *mut *mut ANeuralNetworksModel) -> i32;
/// `ANeuralNetworksModel_free`.
pub type ModelFree = unsafe extern "C" fn(model: *mut ANeuralNetworksModel);
/// `ANeuralNetworksModel_finish`.
pub type ModelFinish = unsafe extern "C" fn(model: *mut ANeuralNetworksModel) -> i32;
/// `ANeuralNetworksModel_addOperand`.
pub type ModelAddOperand =
    unsafe extern "C" fn(model: *mut ANeuralNetworksModel, type_: *const ANeuralNetworksOperandType) -> i32;
/// `ANeuralNetworksModel_setOperandValue`.
pub type ModelSetOperandValue =
    unsafe extern "C" fn(model: *mut ANeuralNetworksModel, index: i32, buffer: *const c_void, length: usize) -> i32;
/// `ANeuralNetworksModel_setOperandSymmPerChannelQuantParams` (API level 29).
pub type ModelSetOperandSymmPerChannelQuantParams = unsafe extern "C" fn(
    model: *mut ANeuralNetworksModel,
    index: i32,
    channel_quant: *const ANeuralNetworksSymmPerChannelQuantParams,
) -> i32;
/// `ANeuralNetworksModel_addOperation`.
pub type ModelAddOperation = unsafe extern "C" fn(
    model: *mut ANeuralNetworksModel,
    type_: i32,
    input_count: u32,
    inputs: *const u32,
    output_count: u32,
    outputs: *const u32,
) -> i32;
/// `ANeuralNetworksModel_identifyInputsAndOutputs`.
pub type ModelIdentifyInputsAndOutputs = unsafe extern "C" fn(
    model: *mut ANeuralNetworksModel,
    input_count: u32,
    inputs: *const u32,
    output_count: u32,
    outputs: *const u32,
) -> i32;
/// `ANeuralNetworksModel_getSupportedOperationsForDevices` (API level 29).
pub type ModelGetSupportedOperationsForDevices = unsafe extern "C" fn(
    model: *const ANeuralNetworksModel,
    devices: *const *const ANeuralNetworksDevice,
    num_devices: u32,
    supported_ops: *mut bool,
) -> i32;

/// `ANeuralNetworksCompilation_create`.
pub type CompilationCreate =
    unsafe extern "C" fn(model: *mut ANeuralNetworksModel, compilation: *mut *mut ANeuralNetworksCompilation) -> i32;
/// `ANeuralNetworksCompilation_createForDevices` (API level 29).
pub type CompilationCreateForDevices = unsafe extern "C" fn(
    model: *mut ANeuralNetworksModel,
    devices: *const *const ANeuralNetworksDevice,
    num_devices: u32,
    compilation: *mut *mut ANeuralNetworksCompilation,
) -> i32;
/// `ANeuralNetworksCompilation_free`.
pub type CompilationFree = unsafe extern "C" fn(compilation: *mut ANeuralNetworksCompilation);
/// `ANeuralNetworksCompilation_setPreference`.
pub type CompilationSetPreference =
    unsafe extern "C" fn(compilation: *mut ANeuralNetworksCompilation, preference: i32) -> i32;
/// `ANeuralNetworksCompilation_setCaching` (API level 29): `token` is
/// [`CACHE_TOKEN_BYTES`] long.
pub type CompilationSetCaching = unsafe extern "C" fn(
    compilation: *mut ANeuralNetworksCompilation,
    cache_dir: *const c_char,
    token: *const u8,
) -> i32;
/// `ANeuralNetworksCompilation_finish`.
pub type CompilationFinish = unsafe extern "C" fn(compilation: *mut ANeuralNetworksCompilation) -> i32;

/// `ANeuralNetworksExecution_create`.
pub type ExecutionCreate = unsafe extern "C" fn(
    compilation: *mut ANeuralNetworksCompilation,
    execution: *mut *mut ANeuralNetworksExecution,
) -> i32;
/// `ANeuralNetworksExecution_free`.
pub type ExecutionFree = unsafe extern "C" fn(execution: *mut ANeuralNetworksExecution);
/// `ANeuralNetworksExecution_setInput`.
pub type ExecutionSetInput = unsafe extern "C" fn(
    execution: *mut ANeuralNetworksExecution,
    index: i32,
    type_: *const ANeuralNetworksOperandType,
    buffer: *const c_void,
    length: usize,
) -> i32;
/// `ANeuralNetworksExecution_setOutput`.
pub type ExecutionSetOutput = unsafe extern "C" fn(
    execution: *mut ANeuralNetworksExecution,
    index: i32,
    type_: *const ANeuralNetworksOperandType,
    buffer: *mut c_void,
    length: usize,
) -> i32;
/// `ANeuralNetworksExecution_compute` (API level 29).
pub type ExecutionCompute = unsafe extern "C" fn(execution: *mut ANeuralNetworksExecution) -> i32;
/// `ANeuralNetworksExecution_setMeasureTiming` (API level 29).
pub type ExecutionSetMeasureTiming =
    unsafe extern "C" fn(execution: *mut ANeuralNetworksExecution, measure: bool) -> i32;
/// `ANeuralNetworksExecution_getDuration` (API level 29), in nanoseconds.
pub type ExecutionGetDuration =
    unsafe extern "C" fn(execution: *const ANeuralNetworksExecution, duration_code: i32, duration: *mut u64) -> i32;
/// `ANeuralNetworksExecution_burstCompute` (API level 29).
pub type ExecutionBurstCompute =
    unsafe extern "C" fn(execution: *mut ANeuralNetworksExecution, burst: *mut ANeuralNetworksBurst) -> i32;

/// `ANeuralNetworksBurst_create` (API level 29).
pub type BurstCreate =
    unsafe extern "C" fn(compilation: *mut ANeuralNetworksCompilation, burst: *mut *mut ANeuralNetworksBurst) -> i32;
/// `ANeuralNetworksBurst_free` (API level 29).
pub type BurstFree = unsafe extern "C" fn(burst: *mut ANeuralNetworksBurst);

/// `ANeuralNetworks_getDeviceCount` (API level 29).
pub type GetDeviceCount = unsafe extern "C" fn(num_devices: *mut u32) -> i32;
/// `ANeuralNetworks_getDevice` (API level 29).
pub type GetDevice = unsafe extern "C" fn(index: u32, device: *mut *mut ANeuralNetworksDevice) -> i32;
/// `ANeuralNetworksDevice_getName` (API level 29).
pub type DeviceGetName = unsafe extern "C" fn(device: *const ANeuralNetworksDevice, name: *mut *const c_char) -> i32;
/// `ANeuralNetworksDevice_getType` (API level 29).
pub type DeviceGetType = unsafe extern "C" fn(device: *const ANeuralNetworksDevice, type_: *mut i32) -> i32;
/// `ANeuralNetworksDevice_getVersion` (API level 29).
pub type DeviceGetVersion =
    unsafe extern "C" fn(device: *const ANeuralNetworksDevice, version: *mut *const c_char) -> i32;
/// `ANeuralNetworksDevice_getFeatureLevel` (API level 29).
pub type DeviceGetFeatureLevel =
    unsafe extern "C" fn(device: *const ANeuralNetworksDevice, feature_level: *mut i64) -> i32;
/// `ANeuralNetworks_getRuntimeFeatureLevel` (API level 31).
pub type GetRuntimeFeatureLevel = unsafe extern "C" fn() -> i64;
