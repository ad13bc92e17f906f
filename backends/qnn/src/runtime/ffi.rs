//! `#[repr(C)]` declarations of the parts of Qualcomm's QNN C API this runtime uses, written from
//! the documented API (`QnnInterface.h`, `QnnTypes.h`, `QnnCommon.h`, `QnnGraph.h`, `QnnProfile.h`,
//! `QnnLog.h`, `QnnHtpGraph.h`): struct layouts, enum values and the order of the function table in
//! `QnnInterface_t`. The layouts are checked by the `size_of`/`offset_of` tests at the bottom and,
//! above all, by running against the real libraries (`tests/runtime.rs`).

use std::ffi::{c_char, c_void};

/// `Qnn_ErrorHandle_t`: the low 16 bits are the error code (`QNN_GET_ERROR_CODE`).
pub type ErrorHandle = u64;
/// Any QNN handle (`Qnn_Handle_t` and its aliases).
pub type Handle = *mut c_void;

/// `QNN_SUCCESS`.
pub const SUCCESS: ErrorHandle = 0;

/// `Qnn_Version_t`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

/// `Qnn_ApiVersion_t`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiVersion {
    pub core: Version,
    pub backend: Version,
}

// Qnn_DataType_t values.
pub const DATATYPE_INT_32: u32 = 0x0032;
pub const DATATYPE_UINT_32: u32 = 0x0132;
pub const DATATYPE_FLOAT_16: u32 = 0x0216;
pub const DATATYPE_FLOAT_32: u32 = 0x0232;
pub const DATATYPE_SFIXED_POINT_8: u32 = 0x0308;
pub const DATATYPE_UFIXED_POINT_8: u32 = 0x0408;
pub const DATATYPE_BOOL_8: u32 = 0x0508;

// Qnn_TensorType_t values.
pub const TENSOR_TYPE_APP_WRITE: u32 = 0;
pub const TENSOR_TYPE_APP_READ: u32 = 1;
pub const TENSOR_TYPE_NATIVE: u32 = 3;
pub const TENSOR_TYPE_STATIC: u32 = 4;

/// `QNN_TENSOR_DATA_FORMAT_DENSE`.
pub const TENSOR_DATA_FORMAT_DENSE: u32 = 0;
/// `QNN_TENSORMEMTYPE_RAW`.
pub const TENSORMEMTYPE_RAW: u32 = 0;
/// `QNN_TENSOR_VERSION_1`.
pub const TENSOR_VERSION_1: u32 = 1;

// Qnn_Definition_t / Qnn_QuantizationEncoding_t values.
pub const DEFINITION_DEFINED: u32 = 1;
pub const DEFINITION_UNDEFINED: u32 = 0x7FFF_FFFF;
pub const QUANTIZATION_ENCODING_SCALE_OFFSET: u32 = 0;
pub const QUANTIZATION_ENCODING_AXIS_SCALE_OFFSET: u32 = 1;
pub const QUANTIZATION_ENCODING_UNDEFINED: u32 = 0x7FFF_FFFF;

// Qnn_ParamType_t values.
pub const PARAMTYPE_SCALAR: u32 = 0;
pub const PARAMTYPE_TENSOR: u32 = 1;

/// `QNN_OPCONFIG_VERSION_1`.
pub const OPCONFIG_VERSION_1: u32 = 1;

/// `Qnn_ScaleOffset_t`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct ScaleOffset {
    pub scale: f32,
    pub offset: i32,
}

/// `Qnn_AxisScaleOffset_t`.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct AxisScaleOffset {
    pub axis: i32,
    pub num_scale_offsets: u32,
    pub scale_offset: *mut ScaleOffset,
}

/// The encoding union of `Qnn_QuantizeParams_t`; its largest member (`Qnn_BwAxisScaleOffset_t`)
/// is 32 bytes.
#[repr(C)]
#[derive(Copy, Clone)]
pub union QuantEncoding {
    pub scale_offset: ScaleOffset,
    pub axis_scale_offset: AxisScaleOffset,
    pub _size: [u64; 4],
}

/// `Qnn_QuantizeParams_t`.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct QuantizeParams {
    pub encoding_definition: u32,
    pub quantization_encoding: u32,
    pub encoding: QuantEncoding,
}

