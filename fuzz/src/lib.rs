//! Shared code of the fuzz targets in `fuzz_targets/`.
//!
//! The CLI (`cli/`) is a binary crate, and depending on it would also build the GPU and NPU
//! backends it links. Its parsers only need `edgehal` and `thiserror`, so their source files are
//! compiled here as modules, under the same paths they have in the CLI (`crate::error`,
//! `crate::npy`, ...): the fuzzers test exactly the code the `edgehal` binary runs.

#![allow(dead_code)] // The CLI modules have items (writers, loaders) the fuzzers do not call.

#[path = "../../cli/src/error.rs"]
pub mod error;
#[path = "../../cli/src/inputs.rs"]
pub mod inputs;
#[path = "../../cli/src/npy.rs"]
pub mod npy;

pub mod graph;
pub mod op;
