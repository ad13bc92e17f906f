//! The error type of the kernels crate.

use crate::DType;

/// Why a kernel refused its arguments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// A row length that is not a whole number of quant blocks.
    #[error("{dtype}: {elems} elements is not a multiple of the block length {block}")]
    NotBlockMultiple {
        /// The format.
        dtype: DType,
        /// The element count given.
        elems: usize,
        /// The format's block length.
        block: usize,
    },
    /// A buffer whose length does not match what the shape needs.
    #[error("{what}: expected {expected} {unit}, got {got}")]
    LengthMismatch {
        /// Which buffer.
        what: &'static str,
        /// What the shape needs.
        expected: usize,
        /// What was given.
        got: usize,
        /// `bytes` or `elements`.
        unit: &'static str,
    },
    /// Positions `offset .. offset + rows` that do not fit a `usize`.
    #[error("{op}: positions from {offset} for {rows} rows overflow")]
    PositionOverflow {
        /// The kernel.
        op: &'static str,
        /// The first row's position.
        offset: usize,
        /// The rows.
        rows: usize,
    },
    /// Rows too long for the packed weight layout: padded to whole panels they would pass
    /// `isize::MAX` bytes (reachable only with no rows, since the bytes of one such row
    /// cannot exist).
    #[error(
        "{what}: rows of {elems} {dtype} elements are too long to pack (a padded panel would pass isize::MAX bytes)"
    )]
    RowTooLong {
        /// Which buffer.
        what: &'static str,
        /// The format.
        dtype: DType,
        /// The row length given.
        elems: usize,
    },
    /// A format this kernel does not implement.
    #[error("{op} does not support {dtype}")]
    Unsupported {
        /// The kernel.
        op: &'static str,
        /// The format.
        dtype: DType,
    },
}
