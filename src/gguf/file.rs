//! [`GgufFile`]: the parsed header, metadata and tensor infos of a GGUF file, over its bytes.

use super::info::{MIN_INFO_BYTES, TensorInfo, place, read_infos};
use super::read::{Reader, gguf_error};
use super::source::{MappedFile, MemoryBytes};
use super::value::{MetaValue, type_name};
use super::{ALIGNMENT_KEY, DEFAULT_ALIGNMENT, GGUF_MAGIC, MAX_ALIGNMENT};
use crate::error::{Error, Result};
use crate::{AlignedBytes, DType, SharedBytes, Tensor};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// The fewest bytes a metadata entry takes: key length, type, one byte of value.
const MIN_KV_BYTES: usize = 8 + 4 + 1;

/// The path reported for bytes read from memory.
const MEMORY: &str = "<memory>";

/// A GGUF file, checked and indexed: header, metadata in file order, tensor infos; weights are
/// handed out as [`Tensor`]s that borrow the file's bytes. `Send + Sync`; cheap to share in an
/// `Arc`.
pub struct GgufFile {
    path: String,
    source: Arc<dyn SharedBytes>,
    version: u32,
    alignment: u64,
    data_offset: u64,
    metadata: Vec<(String, MetaValue)>,
    value_offsets: Vec<u64>,
    keys: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    type_offsets: Vec<u64>,
    names: HashMap<String, usize>,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("file_len", &self.file_len())
            .field("metadata", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl GgufFile {
    /// Maps the file at `path` read-only and checks it. Tensors borrow the mapped pages.
    ///
    /// The file must not be modified or truncated while the `GgufFile` or any tensor from it is
    /// alive (the contract of every memory-mapped model loader): a truncated mapping faults.
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile> {
        let path = path.as_ref();
        let label = path.display().to_string();
        let io = |source| Error::Io { path: label.clone(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: a read-only private map; its bytes are only ever read through `&[u8]`. They
        // stay valid while the map lives (the `Arc` below, held by every tensor), provided no
        // one modifies or truncates the file meanwhile, which `open`'s contract asks of callers.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Self::parse(Arc::new(MappedFile::new(map)), label)
    }

    /// Checks GGUF bytes held in memory (tests, downloads): they are copied once into a
    /// 64-byte-aligned buffer that the tensors then borrow. Errors name the path `<memory>`.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GgufFile> {
        let mut aligned = AlignedBytes::zeroed(bytes.len());
        aligned.as_mut().copy_from_slice(&bytes);
        drop(bytes);
        Self::parse(Arc::new(MemoryBytes(aligned)), MEMORY.to_string())
    }

    fn parse(source: Arc<dyn SharedBytes>, path: String) -> Result<GgufFile> {
        let bytes = source.bytes();
        let p = path.as_str();
        let mut r = Reader::new(bytes);
        let magic = r.take(4).map_err(|e| e.field(p, "magic"))?;
        if magic != GGUF_MAGIC {
            let why = format!("expected \"GGUF\", found {:?}: not a GGUF file", String::from_utf8_lossy(magic));
            return Err(gguf_error(p, "magic", 0, why));
        }
        let version = r.u32().map_err(|e| e.field(p, "version"))?;
        check_version(version).map_err(|why| gguf_error(p, "version", 4, why))?;
        let tensor_count = r.count(MIN_INFO_BYTES, "tensor infos").map_err(|e| e.field(p, "tensor_count"))?;
        let kv_count = r.count(MIN_KV_BYTES, "metadata entries").map_err(|e| e.field(p, "metadata_kv_count"))?;

        let mut metadata = Vec::with_capacity(kv_count);
        let mut value_offsets = Vec::with_capacity(kv_count);
        let mut keys = HashMap::with_capacity(kv_count);
        for i in 0..kv_count {
            let key_at = r.pos() as u64;
            let key = r.str().map_err(|e| e.field(p, format!("metadata[{i}].key")))?;
            let field = || format!("metadata `{key}`");
            if let Some(&first) = keys.get(key) {
                let why = format!("duplicate key (metadata entry {first} has it too)");
                return Err(gguf_error(p, field(), key_at, why));
            }
            let type_at = r.pos() as u64;
            let ty = r.u32().map_err(|e| e.field(p, format!("{} type", field())))?;
            if type_name(ty).is_none() {
                let why = format!("unknown value type {ty} (GGUF has 0 to 12)");
                return Err(gguf_error(p, format!("{} type", field()), type_at, why));
            }
            let value_at = r.pos() as u64;
            let value = MetaValue::read(&mut r, ty, 0).map_err(|e| e.field(p, field()))?;
            keys.insert(key.to_owned(), i);
            metadata.push((key.to_owned(), value));
            value_offsets.push(value_at);
        }

        let alignment = match keys.get(ALIGNMENT_KEY) {
            None => DEFAULT_ALIGNMENT,
            Some(&i) => {
                let err = |why: String| gguf_error(p, format!("metadata `{ALIGNMENT_KEY}`"), value_offsets[i], why);
                let a = match &metadata[i].1 {
                    MetaValue::U32(a) => u64::from(*a),
                    other => return Err(err(format!("must be a u32, found {}", other.type_name()))),
                };
                if !a.is_power_of_two() {
                    return Err(err(format!("{a} is not a power of two")));
                }
                if a > MAX_ALIGNMENT {
                    return Err(err(format!("{a} is more than {MAX_ALIGNMENT}")));
                }
                a
            }
        };

        let raws = read_infos(&mut r, tensor_count, p)?;
        let infos_end = r.pos() as u64;
        let data_offset = infos_end.next_multiple_of(alignment);
        let file_len = bytes.len() as u64;
        if tensor_count > 0 && data_offset > file_len {
            let why = format!(
                "the data section would start at {data_offset} (infos end at {infos_end}, aligned to {alignment}), \
                 past the end of the file at {file_len}: truncated"
            );
            return Err(gguf_error(p, "data section", infos_end, why));
        }
        let (tensors, type_offsets) = place(raws, data_offset, alignment, file_len, p)?;
        let names = tensors.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
        Ok(GgufFile {
            path,
            source,
            version,
            alignment,
            data_offset,
            metadata,
            value_offsets,
            keys,
            tensors,
            type_offsets,
            names,
        })
    }

    /// The path given to [`open`](Self::open), or `<memory>`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The GGUF version: 2 or 3.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The alignment of the data section and of every tensor in it (`general.alignment`, 32 if
    /// absent).
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Where the data section starts: the end of the tensor infos rounded up to the alignment.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// The file's size in bytes.
    pub fn file_len(&self) -> u64 {
        self.source.bytes().len() as u64
    }

    /// The whole file's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.source.bytes()
    }

    /// Every metadata entry, in file order.
    pub fn metadata(&self) -> &[(String, MetaValue)] {
        &self.metadata
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.keys.get(key).map(|&i| &self.metadata[i].1)
    }

    /// Where `key`'s value starts in the file, if present.
    pub fn value_offset(&self, key: &str) -> Option<u64> {
        self.keys.get(key).map(|&i| self.value_offsets[i])
    }

    /// The value of `key` converted by `conv`; an [`Error::Gguf`] naming the key when present
    /// but not convertible (`conv` says why).
    fn typed<'a, T>(
        &'a self,
        key: &str,
        conv: impl FnOnce(&'a MetaValue) -> std::result::Result<T, String>,
    ) -> Result<Option<T>> {
        let Some(&i) = self.keys.get(key) else { return Ok(None) };
        conv(&self.metadata[i].1)
            .map(Some)
            .map_err(|why| gguf_error(&self.path, format!("metadata `{key}`"), self.value_offsets[i], why))
    }

    /// An array value with every element converted by `conv` (`want` names the element type).
    fn typed_array<'a, T>(
        &'a self,
        key: &str,
        want: &str,
        conv: impl Fn(&'a MetaValue) -> Option<T>,
    ) -> Result<Option<Vec<T>>> {
        self.typed(key, |v| {
            let a = v.as_array().ok_or_else(|| format!("expected an array of {want}, found {}", v.type_name()))?;
            a.iter()
                .enumerate()
                .map(|(i, e)| conv(e).ok_or_else(|| describe_mismatch(i, e, want)))
                .collect::<std::result::Result<Vec<T>, String>>()
        })
    }

    /// An integer value of any width that fits in a u64 (`Ok(None)` when absent).
    pub fn get_u64(&self, key: &str) -> Result<Option<u64>> {
        self.typed(key, |v| v.as_u64().ok_or_else(|| describe(v, "an unsigned integer")))
    }

    /// An f32 or f64 value as f32 (`Ok(None)` when absent).
    pub fn get_f32(&self, key: &str) -> Result<Option<f32>> {
        self.typed(key, |v| v.as_f64().map(|f| f as f32).ok_or_else(|| describe(v, "an f32")))
    }

    /// A string value (`Ok(None)` when absent).
    pub fn get_str(&self, key: &str) -> Result<Option<&str>> {
        self.typed(key, |v| v.as_str().ok_or_else(|| describe(v, "a string")))
    }

    /// A bool value (`Ok(None)` when absent).
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>> {
        self.typed(key, |v| v.as_bool().ok_or_else(|| describe(v, "a bool")))
    }

    /// An array of strings (a vocabulary, merges); borrows the values.
    pub fn get_str_array(&self, key: &str) -> Result<Option<Vec<&str>>> {
        self.typed_array(key, "string", MetaValue::as_str)
    }

    /// An array of integers that each fit in an i32 (per-layer head counts, token types).
    pub fn get_i32_array(&self, key: &str) -> Result<Option<Vec<i32>>> {
        self.typed_array(key, "i32", |v| v.as_integer().and_then(|i| i32::try_from(i).ok()))
    }

    /// An array of f32 or f64 values as f32 (token scores).
    pub fn get_f32_array(&self, key: &str) -> Result<Option<Vec<f32>>> {
        self.typed_array(key, "f32", |v| v.as_f64().map(|f| f as f32))
    }

    /// An array of integers that each fit in a u64 (per-layer feed-forward lengths).
    pub fn get_u64_array(&self, key: &str) -> Result<Option<Vec<u64>>> {
        self.typed_array(key, "u64", MetaValue::as_u64)
    }

    /// Every tensor info, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The info of the tensor called `name`, if present.
    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.names.get(name).map(|&i| &self.tensors[i])
    }

    fn index(&self, name: &str) -> Result<usize> {
        self.names.get(name).copied().ok_or_else(|| {
            let mut known: Vec<&str> = self.tensors.iter().take(6).map(|t| t.name.as_str()).collect();
            if self.tensors.len() > known.len() {
                known.push("...");
            }
            let known = format!("{} ({} tensors)", known.join(", "), self.tensors.len());
            Error::Unknown { kind: "tensor", name: name.to_string(), known }
        })
    }

    /// The raw bytes of the tensor called `name`, whatever its type (for tools that copy
    /// tensors edgehal cannot compute with). [`Error::Unknown`] when there is no such tensor.
    pub fn tensor_bytes(&self, name: &str) -> Result<&[u8]> {
        let t = &self.tensors[self.index(name)?];
        // `place` checked that the range lies inside the file.
        Ok(&self.source.bytes()[t.offset as usize..(t.offset + t.byte_len) as usize])
    }

    /// The tensor called `name`, borrowing the file's bytes (no copy unless they are not 4-byte
    /// aligned), in edgehal's shape order ([`TensorInfo::shape`]). [`Error::Unknown`] (listing
    /// some names) when there is no such tensor; [`Error::Gguf`] naming the tensor and its type
    /// id when edgehal does not support the type.
    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        let i = self.index(name)?;
        let t = &self.tensors[i];
        let Some(dtype) = t.dtype else {
            let supported: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
            let why = format!(
                "ggml type {} ({}) is not supported by edgehal yet; supported: {}",
                t.ggml_type,
                t.type_name(),
                supported.join(", ")
            );
            return Err(gguf_error(&self.path, format!("tensor `{name}` type"), self.type_offsets[i], why));
        };
        Tensor::from_shared(dtype, t.shape(), self.source.clone(), t.offset as usize)
    }

