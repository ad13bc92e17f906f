//! A raw output pointer that parallel GEMM tasks share to write disjoint tiles of `y`.

/// The start of `y`, shared by tasks that each write a region no other task touches.
#[derive(Copy, Clone)]
pub(super) struct OutPtr(pub(super) *mut f32);

impl OutPtr {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    pub(super) fn get(self) -> *mut f32 {
        self.0
    }
}

// SAFETY: every user writes only its own disjoint region of the buffer (see the GEMM drivers).
unsafe impl Send for OutPtr {}
// SAFETY: as above.
unsafe impl Sync for OutPtr {}
