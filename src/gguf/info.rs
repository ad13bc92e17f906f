//! Tensor infos: reading them, and checking where their data lies (aligned, inside the file, not
//! overlapping).

use super::read::{Reader, Short, gguf_error};
use super::types::{ggml_block_size, ggml_type_name};
use crate::DType;
use crate::error::Result;
use std::collections::HashMap;

/// The most dimensions a GGUF tensor may have (ggml's `GGML_MAX_DIMS`).
pub const MAX_DIMS: u32 = 4;

/// One tensor as the file describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name (`blk.0.attn_q.weight`).
    pub name: String,
    /// Dimensions in GGUF order: `ne[0]` (the contiguous one) first. See [`TensorInfo::shape`].
    pub dims: Vec<u64>,
    /// The raw ggml type id (kept even when edgehal does not support the type).
    pub ggml_type: u32,
    /// The edgehal dtype, or `None` when edgehal cannot compute with this ggml type yet.
    pub dtype: Option<DType>,
    /// Where the data starts, as an absolute offset in the file.
    pub offset: u64,
    /// How many bytes the data takes.
    pub byte_len: u64,
}

impl TensorInfo {
    /// The shape in edgehal's order, outermost first: GGUF dims `[ne0, ne1]` become `[ne1, ne0]`
    /// (`token_embd {576, 49152}` is `[49152, 576]`). A scalar (`n_dims = 0`) is `[]`.
    pub fn shape(&self) -> Vec<usize> {
        // The reader checked that the element count, and so every dim, fits in usize.
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }

    /// The number of elements.
    pub fn elems(&self) -> u64 {
        self.dims.iter().product()
    }

    /// ggml's name of the type (`"Q4_1"`, `"IQ2_XXS"`).
    pub fn type_name(&self) -> &'static str {
        ggml_type_name(self.ggml_type).unwrap_or("unknown")
    }
}

/// A tensor info as read, with its offset still relative to the data section and the byte
/// offsets of its fields for error messages.
pub(crate) struct RawInfo {
    pub info: TensorInfo,
    pub dims_at: u64,
    pub type_at: u64,
    pub offset_at: u64,
}

/// The smallest tensor info: name length, n_dims, type, offset.
pub(crate) const MIN_INFO_BYTES: usize = 8 + 4 + 4 + 8;

