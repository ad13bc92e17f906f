//! Host tensors: a dtype, a shape and little-endian bytes (ggml block bytes for quant formats).

use crate::error::{Error, Result};
pub use edgehal_kernels::AlignedBytes;
use edgehal_kernels::{DType, quant};
use half::{bf16, f16};
use std::ops::Range;
use std::sync::Arc;

/// Bytes owned by someone else that tensors may borrow without copying: a memory-mapped GGUF
/// file, for instance. Tensors hold an `Arc` to the source, so it lives as long as they do.
pub trait SharedBytes: Send + Sync + 'static {
    /// All the bytes.
    fn bytes(&self) -> &[u8];

    /// A hint that `range` will not be read again soon: a file mapping may give the pages back
    /// to the OS (they are read again from the file on demand). The default does nothing.
    fn release(&self, _range: Range<usize>) {}
}

/// Where a tensor's bytes live.
#[derive(Clone)]
enum Storage {
    /// A 64-byte-aligned heap buffer of the tensor's own.
    Owned(AlignedBytes),
    /// A range of shared bytes, read only; copied into an owned buffer on the first write.
    Shared(Arc<dyn SharedBytes>, Range<usize>),
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Storage::Owned(b) => b.as_ref(),
            Storage::Shared(src, r) => &src.bytes()[r.clone()],
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        if let Storage::Shared(..) = self {
            let mut owned = AlignedBytes::zeroed(self.bytes().len());
            owned.as_mut().copy_from_slice(self.bytes());
            *self = Storage::Owned(owned);
        }
        match self {
            Storage::Owned(b) => b.as_mut(),
            Storage::Shared(..) => unreachable!("made owned above"),
        }
    }
}

impl PartialEq for Storage {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

/// A tensor's dtype and shape, without data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorDesc {
    /// Element type.
    pub dtype: DType,
    /// Dimensions, outermost first (row-major).
    pub shape: Vec<usize>,
}

impl TensorDesc {
    /// A descriptor.
    pub fn new(dtype: DType, shape: impl Into<Vec<usize>>) -> Self {
        TensorDesc { dtype, shape: shape.into() }
    }

    /// Number of elements.
    pub fn elems(&self) -> usize {
        self.shape.iter().product()
    }

    /// Rank.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The innermost dimension (1 for scalars).
    pub fn last_dim(&self) -> usize {
        self.shape.last().copied().unwrap_or(1)
    }

    /// Bytes the data takes, or an error naming `tensor` when the last dimension is not a whole
    /// number of quant blocks.
    ///
    /// A shape whose bytes would not fit in `isize::MAX` (the most one allocation can hold) is an
    /// error too, computed without overflow.
    pub fn byte_len(&self, tensor: &str) -> Result<usize> {
        let (last, block_len) = (self.last_dim(), self.dtype.block_len());
        if !last.is_multiple_of(block_len) {
            return Err(Error::shape(
                format!("tensor `{tensor}`"),
                format!(
                    "{} needs the last dimension to be a multiple of {}, shape is {:?}",
                    self.dtype,
                    self.dtype.block_len(),
                    self.shape
                ),
            ));
        }
        if self.shape.contains(&0) {
            return Ok(0);
        }
        let row = (last / block_len).checked_mul(self.dtype.block_bytes());
        let rows = self.shape.iter().rev().skip(1).try_fold(1usize, |a, &d| a.checked_mul(d));
        rows.zip(row).and_then(|(r, b)| r.checked_mul(b)).filter(|&n| n <= isize::MAX as usize).ok_or_else(|| {
            Error::shape(
                format!("tensor `{tensor}`"),
                format!("{} {:?} takes more than isize::MAX bytes", self.dtype, self.shape),
            )
        })
    }
}

/// A tensor in host memory.
#[derive(Clone, PartialEq)]
pub struct Tensor {
    desc: TensorDesc,
    data: Storage,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({} {:?}, {} bytes)", self.desc.dtype, self.desc.shape, self.bytes().len())
    }
}

impl Tensor {
    /// A tensor from raw bytes (GGUF block bytes for quant formats), checking the size.
    pub fn from_bytes(dtype: DType, shape: impl Into<Vec<usize>>, bytes: &[u8]) -> Result<Self> {
        let desc = TensorDesc::new(dtype, shape);
        let expected = desc.byte_len("input")?;
        if bytes.len() != expected {
            return Err(Error::Size { tensor: "input".into(), dtype, shape: desc.shape, expected, got: bytes.len() });
        }
        let mut data = AlignedBytes::zeroed(expected);
        data.as_mut().copy_from_slice(bytes);
        Ok(Tensor { desc, data: Storage::Owned(data) })
    }

    /// A tensor that borrows `source.bytes()[offset..]` without copying (a weight in a mapped
    /// GGUF file). The bytes are copied only if they are not aligned for the dtype's elements
    /// (4 bytes; ggml blocks are read bytewise) or when the tensor is written to.
    pub fn from_shared(
        dtype: DType,
        shape: impl Into<Vec<usize>>,
        source: Arc<dyn SharedBytes>,
        offset: usize,
    ) -> Result<Self> {
        let desc = TensorDesc::new(dtype, shape);
        let expected = desc.byte_len("input")?;
        let available = source.bytes().len().saturating_sub(offset);
        if expected > available {
            return Err(Error::Size { tensor: "input".into(), dtype, shape: desc.shape, expected, got: available });
        }
        let range = offset..offset + expected;
        if !(source.bytes()[range.clone()].as_ptr() as usize).is_multiple_of(4) {
            return Self::from_bytes(dtype, desc.shape, &source.bytes()[range]);
        }
        Ok(Tensor { desc, data: Storage::Shared(source, range) })
    }

