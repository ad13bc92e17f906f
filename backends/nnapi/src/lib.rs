//! edgehal's Android NNAPI backend.

pub mod error;
pub mod ffi;
pub mod lower;
pub mod model;
pub mod symbols;