/// Reads `count` tensor infos, refusing bad names, duplicate names and more than [`MAX_DIMS`]
/// dimensions.
pub(crate) fn read_infos(r: &mut Reader<'_>, count: usize, path: &str) -> Result<Vec<RawInfo>> {
    let mut out = Vec::with_capacity(count);
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(count);
    for i in 0..count {
        let name_at = r.pos();
        let name = r.str().map_err(|e| e.field(path, format!("tensor[{i}].name")))?;
        if let Some(first) = seen.insert(name, i) {
            return Err(gguf_error(
                path,
                format!("tensor[{i}].name"),
                name_at as u64,
                format!("duplicate tensor name `{name}` (tensor {first} has it too)"),
            ));
        }
        let field = |what: &str| format!("tensor `{name}` {what}");
        let dims_at = r.pos() as u64;
        let n_dims = r.u32().map_err(|e| e.field(path, field("n_dims")))?;
        if n_dims > MAX_DIMS {
            return Err(gguf_error(path, field("n_dims"), dims_at, format!("{n_dims} dims, at most {MAX_DIMS}")));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for d in 0..n_dims {
            let at = r.pos();
            let ne = r.u64().map_err(|e| e.field(path, field(&format!("ne[{d}]"))))?;
            if ne > i64::MAX as u64 {
                let why = format!("{ne} is beyond ggml's int64 range");
                return Err(Short::new(at, why).field(path, field(&format!("ne[{d}]"))));
            }
            dims.push(ne);
        }
        let type_at = r.pos() as u64;
        let ggml_type = r.u32().map_err(|e| e.field(path, field("type")))?;
        let offset_at = r.pos() as u64;
        let offset = r.u64().map_err(|e| e.field(path, field("offset")))?;
        let info = TensorInfo {
            name: name.to_owned(),
            dims,
            ggml_type,
            dtype: DType::from_ggml_type_id(ggml_type),
            offset,
            byte_len: 0,
        };
        out.push(RawInfo { info, dims_at, type_at, offset_at });
    }
    Ok(out)
}

/// Sizes every tensor, makes its offset absolute and checks that it is aligned, inside the file
/// and overlaps no other. Returns the infos and the offsets of their type fields.
pub(crate) fn place(
    raws: Vec<RawInfo>,
    data_offset: u64,
    alignment: u64,
    file_len: u64,
    path: &str,
) -> Result<(Vec<TensorInfo>, Vec<u64>)> {
    let data_len = file_len.saturating_sub(data_offset);
    let mut spans = Vec::with_capacity(raws.len());
    let mut infos = Vec::with_capacity(raws.len());
    let mut type_offsets = Vec::with_capacity(raws.len());
    for (i, raw) in raws.into_iter().enumerate() {
        let RawInfo { mut info, dims_at, type_at, offset_at } = raw;
        let field = |what: &str| format!("tensor `{}` {what}", info.name);
        let Some((block_len, block_bytes)) = ggml_block_size(info.ggml_type) else {
            return Err(gguf_error(
                path,
                field("type"),
                type_at,
                format!("unknown ggml type id {}: its size is unknown, so the file cannot be checked", info.ggml_type),
            ));
        };
        let ne0 = info.dims.first().copied().unwrap_or(1);
        if !ne0.is_multiple_of(block_len) {
            return Err(gguf_error(
                path,
                field("ne[0]"),
                dims_at + 4,
                format!("row length {ne0} is not a multiple of {}'s block of {block_len}", info.type_name()),
            ));
        }
        // The product of the non-zero dims must fit (so that no later product over the shape can
        // overflow, whatever the order), in i64 as ggml requires and in usize for the shape.
        let fits = |n: &u64| *n <= i64::MAX as u64 && usize::try_from(*n).is_ok();
        let bound = info.dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d.max(1))).filter(fits);
        let Some(elems) = bound.map(|_| info.elems()) else {
            return Err(gguf_error(
                path,
                field("dims"),
                dims_at,
                format!("the element count of {:?} overflows", info.dims),
            ));
        };
        let byte_len = (elems / block_len).checked_mul(block_bytes);
        let rel = info.offset;
        let end = byte_len.and_then(|b| rel.checked_add(b));
        let (Some(byte_len), Some(end)) = (byte_len, end) else {
            return Err(gguf_error(path, field("dims"), dims_at, "the byte size overflows"));
        };
        if !rel.is_multiple_of(alignment) {
            return Err(gguf_error(
                path,
                field("offset"),
                offset_at,
                format!("offset {rel} is not a multiple of the alignment {alignment}"),
            ));
        }
        if end > data_len {
            return Err(gguf_error(
                path,
                field("offset"),
                offset_at,
                format!(
                    "data [{rel}, {end}) of the data section runs past the end of the file: the section has {data_len} \
                     bytes (file {file_len}, data starts at {data_offset}); truncated download?"
                ),
            ));
        }
        info.offset = data_offset + rel;
        info.byte_len = byte_len;
        if byte_len > 0 {
            spans.push((info.offset, info.offset + byte_len, i, offset_at));
        }
        infos.push(info);
        type_offsets.push(type_at);
    }
    spans.sort_unstable();
    for w in spans.windows(2) {
        let ((s0, e0, a, _), (s1, e1, b, at)) = (w[0], w[1]);
        if s1 < e0 {
            return Err(gguf_error(
                path,
                format!("tensor `{}` offset", infos[b].name),
                at,
                format!("its bytes [{s1}, {e1}) overlap tensor `{}` at [{s0}, {e0})", infos[a].name),
            ));
        }
    }
    Ok((infos, type_offsets))
}