impl QuantizeParams {
    /// `QNN_QUANTIZE_PARAMS_INIT`: no quantization.
    pub const NONE: QuantizeParams = QuantizeParams {
        encoding_definition: DEFINITION_UNDEFINED,
        quantization_encoding: QUANTIZATION_ENCODING_UNDEFINED,
        encoding: QuantEncoding { _size: [0; 4] },
    };
}

/// `Qnn_ClientBuffer_t`.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct ClientBuffer {
    pub data: *mut c_void,
    pub data_size: u32,
}

/// `Qnn_SparseParams_t` (only its size matters here).
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct SparseParams {
    pub layout: u32,
    pub num_specified_elements: u32,
    pub num_sparse_dimensions: u32,
}

/// `Qnn_TensorV2_t`. Its leading fields are exactly `Qnn_TensorV1_t`, which is what this runtime
/// fills in (with `version = QNN_TENSOR_VERSION_1`); the V2 tail is declared so that
/// `Qnn_Tensor_t` has the size backends use as the stride of tensor arrays.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct TensorV2 {
    pub id: u32,
    pub name: *const c_char,
    pub tensor_type: u32,
    pub data_format: u32,
    pub data_type: u32,
    pub quantize_params: QuantizeParams,
    pub rank: u32,
    pub dimensions: *mut u32,
    pub mem_type: u32,
    pub client_buf: ClientBuffer,
    pub is_dynamic_dimensions: *mut u8,
    pub sparse_params: SparseParams,
    pub is_produced: u8,
}

/// `Qnn_Tensor_t`.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct Tensor {
    pub version: u32,
    pub v: TensorV2,
}

/// The value union of `Qnn_Scalar_t`.
#[repr(C)]
#[derive(Copy, Clone)]
pub union ScalarValue {
    pub f32_value: f32,
    pub u32_value: u32,
    pub i32_value: i32,
    pub u8_value: u8,
    pub u64_value: u64,
    pub f64_value: f64,
}

/// `Qnn_Scalar_t`.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct Scalar {
    pub data_type: u32,
    pub value: ScalarValue,
}

/// The value union of `Qnn_Param_t`.
#[repr(C)]
#[derive(Copy, Clone)]
pub union ParamValue {
    pub scalar: Scalar,
    pub tensor: Tensor,
}

/// `Qnn_Param_t`.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct Param {
    pub param_type: u32,
    pub name: *const c_char,
    pub value: ParamValue,
}

/// `Qnn_OpConfigV1_t`.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct OpConfigV1 {
    pub name: *const c_char,
    pub package_name: *const c_char,
    pub type_name: *const c_char,
    pub num_of_params: u32,
    pub params: *mut Param,
    pub num_of_inputs: u32,
    pub input_tensors: *mut Tensor,
    pub num_of_outputs: u32,
    pub output_tensors: *mut Tensor,
}

/// `Qnn_OpConfig_t` (passed by value).
#[repr(C)]
#[derive(Copy, Clone)]
pub struct OpConfig {
    pub version: u32,
    pub v1: OpConfigV1,
}

// QnnGraph_ConfigOption_t values.
pub const GRAPH_CONFIG_OPTION_CUSTOM: u32 = 0;

/// `QnnGraph_Config_t`: option plus an 8-byte union (here always the custom-config pointer).
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct GraphConfig {
    pub option: u32,
    pub custom_config: *mut c_void,
}

// QnnHtpGraph_ConfigOption_t and Qnn_Precision_t values.
pub const HTP_GRAPH_CONFIG_OPTION_PRECISION: u32 = 2;
pub const PRECISION_FLOAT16: u32 = 1;

/// `QnnHtpGraph_CustomConfig_t`: option plus a union whose members grow between SDK versions; the
/// backend reads only the member `option` names (`precision`, a `Qnn_Precision_t`, at offset 8),
/// the rest is zero padding. The union holds 64-bit members, so it starts at offset 8.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct HtpGraphCustomConfig {
    pub option: u32,
    pub _align: u32,
    pub precision: u32,
    pub _rest: [u32; 15],
}

// QnnProfile levels and event units.
pub const PROFILE_LEVEL_DETAILED: u32 = 2;

/// `QnnProfile_EventData_t`.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct ProfileEventData {
    pub event_type: u32,
    pub unit: u32,
    pub value: u64,
    pub identifier: *const c_char,
}

