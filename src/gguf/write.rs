//! [`GgufWriter`]: builds GGUF files, for tests and tools.

use super::value::{MetaValue, write_str};
use super::{ALIGNMENT_KEY, DEFAULT_ALIGNMENT, GGUF_MAGIC, MAX_ALIGNMENT};
use crate::Tensor;
use crate::error::{Error, Result};
use std::path::Path;

/// A tensor to write.
struct Entry {
    name: String,
    dims: Vec<u64>,
    ggml_type: u32,
    data: Data,
}

/// Its bytes: a tensor's (borrowed or owned) or raw bytes.
enum Data {
    Tensor(Tensor),
    Raw(Vec<u8>),
}

impl Entry {
    fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Tensor(t) => t.bytes(),
            Data::Raw(b) => b,
        }
    }
}

/// Builds a GGUF file in memory: metadata in the order set, tensors in the order added, each
/// tensor's data aligned (and padded after, as llama.cpp expects). Version 3 and alignment 32
/// unless told otherwise.
///
/// ```
/// use edgehal::gguf::{GgufWriter, MetaValue};
/// let mut w = GgufWriter::new();
/// w.with_alignment(64).set("tokenizer.ggml.tokens", vec!["a", "b"])?;
/// w.add_raw_tensor("odd", &[256], 16, vec![0; 66])?; // an IQ2_XXS block, written as given
/// let bytes = w.to_bytes();
/// assert_eq!(&bytes[..4], b"GGUF");
/// # Ok::<(), edgehal::Error>(())
/// ```
pub struct GgufWriter {
    version: u32,
    metadata: Vec<(String, MetaValue)>,
    tensors: Vec<Entry>,
}

impl Default for GgufWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl GgufWriter {
    /// An empty version-3 file.
    pub fn new() -> Self {
        GgufWriter { version: 3, metadata: Vec::new(), tensors: Vec::new() }
    }

    /// The version written in the header: 2 or 3 (the layouts are the same). Any other number is
    /// written as given, with the same layout, so that tests can make files a reader must refuse.
    pub fn version(&mut self, version: u32) -> &mut Self {
        self.version = version;
        self
    }

    /// Sets `general.alignment` (a power of two up to [`MAX_ALIGNMENT`]); the data section and
    /// every tensor are aligned to it. An invalid value is written as given (for tests), and the
    /// data is then laid out with the default alignment of 32.
    pub fn with_alignment(&mut self, alignment: u32) -> &mut Self {
        self.put(ALIGNMENT_KEY.to_string(), MetaValue::U32(alignment));
        self
    }

    /// The alignment the data will be laid out with: `general.alignment` when it is a valid u32,
    /// otherwise 32.
    pub fn alignment(&self) -> u64 {
        match self.metadata.iter().find(|(k, _)| k == ALIGNMENT_KEY) {
            Some((_, MetaValue::U32(a))) if a.is_power_of_two() && u64::from(*a) <= MAX_ALIGNMENT => u64::from(*a),
            _ => DEFAULT_ALIGNMENT,
        }
    }

    /// Sets `key` to `value`: replaces it in place if already set, else appends it. Refuses
    /// arrays whose elements have different types (GGUF arrays have one element type).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<MetaValue>) -> Result<&mut Self> {
        let (key, value) = (key.into(), value.into());
        value.check_writable().map_err(|why| Error::param("GgufWriter", "metadata value", &key, why))?;
        self.put(key, value);
        Ok(self)
    }

    fn put(&mut self, key: String, value: MetaValue) {
        match self.metadata.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.metadata.push((key, value)),
        }
    }

    fn check_name(&self, name: &str) -> Result<()> {
        if self.tensors.iter().any(|t| t.name == name) {
            return Err(Error::param("GgufWriter", "tensor name", name, "a tensor of that name was already added"));
        }
        Ok(())
    }

    /// Adds a tensor (without copying shared bytes until written): its edgehal shape, outermost
    /// first, becomes GGUF dims reversed (`[49152, 576]` → `{576, 49152}`). Refuses a duplicate
    /// name.
    pub fn add_tensor(&mut self, name: impl Into<String>, tensor: &Tensor) -> Result<&mut Self> {
        let name = name.into();
        self.check_name(&name)?;
        let dims = tensor.shape().iter().rev().map(|&d| d as u64).collect();
        let ggml_type = tensor.dtype().ggml_type_id();
        self.tensors.push(Entry { name, dims, ggml_type, data: Data::Tensor(tensor.clone()) });
        Ok(self)
    }

    /// Adds a tensor from raw parts: GGUF dims (`ne[0]` first), a ggml type id (any, including
    /// types edgehal does not support) and its bytes, written as given and not checked against
    /// the dims (so tools can copy any tensor and tests can make bad files). Refuses a duplicate
    /// name.
    pub fn add_raw_tensor(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        ggml_type: u32,
        bytes: impl Into<Vec<u8>>,
    ) -> Result<&mut Self> {
        let name = name.into();
        self.check_name(&name)?;
        self.tensors.push(Entry { name, dims: dims.to_vec(), ggml_type, data: Data::Raw(bytes.into()) });
        Ok(self)
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let align = self.alignment() as usize;
        let mut offsets = Vec::with_capacity(self.tensors.len());
        let mut data_len = 0usize;
        for t in &self.tensors {
            offsets.push(data_len as u64);
            data_len = (data_len + t.bytes().len()).next_multiple_of(align);
        }
        let mut out = Vec::with_capacity(4096 + data_len);
        out.extend_from_slice(&GGUF_MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            write_str(&mut out, key);
            out.extend_from_slice(&value.type_id().to_le_bytes());
            value.write(&mut out);
        }
        for (t, offset) in self.tensors.iter().zip(&offsets) {
            write_str(&mut out, &t.name);
            out.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&t.ggml_type.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
        }
        let data_start = out.len().next_multiple_of(align);
        out.resize(data_start, 0);
        for (t, offset) in self.tensors.iter().zip(&offsets) {
            out.resize(data_start + *offset as usize, 0);
            out.extend_from_slice(t.bytes());
        }
        out.resize(data_start + data_len, 0);
        out
    }

    /// Writes the file to `path`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_bytes()).map_err(|source| Error::Io { path: path.display().to_string(), source })
    }
}
