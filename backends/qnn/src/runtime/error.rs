//! QNN error codes by name, and the `edgehal::Error`s the runtime returns.

use super::ffi::ErrorHandle;
use super::log;

/// The documented name of a QNN error code (the low 16 bits of a `Qnn_ErrorHandle_t`), or the
/// API component whose range it falls in.
pub fn error_name(code: u64) -> String {
    let code = code & 0xFFFF;
    let name = match code {
        0 => "QNN_SUCCESS",
        // QnnCommon_Error_t
        1000 => "QNN_COMMON_ERROR_NOT_SUPPORTED",
        1002 => "QNN_COMMON_ERROR_MEM_ALLOC",
        1003 => "QNN_COMMON_ERROR_SYSTEM",
        1004 => "QNN_COMMON_ERROR_INVALID_ARGUMENT",
        1005 => "QNN_COMMON_ERROR_OPERATION_NOT_PERMITTED",
        1006 => "QNN_COMMON_ERROR_PLATFORM_NOT_SUPPORTED",
        1007 => "QNN_COMMON_ERROR_SYSTEM_COMMUNICATION",
        1008 => "QNN_COMMON_ERROR_INCOMPATIBLE_BINARIES",
        1009 => "QNN_COMMON_ERROR_LOADING_BINARIES",
        1010 => "QNN_COMMON_ERROR_RESOURCE_UNAVAILABLE",
        1100 => "QNN_COMMON_ERROR_GENERAL",
        // QnnOpPackage_Error_t
        3000 => "QNN_OP_PACKAGE_ERROR_LIBRARY_ALREADY_INITIALIZED",
        3001 => "QNN_OP_PACKAGE_ERROR_LIBRARY_NOT_INITIALIZED",
        3002 => "QNN_OP_PACKAGE_ERROR_INVALID_HANDLE",
        3100 => "QNN_OP_PACKAGE_ERROR_INVALID_INFRASTRUCTURE",
        3101 => "QNN_OP_PACKAGE_ERROR_INVALID_INFO",
        3110 => "QNN_OP_PACKAGE_ERROR_VALIDATION_FAILURE",
        3200 => "QNN_OP_PACKAGE_ERROR_INVALID_ARGUMENT",
        // QnnBackend_Error_t
        4000 => "QNN_BACKEND_ERROR_CANNOT_INITIALIZE",
        4002 => "QNN_BACKEND_ERROR_TERMINATE_FAILED",
        4003 => "QNN_BACKEND_ERROR_NOT_SUPPORTED",
        4004 => "QNN_BACKEND_ERROR_INVALID_ARGUMENT",
        4005 => "QNN_BACKEND_ERROR_OP_PACKAGE_NOT_FOUND",
        4006 => "QNN_BACKEND_ERROR_OP_PACKAGE_IF_PROVIDER_NOT_FOUND",
        4007 => "QNN_BACKEND_ERROR_OP_PACKAGE_REGISTRATION_FAILED",
        4008 => "QNN_BACKEND_ERROR_OP_PACKAGE_UNSUPPORTED_VERSION",
        4009 => "QNN_BACKEND_ERROR_OP_PACKAGE_DUPLICATE",
        4010 => "QNN_BACKEND_ERROR_INCONSISTENT_CONFIG",
        4011 => "QNN_BACKEND_ERROR_INVALID_HANDLE",
        4012 => "QNN_BACKEND_ERROR_INVALID_CONFIG",
        // QnnContext_Error_t
        5000 => "QNN_CONTEXT_ERROR_INVALID_ARGUMENT",
        5001 => "QNN_CONTEXT_ERROR_CTX_DOES_NOT_EXIST",
        5002 => "QNN_CONTEXT_ERROR_INVALID_HANDLE",
        5003 => "QNN_CONTEXT_ERROR_NOT_FINALIZED",
        5004 => "QNN_CONTEXT_ERROR_BINARY_VERSION",
        5005 => "QNN_CONTEXT_ERROR_CREATE_FROM_BINARY",
        5006 => "QNN_CONTEXT_ERROR_GET_BINARY_SIZE_FAILED",
        5007 => "QNN_CONTEXT_ERROR_GET_BINARY_FAILED",
        5008 => "QNN_CONTEXT_ERROR_BINARY_CONFIGURATION",
        5009 => "QNN_CONTEXT_ERROR_SET_PROFILE",
        5010 => "QNN_CONTEXT_ERROR_INVALID_CONFIG",
        5011 => "QNN_CONTEXT_ERROR_BINARY_SUBOPTIMAL",
        5012 => "QNN_CONTEXT_ERROR_ABORTED",
        5013 => "QNN_CONTEXT_ERROR_TIMED_OUT",
        5014 => "QNN_CONTEXT_ERROR_INCREMENT_INVALID_BUFFER",
        // QnnGraph_Error_t
        6000 => "QNN_GRAPH_ERROR_INVALID_ARGUMENT",
        6001 => "QNN_GRAPH_ERROR_INVALID_HANDLE",
        6002 => "QNN_GRAPH_ERROR_GRAPH_DOES_NOT_EXIST",
        6003 => "QNN_GRAPH_ERROR_INVALID_NAME",
        6004 => "QNN_GRAPH_ERROR_INVALID_TENSOR",
        6005 => "QNN_GRAPH_ERROR_INVALID_OP_CONFIG",
        6006 => "QNN_GRAPH_ERROR_SET_PROFILE",
        6007 => "QNN_GRAPH_ERROR_UNCONNECTED_NODE",
        6020 => "QNN_GRAPH_ERROR_CREATE_FAILED",
        6021 => "QNN_GRAPH_ERROR_OPTIMIZATION_FAILED",
        6022 => "QNN_GRAPH_ERROR_FINALIZE_FAILED",
        6023 => "QNN_GRAPH_ERROR_GRAPH_NOT_FINALIZED",
        6024 => "QNN_GRAPH_ERROR_GRAPH_FINALIZED",
        6025 => "QNN_GRAPH_ERROR_EXECUTION_ASYNC_FIFO_FULL",
        6030 => "QNN_GRAPH_ERROR_SIGNAL_IN_USE",
        6031 => "QNN_GRAPH_ERROR_ABORTED",
        6032 => "QNN_GRAPH_ERROR_PROFILE_IN_USE",
        6033 => "QNN_GRAPH_ERROR_TIMED_OUT",
        6034 => "QNN_GRAPH_ERROR_SUBGRAPH",
        6035 => "QNN_GRAPH_ERROR_DISABLED",
        6036 => "QNN_GRAPH_ERROR_DYNAMIC_TENSOR_SHAPE",
        6037 => "QNN_GRAPH_ERROR_TENSOR_SPARSITY",
        6038 => "QNN_GRAPH_ERROR_EARLY_TERMINATION",
        // QnnTensor_Error_t
        7001 => "QNN_TENSOR_ERROR_INVALID_HANDLE",
        7002 => "QNN_TENSOR_ERROR_DOES_NOT_EXIST",
        7003 => "QNN_TENSOR_ERROR_ALREADY_EXISTS",
        7004 => "QNN_TENSOR_ERROR_INVALID_TENSOR_PARAM",
        7005 => "QNN_TENSOR_ERROR_UNSUPPORTED_TENSOR_PARAM",
        7006 => "QNN_TENSOR_ERROR_NAME_HASH_COLLISION",
        // QnnProfile_Error_t
        12000 => "QNN_PROFILE_ERROR_INVALID_HANDLE",
        12001 => "QNN_PROFILE_ERROR_HANDLE_IN_USE",
        _ => {
            let component = match code {
                1000..=1999 => "COMMON",
                2000..=2999 => "PROPERTY",
                3000..=3999 => "OP_PACKAGE",
                4000..=4999 => "BACKEND",
                5000..=5999 => "CONTEXT",
                6000..=6999 => "GRAPH",
                7000..=7999 => "TENSOR",
                8000..=8999 => "MEM",
                9000..=9999 => "SIGNAL",
                10000..=10999 => "ERROR",
                11000..=11999 => "LOG",
                12000..=12999 => "PROFILE",
                13000..=13999 => "PERF_INFRASTRUCTURE",
                14000..=14999 => "DEVICE",
                30000..=49999 => "SYSTEM",
                60000..=60999 => "INTERFACE",
                _ => "UNKNOWN",
            };
            return format!("QNN_{component}_ERROR_{code}");
        }
    };
    name.to_string()
}

