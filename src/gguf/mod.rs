//! GGUF files: a reader over a memory map whose weights become [`Tensor`](crate::Tensor)s that
//! borrow the mapped bytes (no host copy), and a small writer for tests and tools.
//!
//! ```
//! use edgehal::gguf::{GgufFile, GgufWriter, MetaValue};
//! use edgehal::{DType, Tensor};
//!
//! let mut w = GgufWriter::new();
//! w.set("general.architecture", "llama")?.set("llama.block_count", 30u32)?;
//! w.add_tensor("token_embd.weight", &Tensor::from_f32_as(DType::Q8_0, [4, 64], &[0.5; 256])?)?;
//! let file = GgufFile::from_bytes(w.to_bytes())?;
//! assert_eq!(file.get_str("general.architecture")?, Some("llama"));
//! assert_eq!(file.get_u64("llama.block_count")?, Some(30));
//! let info = file.tensor_info("token_embd.weight").unwrap();
//! assert_eq!(info.dims, [64, 4]); // GGUF order: ne[0] (contiguous) first
//! assert_eq!(info.shape(), [4, 64]); // edgehal order: outermost first
//! let t = file.tensor("token_embd.weight")?;
//! assert!(t.is_shared()); // borrows the file's bytes
//! # Ok::<(), edgehal::Error>(())
//! ```
//!
//! The reader accepts GGUF versions 2 and 3 (little-endian, u64 counts) and checks everything a
//! hostile or truncated file could get wrong before trusting it: every length against the bytes
//! left, every product and sum with checked arithmetic, tensor offsets (aligned, inside the file,
//! not overlapping), duplicate keys and names. Any problem is an [`Error::Gguf`](crate::Error::Gguf)
//! naming the field and its byte offset; nothing panics and no allocation is sized by a header
//! count beyond what the remaining bytes could hold.
//!
//! Choices where the format leaves room:
//! - a tensor with a zero dimension is accepted (ggml allows `ne = 0`): it is empty, takes no
//!   bytes and so overlaps nothing;
//! - `n_dims = 0` is a scalar (one element, edgehal shape `[]`);
//! - tensors may come in any order in the data section, with gaps, as long as each is aligned and
//!   none overlap (llama.cpp insists on the writer's packed order; this reader is more lenient);
//! - ggml types that edgehal cannot compute with yet (IQ2_XXS, Q8_K, I8, ...) do not stop a file
//!   from opening: their [`TensorInfo`] lists the raw type id with `dtype: None`, and only
//!   [`GgufFile::tensor`] refuses them. Type ids ggml does not know are refused at open, since
//!   their size cannot be checked.

mod file;
mod info;
mod read;
mod source;
mod types;
mod value;
mod write;

#[cfg(test)]
mod tests;

pub use file::GgufFile;
pub use info::TensorInfo;
pub use types::{ggml_block_size, ggml_type_name};
pub use value::MetaValue;
pub use write::GgufWriter;

/// The four bytes every GGUF file starts with.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";

/// The alignment of the data section and of every tensor when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// The largest `general.alignment` accepted (1 MiB); larger values are refused as corrupt.
pub const MAX_ALIGNMENT: u64 = 1 << 20;

/// The deepest nesting of arrays inside a metadata value that is accepted (real files nest at
/// most twice; the limit keeps a hostile file from exhausting the stack).
pub const MAX_ARRAY_DEPTH: usize = 16;

/// The metadata key that sets the alignment.
pub const ALIGNMENT_KEY: &str = "general.alignment";
