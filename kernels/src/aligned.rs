//! A zero-initialised byte buffer aligned to 64 bytes (one cache line, one zmm register), so that
//! tensors and packed weights can be read with aligned vector loads and viewed as `f32`/`u16`
//! slices. It is allocated with `alloc_zeroed`, so large buffers come as fresh zero pages that
//! the first writer faults in, with no separate clearing pass.

use std::alloc::{Layout, alloc_zeroed, dealloc, handle_alloc_error};
use std::ptr::NonNull;

/// Alignment of the buffer start.
const ALIGN: usize = 64;

/// A type with the buffer's alignment, for an aligned dangling pointer when the buffer is empty.
#[repr(align(64))]
struct Aligned64;

/// A byte buffer whose start is 64-byte aligned.
pub struct AlignedBytes {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the buffer is exclusively owned plain bytes.
unsafe impl Send for AlignedBytes {}
// SAFETY: shared access only reads.
unsafe impl Sync for AlignedBytes {}

impl AlignedBytes {
    /// `len` zero bytes; aborts like `Vec` if the allocation fails.
    pub fn zeroed(len: usize) -> Self {
        match Self::layout(len) {
            Some(layout) => Self::try_zeroed(len).unwrap_or_else(|| handle_alloc_error(layout)),
            None => panic!("a buffer of {len} bytes overflows isize"),
        }
    }

    /// `len` zero bytes, or `None` when the memory cannot be had.
    pub fn try_zeroed(len: usize) -> Option<Self> {
        if len == 0 {
            // A dangling, aligned pointer is valid for zero-length slices.
            return Some(AlignedBytes { ptr: NonNull::<Aligned64>::dangling().cast(), len });
        }
        let layout = Self::layout(len)?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        NonNull::new(ptr).map(|ptr| AlignedBytes { ptr, len })
    }

    fn layout(len: usize) -> Option<Layout> {
        Layout::from_size_align(len, ALIGN).ok()
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` holds `len` initialised bytes (or is dangling with len 0).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for AlignedBytes {
    fn default() -> Self {
        Self::zeroed(0)
    }
}

impl Clone for AlignedBytes {
    fn clone(&self) -> Self {
        let mut copy = Self::zeroed(self.len);
        copy.as_mut_slice().copy_from_slice(self.as_slice());
        copy
    }
}

impl PartialEq for AlignedBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl AsRef<[u8]> for AlignedBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsMut<[u8]> for AlignedBytes {
    fn as_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl Drop for AlignedBytes {
    fn drop(&mut self) {
        if self.len > 0
            && let Some(layout) = Self::layout(self.len)
        {
            // SAFETY: allocated in `try_zeroed` with this layout.
            unsafe { dealloc(self.ptr.as_ptr(), layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AlignedBytes;

    #[test]
    fn aligned_zeroed_cloneable() {
        for len in [0, 1, 63, 64, 1000] {
            let mut a = AlignedBytes::zeroed(len);
            assert_eq!(a.as_slice().as_ptr() as usize % 64, 0);
            assert!(a.as_slice().iter().all(|&b| b == 0));
            a.as_mut_slice().iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
            let b = a.clone();
            assert!(a == b && b.len() == len);
        }
        assert!(AlignedBytes::try_zeroed(usize::MAX - 8).is_none());
    }
}