/// `"<name> (<code>)"` for a failed call's error handle.
pub fn describe(err: ErrorHandle) -> String {
    format!("{} ({})", error_name(err), err & 0xFFFF)
}

/// A backend error for `backend` (`"qnn-cpu"` / `"qnn-htp"`).
pub fn backend_error(backend: &str, why: impl Into<String>) -> edgehal::Error {
    edgehal::Error::Backend { backend: backend.to_string(), why: why.into() }
}

/// The error for QNN function `function` having returned `err`, with the error and warning lines
/// the library logged since `log_mark` (see [`log::mark`]).
pub fn call_error(backend: &str, function: &str, err: ErrorHandle, log_mark: u64) -> edgehal::Error {
    let mut why = format!("{function} failed: {}", describe(err));
    let lines = log::since(log_mark, log::LEVEL_WARN);
    if !lines.is_empty() {
        why.push_str("; QNN log: ");
        why.push_str(&lines.join(" | "));
    }
    backend_error(backend, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_names() {
        assert_eq!(error_name(6022), "QNN_GRAPH_ERROR_FINALIZE_FAILED");
        assert_eq!(error_name(0x1_0000 | 3110), "QNN_OP_PACKAGE_ERROR_VALIDATION_FAILURE");
        assert_eq!(error_name(14005), "QNN_DEVICE_ERROR_14005");
        assert_eq!(describe(4005), "QNN_BACKEND_ERROR_OP_PACKAGE_NOT_FOUND (4005)");
    }
}
