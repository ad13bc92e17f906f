//! The legacy quant formats' WGSL parts.

use super::Format;

/// The formats of this group that have a GPU decoder.
pub(crate) fn formats() -> Vec<Format> {
    Vec::new()
}
