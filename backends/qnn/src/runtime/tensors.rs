//! [`QnnGraphDesc`] tensors and ops as QNN structs (`Qnn_Tensor_t`, `Qnn_Param_t`,
//! `Qnn_OpConfig_t`), with the strings, dimension arrays and quantization tables they point to
//! owned alongside them.

use std::ffi::{CString, c_void};
use std::sync::Arc;

use crate::desc::{ParamValue, QnnDType, QnnGraphDesc, QnnTensor, Quantization, Scalar, TensorRole};

use super::ffi;

/// A C string from a name (interior NULs, which QNN names cannot hold, are dropped).
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

fn data_type(d: QnnDType) -> u32 {
    match d {
        QnnDType::F32 => ffi::DATATYPE_FLOAT_32,
        QnnDType::F16 => ffi::DATATYPE_FLOAT_16,
        QnnDType::I32 => ffi::DATATYPE_INT_32,
        QnnDType::U32 => ffi::DATATYPE_UINT_32,
        QnnDType::Bool8 => ffi::DATATYPE_BOOL_8,
        QnnDType::UFixed8 => ffi::DATATYPE_UFIXED_POINT_8,
        QnnDType::SFixed8 => ffi::DATATYPE_SFIXED_POINT_8,
    }
}

fn tensor_type(r: TensorRole) -> u32 {
    match r {
        TensorRole::Input => ffi::TENSOR_TYPE_APP_WRITE,
        TensorRole::Output => ffi::TENSOR_TYPE_APP_READ,
        TensorRole::Native => ffi::TENSOR_TYPE_NATIVE,
        TensorRole::Static => ffi::TENSOR_TYPE_STATIC,
    }
}

/// QNN structs for some tensors of a graph, and everything they point to.
#[derive(Default)]
pub(crate) struct TensorSet {
    names: Vec<CString>,
    dims: Vec<Vec<u32>>,
    scales: Vec<Vec<ffi::ScaleOffset>>,
    statics: Vec<Arc<Vec<u8>>>,
    /// One struct per described tensor (by [`TensorSet::add`] order); `id` is filled in by
    /// `tensorCreateGraphTensor`.
    pub tensors: Vec<ffi::Tensor>,
}

impl TensorSet {
    /// Appends the QNN struct for `t` (id 0) and returns its index.
    pub fn add(&mut self, t: &QnnTensor) -> usize {
        let name = c_string(&t.name);
        let mut dims = t.dims.clone();
        let mut quantize_params = ffi::QuantizeParams::NONE;
        match &t.quant {
            None => {}
            Some(Quantization::PerTensor { scale, offset }) => {
                quantize_params.encoding_definition = ffi::DEFINITION_DEFINED;
                quantize_params.quantization_encoding = ffi::QUANTIZATION_ENCODING_SCALE_OFFSET;
                quantize_params.encoding.scale_offset = ffi::ScaleOffset { scale: *scale, offset: *offset };
            }
            Some(Quantization::PerAxis { axis, scales }) => {
                let mut table: Vec<ffi::ScaleOffset> =
                    scales.iter().map(|&(scale, offset)| ffi::ScaleOffset { scale, offset }).collect();
                quantize_params.encoding_definition = ffi::DEFINITION_DEFINED;
                quantize_params.quantization_encoding = ffi::QUANTIZATION_ENCODING_AXIS_SCALE_OFFSET;
                quantize_params.encoding.axis_scale_offset = ffi::AxisScaleOffset {
                    axis: *axis,
                    num_scale_offsets: table.len() as u32,
                    scale_offset: table.as_mut_ptr(),
                };
                // The heap buffer does not move when the Vec is moved into `self.scales`.
                self.scales.push(table);
            }
        }
        let client_buf = match (&t.role, &t.data) {
            (TensorRole::Static, Some(data)) => {
                self.statics.push(data.clone());
                ffi::ClientBuffer { data: data.as_ptr() as *mut c_void, data_size: data.len() as u32 }
            }
            _ => ffi::ClientBuffer { data: std::ptr::null_mut(), data_size: 0 },
        };
        let tensor = ffi::Tensor {
            version: ffi::TENSOR_VERSION_1,
            v: ffi::TensorV2 {
                id: 0,
                name: name.as_ptr(),
                tensor_type: tensor_type(t.role),
                data_format: ffi::TENSOR_DATA_FORMAT_DENSE,
                data_type: data_type(t.dtype),
                quantize_params,
                rank: dims.len() as u32,
                dimensions: dims.as_mut_ptr(),
                mem_type: ffi::TENSORMEMTYPE_RAW,
                client_buf,
                is_dynamic_dimensions: std::ptr::null_mut(),
                sparse_params: ffi::SparseParams {
                    layout: 0x7FFF_FFFF,
                    num_specified_elements: 0,
                    num_sparse_dimensions: 0,
                },
                is_produced: 0,
            },
        };
        self.names.push(name);
        self.dims.push(dims);
        self.tensors.push(tensor);
        self.tensors.len() - 1
    }

    /// Lets go of the static tensors' bytes (once the graph is finalized the backend has them).
    pub fn release_static_data(&mut self) {
        for t in &mut self.tensors {
            if t.v.tensor_type == ffi::TENSOR_TYPE_STATIC {
                t.v.client_buf = ffi::ClientBuffer { data: std::ptr::null_mut(), data_size: 0 };
            }
        }
        self.statics.clear();
    }
}