/// `QnnProfile_ExtendedEventData_t` (version 1): the value is a `Qnn_Scalar_t` for time, byte,
/// cycle and count units, or a backend opaque object (24 bytes, the size of the union).
#[repr(C)]
#[derive(Copy, Clone)]
pub struct ProfileExtendedEventData {
    pub version: u32,
    /// The version-1 member of the union starts at offset 8 (it holds 64-bit fields).
    pub _align: u32,
    pub event_type: u32,
    pub unit: u32,
    pub value: Scalar,
    pub _opaque_rest: u64,
    pub timestamp: u64,
    pub identifier: *const c_char,
}

// More Qnn_DataType_t values, for extended profile values.
pub const DATATYPE_INT_64: u32 = 0x0064;
pub const DATATYPE_UINT_64: u32 = 0x0164;
pub const DATATYPE_FLOAT_64: u32 = 0x0264;

/// `QNN_PROFILE_DATA_VERSION_1`.
pub const PROFILE_DATA_VERSION_1: u32 = 1;

/// `QnnLog_Callback_t`; `args` is the `va_list` (an array type on x86-64, so it arrives as a
/// pointer; on AArch64 the 32-byte struct is passed by reference), handed on to `vsnprintf`.
pub type LogCallback = unsafe extern "C" fn(fmt: *const c_char, level: u32, timestamp: u64, args: *mut c_void);

/// A table slot this runtime never calls.
pub type Unused = *const c_void;

/// `QNN_INTERFACE_VER_TYPE` (`QnnInterface_ImplementationV2_x_t`) for core API 2.x with x >= 20:
/// the function pointers in the documented order, up to `signalFree` (later entries, appended in
/// newer minor versions, are not declared and never read).
#[repr(C)]
pub struct InterfaceTable {
    pub property_has_capability: Unused,
    pub backend_create:
        Option<unsafe extern "C" fn(log: Handle, config: *const *const c_void, backend: *mut Handle) -> ErrorHandle>,
    pub backend_set_config: Unused,
    pub backend_get_api_version: Option<unsafe extern "C" fn(version: *mut ApiVersion) -> ErrorHandle>,
    pub backend_get_build_id: Option<unsafe extern "C" fn(id: *mut *const c_char) -> ErrorHandle>,
    pub backend_register_op_package: Unused,
    pub backend_get_supported_operations: Unused,
    pub backend_validate_op_config: Option<unsafe extern "C" fn(backend: Handle, op: OpConfig) -> ErrorHandle>,
    pub backend_free: Option<unsafe extern "C" fn(backend: Handle) -> ErrorHandle>,
    pub context_create: Option<
        unsafe extern "C" fn(
            backend: Handle,
            device: Handle,
            config: *const *const c_void,
            context: *mut Handle,
        ) -> ErrorHandle,
    >,
    pub context_set_config: Unused,
    pub context_get_binary_size: Option<unsafe extern "C" fn(context: Handle, size: *mut u64) -> ErrorHandle>,
    pub context_get_binary:
        Option<unsafe extern "C" fn(context: Handle, buffer: *mut c_void, size: u64, written: *mut u64) -> ErrorHandle>,
    pub context_create_from_binary: Option<
        unsafe extern "C" fn(
            backend: Handle,
            device: Handle,
            config: *const *const c_void,
            buffer: *const c_void,
            size: u64,
            context: *mut Handle,
            profile: Handle,
        ) -> ErrorHandle,
    >,
    pub context_free: Option<unsafe extern "C" fn(context: Handle, profile: Handle) -> ErrorHandle>,
    pub graph_create: Option<
        unsafe extern "C" fn(
            context: Handle,
            name: *const c_char,
            config: *const *const GraphConfig,
            graph: *mut Handle,
        ) -> ErrorHandle,
    >,
    pub graph_create_subgraph: Unused,
    pub graph_set_config: Unused,
    pub graph_add_node: Option<unsafe extern "C" fn(graph: Handle, op: OpConfig) -> ErrorHandle>,
    pub graph_finalize: Option<unsafe extern "C" fn(graph: Handle, profile: Handle, signal: Handle) -> ErrorHandle>,
    pub graph_retrieve:
        Option<unsafe extern "C" fn(context: Handle, name: *const c_char, graph: *mut Handle) -> ErrorHandle>,
    pub graph_execute: Option<
        unsafe extern "C" fn(
            graph: Handle,
            inputs: *const Tensor,
            num_inputs: u32,
            outputs: *mut Tensor,
            num_outputs: u32,
            profile: Handle,
            signal: Handle,
        ) -> ErrorHandle,
    >,
    pub graph_execute_async: Unused,
    pub tensor_create_context_tensor: Unused,
    pub tensor_create_graph_tensor: Option<unsafe extern "C" fn(graph: Handle, tensor: *mut Tensor) -> ErrorHandle>,
    pub log_create:
        Option<unsafe extern "C" fn(callback: Option<LogCallback>, max_level: u32, log: *mut Handle) -> ErrorHandle>,
    pub log_set_log_level: Unused,
    pub log_free: Option<unsafe extern "C" fn(log: Handle) -> ErrorHandle>,
    pub profile_create: Option<unsafe extern "C" fn(backend: Handle, level: u32, profile: *mut Handle) -> ErrorHandle>,
    pub profile_set_config: Unused,
    pub profile_get_events:
        Option<unsafe extern "C" fn(profile: Handle, events: *mut *const u64, num: *mut u32) -> ErrorHandle>,
    pub profile_get_sub_events:
        Option<unsafe extern "C" fn(event: u64, events: *mut *const u64, num: *mut u32) -> ErrorHandle>,
    pub profile_get_event_data: Option<unsafe extern "C" fn(event: u64, data: *mut ProfileEventData) -> ErrorHandle>,
    pub profile_get_extended_event_data:
        Option<unsafe extern "C" fn(event: u64, data: *mut ProfileExtendedEventData) -> ErrorHandle>,
    pub profile_free: Option<unsafe extern "C" fn(profile: Handle) -> ErrorHandle>,
    pub mem_register: Unused,
    pub mem_de_register: Unused,
    pub device_get_platform_info: Unused,
    pub device_free_platform_info: Unused,
    pub device_get_infrastructure: Unused,
    pub device_create:
        Option<unsafe extern "C" fn(log: Handle, config: *const *const c_void, device: *mut Handle) -> ErrorHandle>,
    pub device_set_config: Unused,
    pub device_get_info: Unused,
    pub device_free: Option<unsafe extern "C" fn(device: Handle) -> ErrorHandle>,
    pub signal_create: Unused,
    pub signal_set_config: Unused,
    pub signal_trigger: Unused,
    pub signal_free: Unused,
}