    /// Whether the bytes are borrowed from a [`SharedBytes`] source (not copied).
    pub fn is_shared(&self) -> bool {
        matches!(self.data, Storage::Shared(..))
    }

    /// Tells a shared source that this tensor's bytes will not be read again soon (after a
    /// backend repacked or uploaded them), so a mapped file can give its pages back. Reading
    /// them later still works. Does nothing for owned bytes.
    pub fn release_source_pages(&self) {
        if let Storage::Shared(src, range) = &self.data {
            src.release(range.clone());
        }
    }

    /// A zero-filled tensor.
    pub fn zeros(desc: TensorDesc) -> Result<Self> {
        let len = desc.byte_len("zeros")?;
        Ok(Tensor { desc, data: Storage::Owned(AlignedBytes::zeroed(len)) })
    }

    /// An f32 tensor; `values.len()` must equal the shape's element count.
    pub fn from_f32(shape: impl Into<Vec<usize>>, values: &[f32]) -> Result<Self> {
        Self::from_bytes(DType::F32, shape, bytemuck::cast_slice(values))
    }

    /// An f16 tensor.
    pub fn from_f16(shape: impl Into<Vec<usize>>, values: &[f16]) -> Result<Self> {
        Self::from_bytes(DType::F16, shape, bytemuck::cast_slice(values))
    }

    /// An i32 tensor.
    pub fn from_i32(shape: impl Into<Vec<usize>>, values: &[i32]) -> Result<Self> {
        Self::from_bytes(DType::I32, shape, bytemuck::cast_slice(values))
    }

    /// Converts f32 values to `dtype` (quantizing with ggml's reference rounding for block formats).
    pub fn from_f32_as(dtype: DType, shape: impl Into<Vec<usize>>, values: &[f32]) -> Result<Self> {
        let desc = TensorDesc::new(dtype, shape);
        if values.len() != desc.elems() {
            return Err(Error::Size {
                tensor: "values".into(),
                dtype: DType::F32,
                expected: desc.elems() * 4,
                shape: desc.shape,
                got: values.len() * 4,
            });
        }
        let mut t = Tensor::zeros(desc)?;
        match dtype {
            DType::I32 => {
                let out: &mut [i32] = bytemuck::cast_slice_mut(t.data.bytes_mut());
                for (o, v) in out.iter_mut().zip(values) {
                    *o = *v as i32;
                }
            }
            _ => quant::quantize_row(dtype, values, t.data.bytes_mut())?,
        }
        Ok(t)
    }

    /// Dtype and shape.
    pub fn desc(&self) -> &TensorDesc {
        &self.desc
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.desc.dtype
    }

    /// Dimensions.
    pub fn shape(&self) -> &[usize] {
        &self.desc.shape
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        self.data.bytes()
    }

    /// The raw bytes, mutable (shared bytes are copied first: the source is never written).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.data.bytes_mut()
    }

    /// The data as f32 values when the dtype is f32.
    pub fn as_f32(&self) -> Option<&[f32]> {
        (self.dtype() == DType::F32).then(|| bytemuck::cast_slice(self.data.bytes()))
    }

    /// The data as mutable f32 values when the dtype is f32.
    pub fn as_f32_mut(&mut self) -> Option<&mut [f32]> {
        (self.dtype() == DType::F32).then(|| bytemuck::cast_slice_mut(self.data.bytes_mut()))
    }

    /// The data as f16 values when the dtype is f16.
    pub fn as_f16(&self) -> Option<&[f16]> {
        (self.dtype() == DType::F16).then(|| bytemuck::cast_slice(self.data.bytes()))
    }

    /// The data as bf16 values when the dtype is bf16.
    pub fn as_bf16(&self) -> Option<&[bf16]> {
        (self.dtype() == DType::BF16).then(|| bytemuck::cast_slice(self.data.bytes()))
    }

    /// The data as i32 values when the dtype is i32.
    pub fn as_i32(&self) -> Option<&[i32]> {
        (self.dtype() == DType::I32).then(|| bytemuck::cast_slice(self.data.bytes()))
    }

    /// Every element converted to f32 (exactly, for every dtype: quant blocks decode exactly).
    pub fn to_f32_vec(&self) -> Result<Vec<f32>> {
        match self.dtype() {
            DType::I32 => Ok(self.as_i32().unwrap_or_default().iter().map(|&v| v as f32).collect()),
            dtype => Ok(quant::dequantize(dtype, self.bytes(), self.desc.elems())?),
        }
    }

    /// The same data under another shape with the same element count.
    pub fn reshaped(mut self, shape: impl Into<Vec<usize>>) -> Result<Self> {
        let shape = shape.into();
        let desc = TensorDesc::new(self.dtype(), shape.clone());
        if desc.elems() != self.desc.elems() || desc.byte_len("reshape")? != self.bytes().len() {
            return Err(Error::shape("reshape", format!("cannot view {:?} as {:?}", self.desc.shape, shape)));
        }
        self.desc = desc;
        Ok(self)
    }
}