/// A `Qnn_OpConfig_t` and the arrays it points to. `tensor` maps a graph tensor index to its
/// QNN struct (with the id the graph gave it, or 0 for validation).
pub(crate) struct NodeConfig {
    _name: CString,
    _package: CString,
    _type_name: CString,
    _param_names: Vec<CString>,
    params: Vec<ffi::Param>,
    inputs: Vec<ffi::Tensor>,
    outputs: Vec<ffi::Tensor>,
    config: ffi::OpConfig,
}

impl NodeConfig {
    /// The config of node `op` of `graph`.
    pub fn new(graph: &QnnGraphDesc, op: usize, tensor: &dyn Fn(usize) -> ffi::Tensor) -> NodeConfig {
        let op = &graph.ops[op];
        let name = c_string(&op.name);
        let package = c_string(&op.package);
        let type_name = c_string(&op.type_name);
        let mut param_names = Vec::new();
        let mut params = Vec::new();
        for (pname, value) in &op.params {
            let pname = c_string(pname);
            let param = match value {
                ParamValue::Scalar(s) => {
                    let (data_type, value) = match *s {
                        Scalar::Bool(b) => (ffi::DATATYPE_BOOL_8, ffi::ScalarValue { u8_value: b as u8 }),
                        Scalar::U32(v) => (ffi::DATATYPE_UINT_32, ffi::ScalarValue { u32_value: v }),
                        Scalar::I32(v) => (ffi::DATATYPE_INT_32, ffi::ScalarValue { i32_value: v }),
                        Scalar::F32(v) => (ffi::DATATYPE_FLOAT_32, ffi::ScalarValue { f32_value: v }),
                    };
                    // Zero the whole union first so no byte the library might read is undefined.
                    let mut scalar = ffi::Scalar { data_type, value: ffi::ScalarValue { u64_value: 0 } };
                    scalar.value = value;
                    ffi::Param {
                        param_type: ffi::PARAMTYPE_SCALAR,
                        name: pname.as_ptr(),
                        value: ffi::ParamValue { tensor: zero_tensor() },
                    }
                    .with_scalar(scalar)
                }
                ParamValue::Tensor(i) => ffi::Param {
                    param_type: ffi::PARAMTYPE_TENSOR,
                    name: pname.as_ptr(),
                    value: ffi::ParamValue { tensor: tensor(*i) },
                },
            };
            param_names.push(pname);
            params.push(param);
        }
        let mut inputs: Vec<ffi::Tensor> = op.inputs.iter().map(|&i| tensor(i)).collect();
        let mut outputs: Vec<ffi::Tensor> = op.outputs.iter().map(|&i| tensor(i)).collect();
        let config = ffi::OpConfig {
            version: ffi::OPCONFIG_VERSION_1,
            v1: ffi::OpConfigV1 {
                name: name.as_ptr(),
                package_name: package.as_ptr(),
                type_name: type_name.as_ptr(),
                num_of_params: params.len() as u32,
                params: params.as_mut_ptr(),
                num_of_inputs: inputs.len() as u32,
                input_tensors: inputs.as_mut_ptr(),
                num_of_outputs: outputs.len() as u32,
                output_tensors: outputs.as_mut_ptr(),
            },
        };
        NodeConfig {
            _name: name,
            _package: package,
            _type_name: type_name,
            _param_names: param_names,
            params,
            inputs,
            outputs,
            config,
        }
    }

    /// The `Qnn_OpConfig_t` to pass by value; its pointers stay valid while `self` lives.
    pub fn config(&self) -> ffi::OpConfig {
        debug_assert_eq!(self.config.v1.params as *const ffi::Param, self.params.as_ptr());
        debug_assert_eq!(self.config.v1.input_tensors as *const ffi::Tensor, self.inputs.as_ptr());
        debug_assert_eq!(self.config.v1.output_tensors as *const ffi::Tensor, self.outputs.as_ptr());
        self.config
    }
}

/// An all-zero `Qnn_Tensor_t` (used to clear the param union before writing a scalar into it).
fn zero_tensor() -> ffi::Tensor {
    ffi::Tensor {
        version: 0,
        v: ffi::TensorV2 {
            id: 0,
            name: std::ptr::null(),
            tensor_type: 0,
            data_format: 0,
            data_type: 0,
            quantize_params: ffi::QuantizeParams {
                encoding_definition: 0,
                quantization_encoding: 0,
                encoding: ffi::QuantEncoding { _size: [0; 4] },
            },
            rank: 0,
            dimensions: std::ptr::null_mut(),
            mem_type: 0,
            client_buf: ffi::ClientBuffer { data: std::ptr::null_mut(), data_size: 0 },
            is_dynamic_dimensions: std::ptr::null_mut(),
            sparse_params: ffi::SparseParams { layout: 0, num_specified_elements: 0, num_sparse_dimensions: 0 },
            is_produced: 0,
        },
    }
}

impl ffi::Param {
    fn with_scalar(mut self, scalar: ffi::Scalar) -> ffi::Param {
        self.value.scalar = scalar;
        self
    }
}
