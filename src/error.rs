//! The error type of the core crate.

use edgehal_kernels::{DType, KernelError};

/// Everything that can go wrong in edgehal, with the facts needed to fix it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An op got tensors whose shapes do not fit together.
    #[error("{op}: {detail}")]
    Shape {
        /// The op (and node name, when known).
        op: String,
        /// Which tensors and which shapes.
        detail: String,
    },
    /// An op got a dtype it does not accept.
    #[error("{op}: tensor `{tensor}` has dtype {got}, expected {expected}")]
    DType {
        /// The op.
        op: String,
        /// Which input.
        tensor: String,
        /// What it has.
        got: DType,
        /// What the op accepts.
        expected: String,
    },
    /// An op parameter out of range.
    #[error("{op}: parameter {param} = {value}: {why}")]
    Param {
        /// The op.
        op: String,
        /// Which parameter.
        param: String,
        /// Its value as given.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// A name that is not an op, backend, format or tensor edgehal knows.
    #[error("unknown {kind} `{name}`; known: {known}")]
    Unknown {
        /// op, backend, dtype, tensor, ...
        kind: &'static str,
        /// The name given.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// A byte buffer whose size does not match its declared dtype and shape.
    #[error("tensor `{tensor}`: {dtype} {shape:?} needs {expected} bytes, got {got}")]
    Size {
        /// Which tensor.
        tensor: String,
        /// Its dtype.
        dtype: DType,
        /// Its shape.
        shape: Vec<usize>,
        /// The bytes the shape needs.
        expected: usize,
        /// The bytes given.
        got: usize,
    },
    /// A graph that is malformed (unknown value id, output never set, state misuse).
    #[error("graph: {0}")]
    Graph(String),
    /// A run whose inputs do not match the graph's.
    #[error("run: {0}")]
    Input(String),
    /// A backend cannot run this node (and no fallback was allowed).
    #[error("backend {backend} does not support {op}: {why}")]
    Unsupported {
        /// The backend.
        backend: String,
        /// The op and dtypes.
        op: String,
        /// Why not.
        why: String,
    },
    /// A device limit would be exceeded.
    #[error("backend {backend}: {what} needs {needed}, the device allows {limit}")]
    DeviceLimit {
        /// The backend.
        backend: String,
        /// Which limit.
        what: String,
        /// What was asked.
        needed: u64,
        /// The limit.
        limit: u64,
    },
    /// Out of memory while allocating.
    #[error("backend {backend}: out of memory allocating {bytes} bytes")]
    OutOfMemory {
        /// The backend.
        backend: String,
        /// The allocation size.
        bytes: u64,
    },
    /// A file that is corrupt, truncated or not what it claims to be.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// A GGUF file that cannot be read: which field, at which byte offset, and what is wrong.
    #[error("GGUF {path}: {field} at byte {offset}: {why}")]
    Gguf {
        /// The file path, or `<memory>` for bytes read from memory.
        path: String,
        /// The field that is wrong (`version`, ``metadata `general.alignment` ``, ``tensor `output.weight` offset``).
        field: String,
        /// The byte offset of that field in the file.
        offset: u64,
        /// What is wrong with it.
        why: String,
    },
    /// A model file whose metadata or tensors do not describe a model edgehal can build: which
    /// key or tensor, and what is wrong with it.
    #[error("model {model}: {item}: {why}")]
    Model {
        /// The model file (or `<memory>`).
        model: String,
        /// The metadata key or tensor name.
        item: String,
        /// What is wrong, with the values found.
        why: String,
    },
    /// An energy meter that cannot be read or reads nonsense: which meter, and what is wrong.
    #[error("energy meter {meter}: {why}")]
    Meter {
        /// The meter (`rapl:package-0`).
        meter: String,
        /// What is wrong, with the path and the value read.
        why: String,
    },
    /// Meter windows that cannot determine an energy model: too few, or no energy counted.
    #[error("energy model fit: {0}")]
    EnergyFit(String),
    /// A kernel refused its arguments.
    #[error("kernel: {0}")]
    Kernel(#[from] KernelError),
    /// An I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The device stopped working (a driver reset, a GPU hang, a removed device): nothing
    /// allocated or compiled on it can be used again, and every later call on it fails the same
    /// way. Drop the sessions and buffers of this backend, create a new backend and build new
    /// sessions on it (the rest of the process is unaffected).
    #[error("backend {backend}: device lost during {during} ({why}); drop its sessions and create a new backend")]
    DeviceLost {
        /// The backend.
        backend: String,
        /// The operation that found the device lost (`vkWaitForFences`, `running the partition`).
        during: String,
        /// What the driver said (reason and message), or that a test hook injected it.
        why: String,
    },
    /// A backend failure that fits nowhere else (a driver error).
    #[error("backend {backend}: {why}")]
    Backend {
        /// The backend.
        backend: String,
        /// What the driver said.
        why: String,
    },
}

/// `Result` with edgehal's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A shape error for `op`.
    pub fn shape(op: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Shape { op: op.into(), detail: detail.into() }
    }

    /// A parameter error for `op`.
    pub fn param(op: impl Into<String>, param: &str, value: impl ToString, why: impl Into<String>) -> Self {
        Error::Param { op: op.into(), param: param.into(), value: value.to_string(), why: why.into() }
    }

    /// A dtype error for `op`.
    pub fn dtype(op: impl Into<String>, tensor: &str, got: DType, expected: impl Into<String>) -> Self {
        Error::DType { op: op.into(), tensor: tensor.into(), got, expected: expected.into() }
    }
}
