//! The bytes a [`GgufFile`](super::GgufFile) reads and its tensors borrow: a read-only memory map
//! of the file, or a 64-byte-aligned copy of bytes given in memory.

use crate::{AlignedBytes, SharedBytes};
use memmap2::Mmap;
use std::ops::Range;

/// A read-only, private memory map of a GGUF file.
pub(crate) struct MappedFile {
    map: Mmap,
}

impl MappedFile {
    /// Wraps a map made by [`Mmap::map`] (read-only, `MAP_PRIVATE` on unix).
    pub fn new(map: Mmap) -> Self {
        MappedFile { map }
    }
}

impl SharedBytes for MappedFile {
    fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Gives the whole pages inside `range` back to the OS (`madvise(MADV_DONTNEED)`); they are
    /// read again from the file if touched. Pages shared with bytes outside `range` are kept.
    /// Does nothing off unix, or if the range holds no whole page.
    fn release(&self, range: Range<usize>) {
        #[cfg(unix)]
        {
            let end = range.end.min(self.map.len());
            let page = page_size();
            let base = self.map.as_ptr() as usize;
            // Round the start up and the end down to page boundaries, in addresses.
            let Some(start) = (base + range.start).checked_next_multiple_of(page) else { return };
            let stop = (base + end) / page * page;
            if stop <= start {
                return;
            }
            // SAFETY: the map is read-only (`Mmap`, PROT_READ) and private, so none of its pages
            // was ever written or copied on write; MADV_DONTNEED only drops their resident copies,
            // and the next read faults them in again from the file with the same bytes. Every
            // `&[u8]` borrowed from the map therefore keeps reading the same values, as long as
            // the file is not modified, which `GgufFile::open` already requires. The range is
            // inside the map (clamped above) and page-aligned, so memmap2 does not widen it
            // into bytes outside `range`.
            let _ = unsafe {
                self.map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start - base, stop - start)
            };
        }
        #[cfg(not(unix))]
        let _ = range;
    }
}

/// The OS page size: read from the aux vector on Linux and Android, otherwise a conservative
/// multiple of every page size in use (so the released range stays inside whole pages).
#[cfg(unix)]
fn page_size() -> usize {
    use std::sync::OnceLock;
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(p) = auxv_page_size() {
            return p;
        }
        if cfg!(target_vendor = "apple") { 16 << 10 } else { 64 << 10 }
    })
}

/// `AT_PAGESZ` from `/proc/self/auxv` (pairs of native-endian words).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn auxv_page_size() -> Option<usize> {
    const AT_PAGESZ: usize = 6;
    const W: usize = size_of::<usize>();
    let auxv = std::fs::read("/proc/self/auxv").ok()?;
    let word = |c: &[u8]| usize::from_ne_bytes(c.try_into().unwrap_or([0; W]));
    auxv.chunks_exact(2 * W)
        .find(|pair| word(&pair[..W]) == AT_PAGESZ)
        .map(|pair| word(&pair[W..]))
        .filter(|p| p.is_power_of_two() && *p >= 4096)
}

/// Bytes given in memory, copied into a 64-byte-aligned buffer.
pub(crate) struct MemoryBytes(pub AlignedBytes);

impl SharedBytes for MemoryBytes {
    fn bytes(&self) -> &[u8] {
        self.0.as_ref()
    }
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn gguf_page_size_is_sane() {
        let p = super::page_size();
        assert!(p.is_power_of_two() && (4096..=(64 << 10)).contains(&p), "{p}");
    }
}
