//! The `op` command's parameter parsing and op specs (`cli/src/op/`), as `crate::op::params`
//! and `crate::op::spec` like in the CLI.

#[path = "../../cli/src/op/params.rs"]
pub mod params;
#[path = "../../cli/src/op/spec.rs"]
pub mod spec;