/// `QnnInterface_t`: one provider of the interface; the function table follows the version.
#[repr(C)]
pub struct InterfaceProvider {
    pub backend_id: u32,
    pub provider_name: *const c_char,
    pub api_version: ApiVersion,
    pub table: InterfaceTable,
}

/// `QnnInterface_getProviders`, the one symbol looked up by name.
pub type GetProvidersFn =
    unsafe extern "C" fn(providers: *mut *const *const InterfaceProvider, num: *mut u32) -> ErrorHandle;

/// The symbol name of [`GetProvidersFn`].
pub const GET_PROVIDERS_SYMBOL: &[u8] = b"QnnInterface_getProviders\0";

/// `QnnSystemContext_GraphInfo_t`, read through its common V1 prefix (later versions append
/// fields, so only the first entry of an array is read).
#[repr(C)]
pub struct SystemGraphInfo {
    pub version: u32,
    pub graph_name: *const c_char,
    pub num_inputs: u32,
    pub inputs: *const Tensor,
    pub num_outputs: u32,
    pub outputs: *const Tensor,
}

/// `QnnSystemContext_BinaryInfo_t`, read through the prefix its versions share.
#[repr(C)]
pub struct SystemBinaryInfo {
    pub version: u32,
    /// The union of versions starts at offset 8 (its members hold pointers).
    pub _align: u32,
    pub backend_id: u32,
    pub build_id: *const c_char,
    pub core_api_version: Version,
    pub backend_api_version: Version,
    pub soc_version: *const c_char,
    pub hw_info_blob_version: Version,
    pub context_blob_version: Version,
    pub hw_info_blob_size: u32,
    pub hw_info_blob: *mut c_void,
    pub context_blob_size: u64,
    pub num_context_tensors: u32,
    pub context_tensors: *const Tensor,
    pub num_graphs: u32,
    pub graphs: *const SystemGraphInfo,
}