    /// How many tensors have each ggml type, most frequent first (`[("Q4_1", 210), ("F32", 61),
    /// ("Q8_0", 1)]`).
    pub fn type_histogram(&self) -> Vec<(String, usize)> {
        let mut counts: HashMap<&'static str, usize> = HashMap::new();
        for t in &self.tensors {
            *counts.entry(t.type_name()).or_default() += 1;
        }
        let mut out: Vec<(String, usize)> = counts.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}

/// Why `version` cannot be read, if so.
fn check_version(version: u32) -> std::result::Result<(), String> {
    match version {
        2 | 3 => Ok(()),
        1 => Err("GGUF v1 (u32 counts) is obsolete; convert the model again with a current llama.cpp".into()),
        v if v != 0 && v & 0xFFFF == 0 => Err(format!(
            "{v:#010x} looks like a big-endian file (version {}); only little-endian GGUF is supported",
            v.swap_bytes()
        )),
        v => Err(format!("unsupported version {v}; versions 2 and 3 are supported")),
    }
}

/// "expected X, found <type>", or, for an integer wanted as an integer of a narrower range,
/// "<value> does not fit in X".
fn describe(v: &MetaValue, want: &str) -> String {
    let integer_wanted = matches!(want, "an unsigned integer" | "i32" | "u64");
    match v.as_integer() {
        Some(i) if integer_wanted => {
            format!("{} {i} does not fit in {want}", v.type_name())
        }
        _ => format!("expected {want}, found {}", v.type_name()),
    }
}

/// The error of array element `i`.
fn describe_mismatch(i: usize, v: &MetaValue, want: &str) -> String {
    format!("element {i}: {}", describe(v, want))
}
