//! Input files of the `op` command: `.npy` arrays, or raw GGUF block bytes written as
//! `FILE.bin:FORMAT:ROWSxCOLS`.

use crate::error::{CliError, Result};
use crate::npy;
use edgehal::{DType, Tensor, TensorDesc};
use std::path::Path;

/// One parsed `--in` argument.
#[derive(Debug, PartialEq)]
pub enum InputSpec {
    /// A `.npy` file.
    Npy(String),
    /// Raw bytes of `format` with shape `dims` (rows × cols, or more dimensions).
    Raw {
        /// The file.
        path: String,
        /// The block format (or plain float) of the bytes.
        format: DType,
        /// Dimensions, outermost first.
        dims: Vec<usize>,
    },
}

impl InputSpec {
    /// Parses `FILE.npy` or `FILE:FORMAT:ROWSxCOLS`.
    pub fn parse(arg: &str) -> Result<Self> {
        let parts: Vec<&str> = arg.rsplitn(3, ':').collect();
        if let [dims, format, path] = parts[..] {
            let format = DType::from_name(format)
                .ok_or_else(|| CliError::unknown("format", format, DType::ALL.iter().map(|d| d.name())))?;
            let dims = parse_dims(dims)
                .ok_or_else(|| CliError::Usage(format!("`{arg}`: shape must be ROWSxCOLS (e.g. 4096x4096)")))?;
            return Ok(InputSpec::Raw { path: path.into(), format, dims });
        }
        if !arg.to_ascii_lowercase().ends_with(".npy") {
            return Err(CliError::Usage(format!(
                "input `{arg}`: give a .npy file, or raw block bytes as FILE:FORMAT:ROWSxCOLS (e.g. w.bin:q4_0:4096x4096)"
            )));
        }
        Ok(InputSpec::Npy(arg.into()))
    }

    /// Reads the file into a tensor, checking its size against the declared format and shape.
    pub fn load(&self) -> Result<Tensor> {
        match self {
            InputSpec::Npy(path) => npy::read(Path::new(path)),
            InputSpec::Raw { path, format, dims } => {
                let bytes = std::fs::read(path).map_err(|e| CliError::io(path, e))?;
                let cols = *dims.last().expect("parse_dims gives at least one dimension");
                if !cols.is_multiple_of(format.block_len()) {
                    return Err(CliError::Usage(format!(
                        "{path}: {format} rows of {cols} elements are not a whole number of {}-element blocks",
                        format.block_len()
                    )));
                }
                // Checked: a shape whose size overflows is refused, not wrapped.
                let expected = TensorDesc::new(*format, dims.clone())
                    .byte_len(path)
                    .map_err(|_| CliError::Usage(format!("{path}: shape {} is too large", fmt_dims(dims))))?;
                if bytes.len() != expected {
                    return Err(CliError::BinSize {
                        path: path.clone(),
                        format: *format,
                        shape: fmt_dims(dims),
                        expected,
                        got: bytes.len(),
                    });
                }
                Ok(Tensor::from_bytes(*format, dims.clone(), &bytes)?)
            }
        }
    }
}

/// Parses `4096x4096` (or `4096,4096`) into non-empty dimensions.
pub fn parse_dims(s: &str) -> Option<Vec<usize>> {
    let dims: Option<Vec<usize>> = s.split(['x', 'X', ',']).map(|d| d.trim().parse().ok()).collect();
    dims.filter(|d| !d.is_empty())
}

/// `4096x4096`.
pub fn fmt_dims(dims: &[usize]) -> String {
    dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_kinds() {
        assert_eq!(InputSpec::parse("a/x.npy").unwrap(), InputSpec::Npy("a/x.npy".into()));
        assert_eq!(
            InputSpec::parse("w.bin:Q4_0:64x32").unwrap(),
            InputSpec::Raw { path: "w.bin".into(), format: DType::Q4_0, dims: vec![64, 32] }
        );
        assert_eq!(
            InputSpec::parse("/tmp/a:b/w.bin:f16:3x2x8").unwrap(),
            InputSpec::Raw { path: "/tmp/a:b/w.bin".into(), format: DType::F16, dims: vec![3, 2, 8] }
        );
    }

    #[test]
    fn rejects_bad_specs() {
        let msg = |s: &str| InputSpec::parse(s).unwrap_err().to_string();
        assert!(msg("w.bin:q4_2:4x32").contains("unknown format `q4_2`; known: f32"));
        assert!(msg("w.bin:q4_0:4by32").contains("ROWSxCOLS"));
        assert!(msg("w.bin").contains("FILE:FORMAT:ROWSxCOLS"));
    }

    /// Found by the `spec` fuzz target: the element count overflowed (a panic with overflow
    /// checks; in release it wrapped, so 4 bytes "matched" a (2⁶²+1)×1 i32 shape).
    #[test]
    fn refuses_shapes_whose_size_overflows() {
        let path = std::env::temp_dir().join(format!("edgehal-inputs-overflow-{}.bin", std::process::id()));
        std::fs::write(&path, [0u8; 4]).unwrap();
        let p = path.display();
        for spec in
            [format!("{p}:i32:4611686018427387905x1"), format!("{p}:i32:88777x2x777724x2x2x2x2x2x2x2x2x2x2x2x2x777724")]
        {
            let err = InputSpec::parse(&spec).unwrap().load().unwrap_err().to_string();
            assert!(err.contains("too large") || err.contains("needs"), "{spec}: {err}");
        }
        let empty = InputSpec::parse(&format!("{p}:f32:4611686018427387905x0x4")).unwrap();
        assert!(matches!(empty.load(), Err(CliError::BinSize { expected: 0, got: 4, .. })));
        std::fs::remove_file(&path).unwrap();
    }
}