/// `QNN_SYSTEM_INTERFACE_VER_TYPE` for system API 1.x (x >= 11), up to `systemContextFree`.
#[repr(C)]
pub struct SystemInterfaceTable {
    pub system_context_create: Option<unsafe extern "C" fn(handle: *mut Handle) -> ErrorHandle>,
    pub system_context_get_binary_info: Option<
        unsafe extern "C" fn(
            handle: Handle,
            buffer: *mut c_void,
            size: u64,
            info: *mut *const SystemBinaryInfo,
            info_size: *mut u64,
        ) -> ErrorHandle,
    >,
    pub system_context_get_metadata: Unused,
    pub system_context_free: Option<unsafe extern "C" fn(handle: Handle) -> ErrorHandle>,
}

/// `QnnSystemInterface_t`.
#[repr(C)]
pub struct SystemInterfaceProvider {
    pub backend_id: u32,
    pub provider_name: *const c_char,
    pub system_api_version: Version,
    pub table: SystemInterfaceTable,
}

/// `QnnSystemInterface_getProviders`.
pub type GetSystemProvidersFn =
    unsafe extern "C" fn(providers: *mut *const *const SystemInterfaceProvider, num: *mut u32) -> ErrorHandle;

/// The symbol name of [`GetSystemProvidersFn`].
pub const GET_SYSTEM_PROVIDERS_SYMBOL: &[u8] = b"QnnSystemInterface_getProviders\0";

unsafe extern "C" {
    /// C's `vsnprintf`, to format log messages (the `va_list` passed as the pointer it decays to).
    pub fn vsnprintf(buf: *mut c_char, size: usize, fmt: *const c_char, args: *mut c_void) -> i32;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    // Sizes and offsets of the 64-bit C layouts (LP64), computed from the headers' field lists.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn layouts_match_the_c_api() {
        assert_eq!(size_of::<QuantizeParams>(), 40);
        assert_eq!(offset_of!(TensorV2, name), 8);
        assert_eq!(offset_of!(TensorV2, data_type), 24);
        assert_eq!(offset_of!(TensorV2, quantize_params), 32);
        assert_eq!(offset_of!(TensorV2, rank), 72);
        assert_eq!(offset_of!(TensorV2, dimensions), 80);
        assert_eq!(offset_of!(TensorV2, mem_type), 88);
        assert_eq!(offset_of!(TensorV2, client_buf), 96);
        assert_eq!(offset_of!(TensorV2, is_dynamic_dimensions), 112);
        assert_eq!(offset_of!(TensorV2, sparse_params), 120);
        assert_eq!(offset_of!(TensorV2, is_produced), 132);
        assert_eq!(size_of::<Tensor>(), 144);
        assert_eq!(size_of::<Scalar>(), 16);
        assert_eq!(offset_of!(Param, value), 16);
        assert_eq!(size_of::<Param>(), 160);
        assert_eq!(size_of::<OpConfig>(), 80);
        assert_eq!(offset_of!(OpConfig, v1) + offset_of!(OpConfigV1, output_tensors), 72);
        assert_eq!(size_of::<GraphConfig>(), 16);
        assert_eq!(offset_of!(HtpGraphCustomConfig, precision), 8);
        assert_eq!(size_of::<ProfileEventData>(), 24);
        assert_eq!(offset_of!(ProfileExtendedEventData, event_type), 8);
        assert_eq!(offset_of!(ProfileExtendedEventData, value), 16);
        assert_eq!(offset_of!(ProfileExtendedEventData, timestamp), 40);
        assert_eq!(size_of::<ProfileExtendedEventData>(), 56);
        assert_eq!(size_of::<SystemBinaryInfo>(), 136);
        assert_eq!(offset_of!(SystemBinaryInfo, graphs), 128);
        assert_eq!(offset_of!(SystemGraphInfo, outputs), 40);
        assert_eq!(offset_of!(SystemInterfaceProvider, table), 32);
        assert_eq!(offset_of!(InterfaceProvider, api_version), 16);
        assert_eq!(offset_of!(InterfaceProvider, table), 40);
        assert_eq!(size_of::<InterfaceTable>(), 48 * 8);
        assert_eq!(offset_of!(InterfaceTable, graph_execute), 21 * 8);
        assert_eq!(offset_of!(InterfaceTable, profile_free), 34 * 8);
        assert_eq!(offset_of!(InterfaceTable, device_free), 43 * 8);
    }
}
