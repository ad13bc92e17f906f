//! The CLI's error type: every failure the user can cause, printed as one clean line.

use edgehal::DType;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An error from the edgehal library (shapes, dtypes, backends, kernels).
    #[error(transparent)]
    Core(#[from] edgehal::Error),
    /// A `.npy` file that is corrupt, truncated or of a kind the CLI does not read.
    #[error("{path}: {why}")]
    Npy {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// A raw GGUF-block input whose size does not match its declared format and shape.
    #[error("{path}: {format} {shape} needs {expected} bytes, the file has {got}")]
    BinSize {
        /// The file.
        path: String,
        /// The declared block format.
        format: DType,
        /// Declared shape, as `ROWSxCOLS`.
        shape: String,
        /// Bytes the format and shape need.
        expected: usize,
        /// Bytes in the file.
        got: usize,
    },
    /// A name (op, parameter, format, backend, preset) the CLI does not know.
    #[error("unknown {kind} `{name}`; known: {known}")]
    Unknown {
        /// What kind of name.
        kind: &'static str,
        /// The name given.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// A `--param` key the op does not take.
    #[error("{op}: unknown parameter `{name}`; known: {known}")]
    UnknownParam {
        /// The op.
        op: String,
        /// The key given.
        name: String,
        /// The keys the op takes.
        known: String,
    },
    /// A parameter value that does not parse or is out of range.
    #[error("{op}: parameter {param} = `{value}`: {why}")]
    Param {
        /// The op (or command).
        op: String,
        /// Which parameter.
        param: String,
        /// The value given.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// Command-line arguments that do not fit together.
    #[error("{0}")]
    Usage(String),
    /// A file that cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl CliError {
    /// An unknown-name error listing `known`.
    pub fn unknown<S: AsRef<str>>(kind: &'static str, name: &str, known: impl IntoIterator<Item = S>) -> Self {
        let known: Vec<String> = known.into_iter().map(|s| s.as_ref().to_string()).collect();
        CliError::Unknown { kind, name: name.into(), known: known.join(", ") }
    }

    /// A parameter error.
    pub fn param(op: &str, param: &str, value: &str, why: impl Into<String>) -> Self {
        CliError::Param { op: op.into(), param: param.into(), value: value.into(), why: why.into() }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        CliError::Io { path: path.into(), source }
    }
}

/// `Result` with [`CliError`].
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// Writes `contents` to `path`, mapping failure to a [`CliError::Io`] naming the file.
pub fn write_file(path: &std::path::Path, contents: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(path, contents).map_err(|e| CliError::io(path.display().to_string(), e))
}
